/**
 * emu as a user meets it (issue 19): whole `cnmlab run --mode emu` processes, node's start
 * and the teardown included. The seed lab's setup and one ping against a shell script that
 * makes the same objects with one `ip` or `bridge` process per operation (the commands
 * `cnmlab explain` prints), alternated; and the cost per container of a 50-container lab.
 * Needs root.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawnSync } from 'child_process';
import { BenchResult } from './result';
import { explainScript } from '../helpers/explain-script';

const SETUP = `hosts:
  r0: {}
  r1: {}
steps:
  - r0: docker swarm init
  - r1: docker swarm join --token <...> 198.51.100.10:2377
  - r0: docker network create --driver=overlay --attachable test-net
`;

function seedPing(): string {
  return `name: emu-seed\n${SETUP}  - r0: docker run -dit --name ubuntu0 --network test-net ubuntu:14.04
  - r1: docker run -dit --name ubuntu1 --network test-net ubuntu:14.04
  - ubuntu0: ping -c 1 10.0.1.4
    expect: { exit: 0 }
`;
}

function lab(containers: number): string {
  const runs = Array.from({ length: containers }, (_, i) => `  - ${i % 2 ? 'r1' : 'r0'}: docker run -dit --name c${i} --network test-net ubuntu:14.04\n`);
  return `name: emu-lab-${containers}\n${SETUP}${runs.join('')}`;
}

function seconds(fn: () => void): number {
  const t0 = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

function run(repo: string, file: string): number {
  return seconds(() => {
    const r = spawnSync(process.execPath, [path.join(repo, 'bin', 'cnmlab.js'), 'run', '--mode', 'emu', file], { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`cnmlab run --mode emu ${file} exited ${r.status}: ${r.stderr}`);
  });
}

/**
 * The baseline: explain's commands as a shell script, one process per operation
 * (test/helpers/explain-script.ts); then the ping from ubuntu0's namespace and the
 * namespaces deleted one by one.
 */
function shellScript(explained: string): string {
  const { lines, namespaces, names } = explainScript(explained);
  // A container's sandbox is named by 12 hex digits of its id; ubuntu0's is r0's first.
  const ubuntu0 = namespaces.find((n) => n.startsWith(`${names.prefix}.r0.`) && /\.[0-9a-f]{12}$/.test(n));
  if (!ubuntu0) throw new Error('explain made no container namespace on r0');
  return ['set -e', ...lines, `ip netns exec ${ubuntu0} ping -c 1 -W 2 10.0.1.4 >/dev/null`, ...[...namespaces].reverse().map((n) => `ip netns del ${n}`)].join('\n') + '\n';
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const range = (xs: number[], unit = 's', k = 1, digits = 3) => `${(Math.min(...xs) * k).toFixed(digits)}–${(Math.max(...xs) * k).toFixed(digits)} ${unit}`;

export async function benchEmuCold(): Promise<BenchResult[]> {
  if (process.getuid?.() !== 0) return [{ name: 'emu cold: skipped (needs root)', value: 0, unit: '' }];
  const repo = path.resolve(__dirname, '..');
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'cnmlab-bench-'));
  // The kernel frees a deleted namespace in the background, holding locks a new one needs:
  // a pause keeps one run's teardown out of the next one's timing.
  const quiet = () => spawnSync('sleep', ['1']);
  const loadBefore = os.loadavg().map((l) => l.toFixed(1)).join(' ');
  try {
    const seed = path.join(scratch, 'seed.yaml');
    fs.writeFileSync(seed, seedPing());
    const explained = spawnSync(process.execPath, [path.join(repo, 'bin', 'cnmlab.js'), 'explain', seed], { encoding: 'utf8' });
    if (explained.status !== 0) throw new Error(`cnmlab explain: ${explained.stderr}`);
    const ours: number[] = [], shell: number[] = [];
    for (let i = 0; i < 5; i++) {
      quiet();
      ours.push(run(repo, seed));
      quiet();
      const script = path.join(scratch, 'baseline.sh');
      fs.writeFileSync(script, shellScript(explained.stdout));
      shell.push(seconds(() => {
        const r = spawnSync('bash', [script], { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
        if (r.status !== 0) throw new Error(`baseline script: ${r.stderr}`);
      }));
    }
    const big = path.join(scratch, 'lab50.yaml'), empty = path.join(scratch, 'lab0.yaml');
    fs.writeFileSync(big, lab(50));
    fs.writeFileSync(empty, lab(0));
    const perContainer: number[] = [];
    for (let i = 0; i < 5; i++) {
      quiet();
      const b = run(repo, big);
      quiet();
      const e = run(repo, empty);
      perContainer.push((b - e) / 50);
    }
    const load = os.loadavg().map((l) => l.toFixed(1)).join(' ');
    return [
      { name: 'emu cold: seed setup + `ping -c 1`, whole process, median of 5', value: Number(median(ours).toFixed(3)), unit: `s (${range(ours)}; load average ${loadBefore} before, ${load} after)` },
      { name: '  one `ip`/`bridge` process per operation (shell script), alternated', value: Number(median(shell).toFixed(3)), unit: `s (${range(shell)})` },
      { name: 'emu cold: ratio of the two medians', value: Number((median(ours) / median(shell)).toFixed(2)), unit: '', goal: '<= 0.5' },
      { name: 'emu cold: 50-container lab minus the empty lab, per container, median of 5', value: Number((median(perContainer) * 1000).toFixed(1)), unit: `ms (${range(perContainer, 'ms', 1000, 1)})`, goal: '<= 5' },
    ];
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}
