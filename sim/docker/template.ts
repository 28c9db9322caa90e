/**
 * The part of Go's text/template that `docker inspect --format` is used with: `{{.A.B}}`,
 * `{{json .A}}`, `{{index .A "key"}}`, `{{len .A}}`, `{{range .A}}…{{else}}…{{end}}` (with
 * `$k, $v :=` and `$v.B`), string constants (`{{"text"}}`, `{{`raw`}}`, as operands too) and
 * literal text, comments (`{{/* … *\/}}`) and trim markers (`{{- `, ` -}}`); values print as
 * Go's %v does. An action with no command (`{{}}`, `{{range}}`) is the parser's error. A map ranges in
 * key order, as Go's does. docker/cli parses the template before it looks anything up (a
 * template that does not parse exits 64) and runs it on each object in turn (one that fails
 * there is reported, the others printed).
 *
 * docker/cli's TemplateInspector runs the template twice at most: first on the typed struct
 * the API client decoded (types.ContainerJSON, types.NetworkResource: api-types.ts), where a
 * field's Go type decides what it prints and a missing map key is `<no value>`; only if that
 * fails (a JSON name that is not the Go field's, `{{.Id}}`; len of a number) again on the raw
 * JSON decoded into interface{} values with missingkey=error, whose errors are the ones shown.
 */
import { DockerError } from './errors';
import { NotModelled } from '../model/refusal';
import { GoField, GoType } from './api-types';

/** A value of the raw run inside a map or slice, as %v prints an interface{}: nil is `<nil>`. */
function goValue(v: unknown): string {
  if (v === null || v === undefined) return '<nil>';
  if (Array.isArray(v)) return `[${v.map(goValue).join(' ')}]`;
  if (typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>);
    // Docker's maps (Options, Labels, Containers) print as map[k:v]; its structs as {v1 v2}.
    return isMap(v as Record<string, unknown>) ? `map[${sortedEntries(v as Record<string, unknown>).map(([k, x]) => `${k}:${goValue(x)}`).join(' ')}]` : `{${entries.map(([, x]) => goValue(x)).join(' ')}}`;
  }
  return String(v);
}

function isMap(v: Record<string, unknown>): boolean {
  const keys = Object.keys(v);
  return keys.length === 0 || keys.some((k) => !/^[A-Z]/.test(k));
}

