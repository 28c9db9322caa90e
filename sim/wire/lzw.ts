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

/**
 * The length of lzwCompress(input), without the bytes: memberlist's sends show only how long
 * their compressed payload is (encryption hides the rest), and every gossip packet and stream
 * asks. The same codes at the same widths are counted; the table is Go's own shape, an
 * open-addressed hash of 4 × 4096 slots, kept between calls, whose slots a call or a clear
 * code empties by moving to a new generation rather than by writing every slot.
 */
const TABLE_SLOTS = 4 << 12;
const slotKey = new Int32Array(TABLE_SLOTS);
const slotCode = new Int32Array(TABLE_SLOTS);
const slotGeneration = new Int32Array(TABLE_SLOTS);
let generation = 0;

function slotOf(key: number): number {
  let slot = ((key >> 12) ^ key) & (TABLE_SLOTS - 1);
  while (slotGeneration[slot] === generation && slotKey[slot] !== key) slot = (slot + 1) & (TABLE_SLOTS - 1);
  return slot;
}

export function lzwCompressedLength(input: Uint8Array): number {
  let totalBits = 0;
  let width = LIT_WIDTH + 1, hi = EOF_CODE, overflow = CLEAR << 1;
  generation++;
  const write = () => {
    totalBits += width;
  };
  const incHi = (): boolean => {
    hi++;
    if (hi === overflow) {
      width++;
      overflow <<= 1;
    }
    if (hi !== MAX_CODE) return true;
    write();
    width = LIT_WIDTH + 1;
    hi = CLEAR + 1;
    overflow = CLEAR << 1;
    generation++;
    return false;
  };
  write();
  if (input.length > 0) {
    let code = input[0];
    for (let i = 1; i < input.length; i++) {
      const key = code * 256 + input[i];
      const slot = slotOf(key);
      if (slotGeneration[slot] === generation) {
        code = slotCode[slot];
        continue;
      }
      write();
      code = input[i];
      if (incHi()) {
        slotGeneration[slot] = generation;
        slotKey[slot] = key;
        slotCode[slot] = hi;
      }
    }
    write();
    incHi();
  }
  write();
  return Math.ceil(totalBits / 8);
}
