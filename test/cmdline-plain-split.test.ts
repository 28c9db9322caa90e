/**
 * A line of plain words is split at its spaces at once (parseCommandLine, shellWords) rather
 * than read character by character: on seeded random lines, plain and with one or two of the
 * characters that end plainness dropped in, the split reads exactly what the full readers do.
 */
import { parseCommandLine, readCommandLine } from '../sim/commands/cmdline';
import { scannedWords, shellWords } from '../sim/text/words';
import { int, pick, seeded } from './helpers/hostile';

const PLAIN = [...'abcz019-_=/.:,@%+^~![]{}', ' ', ' ', ' ', '  '];
const SPECIAL = [...'\'"\\|;<>&$`()*?#', '\t', '\n', '\r', '\v', '\f', '\u00a0', '\u2003', '\ufeff', '||', '&&', '<token>', '$(', '\\ ', "''", '""', ' #', 'a#'];

/** Half the lines stay plain; the rest take one or two special characters anywhere. */
function randomLine(rand: () => number): { line: string; plain: boolean } {
  let line = '';
  for (let n = int(rand, 24); n > 0; n--) line += pick(rand, PLAIN);
  const specials = rand() < 0.5 ? 0 : 1 + int(rand, 2);
  for (let n = specials; n > 0; n--) {
    const at = int(rand, line.length + 1);
    line = line.slice(0, at) + pick(rand, SPECIAL) + line.slice(at);
  }
  return { line, plain: specials === 0 };
}

/** What a reader gives, or the error it throws. */
const outcome = (read: () => unknown) => {
  try {
    return { value: read() };
  } catch (e) {
    return { error: (e as Error).message };
  }
};

test('the split at spaces reads every line as the character reader does', () => {
  const rand = seeded(0x5eed);
  let plain = 0;
  for (let i = 0; i < 5000; i++) {
    const { line, plain: isPlain } = randomLine(rand);
    if (isPlain) plain++;
    expect([line, parseCommandLine(line)]).toEqual([line, readCommandLine(line)]);
    expect([line, outcome(() => shellWords(line))]).toEqual([line, outcome(() => scannedWords(line))]);
  }
  expect(plain).toBeGreaterThan(2000);
});
