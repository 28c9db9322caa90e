/** UDP (RFC 768) with the IPv4 pseudo-header checksum. */
import { fail, Layer, Parsed } from './layer';
import { checksumValid, internetChecksum, pseudoHeaderSum } from './checksum';
import { writeIpv4 } from './addr';
import { IPPROTO_UDP } from './ipv4';
import { putBe16 } from './bytes';

export const UDP_HEADER_LEN = 8;

export interface UdpRepr {
  srcPort: number;
  dstPort: number;
}

export interface UdpHeader extends UdpRepr {
  length: number;
  checksum: number;
  /** undefined when the checksum is absent (zero) or cannot be checked. */
  checksumOk?: boolean;
}

/** The IPv4 addresses the pseudo-header needs; omit them to skip the checksum. */
export interface PseudoHeader {
  src: string;
  dst: string;
}

function pseudoSum(ph: PseudoHeader, length: number): number {
  const s = Buffer.allocUnsafe(8);
  writeIpv4(ph.src, s, 0);
  writeIpv4(ph.dst, s, 4);
  return pseudoHeaderSum(s.subarray(0, 4), s.subarray(4, 8), IPPROTO_UDP, length);
}

export function parseUdp(b: Buffer, ph?: PseudoHeader, complete = true): Parsed<UdpHeader> {
  if (b.length < UDP_HEADER_LEN) return fail(`udp: ${b.length} bytes, header needs ${UDP_HEADER_LEN}`);
  const length = b.readUInt16BE(4);
  if (length < UDP_HEADER_LEN) return fail(`udp: length ${length} is below the header's 8`);
  const checksum = b.readUInt16BE(6);
  const whole = complete && b.length >= length;
  const checksumOk = checksum === 0 || !ph || !whole ? undefined : checksumValid(b, 0, length, pseudoSum(ph, length));
  return {
    ok: true,
    repr: { srcPort: b.readUInt16BE(0), dstPort: b.readUInt16BE(2), length, checksum, checksumOk },
    headerLength: UDP_HEADER_LEN,
    payload: b.subarray(UDP_HEADER_LEN, Math.min(length, b.length)),
    truncated: length > b.length,
  };
}

/** With a pseudo-header the checksum is computed; without one it is left zero, as Linux's VXLAN does. */
export function emitUdp(r: UdpRepr, payload: Uint8Array, ph?: PseudoHeader): Buffer {
  const length = UDP_HEADER_LEN + payload.length;
  const b = Buffer.allocUnsafe(length);
  writeUdpHeader(r, b, 0, payload.length);
  b.set(payload, UDP_HEADER_LEN);
  if (ph) b.writeUInt16BE(internetChecksum(b, 0, length, pseudoSum(ph, length)) || 0xffff, 6);
  return b;
}

/** The header alone with a zero (absent) checksum, for a datagram built whole in one buffer. */
export function writeUdpHeader(r: UdpRepr, b: Uint8Array, offset: number, payloadLength: number): void {
  const length = UDP_HEADER_LEN + payloadLength;
  if (length > 0xffff) datagramTooLong(length);
  putBe16(b, offset, r.srcPort);
  putBe16(b, offset + 2, r.dstPort);
  putBe16(b, offset + 4, length);
  putBe16(b, offset + 6, 0);
}

// The error's text in a function of its own: writeUdpHeader is inlined into every encapsulation, where its size counts against the compiler's inlining budget.
function datagramTooLong(length: number): never {
  throw new Error(`udp: datagram of ${length} bytes exceeds 65535`);
}

export function udpLayer(h: UdpHeader): Layer {
  return {
    proto: 'udp', 'udp.srcport': h.srcPort, 'udp.dstport': h.dstPort, 'udp.length': h.length, 'udp.checksum': h.checksum,
    'udp.checksum.status': h.checksum === 0 ? 'not present' : h.checksumOk === undefined ? 'unverified' : h.checksumOk ? 'good' : 'bad',
  };
}

export const UDP_FIELD_ENDS: Record<string, number> = {
  'udp.srcport': 2, 'udp.dstport': 4, 'udp.length': 6, 'udp.checksum': 8, 'udp.checksum.status': 99999,
};
