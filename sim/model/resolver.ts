/**
 * dockerd's embedded DNS server, as libnetwork v20.10 answers (resolver.go over the
 * sandbox's ResolveName and ResolveIP, served by miekg/dns v1.1.27), over a DnsView: what
 * the sandbox's networks hold, in the sandbox's order (dns.ts builds it from the world).
 * sim's kernel and emu's responder process (emu/dns-responder.ts) both answer with
 * serveDns, so the two modes share every rule and every bit of the reply.
 *
 * What libnetwork does that is modelled here:
 * - A name Docker owns: A gets its IPv4 addresses (TTL 600); AAAA and MX an empty NOERROR
 *   answer. PTR of an address on one of the sandbox's networks: `name.network.`.
 * - The reply is SetReply's: the query's id and first question, opcode, RD and CD copied,
 *   RA set (setCommonFlags), never AA: Docker's answers are not authoritative, which is why
 *   nslookup prints "Non-authoritative answer:". Names are not compressed.
 * - Over UDP a reply longer than 512 bytes (or the query's EDNS size, if larger) is cut to
 *   whole answers that fit, TC set; over TCP, to 65534 bytes, TC clear (truncateResp).
 * - Anything else (a name Docker does not own, an address none of its networks holds, SRV,
 *   which needs a service, other types) is forwarded to the sandbox's external servers
 *   (extDNS: the IPv4 nameservers of the resolv.conf setupDNS wrote, at most three; Google's
 *   two in a lab). serveDnsOutcome says so (`forward`), and each backend sends it
 *   (sim/kernel/embedded_dns.ts, emu/dns-responder.ts) as ServeDNS does: from the
 *   container's namespace (ExecFunc), one connected UDP socket per server at an ephemeral
 *   port, the query as asked, each server in turn waited for EXT_DNS_TIMEOUT_MS (a server
 *   with no route is passed over at once: the connect fails), the first reply relayed to
 *   the asker. No lab server answers, and then ServeDNS returns without writing: the asker
 *   times out. A PTR question outside in-addr.arpa and ip6.arpa is an error, logged, and
 *   neither answered nor forwarded.
 * - miekg/dns's server first: it reads at most 512 bytes of a datagram; a message shorter
 *   than a header, or a response, gets nothing;
 *   an opcode other than QUERY and NOTIFY gets NOTIMP; not exactly one question, more than
 *   one answer or authority record or more than two additional ones get FORMERR
 *   (DefaultMsgAcceptFunc), as does a message whose records do not decode. A header alone
 *   (no question follows) gets nothing.
 * Not modelled: swarm services (VIPs, tasks.NAME, SRV), which the model has none of; the
 * random order Docker shuffles several addresses into (the model's order, ascending, is
 * kept so runs compare); `--dns-opt ndots:N`, which the model's containers never set.
 */
import * as dnsTypes from 'dns-packet/types';
import {
  DNS_FLAG_AA, DNS_FLAG_CD, DNS_FLAG_RA, DNS_FLAG_RD, DNS_FLAG_RESPONSE, DNS_FLAG_TC, DNS_FLAG_Z, DNS_HEADER_LEN, DNS_OPCODE_NOTIFY,
  DNS_OPCODE_QUERY, DNS_OPCODE_SHIFT, DNS_UDP_MAX, DnsHeaderRepr, emitDnsHeader, emitDnsName, emitDnsQuestion, emitDnsRecord, parseDnsHeader, parseDnsName,
  parseDnsQuestion, RCODE_FORMERR, RCODE_NOERROR, RCODE_NOTIMP,
} from '../wire/dns';
import { ipv4ToNumber } from '../wire/addr';

/** What dockerd's resolver asks of listen(2) for its TCP socket (Go asks the kernel's somaxconn): the backlog `ss` shows. */
export const RESOLVER_TCP_BACKLOG = 4096;

/** A container endpoint on one of the sandbox's networks, as the resolver knows it. */
export interface DnsViewEndpoint {
  ip: string;
  /** The names it answers to on that network: aliases, container name, short id, hostname. */
  names: string[];
  /** The container's name: its PTR name is `owner.network`. */
  owner: string;
}

