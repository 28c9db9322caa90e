/**
 * MessagePack as hashicorp/go-msgpack writes it for memberlist (codec.MsgpackHandle with its
 * defaults, the old spec): a struct is a map of its field names in declaration order (an
 * `omitempty` field that is empty is left out), strings and byte slices are both raw (fixraw
 * under 32 bytes, raw16 below 64 KiB: no str8 without WriteExt), unsigned and non-negative
 * integers take the smallest form, a nil slice is nil. Only what memberlist's messages hold.
 */

/** A value as Go holds it: `bytes` for a []byte, `nil` for a nil slice, a number for any integer. */
export type MsgpackValue = number | boolean | string | { bytes: Uint8Array } | 'nil' | MsgpackValue[] | MsgpackStruct;

/** A Go struct: its fields in declaration order. */
export interface MsgpackStruct {
  fields: [name: string, value: MsgpackValue][];
}

export function emitMsgpack(v: MsgpackValue): Buffer {
  const out: number[] = [];
  write(out, v);
  return Buffer.from(out);
}

function write(out: number[], v: MsgpackValue): void {
  if (v === 'nil') out.push(0xc0);
  else if (typeof v === 'boolean') out.push(v ? 0xc3 : 0xc2);
  else if (typeof v === 'number') writeUint(out, v);
  else if (typeof v === 'string') writeRaw(out, Buffer.from(v, 'utf8'));
  else if (Array.isArray(v)) {
    writeLength(out, v.length, 0x90, 0xdc, 0xdd);
    for (const x of v) write(out, x);
  } else if ('bytes' in v) writeRaw(out, v.bytes);
  else {
    writeLength(out, v.fields.length, 0x80, 0xde, 0xdf);
    for (const [name, value] of v.fields) {
      writeRaw(out, Buffer.from(name, 'utf8'));
      write(out, value);
    }
  }
}

function writeUint(out: number[], n: number): void {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new Error(`msgpack: ${n} is not a uint32`);
  if (n <= 0x7f) out.push(n);
  else if (n <= 0xff) out.push(0xcc, n);
  else if (n <= 0xffff) out.push(0xcd, n >> 8, n & 0xff);
  else out.push(0xce, n >>> 24, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff);
}

/** How many bytes the head of a raw of `n` bytes takes, which picks the form writeRaw writes: what a raw adds to a message besides its bytes. */
export function rawHeaderLength(n: number): number {
  return n < 32 ? 1 : n <= 0xffff ? 3 : 5;
}

function writeRaw(out: number[], b: Uint8Array): void {
  const n = b.length;
  switch (rawHeaderLength(n)) {
    case 1: out.push(0xa0 | n); break;
    case 3: out.push(0xda, n >> 8, n & 0xff); break;
    default: out.push(0xdb, n >>> 24, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff);
  }
  for (const x of b) out.push(x);
}

/** A map's or array's count: fix form under 16, then 16 and 32 bits. */
function writeLength(out: number[], n: number, fix: number, b16: number, b32: number): void {
  if (n < 16) out.push(fix | n);
  else if (n <= 0xffff) out.push(b16, n >> 8, n & 0xff);
  else out.push(b32, n >>> 24, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff);
}
