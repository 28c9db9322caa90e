/** Runs a scenario against a backend, step by step, and checks every `expect`. */
import { Backend } from '../backend';
import { Model } from '../model/model';
import { Scenario } from '../scenario/schema';
import { Trace } from '../trace/types';
import { ScenarioSession, StepResult } from './session';

export { newModel } from './session';
export type { StepResult } from './session';

export interface RunResult {
  scenario: string;
  mode: 'sim' | 'emu';
  ok: boolean;
  steps: StepResult[];
  trace: Trace;
  /**
   * The step this machine's kernel could not run (1-based) and what it lacks: the run stopped
   * after it, and the steps after it were not run (emu only).
   */
  unavailable?: { step: number; feature: string };
}

/** A run's outcome without its trace: what a run whose trace nobody reads returns. */
export type RunOutcome = Omit<RunResult, 'trace'>;

/**
 * Runs every step of `s`. With `{ trace: false }` the run records no trace (its topology is
 * observed after every step, work that grows with the lab), for callers that never read it.
 */
export async function runScenario(s: Scenario, backend: Backend, onStep?: (r: StepResult, model: Model) => void): Promise<{ result: RunResult; model: Model }>;
export async function runScenario(s: Scenario, backend: Backend, onStep: ((r: StepResult, model: Model) => void) | undefined, opts: { trace: false }): Promise<{ result: RunOutcome; model: Model }>;
export async function runScenario(s: Scenario, backend: Backend, onStep?: (r: StepResult, model: Model) => void, opts: { trace?: false } = {}): Promise<{ result: RunResult | RunOutcome; model: Model }> {
  const withTrace = opts.trace !== false;
  const session = await ScenarioSession.start(s, backend, { topology: withTrace });
  for (const step of s.steps) {
    const r = await session.step(step.on, step.command, { expect: step.expect, line: step.line, timeout: step.timeout });
    onStep?.(r, session.model);
    if (r.unavailable) break;
  }
  await backend.settle();
  const steps = session.steps;
  const last = steps[steps.length - 1];
  const unavailable = last?.unavailable ? { step: last.index + 1, feature: last.unavailable } : undefined;
  const outcome: RunOutcome = { scenario: s.name, mode: backend.mode, ok: steps.every((r) => r.ok), steps, ...(unavailable ? { unavailable } : {}) };
  return { result: withTrace ? { ...outcome, trace: session.trace() } : outcome, model: session.model };
}
