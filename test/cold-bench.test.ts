/** The cold bench (`npm run bench -- cold`): a case that fails is a row saying why, and the bench goes on. */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { measureCold, selectColdCases } from './bench/cold.bench';
import { REPO } from './helpers/env';

const hasTools = fs.existsSync('/usr/bin/time') && fs.existsSync('/usr/bin/timeout');

/** A checkout whose cnmlab dies as Node does when its heap runs out: the fatal line, then SIGABRT. */
function outOfMemoryCheckout(dir: string): string {
  const checkout = path.join(dir, 'oom');
  fs.mkdirSync(path.join(checkout, 'bin'), { recursive: true });
  fs.writeFileSync(path.join(checkout, 'bin', 'cnmlab.js'), [
    "const held = [];",
    "for (let i = 0; i < 64; i++) held.push(Buffer.alloc(1024 * 1024, 1));",
    "process.stderr.write('\\n<--- Last few GCs --->\\nFATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory\\n 1: 0xb8d0a3 node::Abort() [node]\\n');",
    'process.abort();',
  ].join('\n'));
  return checkout;
}

(hasTools ? test : test.skip)('a failed case is reported with its reason and peak RSS, and the next case is still measured', () => {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'cnmlab-cold-bench-'));
  try {
    const oom = outOfMemoryCheckout(scratch);
    const big = { name: 'big swarm', args: ['run', 'swarm.yaml'], runs: 3, goal: '<= 3', memory: '<= 1024' };
    const first = measureCold([big], { repo: oom, scratch });
    const row = first.results[0];
    expect(row.failed).toMatch(/^signal SIGABRT: FATAL ERROR: Reached heap limit/);
    // The heap it had reached is printed beside the failure, as for a run that finished.
    expect(row.unit).toMatch(/^failed: signal SIGABRT: FATAL ERROR: Reached heap limit .* after \d+\.\d\d s CPU, peak RSS \d+ MiB$/);
    expect(Number(row.unit.match(/peak RSS (\d+) MiB/)![1])).toBeGreaterThanOrEqual(64);
    // Run once only: a run that ran out of memory takes minutes.
    expect(first.measured.get('big swarm')!.ours.samples).toHaveLength(0);

    // A refused input (exit 2) is a failed row with cnmlab's one line; the case after it runs.
    const missing = { name: 'missing scenario', args: ['run', path.join(scratch, 'absent.yaml')], runs: 2 };
    const version = { name: 'version', args: ['--version'], runs: 2, memory: '<= 1024' };
    const { results } = measureCold([missing, version], { repo: REPO, scratch });
    expect(results[0].failed).toMatch(/^exit 2: cnmlab: .*absent\.yaml/);
    expect(results[1].failed).toBeUndefined();
    expect(results[1].unit).toMatch(/^s CPU \(cpu .*n=2, peak RSS \d+ MiB\)$/);
    expect(results[2]).toMatchObject({ name: 'version: peak RSS', unit: 'MiB' });
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
});

test('CNMLAB_BENCH_COLD chooses the cases whose name holds a word, and names a word that chooses none', () => {
  const cases = [{ name: 'cold: seed lab + flood `ping -f -q -c 1`, sim', args: [], runs: 1 }, { name: 'cold: `cnmlab run` of the seed lab, sim', args: [], runs: 1 }];
  expect(selectColdCases(cases, undefined)).toEqual({ cases, unmatched: [] });
  expect(selectColdCases(cases, 'flood')).toEqual({ cases: [cases[0]], unmatched: [] });
  expect(selectColdCases(cases, 'flood,seed lab')).toEqual({ cases, unmatched: [] });
  expect(selectColdCases(cases, 'flood,swarm')).toEqual({ cases: [cases[0]], unmatched: ['swarm'] });
});
