/** Records classic pcap, micro- or nanosecond, little-endian, as libpcap does, in memory (the sim's capture points; a browser page downloads it). */
import { LINKTYPE_ETHERNET } from '../wire/dissect';

export type PcapPrecision = 'micro' | 'nano';

export class PcapRecorder {
  private readonly chunks: Buffer[] = [];

  constructor(
    readonly precision: PcapPrecision = 'micro',
    readonly linktype = LINKTYPE_ETHERNET,
    readonly snaplen = 262144,
  ) {
    const h = Buffer.alloc(24);
    h.writeUInt32LE(precision === 'nano' ? 0xa1b23c4d : 0xa1b2c3d4, 0);
    h.writeUInt16LE(2, 4);
    h.writeUInt16LE(4, 6);
    h.writeUInt32LE(snaplen, 16);
    h.writeUInt32LE(linktype, 20);
    this.chunks.push(h);
  }

  /** Adds a frame captured at timeNs; frames longer than the snap length are cut. */
  add(timeNs: bigint, frame: Uint8Array): void {
    const captured = Math.min(frame.length, this.snaplen);
    const r = Buffer.alloc(16);
    const seconds = timeNs / 1_000_000_000n;
    const fraction = timeNs % 1_000_000_000n;
    r.writeUInt32LE(Number(seconds), 0);
    r.writeUInt32LE(Number(this.precision === 'nano' ? fraction : fraction / 1000n), 4);
    r.writeUInt32LE(captured, 8);
    r.writeUInt32LE(frame.length, 12);
    this.chunks.push(r, Buffer.from(frame.subarray(0, captured)));
  }

  toBuffer(): Buffer {
    return Buffer.concat(this.chunks);
  }

}
