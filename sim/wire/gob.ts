/**
 * Go's encoding/gob, the subset Weave Net's mesh (weaveworks/mesh) puts on TCP 6783: bools,
 * unsigned and signed integers, byte slices, strings, maps, slices and structs. A gob stream
 * is a run of messages, each its length (gob's unsigned integer) then its content: a type
 * definition (the negated type id, then a wireType describing the type) or a value (the type
 * id, then the value; a value that is not a struct goes behind a zero byte). A stream
 * defines each composite type once, before its first value.
 *
 * Unsigned integers below 128 take one byte; larger ones the negated count of their bytes,
 * then the bytes, big-endian. A signed integer is sent as an unsigned one whose lowest bit
 * is its sign (the rest complemented when negative). A struct sends only its fields that are
 * not zero, each behind the distance from the previous field's number, and ends with 0.
 *
 * Type ids: the predefined types have theirs (bool 1, int 2, uint 3, bytes 5, string 6);
 * others are numbered from 65 by the Go process as it meets them, a struct or map before the
 * slice of it (GobTypeIds keeps one process's numbering). Wireshark has no gob dissector.
 */
import { fail, Parsed } from './layer';

export type GobType =
  | { readonly kind: 'bool' | 'int' | 'uint' | 'bytes' | 'string' }
  | { readonly kind: 'map'; readonly key: GobType; readonly elem: GobType }
  | { readonly kind: 'slice'; readonly elem: GobType }
  | { readonly kind: 'struct'; readonly name: string; readonly fields: readonly { readonly name: string; readonly type: GobType }[] };

/** A struct's fields by name; a map's entries in the order sent. */
export type GobValue = boolean | bigint | string | Uint8Array | GobValue[] | GobMap | GobStruct;
export interface GobMap {
  entries: [GobValue, GobValue][];
}
export interface GobStruct {
  [field: string]: GobValue;
}

export const GOB_BOOL: GobType = { kind: 'bool' };
export const GOB_INT: GobType = { kind: 'int' };
export const GOB_UINT: GobType = { kind: 'uint' };
export const GOB_BYTES: GobType = { kind: 'bytes' };
export const GOB_STRING: GobType = { kind: 'string' };
const PREDEFINED: readonly [GobType, number][] = [[GOB_BOOL, 1], [GOB_INT, 2], [GOB_UINT, 3], [GOB_BYTES, 5], [GOB_STRING, 6]];
const FIRST_USER_ID = 65;

/** wireType's fields (by number): what kind of type a definition describes. */
const WIRE_SLICE = 1, WIRE_STRUCT = 2, WIRE_MAP = 3;

/** One Go process's type ids: predefined, then numbered as types are first met. */
export class GobTypeIds {
  private readonly ids = new Map<GobType, number>(PREDEFINED);
  private next = FIRST_USER_ID;

  id(t: GobType): number {
    const known = this.ids.get(t);
    if (known !== undefined) return known;
    // Go numbers an element type before the slice of it, and a struct before its fields' types.
    if (t.kind === 'slice') this.id(t.elem);
    if (t.kind === 'map') {
      this.id(t.key);
      this.id(t.elem);
    }
    let id = this.ids.get(t);
    if (id === undefined) this.ids.set(t, (id = this.next++));
    if (t.kind === 'struct') for (const f of t.fields) this.id(f.type);
    return id;
  }
}

// ── writing ────────────────────────────────────────────────────────────────

class GobWriter {
  readonly bytes: number[] = [];

  uint(n: bigint | number): void {
    let v = BigInt(n);
    if (v < 128n) {
      this.bytes.push(Number(v));
      return;
    }
    const be: number[] = [];
    for (; v > 0n; v >>= 8n) be.unshift(Number(v & 0xffn));
    this.bytes.push(256 - be.length, ...be);
  }

  int(n: bigint | number): void {
    const v = BigInt(n);
    this.uint(v < 0n ? ((~v) << 1n) | 1n : v << 1n);
  }

  blob(b: Uint8Array): void {
    this.uint(b.length);
    for (const x of b) this.bytes.push(x);
  }
}

function isZero(t: GobType, v: GobValue): boolean {
  switch (t.kind) {
    case 'bool': return v === false;
    case 'int': case 'uint': return v === 0n;
    case 'string': case 'bytes': return (v as string | Uint8Array).length === 0;
    case 'slice': return (v as GobValue[]).length === 0;
    case 'map': return (v as GobMap).entries.length === 0;
    case 'struct': return false;
  }
}

function writeValue(w: GobWriter, t: GobType, v: GobValue): void {
  switch (t.kind) {
    case 'bool': return w.uint(v ? 1 : 0);
    case 'uint': return w.uint(v as bigint);
    case 'int': return w.int(v as bigint);
    case 'bytes': return w.blob(v as Uint8Array);
    case 'string': return w.blob(Buffer.from(v as string, 'utf8'));
    case 'slice':
      w.uint((v as GobValue[]).length);
      for (const e of v as GobValue[]) writeValue(w, t.elem, e);
      return;
    case 'map':
      w.uint((v as GobMap).entries.length);
      for (const [k, e] of (v as GobMap).entries) {
        writeValue(w, t.key, k);
        writeValue(w, t.elem, e);
      }
      return;
    case 'struct': {
      let last = -1;
      t.fields.forEach((f, i) => {
        const fv = (v as GobStruct)[f.name];
        if (fv === undefined || isZero(f.type, fv)) return;
        w.uint(i - last);
        last = i;
        writeValue(w, f.type, fv);
      });
      w.uint(0);
    }
  }
}

