/** DNS messages (RFC 1035). The message itself is coded by the dns-packet library. */
import * as dnsPacket from 'dns-packet';
import * as dnsTypes from 'dns-packet/types';
import { fail, Layer, Parsed } from './layer';

export const DNS_PORT = 53;
export const DNS_FLAG_RESPONSE = 0x8000;
export const DNS_FLAG_AA = 0x0400;
export const DNS_FLAG_TC = 0x0200;
export const DNS_FLAG_RD = 0x0100;
export const DNS_FLAG_RA = 0x0080;
export const DNS_FLAG_Z = 0x0040;
export const DNS_FLAG_CD = 0x0010;
export const DNS_OPCODE_SHIFT = 11;
export const DNS_OPCODE_QUERY = 0;
export const DNS_OPCODE_NOTIFY = 4;
export const RCODE_NOERROR = 0;
export const RCODE_FORMERR = 1;
export const RCODE_NXDOMAIN = 3;
export const RCODE_NOTIMP = 4;
export const DNS_CLASS_IN = 1;
/** The largest DNS message a UDP datagram carries without EDNS (RFC 1035 4.2.1). */
export const DNS_UDP_MAX = 512;

export interface DnsQuestion {
  name: string;
  /** A, AAAA, PTR … */
  type: string;
}

export interface DnsAnswer extends DnsQuestion {
  ttl: number;
  /** An address for A and AAAA, a domain name for PTR and CNAME. */
  data: string;
}

export interface DnsRepr {
  id: number;
  /** All 16 flag bits, QR and RCODE included. */
  flags: number;
  questions: DnsQuestion[];
  answers: DnsAnswer[];
}

const TEXT_DATA_TYPES = new Set(['A', 'AAAA', 'PTR', 'CNAME', 'NS']);

export function parseDns(b: Buffer): Parsed<DnsRepr> {
  let p: dnsPacket.Packet;
  try {
    p = dnsPacket.decode(b);
  } catch (e) {
    return fail(`dns: ${(e as Error).message}`);
  }
  const flags = (p.type === 'response' ? DNS_FLAG_RESPONSE : 0) | ((p.flags ?? 0) & 0x7fff);
  const answers: DnsAnswer[] = [];
  for (const a of p.answers ?? []) {
    if (a.type === 'OPT') continue;
    const rec = a as { name: string; type: string; ttl?: number; data?: unknown };
    answers.push({ name: rec.name, type: rec.type, ttl: rec.ttl ?? 0, data: TEXT_DATA_TYPES.has(rec.type) ? String(rec.data) : '' });
  }
  return {
    ok: true,
    repr: { id: p.id ?? 0, flags, questions: (p.questions ?? []).map((q) => ({ name: q.name, type: q.type })), answers },
    headerLength: b.length,
    payload: b.subarray(b.length),
  };
}

export function emitDns(r: DnsRepr): Buffer {
  return dnsPacket.encode({
    id: r.id,
    type: r.flags & DNS_FLAG_RESPONSE ? 'response' : 'query',
    flags: r.flags & 0x7fff,
    questions: r.questions.map((q) => ({ name: q.name, type: q.type as dnsPacket.RecordType, class: 'IN' })),
    answers: r.answers.map((a) => ({ name: a.name, type: a.type, ttl: a.ttl, class: 'IN', data: a.data }) as dnsPacket.Answer),
  });
}

export function dnsRcode(r: DnsRepr): number {
  return r.flags & 0xf;
}

