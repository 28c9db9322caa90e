/**
 * A scenario run one step at a time: `cnmlab run` feeds it the file's steps, `cnmlab lab`
 * the lines a student types. Both see the same model, backend, virtual clock, step bounds
 * and checks, so a lab session saved as a scenario replays to the same outputs.
 */
import { Backend, LiveIo } from '../backend';
import { Model } from '../model/model';
import type { DaemonWait } from '../model/tx';
import { seedFromName } from '../model/ids';
import { Expect, Scenario } from '../scenario/schema';
import { ControlNotKept, Trace, TRACE_FORMAT } from '../trace/types';
import { RunTopology } from '../trace/topology';
import type { StepOutput } from '../trace/compare';
import { Check, checkExpect, modelledCheck } from './expect';
import { containerShell, hostShell } from './shell';
import { EXIT_OUTPUT_CUT, EXIT_TIMED_OUT, stepBounds } from './bounds';

/** A step's output (what verify compares between the modes), and how it went. */
export interface StepResult extends StepOutput {
  durationMs: number;
  ok: boolean;
  line: number;
  checks: Check[];
  /** Ids of the flows this step traced. */
  flows: string[];
  /**
   * What the daemon waited in this step as the model decided it (model/tx.ts DaemonWait):
   * durationMs counts it, though neither mode sleeps it, and the note says so.
   */
  daemonWaited?: { ms: number; note: string };
  /** Stopped by Ctrl-C (only a step typed at a terminal can be). */
  interrupted?: boolean;
  /** The command the registry refused: the step ran nothing. */
  unmodelled?: string;
  /**
   * What this machine's kernel lacks for the step (emu only, e.g. netem): its `expect` is not
   * judged, and a scenario run stops after it (the modes' stories part there).
   */
  unavailable?: string;
}

/** Virtual time between scenario steps, as if typed a second apart. */
const STEP_GAP_NS = 1_000_000_000;

/** The step's daemon waits as one: how long, and what the daemon waited for, said to be modelled. */
function daemonWaited(waits: DaemonWait[]): StepResult['daemonWaited'] {
  if (!waits.length) return undefined;
  const ns = waits.reduce((sum, w) => sum + w.ns, 0);
  const seconds = (n: number) => `${Math.round(n / 1e6) / 1e3} s`;
  const what = waits.map((w) => `${seconds(w.ns)} for ${w.why}`).join(', then ');
  return { ms: ns / 1e6, note: `dockerd waited ${what}; modelled: the step's duration counts it, cnmlab did not wait it` };
}

export function newModel(s: Scenario): Model {
  return new Model(s.hosts, s.seed ?? seedFromName(s.name));
}

export interface StepOptions {
  expect?: Expect;
  /** The step's line in its file. */
  line?: number;
  /** The step's own timeout in seconds (the scenario's, or the default, otherwise). */
  timeout?: number;
  live?: LiveIo;
  /** Typed at a terminal (the lab): `docker run -it` attaches to it. A file's steps have none, so Docker refuses -i with -t. */
  terminal?: boolean;
}

/** What a session records beyond each step's result. */
export interface SessionOptions {
  /**
   * The trace's topology: every namespace and device, with its lifetime, observed after each
   * step (true unless said otherwise). A run whose trace nobody reads skips that work; its
   * session then has no trace to give.
   */
  topology?: boolean;
}

export class ScenarioSession {
  readonly steps: StepResult[] = [];
  private readonly history: RunTopology | undefined;
  /** What each step's span carried of the control plane past what the trace keeps hop by hop. */
  private readonly controlNotKept: ControlNotKept[] = [];
  private readonly hostNames: ReadonlySet<string>;

  private constructor(
    readonly scenario: Scenario,
    readonly backend: Backend,
    readonly model: Model,
    opts: SessionOptions,
  ) {
    this.hostNames = new Set(scenario.hosts.map((h) => h.name));
    this.history = opts.topology === false ? undefined : new RunTopology();
    this.history?.observe(0, model.world);
  }

