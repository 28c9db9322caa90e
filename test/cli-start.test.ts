/** The CLI's start: the bundle runs from V8's code cache kept beside it, made anew when stale. */
import * as fs from 'fs';
import * as path from 'path';
import { spawnSync } from 'child_process';
import { REPO } from './helpers/env';

const cache = path.join(REPO, 'dist', 'cnmlab.js.cache');
const cli = (...args: string[]) => spawnSync(process.execPath, [path.join(REPO, 'bin', 'cnmlab.js'), ...args], { encoding: 'utf8', cwd: REPO });

test('a run leaves the code cache; a stale or broken one is replaced and the run is unharmed', () => {
  fs.rmSync(cache, { force: true });
  const first = cli('run', 'scenarios/overlay-standalone.yaml');
  expect(first.status).toBe(0);
  const made = fs.readFileSync(cache);
  expect(made.length).toBeGreaterThan(100_000);

  const again = cli('run', 'scenarios/overlay-standalone.yaml');
  expect(again.stdout).toBe(first.stdout);
  // Accepted, so left as it was.
  expect(fs.readFileSync(cache).equals(made)).toBe(true);

  fs.writeFileSync(cache, 'not a code cache');
  const broken = cli('run', 'scenarios/overlay-standalone.yaml');
  expect(broken.status).toBe(0);
  expect(broken.stdout).toBe(first.stdout);
  expect(fs.readFileSync(cache).length).toBeGreaterThan(100_000);
});