/** The wireType describing `t` (its CommonType's name is empty for a type Go does not name). */
function writeWireType(w: GobWriter, ids: GobTypeIds, t: GobType): void {
  const common = (name: string) => {
    if (name) {
      w.uint(1);
      w.blob(Buffer.from(name));
      w.uint(1);
    } else {
      w.uint(2);
    }
    w.int(ids.id(t));
    w.uint(0);
  };
  if (t.kind === 'slice') {
    w.uint(WIRE_SLICE + 1);
    w.uint(1);
    common('');
    w.uint(1);
    w.int(ids.id(t.elem));
  } else if (t.kind === 'map') {
    w.uint(WIRE_MAP + 1);
    w.uint(1);
    common('');
    w.uint(1);
    w.int(ids.id(t.key));
    w.uint(1);
    w.int(ids.id(t.elem));
  } else if (t.kind === 'struct') {
    w.uint(WIRE_STRUCT + 1);
    w.uint(1);
    common(t.name);
    w.uint(1);
    w.uint(t.fields.length);
    for (const f of t.fields) {
      w.uint(1);
      w.blob(Buffer.from(f.name));
      w.uint(1);
      w.int(ids.id(f.type));
      w.uint(0);
    }
  }
  w.uint(0);
  w.uint(0);
}

function writeMessage(out: number[], content: GobWriter): void {
  const len = new GobWriter();
  len.uint(content.bytes.length);
  out.push(...len.bytes, ...content.bytes);
}

/** Defines `t` (and the composite types inside it) on the stream unless it already has; the outer type first, as Go's sendType does. */
function sendType(out: number[], ids: GobTypeIds, sent: Set<GobType>, t: GobType): void {
  if (ids.id(t) < FIRST_USER_ID || sent.has(t)) return;
  sent.add(t);
  const w = new GobWriter();
  w.int(-ids.id(t));
  writeWireType(w, ids, t);
  writeMessage(out, w);
  if (t.kind === 'slice') sendType(out, ids, sent, t.elem);
  if (t.kind === 'map') {
    sendType(out, ids, sent, t.key);
    sendType(out, ids, sent, t.elem);
  }
  if (t.kind === 'struct') for (const f of t.fields) sendType(out, ids, sent, f.type);
}

export interface GobItem {
  type: GobType;
  value: GobValue;
}

/** What one gob.Encoder writes for `items`, encoded one after another (each type defined before its first value). */
export function emitGob(ids: GobTypeIds, items: readonly GobItem[]): Buffer {
  const out: number[] = [];
  const sent = new Set<GobType>();
  for (const { type, value } of items) {
    sendType(out, ids, sent, type);
    const w = new GobWriter();
    w.int(ids.id(type));
    if (type.kind !== 'struct') w.uint(0);
    writeValue(w, type, value);
    writeMessage(out, w);
  }
  return Buffer.from(out);
}

// ── reading ────────────────────────────────────────────────────────────────

class GobError extends Error {}

class GobReader {
  constructor(private readonly b: Uint8Array, public at: number, private readonly end: number) {}

  uint(): bigint {
    if (this.at >= this.end) throw new GobError(`an integer cut short at ${this.at}`);
    const first = this.b[this.at++];
    if (first < 128) return BigInt(first);
    const n = 256 - first;
    if (n > 8 || this.at + n > this.end) throw new GobError(`an integer of ${n} bytes at ${this.at - 1}`);
    let v = 0n;
    for (let i = 0; i < n; i++) v = (v << 8n) | BigInt(this.b[this.at++]);
    return v;
  }

  small(): number {
    const v = this.uint();
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new GobError(`a count of ${v} at ${this.at}`);
    return Number(v);
  }

  int(): bigint {
    const u = this.uint();
    return u & 1n ? ~(u >> 1n) : u >> 1n;
  }

  blob(): Uint8Array {
    const n = this.small();
    if (this.at + n > this.end) throw new GobError(`${n} bytes declared at ${this.at}, ${this.end - this.at} follow`);
    const b = this.b.subarray(this.at, this.at + n);
    this.at += n;
    return b;
  }
}

/** A type as its definition named it: a user type by id, resolved once the definitions are read. */
type Pending = { kind: 'slice'; elem: number } | { kind: 'map'; key: number; elem: number } | { kind: 'struct'; name: string; fields: { name: string; id: number }[] };

function readCommon(r: GobReader): { name: string; id: number } {
  let field = -1, name = '', id = 0;
  for (let d = r.small(); d !== 0; d = r.small()) {
    field += d;
    if (field === 0) name = Buffer.from(r.blob()).toString('utf8');
    else if (field === 1) id = Number(r.int());
    else throw new GobError(`CommonType field ${field}`);
  }
  return { name, id };
}

