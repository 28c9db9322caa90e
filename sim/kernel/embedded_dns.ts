/**
 * dockerd's embedded DNS server, as a container sees it at 127.0.0.11:53: dockerd's UDP
 * socket in the sandbox is at a port the kernel picked (the plan's socket.listen), and the
 * sandbox's nat rules (Docker's DNAT and SNAT) carry queries there and answers back from
 * :53; a question Docker does not own it forwards from the container's namespace to the
 * sandbox's external servers (Google's, in a lab), on the wire as the container's own
 * packets would go. And how a container's programs ask the nameservers of its
 * /etc/resolv.conf: that one, or the host's that libnetwork copied (Google's, in a lab),
 * which nothing answers.
 */
import { ExecContext } from '../backend';
import { Datapath } from './datapath';
import { SimNetns } from './objects';
import { dnsView } from '../model/dns';
import { EXT_DNS_TIMEOUT_MS, MAX_CONCURRENT_FORWARDS, serveDnsOutcome } from '../model/resolver';
import { Container, containerById, World } from '../model/world';
import { DNS_FLAG_RD, DNS_FLAG_RESPONSE, DNS_PORT, DnsRepr, emitDns, isQueryableName, parseDns, RCODE_NXDOMAIN } from '../wire/dns';
import { emitUdp } from '../wire/udp';
import { IPPROTO_UDP, Ipv4Repr } from '../wire/ipv4';
import { Flow } from '../trace/types';
import { nameservers } from '../model/resolvconf';
import { viewFile } from '../model/etc';
import { packetWay } from '../model/drivers';
import { registeredPath } from '../trace/paths';

const EMBEDDED_DNS = '127.0.0.11';
/** Spreads the resolver's query ids (any odd multiplier walks all 16-bit values). */
const QUERY_ID_STRIDE = 7919;

/**
 * The engine's state the servers answer from, per datapath: the world as it is now. Every
 * command that runs in a container brings the current world (queries arrive only while one
 * runs), so an answer never comes from the world of an earlier lookup.
 */
const engineWorld = new WeakMap<Datapath, World>();

/** A UDP datagram's IPv4 header as a socket sends it (Linux sets DF on UDP, path MTU discovery being on). */
function udpHeader(dp: Datapath, src: string, dst: string): Omit<Ipv4Repr, 'options'> {
  return { src, dst, protocol: IPPROTO_UDP, ttl: 64, id: dp.nextIpId(), tos: 0, dontFragment: true, moreFragments: false, fragmentOffset: 0 };
}

/** Serves dockerd's UDP socket on 127.0.0.11 in a container's namespace, if the sandbox has one (a network with the embedded DNS). */
function ensureEmbeddedDns(dp: Datapath, ns: SimNetns, containerId: string): void {
  const port = ns.listening.find((s) => s.proto === 'udp' && s.address === EMBEDDED_DNS)?.port;
  if (port === undefined || dp.sockets.isBoundUdp(ns, EMBEDDED_DNS, port)) return;
  dp.sockets.bindUdp(ns, EMBEDDED_DNS, port, (h, srcPort, payload, skb) => {
    const world = engineWorld.get(dp);
    const asker = world && containerById(world, containerId);
    const answer = (reply: Uint8Array, flow: Flow | undefined) => dp.ipSend(ns, udpHeader(dp, EMBEDDED_DNS, h.src),
      emitUdp({ srcPort: port, dstPort: srcPort }, reply, { src: EMBEDDED_DNS, dst: h.src }), flow, 'reply');
    // dockerd no longer serves a sandbox whose container is gone: the query goes unanswered.
    const outcome = serveDnsOutcome(asker && dnsView(world, asker), payload, 'udp');
    const reply = outcome.reply;
    if (reply) dp.clock.schedule(dp.delays.dns, () => answer(reply, skb.flow));
    else if (outcome.forward && asker) forwardQuery(dp, ns, asker, outcome.forward.query, outcome.forward.servers, (relayed) => answer(relayed, skb.flow));
  });
}

/** Forwarded queries outstanding, per sandbox (the resolver's count, forwardQueryStart). */
const forwardsOutstanding = new WeakMap<SimNetns, number>();

