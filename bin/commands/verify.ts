import { checkOutputFile, writeOutputFile } from '../output';
import { loadScenario } from '../../sim/scenario/load';
import { runScenario, RunResult } from '../../sim/runner/runner';
import { Scenario } from '../../sim/scenario/schema';
import { InputError, KernelFeatureMissing } from '../../sim/errors';
import { makeBackend } from './run';
import { compareOutputs, compareTraces, stepsLostByChance, TraceDifference } from '../../sim/trace/compare';

export interface VerifyOptions {
  mode: 'sim' | 'emu' | 'both';
  junit?: string;
  json?: boolean;
  /**
   * With --mode both, whether to compare what each step printed too (issue 15: a program
   * that prints differently in sim and emu is a disagreement). On unless
   * `--no-compare-output` turns it off; undefined when neither flag was given.
   */
  compareOutput?: boolean;
}

interface CaseResult {
  scenario: string;
  file: string;
  name: string;
  ok: boolean;
  message?: string;
  /** Not judged: why (a step this machine's kernel cannot run, and what it left unrun). */
  skipped?: string;
  timeMs: number;
}

function xml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, '');
}

export function junitXml(cases: CaseResult[]): string {
  const bySuite = new Map<string, CaseResult[]>();
  for (const c of cases) bySuite.set(c.scenario, [...(bySuite.get(c.scenario) ?? []), c]);
  const failures = cases.filter((c) => !c.ok).length;
  let out = `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="cnmlab verify" tests="${cases.length}" failures="${failures}">\n`;
  for (const [suite, cs] of bySuite) {
    const f = cs.filter((c) => !c.ok).length;
    const time = cs.reduce((a, c) => a + c.timeMs, 0) / 1000;
    out += `  <testsuite name="${xml(suite)}" tests="${cs.length}" failures="${f}" errors="0" skipped="${cs.filter((c) => c.skipped).length}" time="${time.toFixed(3)}" file="${xml(cs[0].file)}">\n`;
    for (const c of cs) {
      out += `    <testcase classname="${xml(suite)}" name="${xml(c.name)}" time="${(c.timeMs / 1000).toFixed(3)}"`;
      if (c.skipped) out += `>\n      <skipped message="${xml(c.skipped)}"/>\n    </testcase>\n`;
      else out += c.ok ? '/>\n' : `>\n      <failure message="${xml(c.message ?? '')}">${xml(c.message ?? '')}</failure>\n    </testcase>\n`;
    }
    out += '  </testsuite>\n';
  }
  return out + '</testsuites>\n';
}

function casesOf(s: Scenario, r: RunResult, mode: string): CaseResult[] {
  const cases: CaseResult[] = [];
  for (const step of r.steps) {
    for (const c of step.checks) {
      cases.push({
        scenario: `${s.name} [${mode}]`, file: s.file, name: `step ${step.index + 1} (line ${step.line}) ${step.on}: ${step.command} — ${c.what}`,
        ok: c.ok, message: c.ok ? undefined : `expected ${c.what} ${c.expected}, got ${c.got}`, timeMs: step.durationMs,
      });
    }
  }
  const u = r.unavailable;
  if (u) {
    const step = r.steps[u.step - 1];
    const left = s.steps.length - u.step;
    cases.push({
      scenario: `${s.name} [${mode}]`, file: s.file, name: `step ${u.step} (line ${step.line}) ${step.on}: ${step.command}`, ok: true, timeMs: step.durationMs,
      skipped: `not available in this kernel: ${u.feature}${left ? `; the ${left} step(s) after it not run in ${mode}` : ''}`,
    });
  }
  return cases;
}

/**
 * What sim and emu both ran: up to the step emu's kernel could not run (its output is the
 * real program's refusal, sim's the model's answer; what follows is a different story).
 */
function comparable(sim: RunResult, emu: RunResult): { sim: RunResult; emu: RunResult } {
  const stop = emu.unavailable?.step;
  if (stop === undefined) return { sim, emu };
  const before = (r: RunResult): RunResult => ({
    ...r, steps: r.steps.slice(0, stop - 1),
    trace: { ...r.trace, flows: r.trace.flows.filter((f) => (f.origin?.step ?? 0) < stop), ...(r.trace.control ? { control: r.trace.control.filter((f) => (f.origin?.step ?? 0) < stop) } : {}),
      ...(r.trace.controlNotKept ? { controlNotKept: r.trace.controlNotKept.filter((c) => c.step < stop) } : {}) },
  });
  return { sim: before(sim), emu: before(emu) };
}

