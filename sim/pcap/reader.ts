/**
 * Opens any capture a user brings: classic pcap (micro or nano, either byte order) or pcapng,
 * from a file or a pipe. Every format streams: memory stays at a chunk and a frame.
 */
import { CaptureError, CaptureInfo, CapturedFrame, FrameReader, ReadOutcome } from './frame';
import { PcapReader } from './pcap-classic';
import { PcapngReader } from './pcapng';
import { ByteSource, canReadAgain } from './source';

export interface Capture extends ReadOutcome {
  frames: CapturedFrame[];
}

export interface OpenCapture {
  reader: FrameReader;
  close(): void;
}

/** Opens a capture for pulling frames; the caller closes it. */
export function openCapture(path: string): OpenCapture {
  const src = ByteSource.open(path);
  try {
    const n = src.fill(4);
    if (n === 0) throw new CaptureError('empty file');
    if (n < 4) throw new CaptureError('too short to be a capture file');
    const magic = src.peek(4).readUInt32LE(0);
    let reader: FrameReader;
    switch (magic) {
      case 0xa1b2c3d4:
      case 0xd4c3b2a1:
      case 0xa1b23c4d:
      case 0x4d3cb2a1:
        reader = new PcapReader(src);
        break;
      case 0x0a0d0d0a:
        reader = new PcapngReader(src);
        break;
      default:
        throw new CaptureError(`not a pcap or pcapng file (starts with 0x${magic.toString(16).padStart(8, '0')})`);
    }
    return { reader, close: () => src.close() };
  } catch (e) {
    src.close();
    throw e;
  }
}

/**
 * Calls onFrame for each frame in order, waiting when it returns a promise (a slow reader of
 * the output); resolves with the capture's header facts and warnings.
 */
export async function streamCapture(path: string, onFrame: (f: CapturedFrame) => void | Promise<void>): Promise<ReadOutcome> {
  const { reader, close } = openCapture(path);
  try {
    for (let f = reader.next(); f; f = reader.next()) {
      const waiting = onFrame(f);
      if (waiting) await waiting;
    }
    return reader.outcome();
  } finally {
    close();
  }
}

/** Every frame in memory: for captures cnmlab made itself, whose size it bounds. */
export async function readCapture(path: string): Promise<Capture> {
  const frames: CapturedFrame[] = [];
  const outcome = await streamCapture(path, (f) => {
    frames.push(f);
  });
  return { ...outcome, frames };
}

export type { CaptureInfo, CapturedFrame };
export { CaptureError, canReadAgain };
