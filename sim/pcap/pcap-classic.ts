/**
 * Classic libpcap files: micro- or nanosecond, either byte order, streamed a record at a time.
 * Damage is judged as Wireshark's wiretap judges it, with its words.
 */
import { CaptureError, CaptureInfo, CapturedFrame, FrameReader, linktypeOf, MAX_FRAME_LEN, ReadOutcome } from './frame';
import { ByteSource } from './source';

export const PCAP_GLOBAL_HEADER_LEN = 24;
export const PCAP_RECORD_HEADER_LEN = 16;

export type { ReadOutcome };

export class PcapReader implements FrameReader {
  private readonly le: boolean;
  private readonly unit: number;
  private readonly info: CaptureInfo;
  private readonly warnings: string[] = [];
  private index = 0;
  private done = false;

  constructor(private readonly src: ByteSource) {
    if (src.fill(PCAP_GLOBAL_HEADER_LEN) < PCAP_GLOBAL_HEADER_LEN) throw new CaptureError('the pcap global header is incomplete');
    const h = src.take(PCAP_GLOBAL_HEADER_LEN);
    const magic = h.readUInt32LE(0);
    this.le = magic === 0xa1b23c4d || magic === 0xa1b2c3d4;
    const nano = magic === 0xa1b23c4d || magic === 0x4d3cb2a1;
    this.unit = nano ? 1 : 1000;
    const u16 = (o: number) => (this.le ? h.readUInt16LE(o) : h.readUInt16BE(o));
    const u32 = (o: number) => (this.le ? h.readUInt32LE(o) : h.readUInt32BE(o));
    // libpcap has written version 2 since 1998; wiretap refuses anything older.
    const major = u16(4);
    if (major < 2) throw new CaptureError(`pcap: major version ${major} unsupported`);
    this.info = { format: nano ? 'pcap-ns' : 'pcap', linktype: linktypeOf(u32(20)), snaplen: u32(16) };
  }

  next(): CapturedFrame | undefined {
    if (this.done) return undefined;
    const src = this.src;
    const have = src.fill(PCAP_RECORD_HEADER_LEN);
    if (have < PCAP_RECORD_HEADER_LEN) {
      this.done = true;
      if (have > 0) this.warnings.push(`truncated: the file ends inside the record header of frame ${this.index + 1}`);
      return undefined;
    }
    // Read in place: this runs once a frame, and a view or a closure each time shows in the rate.
    const le = this.le;
    const capLen = src.u32(8, le);
    if (capLen > MAX_FRAME_LEN) throw new CaptureError(`pcap: File has ${capLen}-byte packet, bigger than maximum of ${MAX_FRAME_LEN}`);
    const seconds = src.u32(0, le), fraction = src.u32(4, le), length = src.u32(12, le);
    if (src.fill(PCAP_RECORD_HEADER_LEN + capLen) < PCAP_RECORD_HEADER_LEN + capLen) {
      this.done = true;
      src.skip(PCAP_RECORD_HEADER_LEN);
      const present = src.drain();
      this.warnings.push(`truncated: the file ends inside frame ${this.index + 1} (${capLen} bytes announced, ${present} present)`);
      return undefined;
    }
    src.skip(PCAP_RECORD_HEADER_LEN);
    const data = src.take(capLen);
    return { index: ++this.index, seconds, nanos: fraction * this.unit, length, data, linktype: this.info.linktype, interfaceId: 0 };
  }

  outcome(): ReadOutcome {
    return { info: this.info, warnings: this.warnings };
  }
}
