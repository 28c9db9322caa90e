/**
 * What a user waits for (issue 19): `cnmlab run` in a process started afresh each time, as
 * wall time, CPU time (user + system, from /usr/bin/time) and peak resident memory.
 *
 * The figure each goal is judged by is the CPU time: on a shared machine the wall time counts
 * other processes' turns. With CNMLAB_BENCH_BASELINE=<another checkout, built>, every case is
 * measured for both, alternated run by run, and the ratio printed: on a shared machine, only
 * figures taken side by side compare.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawnSync } from 'child_process';
import { BenchResult } from './result';
import { swarmScenarioYaml } from './swarm-scenario';
import { SwarmSize } from './model.bench';

interface Sample {
  wall: number;
  cpu: number;
  rssMb: number;
}

/** A run that did not exit 0: why, and what it had used by then (a heap that ran out shows its peak). */
interface Failure extends Sample {
  reason: string;
}

const TIME = '/usr/bin/time';
const TIMEOUT = '/usr/bin/timeout';
/** Seconds one run may take before it is killed and its case reported as failed; a regression must not hang the bench. */
const RUN_LIMIT_S = Number(process.env.CNMLAB_BENCH_RUN_LIMIT ?? 600);

/** The line of a failed run's stderr that says why: Node's fatal error (a heap that ran out), cnmlab's own one-line error, or else the last line. */
function failureReason(status: number | null, signal: string | null, stderr: string, timedOut: boolean): string {
  if (timedOut) return `killed after ${RUN_LIMIT_S} s (CNMLAB_BENCH_RUN_LIMIT)`;
  const lines = stderr.split('\n').map((l) => l.trim()).filter((l) => l);
  const why = lines.find((l) => l.includes('FATAL ERROR')) ?? lines.find((l) => l.startsWith('cnmlab:')) ?? lines[lines.length - 1] ?? 'no message';
  const how = signal ? `signal ${signal}` : `exit ${status}`;
  return `${how}: ${why.length > 160 ? `${why.slice(0, 160)}…` : why}`;
}

/** `/usr/bin/time`'s last line, "user system maxrss-KiB"; absent when time itself was killed. */
function readTime(file: string): { cpu: number; rssMb: number } {
  const last = fs.existsSync(file) ? fs.readFileSync(file, 'utf8').trim().split('\n').pop()! : '';
  const [user, sys, rssKb] = last.split(' ').map(Number);
  return Number.isFinite(user) && Number.isFinite(rssKb) ? { cpu: user + sys, rssMb: rssKb / 1024 } : { cpu: NaN, rssMb: NaN };
}

/** One process: `node <checkout>/bin/cnmlab.js …args`, which should exit 0; one that does not comes back as a Failure. */
export function runOnce(checkout: string, args: string[], scratch: string): Sample | Failure {
  const out = path.join(scratch, 'time.txt');
  const err = path.join(scratch, 'stderr.txt');
  fs.rmSync(out, { force: true });
  const errFd = fs.openSync(err, 'w');
  const t0 = process.hrtime.bigint();
  // timeout(1) kills node itself (killing time(1) would leave node running); time(1) still
  // counts node, a child timeout waited for, in its CPU time and peak RSS.
  const r = spawnSync(TIME, ['-o', out, '-f', '%U %S %M', TIMEOUT, '--signal=KILL', String(RUN_LIMIT_S), process.execPath, path.join(checkout, 'bin', 'cnmlab.js'), ...args], { cwd: scratch, stdio: ['ignore', 'ignore', errFd] });
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  fs.closeSync(errFd);
  const { cpu, rssMb } = readTime(out);
  if (r.status === 0) return { wall, cpu, rssMb };
  // time(1) and timeout(1) pass a child's death by signal on as 128 + its number (a heap that
  // ran out aborts: SIGABRT); timeout's own kill is SIGKILL after the limit.
  const signal = r.status !== null && r.status > 128 ? Object.entries(os.constants.signals).find(([, n]) => n === r.status! - 128)?.[0] ?? null : null;
  const timedOut = signal === 'SIGKILL' && wall >= RUN_LIMIT_S;
  const reason = failureReason(r.status, signal, fs.readFileSync(err, 'utf8'), timedOut);
  // timeout(1) kills its whole process group, itself too: time(1) then saw timeout's usage, not node's.
  return timedOut ? { wall, cpu: NaN, rssMb: NaN, reason } : { wall, cpu, rssMb, reason };
}

