/**
 * What a backend (sim or emu) does with the model's plan and with commands: the runner
 * knows only this interface, so neither backend ever imports the other.
 */
import type { PlanOp } from './plan/ops';
import type { Container, World } from './model/world';
import type { ControlKind, Flow } from './trace/types';
import type { CommandOutput } from './commands/registry';

/** What bounds a step in both modes (sim/runner/bounds.ts has the defaults and the report lines). */
export interface StepBounds {
  timeoutNs: number;
  outputCap: number;
  /** The command line as written in the scenario, for the one-line report. */
  line: string;
}

// One output type for every command, defined beside the registry's refusals (which the model's tools use too).
export type { CommandOutput, StepEnd } from './commands/registry';

export interface ExecContext {
  /** The world as it is when the command runs (for DNS answers and names). */
  world: World;
  /** The container the command runs in, when it runs in one. */
  container?: string;
  /** Docker's namespaces are visible to `ip netns` on this host. */
  namesVisible: boolean;
  /**
   * How long the step's program may run, in (virtual, for sim) nanoseconds: the step's
   * timeout (runner/bounds), DEFAULT_STEP_BUDGET_NS when a program runs outside a scenario.
   * A program that would run longer stops there and says so.
   */
  stepBudgetNs?: number;
  /** Bytes the step's program may print on a stream (the output cap); it stops once over. */
  outputCap?: number;
  /** Someone is watching at a terminal (cnmlab lab): see LiveIo. */
  live?: LiveIo;
}

/**
 * A command typed at a terminal rather than run from a file: it may show its output as it
 * comes (a ping line a second) and is stopped by Ctrl-C as by SIGINT. What a command writes
 * here is the start of the output it returns, so a caller prints the rest once it is done.
 */
export interface LiveIo {
  write(stream: 'stdout' | 'stderr', text: string): void;
  /** Aborts on Ctrl-C. */
  interrupt: AbortSignal;
}

/** A program's time budget outside a scenario's steps (whose default is runner/bounds'): five minutes. */
export const DEFAULT_STEP_BUDGET_NS = 300_000_000_000;

export interface Backend {
  readonly mode: 'sim' | 'emu';
  /** Carries out plan ops in order; `world` is the model after the step that emitted them. */
  apply(ops: PlanOp[], world: World): Promise<void>;
  /**
   * A kernel feature the plan ops need that this backend's kernel lacks (emu on a kernel
   * without dummy devices), said before they are applied; sim models them all.
   */
  missingFeature?(ops: PlanOp[]): Promise<string | undefined>;
  /** Finishes plan work the backend has deferred, so the kernel holds every op applied so far. */
  settle(): Promise<void>;
  /**
   * The timeout and output cap of the step about to run; they hold for every command it runs.
   * Called as each step begins (what the trace keeps of the control plane is bounded per step).
   */
  setStepBounds(b: StepBounds): void;
  /**
   * The step's command has returned: a backend that learns what the step's span carried from
   * live captures (emu's control plane) reads it now, so it is the step's. sim knows it as it happens.
   */
  endStep?(): Promise<void>;
  /** Runs argv inside namespace `netns` of `host` (the host's own namespace is named after it). */
  exec(host: string, netns: string, argv: string[], ctx: ExecContext): Promise<CommandOutput>;
  /**
   * The real process holding a running container's namespaces, as Docker's State.Pid names the
   * container's process (what `nsenter -t PID -n` enters); absent where there is none (sim:
   * the model's pid stands).
   */
  containerPid?(container: Container, world: World): Promise<number | undefined>;
  /**
   * Whether the host's underlay link (eth0 in its own namespace) is up in the kernel now, read
   * after a command there that may have changed it, however it was spelled; undefined when
   * the namespace has no such device.
   */
  underlayLinkUp(host: string): Promise<boolean | undefined>;
  /** Flows traced so far. */
  flows(): Flow[];
  /** dockerd's own traffic between swarm nodes seen so far (control-plane flows), in the order it began. */
  controlFlows(): Flow[];
  /** dockerd's exchanges past what controlFlows keeps (CONTROL_KEPT_PER_STEP), counted by kind since the run started. */
  controlNotKept(): ReadonlyMap<ControlKind, number>;
  /** Virtual (sim) or real (emu) nanoseconds since the run started. */
  elapsedNs(): number;
  close(): Promise<void>;
}