export function dnsLayer(r: DnsRepr): Layer {
  const layer: Layer = {
    proto: 'dns', 'dns.id': r.id, 'dns.flags.response': (r.flags & DNS_FLAG_RESPONSE) !== 0,
    'dns.flags.opcode': (r.flags >> 11) & 0xf, 'dns.flags.rcode': dnsRcode(r),
    'dns.count.queries': r.questions.length, 'dns.count.answers': r.answers.length,
  };
  if (r.questions.length > 0) {
    layer['dns.qry.name'] = r.questions[0].name;
    layer['dns.qry.type'] = dnsTypes.toType(r.questions[0].type);
  }
  const a = r.answers.filter((x) => x.type === 'A').map((x) => x.data);
  if (a.length) layer['dns.a'] = a;
  const ptr = r.answers.filter((x) => x.type === 'PTR').map((x) => x.data);
  if (ptr.length) layer['dns.ptr.domain_name'] = ptr;
  if (r.answers.length) layer['dns.resp.ttl'] = r.answers.map((x) => x.ttl);
  return layer;
}

/**
 * Whether a name can be asked in a DNS query: 253 characters at most (a trailing dot aside),
 * labels of 1 to 63. glibc's res_mkquery refuses any other name before a packet is sent.
 */
export function isQueryableName(name: string): boolean {
  const bare = name.endsWith('.') ? name.slice(0, -1) : name;
  if (bare.length === 0 || bare.length > 253) return false;
  return bare.split('.').every((label) => label.length >= 1 && label.length <= 63);
}

export const DNS_FIELD_ENDS: Record<string, number> = {};

export const DNS_HEADER_LEN = 12;
const DNS_OPCODE_MASK = 0x7800;

/** The fixed header: id, the 16 flag bits, and the four section counts. */
export interface DnsHeaderRepr {
  id: number;
  flags: number;
  questions: number;
  answers: number;
  authorities: number;
  additionals: number;
}

export function parseDnsHeader(b: Uint8Array): DnsHeaderRepr | undefined {
  if (b.length < DNS_HEADER_LEN) return undefined;
  const be16 = (o: number) => (b[o] << 8) | b[o + 1];
  return { id: be16(0), flags: be16(2), questions: be16(4), answers: be16(6), authorities: be16(8), additionals: be16(10) };
}

export function emitDnsHeader(h: DnsHeaderRepr): Buffer {
  const b = Buffer.alloc(DNS_HEADER_LEN);
  [h.id, h.flags, h.questions, h.answers, h.authorities, h.additionals].forEach((v, i) => b.writeUInt16BE(v, 2 * i));
  return b;
}

/** A question as its bytes say it: the name's labels (compression followed), type and class, and where it ends. */
export interface DnsWireQuestion {
  labels: Buffer[];
  type: number;
  class: number;
  end: number;
}

/** The longest name (RFC 1035 3.1: 255 octets on the wire, its length bytes and the root's included). */
const NAME_MAX_WIRE = 255;
const POINTER_BITS = 0xc0;

/** The name at `offset`: its labels and the offset after it, or undefined when the bytes do not hold one. */
export function parseDnsName(b: Uint8Array, offset: number): { labels: Buffer[]; end: number } | undefined {
  const labels: Buffer[] = [];
  let at = offset;
  let end: number | undefined;
  let wire = 1;
  // A pointer may only point back (RFC 1035 4.1.4), so following them always ends.
  let limit = offset;
  for (;;) {
    if (at >= b.length) return undefined;
    const len = b[at];
    if (len === 0) return { labels, end: end ?? at + 1 };
    if ((len & POINTER_BITS) === POINTER_BITS) {
      if (at + 1 >= b.length) return undefined;
      const target = ((len & ~POINTER_BITS) << 8) | b[at + 1];
      if (target >= limit) return undefined;
      end ??= at + 2;
      at = limit = target;
      continue;
    }
    if (len & POINTER_BITS || at + 1 + len > b.length) return undefined;
    wire += len + 1;
    if (wire > NAME_MAX_WIRE) return undefined;
    labels.push(Buffer.from(b.subarray(at + 1, at + 1 + len)));
    at += 1 + len;
  }
}

