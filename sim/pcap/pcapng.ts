/**
 * pcapng (Wireshark's default format), streamed a block at a time: section headers,
 * interface descriptions, enhanced, simple and obsolete packet blocks; other blocks are
 * skipped. Several interfaces and sections are fine, each interface with its own link type
 * and timestamp resolution. Damage is judged as Wireshark's wiretap judges it, with its words.
 */
import { CaptureError, CaptureInfo, CapturedFrame, FrameReader, linktypeOf, MAX_FRAME_LEN, ReadOutcome } from './frame';
import { ByteSource } from './source';

const SHB = 0x0a0d0d0a;
const IDB = 0x00000001;
const PB = 0x00000002;
const SPB = 0x00000003;
const EPB = 0x00000006;
const BYTE_ORDER_MAGIC = 0x1a2b3c4d;
const OPT_IF_TSRESOL = 9;
const BLOCK_HEADER_LEN = 8;
const BLOCK_TRAILER_LEN = 4;
/** Each block type's smallest whole size: header, fixed fields, trailer. */
const MIN_BLOCK_LEN: Record<number, { name: string; len: number }> = {
  [SHB]: { name: 'SHB', len: 28 }, [IDB]: { name: 'IDB', len: 20 }, [PB]: { name: 'PB', len: 32 },
  [SPB]: { name: 'SPB', len: 16 }, [EPB]: { name: 'EPB', len: 32 },
};
/**
 * wiretap's ceiling on one block: the largest frame plus room for options. Anything larger
 * is damage, refused before it is buffered.
 */
const MAX_BLOCK_LEN = MAX_FRAME_LEN + 131072;

interface Interface {
  linktype: number;
  snaplen: number;
  /** Timestamp units per second. */
  unitsPerSecond: bigint;
}

function tsresol(v: number): bigint {
  return v & 0x80 ? 1n << BigInt(v & 0x7f) : 10n ** BigInt(v & 0x7f);
}

export class PcapngReader implements FrameReader {
  private le = true;
  private interfaces: Interface[] = [];
  private info: CaptureInfo | undefined;
  private readonly warnings: string[] = [];
  private index = 0;
  private done = false;

  constructor(private readonly src: ByteSource) {}

  next(): CapturedFrame | undefined {
    while (!this.done) {
      const frame = this.block();
      if (frame) return frame;
    }
    return undefined;
  }

  outcome(): ReadOutcome {
    if (!this.info) throw new CaptureError('pcapng: no interface description block');
    return { info: this.info, warnings: this.warnings };
  }