export interface DnsViewNetwork {
  name: string;
  scope: string;
  ingress: boolean;
  endpoints: DnsViewEndpoint[];
}

/** What one sandbox's resolver answers from: its networks with the embedded DNS, in the sandbox's order (dns.ts). */
export interface DnsView {
  networks: DnsViewNetwork[];
  /** extDNS: the servers a question Docker does not own is forwarded to, in order (at most MAX_EXT_DNS). */
  external: string[];
}

/** maxExtDNS: the external servers the resolver tries, at most. */
export const MAX_EXT_DNS = 3;
/** extIOTimeout: how long the resolver waits on one external server (its connect, its write, its read). */
export const EXT_DNS_TIMEOUT_MS = 4000;
/** maxConcurrent: forwarded queries outstanding at once; past it, a server is passed over unasked. */
export const MAX_CONCURRENT_FORWARDS = 100;

/**
 * What the server does with one message: sends `reply`, forwards `forward` (the message as
 * read: miekg packs the parsed query again for the write, which gives its bytes back, a
 * query having nothing to compress) to the servers in turn, or neither.
 */
export interface DnsOutcome {
  reply?: Buffer;
  forward?: { query: Uint8Array; servers: string[] };
}

export interface DnsAnswerSet {
  rcode: number;
  answers: { name: string; type: string; ttl: number; data: string }[];
}

/** respTTL. */
const TTL = 600;
/** dns.MaxMsgSize - 1: the most a TCP reply may hold. */
const TCP_REPLY_MAX = 65534;
const TYPE_OPT = 41;
const PTR_IPV4_DOMAIN = '.in-addr.arpa.';
const PTR_IPV6_DOMAIN = '.ip6.arpa.';
const OPCODE_MASK = 0xf << DNS_OPCODE_SHIFT;
const RCODE_MASK = 0xf;

/** ResolveName's order: dynamic (swarm) networks, then ingress, then local ones, each in the sandbox's order. */
function resolutionOrder(view: DnsView): DnsViewNetwork[] {
  const nets = view.networks;
  return [...nets.filter((n) => n.scope === 'swarm' && !n.ingress), ...nets.filter((n) => n.ingress), ...nets.filter((n) => n.scope !== 'swarm')];
}

function findInNetwork(net: DnsViewNetwork, name: string): string[] {
  return net.endpoints.filter((ep) => ep.names.some((n) => n.toLowerCase() === name)).map((ep) => ep.ip).sort((a, b) => ipv4ToNumber(a) - ipv4ToNumber(b));
}

/**
 * Sandbox.ResolveName: "a.b.c" is tried whole on every network, then as "a.b" on network
 * "c", then as "a" on network "b.c" (from the last dot, as libnetwork splits it). The name
 * part is matched in lower case (the records are kept so), the network part as the network
 * is named (sandbox.resolveName compares it with n.Name() as it is). The first network with
 * records answers: a name on several networks gets one network's addresses, never a mix.
 */
export function resolveNameIn(view: DnsView, qname: string): string[] | undefined {
  const name = qname.replace(/\.$/, '');
  const nets = resolutionOrder(view);
  const tries: [string, string | undefined][] = [[name, undefined]];
  for (let i = name.lastIndexOf('.'); i > 0; i = name.lastIndexOf('.', i - 1)) tries.push([name.slice(0, i), name.slice(i + 1)]);
  for (const [req, networkName] of tries) {
    for (const net of nets) {
      if (networkName !== undefined && net.name !== networkName) continue;
      const ips = findInNetwork(net, req.toLowerCase());
      if (ips.length) return ips;
    }
  }
  return undefined;
}

/** Sandbox.ResolveIP: the first network, in the sandbox's order, that knows the address names it `name.network`. */
export function resolveAddressIn(view: DnsView, ip: string): string | undefined {
  for (const net of view.networks) {
    const ep = net.endpoints.find((e) => e.ip === ip);
    if (ep) return `${ep.owner}.${net.name}`;
  }
  return undefined;
}

