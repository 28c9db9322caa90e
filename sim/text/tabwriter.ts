/** Column layout for the docker CLI's tables and the path tables. */

/** Go's text/tabwriter as the docker CLI sets it up: minwidth 10, padding 3, last column free. */
export function tabwrite(rows: string[][], minwidth = 10, padding = 3): string {
  if (rows.length === 0) return '';
  const cols = Math.max(...rows.map((r) => r.length));
  const widths: number[] = [];
  for (let c = 0; c < cols - 1; c++) widths[c] = Math.max(minwidth, ...rows.map((r) => (r[c] ?? '').length + padding));
  return rows.map((r) => r.map((cell, c) => (c < r.length - 1 ? cell.padEnd(widths[c]) : cell)).join('').replace(/\s+$/, '')).join('\n') + '\n';
}
