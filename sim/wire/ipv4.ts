/** IPv4 (RFC 791) with options and fragmentation fields. */
import { fail, Layer, Parsed } from './layer';
import { ipv4ToNumber, ipv4ToString, writeIpv4 } from './addr';
import { checksumValid, internetChecksum } from './checksum';
import { be16, be32, putBe16, putBe32 } from './bytes';

export const IPV4_MIN_HEADER_LEN = 20;
export const IPPROTO_ICMP = 1;
/** IP in IP (RFC 2003): the payload is another IPv4 datagram. */
export const IPPROTO_IPIP = 4;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;

const NO_OPTIONS = Buffer.alloc(0);

export interface Ipv4Repr {
  src: string;
  dst: string;
  protocol: number;
  ttl: number;
  id: number;
  /** The whole DS byte (DSCP and ECN). */
  tos: number;
  dontFragment: boolean;
  moreFragments: boolean;
  /** In bytes; a multiple of 8. */
  fragmentOffset: number;
  /** Raw option bytes, padded by emit to a multiple of 4. */
  options: Buffer;
}

/** What parse reads beyond the representation: fields emit computes. */
export interface Ipv4Header extends Ipv4Repr {
  headerLength: number;
  totalLength: number;
  checksum: number;
  checksumOk: boolean;
}

/**
 * What makes the header at `offset` unreadable, or undefined when its lengths hold. The one
 * place they are checked: parseIpv4 and the datapath's in-place reads (below) both rely on it.
 */
export function ipv4HeaderProblem(b: Uint8Array, offset = 0): string | undefined {
  // Every packet a router takes is checked: a sound header is told in a few comparisons,
  // and only a bad one pays for the words (a function of its own, kept out of the hot path).
  const length = b.length - offset;
  if (length >= IPV4_MIN_HEADER_LEN) {
    const headerLength = (b[offset] & 15) * 4;
    if (b[offset] >> 4 === 4 && headerLength >= IPV4_MIN_HEADER_LEN && length >= headerLength && be16(b, offset + 2) >= headerLength) return undefined;
  }
  return ipv4HeaderProblemText(b, offset);
}

function ipv4HeaderProblemText(b: Uint8Array, offset: number): string | undefined {
  const length = b.length - offset;
  if (length < IPV4_MIN_HEADER_LEN) return `ip: ${length} bytes, header needs ${IPV4_MIN_HEADER_LEN}`;
  const version = b[offset] >> 4, headerLength = (b[offset] & 15) * 4;
  if (version !== 4) return `ip: version ${version}, expected 4`;
  if (headerLength < IPV4_MIN_HEADER_LEN) return `ip: header length ${headerLength} is below 20`;
  if (length < headerLength) return `ip: ${length} bytes, header with options needs ${headerLength}`;
  const totalLength = be16(b, offset + 2);
  if (totalLength < headerLength) return `ip: total length ${totalLength} is shorter than the header (${headerLength})`;
  return undefined;
}

/**
 * In-place reads of a header that passed ipv4HeaderProblem (smoltcp's Packet view beside
 * the Repr): a router looks at a few fields of every packet and builds no representation.
 */
export function ipv4PacketHeaderLength(b: Uint8Array, offset: number): number {
  return (b[offset] & 15) * 4;
}

/** Where the datagram ends in `b`: its total length, or the buffer's end when that is shorter. */
export function ipv4PacketEnd(b: Uint8Array, offset: number): number {
  return offset + Math.min(be16(b, offset + 2), b.length - offset);
}

export function ipv4PacketIsFragment(b: Uint8Array, offset: number): boolean {
  return (be16(b, offset + 6) & 0x3fff) !== 0;
}

/**
 * Whether the header at `offset` sums to all ones (RFC 1071). An option-less header, as
 * nearly every received datagram has, is summed word by word without a loop (every packet
 * a namespace takes in is checked); one with options takes the general sum.
 */
export function ipv4PacketChecksumOk(b: Uint8Array, offset: number): boolean {
  const headerLength = ipv4PacketHeaderLength(b, offset);
  if (headerLength !== IPV4_MIN_HEADER_LEN || b.length < offset + IPV4_MIN_HEADER_LEN) return checksumValid(b, offset, offset + headerLength);
  const o = offset;
  let sum = ((b[o] << 8) | b[o + 1]) + ((b[o + 2] << 8) | b[o + 3]) + ((b[o + 4] << 8) | b[o + 5]) + ((b[o + 6] << 8) | b[o + 7]) + ((b[o + 8] << 8) | b[o + 9])
    + ((b[o + 10] << 8) | b[o + 11]) + ((b[o + 12] << 8) | b[o + 13]) + ((b[o + 14] << 8) | b[o + 15]) + ((b[o + 16] << 8) | b[o + 17]) + ((b[o + 18] << 8) | b[o + 19]);
  sum = (sum & 0xffff) + (sum >>> 16);
  sum = (sum & 0xffff) + (sum >>> 16);
  return sum === 0xffff;
}

