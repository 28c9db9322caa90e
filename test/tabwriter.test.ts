/**
 * sim/text/tabwriter.ts against Go's text/tabwriter (minwidth, tabwidth 1, padding, ' ', 0),
 * the layout every table here goes through: columns sized per block of consecutive lines.
 */
import { tabwrite, tabwriter } from '../sim/text/tabwriter';

describe('Go\'s tabwriter', () => {
  test('a column is sized over each block of consecutive lines with a cell in it, not over the whole text', () => {
    // The one-cell line ends column 0's block: the lines after it are sized on their own.
    expect(tabwriter('a\tb\nlong-name-here\tc\nx\nd\te\n')).toBe(
      `a${' '.repeat(16)}b\nlong-name-here   c\nx\nd${' '.repeat(9)}e\n`,
    );
    // A line with fewer cells ends the blocks of the columns it lacks, not the ones it has.
    expect(tabwriter('a\tb\tc\ndd\te\nf\tgggggggggggg\th\n')).toBe(
      'a         b         c\ndd        e\nf         gggggggggggg   h\n',
    );
  });

  test('a line\'s last cell is never padded; an empty last cell leaves the padding of the cell before it', () => {
    expect(tabwrite([['NAME', 'NATS'], ['x', '']])).toBe('NAME      NATS\nx         \n');
    expect(tabwriter('no newline\tat end')).toBe('no newline   at end');
  });

  test('widths count code points as Go counts runes; \\v ends a cell, \\f ends every block and is written as a newline', () => {
    expect(tabwrite([['🐳', 'x'], ['é', 'y']])).toBe(`🐳${' '.repeat(9)}x\né${' '.repeat(9)}y\n`);
    expect(tabwriter('a\vb\nlonger-than-ten\tc\fd\te\n', 5, 1)).toBe('a               b\nlonger-than-ten c\nd    e\n');
  });

  test("our own tables' layout (trimRight): a row whose last cells are empty ends without their padding, as Go's does not", () => {
    const rows = [['A', 'B', 'C'], ['long', '', ''], ['x', 'y', 'z']];
    expect(tabwrite(rows, 0, 2)).toBe('A     B  C\nlong     \nx     y  z\n');
    expect(tabwrite(rows, 0, 2, { trimRight: true })).toBe('A     B  C\nlong\nx     y  z\n');
  });
});