/**
 * ServeDNS's forwarding: from the container's namespace (ExecFunc), each external server in
 * turn, one UDP socket connected to it at an ephemeral port, the query written as it came;
 * a server without a route is passed over at once (the connect fails), as is every server
 * while MAX_CONCURRENT_FORWARDS of the sandbox's queries wait; a server asked is waited for
 * EXT_DNS_TIMEOUT_MS, and its reply is relayed to the asker. None answers in a lab (the
 * host routes nothing to Google's, and answers its ICMP network unreachable, which a
 * connected UDP socket takes no notice of: not a hard error), so each forwarding ends with
 * no reply, as the asker's own timeouts expect. The packets are a flow of their own, from
 * the container to the question's name, on the path its driver names for the way out
 * (docker_gwbridge's beside an overlay, the bridge's own).
 */
function forwardQuery(dp: Datapath, ns: SimNetns, asker: Container, query: Uint8Array, servers: string[], relay: (reply: Uint8Array) => void): void {
  const world = engineWorld.get(dp)!;
  const parsed = parseDns(Buffer.from(query));
  const flow = dp.newFlow('dns', asker.name, (parsed.ok && parsed.repr.questions[0]?.name) || servers[0]);
  const path = registeredPath(packetWay(world, asker, servers[0])?.path);
  if (path) flow.path = path;
  const ask = (i: number): void => {
    const server = servers[i];
    if (server === undefined) return;
    const r = dp.route(ns, server);
    const outstanding = forwardsOutstanding.get(ns) ?? 0;
    if (!r || r.blackhole || outstanding >= MAX_CONCURRENT_FORWARDS) return ask(i + 1);
    forwardsOutstanding.set(ns, outstanding + 1);
    const port = dp.sockets.nextEphemeralPort();
    let waiting = true;
    const done = () => {
      waiting = false;
      close();
      forwardsOutstanding.set(ns, (forwardsOutstanding.get(ns) ?? 1) - 1);
    };
    // Connected to the server: only its datagrams reach the socket.
    const close = dp.sockets.bindUdp(ns, r.src, port, (h, srcPort, payload) => {
      if (!waiting || h.src !== server || srcPort !== DNS_PORT) return;
      done();
      relay(payload);
    });
    dp.ipSend(ns, udpHeader(dp, r.src, server), emitUdp({ srcPort: port, dstPort: DNS_PORT }, query, { src: r.src, dst: server }), flow, 'request');
    dp.clock.schedule(EXT_DNS_TIMEOUT_MS * 1_000_000, () => {
      if (!waiting) return;
      done();
      ask(i + 1);
    });
  };
  ask(0);
}

/** How long a resolver waits for an answer and how often it asks again. */
export interface ResolverTiming {
  /** Between one sending of the unanswered queries and the next. */
  retryNs: number;
  /** How long it waits in all before giving up. */
  totalNs: number;
}

/** glibc's stub resolver with resolv.conf's defaults: timeout:5 (seconds), attempts:2. */
const GLIBC_TIMEOUT_S = 5;
const GLIBC_ATTEMPTS = 2;
/** glibc's MAXNS: the nameservers of resolv.conf past the third are not used (resolv_conf.c). */
const GLIBC_MAXNS = 3;

/**
 * The nameservers glibc asks, in order, each with how long it waits for that server's
 * answer: res_send.c send_dg's whole seconds, timeout << i over the number of servers from
 * the second on (integer division), at least 1.
 */
export function glibcServerWaits(servers: readonly string[]): { server: string; waitNs: number }[] {
  const used = servers.slice(0, GLIBC_MAXNS);
  return used.map((server, i) => {
    const seconds = i === 0 ? GLIBC_TIMEOUT_S : Math.trunc((GLIBC_TIMEOUT_S << i) / used.length);
    return { server, waitNs: Math.max(1, seconds) * 1_000_000_000 };
  });
}

/** What came back for the questions asked together: replies in the order they came, and the questions none answered. */
export interface Replies {
  replies: DnsRepr[];
  unanswered: { name: string; type: string }[];
}

/** A question to ask, with the query id it goes out with when the asker chose one (glibc's stays the same from one server and try to the next). */
export interface Question {
  name: string;
  type: string;
  id?: number;
}

function queryId(dp: Datapath): number {
  return (dp.nextIpId() * QUERY_ID_STRIDE) & 0xffff;
}

/**
 * The nameservers of /etc/resolv.conf as the step's container (else the namespace's host)
 * sees it, in order (read as libnetwork reads them). With none (a lab's host has no resolv.conf) glibc, bind and BusyBox ask 127.0.0.1,
 * where nothing listens in a lab, and the port unreachable that comes back over lo ends the
 * lookup at once (ECONNREFUSED); the model asks nothing, to the same end, and that query is
 * not modelled.
 */
export function nameserversOf(ns: SimNetns, ctx: ExecContext): string[] {
  return nameservers(viewFile(ctx.world, ns.files, ctx.container ? { container: ctx.container } : { host: ns.host.name }, '/etc/resolv.conf') ?? '');
}