function sortedEntries(v: Record<string, unknown>): [string, unknown][] {
  return Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/** An action's word: a string constant with its value (parsed once, at parse), or a name or field path as written. */
interface Word {
  text: string;
  constant?: string;
}

/** `at`: where the action's pipeline begins in the template, as Go's errors number it (line 1, byte offset). */
type Node =
  | { kind: 'text'; text: string }
  | { kind: 'action'; expr: string; words: Word[]; at: number }
  | { kind: 'range'; key?: string; value?: string; expr: string; words: Word[]; at: number; body: Node[]; otherwise?: Node[] };

export type Template = Node[];

/** A template that parsed but failed on one object: docker/cli reports it and goes on with the next. */
export class TemplateExecError extends Error {}

/** docker/cli's Inspect: a template that does not parse is a usage error, exit 64, before any object is looked up. */
const parseError = (msg: string) => new DockerError(`template parsing error: template: :1: ${msg}`, 64);

const execError = (at: number, expr: string, msg: string) => new TemplateExecError(`template parsing error: template: :1:${at}: executing "" at <${expr}>: ${msg}`);

const FUNCTIONS = new Set(['json', 'index', 'len']);

/** What Go's text/template and docker/cli's templates define beyond FUNCTIONS: real, so never a parse error, but not modelled. */
const UNMODELLED = new Set([
  'and', 'call', 'html', 'js', 'not', 'or', 'print', 'printf', 'println', 'slice', 'urlquery', 'eq', 'ne', 'lt', 'le', 'gt', 'ge',
  'if', 'with', 'define', 'template', 'block', 'break', 'continue', 'nil',
  'split', 'join', 'title', 'lower', 'upper', 'pad', 'truncate',
]);

/** An interpreted string constant as Go's lexer takes it: it ends at its closing quote, never at a newline. */
const QUOTED = String.raw`"(?:[^"\\\n]|\\[^\n])*"`;
const RAW_QUOTED = '`[^`]*`';
const OPERAND = new RegExp(String.raw`${QUOTED}|${RAW_QUOTED}|\S+`, 'g');
const WHOLE_QUOTED = new RegExp(`^${QUOTED}$`);
const WHOLE_RAW_QUOTED = new RegExp(`^${RAW_QUOTED}$`);

/** Go's isSpace: what a trim marker takes and trims. */
const SPACE = '[ \\t\\r\\n]';
/**
 * An action from its `{{`, held at that place (sticky); a quoted string inside it may hold
 * `}}`. A trim marker is a dash after `{{` followed by a space (`{{- `) or before `}}`
 * after one (` -}}`): groups 1 and 3 hold them with the action's own spaces (group 1 leaves
 * the space of a ` -}}` to group 3, so `{{ -}}` is an empty action).
 */
const ACTION = new RegExp(String.raw`\{\{((?:-${SPACE})?(?:(?!${SPACE}-\}\})${SPACE})*)((?:${QUOTED}|${RAW_QUOTED}|[^"\x60])*?)(${SPACE}*(?:${SPACE}-)?)\}\}`, 'y');
/** A comment's start, right after `{{` or `{{- ` (lexLeftDelim), and where it may end: right before `}}` or ` -}}` (atRightDelim). */
const COMMENT_START = new RegExp(String.raw`\{\{(-${SPACE})?/\*`, 'y');
const COMMENT_DELIM = new RegExp(String.raw`(${SPACE}-)?\}\}`, 'y');
const TRAILING_SPACE = new RegExp(`${SPACE}+$`);
const LEADING_SPACE = new RegExp(`^${SPACE}+`);

/**
 * A comment at `start` (`{{/* … *\/}}`, lexComment), which prints nothing: where it ends and
 * its trim markers; undefined when the action there is no comment.
 */
function comment(template: string, start: number): { end: number; trimBefore: boolean; trimAfter: boolean } | undefined {
  COMMENT_START.lastIndex = start;
  const open = COMMENT_START.exec(template);
  if (!open) return undefined;
  const close = template.indexOf('*/', COMMENT_START.lastIndex);
  if (close < 0) throw parseError('unclosed comment');
  COMMENT_DELIM.lastIndex = close + 2;
  const delim = COMMENT_DELIM.exec(template);
  if (!delim) throw parseError('comment ends before closing delimiter');
  return { end: COMMENT_DELIM.lastIndex, trimBefore: !!open[1], trimAfter: !!delim[1] };
}

/**
 * Why the action at `from` (a `{{` that ACTION does not match) does not lex, in the words of
 * Go's lexer (lexQuote, lexRawQuote, lexInsideAction): the first quote left open, or no `}}`.
 */
function unlexable(template: string, from: number): DockerError {
  const open = new RegExp(String.raw`${QUOTED}|${RAW_QUOTED}|["\x60]`, 'g');
  open.lastIndex = from;
  let q: RegExpExecArray | null;
  while ((q = open.exec(template))) {
    if (q[0] === '"') return parseError('unterminated quoted string');
    if (q[0] === '`') return parseError('unterminated raw quoted string');
  }
  return parseError('unclosed action');
}

/**
 * An action's words, each string constant's value taken now (strconv.Unquote's errors are
 * the parser's, whatever the word's place). A `|` outside a constant joins a pipeline, which
 * is not modelled, wherever it stands.
 */
function parseWords(expr: string): Word[] {
  const words = operands(expr).map((text): Word => ({ text, constant: goString(text) }));
  if (words.some((w) => w.constant === undefined && w.text.includes('|'))) throw new NotModelled('docker inspect --format: a pipeline (json, index, len and range are)');
  return words;
}

/** Splits the template into text and actions, nesting range bodies (and their else) up to their `end`. */
export function parseTemplate(template: string): Template {
  const root: Node[] = [];
  const open: Extract<Node, { kind: 'range' }>[] = [];
  const current = (): Node[] => {
    const r = open[open.length - 1];
    return r ? r.otherwise ?? r.body : root;
  };
  let last = 0;
  let start: number;
  // Text is trimmed where a trim marker touches it: its end before `{{- `, its start after ` -}}`.
  let trimNext = false;
  const text = (from: number, to: number, trimEnd: boolean) => {
    let t = template.slice(from, to);
    if (trimNext) t = t.replace(LEADING_SPACE, '');
    if (trimEnd) t = t.replace(TRAILING_SPACE, '');
    if (t) current().push({ kind: 'text', text: t });
  };
  while ((start = template.indexOf('{{', last)) >= 0) {
    const c = comment(template, start);
    if (c) {
      text(last, start, c.trimBefore);
      trimNext = c.trimAfter;
      last = c.end;
      continue;
    }
    ACTION.lastIndex = start;
    const m = ACTION.exec(template);
    if (!m) throw unlexable(template, start);
    text(last, start, m[1].startsWith('-'));
    trimNext = m[3].endsWith('-');
    last = ACTION.lastIndex;
    const expr = m[2];
    const at = start + 2 + m[1].length;
    let r: RegExpMatchArray | null;
    // An action with no command (checkPipeline): `{{}}`, `{{ }}`, `{{range}}`, `{{range $v :=}}`.
    const range = /^range(?:$|\s+(?:\$\w+\s*(?:,\s*\$\w+\s*)?:=\s*)?$)/.test(expr);
    if (expr === '' || range) throw parseError(`missing value for ${range ? 'range' : 'command'}`);
    if (expr === 'end') {
      if (!open.pop()) throw parseError('unexpected {{end}}');
    } else if (expr === 'else') {
      const inner = open[open.length - 1];
      if (!inner || inner.otherwise) throw parseError('unexpected {{else}}');
      inner.otherwise = [];
    } else if ((r = expr.match(/^range\s+(?:(\$\w+)\s*(?:,\s*(\$\w+)\s*)?:=\s*)?(.+)$/))) {
      // With one variable it takes the element; with two, the key and the element.
      const node: Extract<Node, { kind: 'range' }> = { kind: 'range', key: r[2] ? r[1] : undefined, value: r[2] ?? r[1], expr: r[3], words: parseWords(r[3]), at: at + r[0].indexOf(r[3]), body: [] };
      current().push(node);
      open.push(node);
    } else {
      const words = parseWords(expr);
      const first = words[0]?.text ?? '';
      if (words[0]?.constant === undefined) {
        if (UNMODELLED.has(first)) throw new NotModelled(`docker inspect --format: the function "${first}" (json, index, len and range are)`);
        if (!first.startsWith('.') && !first.startsWith('$') && !FUNCTIONS.has(first)) throw parseError(`function "${first}" not defined`);
      }
      current().push({ kind: 'action', expr, words, at });
    }
  }
  if (open.length) throw parseError('unexpected EOF');
  text(last, template.length, false);
  return root;
}

/** An action's words: string constants (which may hold spaces) whole, the rest split at white space. */
function operands(expr: string): string[] {
  return expr.match(OPERAND) ?? [];
}

const ESCAPES: Record<string, string> = { a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v', '\\': '\\', '"': '"' };

/**
 * A Go string constant's value (strconv.Unquote): a raw string as it stands, an interpreted
 * one with its escapes; undefined for a word that is no string constant. An escape Go does
 * not know is the parser's error, as text/template reports strconv's.
 */
function goString(word: string): string | undefined {
  if (WHOLE_RAW_QUOTED.test(word)) return word.slice(1, -1).replace(/\r/g, '');
  if (!WHOLE_QUOTED.test(word)) return undefined;
  return word.slice(1, -1).replace(/\\(x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|[0-7]{3}|.)/g, (_, e: string) => {
    if (e.length === 1 && e in ESCAPES) return ESCAPES[e];
    const code = /^[xuU]/.test(e) && e.length > 1 ? parseInt(e.slice(1), 16) : /^[0-7]{3}$/.test(e) ? parseInt(e, 8) : undefined;
    if (code === undefined || code > 0x10ffff || (code >= 0xd800 && code < 0xe000)) throw parseError('invalid syntax');
    // \x and octal escapes are bytes: above 0x7f Go writes the byte itself, no character.
    if (code > 0x7f && !/^[uU]/.test(e)) throw new NotModelled(`docker inspect --format: the byte escape \\${e} (Go writes a raw byte)`);
    return String.fromCodePoint(code);
  });
}

/**
 * text/template's invalid reflect.Value: a missing key of a map (or of a nil one), a nil
 * interface{} an action yields (text/template unwraps it to nothing), and what a field of
 * such a value gives. It prints `<no value>`.
 */
const NO_VALUE = Symbol('no value');

/** The raw run's values: JSON as encoding/json decodes it into interface{}. */
type Raw = unknown;

/** The typed run's values: the JSON value (undefined for a field the JSON left out: its zero value) and its Go type. */
interface Typed {
  v: unknown;
  t: GoType;
}

/** Why the typed run failed; docker/cli then runs the template on the raw JSON. */
class TypedFailure extends Error {}

interface Run<V> {
  /** `.field` of a value. */
  field(cur: V | typeof NO_VALUE, part: string, path: string, at: number): V | typeof NO_VALUE;
  index(item: V | typeof NO_VALUE, key: string, expr: string, at: number): V | typeof NO_VALUE;
  len(item: V | typeof NO_VALUE, expr: string, at: number): number;
  json(item: V | typeof NO_VALUE): string;
  /** What range iterates over: key and element pairs, in Go's order. */
  items(over: V | typeof NO_VALUE, expr: string, at: number): [V, V][];
  print(v: V | typeof NO_VALUE): string;
  /** A string constant's value. */
  constant(s: string): V;
}

interface Scope<V> {
  dot: V | typeof NO_VALUE;
  vars: Record<string, V | typeof NO_VALUE>;
}

const RAW: Run<Raw> = {
  field(cur, part, path, at) {
    // missingkey=error: docker/cli's fallback wants to hear of a key the JSON lacks.
    if (cur === NO_VALUE) throw execError(at, path, `nil data; no entry for key "${part}"`);
    if (cur === null || cur === undefined) throw execError(at, path, `nil pointer evaluating interface {}.${part}`);
    if (typeof cur !== 'object' || Array.isArray(cur)) throw execError(at, path, `can't evaluate field ${part} in type ${rawTypeName(cur)}`);
    if (!(part in (cur as object))) throw execError(at, path, `map has no entry for key "${part}"`);
    return (cur as Record<string, unknown>)[part];
  },
  index(item, key, expr, at) {
    if (item === NO_VALUE || item === null || item === undefined) throw execError(at, expr, 'error calling index: index of untyped nil');
    if (typeof item !== 'object' || Array.isArray(item)) throw execError(at, expr, `error calling index: cannot index slice/array with type string`);
    // A missing key gives interface{}'s zero value: nothing.
    return key in (item as object) ? (item as Record<string, unknown>)[key] : NO_VALUE;
  },
  len(v, expr, at) {
    // A number is read as json.Number, a string.
    if (typeof v === 'string' || Array.isArray(v)) return v.length;
    if (typeof v === 'number') return String(v).length;
    if (v !== null && typeof v === 'object') return Object.keys(v).length;
    throw execError(at, expr, v === NO_VALUE || v === null || v === undefined ? 'error calling len: len of nil pointer' : `error calling len: len of type ${rawTypeName(v)}`);
  },
  json: (v) => JSON.stringify(v === NO_VALUE || v === undefined ? null : v),
  items(over, expr, at) {
    if (over === NO_VALUE || over === null || over === undefined) return [];
    if (typeof over !== 'object') throw execError(at, expr, `range can't iterate over ${goValue(over)}`);
    return Array.isArray(over) ? over.map((v, i) => [i, v]) : sortedEntries(over as Record<string, unknown>);
  },
  // A nil interface{} an action yields is unwrapped to nothing.
  print: (v) => (v === NO_VALUE || v === null || v === undefined ? '<no value>' : goValue(v)),
  constant: (s) => s,
};

function rawTypeName(v: unknown): string {
  if (typeof v === 'string') return 'string';
  if (typeof v === 'number') return 'json.Number';
  if (typeof v === 'boolean') return 'bool';
  return '[]interface {}';
}

/** The struct's fields, looked up by Go name as Go promotes them: its own first, then its embedded structs'. */
function structField(t: Extract<GoType, { kind: 'struct' }>, name: string): { field: GoField; via: GoField[] } | undefined {
  const own = t.fields.find((f) => f.name === name);
  if (own) return { field: own, via: [] };
  for (const f of t.fields) {
    const inner = f.embedded ? derefType(f.type) : undefined;
    const found = inner?.kind === 'struct' ? structField(inner, name) : undefined;
    if (found) return { field: found.field, via: [f, ...found.via] };
  }
  return undefined;
}

function derefType(t: GoType): GoType {
  return t.kind === 'pointer' ? t.elem : t;
}

const isNil = (x: Typed) => x.v === null || x.v === undefined;

/** A struct field's value: an embedded struct's fields are inlined in its parent's JSON object. */
function fieldValue(obj: unknown, f: GoField): Typed {
  if (f.embedded) return { v: obj ?? {}, t: f.type };
  const o = obj as Record<string, unknown> | undefined;
  return { v: o?.[f.json ?? f.name], t: f.type };
}

/** Go's indirect: through a pointer, unless it is nil. */
function indirect(x: Typed): Typed {
  return x.t.kind === 'pointer' && !isNil(x) ? { v: x.v, t: x.t.elem } : x;
}

/** The JSON object of a struct value: only its own keys (an embedded struct shares its parent's object). */
function structJson(obj: Record<string, unknown>, t: Extract<GoType, { kind: 'struct' }>, into: Record<string, unknown> = {}): Record<string, unknown> {
  for (const f of t.fields) {
    const inner = derefType(f.type);
    if (f.embedded && inner.kind === 'struct') structJson(obj, inner, into);
    else if ((f.json ?? f.name) in obj) into[f.json ?? f.name] = obj[f.json ?? f.name];
  }
  return into;
}

/** time.Time's String(), from the RFC 3339 text its JSON holds. */
function goTime(v: unknown): string {
  const m = typeof v === 'string' ? /^(\d{4}-\d\d-\d\d)T(\d\d:\d\d:\d\d(?:\.\d+)?)Z$/.exec(v) : null;
  return m ? `${m[1]} ${m[2]} +0000 UTC` : '0001-01-01 00:00:00 +0000 UTC';
}

/**
 * The typed run: `addressed` is set when %v would print a pointer inside a value (Go shows
 * its address, a number no model can give); the run must first succeed for that to matter.
 */
function typedRun(state: { addressed: boolean }): Run<Typed> {
  const fail = (msg: string): never => {
    throw new TypedFailure(msg);
  };
  const zeroOf = (t: GoType): Typed => ({ v: undefined, t });
  /** fmt's %v, `depth` 0 for the action's own value (already through its pointer). */
  const format = (x: Typed, depth: number): string => {
    const { v, t } = x;
    switch (t.kind) {
      case 'string': return typeof v === 'string' ? v : '';
      case 'int': return typeof v === 'number' ? String(v) : '0';
      case 'bool': return v === true ? 'true' : 'false';
      case 'time': return goTime(v);
      case 'emptyStruct': return '{}';
      case 'slice': return `[${(Array.isArray(v) ? v : []).map((e) => format({ v: e, t: t.elem }, depth + 1)).join(' ')}]`;
      case 'map': return `map[${(v && typeof v === 'object' ? sortedEntries(v as Record<string, unknown>) : []).map(([k, e]) => `${k}:${format({ v: e, t: t.elem }, depth + 1)}`).join(' ')}]`;
      case 'pointer':
        if (isNil(x)) return '<nil>';
        if (depth === 0) return format({ v, t: t.elem }, 0);
        state.addressed = true;
        return '0x…';
      case 'struct': return `{${t.fields.map((f) => format(fieldValue(v, f), depth + 1)).join(' ')}}`;
    }
  };
  return {
    field(cur, part) {
      // Nothing has no fields, and gives nothing.
      if (cur === NO_VALUE) return NO_VALUE;
      const x = indirect(cur);
      if (x.t.kind === 'map') {
        const m = x.v as Record<string, unknown> | null | undefined;
        return m && part in m ? { v: m[part], t: x.t.elem } : NO_VALUE;
      }
      if (x.t.kind !== 'struct') return fail(`can't evaluate field ${part}`);
      const found = structField(x.t, part);
      if (!found) return fail(`can't evaluate field ${part}`);
      let obj = x.v;
      for (const f of found.via) obj = fieldValue(obj, f).v;
      return fieldValue(obj, found.field);
    },
    index(item, key) {
      if (item === NO_VALUE) return fail('index of untyped nil');
      const x = indirect(item);
      if (x.t.kind !== 'map') return fail(`can't index item of type ${x.t.kind}`);
      const m = x.v as Record<string, unknown> | null | undefined;
      // A missing key, of a nil map too, gives the element type's zero value.
      return m && key in m ? { v: m[key], t: x.t.elem } : zeroOf(x.t.elem);
    },
    len(item) {
      if (item === NO_VALUE) return fail('len of nothing');
      const x = indirect(item);
      if (x.t.kind === 'string') return typeof x.v === 'string' ? x.v.length : 0;
      if (x.t.kind === 'slice') return Array.isArray(x.v) ? x.v.length : 0;
      if (x.t.kind === 'map') return x.v && typeof x.v === 'object' ? Object.keys(x.v).length : 0;
      return fail(`len of type ${x.t.kind}`);
    },
    json(item) {
      if (item === NO_VALUE || isNil(item)) return item !== NO_VALUE && item.t.kind === 'struct' ? JSON.stringify(structJson({}, item.t)) : 'null';
      const x = indirect(item);
      return JSON.stringify(x.t.kind === 'struct' ? structJson(x.v as Record<string, unknown>, x.t) : x.v);
    },
    items(over) {
      if (over === NO_VALUE) return [];
      const { v, t } = indirect(over);
      if (t.kind === 'slice') return (Array.isArray(v) ? v : []).map((e, i) => [{ v: i, t: { kind: 'int' } }, { v: e, t: t.elem }]);
      if (t.kind === 'map') return (v && typeof v === 'object' ? sortedEntries(v as Record<string, unknown>) : []).map(([k, e]) => [{ v: k, t: { kind: 'string' } }, { v: e, t: t.elem }]);
      return fail("range can't iterate");
    },
    print: (x) => (x === NO_VALUE ? '<no value>' : format(indirect(x), 0)),
    constant: (s) => ({ v: s, t: { kind: 'string' } }),
  };
}

/** A field path from `.` or from a variable: `.A.B`, `.`, `$v`, `$v.A`; `at` where it stands in the template. */
function lookup<V>(run: Run<V>, scope: Scope<V>, path: string, at: number): V | typeof NO_VALUE {
  const m = path.match(/^(\$\w*)?((?:\.[\w]+)*|\.)$/);
  if (!m) throw parseError(`function "${path}" not defined`);
  let cur: V | typeof NO_VALUE;
  if (m[1]) {
    if (!(m[1] in scope.vars)) throw parseError(`undefined variable "${m[1]}"`);
    cur = scope.vars[m[1]];
  } else {
    cur = scope.dot;
  }
  if (m[2] === '.' || m[2] === '') return cur;
  for (const part of m[2].slice(1).split('.')) cur = run.field(cur, part, path, at);
  return cur;
}

/** An argument: a string constant, or a field path (`at` where the action's pipeline begins). */
function operand<V>(run: Run<V>, scope: Scope<V>, node: { expr: string; at: number }, word: Word): V | typeof NO_VALUE {
  return word.constant !== undefined ? run.constant(word.constant) : lookup(run, scope, word.text, node.at + node.expr.indexOf(word.text));
}

/** What an action yields: a value, or the text a function already made of it (json, len). */
function evaluate<V>(run: Run<V>, scope: Scope<V>, node: { expr: string; words: Word[]; at: number }): { value: V | typeof NO_VALUE } | { text: string } {
  const { expr, words, at } = node;
  const [fn, arg, key] = words;
  if (fn.text === 'json' && words.length === 2) return { text: run.json(operand(run, scope, node, arg)) };
  if (fn.text === 'index' && words.length === 3 && key.constant !== undefined) return { value: run.index(operand(run, scope, node, arg), key.constant, expr, at) };
  if (fn.text === 'len' && words.length === 2) return { text: String(run.len(operand(run, scope, node, arg), expr, at)) };
  if (fn.constant !== undefined) {
    if (words.length > 1) throw execError(at, fn.text, `can't give argument to non-function ${fn.text}`);
    return { value: run.constant(fn.constant) };
  }
  if (/^(\$\w*)?[.\w]*$/.test(expr) && (expr.startsWith('.') || expr.startsWith('$'))) return { value: lookup(run, scope, expr, at) };
  throw parseError(`function "${fn.text}" not defined`);
}

function execute<V>(run: Run<V>, nodes: Node[], scope: Scope<V>): string {
  let out = '';
  for (const n of nodes) {
    if (n.kind === 'text') out += n.text;
    else if (n.kind === 'action') {
      const r = evaluate(run, scope, n);
      out += 'text' in r ? r.text : run.print(r.value);
    } else {
      const r = evaluate(run, scope, n);
      if ('text' in r) throw execError(n.at, n.expr, `range can't iterate over ${r.text}`);
      const items = run.items(r.value, n.expr, n.at);
      // Nothing to range over: the else part, with dot unchanged.
      if (items.length === 0 && n.otherwise) out += execute(run, n.otherwise, scope);
      for (const [k, v] of items) {
        const vars = { ...scope.vars };
        if (n.key) vars[n.key] = k;
        if (n.value) vars[n.value] = v;
        out += execute(run, n.body, { dot: v, vars });
      }
    }
  }
  return out;
}

/**
 * The template run on one object as docker/cli runs it: on the typed struct when its Go
 * type is known (`type`), and on the raw JSON if that fails.
 */
export function executeTemplate(template: Template, obj: unknown, type?: GoType): string {
  if (type) {
    const state = { addressed: false };
    const root: Typed = { v: obj, t: type };
    let out: string | undefined;
    try {
      out = execute(typedRun(state), template, { dot: root, vars: { $: root } });
    } catch (e) {
      if (!(e instanceof TypedFailure || e instanceof TemplateExecError)) throw e;
    }
    if (out !== undefined) {
      if (state.addressed) throw new NotModelled('docker inspect --format: a value holding a pointer (Go prints its address; {{json …}} prints it)');
      return out;
    }
  }
  return execute(RAW, template, { dot: obj, vars: { $: obj } });
}
