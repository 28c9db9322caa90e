/** Opens any capture a user brings: classic pcap (micro or nano, either byte order) or pcapng. */
import * as fs from 'fs';
import { CaptureError, CaptureInfo, CapturedFrame } from './frame';
import { readMicrosecondPcap, readPcapBuffer, ReadOutcome } from './pcap-classic';
import { readPcapngBuffer } from './pcapng';

export interface Capture extends ReadOutcome {
  frames: CapturedFrame[];
}

function sniff(path: string): number {
  let fd: number;
  try {
    fd = fs.openSync(path, 'r');
  } catch (e) {
    throw new CaptureError((e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message);
  }
  try {
    if (fs.fstatSync(fd).isDirectory()) throw new CaptureError('is a directory');
    const head = Buffer.alloc(4);
    const n = fs.readSync(fd, head, 0, 4, 0);
    if (n === 0) throw new CaptureError('empty file');
    if (n < 4) throw new CaptureError('too short to be a capture file');
    return head.readUInt32LE(0);
  } finally {
    fs.closeSync(fd);
  }
}

/** Calls onFrame for each frame in order; resolves with the capture's header facts and warnings. */
export async function streamCapture(path: string, onFrame: (f: CapturedFrame) => void): Promise<ReadOutcome> {
  const magic = sniff(path);
  switch (magic) {
    case 0xa1b2c3d4:
    case 0xd4c3b2a1:
      return readMicrosecondPcap(path, onFrame);
    case 0xa1b23c4d:
    case 0x4d3cb2a1:
      return readPcapBuffer(fs.readFileSync(path), onFrame);
    case 0x0a0d0d0a:
      return readPcapngBuffer(fs.readFileSync(path), onFrame);
    default:
      throw new CaptureError(`not a pcap or pcapng file (starts with 0x${magic.toString(16).padStart(8, '0')})`);
  }
}

export async function readCapture(path: string): Promise<Capture> {
  const frames: CapturedFrame[] = [];
  const outcome = await streamCapture(path, (f) => frames.push(f));
  return { ...outcome, frames };
}

export type { CaptureInfo, CapturedFrame };
export { CaptureError };
