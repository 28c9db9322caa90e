/** C's printf conversions that programs' texts use and JavaScript lacks. */

/** `%.Pg`: P significant digits, trailing zeros dropped, exponent form outside 1e-4 … 10^P. */
export function printfG(x: number, precision = 6): string {
  if (x === 0) return '0';
  const p = Math.max(precision, 1);
  const [mantissa, exp] = x.toExponential(p - 1).split('e');
  const e = Number(exp);
  const trim = (s: string) => (s.includes('.') ? s.replace(/0+$/, '').replace(/\.$/, '') : s);
  if (e < -4 || e >= p) return `${trim(mantissa)}e${e < 0 ? '-' : '+'}${String(Math.abs(e)).padStart(2, '0')}`;
  return trim(x.toFixed(p - 1 - e));
}
