/** Column layout for the docker CLI's tables and the path tables. */

/** Go's text/tabwriter as the docker CLI sets it up: minwidth 10, padding 3, last column free. */
export function tabwrite(rows: string[][], minwidth = 10, padding = 3): string {
  if (rows.length === 0) return '';
  // Loops, not Math.max(...rows): spreading a long table's rows overflows the call stack.
  let cols = 0;
  for (const r of rows) cols = Math.max(cols, r.length);
  const widths: number[] = [];
  for (let c = 0; c < cols - 1; c++) {
    widths[c] = minwidth;
    for (const r of rows) widths[c] = Math.max(widths[c], (r[c] ?? '').length + padding);
  }
  return rows.map((r) => r.map((cell, c) => (c < r.length - 1 ? cell.padEnd(widths[c]) : cell)).join('').replace(/\s+$/, '')).join('\n') + '\n';
}