const failed = (s: Sample | Failure): s is Failure => 'reason' in s;

/** `node -e 0`: what any Node process costs before cnmlab's first line. */
function nodeAlone(scratch: string): Sample {
  const out = path.join(scratch, 'time.txt');
  const t0 = process.hrtime.bigint();
  spawnSync(TIME, ['-o', out, '-f', '%U %S %M', process.execPath, '-e', '0']);
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  return { wall, ...readTime(out) };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const f = (x: number, digits = 2) => x.toFixed(digits);

function summary(samples: Sample[]): { wall: number; cpu: number; rssMb: number; text: string } {
  const wall = samples.map((s) => s.wall), cpu = samples.map((s) => s.cpu);
  const rssMb = Math.max(...samples.map((s) => s.rssMb));
  return { wall: median(wall), cpu: median(cpu), rssMb, text: `cpu ${f(Math.min(...cpu))}–${f(Math.max(...cpu))}; wall ${f(median(wall))} (${f(Math.min(...wall))}–${f(Math.max(...wall))}), n=${samples.length}` };
}

/** The machine the figures came from, and how busy it was: figures from different machines or loads do not compare. */
function machine(): string {
  const cpus = os.cpus();
  const load = os.loadavg().map((l) => l.toFixed(1)).join(' ');
  // Node reads and parses NODE_EXTRA_CA_CERTS's certificates as it starts, before any script: where
  // the environment sets it, every process (node alone too) pays for that.
  const extraCerts = `NODE_EXTRA_CA_CERTS ${process.env.NODE_EXTRA_CA_CERTS ? 'set' : 'unset'}`;
  return `${cpus.length} × ${cpus[0]?.model.trim() ?? 'unknown CPU'}, Node ${process.version}, load average ${load}, ${extraCerts}`;
}

export interface ColdCase {
  name: string;
  args: string[];
  runs: number;
  goal?: string;
  /** A goal for peak RSS in MiB; the case then prints its peak RSS beside its time. */
  memory?: string;
}

/** One checkout's runs of a case: every sample, or the first failure (a case that failed once is not run again: a run that ran out of memory takes minutes). */
interface Runs {
  samples: Sample[];
  failure?: Failure;
}

/**
 * Every case, each run alternated with the baseline's (when given). A case that fails is
 * reported as failed with its reason, and the bench goes on with the next one.
 */
export function measureCold(cases: ColdCase[], opts: { repo: string; baseline?: string; scratch: string; alone?: boolean }): { results: BenchResult[]; measured: Map<string, { ours: Runs; theirs: Runs }>; alone: Sample[] } {
  const { repo, baseline, scratch } = opts;
  const results: BenchResult[] = [];
  // Node alone, alternated with the first case: the floor under every cold figure.
  const alone: Sample[] = [];
  const measured = new Map<string, { ours: Runs; theirs: Runs }>();
  for (const c of cases) {
    const ours: Runs = { samples: [] }, theirs: Runs = { samples: [] };
    const once = (checkout: string, into: Runs) => {
      if (into.failure) return;
      const s = runOnce(checkout, c.args, scratch);
      if (failed(s)) into.failure = s;
      else into.samples.push(s);
    };
    for (let i = 0; i < c.runs; i++) {
      once(repo, ours);
      if (baseline) once(baseline, theirs);
      if (opts.alone && c === cases[0]) alone.push(nodeAlone(scratch));
      if (ours.failure && (!baseline || theirs.failure)) break;
    }
    measured.set(c.name, { ours, theirs });
    const rss = (mb: number) => (c.memory ? `, peak RSS ${Math.round(mb)} MiB` : '');
    const row = (name: string, runs: Runs, extra = ''): BenchResult => {
      if (runs.failure) {
        const at = Number.isFinite(runs.failure.cpu) ? ` after ${f(runs.failure.cpu)} s CPU${rss(runs.failure.rssMb)}` : '';
        return { name, value: NaN, unit: `failed: ${runs.failure.reason}${at}`, failed: runs.failure.reason };
      }
      const s = summary(runs.samples);
      return { name, value: Number(f(s.cpu)), unit: `s CPU (${s.text}${rss(s.rssMb)}${extra})` };
    };
    results.push({ ...row(`${c.name}, median of ${c.runs}`, ours), ...(c.goal ? { goal: c.goal } : {}) });
    if (c.memory && !ours.failure) results.push({ name: `${c.name}: peak RSS`, value: Math.round(summary(ours.samples).rssMb), unit: 'MiB', goal: c.memory });
    if (baseline) {
      const ratio = !ours.failure && !theirs.failure ? `; ratio ${f(summary(theirs.samples).cpu / summary(ours.samples).cpu, 2)}×` : '';
      results.push(row(`  baseline (${path.basename(baseline)}), alternated with it`, theirs, ratio));
    }
    if (opts.alone && c === cases[0]) results.push({ name: '  node alone (`node -e 0`), alternated with it', value: Number(f(summary(alone).cpu)), unit: `s CPU (${summary(alone).text})` });
  }
  return { results, measured, alone };
}

/**
 * CNMLAB_BENCH_COLD=word,…: only the cases whose name holds one of the words (the rows one is
 * working on); every case when unset. A word no name holds is `unmatched`: the bench refuses
 * it rather than measure nothing and print a table of no rows.
 */
export function selectColdCases(all: ColdCase[], spec: string | undefined): { cases: ColdCase[]; unmatched: string[] } {
  const words = spec?.split(',').filter((w) => w) ?? [];
  if (words.length === 0) return { cases: all, unmatched: [] };
  return { cases: all.filter((c) => words.some((w) => c.name.includes(w))), unmatched: words.filter((w) => !all.some((c) => c.name.includes(w))) };
}

export async function benchCold(): Promise<BenchResult[]> {
  if (!fs.existsSync(TIME) || !fs.existsSync(TIMEOUT)) return [{ name: `cold: skipped (needs ${TIME} and ${TIMEOUT})`, value: 0, unit: '' }];
  const repo = path.resolve(__dirname, '..');
  const baseline = process.env.CNMLAB_BENCH_BASELINE ? path.resolve(process.env.CNMLAB_BENCH_BASELINE) : undefined;
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'cnmlab-bench-'));
  try {
    const write = (name: string, text: string) => {
      fs.writeFileSync(path.join(scratch, name), text);
      return name;
    };
    const swarm = (size: SwarmSize) => write(`swarm-${size.hosts}.yaml`, swarmScenarioYaml(size));
    const flood = (count: number) => write(`flood-${count}.yaml`, floodYaml(count));
    const seed = path.join(repo, 'scenarios', 'overlay-standalone.yaml');
    const firstStep = 'cold: one host, one step (`ip link`), sim';
    const floodOne = 'cold: seed lab + flood `ping -f -q -c 1`, sim';
    const floodMany = 'cold: seed lab + flood `ping -f -q -c 100000`, sim';
    const all: ColdCase[] = [
      // First, so that node alone is measured beside it: the difference is what a run pays before and through its first step.
      { name: firstStep, args: ['run', write('first-step.yaml', FIRST_STEP_YAML)], runs: 7 },
      { name: 'cold: `cnmlab run` of the seed lab, sim', args: ['run', seed], runs: 7, goal: '<= 0.12' },
      { name: 'cold: 100 hosts, 10 overlays, 1,000 containers + one ping, sim', args: ['run', swarm({ hosts: 100, overlays: 10, containers: 1000 })], runs: 5, goal: '<= 0.4' },
      { name: 'cold: 1,000 hosts, 100 overlays, 10,000 containers + one ping, sim', args: ['run', swarm({ hosts: 1000, overlays: 100, containers: 10000 })], runs: 5, goal: '<= 3', memory: '<= 1024' },
      { name: floodOne, args: ['run', flood(1)], runs: 5 },
      { name: floodMany, args: ['run', flood(FLOOD)], runs: 5 },
    ];
    const { cases, unmatched } = selectColdCases(all, process.env.CNMLAB_BENCH_COLD);
    if (unmatched.length) {
      const why = `CNMLAB_BENCH_COLD: no case's name holds ${unmatched.map((w) => `'${w}'`).join(', ')} (the cases: ${all.map((c) => c.name).join('; ')})`;
      return [{ name: 'cold: no case chosen', value: NaN, unit: `failed: ${why}`, failed: why }];
    }
    const { results, measured, alone } = measureCold(cases, { repo, baseline, scratch, alone: true });
    results.unshift({ name: `cold: figures in CPU seconds (user + system) on ${machine()}`, value: os.cpus().length, unit: 'cores' });
    // Module loading, the bundle's compilation (or its code cache), the scenario's parse, the
    // hosts' boot and one step: everything cnmlab adds to node's own start before a user sees output.
    const first = measured.get(firstStep);
    if (first && alone.length) {
      const beyondNode = (runs: { samples: Sample[]; failure?: Failure }) => (runs.failure ? undefined : median(runs.samples.map((x) => x.cpu)) - median(alone.map((x) => x.cpu)));
      const ours = beyondNode(first.ours), theirs = baseline ? beyondNode(first.theirs) : undefined;
      const at = results.findIndex((r) => r.name.startsWith('  node alone'));
      if (ours !== undefined) {
        results.splice(at + 1, 0, { name: '  cnmlab up to its first step: the one-step run minus node alone', value: Number(f(ours)), unit: `s CPU (medians)${theirs !== undefined ? `; baseline ${f(theirs)} s` : ''}` });
      }
    }
    // The flood's own cost: the same lab with -c 100000 minus -c 1, in CPU time (wall time on
    // a shared machine counts other processes' turns).
    if (!measured.has(floodOne) || !measured.has(floodMany)) return results;
    const floodCost = (pick: 'ours' | 'theirs'): number | undefined => {
      const one = measured.get(floodOne)![pick], many = measured.get(floodMany)![pick];
      if (one.failure || many.failure) return undefined;
      return median(many.samples.map((s) => s.cpu)) - median(one.samples.map((s) => s.cpu));
    };
    const name = `cold: \`ping -f -q -c ${FLOOD}\` minus \`-c 1\`, CPU time`;
    const goal = baseline ? '>= 2× faster than the baseline' : '>= 2× the code before issue 19 (set CNMLAB_BENCH_BASELINE)';
    const ours = floodCost('ours');
    results.push(ours === undefined ? { name, value: NaN, unit: 'failed: a flood case failed (above)', failed: 'a flood case failed', goal } : { name, value: Number(f(ours)), unit: 's', goal });
    if (baseline) {
      const theirs = floodCost('theirs');
      const base = `  baseline (${path.basename(baseline)}), alternated with it`;
      results.push(theirs === undefined ? { name: base, value: NaN, unit: 'failed: a flood case failed (above)', failed: 'a flood case failed' } : { name: base, value: Number(f(theirs)), unit: `s${ours !== undefined ? ` (ratio ${f(theirs / ours, 2)}×)` : ''}` });
    }
    return results;
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

const FLOOD = 100000;

/** The smallest run: one host booted, one command that reads its kernel. */
const FIRST_STEP_YAML = `name: first-step
hosts:
  h0: {}
steps:
  - h0: ip link
    expect: { exit: 0 }
`;

/** The seed lab's two containers, then one flood from ubuntu0 to ubuntu1's address. */
function floodYaml(count: number): string {
  return `name: flood
hosts:
  r0: {}
  r1: {}
steps:
  - r0: docker swarm init
  - r1: docker swarm join --token <...> 198.51.100.10:2377
  - r0: docker network create --driver=overlay --attachable test-net
  - r0: docker run -dit --name ubuntu0 --network test-net ubuntu:14.04
  - r1: docker run -dit --name ubuntu1 --network test-net ubuntu:14.04
  - ubuntu0: ping -f -q -n -c ${count} 10.0.1.4
    expect: { exit: 0, stdout: ${count} received }
`;
}
