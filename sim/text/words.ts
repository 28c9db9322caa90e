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

/** The words being read, and the one open now (even an empty quoted part opens one). */
export class WordList {
  private words: string[] = [];
  private cur = '';
  private open = false;

  /** Whether a word is open. */
  get inWord(): boolean {
    return this.open;
  }

  /** Adds text to the open word, opening one. */
  add(text: string): void {
    this.cur += text;
    this.open = true;
  }

  /** Ends the open word, if any. */
  end(): void {
    if (this.open) this.words.push(this.cur);
    this.cur = '';
    this.open = false;
  }

  /** Ends the open word and hands over the words read, starting a new list. */
  take(): string[] {
    this.end();
    const words = this.words;
    this.words = [];
    return words;
  }
}

/** Why a reader stopped reading a line: its own verdict, or a quote left open. */
export type WordStop<T> = { stop: T } | { error: string };

/** What a reader makes of what sh's word syntax leaves to it. */
export interface WordRules<T> {
  /**
   * An unquoted character that is not a quote, a backslash or a blank: undefined takes it
   * into the word; a number is the index of the last character the reader consumed itself
   * (an operator, a placeholder it added with `words.add`); `{ stop }` ends the reading.
   */
  other?(line: string, i: number, words: WordList): number | undefined | { stop: T };
  /** A quoted part, before its text joins the word: `{ stop }` ends the reading (a reader that refuses expansions). */
  quoted?(part: QuotedPart): { stop: T } | undefined;
}

/**
 * sh's word syntax, read in one place for every reader of command lines: a quoted part
 * (readQuoted), a backslash taking the next character as it is, blanks between words.
 * What else a character means (an operator, a placeholder, nothing) is the reader's to say
 * (`rules`); without rules every other character is part of a word. Undefined when the
 * whole line was read.
 */
export function scanWords<T>(line: string, words: WordList, rules: WordRules<T> = {}): WordStop<T> | undefined {
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (ch === "'" || ch === '"') {
      const part = readQuoted(line, i);
      if ('error' in part) return part;
      const stop = rules.quoted?.(part);
      if (stop) return stop;
      words.add(part.text);
      i = part.end;
    } else if (ch === '\\' && i + 1 < line.length) {
      words.add(line[++i]);
    } else if (/\s/.test(ch)) {
      words.end();
    } else {
      const taken = rules.other?.(line, i, words);
      if (taken === undefined) words.add(ch);
      else if (typeof taken === 'number') i = taken;
      else return taken;
    }
  }
  return undefined;
}

/**
 * What makes scanWords do more than split at spaces: a quote, a backslash, a blank other than
 * a space. cmdline.ts adds the operators its reader takes or refuses.
 */
export const QUOTING_OR_OTHER_BLANKS = /['"\\]|[^\S ]/;

/**
 * The words of a line that holds no quote, no backslash and no blank but spaces, as
 * scanWords reads them: most steps' lines are such, and are split at once rather than read
 * character by character.
 */
export function spaceSeparatedWords(line: string): string[] {
  const words: string[] = [];
  for (const word of line.split(' ')) if (word !== '') words.push(word);
  return words;
}

/**
 * Splits a command line into words the way sh does for quotes and backslashes, and nothing
 * more: `|`, `;`, `$` and the rest are ordinary characters here. Its readers (the scenario
 * loader's look for `--name`, the lab's `exit` and `ssh`, tests building argv) read one
 * command's words; what a step's whole line means, with its pipelines and the constructs it
 * refuses, is sim/commands/cmdline.ts's, which reads words with the same scanWords.
 */
export function shellWords(line: string): string[] {
  return QUOTING_OR_OTHER_BLANKS.test(line) ? scannedWords(line) : spaceSeparatedWords(line);
}

/** shellWords read character by character, whatever the line holds (what the split at spaces must agree with). */
export function scannedWords(line: string): string[] {
  const words = new WordList();
  const stopped = scanWords<never>(line, words);
  if (stopped && 'error' in stopped) throw new Error(stopped.error);
  return words.take();
}
