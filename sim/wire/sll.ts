/**
 * Linux cooked capture, v1 (link type 113) and v2 (link type 276): what `tcpdump -i any`
 * writes instead of Ethernet headers.
 */
import { fail, Layer, Parsed } from './layer';
import { macToString, writeMac } from './addr';

export const SLL_HEADER_LEN = 16;
export const SLL2_HEADER_LEN = 20;
export const ARPHRD_ETHER = 1;

/** Packet types: 0 to us, 1 broadcast, 2 multicast, 3 to someone else, 4 sent by us. */
export interface SllRepr {
  version: 1 | 2;
  pktType: number;
  haType: number;
  /** Link-layer source address when it is a 6-byte MAC, else its hex bytes. */
  src: string;
  haLen: number;
  protocol: number;
  /** SLL2 only. */
  ifIndex?: number;
}

function addressString(b: Buffer, offset: number, len: number): string {
  if (len === 6) return macToString(b, offset);
  return b.subarray(offset, offset + Math.min(len, 8)).toString('hex');
}

function writeAddress(src: string, len: number, b: Buffer, offset: number): void {
  if (len === 6) writeMac(src, b, offset);
  else Buffer.from(src, 'hex').copy(b, offset, 0, Math.min(len, 8));
}

export function parseSll(b: Buffer): Parsed<SllRepr> {
  if (b.length < SLL_HEADER_LEN) return fail(`sll: ${b.length} bytes, header needs ${SLL_HEADER_LEN}`);
  const haLen = b.readUInt16BE(4);
  return {
    ok: true,
    repr: { version: 1, pktType: b.readUInt16BE(0), haType: b.readUInt16BE(2), haLen, src: addressString(b, 6, haLen), protocol: b.readUInt16BE(14) },
    headerLength: SLL_HEADER_LEN,
    payload: b.subarray(SLL_HEADER_LEN),
  };
}

export function parseSll2(b: Buffer): Parsed<SllRepr> {
  if (b.length < SLL2_HEADER_LEN) return fail(`sll2: ${b.length} bytes, header needs ${SLL2_HEADER_LEN}`);
  const haLen = b[11];
  return {
    ok: true,
    repr: { version: 2, protocol: b.readUInt16BE(0), ifIndex: b.readUInt32BE(4), haType: b.readUInt16BE(8), pktType: b[10], haLen, src: addressString(b, 12, haLen) },
    headerLength: SLL2_HEADER_LEN,
    payload: b.subarray(SLL2_HEADER_LEN),
  };
}

export function emitSll(r: SllRepr, payload: Uint8Array): Buffer {
  const len = r.version === 1 ? SLL_HEADER_LEN : SLL2_HEADER_LEN;
  const b = Buffer.alloc(len + payload.length);
  if (r.version === 1) {
    b.writeUInt16BE(r.pktType, 0);
    b.writeUInt16BE(r.haType, 2);
    b.writeUInt16BE(r.haLen, 4);
    writeAddress(r.src, r.haLen, b, 6);
    b.writeUInt16BE(r.protocol, 14);
  } else {
    b.writeUInt16BE(r.protocol, 0);
    b.writeUInt32BE(r.ifIndex ?? 0, 4);
    b.writeUInt16BE(r.haType, 8);
    b[10] = r.pktType;
    b[11] = r.haLen;
    writeAddress(r.src, r.haLen, b, 12);
  }
  b.set(payload, len);
  return b;
}

export function sllLayer(r: SllRepr): Layer {
  const layer: Layer = { proto: 'sll', 'sll.pkttype': r.pktType, 'sll.hatype': r.haType, 'sll.halen': r.haLen, 'sll.etype': r.protocol };
  if (r.haLen === 6) layer['sll.src.eth'] = r.src;
  if (r.version === 2) layer['sll.ifindex'] = r.ifIndex;
  return layer;
}

export const SLL_FIELD_ENDS: Record<string, number> = { 'sll.pkttype': 2, 'sll.hatype': 4, 'sll.halen': 6, 'sll.src.eth': 12, 'sll.etype': 16 };
export const SLL2_FIELD_ENDS: Record<string, number> = { 'sll.etype': 2, 'sll.ifindex': 8, 'sll.hatype': 10, 'sll.pkttype': 11, 'sll.halen': 12, 'sll.src.eth': 18 };
