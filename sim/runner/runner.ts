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

export async function runScenario(s: Scenario, backend: Backend, onStep?: (r: StepResult, model: Model) => void): Promise<{ result: RunResult; model: Model }> {
  const session = await ScenarioSession.start(s, backend);
  for (const step of s.steps) {
    const r = await session.step(step.on, step.command, { expect: step.expect, line: step.line, timeout: step.timeout });
    onStep?.(r, session.model);
    if (r.unavailable) break;
  }
  await backend.settle();
  const steps = session.steps;
  const last = steps[steps.length - 1];
  const unavailable = last?.unavailable ? { step: last.index + 1, feature: last.unavailable } : undefined;
  return { result: { scenario: s.name, mode: backend.mode, ok: steps.every((r) => r.ok), steps, trace: session.trace(), ...(unavailable ? { unavailable } : {}) }, model: session.model };
}
