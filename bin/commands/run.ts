import * as fs from 'fs';
import * as path from 'path';
import { loadScenario } from '../../sim/scenario/load';
import { RunOutcome, runScenario, StepResult } from '../../sim/runner/runner';
import { Trace } from '../../sim/trace/types';
import { Backend } from '../../sim/backend';
import { SimBackend } from '../../sim/kernel/backend';
import { Scenario } from '../../sim/scenario/schema';
import { pathTable } from '../../sim/trace/table';
import { checkLine } from '../../sim/runner/expect';
import { Model } from '../../sim/model/model';
import { InputError } from '../../sim/errors';
import type { EmuBackend } from '../../emu/backend';
import { signalGuard } from '../signals';
import { BufferedOut, checkOutputFile, prepareOutputFolder, writeOutputFile } from '../output';

export interface RunOptions {
  mode: 'sim' | 'emu';
  json?: boolean;
  trace?: string;
  pcapDir?: string;
  keep?: boolean;
}

/** The backend for a mode; only emu needs root and tools, and checks for them when created. */
export async function makeBackend(mode: 'sim' | 'emu', s: Scenario, opts: { pcapDir?: string; keep?: boolean; quiet?: boolean }): Promise<Backend> {
  if (mode === 'sim') {
    const b = SimBackend.forScenario(s);
    if (opts.pcapDir) b.datapath.pcaps = new Map();
    return b;
  }
  // Loaded only for emu: its process tooling costs a sim run's start.
  const { EmuBackend } = require('../../emu/backend') as typeof import('../../emu/backend');
  return EmuBackend.create(s, { ...opts, guard: signalGuard });
}

/** `hosts`: the scenario's host names, looked up rather than searched: a big swarm's run prints thousands of steps. */
function prompt(r: StepResult, hosts: ReadonlySet<string>): string {
  return hosts.has(r.on) ? `${r.on}$ ${r.command}` : `root@${r.on}:/# ${r.command}`;
}

export function transcriptOf(r: StepResult, hosts: ReadonlySet<string>, backend: Backend): string {
  let text = `${prompt(r, hosts)}\n${r.stdout}${r.stderr}`;
  for (const id of r.flows) {
    const flow = backend.flows().find((f) => f.id === id);
    if (flow && flow.kind === 'icmp-echo') text += `\n${pathTable(flow)}`;
  }
  return text + r.checks.map(checkLine).join('') + '\n';
}

export function writePcaps(backend: Backend, dir: string): string[] {
  const written: string[] = [];
  if (!(backend instanceof SimBackend) || !backend.datapath.pcaps) return written;
  prepareOutputFolder('--pcap-dir', dir);
  for (const [point, w] of backend.datapath.pcaps) {
    const file = path.join(dir, `${point}.pcap`);
    try {
      fs.writeFileSync(file, w.toBuffer());
    } catch (e) {
      throw new InputError(`--pcap-dir ${dir}: cannot write ${file}: ${(e as Error).message}`);
    }
    written.push(file);
  }
  return written;
}

/** The one line that says a run stopped at a step this machine's kernel cannot run. */
export function unavailableLine(s: Scenario, u: { step: number; feature: string }): string {
  const left = s.steps.length - u.step;
  const line = s.steps[u.step - 1]?.line;
  return `cnmlab: step ${u.step} (${s.file}:${line}) is not available in this kernel: ${u.feature}; the run stopped there${left ? ` (${left} step(s) after it not run)` : ''}`;
}

export async function runCommand(file: string, opts: RunOptions): Promise<number> {
  const s = loadScenario(file);
  if (opts.mode !== 'sim' && opts.mode !== 'emu') throw new InputError(`--mode: expected sim or emu, got ${opts.mode}`);
  if (opts.trace) checkOutputFile('--trace', opts.trace);
  if (opts.pcapDir) prepareOutputFolder('--pcap-dir', opts.pcapDir);
  const backend = await makeBackend(opts.mode, s, { pcapDir: opts.pcapDir, keep: opts.keep, quiet: opts.json });
  // One write per step was a syscall per step, a tenth of a 10,000-step run: steps' output is
  // gathered, and written within a moment of being ready, as a slow step (emu) would otherwise hold it.
  const out = new BufferedOut(process.stdout, 1 << 16, 50);
  const hosts = new Set(s.hosts.map((h) => h.name));
  const onStep = (r: StepResult, _m: Model) => {
    if (!opts.json) void out.write(transcriptOf(r, hosts, backend));
  };
  let result: RunOutcome;
  // Only --trace and --json print the trace: without them its topology is not recorded.
  let trace: Trace | undefined;
  try {
    if (opts.trace || opts.json) {
      const traced = (await runScenario(s, backend, onStep)).result;
      result = traced;
      trace = traced.trace;
    } else ({ result } = await runScenario(s, backend, onStep, { trace: false }));
    if (opts.pcapDir) writePcaps(backend, opts.pcapDir);
  } finally {
    await out.flush();
    await backend.close();
  }
  if (opts.trace) writeOutputFile('--trace', opts.trace, JSON.stringify(trace, null, 2) + '\n');
  if (opts.json) {
    const { steps, ...rest } = result;
    process.stdout.write(JSON.stringify({ scenario: rest.scenario, mode: rest.mode, ok: rest.ok, ...(rest.unavailable ? { unavailable: rest.unavailable } : {}), steps: steps.map(({ index, on, command, exitCode, stdout, stderr, durationMs, daemonWaited, ok, unmodelled }) => ({ index, on, command, exitCode, stdout, stderr, durationMs, ...(daemonWaited ? { daemonWaited } : {}), ok, ...(unmodelled !== undefined ? { unmodelled } : {}) })), trace }, null, 2) + '\n');
  } else {
    const failed = result.steps.flatMap((r) => r.checks.filter((c) => !c.ok).map((c) => `step ${r.index + 1} (${s.file}:${r.line}) ${c.what}`));
    const unmodelled = result.steps.filter((r) => r.unmodelled !== undefined).map((r) => `step ${r.index + 1} (${s.file}:${r.line}) ${r.unmodelled}`);
    if (unmodelled.length) process.stdout.write(`${unmodelled.length} step(s) not modelled, so they ran nothing: ${unmodelled.join('; ')}\n`);
    process.stdout.write(failed.length ? `${failed.length} expectation(s) failed: ${failed.join('; ')}\n` : `${s.name}: ran ${result.steps.length} steps, every expectation held\n`);
  }
  // With --json, stdout holds one JSON object: the way into the lab goes to stderr.
  if (opts.keep && backend.mode === 'emu') (opts.json ? process.stderr : process.stdout).write((backend as EmuBackend).keptLab());
  // A missing prerequisite, as a driver this kernel lacks is: one line, exit 2.
  if (result.unavailable) {
    process.stderr.write(`${unavailableLine(s, result.unavailable)}\n`);
    return 2;
  }
  return result.ok ? 0 : 1;
}
