/** `node:fs` in the browser lab (the page's build aliases it here): a page has no files to read. */
export function readFileSync(file: string): never {
  throw new Error(`${file}: no files in a browser page`);
}
