/** emu's own records, without root: the state-file check `cnmlab clean` relies on, and how a run writes its record. */
import * as fs from 'fs';
import * as os from 'os';
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

describe("a run's record on disk", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cnmlab-state-'));
  let state: typeof import('../emu/state');
  beforeAll(() => {
    // STATE_DIR is read once, as the module loads.
    process.env.CNMLAB_STATE_DIR = dir;
    jest.isolateModules(() => {
      state = require('../emu/state') as typeof import('../emu/state');
    });
  });
  afterAll(() => {
    delete process.env.CNMLAB_STATE_DIR;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('a small record is written over in place (the same file, no rename per save), padded so that a shorter one still parses', () => {
    const record = new state.RunRecord('cnm0a1b2c', 's', false);
    const inode = fs.statSync(record.file).ino;
    record.addNamespaces(['cnm0a1b2c.r0', 'cnm0a1b2c.r1']);
    record.addPid(4242);
    const longest = fs.statSync(record.file).size;
    record.forgetPid(4242);
    record.forgetNamespaces(['cnm0a1b2c.r1']);
    expect(fs.statSync(record.file).ino).toBe(inode);
    expect(fs.statSync(record.file).size).toBe(longest);
    expect(JSON.parse(fs.readFileSync(record.file, 'utf8'))).toEqual(record.state);
    expect(state.readStates()).toEqual([{ file: record.file, state: record.state }]);
    record.remove();
    expect(fs.existsSync(record.file)).toBe(false);
  });

  test('a record larger than a page goes to a new file renamed over the old, whole', () => {
    const record = new state.RunRecord('cnm0a1b2d', 's', false);
    const inode = fs.statSync(record.file).ino;
    record.addNamespaces(Array.from({ length: 200 }, (_, i) => `cnm0a1b2d.r${i}`));
    expect(fs.statSync(record.file).size).toBeGreaterThan(4096);
    expect(fs.statSync(record.file).ino).not.toBe(inode);
    expect(state.readStates().find((s) => s.file === record.file)).toEqual({ file: record.file, state: record.state });
    record.remove();
  });
});
