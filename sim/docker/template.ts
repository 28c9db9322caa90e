/**
 * The part of Go's text/template that `docker inspect --format` is used with: `{{.A.B}}`,
 * `{{json .A}}`, `{{index .A "key"}}`, `{{range .A}}…{{end}}` (with `$k, $v :=` and `$v.B`)
 * and literal text; values print as Go's %v does. A map ranges in key order, as Go's does.
 */
import { DockerError } from './errors';

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

type Node =
  | { kind: 'text'; text: string }
  | { kind: 'action'; expr: string }
  | { kind: 'range'; key?: string; value?: string; expr: string; body: Node[] };

interface Scope {
  dot: unknown;
  vars: Record<string, unknown>;
}

const parseError = (msg: string) => new DockerError(`template parsing error: template: :1: ${msg}`, 1);

/** Splits the template into text and actions, nesting range bodies up to their `end`. */
function parse(template: string): Node[] {
  const root: Node[] = [];
  const stack: Node[][] = [root];
  const re = /\{\{-?\s*(.*?)\s*-?\}\}/g;
  let last = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(template))) {
    if (m.index > last) stack[stack.length - 1].push({ kind: 'text', text: template.slice(last, m.index) });
    last = re.lastIndex;
    const expr = m[1];
    let r: RegExpMatchArray | null;
    if (expr === 'end') {
      if (stack.length === 1) throw parseError('unexpected {{end}}');
      stack.pop();
    } else if ((r = expr.match(/^range\s+(?:(\$\w+)\s*(?:,\s*(\$\w+)\s*)?:=\s*)?(.+)$/))) {
      // With one variable it takes the element; with two, the key and the element.
      const node: Node = { kind: 'range', key: r[2] ? r[1] : undefined, value: r[2] ?? r[1], expr: r[3], body: [] };
      stack[stack.length - 1].push(node);
      stack.push(node.body);
    } else {
      stack[stack.length - 1].push({ kind: 'action', expr });
    }
  }
  if (stack.length > 1) throw parseError('unexpected EOF');
  if (last < template.length) root.push({ kind: 'text', text: template.slice(last) });
  return root;
}

/** A field path from `.` or from a variable: `.A.B`, `.`, `$v`, `$v.A`. */
function lookup(scope: Scope, path: string): unknown {
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
    if (cur === null || typeof cur !== 'object' || !(part in (cur as object))) {
      throw new DockerError(`template parsing error: template: :1:2: executing "" at <${path}>: map has no entry for key "${part}"`, 1);
    }
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

function evaluate(scope: Scope, expr: string): unknown {
  let m: RegExpMatchArray | null;
  if ((m = expr.match(/^json\s+(\S+)$/))) return JSON.stringify(lookup(scope, m[1]));
  if ((m = expr.match(/^index\s+(\S+)\s+"([^"]*)"$/))) return (lookup(scope, m[1]) as Record<string, unknown> | null)?.[m[2]];
  if (/^(\$\w*)?[.\w]*$/.test(expr) && (expr.startsWith('.') || expr.startsWith('$'))) return lookup(scope, expr);
  throw parseError(`function "${expr.split(/\s+/)[0]}" not defined`);
}

function execute(nodes: Node[], scope: Scope): string {
  let out = '';
  for (const n of nodes) {
    if (n.kind === 'text') out += n.text;
    else if (n.kind === 'action') {
      out += goValue(evaluate(scope, n.expr));
    } else {
      const over = evaluate(scope, n.expr);
      if (over === null || over === undefined) continue;
      if (typeof over !== 'object') throw new DockerError(`template parsing error: template: :1:2: executing "" at <${n.expr}>: range can't iterate over ${goValue(over)}`, 1);
      const items: [unknown, unknown][] = Array.isArray(over) ? over.map((v, i) => [i, v]) : sortedEntries(over as Record<string, unknown>);
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

export function renderTemplate(template: string, obj: unknown): string {
  return execute(parse(template), { dot: obj, vars: { $: obj } });
}