function readWireType(r: GobReader): Pending {
  const delta = r.small();
  let pending: Pending;
  if (delta === WIRE_SLICE + 1 || delta === WIRE_MAP + 1) {
    let field = -1, key = 0, elem = 0;
    for (let d = r.small(); d !== 0; d = r.small()) {
      field += d;
      if (field === 0) readCommon(r);
      else if (delta === WIRE_SLICE + 1 && field === 1) elem = Number(r.int());
      else if (delta === WIRE_MAP + 1 && field === 1) key = Number(r.int());
      else if (delta === WIRE_MAP + 1 && field === 2) elem = Number(r.int());
      else throw new GobError(`type field ${field}`);
    }
    pending = delta === WIRE_SLICE + 1 ? { kind: 'slice', elem } : { kind: 'map', key, elem };
  } else if (delta === WIRE_STRUCT + 1) {
    let field = -1, name = '';
    const fields: { name: string; id: number }[] = [];
    for (let d = r.small(); d !== 0; d = r.small()) {
      field += d;
      if (field === 0) name = readCommon(r).name;
      else if (field === 1) {
        for (let n = r.small(); n > 0; n--) {
          let ff = -1, fname = '', fid = 0;
          for (let fd = r.small(); fd !== 0; fd = r.small()) {
            ff += fd;
            if (ff === 0) fname = Buffer.from(r.blob()).toString('utf8');
            else if (ff === 1) fid = Number(r.int());
            else throw new GobError(`fieldType field ${ff}`);
          }
          fields.push({ name: fname, id: fid });
        }
      } else throw new GobError(`structType field ${field}`);
    }
    pending = { kind: 'struct', name, fields };
  } else {
    throw new GobError(`a wireType of kind ${delta - 1} (only slices, structs and maps are read)`);
  }
  if (r.small() !== 0) throw new GobError('a wireType with more than one kind');
  return pending;
}

function readValue(r: GobReader, t: GobType): GobValue {
  switch (t.kind) {
    case 'bool': return r.uint() !== 0n;
    case 'uint': return r.uint();
    case 'int': return r.int();
    case 'bytes': return r.blob();
    case 'string': return Buffer.from(r.blob()).toString('utf8');
    case 'slice': {
      const out: GobValue[] = [];
      for (let n = r.small(); n > 0; n--) out.push(readValue(r, t.elem));
      return out;
    }
    case 'map': {
      const entries: [GobValue, GobValue][] = [];
      for (let n = r.small(); n > 0; n--) entries.push([readValue(r, t.key), readValue(r, t.elem)]);
      return { entries };
    }
    case 'struct': {
      const out: GobStruct = {};
      let field = -1;
      for (let d = r.small(); d !== 0; d = r.small()) {
        field += d;
        const f = t.fields[field];
        if (!f) throw new GobError(`struct ${t.name} has no field ${field}`);
        out[f.name] = readValue(r, f.type);
      }
      return out;
    }
  }
}

/**
 * The values of a gob stream (one gob.Decoder reading it to the end), each with the type its
 * stream defined. A struct's zero fields are absent from its value, as they were on the wire.
 */
export function parseGob(b: Uint8Array): Parsed<GobItem[]> {
  const byId = new Map<number, GobType>(PREDEFINED.map(([t, id]) => [id, t]));
  const pending = new Map<number, Pending>();
  const resolve = (id: number, seen: Set<number> = new Set()): GobType => {
    const known = byId.get(id);
    if (known) return known;
    const p = pending.get(id);
    if (!p || seen.has(id)) throw new GobError(`type id ${id} used before its definition`);
    seen.add(id);
    const t: GobType = p.kind === 'slice' ? { kind: 'slice', elem: resolve(p.elem, seen) }
      : p.kind === 'map' ? { kind: 'map', key: resolve(p.key, seen), elem: resolve(p.elem, seen) }
      : { kind: 'struct', name: p.name, fields: p.fields.map((f) => ({ name: f.name, type: resolve(f.id, seen) })) };
    byId.set(id, t);
    return t;
  };
  const items: GobItem[] = [];
  try {
    let at = 0;
    while (at < b.length) {
      const head = new GobReader(b, at, b.length);
      const length = head.small();
      if (head.at + length > b.length) return fail(`gob: a message of ${length} bytes at ${at}, ${b.length - head.at} follow`);
      const r = new GobReader(b, head.at, head.at + length);
      const id = Number(r.int());
      if (id < 0) pending.set(-id, readWireType(r));
      else {
        const type = resolve(id);
        if (type.kind !== 'struct' && r.small() !== 0) return fail(`gob: value of type ${id} at ${at} without its zero byte`);
        items.push({ type, value: readValue(r, type) });
      }
      if (r.at !== head.at + length) return fail(`gob: message at ${at} has ${head.at + length - r.at} bytes left over`);
      at = head.at + length;
    }
  } catch (e) {
    if (e instanceof GobError) return fail(`gob: ${e.message}`);
    throw e;
  }
  return { ok: true, repr: items, headerLength: 0, payload: Buffer.alloc(0) };
}