/**
 * The answer to one question, or undefined when it is not Docker's to answer (forwarded; no
 * reply comes). PTR as handlePTRQuery reads it: the text before `.in-addr.arpa.` is the
 * address reversed, compared as written (ipMap's keys); the suffix is matched as written too.
 */
export function answerIn(view: DnsView, qname: string, qtype: string): DnsAnswerSet | undefined {
  if (qtype === 'PTR') {
    const fqdn = qname.endsWith('.') ? qname : `${qname}.`;
    if (!fqdn.endsWith(PTR_IPV4_DOMAIN)) return undefined;
    const reversed = fqdn.slice(0, fqdn.indexOf(PTR_IPV4_DOMAIN));
    const name = resolveAddressIn(view, reversed.split('.').reverse().join('.'));
    return name ? { rcode: RCODE_NOERROR, answers: [{ name: qname, type: 'PTR', ttl: TTL, data: name }] } : undefined;
  }
  if (qtype !== 'A' && qtype !== 'AAAA' && qtype !== 'MX') return undefined;
  const ips = resolveNameIn(view, qname);
  if (!ips) return undefined;
  if (qtype === 'A') return { rcode: RCODE_NOERROR, answers: ips.map((data) => ({ name: qname, type: 'A', ttl: TTL, data })) };
  // handleIPQuery's ipv6Miss (no IPv6 on Docker's networks here) and handleMXQuery's "implicit MX".
  return { rcode: RCODE_NOERROR, answers: [] };
}

/** The bytes of a label Docker's names are made of; a label with any other can name nothing Docker holds. */
const NAME_LABEL = /^[A-Za-z0-9_-]+$/;

function labelsText(labels: Buffer[]): string | undefined {
  const text = labels.map((l) => l.toString('latin1'));
  return text.every((l) => NAME_LABEL.test(l)) ? text.join('.') : undefined;
}

function ipv4Bytes(ip: string): Buffer {
  return Buffer.from(ip.split('.').map(Number));
}

/** The records after the question: they must decode (miekg unpacks every section); the last OPT's UDP size, if any. */
function walkRecords(msg: Uint8Array, offset: number, count: number, additionalsFrom: number): { ok: boolean; ednsSize?: number } {
  let at = offset;
  let ednsSize: number | undefined;
  for (let i = 0; i < count; i++) {
    const n = parseDnsName(msg, at);
    if (!n || n.end + 10 > msg.length) return { ok: false };
    const type = (msg[n.end] << 8) | msg[n.end + 1];
    const rdlength = (msg[n.end + 8] << 8) | msg[n.end + 9];
    if (n.end + 10 + rdlength > msg.length) return { ok: false };
    if (i >= additionalsFrom && type === TYPE_OPT) ednsSize = (msg[n.end + 2] << 8) | msg[n.end + 3];
    at = n.end + 10 + rdlength;
  }
  return { ok: true, ednsSize };
}

/** miekg's refusal: the query's header back with QR set, AA and Z clear, the rcode given, no records. */
function refusal(h: DnsHeaderRepr, rcode: number, question?: Buffer): Buffer {
  const opcode = rcode === RCODE_NOTIMP ? h.flags & OPCODE_MASK : DNS_OPCODE_QUERY << DNS_OPCODE_SHIFT;
  const flags = ((h.flags | DNS_FLAG_RESPONSE) & ~(DNS_FLAG_AA | DNS_FLAG_Z | OPCODE_MASK | RCODE_MASK)) | opcode | rcode;
  const head = emitDnsHeader({ id: h.id, flags, questions: question ? 1 : 0, answers: 0, authorities: 0, additionals: 0 });
  return question ? Buffer.concat([head, question]) : head;
}

/**
 * What the embedded server sends back for one DNS message that reached it over `transport`,
 * or undefined when it sends nothing. `view` is undefined when no resolver serves the
 * sandbox any more (its container is gone).
 */
export function serveDns(view: DnsView | undefined, datagram: Uint8Array, transport: 'udp' | 'tcp'): Buffer | undefined {
  return serveDnsOutcome(view, datagram, transport).reply;
}