/** The destination address as a signed 32-bit number (a small integer to V8, cheap as a key). */
export function ipv4PacketDst(b: Uint8Array, offset: number): number {
  return be32(b, offset + 16);
}

export function ipv4PacketSrc(b: Uint8Array, offset: number): string {
  return ipv4ToString(b, offset + 12);
}

export function ipv4PacketDstString(b: Uint8Array, offset: number): string {
  return ipv4ToString(b, offset + 16);
}

export function ipv4PacketProtocol(b: Uint8Array, offset: number): number {
  return b[offset + 9];
}

export function ipv4PacketTtl(b: Uint8Array, offset: number): number {
  return b[offset + 8];
}

/** The datagram that starts at `offset` (a frame's IP layer is read in place, as writeIpv4Header writes it). */
export function parseIpv4(b: Buffer, offset = 0): Parsed<Ipv4Header> {
  const problem = ipv4HeaderProblem(b, offset);
  if (problem !== undefined) return fail(problem);
  const length = b.length - offset;
  const headerLength = ipv4PacketHeaderLength(b, offset);
  const totalLength = be16(b, offset + 2);
  const flagsOffset = be16(b, offset + 6);
  const repr: Ipv4Header = {
    src: ipv4ToString(b, offset + 12),
    dst: ipv4ToString(b, offset + 16),
    protocol: b[offset + 9],
    ttl: b[offset + 8],
    id: be16(b, offset + 4),
    tos: b[offset + 1],
    dontFragment: (flagsOffset & 0x4000) !== 0,
    moreFragments: (flagsOffset & 0x2000) !== 0,
    fragmentOffset: (flagsOffset & 0x1fff) * 8,
    options: headerLength > IPV4_MIN_HEADER_LEN ? b.subarray(offset + IPV4_MIN_HEADER_LEN, offset + headerLength) : NO_OPTIONS,
    headerLength,
    totalLength,
    checksum: be16(b, offset + 10),
    checksumOk: checksumValid(b, offset, offset + headerLength),
  };
  const end = Math.min(totalLength, length);
  return { ok: true, repr, headerLength, payload: b.subarray(offset + headerLength, offset + end), truncated: totalLength > length };
}

export function ipv4HeaderLength(r: Ipv4Repr): number {
  const headerLength = IPV4_MIN_HEADER_LEN + ((r.options.length + 3) & ~3);
  if (headerLength > 60) optionsTooLong(r);
  return headerLength;
}

function optionsTooLong(r: Ipv4Repr): never {
  throw new Error(`ip: options of ${r.options.length} bytes do not fit the header`);
}

export function emitIpv4(r: Ipv4Repr, payload: Uint8Array): Buffer {
  const headerLength = ipv4HeaderLength(r);
  const b = Buffer.allocUnsafe(headerLength + payload.length);
  writeIpv4Header(r, b, 0, payload.length);
  b.set(payload, headerLength);
  return b;
}

/** The header (with its checksum) alone, for a datagram built whole in one buffer; returns its length. */
export function writeIpv4Header(r: Ipv4Repr, b: Uint8Array, offset: number, payloadLength: number): number {
  if (r.options.length !== 0 || r.fragmentOffset % 8 !== 0 || payloadLength > 0xffff - IPV4_MIN_HEADER_LEN) return writeIpv4HeaderWithOptions(r, b, offset, payloadLength);
  writeIpv4PlainHeader(b, offset, payloadLength, r.tos, r.id, ipv4FlagsWord(r.dontFragment, r.moreFragments, r.fragmentOffset), r.ttl, r.protocol, ipv4ToNumber(r.src), ipv4ToNumber(r.dst));
  return IPV4_MIN_HEADER_LEN;
}

/** The word at offset 6: DF, MF and the fragment offset (in bytes, a multiple of 8) in 8-byte units. */
export function ipv4FlagsWord(dontFragment: boolean, moreFragments: boolean, fragmentOffset: number): number {
  return (dontFragment ? 0x4000 : 0) | (moreFragments ? 0x2000 : 0) | (fragmentOffset / 8);
}

/**
 * A header without options (20 bytes), from its fields with the addresses as numbers: the
 * header of every datagram the datapath sends whole, written without a representation
 * object or an address text to read. Its checksum is summed from the fields as they are
 * written rather than read back from the buffer.
 */
