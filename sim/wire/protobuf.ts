/**
 * Protocol Buffers' wire format as gogo/protobuf marshals NetworkDB's messages (proto3):
 * fields in field-number order, a field holding its type's zero value left out, varints
 * for integers, enums and bools, length-delimited bytes, strings and messages.
 */

/** One field: its number and value (a nested message already marshalled is bytes). */
export type ProtoField = [field: number, value: number | boolean | string | Uint8Array | undefined];

export function emitProtobuf(fields: ProtoField[]): Buffer {
  const out: number[] = [];
  for (const [field, value] of [...fields].sort((a, b) => a[0] - b[0])) {
    if (value === undefined || value === 0 || value === false || value === '') continue;
    if (typeof value === 'number' || typeof value === 'boolean') {
      varint(out, field << 3);
      varint(out, typeof value === 'boolean' ? 1 : value);
    } else {
      const b = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
      varint(out, (field << 3) | 2);
      varint(out, b.length);
      for (const x of b) out.push(x);
    }
  }
  return Buffer.from(out);
}

function varint(out: number[], n: number): void {
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`protobuf: ${n} is not a varint this codec writes`);
  while (n >= 0x80) {
    out.push((n % 0x80) | 0x80);
    n = Math.floor(n / 0x80);
  }
  out.push(n);
}
