/**
 * Sequential reads from a file or a pipe (`tcpdump -w - | cnmlab decode /dev/stdin`), a
 * chunk at a time, so a capture of any size costs one chunk of memory plus the frame in hand.
 * Views handed out stay valid: a refill moves the unread tail into a fresh chunk instead of
 * overwriting the old one, which stays alive only as long as someone holds a view of it.
 */
import * as fs from 'fs';
import { CaptureError } from './frame';

const CHUNK = 1 << 20;

/** Whether a path can be read from the start again (a file, not a pipe or a terminal); a missing path is left to open() to report. */
export function canReadAgain(path: string): boolean {
  try {
    return fs.statSync(path).isFile();
  } catch {
    return true;
  }
}

export class ByteSource {
  private buf = Buffer.alloc(0);
  private start = 0;
  private end = 0;
  private eof = false;
  /** File offset of buf[start]: where the next take() begins. */
  offset = 0;

  private constructor(private readonly fd: number) {}

  static open(path: string): ByteSource {
    let fd: number;
    try {
      fd = fs.openSync(path, 'r');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new CaptureError(code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (e as Error).message);
    }
    if (fs.fstatSync(fd).isDirectory()) {
      fs.closeSync(fd);
      throw new CaptureError('is a directory');
    }
    return new ByteSource(fd);
  }

  close(): void {
    fs.closeSync(this.fd);
  }

  /** Buffers up to n bytes; fewer only at the end of the input. Returns how many are buffered. */
  fill(n: number): number {
    if (this.end - this.start >= n || this.eof) return this.end - this.start;
    if (this.start + n > this.buf.length) {
      const next = Buffer.allocUnsafe(Math.max(CHUNK, n));
      this.buf.copy(next, 0, this.start, this.end);
      this.end -= this.start;
      this.start = 0;
      this.buf = next;
    }
    while (this.end - this.start < n && !this.eof) {
      let got: number;
      try {
        got = fs.readSync(this.fd, this.buf, this.end, this.buf.length - this.end, null);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        // A non-blocking pipe with nothing yet: wait for the writer.
        if (code === 'EAGAIN') {
          Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
          continue;
        }
        throw new CaptureError(code === 'EISDIR' ? 'is a directory' : (e as Error).message);
      }
      if (got === 0) this.eof = true;
      this.end += got;
    }
    return this.end - this.start;
  }

  /** The next n buffered bytes (call fill first), without consuming them. */
  peek(n: number): Buffer {
    return this.buf.subarray(this.start, this.start + n);
  }

  /** A 32-bit field `at` bytes into the buffered bytes (call fill first), read without a view. */
  u32(at: number, littleEndian: boolean): number {
    return littleEndian ? this.buf.readUInt32LE(this.start + at) : this.buf.readUInt32BE(this.start + at);
  }

  /** Consumes n buffered bytes without a view of them. */
  skip(n: number): void {
    this.start += n;
    this.offset += n;
  }

  /** Consumes n buffered bytes and returns them. */
  take(n: number): Buffer {
    const b = this.buf.subarray(this.start, this.start + n);
    this.start += n;
    this.offset += n;
    return b;
  }

  /** Consumes whatever is left, returning how many bytes that was (for truncation messages). */
  drain(): number {
    let n = 0;
    for (;;) {
      const have = this.fill(CHUNK);
      if (have === 0) return n;
      n += have;
      this.take(have);
    }
  }
}