export function writeIpv4PlainHeader(b: Uint8Array, offset: number, payloadLength: number, tos: number, id: number, flagsWord: number, ttl: number, protocol: number, src: number, dst: number): void {
  const totalLength = IPV4_MIN_HEADER_LEN + payloadLength;
  // Each field as the bytes hold it, so the sum is the one a reader of the header computes.
  tos &= 0xff;
  id &= 0xffff;
  ttl &= 0xff;
  protocol &= 0xff;
  const flags = flagsWord & 0xffff;
  src >>>= 0;
  dst >>>= 0;
  b[offset] = 0x45;
  b[offset + 1] = tos;
  putBe16(b, offset + 2, totalLength);
  putBe16(b, offset + 4, id);
  putBe16(b, offset + 6, flags);
  b[offset + 8] = ttl;
  b[offset + 9] = protocol;
  putBe32(b, offset + 12, src);
  putBe32(b, offset + 16, dst);
  let sum = ((0x45 << 8) | tos) + totalLength + id + flags + ((ttl << 8) | protocol) + (src >>> 16) + (src & 0xffff) + (dst >>> 16) + (dst & 0xffff);
  sum = (sum & 0xffff) + (sum >>> 16);
  sum = (sum & 0xffff) + (sum >>> 16);
  putBe16(b, offset + 10, ~sum & 0xffff);
}

// The rare parts of a header's writing, in functions of their own: writeIpv4Header is inlined
// into every datagram's path, where its size counts against the compiler's inlining budget.

function writeIpv4HeaderWithOptions(r: Ipv4Repr, b: Uint8Array, offset: number, payloadLength: number): number {
  const headerLength = ipv4HeaderLength(r);
  const totalLength = headerLength + payloadLength;
  if (r.fragmentOffset % 8 !== 0 || totalLength > 0xffff) unwritableHeader(r, totalLength);
  b[offset] = 0x40 | (headerLength / 4);
  b[offset + 1] = r.tos;
  putBe16(b, offset + 2, totalLength);
  putBe16(b, offset + 4, r.id);
  putBe16(b, offset + 6, (r.dontFragment ? 0x4000 : 0) | (r.moreFragments ? 0x2000 : 0) | (r.fragmentOffset / 8));
  b[offset + 8] = r.ttl;
  b[offset + 9] = r.protocol;
  writeIpv4(r.src, b, offset + 12);
  writeIpv4(r.dst, b, offset + 16);
  putBe16(b, offset + 10, 0);
  if (headerLength > IPV4_MIN_HEADER_LEN) writeOptions(r, b, offset, headerLength);
  putBe16(b, offset + 10, internetChecksum(b, offset, offset + headerLength));
  return headerLength;
}

function unwritableHeader(r: Ipv4Repr, totalLength: number): never {
  if (r.fragmentOffset % 8 !== 0) throw new Error(`ip: fragment offset ${r.fragmentOffset} is not a multiple of 8`);
  throw new Error(`ip: datagram of ${totalLength} bytes exceeds 65535`);
}

function writeOptions(r: Ipv4Repr, b: Uint8Array, offset: number, headerLength: number): void {
  b.fill(0, offset + IPV4_MIN_HEADER_LEN, offset + headerLength);
  r.options.copy(b, offset + IPV4_MIN_HEADER_LEN);
}

export function ipv4Layer(h: Ipv4Header): Layer {
  return {
    proto: 'ip',
    'ip.version': 4,
    'ip.hdr_len': h.headerLength,
    'ip.dsfield': h.tos,
    'ip.len': h.totalLength,
    'ip.id': h.id,
    'ip.flags.df': h.dontFragment,
    'ip.flags.mf': h.moreFragments,
    // Wireshark 4.0 shows the offset in 8-byte units.
    'ip.frag_offset': h.fragmentOffset / 8,
    'ip.ttl': h.ttl,
    'ip.proto': h.protocol,
    'ip.checksum': h.checksum,
    'ip.checksum.status': h.checksumOk ? 'good' : 'bad',
    'ip.src': h.src,
    'ip.dst': h.dst,
  };
}

export const IPV4_FIELD_ENDS: Record<string, number> = {
  'ip.version': 1, 'ip.hdr_len': 1, 'ip.dsfield': 2, 'ip.len': 4, 'ip.id': 6, 'ip.flags.df': 7, 'ip.flags.mf': 7,
  'ip.frag_offset': 8, 'ip.ttl': 9, 'ip.proto': 10, 'ip.checksum': 12, 'ip.checksum.status': 20, 'ip.src': 16, 'ip.dst': 20,
};