/** What the embedded server does with one DNS message that reached it over `transport`: a reply, a forwarding, or nothing (serveDns). */
export function serveDnsOutcome(view: DnsView | undefined, datagram: Uint8Array, transport: 'udp' | 'tcp'): DnsOutcome {
  // The server reads a datagram into a buffer of its UDPSize, 512 bytes unless set (libnetwork does not): the rest is lost.
  const msg = transport === 'udp' ? datagram.subarray(0, DNS_UDP_MAX) : datagram;
  const h = parseDnsHeader(msg);
  if (!h || h.flags & DNS_FLAG_RESPONSE) return {};
  const opcode = (h.flags & OPCODE_MASK) >> DNS_OPCODE_SHIFT;
  if (opcode !== DNS_OPCODE_QUERY && opcode !== DNS_OPCODE_NOTIFY) return { reply: refusal(h, RCODE_NOTIMP) };
  if (h.questions !== 1 || h.answers > 1 || h.authorities > 1 || h.additionals > 2) return { reply: refusal(h, RCODE_FORMERR) };
  if (msg.length === DNS_HEADER_LEN) return {};
  const q = parseDnsQuestion(msg, DNS_HEADER_LEN);
  if (!q) return { reply: refusal(h, RCODE_FORMERR) };
  const question = emitDnsQuestion(q);
  const rest = walkRecords(msg, q.end, h.answers + h.authorities + h.additionals, h.answers + h.authorities);
  if (!rest.ok) return { reply: refusal(h, RCODE_FORMERR, question) };
  const name = labelsText(q.labels);
  // The handlers look at the type only: a question of another class is answered as IN.
  const qtype = dnsTypes.toString(q.type);
  // dockerd no longer serves a sandbox whose container is gone: nothing answered, nothing forwarded.
  if (!view) return {};
  const answer = name !== undefined ? answerIn(view, `${name}.`, qtype) : undefined;
  if (!answer) return forwarding(view, msg, q.labels, qtype);
  // The owner of every answer is the question's name as asked (its case kept); a PTR's target is `name.network.`.
  const records = answer.answers.map((a) => emitDnsRecord(q.labels, dnsTypes.toType(a.type), a.ttl,
    a.type === 'A' ? ipv4Bytes(a.data) : emitDnsName(a.data.split('.').map((l) => Buffer.from(l, 'latin1')))));
  const max = transport === 'tcp' ? TCP_REPLY_MAX : Math.max(DNS_UDP_MAX, rest.ednsSize ?? 0);
  let flags = DNS_FLAG_RESPONSE | (opcode << DNS_OPCODE_SHIFT) | DNS_FLAG_RA | answer.rcode;
  if (opcode === DNS_OPCODE_QUERY) flags |= h.flags & (DNS_FLAG_RD | DNS_FLAG_CD);
  let size = DNS_HEADER_LEN + question.length + records.reduce((s, r) => s + r.length, 0);
  if (size > max) {
    if (transport === 'udp') flags |= DNS_FLAG_TC;
    while (size > max && records.length) size -= records.pop()!.length;
  }
  return { reply: Buffer.concat([emitDnsHeader({ id: h.id, flags, questions: 1, answers: records.length, authorities: 0, additionals: 0 }), question, ...records]) };
}

/**
 * A question Docker does not answer goes to the external servers, but for a PTR question
 * outside in-addr.arpa and ip6.arpa (handlePTRQuery's error: logged, and ServeDNS returns);
 * the suffix is matched in the question's own case, as strings.HasSuffix does.
 */
function forwarding(view: DnsView, msg: Uint8Array, labels: Buffer[], qtype: string): DnsOutcome {
  const fqdn = `${labels.map((l) => l.toString('latin1')).join('.')}.`;
  if (qtype === 'PTR' && !fqdn.endsWith(PTR_IPV4_DOMAIN) && !fqdn.endsWith(PTR_IPV6_DOMAIN)) return {};
  const servers = view.external.slice(0, MAX_EXT_DNS);
  return servers.length ? { forward: { query: msg, servers } } : {};
}
