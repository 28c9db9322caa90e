/**
 * Go's text/tabwriter as the docker CLI and calicoctl set it up (padchar ' ', no flags), the
 * one column layout every table here goes through.
 *
 * A cell is text ended by `\t` or `\v`; the text before a line's `\n` or `\f` is its last
 * cell, which belongs to no column and is never padded. A column is sized over each block of
 * consecutive lines that have a cell in it (its widest cell plus `padding`, at least
 * `minwidth`), so a line with fewer cells ends the blocks of the columns it lacks and the
 * lines after it are sized on their own. `\f` also ends every block and is written as `\n`.
 * Widths count code points, as Go counts runes.
 */

/** The layout of `text` as Go's tabwriter (minwidth, tabwidth 1, padding, ' ', 0) writes it before Flush returns. */
export function tabwriter(text: string, minwidth = 10, padding = 3): string {
  let out = '';
  const sections = text.split('\f');
  sections.forEach((section, i) => {
    const lines = section.split('\n').map((line) => line.split(/[\t\v]/));
    out += formatColumns(lines, 0, lines.length, [], minwidth, padding);
    if (i < sections.length - 1) out += '\n';
  });
  return out;
}

/** How our own tables (cnmlab's, not a Go program's) differ from Go's layout. */
export interface OwnTable {
  /**
   * A row whose last cells are empty ends without their padding. Go pads them (docker's
   * tables keep the spaces); a table only cnmlab prints has no such trailing blanks.
   */
  trimRight?: boolean;
}

/** Go's rows as tab-ended cells, each row ended by a newline: `tabwriter` of `rows`. */
export function tabwrite(rows: string[][], minwidth = 10, padding = 3, own: OwnTable = {}): string {
  const out = tabwriter(rows.map((r) => r.join('\t') + '\n').join(''), minwidth, padding);
  return own.trimRight ? out.replace(/ +$/gm, '') : out;
}

function runeCount(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

/**
 * Lines `from`..`to` whose columns left of `widths.length` are sized: each block of lines
 * with a cell in the next column gets that column's width, then the columns right of it,
 * recursively; lines without one are written with the widths known so far.
 */
function formatColumns(lines: string[][], from: number, to: number, widths: number[], minwidth: number, padding: number): string {
  const column = widths.length;
  let out = '';
  let written = from;
  for (let line = from; line < to; line++) {
    if (column >= lines[line].length - 1) continue;
    out += writeLines(lines, written, line, widths);
    const blockStart = line;
    let width = minwidth;
    for (; line < to && column < lines[line].length - 1; line++) width = Math.max(width, runeCount(lines[line][column]) + padding);
    out += formatColumns(lines, blockStart, line, [...widths, width], minwidth, padding);
    written = line;
  }
  return out + writeLines(lines, written, to, widths);
}

/** Lines `from`..`to`, each cell in a sized column padded to its width; every line but the text's last ends with `\n`. */
function writeLines(lines: string[][], from: number, to: number, widths: number[]): string {
  let out = '';
  for (let i = from; i < to; i++) {
    lines[i].forEach((cell, j) => {
      out += cell;
      if (j < widths.length) out += ' '.repeat(widths[j] - runeCount(cell));
    });
    if (i + 1 < lines.length) out += '\n';
  }
  return out;
}
