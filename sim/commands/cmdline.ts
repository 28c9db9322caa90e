/**
 * A step's command line as cnmlab reads it: words as sh splits them (quotes, backslashes, no
 * expansion), joined into pipelines by `|` and into a list by `;`. That is the whole
 * grammar. Anything else sh would interpret (redirections, `&`, `&&`, `||`, `$…`, backquotes,
 * subshells, globs) is named, so the line is refused as not modelled instead of being read
 * as plain words. No shell ever sees a step.
 */
import { QUOTING_OR_OTHER_BLANKS, scanWords, spaceSeparatedWords, WordList } from '../text/words';

/** Commands joined by `|`: each stage's stdout feeds the next. */
export type Pipeline = string[][];

export type CommandLine =
  | { ok: true; list: Pipeline[] }
  | { ok: false; kind: 'syntax'; message: string }
  | { ok: false; kind: 'unsupported'; construct: string };

/** A placeholder such as `<token>` or `<...>` (scenarios use it for swarm join's token) is one word, not a redirection. */
const PLACEHOLDER = /^<[^<>\s|;&]*>/;

/**
 * What the reader below reads as more than words split at spaces: sh's quoting, the
 * operators and constructs it takes or refuses, and blanks other than a space.
 */
const NOT_PLAIN_WORDS = new RegExp(`${QUOTING_OR_OTHER_BLANKS.source}|[|;<>&$\`()*?#]`);

export function parseCommandLine(line: string): CommandLine {
  // A line of plain words (most steps') is one command: split at once, not read character by character.
  if (!NOT_PLAIN_WORDS.test(line)) {
    const words = spaceSeparatedWords(line);
    return { ok: true, list: words.length > 0 ? [[words]] : [] };
  }
  return readCommandLine(line);
}

/** parseCommandLine read character by character, whatever the line holds (what the split at spaces must agree with). */
export function readCommandLine(line: string): CommandLine {
  const list: Pipeline[] = [];
  let pipeline: Pipeline = [];
  const words = new WordList();
  const unsupported = (construct: string) => ({ stop: { ok: false, kind: 'unsupported', construct } as CommandLine });
  /** Ends the command before an operator; a line cannot have an empty one there. */
  const endCommand = (op: string) => {
    const command = words.take();
    if (command.length === 0) return { stop: { ok: false, kind: 'syntax', message: `syntax error near unexpected token \`${op}'` } as CommandLine };
    pipeline.push(command);
    return undefined;
  };
  const stopped = scanWords<CommandLine>(line, words, {
    quoted: (part) => (part.expansion ? unsupported(part.expansion === '$' ? '$ expansion' : 'command substitution') : undefined),
    other: (text, i, w) => {
      const ch = text[i];
      const next = text[i + 1];
      if (ch === '|') return next === '|' ? unsupported('||') : endCommand('|') ?? i;
      if (ch === ';') {
        const refused = endCommand(';');
        if (refused) return refused;
        list.push(pipeline);
        pipeline = [];
        return i;
      }
      const placeholder = ch === '<' && !w.inWord ? PLACEHOLDER.exec(text.slice(i)) : null;
      if (placeholder) {
        w.add(placeholder[0]);
        return i + placeholder[0].length - 1;
      }
      if (ch === '&') return unsupported(next === '&' ? '&&' : '&');
      if (ch === '<' || ch === '>') return unsupported('redirection');
      if (ch === '$' || ch === '`') return unsupported(ch === '$' ? '$ expansion' : 'command substitution');
      if (ch === '(' || ch === ')') return unsupported('subshell');
      if (ch === '*' || ch === '?') return unsupported('glob');
      if (ch === '#' && !w.inWord) return unsupported('comment');
      return undefined;
    },
  });
  if (stopped) return 'error' in stopped ? { ok: false, kind: 'syntax', message: stopped.error } : stopped.stop;
  const last = words.take();
  if (last.length) pipeline.push(last);
  else if (pipeline.length) return { ok: false, kind: 'syntax', message: 'syntax error: unexpected end of file' };
  if (pipeline.length) list.push(pipeline);
  return { ok: true, list };
}
