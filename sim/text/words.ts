/** Command lines split into words, for the scenario loader, the shells and the docker CLI's tests. */

/** A quoted part of a word: its text, the index of its closing quote, and the first expansion
 * sh would make inside it (`$` or a backquote in double quotes), for readers that refuse them. */
export interface QuotedPart {
  text: string;
  end: number;
  expansion?: '$' | '`';
}

/**
 * Reads the quoted part that opens at line[start] (a `'` or `"`) as sh does: nothing is special
 * inside single quotes; inside double quotes a backslash escapes only `"`, `\`, `$` and a
 * backquote. An unterminated quote is an error naming which.
 */
export function readQuoted(line: string, start: number): QuotedPart | { error: string } {
  if (line[start] === "'") {
    const end = line.indexOf("'", start + 1);
    return end < 0 ? { error: 'unterminated single quote' } : { text: line.slice(start + 1, end), end };
  }
  let text = '';
  let expansion: QuotedPart['expansion'];
  let j = start + 1;
  for (; j < line.length && line[j] !== '"'; j++) {
    if ((line[j] === '$' || line[j] === '`') && !expansion) expansion = line[j] as '$' | '`';
    if (line[j] === '\\' && j + 1 < line.length && '"\\$`'.includes(line[j + 1])) j++;
    text += line[j];
  }
  return j >= line.length ? { error: 'unterminated double quote' } : { text, end: j, expansion };
}

/** Splits a command line the way sh does for simple words and quotes; no expansion. */
export function shellWords(line: string): string[] {
  const words: string[] = [];
  let cur = '';
  let inWord = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (ch === "'" || ch === '"') {
      const part = readQuoted(line, i);
      if ('error' in part) throw new Error(part.error);
      cur += part.text;
      i = part.end;
      inWord = true;
    } else if (ch === '\\' && i + 1 < line.length) {
      cur += line[++i];
      inWord = true;
    } else if (/\s/.test(ch)) {
      if (inWord) words.push(cur);
      cur = '';
      inWord = false;
    } else {
      cur += ch;
      inWord = true;
    }
  }
  if (inWord) words.push(cur);
  return words;
}
