/**
 * The programs emu runs for plan ops no command carries out (BIRD for `bird.config` and the
 * routes it installs, weave's router for `weave.router`): each program's module registers
 * itself as it loads (`registerEmuProgram`), saying which ops are its; `toPhases` sets
 * those aside, and the backend hands each program its share of a step after the step's
 * devices, files and deletions (`stepPrograms`). `emu/program_index.ts` loads them, and is the one file
 * that names them: `translate.ts` and `backend.ts` name none.
 */
import type { PlanOp } from '../sim/plan/ops';
import type { RunRecord } from './state';
import { RankedRegistry } from '../sim/registry/ranked';

/** A plan op a program took from a step: its namespace's real name, and the op. */
export interface TakenOp {
  program: string;
  netns: string;
  op: PlanOp;
}

/**
 * A program's instance for one run. A step's share comes in two phases: every program
 * configures, given the step's ops that are its own, in plan order (none: it has nothing to
 * do), then every program waits for what its configuration brought about, so one's wait
 * (BIRD's for its routes) does not hold back another's configuration (weave's routers).
 */
export interface EmuProgram {
  /** Starts its daemons, or has them take their new configuration. */
  configure(ops: TakenOp[]): Promise<void>;
  /** Waits until what the configuration brings about is there (BIRD's routes). */
  settle(): Promise<void>;
  /** Stops what it started, at the end of the run. */
  stopAll(): void;
}

export interface EmuProgramSpec {
  readonly name: string;
  /** Whether a plan op is this program's to carry out: no command is made of it. */
  takes(op: PlanOp): boolean;
  /** Its instance for a run, keeping its files and pids in the run's record. */
  start(record: RunRecord): EmuProgram;
}

const PROGRAMS = new RankedRegistry<EmuProgramSpec>('emu program');

/**
 * Called by a program's module as it loads. `rank` orders the programs (lowest first): which
 * is asked first whether it takes an op, and the order they are started, configured and
 * settled in, whatever order the modules loaded in.
 */
export function registerEmuProgram(spec: EmuProgramSpec, { rank }: { rank: number }): void {
  PROGRAMS.register(spec.name, spec, rank);
}

/** The program a plan op is for, if any takes it. */
export function programTaking(op: PlanOp): EmuProgramSpec | undefined {
  return PROGRAMS.list().find((spec) => spec.takes(op));
}

/** Every registered program, each started for a run, by rank. */
export function startPrograms(record: RunRecord): Map<string, EmuProgram> {
  return new Map(PROGRAMS.list().map((spec) => [spec.name, spec.start(record)]));
}

/** A step's share for each program (`taken`): every program's configure, then every program's settle. */
export async function stepPrograms(programs: ReadonlyMap<string, EmuProgram>, taken: TakenOp[]): Promise<void> {
  const shares = [...programs].map(([name, program]) => [program, taken.filter((t) => t.program === name)] as const);
  for (const [program, ops] of shares) await program.configure(ops);
  for (const [program] of shares) await program.settle();
}
