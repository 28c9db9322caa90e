/**
 * The part of Go's text/template that `docker inspect --format` is used with: `{{.A.B}}`,
 * `{{json .A}}`, `{{index .A "key"}}` and literal text; values print as Go's %v does.
 */
import { DockerError } from './errors';

function goValue(v: unknown): string {
  if (v === null || v === undefined) return '<nil>';
  if (Array.isArray(v)) return `[${v.map(goValue).join(' ')}]`;
  if (typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>);
    // Docker's maps (Options, Labels, Containers) print as map[k:v]; its structs as {v1 v2}.
    const isMap = entries.some(([k]) => !/^[A-Z]/.test(k)) || entries.length === 0;
    return isMap ? `map[${entries.sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, x]) => `${k}:${goValue(x)}`).join(' ')}]` : `{${entries.map(([, x]) => goValue(x)).join(' ')}}`;
  }
  return String(v);
}

function lookup(obj: unknown, path: string, template: string): unknown {
  if (path === '.') return obj;
  let cur = obj;
  for (const part of path.slice(1).split('.')) {
    if (cur === null || typeof cur !== 'object' || !(part in (cur as object))) {
      throw new DockerError(`template parsing error: template: :1:2: executing "" at <${path}>: map has no entry for key "${part}"`, 1);
    }
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

export function renderTemplate(template: string, obj: unknown): string {
  return template.replace(/\{\{\s*(.*?)\s*\}\}/g, (_m, expr: string) => {
    let m: RegExpMatchArray | null;
    if ((m = expr.match(/^json\s+(\.[\w.]*)$/))) return JSON.stringify(lookup(obj, m[1], template));
    if ((m = expr.match(/^index\s+(\.[\w.]*)\s+"([^"]*)"$/))) return goValue((lookup(obj, m[1], template) as Record<string, unknown> | null)?.[m[2]]);
    if ((m = expr.match(/^(\.[\w.]*)$/))) return goValue(lookup(obj, m[1], template));
    throw new DockerError(`template parsing error: template: :1: function "${expr.split(/\s+/)[0]}" not defined`, 1);
  });
}
