/**
 * The part of Go's text/template that `docker inspect --format` is used with: `{{.A.B}}`,
 * `{{json .A}}`, `{{index .A "key"}}`, `{{len .A}}`, `{{range .A}}…{{else}}…{{end}}` (with
 * `$k, $v :=` and `$v.B`) and literal text; values print as Go's %v does. A map ranges in
 * key order, as Go's does. docker/cli parses the template before it looks anything up (a
 * template that does not parse exits 64) and runs it on each object in turn (one that fails
 * there is reported, the others printed).
 */
import { DockerError } from './errors';
import { NotModelled } from '../model/refusal';

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

/** `at`: where the action's pipeline begins in the template, as Go's errors number it (line 1, byte offset). */
type Node =
  | { kind: 'text'; text: string }
  | { kind: 'action'; expr: string; at: number }
  | { kind: 'range'; key?: string; value?: string; expr: string; at: number; body: Node[]; otherwise?: Node[] };

export type Template = Node[];

/** A template that parsed but failed on one object: docker/cli reports it and goes on with the next. */
export class TemplateExecError extends Error {}

interface Scope {
  dot: unknown;
  vars: Record<string, unknown>;
}

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

/** Splits the template into text and actions, nesting range bodies (and their else) up to their `end`. */
export function parseTemplate(template: string): Template {
  const root: Node[] = [];
  const open: Extract<Node, { kind: 'range' }>[] = [];
  const current = (): Node[] => {
    const r = open[open.length - 1];
    return r ? r.otherwise ?? r.body : root;
  };
  const re = /\{\{(-?\s*)(.*?)\s*-?\}\}/g;
  let last = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(template))) {
    if (m.index > last) current().push({ kind: 'text', text: template.slice(last, m.index) });
    last = re.lastIndex;
    const expr = m[2];
    const at = m.index + 2 + m[1].length;
    let r: RegExpMatchArray | null;
    if (expr === 'end') {
      if (!open.pop()) throw parseError('unexpected {{end}}');
    } else if (expr === 'else') {
      const inner = open[open.length - 1];
      if (!inner || inner.otherwise) throw parseError('unexpected {{else}}');
      inner.otherwise = [];
    } else if ((r = expr.match(/^range\s+(?:(\$\w+)\s*(?:,\s*(\$\w+)\s*)?:=\s*)?(.+)$/))) {
      // With one variable it takes the element; with two, the key and the element.
      const node: Extract<Node, { kind: 'range' }> = { kind: 'range', key: r[2] ? r[1] : undefined, value: r[2] ?? r[1], expr: r[3], at: at + r[0].indexOf(r[3]), body: [] };
      current().push(node);
      open.push(node);
    } else {
      const word = expr.split(/\s+/)[0];
      if (UNMODELLED.has(word) || expr.includes('|')) throw new NotModelled(`docker inspect --format: ${expr.includes('|') ? 'a pipeline' : `"${word}"`} is not modelled (json, index, len and range are)`);
      if (!word.startsWith('.') && !word.startsWith('$') && !FUNCTIONS.has(word)) throw parseError(`function "${word}" not defined`);
      current().push({ kind: 'action', expr, at });
    }
  }
  if (open.length) throw parseError('unexpected EOF');
  if (last < template.length) root.push({ kind: 'text', text: template.slice(last) });
  return root;
}

/** A field path from `.` or from a variable: `.A.B`, `.`, `$v`, `$v.A`; `at` where it stands in the template. */
function lookup(scope: Scope, path: string, at: number): unknown {
  const m = path.match(/^(\$\w*)?((?:\.[\w]+)*|\.)$/);
  if (!m) throw parseError(`function "${path}" not defined`);
  let cur: unknown;
  if (m[1]) {
    if (!(m[1] in scope.vars)) throw parseError(`undefined variable "${m[1]}"`);
    cur = scope.vars[m[1]];
  } else {
    cur = scope.dot;
  }
  if (m[2] === '.' || m[2] === '') return cur;
  for (const part of m[2].slice(1).split('.')) {
    if (cur === null || typeof cur !== 'object' || !(part in (cur as object))) throw execError(at, path, `map has no entry for key "${part}"`);
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

function evaluate(scope: Scope, expr: string, at: number): unknown {
  let m: RegExpMatchArray | null;
  if ((m = expr.match(/^json\s+(\S+)$/))) return JSON.stringify(lookup(scope, m[1], at + expr.indexOf(m[1])));
  if ((m = expr.match(/^index\s+(\S+)\s+"([^"]*)"$/))) return (lookup(scope, m[1], at + expr.indexOf(m[1])) as Record<string, unknown> | null)?.[m[2]];
  if ((m = expr.match(/^len\s+(\S+)$/))) {
    const v = lookup(scope, m[1], at + expr.indexOf(m[1]));
    // The typed struct's nil map or slice (JSON null) has length 0; a number is read as json.Number, a string.
    if (v === null || v === undefined) return 0;
    if (typeof v === 'string' || Array.isArray(v)) return v.length;
    if (typeof v === 'number') return String(v).length;
    if (typeof v === 'object') return Object.keys(v).length;
    throw execError(at, expr, `error calling len: len of type ${typeof v}`);
  }
  if (/^(\$\w*)?[.\w]*$/.test(expr) && (expr.startsWith('.') || expr.startsWith('$'))) return lookup(scope, expr, at);
  throw parseError(`function "${expr.split(/\s+/)[0]}" not defined`);
}

function execute(nodes: Node[], scope: Scope): string {
  let out = '';
  for (const n of nodes) {
    if (n.kind === 'text') out += n.text;
    else if (n.kind === 'action') {
      out += goValue(evaluate(scope, n.expr, n.at));
    } else {
      const over = evaluate(scope, n.expr, n.at);
      if (over !== null && over !== undefined && typeof over !== 'object') throw execError(n.at, n.expr, `range can't iterate over ${goValue(over)}`);
      const items: [unknown, unknown][] = over === null || over === undefined ? [] : Array.isArray(over) ? over.map((v, i) => [i, v]) : sortedEntries(over as Record<string, unknown>);
      // Nothing to range over: the else part, with dot unchanged.
      if (items.length === 0 && n.otherwise) out += execute(n.otherwise, scope);
      for (const [k, v] of items) {
        const vars = { ...scope.vars };
        if (n.key) vars[n.key] = k;
        if (n.value) vars[n.value] = v;
        out += execute(n.body, { dot: v, vars });
      }
    }
  }
  return out;
}

export function executeTemplate(template: Template, obj: unknown): string {
  return execute(template, { dot: obj, vars: { $: obj } });
}