function differenceCase(s: Scenario, d: TraceDifference | undefined, name: string): CaseResult {
  return {
    scenario: `${s.name} [both]`, file: s.file, name, ok: !d, timeMs: 0,
    message: d ? `${d.where}: sim ${d.sim} | emu ${d.emu}` : undefined,
  };
}

export async function verifyCommand(files: string[], opts: VerifyOptions): Promise<number> {
  const scenarios = files.map((f) => loadScenario(f));
  if (!['sim', 'emu', 'both'].includes(opts.mode)) throw new InputError(`--mode: expected sim, emu or both, got ${opts.mode}`);
  if (opts.junit) checkOutputFile('--junit', opts.junit);
  if (opts.compareOutput !== undefined && opts.mode !== 'both') throw new InputError(`--${opts.compareOutput ? '' : 'no-'}compare-output: needs --mode both`);
  const modes: ('sim' | 'emu')[] = opts.mode === 'both' ? ['sim', 'emu'] : [opts.mode];
  const all: CaseResult[] = [];
  const results: unknown[] = [];
  for (const s of scenarios) {
    const traces: Partial<Record<'sim' | 'emu', RunResult>> = {};
    for (const mode of modes) {
      let backend;
      try {
        backend = await makeBackend(mode, s, { quiet: opts.json });
      } catch (e) {
        // A kernel without a feature the scenario needs: its emu run cannot happen here, which is no failure of the scenario.
        if (!(e instanceof KernelFeatureMissing)) throw e;
        const c: CaseResult = { scenario: `${s.name} [${mode}]`, file: s.file, name: 'the run', ok: true, skipped: `not available in this kernel: ${e.message}`, timeMs: 0 };
        all.push(c);
        results.push({ scenario: s.name, mode, checks: [c] });
        if (!opts.json) process.stdout.write(`SKIP ${c.scenario} ${c.name}: ${c.skipped}\n`);
        continue;
      }
      let result: RunResult;
      try {
        ({ result } = await runScenario(s, backend));
      } finally {
        await backend.close();
      }
      traces[mode] = result;
      const cases = casesOf(s, result, mode);
      all.push(...cases);
      results.push({ scenario: s.name, mode, ok: result.ok, checks: cases });
      if (!opts.json) for (const c of cases) process.stdout.write(c.skipped ? `SKIP ${c.scenario} ${c.name}: ${c.skipped}\n` : `${c.ok ? 'PASS' : 'FAIL'} ${c.scenario} ${c.name}${c.ok ? '' : `\n     ${c.message}`}\n`);
    }
    if (traces.sim && traces.emu) {
      const both = comparable(traces.sim, traces.emu);
      const comparisons: [string, TraceDifference | undefined][] = [
        ['sim and emu traces agree', compareTraces(both.sim.trace, both.emu.trace)],
      ];
      if (opts.compareOutput !== false) comparisons.push(['sim and emu print the same (normalised)', compareOutputs(both.sim.steps, both.emu.steps, stepsLostByChance(both.sim.trace))]);
      for (const [name, diff] of comparisons) {
        const c = differenceCase(s, diff, name);
        all.push(c);
        if (!opts.json) process.stdout.write(`${c.ok ? 'PASS' : 'FAIL'} ${c.scenario} ${c.name}${c.ok ? '' : `\n     first difference at ${diff!.where}\n       sim: ${diff!.sim}\n       emu: ${diff!.emu}`}\n`);
      }
    }
  }
  const failed = all.filter((c) => !c.ok).length;
  const skipped = all.filter((c) => c.skipped).length;
  const passed = all.length - failed - skipped;
  if (opts.junit) writeOutputFile('--junit', opts.junit, junitXml(all));
  if (opts.json) process.stdout.write(JSON.stringify({ ok: failed === 0, passed, failed, skipped, results }, null, 2) + '\n');
  else process.stdout.write(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} not available in this kernel` : ''}\n`);
  return failed ? 1 : 0;
}
