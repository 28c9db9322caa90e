/**
 * Big-endian field reads for the hot paths. Buffer's readUInt16BE checks its argument on
 * every call; these do not, so callers check the length first (as every parser here does).
 */
export function be16(b: Uint8Array, offset: number): number {
  return (b[offset] << 8) | b[offset + 1];
}

/** The same bytes as a Buffer (no copy), for parsers that read with Buffer's methods. */
export function bufferView(b: Uint8Array): Buffer {
  return Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

/** The mirror of be16, as unchecked: writers fill buffers their callers sized for the header. */
export function putBe16(b: Uint8Array, offset: number, value: number): void {
  b[offset] = value >>> 8;
  b[offset + 1] = value;
}

/** The mirror of be32 (an address as ipv4ToNumber gives it, or as be32 read it). */
export function putBe32(b: Uint8Array, offset: number, value: number): void {
  b[offset] = value >>> 24;
  b[offset + 1] = value >>> 16;
  b[offset + 2] = value >>> 8;
  b[offset + 3] = value;
}

/** Signed: an IPv4 address read this way stays a small integer to V8. */
export function be32(b: Uint8Array, offset: number): number {
  return (b[offset] << 24) | (b[offset + 1] << 16) | (b[offset + 2] << 8) | b[offset + 3];
}
