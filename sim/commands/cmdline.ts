/**
 * A step's command line as cnmlab reads it: words as sh splits them (quotes, backslashes, no
 * expansion), joined into pipelines by `|` and into a list by `;`. That is the whole
 * grammar. Anything else sh would interpret (redirections, `&`, `&&`, `||`, `$…`, backquotes,
 * subshells, globs) is named, so the line is refused as not modelled instead of being read
 * as plain words. No shell ever sees a step.
 */
import { readQuoted } from '../text/words';

/** Commands joined by `|`: each stage's stdout feeds the next. */
export type Pipeline = string[][];

export type CommandLine =
  | { ok: true; list: Pipeline[] }
  | { ok: false; kind: 'syntax'; message: string }
  | { ok: false; kind: 'unsupported'; construct: string };

/** A placeholder such as `<token>` or `<...>` (scenarios use it for swarm join's token) is one word, not a redirection. */
const PLACEHOLDER = /^<[^<>\s|;&]*>/;

export function parseCommandLine(line: string): CommandLine {
  const list: Pipeline[] = [];
  let pipeline: Pipeline = [];
  let words: string[] = [];
  let cur = '';
  let inWord = false;
  const endWord = () => {
    if (inWord) words.push(cur);
    cur = '';
    inWord = false;
  };
  const endCommand = (op: string): string | undefined => {
    endWord();
    if (words.length === 0) return `syntax error near unexpected token \`${op}'`;
    pipeline.push(words);
    words = [];
    return undefined;
  };
  const unsupported = (construct: string): CommandLine => ({ ok: false, kind: 'unsupported', construct });
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    const next = line[i + 1];
    if (ch === "'" || ch === '"') {
      const part = readQuoted(line, i);
      if ('error' in part) return { ok: false, kind: 'syntax', message: part.error };
      if (part.expansion) return unsupported(part.expansion === '$' ? '$ expansion' : 'command substitution');
      cur += part.text;
      i = part.end;
      inWord = true;
    } else if (ch === '\\' && i + 1 < line.length) {
      cur += line[++i];
      inWord = true;
    } else if (/\s/.test(ch)) {
      endWord();
    } else if (ch === '|') {
      if (next === '|') return unsupported('||');
      const e = endCommand('|');
      if (e) return { ok: false, kind: 'syntax', message: e };
    } else if (ch === ';') {
      const e = endCommand(';');
      if (e) return { ok: false, kind: 'syntax', message: e };
      list.push(pipeline);
      pipeline = [];
    } else if (ch === '<' && !inWord && PLACEHOLDER.test(line.slice(i))) {
      const m = PLACEHOLDER.exec(line.slice(i))!;
      cur += m[0];
      i += m[0].length - 1;
      inWord = true;
    } else if (ch === '&') {
      return unsupported(next === '&' ? '&&' : '&');
    } else if (ch === '<' || ch === '>') {
      return unsupported('redirection');
    } else if (ch === '$' || ch === '`') {
      return unsupported(ch === '$' ? '$ expansion' : 'command substitution');
    } else if (ch === '(' || ch === ')') {
      return unsupported('subshell');
    } else if (ch === '*' || ch === '?') {
      return unsupported('glob');
    } else if (ch === '#' && !inWord) {
      return unsupported('comment');
    } else {
      cur += ch;
      inWord = true;
    }
  }
  endWord();
  if (words.length) pipeline.push(words);
  else if (pipeline.length) return { ok: false, kind: 'syntax', message: 'syntax error: unexpected end of file' };
  if (pipeline.length) list.push(pipeline);
  return { ok: true, list };
}
