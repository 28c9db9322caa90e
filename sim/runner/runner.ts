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
}

export async function runScenario(s: Scenario, backend: Backend, onStep?: (r: StepResult, model: Model) => void): Promise<{ result: RunResult; model: Model }> {
  const session = await ScenarioSession.start(s, backend);
  for (const step of s.steps) {
    const r = await session.step(step.on, step.command, { expect: step.expect, line: step.line, timeout: step.timeout });
    onStep?.(r, session.model);
  }
  await backend.settle();
  const steps = session.steps;
  return { result: { scenario: s.name, mode: backend.mode, ok: steps.every((r) => r.ok), steps, trace: session.trace() }, model: session.model };
}
