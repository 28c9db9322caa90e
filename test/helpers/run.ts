import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { parseScenario } from '../../sim/scenario/load';
import { runScenario } from '../../sim/runner/runner';
import { SimBackend } from '../../sim/kernel/backend';
import { seedFromName } from '../../sim/model/ids';
import { REPO } from './env';
import type { Trace } from '../../sim/trace/types';

export async function runSim(yamlText: string, file = 'test.yaml') {
  const s = parseScenario(file, yamlText);
  const backend = new SimBackend(s.seed ?? seedFromName(s.name));
  const { result, model } = await runScenario(s, backend);
  return { s, result, model, backend };
}

export async function runLab(name: string) {
  const file = path.join(REPO, 'scenarios', `${name}.yaml`);
  return runSim(fs.readFileSync(file, 'utf8'), `scenarios/${name}.yaml`);
}

/** A step's exit code and output, as a run's result and `run --json` both give them. */
export interface StepPrint {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** A step as `run --json` gives it: what it printed, with its command and how long it took. */
export interface PrintedStep extends StepPrint {
  command: string;
  durationMs: number;
}

/**
 * Each step as tests compare what it printed: [exit code, stdout, stderr]. `stdout` reads a
 * step's stdout where it is not compared as printed (the clock's times blanked, a table cut
 * to the columns compared).
 */
export function printed<S extends StepPrint>(steps: readonly S[], stdout: (step: S) => string = (s) => s.stdout): [number, string, string][] {
  return steps.map((s) => [s.exitCode, stdout(s), s.stderr]);
}

/**
 * Runs a scenario in emu (runEmu) and expects it to print what sim does: nothing on the run's
 * own stderr, its exit status `status` when given, then its steps, as `view` reads them
 * (`printed` unless told), equal to `expected`. Returns the run for any further check.
 */
export function expectEmuPrints(fileName: string, yamlText: string, expected: unknown, { view = printed, status }: { view?: (steps: PrintedStep[]) => unknown; status?: number } = {}): ReturnType<typeof runEmu> {
  const r = runEmu(fileName, yamlText);
  expect(r.stderr).toBe('');
  if (status !== undefined) expect(r.status).toBe(status);
  expect(view(r.steps)).toEqual(expected);
  return r;
}

/**
 * Runs a scenario in emu as a user would (`cnmlab run FILE --mode emu --json`, the file
 * written under a temporary folder that also holds the run's state, removed after): the
 * process's exit status, its stderr, and the steps it printed.
 */
export function runEmu(fileName: string, yamlText: string): { status: number | null; stderr: string; steps: PrintedStep[]; trace?: Trace } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cnmlab-emu-lab-'));
  try {
    const lab = path.join(dir, fileName);
    fs.writeFileSync(lab, yamlText);
    const r = spawnSync(process.execPath, [path.join(REPO, 'bin', 'cnmlab.js'), 'run', lab, '--mode', 'emu', '--json'],
      { cwd: REPO, encoding: 'utf8', env: { ...process.env, CNMLAB_STATE_DIR: path.join(dir, 'state') }, maxBuffer: 1 << 26 });
    const printed = r.stdout ? (JSON.parse(r.stdout) as { steps: PrintedStep[]; trace?: Trace }) : undefined;
    return { status: r.status, stderr: r.stderr, steps: printed?.steps ?? [], trace: printed?.trace };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Compares with a golden file. A missing one fails, here as in CI: only `npm run
 * golden:update` (UPDATE_GOLDEN=1) writes golden files, so a new or changed one is a decision.
 */
export function expectGolden(name: string, actual: string): void {
  const file = path.join(REPO, 'test', 'golden', name);
  if (process.env.UPDATE_GOLDEN === '1') fs.writeFileSync(file, actual);
  if (!fs.existsSync(file)) throw new Error(`golden file test/golden/${name} is missing (write it with: npm run golden:update)`);
  expect(actual).toBe(fs.readFileSync(file, 'utf8'));
}

/** A scenario with two swarm nodes and a shared attachable overlay, plus extra steps; `header` opens it (its name, top-level keys). */
export function twoNodes(extra: string, header = 'name: t'): string {
  return `${header}
hosts:
  r0: {}
  r1: {}
steps:
  - r0: docker swarm init
  - r1: docker swarm join --token <...> 198.51.100.10:2377
  - r0: docker network create --driver=overlay --attachable test-net
${extra}`;
}
