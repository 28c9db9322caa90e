/** ICMP for IPv4 (RFC 792, RFC 1191): echo, destination unreachable, time exceeded. */
import { fail, Layer, Parsed } from './layer';
import { checksumValid, internetChecksum } from './checksum';
import { putBe16 } from './bytes';

export const ICMP_HEADER_LEN = 8;
export const ICMP_ECHO_REPLY = 0;
export const ICMP_DEST_UNREACHABLE = 3;
export const ICMP_ECHO_REQUEST = 8;
export const ICMP_TIME_EXCEEDED = 11;
export const UNREACH_FRAG_NEEDED = 4;

export type IcmpRepr =
  | { kind: 'echo'; type: typeof ICMP_ECHO_REPLY | typeof ICMP_ECHO_REQUEST; code: number; ident: number; seq: number; data: Buffer }
  /** `quoted` holds the offending datagram's IP header and first payload bytes. */
  | { kind: 'unreachable'; type: typeof ICMP_DEST_UNREACHABLE; code: number; mtu: number; quoted: Buffer }
  | { kind: 'time-exceeded'; type: typeof ICMP_TIME_EXCEEDED; code: number; quoted: Buffer }
  /** Any other message: the second 32-bit word kept as is. */
  | { kind: 'other'; type: number; code: number; rest: number; data: Buffer };

export type IcmpHeader = IcmpRepr & { checksum: number; checksumOk?: boolean };

/** `complete` is false when the capture cut the message short, so the checksum cannot be checked. */
export function parseIcmp(b: Buffer, complete = true): Parsed<IcmpHeader> {
  if (b.length < ICMP_HEADER_LEN) return fail(`icmp: ${b.length} bytes, header needs ${ICMP_HEADER_LEN}`);
  const type = b[0], code = b[1], rest = b.readUInt32BE(4);
  const body = b.subarray(ICMP_HEADER_LEN);
  const checksum = b.readUInt16BE(2);
  const checksumOk = complete ? checksumValid(b) : undefined;
  let repr: IcmpHeader;
  if (type === ICMP_ECHO_REPLY || type === ICMP_ECHO_REQUEST) {
    repr = { kind: 'echo', type, code, ident: rest >>> 16, seq: rest & 0xffff, data: body, checksum, checksumOk };
  } else if (type === ICMP_DEST_UNREACHABLE && rest >>> 16 === 0) {
    repr = { kind: 'unreachable', type, code, mtu: rest & 0xffff, quoted: body, checksum, checksumOk };
  } else if (type === ICMP_TIME_EXCEEDED && rest === 0) {
    repr = { kind: 'time-exceeded', type, code, quoted: body, checksum, checksumOk };
  } else {
    repr = { kind: 'other', type, code, rest, data: body, checksum, checksumOk };
  }
  return { ok: true, repr, headerLength: ICMP_HEADER_LEN, payload: body };
}

function bodyOf(r: IcmpRepr): Buffer {
  return r.kind === 'echo' || r.kind === 'other' ? r.data : r.quoted;
}

export function icmpLength(r: IcmpRepr): number {
  return ICMP_HEADER_LEN + bodyOf(r).length;
}

export function emitIcmp(r: IcmpRepr): Buffer {
  const b = Buffer.allocUnsafe(icmpLength(r));
  writeIcmp(r, b, 0);
  return b;
}

/** The whole message at `offset` (its checksum covers the body, so the body is written too). */
export function writeIcmp(r: IcmpRepr, b: Buffer, offset: number): void {
  const body = bodyOf(r);
  b[offset] = r.type;
  b[offset + 1] = r.code;
  const rest = r.kind === 'echo' ? (r.ident << 16) | r.seq
    : r.kind === 'unreachable' ? r.mtu
    : r.kind === 'other' ? r.rest : 0;
  putBe16(b, offset + 4, rest >>> 16);
  putBe16(b, offset + 6, rest & 0xffff);
  b.set(body, offset + ICMP_HEADER_LEN);
  putBe16(b, offset + 2, 0);
  putBe16(b, offset + 2, internetChecksum(b, offset, offset + ICMP_HEADER_LEN + body.length));
}

/**
 * An echo message's header over a body already in place behind it in `b` (from `offset` to
 * `end`): type, code, identifier and sequence, and the checksum over the whole message. A
 * ping rewrites one message for each probe, and copying its body onto itself (writeIcmp)
 * would be a copy for nothing.
 */
export function writeEchoHeader(b: Uint8Array, offset: number, end: number, type: typeof ICMP_ECHO_REPLY | typeof ICMP_ECHO_REQUEST, ident: number, seq: number): void {
  b[offset] = type;
  b[offset + 1] = 0;
  putBe16(b, offset + 4, ident);
  putBe16(b, offset + 6, seq);
  putBe16(b, offset + 2, 0);
  putBe16(b, offset + 2, internetChecksum(b, offset, end));
}

export function icmpLayer(h: IcmpHeader): Layer {
  const layer: Layer = {
    proto: 'icmp', 'icmp.type': h.type, 'icmp.code': h.code, 'icmp.checksum': h.checksum,
    'icmp.checksum.status': h.checksumOk === undefined ? 'unverified' : h.checksumOk ? 'good' : 'bad',
  };
  if (h.kind === 'echo') {
    layer['icmp.ident'] = h.ident;
    layer['icmp.seq'] = h.seq;
  } else if (h.kind === 'unreachable' && h.code === UNREACH_FRAG_NEEDED) {
    layer['icmp.mtu'] = h.mtu;
  }
  return layer;
}

export const ICMP_FIELD_ENDS: Record<string, number> = {
  'icmp.type': 1, 'icmp.code': 2, 'icmp.checksum': 4, 'icmp.checksum.status': 99999, 'icmp.ident': 6, 'icmp.seq': 8, 'icmp.mtu': 8,
};

/** True for the ICMP types whose body quotes the datagram that caused them. */
export function quotesDatagram(h: IcmpRepr): boolean {
  return h.kind === 'unreachable' || h.kind === 'time-exceeded';
}
