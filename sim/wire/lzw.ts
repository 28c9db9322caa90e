/**
 * LZW as Go's compress/lzw writes it with LSB order and 8-bit literals, the compression
 * memberlist applies to its messages (compressPayload): a clear code first (Go 1.17 on),
 * codes from 9 bits widening as the table grows, the table cleared when it reaches 4095,
 * the EOF code last and the final bits padded to a byte.
 */
const LIT_WIDTH = 8;
const CLEAR = 1 << LIT_WIDTH;
const EOF_CODE = CLEAR + 1;
const MAX_CODE = (1 << 12) - 1;

export function lzwCompress(input: Uint8Array): Buffer {
  const out: number[] = [];
  let bits = 0, nBits = 0;
  let width = LIT_WIDTH + 1, hi = EOF_CODE, overflow = CLEAR << 1;
  let table = new Map<number, number>();
  const write = (code: number) => {
    bits |= code << nBits;
    nBits += width;
    while (nBits >= 8) {
      out.push(bits & 0xff);
      bits >>>= 8;
      nBits -= 8;
    }
  };
  /** Go's incHi: the next code; out of codes, a clear code and a fresh table. */
  const incHi = (): boolean => {
    hi++;
    if (hi === overflow) {
      width++;
      overflow <<= 1;
    }
    if (hi !== MAX_CODE) return true;
    write(CLEAR);
    width = LIT_WIDTH + 1;
    hi = CLEAR + 1;
    overflow = CLEAR << 1;
    table = new Map();
    return false;
  };
  write(CLEAR);
  if (input.length > 0) {
    let code = input[0];
    for (let i = 1; i < input.length; i++) {
      const key = code * 256 + input[i];
      const known = table.get(key);
      if (known !== undefined) {
        code = known;
        continue;
      }
      write(code);
      code = input[i];
      if (incHi()) table.set(key, hi);
    }
    write(code);
    incHi();
  }
  write(EOF_CODE);
  if (nBits > 0) out.push(bits & 0xff);
  return Buffer.from(out);
}
