/** emu's own records, without root: the state-file check `cnmlab clean` relies on. */
import * as path from 'path';
import { checkState, STATE_DIR } from '../emu/state';

const GOOD = { prefix: 'cnm0a1b2c', pid: 4242, startTime: 1234, startedAt: '2026-01-01T00:00:00Z', scenario: 's', keep: true, namespaces: ['cnm0a1b2c.r0', 'cnm0a1b2c.r0.1-abcdefghij'], files: ['/etc/netns/cnm0a1b2c.r0.0123456789ab'], pids: [77] };
const file = (prefix: string) => path.join(STATE_DIR, `${prefix}.json`);

describe('state files clean may act on', () => {
  test('a state written by a run passes', () => {
    expect(checkState(file('cnm0a1b2c'), GOOD)).toEqual(GOOD);
  });

  test.each([
    ['a prefix that is not its file name', { ...GOOD, prefix: 'cnm999999' }, /prefix "cnm999999" is not its file name's/],
    ['a namespace of another prefix', { ...GOOD, namespaces: ['cnm999999.r0'] }, /namespace "cnm999999.r0" is not one of run cnm0a1b2c/],
    ['a namespace that is not a name', { ...GOOD, namespaces: ['cnm0a1b2c.r0 x'] }, /is not one of run/],
    ['a file outside /etc/netns', { ...GOOD, files: ['/etc/passwd'] }, /file "\/etc\/passwd" is outside/],
    ['a file that climbs out of /etc/netns', { ...GOOD, files: ['/etc/netns/cnm0a1b2c.r0/../../passwd'] }, /is outside/],
    ['a file of another run in /etc/netns', { ...GOOD, files: ['/etc/netns/cnm999999.r0'] }, /is outside/],
    ['a relative file', { ...GOOD, files: ['cnm0a1b2c.r0'] }, /is outside/],
    ['a pid that is not one', { ...GOOD, pids: [-1] }, /pids must be/],
    ['an owner that is not a pid', { ...GOOD, pid: '1' }, /pid is not/],
    ['not an object', [GOOD], /not a JSON object/],
  ])('refused: %s', (_what, state, why) => {
    expect(checkState(file('cnm0a1b2c'), state)).toMatch(why);
  });

  test("a file in the run's own state folder is its own", () => {
    const own = path.join(STATE_DIR, 'cnm0a1b2c', 'dns', 'x.hosts');
    expect(checkState(file('cnm0a1b2c'), { ...GOOD, files: [own] })).toMatchObject({ files: [own] });
  });
});