/**
 * What asking one server came to: its replies and the questions none answered, or
 * `unreachable` when no route leads to it (the socket's connect fails, ENETUNREACH).
 */
export type Asked = Replies | 'unreachable';

/**
 * Questions asked of one server at once, one query each from one UDP socket; the unanswered
 * ones are sent again every `retryNs` until `totalNs`. Docker's embedded server is asked over
 * lo; any other (the host's resolvers, Google's that libnetwork puts in their place) from
 * the address the route gives, where nothing in a lab answers: the host, with no route to it,
 * sends back ICMP network unreachable, which a UDP socket takes no notice of unless it asked
 * for errors (IP_RECVERR: glibc does, and then gives up on that server early, when the
 * kernel's ICMP rate limit let the error through; not modelled, so every wait runs out).
 * undefined: the namespace holds no container the embedded server would answer.
 */
export function askServer(dp: Datapath, ns: SimNetns, ctx: ExecContext, server: string, questions: Question[], flow: Flow, timing: ResolverTiming): Asked | undefined {
  const c = containerById(ctx.world, ctx.container);
  const embedded = server === EMBEDDED_DNS;
  if (embedded && !c) return undefined;
  const r = dp.route(ns, server);
  if (!r || r.blackhole) return 'unreachable';
  if (embedded) {
    engineWorld.set(dp, ctx.world);
    ensureEmbeddedDns(dp, ns, c!.id);
  } else if (c && flow.path === undefined) {
    // Out of the container toward the server: the path its network's driver names for it, as a ping's.
    const path = registeredPath(packetWay(ctx.world, c, server)?.path);
    if (path) flow.path = path;
  }
  const src = embedded ? '127.0.0.1' : r.src;
  const port = dp.sockets.nextEphemeralPort();
  const queries = questions.map(({ name, type, id }) => ({ q: { name, type }, id: id ?? queryId(dp), reply: undefined as DnsRepr | undefined }));
  const replies: DnsRepr[] = [];
  const close = dp.sockets.bindUdp(ns, src, port, (_h, _sp, payload) => {
    const reply = parseDns(payload);
    const query = reply.ok ? queries.find((x) => x.id === reply.repr.id && !x.reply) : undefined;
    if (reply.ok && query) {
      query.reply = reply.repr;
      replies.push(reply.repr);
    }
  });
  const start = dp.clock.now;
  const done = () => queries.every((x) => x.reply);
  for (let sentAt = start; sentAt < start + timing.totalNs && !done(); sentAt += timing.retryNs) {
    dp.clock.runUntil(sentAt, done);
    if (done()) break;
    for (const x of queries.filter((y) => !y.reply)) {
      const query = emitDns({ id: x.id, flags: DNS_FLAG_RD, questions: [x.q], answers: [] });
      dp.ipSend(ns, { src, dst: server, protocol: IPPROTO_UDP, ttl: 64, id: dp.nextIpId(), tos: 0, dontFragment: true, moreFragments: false, fragmentOffset: 0 },
        emitUdp({ srcPort: port, dstPort: DNS_PORT }, query, { src, dst: server }), flow, 'request');
    }
  }
  dp.clock.runUntil(start + timing.totalNs, done);
  close();
  return { replies, unanswered: queries.filter((x) => !x.reply).map((x) => x.q) };
}

/**
 * glibc's stub resolver: one question to each of the first three nameservers of
 * /etc/resolv.conf in turn, the round twice (attempts:2), each waited for as glibcServerWaits
 * says; its answer, or undefined when none came.
 */
export function resolve(dp: Datapath, ns: SimNetns, ctx: ExecContext, name: string, type: string, flow: Flow): DnsRepr | undefined {
  // glibc asks nothing for a name no query can carry, and answers as for a name that does not exist.
  if (!isQueryableName(name)) return { id: 0, flags: DNS_FLAG_RESPONSE | RCODE_NXDOMAIN, questions: [], answers: [] };
  const servers = glibcServerWaits(nameserversOf(ns, ctx));
  const question = { name, type, id: queryId(dp) };
  for (let attempt = 0; attempt < GLIBC_ATTEMPTS; attempt++) {
    for (const { server, waitNs } of servers) {
      const asked = askServer(dp, ns, ctx, server, [question], flow, { retryNs: waitNs, totalNs: waitNs });
      if (asked === undefined) return undefined;
      if (asked !== 'unreachable' && asked.replies.length) return asked.replies[0];
    }
  }
  return undefined;
}
