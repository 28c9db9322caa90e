/** Runs a scenario against a backend, step by step, and checks every `expect`. */
import { Backend } from '../backend';
import { Model } from '../model/model';
import { seedFromName } from '../model/ids';
import { Scenario } from '../scenario/schema';
import { Trace, TRACE_FORMAT } from '../trace/types';
import { TopologyHistory } from '../trace/lifetimes';
import { Check, checkExpect } from './expect';
import { containerShell, hostShell } from './shell';
import { EXIT_OUTPUT_CUT, EXIT_TIMED_OUT, stepBounds } from './bounds';

export interface StepResult {
  index: number;
  on: string;
  command: string;
  exitCode: number;
  stdout: string;
  stderr: string;
  durationMs: number;
  ok: boolean;
  line: number;
  checks: Check[];
  /** Ids of the flows this step traced. */
  flows: string[];
}

export interface RunResult {
  scenario: string;
  mode: 'sim' | 'emu';
  ok: boolean;
  steps: StepResult[];
  trace: Trace;
}

/** Virtual time between scenario steps, as if typed a second apart. */
const STEP_GAP_NS = 1_000_000_000;

export function newModel(s: Scenario): Model {
  return new Model(s.hosts, s.seed ?? seedFromName(s.name));
}

export async function runScenario(s: Scenario, backend: Backend, onStep?: (r: StepResult, model: Model) => void): Promise<{ result: RunResult; model: Model }> {
  const model = newModel(s);
  await backend.apply(model.boot(), model.world);
  const hosts = new Set(s.hosts.map((h) => h.name));
  const steps: StepResult[] = [];
  const topology = new TopologyHistory();
  topology.observe(0, backend.topology(model.world));
  for (const step of s.steps) {
    model.tick(STEP_GAP_NS);
    const flowsBefore = backend.flows().length;
    const t0 = backend.elapsedNs();
    backend.setStepBounds(stepBounds(step.command, step.timeout ?? s.timeout));
    const out = hosts.has(step.on) ? await hostShell(model, backend, step.on, step.command) : await containerShell(model, backend, step.on, step.command);
    const flows = backend.flows().slice(flowsBefore);
    // Numbered from 1 as `run` numbers steps in its messages.
    for (const f of flows) f.origin = { step: step.index + 1, on: step.on, command: step.command };
    topology.observe(step.index + 1, backend.topology(model.world));
    const checks = step.expect ? checkExpect(step.expect, out, flows[0]) : [];
    // A step cnmlab had to stop is not part of the story unless the scenario says it expects that.
    const stopped = out.end === 'timed-out' ? EXIT_TIMED_OUT : out.end === 'output-cut' ? EXIT_OUTPUT_CUT : undefined;
    if (stopped !== undefined && step.expect?.exit !== stopped) {
      checks.push({ what: 'exit', expected: out.end === 'timed-out' ? 'the step to end within its timeout' : 'output within the cap', got: out.stderr.trim().split('\n').pop() ?? '', ok: false });
    }
    const r: StepResult = {
      index: step.index, on: step.on, command: step.command, exitCode: out.exitCode, stdout: out.stdout, stderr: out.stderr,
      durationMs: Math.round((backend.elapsedNs() - t0) / 1e3) / 1e3, ok: checks.every((c) => c.ok), line: step.line, checks, flows: flows.map((f) => f.id),
    };
    steps.push(r);
    onStep?.(r, model);
  }
  await backend.settle();
  const trace: Trace = { format: TRACE_FORMAT, scenario: s.name, mode: backend.mode, topology: topology.topology(), flows: backend.flows() };
  return { result: { scenario: s.name, mode: backend.mode, ok: steps.every((r) => r.ok), steps, trace }, model };
}
