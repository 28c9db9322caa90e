/**
 * The docker CLI's name order (`docker network ls`, `docker node ls`): fvbommel/sortorder's
 * NaturalLess. Runs of ASCII digits compare as numbers (of two equal numbers, the one with
 * fewer leading zeros first), a digit sorts before any other character, everything else
 * compares byte by byte, so upper case before lower case; a prefix sorts first. Written out
 * rather than left to `localeCompare`: ICU's collation orders letters and punctuation
 * otherwise ('a' before 'B'), and building its collator costs a short command milliseconds.
 */
export function naturalCompare(a: string, b: string): number {
  let i = 0, j = 0;
  while (i < a.length && j < b.length) {
    const ca = a.charCodeAt(i), cb = b.charCodeAt(j);
    const da = isDigit(ca), db = isDigit(cb);
    if (da !== db) return da ? -1 : 1;
    if (!da) {
      if (ca !== cb) return utf8Order(a, i, b, j);
      i++;
      j++;
      continue;
    }
    while (i < a.length && a.charCodeAt(i) === 0x30) i++;
    while (j < b.length && b.charCodeAt(j) === 0x30) j++;
    const nonZeroA = i, nonZeroB = j;
    while (i < a.length && isDigit(a.charCodeAt(i))) i++;
    while (j < b.length && isDigit(b.charCodeAt(j))) j++;
    if (i - nonZeroA !== j - nonZeroB) return i - nonZeroA - (j - nonZeroB);
    const na = a.slice(nonZeroA, i), nb = b.slice(nonZeroB, j);
    if (na !== nb) return na < nb ? -1 : 1;
    if (nonZeroA !== nonZeroB) return nonZeroA - nonZeroB;
  }
  // Both are alike so far and at the same place (every step above moves both alike): the shorter first.
  return a.length - b.length;
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/**
 * Go compares strings as UTF-8 bytes; JavaScript's `<` compares UTF-16 code units, which
 * agree except where a surrogate pair meets a character from U+E000 up. Code points agree.
 */
function utf8Order(a: string, i: number, b: string, j: number): number {
  return (a.codePointAt(i) ?? 0) - (b.codePointAt(j) ?? 0);
}

/**
 * Go's own string order (`<`, sort.Strings): UTF-8 bytes, which is code point order. Not
 * `localeCompare`, whose collation puts `_` before digits and `a` before `B`.
 */
export function byteCompare(a: string, b: string): number {
  let i = 0;
  while (i < a.length && i < b.length) {
    const ca = a.codePointAt(i)!, cb = b.codePointAt(i)!;
    if (ca !== cb) return ca - cb;
    i += ca > 0xffff ? 2 : 1;
  }
  return a.length - b.length;
}
