/**
 * A reader for the plainest YAML a scenario is written in: block mappings and sequences
 * indented by spaces, `key: value` with plain, single- or double-quoted scalars (a quoted one
 * on one line), flow mappings of those on one line (`{ exit: 0, path: overlay }`), comments, and a folded paragraph
 * (`description: >-` over lines of one indent, as every lab's description is). That is what
 * a generated scenario of thousands of steps holds, and the yaml library's lexer, parser and
 * composer cost a cold process most of a second on one, and a lab's run a tenth of its start.
 * Anything else it meets (other block scalars, anchors, tags, flow sequences, a quoted key,
 * a plain value on more than one line, a duplicate key, a scalar that is not plainly a string
 * or an integer) it leaves to the library, by answering undefined: where it answers, its
 * value is what the library's toJS() gives.
 */

/** The value of the document, and the line (1-based) each mapping that is a sequence item began on. */
export interface PlainDocument {
  value: Record<string, unknown>;
  itemLine: WeakMap<object, number>;
}

interface Line {
  indent: number;
  content: string;
  /** 1-based. */
  number: number;
  /** The line as written: a block scalar's text keeps what `content` trims. */
  text: string;
  /** Whether a comment line comes right before it (after any blank lines): inside a block scalar, it would be text. */
  afterComment: boolean;
}

/** Not plain YAML: the caller reads the text with the full parser. */
class NotPlain extends Error {}

