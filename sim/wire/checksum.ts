/** The Internet checksum (RFC 1071), the one place every codec computes and checks it. */

export function onesComplementSum(b: Uint8Array, start = 0, end = b.length, initial = 0): number {
  let sum = initial;
  let i = start;
  for (; i + 1 < end; i += 2) sum += (b[i] << 8) | b[i + 1];
  if (i < end) sum += b[i] << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
}

export function internetChecksum(b: Uint8Array, start = 0, end = b.length, initial = 0): number {
  return ~onesComplementSum(b, start, end, initial) & 0xffff;
}

/** The partial sum of the IPv4 pseudo-header that UDP and TCP checksums cover. */
export function pseudoHeaderSum(src: Uint8Array, dst: Uint8Array, protocol: number, length: number): number {
  let sum = ((src[0] << 8) | src[1]) + ((src[2] << 8) | src[3]);
  sum += ((dst[0] << 8) | dst[1]) + ((dst[2] << 8) | dst[3]);
  sum += protocol + length;
  return sum;
}

/** True when a block that carries its own checksum field sums to all ones. */
export function checksumValid(b: Uint8Array, start = 0, end = b.length, initial = 0): boolean {
  return onesComplementSum(b, start, end, initial) === 0xffff;
}
