/** The docker CLI's name order (sim/text/natural.ts), case by case as fvbommel/sortorder's NaturalLess decides. */
import { naturalCompare } from '../sim/text/natural';

const less = (a: string, b: string) => naturalCompare(a, b) < 0;

describe('naturalCompare', () => {
  test.each([
    ['abc2', 'abc12'],
    ['2', '02'],
    ['a2b', 'a02a'],
    ['1', 'a'],
    ['B', 'a'],
    ['net-b', 'net_b'],
    ['abc', 'abcd'],
    ['x9y', 'x10'],
    ['a\uFFFD', 'a\u{1F600}'],
  ])('%s sorts before %s', (a, b) => {
    expect(less(a, b)).toBe(true);
    expect(less(b, a)).toBe(false);
  });

  test('equal names compare equal', () => {
    expect(naturalCompare('net007', 'net007')).toBe(0);
  });
});
