/**
 * Protocol Buffers' wire format as gogo/protobuf marshals NetworkDB's messages (proto3):
 * fields in field-number order, a field holding its type's zero value left out, varints
 * for integers, enums and bools, length-delimited bytes, strings and messages.
 */

/** One field: its number and value (a nested message already marshalled is bytes). */
export type ProtoField = [field: number, value: number | boolean | string | Uint8Array | undefined];

export function emitProtobuf(fields: ProtoField[]): Buffer {
  const sorted = fields.every((f, i) => i === 0 || fields[i - 1][0] <= f[0]) ? fields : [...fields].sort((a, b) => a[0] - b[0]);
  // Sized first, then written once: a table event nests three messages, and a bulk sync carries every entry.
  const bytes: (Uint8Array | undefined)[] = [];
  let size = 0;
  for (const [field, value] of sorted) {
    const b = typeof value === 'string' ? (value === '' ? undefined : Buffer.from(value, 'utf8')) : typeof value === 'object' ? value : undefined;
    bytes.push(b);
    size += fieldLength(field, typeof value === 'string' ? b : value);
  }
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  sorted.forEach(([field, value], i) => {
    const b = bytes[i];
    if (b) {
      at = writeVarint(out, at, (field << 3) | 2);
      at = writeVarint(out, at, b.length);
      out.set(b, at);
      at += b.length;
    } else if (typeof value === 'number' || value === true) {
      if (value === 0) return;
      at = writeVarint(out, at, field << 3);
      at = writeVarint(out, at, value === true ? 1 : value);
    }
  });
  return out;
}

/** A field as protobufLength sizes it: bytes and nested messages by their length alone. */
export type ProtoFieldSize = [field: number, value: number | boolean | string | { readonly length: number } | undefined];

/**
 * How long emitProtobuf's message of these fields is, without making it: what a message
 * counted but not kept (a big swarm's gossip) needs of it. Mirrors emitProtobuf's sizing.
 */
export function protobufLength(fields: ProtoFieldSize[]): number {
  let size = 0;
  for (const [field, value] of fields) size += typeof value === 'string' ? stringFieldLength(field, value) : fieldLength(field, value);
  return size;
}

export function stringFieldLength(field: number, value: string): number {
  return value === '' ? 0 : bytesFieldLength(field, Buffer.byteLength(value, 'utf8'));
}

/** A length-delimited field (bytes, a nested message) of `length` bytes: written even when empty, as emitProtobuf writes bytes (only an empty string is left out). */
export function bytesFieldLength(field: number, length: number): number {
  return varintLength((field << 3) | 2) + varintLength(length) + length;
}

/**
 * One field's length on the wire (a zero value is left out); a string comes as its UTF-8
 * bytes. With stringFieldLength and bytesFieldLength, a sizer that knows its fields (a table
 * event, its records) needs no list of fields, which a big swarm's gossip would make per event.
 */
export function fieldLength(field: number, value: number | boolean | { readonly length: number } | undefined): number {
  if (value === undefined || value === 0 || value === false) return 0;
  if (typeof value === 'number' || typeof value === 'boolean') return varintLength(field << 3) + varintLength(typeof value === 'boolean' ? 1 : value);
  return bytesFieldLength(field, value.length);
}

function varintLength(n: number): number {
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`protobuf: ${n} is not a varint this codec writes`);
  let length = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 0x80);
    length++;
  }
  return length;
}

function writeVarint(out: Buffer, at: number, n: number): number {
  while (n >= 0x80) {
    out[at++] = (n % 0x80) | 0x80;
    n = Math.floor(n / 0x80);
  }
  out[at++] = n;
  return at;
}