export function parseDnsQuestion(b: Uint8Array, offset: number): DnsWireQuestion | undefined {
  const n = parseDnsName(b, offset);
  if (!n || n.end + 4 > b.length) return undefined;
  return { labels: n.labels, type: (b[n.end] << 8) | b[n.end + 1], class: (b[n.end + 2] << 8) | b[n.end + 3], end: n.end + 4 };
}

/** A name from its labels, uncompressed. */
export function emitDnsName(labels: Buffer[]): Buffer {
  return Buffer.concat([...labels.flatMap((l) => [Buffer.from([l.length]), l]), Buffer.from([0])]);
}

export function emitDnsQuestion(q: Omit<DnsWireQuestion, 'end'>): Buffer {
  const tail = Buffer.alloc(4);
  tail.writeUInt16BE(q.type, 0);
  tail.writeUInt16BE(q.class, 2);
  return Buffer.concat([emitDnsName(q.labels), tail]);
}

/** A resource record of class IN: owner name, type, TTL and its data as bytes. */
export function emitDnsRecord(owner: Buffer[], type: number, ttl: number, rdata: Buffer): Buffer {
  const fixed = Buffer.alloc(10);
  fixed.writeUInt16BE(type, 0);
  fixed.writeUInt16BE(DNS_CLASS_IN, 2);
  fixed.writeUInt32BE(ttl, 4);
  fixed.writeUInt16BE(rdata.length, 8);
  return Buffer.concat([emitDnsName(owner), fixed, rdata]);
}
/** The most answer, authority and additional records a message may claim and still look like DNS. */
const HEURISTIC_MAX_ANSWERS = 100;
const HEURISTIC_MAX_AUTHORITY = 10;
const HEURISTIC_MAX_ADDITIONAL = 10;

/**
 * Whether a UDP payload on ports that name no protocol looks like a DNS message, by the
 * header-only rule of tshark's `dns_udp` heuristic (Wireshark 4.0, probed with tshark
 * itself): more than a header; a standard query (opcode 0); a query asks exactly one
 * question and carries no answer or authority records, a response at most one question,
 * 100 answers and 10 authority records; at most 10 additional records.
 * The records themselves are not checked: a message that passes and then fails to parse is
 * DNS, malformed, as tshark shows it. This is how a capture inside a Docker container shows
 * queries as DNS although Docker's NAT sends them to a random port of the embedded resolver.
 */
export function looksLikeDns(b: Uint8Array): boolean {
  if (b.length <= DNS_HEADER_LEN) return false;
  const be16 = (o: number) => (b[o] << 8) | b[o + 1];
  const flags = be16(2), questions = be16(4), answers = be16(6), authority = be16(8), additional = be16(10);
  if ((flags & DNS_OPCODE_MASK) !== 0) return false;
  if (flags & DNS_FLAG_RESPONSE) {
    if (questions > 1 || answers > HEURISTIC_MAX_ANSWERS || authority > HEURISTIC_MAX_AUTHORITY) return false;
  } else if (questions !== 1 || answers !== 0 || authority !== 0) {
    return false;
  }
  return additional <= HEURISTIC_MAX_ADDITIONAL;
}

/**
 * The fixed header's fields that the bytes hold, for a message that does not parse whole (cut
 * by the snap length, or not DNS at all on port 53): Wireshark still shows its id and opcode.
 */
export function dnsHeaderLayer(b: Buffer): Layer {
  const layer: Layer = { proto: 'dns' };
  if (b.length >= 2) layer['dns.id'] = b.readUInt16BE(0);
  if (b.length >= 4) {
    const flags = b.readUInt16BE(2);
    layer['dns.flags.response'] = (flags & DNS_FLAG_RESPONSE) !== 0;
    layer['dns.flags.opcode'] = (flags >> 11) & 0xf;
    layer['dns.flags.rcode'] = flags & 0xf;
  }
  if (b.length >= 6) layer['dns.count.queries'] = b.readUInt16BE(4);
  if (b.length >= 8) layer['dns.count.answers'] = b.readUInt16BE(6);
  return layer;
}
