/**
 * Classic libpcap files. Microsecond files go through pcap-parser, wrapped so that it always
 * closes its stream and never throws; nanosecond files (magic a1b23c4d), which pcap-parser
 * refuses, are read here. Either byte order.
 */
import * as fs from 'fs';
import * as pcapParser from 'pcap-parser';
import { CaptureError, CaptureInfo, CapturedFrame } from './frame';

export const PCAP_GLOBAL_HEADER_LEN = 24;
export const PCAP_RECORD_HEADER_LEN = 16;

export interface ReadOutcome {
  info: CaptureInfo;
  warnings: string[];
}

export function readMicrosecondPcap(path: string, onFrame: (f: CapturedFrame) => void): Promise<ReadOutcome> {
  const size = fs.statSync(path).size;
  return new Promise((resolve, reject) => {
    const stream = fs.createReadStream(path, { highWaterMark: 1 << 20 });
    const parser = pcapParser.parse(stream);
    let info: CaptureInfo | undefined;
    let consumed = PCAP_GLOBAL_HEADER_LEN;
    let index = 0;
    let failed = false;
    parser.on('globalHeader', (h) => {
      info = { format: 'pcap', linktype: h.linkLayerType, snaplen: h.snapshotLength };
    });
    parser.on('packet', ({ header, data }) => {
      consumed += PCAP_RECORD_HEADER_LEN + header.capturedLength;
      try {
        onFrame({ index: ++index, seconds: header.timestampSeconds, nanos: header.timestampMicroseconds * 1000, length: header.originalLength, data, linktype: info!.linktype, interfaceId: 0 });
      } catch (e) {
        failed = true;
        stream.destroy();
        reject(e);
      }
    });
    parser.on('error', (e) => {
      failed = true;
      stream.destroy();
      reject(new CaptureError(e.message));
    });
    parser.on('end', () => {
      stream.destroy();
      if (failed) return;
      if (!info) return reject(new CaptureError('the pcap global header is incomplete'));
      const warnings = consumed < size ? [`truncated: the file ends inside frame ${index + 1} (${size - consumed} stray bytes after ${index} complete frames)`] : [];
      resolve({ info, warnings });
    });
  });
}

/** Reads a whole classic pcap held in memory; used for the nanosecond variant. */
export function readPcapBuffer(b: Buffer, onFrame: (f: CapturedFrame) => void): ReadOutcome {
  if (b.length < PCAP_GLOBAL_HEADER_LEN) throw new CaptureError('the pcap global header is incomplete');
  const magic = b.readUInt32LE(0);
  const le = magic === 0xa1b23c4d || magic === 0xa1b2c3d4;
  const nano = magic === 0xa1b23c4d || magic === 0x4d3cb2a1;
  const u32 = (o: number) => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
  const info: CaptureInfo = { format: nano ? 'pcap-ns' : 'pcap', linktype: u32(20) & 0xffff, snaplen: u32(16) };
  const unit = nano ? 1 : 1000;
  const warnings: string[] = [];
  let off = PCAP_GLOBAL_HEADER_LEN;
  let index = 0;
  while (off < b.length) {
    if (off + PCAP_RECORD_HEADER_LEN > b.length) {
      warnings.push(`truncated: the file ends inside the record header of frame ${index + 1}`);
      break;
    }
    const capLen = u32(off + 8);
    if (off + PCAP_RECORD_HEADER_LEN + capLen > b.length) {
      warnings.push(`truncated: the file ends inside frame ${index + 1} (${capLen} bytes announced, ${b.length - off - PCAP_RECORD_HEADER_LEN} present)`);
      break;
    }
    const data = b.subarray(off + PCAP_RECORD_HEADER_LEN, off + PCAP_RECORD_HEADER_LEN + capLen);
    onFrame({ index: ++index, seconds: u32(off), nanos: u32(off + 4) * unit, length: u32(off + 12), data, linktype: info.linktype, interfaceId: 0 });
    off += PCAP_RECORD_HEADER_LEN + capLen;
  }
  return { info, warnings };
}
