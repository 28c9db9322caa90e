/**
 * `docker network ls --format`, as docker/cli v20.10.24 renders it
 * (cli/command/network/formatter.go, list.go; cli/command/formatter/formatter.go): the
 * template runs on each network's networkContext, whose fields are string methods (ID
 * truncated unless --no-trunc, Name, Driver, Scope, IPv6, Internal, Labels, CreatedAt); a
 * format starting with `table` writes a header row from the same template, and both go
 * through Go's tabwriter (minwidth 10, padding 3); `\t` and `\n` typed in the format are
 * the characters. `table` and `raw` alone are the CLI's own formats. Only field actions
 * (`{{.Name}}`, `{{json .Name}}`, `{{json .}}`) are modelled; any other action (range, if,
 * functions, `.Label "key"`) says so instead of guessing Go's output.
 */
import { NotModelled } from '../model/refusal';
import { tabwriter } from '../text/tabwriter';

/** A network as networkContext reads it. */
export interface NetworkRow {
  id: string;
  name: string;
  driver: string;
  scope: string;
  internal: boolean;
  labels: Record<string, string>;
  /** types.NetworkResource's Created, RFC 3339 with nanoseconds in UTC (`…Z`). */
  created: string;
}

type Field = 'ID' | 'Name' | 'Driver' | 'Scope' | 'IPv6' | 'Internal' | 'Labels' | 'CreatedAt';

/** networkContext's header names (FormatWrite's SubHeaderContext). */
const HEADERS: Record<Field, string> = {
  ID: 'NETWORK ID', Name: 'NAME', Driver: 'DRIVER', Scope: 'SCOPE', IPv6: 'IPV6', Internal: 'INTERNAL', Labels: 'LABELS', CreatedAt: 'CREATED AT',
};

const DEFAULT_TABLE = 'table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}';
const RAW = 'network_id: {{.ID}}\\nname: {{.Name}}\\ndriver: {{.Driver}}\\nscope: {{.Scope}}\\n';

/** Go's time.Time.String() of a UTC time: `2006-01-02 15:04:05.999999999 +0000 UTC`. */
function goTimeString(rfc3339: string): string {
  const m = /^(\d{4}-\d\d-\d\d)T(\d\d:\d\d:\d\d)(\.\d+)?Z$/.exec(rfc3339);
  if (!m) throw new Error(`not an RFC 3339 UTC time: ${rfc3339}`);
  return `${m[1]} ${m[2]}${m[3] ?? ''} +0000 UTC`;
}

function fieldValue(row: NetworkRow, field: Field, trunc: boolean): string {
  switch (field) {
    case 'ID': return trunc ? row.id.slice(0, 12) : row.id;
    case 'Name': return row.name;
    case 'Driver': return row.driver;
    case 'Scope': return row.scope;
    case 'IPv6': return 'false';
    case 'Internal': return String(row.internal);
    // Go ranges over the labels map in a random order; one order of them is printed.
    case 'Labels': return Object.entries(row.labels).map(([k, v]) => `${k}=${v}`).join(',');
    case 'CreatedAt': return goTimeString(row.created);
  }
}

/**
 * encoding/json's encoding of a string as the Go docker/cli v20.10 was built with writes it:
 * `"`, `\\`, `\n`, `\r` and `\t` escaped by name, every other control character as \u00XX
 * (Go before 1.22 has no \b or \f), U+2028 and U+2029 always escaped, and `<`, `>` and `&` only
 * when the encoder escapes HTML, as json.Marshal does and the CLI's template function `json`
 * (an Encoder with SetEscapeHTML(false)) does not. A lone surrogate, invalid UTF-8 to Go, is U+FFFD.
 */
function goJsonString(s: string, escapeHtml: boolean): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '"' || ch === '\\') out += `\\${ch}`;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (c < 0x20 || c === 0x2028 || c === 0x2029 || (escapeHtml && (ch === '<' || ch === '>' || ch === '&'))) out += `\\u${c.toString(16).padStart(4, '0')}`;
    else if (c >= 0xd800 && c <= 0xdfff) out += '\\ufffd';
    else out += ch;
  }
  return out + '"';
}

type Piece = { text: string } | { field: Field; json: boolean } | { whole: true };

function parse(format: string): Piece[] {
  const pieces: Piece[] = [];
  let last = 0;
  for (const m of format.matchAll(/\{\{(.*?)\}\}/gs)) {
    if (m.index! > last) pieces.push({ text: format.slice(last, m.index) });
    last = m.index! + m[0].length;
    const action = m[1].trim();
    const field = /^(json\s+)?\.(\w+)$/.exec(action);
    if (field && field[2] in HEADERS) pieces.push({ field: field[2] as Field, json: !!field[1] });
    else if (/^json\s+\.$/.test(action)) pieces.push({ whole: true });
    else throw new NotModelled(`docker network ls --format: {{${m[1]}}} (the fields ${Object.keys(HEADERS).map((f) => `.${f}`).join(' ')}, alone or under json, are)`);
  }
  if (format.slice(last).includes('{{')) throw new NotModelled('docker network ls --format: an unclosed action');
  if (last < format.length) pieces.push({ text: format.slice(last) });
  return pieces;
}

/** One network's line; or the header's (`header`): HeaderFunctions' json gives a header name as it is, and fails on the header map itself, which ends the header there (its error unreported). */
function render(pieces: Piece[], value: (f: Field) => string, header = false): string {
  let out = '';
  for (const p of pieces) {
    if ('text' in p) out += p.text;
    else if ('whole' in p) {
      if (header) break;
      // formatter.MarshalJSON: every field method, as a map (keys in byte order), through
      // json.Marshal, which escapes HTML; the template's encoder then copies it as it is.
      const fields = (Object.keys(HEADERS) as Field[]).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      out += `{${fields.map((f) => `${goJsonString(f, true)}:${goJsonString(value(f), true)}`).join(',')}}`;
    } else out += p.json && !header ? goJsonString(value(p.field), false) : value(p.field);
  }
  return out;
}

/** The output of `docker network ls --format FORMAT` for `rows`, already in the CLI's order (by name). */
export function networkLsFormatted(rows: NetworkRow[], format: string, opts: { quiet: boolean; noTrunc: boolean }): string {
  // NewFormat: the CLI's own names for its formats.
  let source = format === 'table' ? (opts.quiet ? '{{.ID}}' : DEFAULT_TABLE) : format === 'raw' ? (opts.quiet ? 'network_id: {{.ID}}' : RAW) : format;
  const table = source.startsWith('table');
  // preFormat: the table prefix off, spaces trimmed, \t and \n typed as such made the characters.
  if (table) source = source.slice('table'.length);
  source = source.replace(/^ +| +$/g, '').replace(/\\t/g, '\t').replace(/\\n/g, '\n');
  const pieces = parse(source);
  const body = rows.map((row) => render(pieces, (f) => fieldValue(row, f, !opts.noTrunc)) + '\n').join('');
  if (!table) return body;
  return tabwriter(render(pieces, (f) => HEADERS[f], true) + '\n' + body);
}