  /** Boots the scenario's hosts (dockerd up, no containers) in the backend. */
  static async start(s: Scenario, backend: Backend, opts: SessionOptions = {}): Promise<ScenarioSession> {
    const model = newModel(s);
    await backend.apply(model.boot(), model.world);
    return new ScenarioSession(s, backend, model, opts);
  }

  isHost(on: string): boolean {
    return this.hostNames.has(on);
  }

  /** Runs one command on a host or in a container, within the step's bounds, and checks `expect`. */
  async step(on: string, command: string, opts: StepOptions = {}): Promise<StepResult> {
    const { model, backend } = this;
    const index = this.steps.length;
    model.tick(STEP_GAP_NS);
    // What NetworkDB decided since the last step (a stopped host declared dead, or back).
    const gossip = model.gossipTimers(backend.elapsedNs());
    if (gossip.length) await backend.apply(gossip, model.world);
    const flowsBefore = backend.flows().length, controlBefore = backend.controlFlows().length, notKeptBefore = new Map(backend.controlNotKept());
    const t0 = backend.elapsedNs();
    backend.setStepBounds(stepBounds(command, opts.timeout ?? this.scenario.timeout));
    const out = this.isHost(on) ? await hostShell(model, backend, on, command, opts.live, opts.terminal) : await containerShell(model, backend, on, command, opts.live);
    await backend.endStep?.();
    const flows = backend.flows().slice(flowsBefore);
    // Numbered from 1 as `run` numbers steps in its messages; dockerd's traffic by the step its clock span belonged to.
    for (const f of [...flows, ...backend.controlFlows().slice(controlBefore)]) f.origin = { step: index + 1, on, command };
    for (const [control, n] of backend.controlNotKept()) {
      const exchanges = n - (notKeptBefore.get(control) ?? 0);
      if (exchanges > 0) this.controlNotKept.push({ step: index + 1, control, exchanges });
    }
    this.history?.observe(index + 1, this.model.world);
    // A step the kernel cannot run has no outcome to judge: the real program's error is shown, nothing is checked.
    const checks = opts.expect && !out.unavailable ? checkExpect(opts.expect, out, flows[0]) : [];
    // A step cnmlab had to stop is not part of the story unless the scenario says it expects that.
    const stopped = out.end === 'timed-out' ? EXIT_TIMED_OUT : out.end === 'output-cut' ? EXIT_OUTPUT_CUT : undefined;
    if (stopped !== undefined && opts.expect?.exit !== stopped) {
      checks.push({ what: 'exit', expected: out.end === 'timed-out' ? 'the step to end within its timeout' : 'output within the cap', got: out.stderr.trim().split('\n').pop() ?? '', ok: false });
    }
    if (out.unmodelled !== undefined) checks.push(modelledCheck(out.unmodelled, opts.expect));
    const waited = daemonWaited(out.daemonWaits ?? []);
    const r: StepResult = {
      index, on, command, exitCode: out.exitCode, stdout: out.stdout, stderr: out.stderr,
      durationMs: Math.round((backend.elapsedNs() - t0 + (waited ? waited.ms * 1e6 : 0)) / 1e3) / 1e3, ok: checks.every((c) => c.ok), line: opts.line ?? 0, checks, flows: flows.map((f) => f.id),
      ...(waited ? { daemonWaited: waited } : {}),
      ...(opts.live?.interrupt.aborted ? { interrupted: true } : {}),
      ...(out.unmodelled !== undefined ? { unmodelled: out.unmodelled } : {}),
      ...(out.unavailable ? { unavailable: out.unavailable } : {}),
    };
    this.steps.push(r);
    return r;
  }

  /** The trace of everything run so far; the topology holds every object with its lifetime. */
  trace(): Trace {
    if (!this.history) throw new Error('this session was started without its topology, so it has no trace');
    const control = this.backend.controlFlows(), notKept = this.controlNotKept;
    return {
      format: TRACE_FORMAT, scenario: this.scenario.name, mode: this.backend.mode, topology: this.history.topology(), flows: this.backend.flows(),
      ...(control.length ? { control } : {}), ...(notKept.length ? { controlNotKept: [...notKept] } : {}),
    };
  }
}
