/**
 * Node's Buffer for the browser lab, as much of it as the sim and dns-packet use: a
 * Uint8Array with Node's readers and writers, `slice` as a view (Node's meaning, not
 * Uint8Array's copy), and utf8, latin1 and hex text. The page bundle aliases `buffer` here
 * and injects it as the global `Buffer`; the Node build never sees it.
 */
type Encoding = 'utf8' | 'utf-8' | 'hex' | 'latin1' | 'binary' | 'ascii';

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder();

function bytesOf(text: string, encoding: Encoding = 'utf8'): Uint8Array {
  if (encoding === 'hex') {
    const out = new Uint8Array(text.length >> 1);
    for (let i = 0; i < out.length; i++) out[i] = parseInt(text.slice(2 * i, 2 * i + 2), 16);
    return out;
  }
  if (encoding === 'latin1' || encoding === 'binary' || encoding === 'ascii') return Uint8Array.from(text, (c) => c.charCodeAt(0) & 0xff);
  return utf8Encoder.encode(text);
}

export class Buffer extends Uint8Array {
  static alloc(size: number, fill = 0): Buffer {
    const b = new Buffer(size);
    if (fill) b.fill(fill);
    return b;
  }

  static allocUnsafe(size: number): Buffer {
    return new Buffer(size);
  }

  static byteLength(text: string | Uint8Array, encoding?: Encoding): number {
    return typeof text === 'string' ? bytesOf(text, encoding).length : text.length;
  }

  static isBuffer(value: unknown): value is Buffer {
    return value instanceof Buffer;
  }

  static concat(list: readonly Uint8Array[], total?: number): Buffer {
    const out = new Buffer(total ?? list.reduce((n, b) => n + b.length, 0));
    let at = 0;
    for (const b of list) {
      out.set(b.subarray(0, Math.min(b.length, out.length - at)), at);
      at += b.length;
      if (at >= out.length) break;
    }
    return out;
  }

  /** Node's Buffer.from: text, an array of bytes, or a copy of other bytes (an ArrayBuffer is shared). */
  static fromBytes(value: string | ArrayLike<number> | ArrayBuffer, encodingOrOffset?: Encoding | number, length?: number): Buffer {
    if (typeof value === 'string') {
      const bytes = bytesOf(value, encodingOrOffset as Encoding | undefined);
      return new Buffer(bytes.buffer as ArrayBuffer, bytes.byteOffset, bytes.length);
    }
    if (value instanceof ArrayBuffer) return new Buffer(value, (encodingOrOffset as number | undefined) ?? 0, length ?? value.byteLength - ((encodingOrOffset as number | undefined) ?? 0));
    const out = new Buffer(value.length);
    out.set(value);
    return out;
  }

  override slice(start?: number, end?: number): Buffer {
    return this.subarray(start, end);
  }

  override subarray(start?: number, end?: number): Buffer {
    const view = super.subarray(start, end);
    return new Buffer(view.buffer as ArrayBuffer, view.byteOffset, view.length);
  }

  private get view(): DataView {
    return new DataView(this.buffer as ArrayBuffer, this.byteOffset, this.byteLength);
  }

  readUInt8(at = 0): number {
    return this.view.getUint8(at);
  }

  readUInt16BE(at = 0): number {
    return this.view.getUint16(at);
  }

  readUInt16LE(at = 0): number {
    return this.view.getUint16(at, true);
  }

  readUInt32BE(at = 0): number {
    return this.view.getUint32(at);
  }

  readUInt32LE(at = 0): number {
    return this.view.getUint32(at, true);
  }

  writeUInt8(value: number, at = 0): number {
    this.view.setUint8(at, value);
    return at + 1;
  }

  writeUInt16BE(value: number, at = 0): number {
    this.view.setUint16(at, value);
    return at + 2;
  }

  writeUInt16LE(value: number, at = 0): number {
    this.view.setUint16(at, value, true);
    return at + 2;
  }

  writeUInt32BE(value: number, at = 0): number {
    this.view.setUint32(at, value >>> 0);
    return at + 4;
  }

  writeUInt32LE(value: number, at = 0): number {
    this.view.setUint32(at, value >>> 0, true);
    return at + 4;
  }

  /** Writes text at an offset; returns the bytes written. */
  write(text: string, offset = 0, length?: number, encoding?: Encoding): number {
    const bytes = bytesOf(text, encoding).subarray(0, Math.min(length ?? Infinity, this.length - offset));
    this.set(bytes, offset);
    return bytes.length;
  }

  copy(target: Uint8Array, targetStart = 0, sourceStart = 0, sourceEnd = this.length): number {
    const part = super.subarray(sourceStart, Math.min(sourceEnd, sourceStart + target.length - targetStart));
    target.set(part, targetStart);
    return part.length;
  }

  equals(other: Uint8Array): boolean {
    return this.length === other.length && this.every((b, i) => b === other[i]);
  }

  override toString(encoding: Encoding = 'utf8', start = 0, end = this.length): string {
    const part = super.subarray(start, end);
    if (encoding === 'hex') return Array.from(part, (b) => b.toString(16).padStart(2, '0')).join('');
    if (encoding === 'latin1' || encoding === 'binary' || encoding === 'ascii') return Array.from(part, (b) => String.fromCharCode(b)).join('');
    return utf8Decoder.decode(part);
  }
}

// Buffer.from is Node's (text, bytes, ArrayBuffer), not Uint8Array's (an iterable and a map function).
Object.defineProperty(Buffer, 'from', { value: Buffer.fromBytes, writable: true, configurable: true });
