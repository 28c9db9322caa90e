/**
 * pcapng (Wireshark's default format): section header, interface description, enhanced and
 * simple packet blocks; other blocks are skipped. Several interfaces and sections are fine,
 * each interface with its own link type and timestamp resolution.
 */
import { CaptureError, CaptureInfo, CapturedFrame } from './frame';
import type { ReadOutcome } from './pcap-classic';

const SHB = 0x0a0d0d0a;
const IDB = 0x00000001;
const SPB = 0x00000003;
const EPB = 0x00000006;
const BYTE_ORDER_MAGIC = 0x1a2b3c4d;
const OPT_IF_TSRESOL = 9;

interface Interface {
  linktype: number;
  snaplen: number;
  /** Timestamp units per second. */
  unitsPerSecond: bigint;
}

function tsresol(v: number): bigint {
  return v & 0x80 ? 1n << BigInt(v & 0x7f) : 10n ** BigInt(v & 0x7f);
}

export function readPcapngBuffer(b: Buffer, onFrame: (f: CapturedFrame) => void): ReadOutcome {
  let le = true;
  let interfaces: Interface[] = [];
  let info: CaptureInfo | undefined;
  const warnings: string[] = [];
  let index = 0;
  let off = 0;
  const u16 = (o: number) => (le ? b.readUInt16LE(o) : b.readUInt16BE(o));
  const u32 = (o: number) => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
  while (off < b.length) {
    if (off + 12 > b.length) {
      warnings.push(`truncated: the file ends inside a block header after ${index} frames`);
      break;
    }
    if (b.readUInt32LE(off) === SHB) {
      const bom = b.readUInt32LE(off + 8);
      if (bom === BYTE_ORDER_MAGIC) le = true;
      else if (bom === 0x4d3c2b1a) le = false;
      else throw new CaptureError(`pcapng: bad byte-order magic 0x${bom.toString(16)} at offset ${off}`);
      interfaces = [];
    }
    const type = u32(off);
    const len = u32(off + 4);
    if (len < 12 || len % 4 !== 0) throw new CaptureError(`pcapng: block at offset ${off} has invalid length ${len}`);
    if (off + len > b.length) {
      warnings.push(`truncated: the file ends inside a block of ${len} bytes after ${index} frames`);
      break;
    }
    const body = off + 8;
    const bodyEnd = off + len - 4;
    if (type === IDB) {
      const iface: Interface = { linktype: u16(body), snaplen: u32(body + 4), unitsPerSecond: 1_000_000n };
      for (let o = body + 8; o + 4 <= bodyEnd; ) {
        const code = u16(o), optLen = u16(o + 2);
        if (code === 0) break;
        if (code === OPT_IF_TSRESOL && optLen >= 1) iface.unitsPerSecond = tsresol(b[o + 4]);
        o += 4 + ((optLen + 3) & ~3);
      }
      interfaces.push(iface);
      info ??= { format: 'pcapng', linktype: iface.linktype, snaplen: iface.snaplen };
    } else if (type === EPB || type === SPB) {
      const interfaceId = type === EPB ? u32(body) : 0;
      const iface = interfaces[interfaceId];
      if (!iface) throw new CaptureError(`pcapng: packet block at offset ${off} names interface ${interfaceId}, which was not described`);
      let timeNs = 0n, capLen: number, origLen: number, dataStart: number;
      if (type === EPB) {
        const ts = (BigInt(u32(body + 4)) << 32n) | BigInt(u32(body + 8));
        timeNs = (ts * 1_000_000_000n) / iface.unitsPerSecond;
        capLen = u32(body + 12);
        origLen = u32(body + 16);
        dataStart = body + 20;
      } else {
        origLen = u32(body);
        capLen = Math.min(origLen, iface.snaplen || origLen, bodyEnd - body - 4);
        dataStart = body + 4;
      }
      if (dataStart + capLen > bodyEnd) throw new CaptureError(`pcapng: packet block at offset ${off} claims ${capLen} bytes, more than the block holds`);
      onFrame({ index: ++index, seconds: Number(timeNs / 1_000_000_000n), nanos: Number(timeNs % 1_000_000_000n), length: origLen, data: b.subarray(dataStart, dataStart + capLen), linktype: iface.linktype, interfaceId });
    }
    off += len;
  }
  if (!info) throw new CaptureError('pcapng: no interface description block');
  return { info, warnings };
}
