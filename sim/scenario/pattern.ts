/** An `expect` matcher: `/re/flags` is a regular expression, anything else a substring. */
const REGEX_LITERAL = /^\/(.*)\/([gimsuy]*)$/s;

export type Pattern = { regex: RegExp } | { substring: string };

/** Throws SyntaxError for a regular expression JavaScript refuses. */
export function compilePattern(pattern: string): Pattern {
  const m = REGEX_LITERAL.exec(pattern);
  return m ? { regex: new RegExp(m[1], m[2]) } : { substring: pattern };
}