  /** Reads one block; a frame if it held one. */
  private block(): CapturedFrame | undefined {
    const src = this.src;
    const at = src.offset;
    const have = src.fill(BLOCK_HEADER_LEN + 4);
    if (have === 0) {
      this.done = true;
      return undefined;
    }
    if (have < BLOCK_HEADER_LEN + 4) {
      this.done = true;
      this.warnings.push(`truncated: the file ends inside a block header after ${this.index} frames`);
      return undefined;
    }
    const head = src.peek(BLOCK_HEADER_LEN + 4);
    if (head.readUInt32LE(0) === SHB) {
      const bom = head.readUInt32LE(8);
      if (bom === BYTE_ORDER_MAGIC) this.le = true;
      else if (bom === 0x4d3c2b1a) this.le = false;
      else throw new CaptureError(`pcapng: unknown byte-order magic number 0x${bom.toString(16).padStart(8, '0')} at offset ${at}`);
      this.interfaces = [];
    }
    const u32h = (o: number) => (this.le ? head.readUInt32LE(o) : head.readUInt32BE(o));
    const type = u32h(0);
    const len = u32h(4);
    if (len < 12) throw new CaptureError(`pcapng: total block length ${len} of block is too small (< 12)`);
    if (len % 4 !== 0) throw new CaptureError(`pcapng: total block length ${len} is not a multiple of 4`);
    if (len > MAX_BLOCK_LEN) throw new CaptureError(`pcapng: total block length ${len} is too large (> ${MAX_BLOCK_LEN})`);
    const min = MIN_BLOCK_LEN[type];
    if (min && len < min.len) throw new CaptureError(`pcapng: total block length ${len} of an ${min.name} is less than the minimum ${min.name} size ${min.len}`);
    if (src.fill(len) < len) {
      this.done = true;
      src.drain();
      this.warnings.push(`truncated: the file ends inside a block of ${len} bytes after ${this.index} frames`);
      return undefined;
    }
    const b = src.take(len);
    const u16 = (o: number) => (this.le ? b.readUInt16LE(o) : b.readUInt16BE(o));
    const u32 = (o: number) => (this.le ? b.readUInt32LE(o) : b.readUInt32BE(o));
    const trailing = u32(len - BLOCK_TRAILER_LEN);
    if (trailing !== len) throw new CaptureError(`pcapng: total block lengths (first ${len} and second ${trailing}) don't match`);
    const body = BLOCK_HEADER_LEN;
    const bodyEnd = len - BLOCK_TRAILER_LEN;
    switch (type) {
      case SHB: {
        const major = u16(body + 4);
        if (major !== 1) throw new CaptureError(`pcapng: unknown SHB version ${major}.${u16(body + 6)}`);
        return undefined;
      }
      case IDB: {
        const iface: Interface = { linktype: linktypeOf(u16(body)), snaplen: u32(body + 4), unitsPerSecond: 1_000_000n };
        for (let o = body + 8; o + 4 <= bodyEnd; ) {
          const code = u16(o), optLen = u16(o + 2);
          if (code === 0) break;
          if (o + 4 + optLen > bodyEnd) throw new CaptureError(`pcapng: option ${code} of the IDB at offset ${at} runs past the block`);
          if (code === OPT_IF_TSRESOL && optLen >= 1) iface.unitsPerSecond = tsresol(b[o + 4]);
          o += 4 + ((optLen + 3) & ~3);
        }
        this.interfaces.push(iface);
        this.info ??= { format: 'pcapng', linktype: iface.linktype, snaplen: iface.snaplen };
        return undefined;
      }
      case EPB:
      case PB: {
        // The obsolete Packet Block has a 16-bit interface id and a drop count where the EPB has a 32-bit id.
        const interfaceId = type === EPB ? u32(body) : u16(body);
        const iface = this.described(interfaceId);
        const ts = (BigInt(u32(body + 4)) << 32n) | BigInt(u32(body + 8));
        const timeNs = (ts * 1_000_000_000n) / iface.unitsPerSecond;
        const capLen = u32(body + 12);
        const origLen = u32(body + 16);
        const dataStart = body + 20;
        if (capLen > MAX_FRAME_LEN) throw new CaptureError(`pcapng: cap_len ${capLen} is larger than ${MAX_FRAME_LEN}`);
        if (dataStart + capLen > bodyEnd) throw new CaptureError(`pcapng: total block length ${len} of an ${MIN_BLOCK_LEN[type].name} is too small for ${capLen} bytes of packet data`);
        return { index: ++this.index, seconds: Number(timeNs / 1_000_000_000n), nanos: Number(timeNs % 1_000_000_000n), length: origLen, data: b.subarray(dataStart, dataStart + capLen), linktype: iface.linktype, interfaceId };
      }
      case SPB: {
        const iface = this.described(0);
        const origLen = u32(body);
        const capLen = Math.min(origLen, iface.snaplen || origLen, bodyEnd - body - 4);
        const dataStart = body + 4;
        return { index: ++this.index, seconds: 0, nanos: 0, length: origLen, data: b.subarray(dataStart, dataStart + capLen), linktype: iface.linktype, interfaceId: 0 };
      }
      default:
        return undefined;
    }
  }

  private described(interfaceId: number): Interface {
    const iface = this.interfaces[interfaceId];
    if (!iface) throw new CaptureError(`pcapng: interface index ${interfaceId} is not less than interface count ${this.interfaces.length}`);
    return iface;
  }
}