const KEY_RE = /^([A-Za-z_][A-Za-z0-9_.-]*):(?=\s|$)/;
const INT_RE = /^[0-9]+$/;
const DECIMAL_RE = /^[0-9]+\.[0-9]+$/;
/** What else the core schema (YAML 1.2) takes for a number: left to the library. */
const OTHER_NUMBER_RE = /^(?:0x[0-9a-fA-F]+|0o[0-7]+|[0-9]+(?:\.[0-9]*)?(?:[eE][-+]?[0-9]+)?)$/;
/** The core schema's null and booleans. */
const KEYWORDS = new Map<string, null | boolean>([['~', null], ['null', null], ['Null', null], ['NULL', null], ['true', true], ['True', true], ['TRUE', true], ['false', false], ['False', false], ['FALSE', false]]);
/** Characters that begin something other than a plain scalar, or a plain scalar the core schema may take for a number. */
const NOT_PLAIN_START = /^[-?:,[\]{}#&*!|>'"%@`+.]/;

/**
 * White space YAML does not count as an indent or a separator, or counts otherwise than the
 * reader's trims (JS trims strip every Unicode space, YAML only spaces and, in places, tabs),
 * and a byte order mark (U+FEFF, which \s holds): a text holding any is the library's.
 */
const OTHER_WHITE_SPACE = /[^\S \n]/;

export function readPlainYaml(text: string): PlainDocument | undefined {
  if (OTHER_WHITE_SPACE.test(text)) return undefined;
  const lines: Line[] = [];
  const raw = text.split('\n');
  let afterComment = false;
  for (let i = 0; i < raw.length; i++) {
    const l = raw[i];
    const content = l.trimStart();
    if (content === '') continue;
    if (content.startsWith('#')) {
      afterComment = true;
      continue;
    }
    // Directives and document markers.
    if (/^(%|---|\.\.\.)/.test(l)) return undefined;
    lines.push({ indent: l.length - content.length, content: content.trimEnd(), number: i + 1, text: l, afterComment });
    afterComment = false;
  }
  if (!lines.length || lines[0].indent !== 0) return undefined;
  const itemLine = new WeakMap<object, number>();
  try {
    const [value, next] = block(lines, 0, 0, itemLine);
    if (next !== lines.length || value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
    return { value: value as Record<string, unknown>, itemLine };
  } catch (e) {
    if (e instanceof NotPlain) return undefined;
    throw e;
  }
}

const isItem = (content: string) => content === '-' || content.startsWith('- ');

/** The block node whose first line is lines[at], at `indent`: a sequence or a mapping. */
function block(lines: Line[], at: number, indent: number, itemLine: WeakMap<object, number>): [unknown, number] {
  return isItem(lines[at].content) ? sequence(lines, at, indent, itemLine) : mapping(lines, at, indent, lines[at].content, itemLine);
}

function sequence(lines: Line[], at: number, indent: number, itemLine: WeakMap<object, number>): [unknown[], number] {
  const items: unknown[] = [];
  let i = at;
  while (i < lines.length && lines[i].indent === indent && isItem(lines[i].content)) {
    const after = lines[i].content.slice(1);
    const rest = after.trimStart();
    if (rest === '' || rest.startsWith('#')) throw new NotPlain();
    if (KEY_RE.test(rest)) {
      // `- key: value` opens a mapping at the column of its key, continued by the lines below at that column.
      const [map, next] = mapping(lines, i, indent + 1 + (after.length - rest.length), rest, itemLine);
      itemLine.set(map, lines[i].number);
      items.push(map);
      i = next;
    } else {
      items.push(inline(rest));
      i++;
    }
  }
  if (i < lines.length && lines[i].indent > indent) throw new NotPlain();
  return [items, i];
}

/** A block mapping at `indent`; its first line's content is `first` (a sequence item's, past its dash). */
function mapping(lines: Line[], at: number, indent: number, first: string, itemLine: WeakMap<object, number>): [Record<string, unknown>, number] {
  const map: Record<string, unknown> = {};
  let i = at;
  let content = first;
  for (;;) {
    const m = KEY_RE.exec(content);
    if (!m) throw new NotPlain();
    const key = m[1];
    if (key in map || KEYWORDS.has(key) || key === '__proto__') throw new NotPlain();
    const rest = content.slice(m[0].length).trim();
    i++;
    if (rest === '' || rest.startsWith('#')) {
      // A nested block: more indented, or a sequence at the key's own indent.
      const next = lines[i];
      if (next && (next.indent > indent || (next.indent === indent && isItem(next.content)))) {
        const [value, after] = block(lines, i, next.indent, itemLine);
        map[key] = value;
        i = after;
      } else map[key] = null;
    } else if (rest === '>-') {
      const [value, after] = foldedParagraph(lines, i, indent);
      map[key] = value;
      i = after;
    } else map[key] = inline(rest);
    const next = lines[i];
    if (!next || next.indent < indent) break;
    if (next.indent > indent || isItem(next.content)) throw new NotPlain();
    content = next.content;
  }
  return [map, i];
}

/**
 * A folded block scalar with its final line break stripped (`>-`), whose text starts on
 * lines[at], the line after the key's: one paragraph, its lines at one indent deeper than
 * the key's `indent`, joined by spaces. A blank line, a deeper line (both keep line breaks),
 * a line that reads as a comment, trailing white space (all text there) are left to the library.
 */
function foldedParagraph(lines: Line[], at: number, indent: number): [string, number] {
  const first = lines[at];
  if (!first || first.indent <= indent || first.number !== lines[at - 1].number + 1 || first.afterComment) throw new NotPlain();
  const words: string[] = [];
  let i = at;
  for (; i < lines.length && lines[i].indent > indent; i++) {
    const l = lines[i];
    if (l.indent !== first.indent || (i > at && l.number !== lines[i - 1].number + 1) || l.text.length !== l.indent + l.content.length) throw new NotPlain();
    words.push(l.content);
  }
  if (lines[i]?.afterComment) throw new NotPlain();
  return [words.join(' '), i];
}

/** A value on the rest of its line: a flow mapping or a scalar, with any comment cut. */
function inline(text: string): unknown {
  if (text.startsWith('{')) return flowMapping(text);
  return scalar(text, false);
}

function flowMapping(text: string): Record<string, unknown> {
  const map: Record<string, unknown> = {};
  let i = 1;
  const skipSpaces = () => {
    while (text[i] === ' ') i++;
  };
  skipSpaces();
  if (text[i] === '}') {
    i++;
  } else {
    for (;;) {
      const m = KEY_RE.exec(text.slice(i));
      if (!m) throw new NotPlain();
      const key = m[1];
      if (key in map || KEYWORDS.has(key) || key === '__proto__') throw new NotPlain();
      i += m[0].length;
      skipSpaces();
      let end = i;
      if (text[i] === "'" || text[i] === '"') {
        const quoted = text.slice(i);
        end = i + (quoted[0] === "'" ? closingQuote(quoted) : closingDoubleQuote(quoted)) + 1;
      } else {
        while (end < text.length && !',}'.includes(text[end])) end++;
      }
      map[key] = scalar(text.slice(i, end).trim(), true);
      i = end;
      skipSpaces();
      if (text[i] === ',') {
        i++;
        skipSpaces();
        continue;
      }
      if (text[i] === '}') {
        i++;
        break;
      }
      throw new NotPlain();
    }
  }
  const rest = text.slice(i).trim();
  if (rest !== '' && !rest.startsWith('#')) throw new NotPlain();
  return map;
}

/** A plain or quoted scalar as the core schema reads it; `inFlow` inside a flow mapping. */
function scalar(text: string, inFlow: boolean): unknown {
  if (text.startsWith("'") || text.startsWith('"')) {
    const single = text.startsWith("'");
    const close = single ? closingQuote(text) : closingDoubleQuote(text);
    const after = text.slice(close + 1).trim();
    if (after !== '' && !(after.startsWith('#') && /\s/.test(text[close + 1] ?? ''))) throw new NotPlain();
    return single ? text.slice(1, close).replace(/''/g, "'") : unescapeDoubleQuoted(text.slice(1, close));
  }
  // Inside braces a # would comment out the closing one.
  if (inFlow && text.includes('#')) throw new NotPlain();
  // A comment begins at a # after a space.
  const hash = text.search(/\s#/);
  const value = (hash < 0 ? text : text.slice(0, hash)).trimEnd();
  if (value === '') throw new NotPlain();
  if (INT_RE.test(value) || DECIMAL_RE.test(value)) {
    const n = Number(value);
    if (!Number.isSafeInteger(n) && INT_RE.test(value)) throw new NotPlain();
    return n;
  }
  if (KEYWORDS.has(value)) return KEYWORDS.get(value);
  if (OTHER_NUMBER_RE.test(value) || NOT_PLAIN_START.test(value) || value.includes(': ') || value.endsWith(':')) throw new NotPlain();
  if (inFlow && /[,[\]{}]/.test(value)) throw new NotPlain();
  return value;
}

/** Where a single-quoted scalar that opens `text` closes ('' is a quote inside it). */
function closingQuote(text: string): number {
  let i = 1;
  for (;;) {
    const q = text.indexOf("'", i);
    if (q < 0) throw new NotPlain();
    if (text[q + 1] === "'") i = q + 2;
    else return q;
  }
}

/** Where a double-quoted scalar that opens `text` closes (a backslash escapes the character after it). */
function closingDoubleQuote(text: string): number {
  for (let i = 1; i < text.length; i++) {
    if (text[i] === '\\') i++;
    else if (text[i] === '"') return i;
  }
  throw new NotPlain();
}

/** YAML 1.2's escapes of one character in a double-quoted scalar (its section 5.7), and what each stands for. */
const ESCAPES: Record<string, string> = {
  '0': '\0', a: '\x07', b: '\b', t: '\t', n: '\n', v: '\v', f: '\f', r: '\r', e: '\x1b', ' ': ' ', '"': '"', '/': '/', '\\': '\\', N: '\x85', _: '\xa0', L: '\u2028', P: '\u2029',
};
/** The escapes by code point, and their number of hex digits. */
const HEX_ESCAPE_DIGITS: Record<string, number> = { x: 2, u: 4, U: 8 };

/**
 * The text of a double-quoted scalar on one line, its escapes read. An escape YAML does not
 * have (the library reports it) or one that names no character, or half of one (a surrogate),
 * is left to the library.
 */
function unescapeDoubleQuoted(body: string): string {
  if (!body.includes('\\')) return body;
  let out = '';
  for (let i = 0; i < body.length; i++) {
    if (body[i] !== '\\') {
      out += body[i];
      continue;
    }
    const e = body[++i];
    if (Object.hasOwn(ESCAPES, e)) {
      out += ESCAPES[e];
      continue;
    }
    const digits = Object.hasOwn(HEX_ESCAPE_DIGITS, e) ? HEX_ESCAPE_DIGITS[e] : 0;
    const hex = body.slice(i + 1, i + 1 + digits);
    if (!digits || !new RegExp(`^[0-9a-fA-F]{${digits}}$`).test(hex)) throw new NotPlain();
    const code = parseInt(hex, 16);
    if (code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) throw new NotPlain();
    out += String.fromCodePoint(code);
    i += digits;
  }
  return out;
}
