/**
 * Big-endian field reads for the hot paths. Buffer's readUInt16BE checks its argument on
 * every call; these do not, so callers check the length first (as every parser here does).
 */
export function be16(b: Uint8Array, offset: number): number {
  return (b[offset] << 8) | b[offset + 1];
}
