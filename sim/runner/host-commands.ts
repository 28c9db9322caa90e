/**
 * The host programs a driver brings with it (calicoctl, the weave script, flannel's etcdctl
 * and flanneld), which the model answers in both modes. Each is its driver's front end, a
 * file of the driver's own folder (`sim/<driver>/`) that registers its programs here as it
 * loads: each program's row of the command registry (its forms, what the shells accept and
 * docs/commands.md lists) with the code that answers it; what loads it is the driver's
 * registration line (`sim/drivers/index.ts`). dockerd's own lifecycle, which belongs to no
 * driver, registers its programs here the same way (sim/runner/control-plane.ts). The shell
 * asks here before running anything in the backend, so it names no such program, and the
 * registry lists none by hand.
 */
import { Backend, CommandOutput } from '../backend';
import { lookupCommand, notModelled, ProgramEntry, registerCommand } from '../commands/registry';
import { Model } from '../model/model';
import { DaemonRefusal, NotModelled } from '../model/refusal';
import { Tx } from '../model/tx';

/** Runs one command line of the program on `host` (argv[0] is the program), the backend carrying out the plan ops it made. */
export type HostCommand = (model: Model, backend: Backend, host: string, argv: string[]) => Promise<CommandOutput>;

/**
 * The command, its refusals printed as its program prints them: a part cnmlab does not model
 * says so (exit 127), the daemon's refusal is its message (exit 1), and `ownRefusal` prints
 * the program's own errors (flannel's store and flanneld); anything else is a bug, thrown on.
 */
export const answering = (run: HostCommand, ownRefusal: (e: unknown) => CommandOutput | undefined = () => undefined): HostCommand => async (model, backend, host, argv) => {
  try {
    return await run(model, backend, host, argv);
  } catch (e) {
    const out = modelRefusal(e) ?? ownRefusal(e);
    if (!out) throw e;
    return out;
  }
};

function modelRefusal(e: unknown): CommandOutput | undefined {
  if (e instanceof NotModelled) return notModelled(e.message);
  if (e instanceof DaemonRefusal) return { stdout: '', stderr: `${e.message}\n`, exitCode: 1 };
  return undefined;
}

/** A front end's row: a host's program, answered by the model. */
export type HostProgramRow = Pick<ProgramEntry, 'program' | 'summary' | 'forms'>;

const REGISTERED = new Map<ProgramEntry, { owner: string; run: HostCommand }>();
/** The program names front ends registered: a cheap first test before the registry lookup. */
const PROGRAMS = new Set<string>();

/**
 * Called by a driver's front end as it loads (`owner`: the driver), or by dockerd's lifecycle
 * (sim/runner/control-plane.ts, `owner` 'dockerd'): the forms of `row` on a host's shell are
 * then answered by `run`. `rank` places the row in the command registry (200–999, the front
 * ends' ranks: after Docker's CLI, before the shell's own programs).
 */
export function registerHostCommand(owner: string, row: HostProgramRow, { rank }: { rank: number }, run: HostCommand): void {
  const entry: ProgramEntry = { ...row, shells: ['host'], answeredBy: 'model' };
  registerCommand(entry, { rank });
  REGISTERED.set(entry, { owner, run });
  PROGRAMS.add(entry.program);
}

/** What answers `argv` on a host's shell, when it is a form a driver's front end registered. */
export function hostCommandOf(argv: string[]): HostCommand | undefined {
  // Most host lines are no front end's program: they need no second lookup (the shell's own already matched them).
  if (!PROGRAMS.has(argv[0])) return undefined;
  const l = lookupCommand(argv, 'host');
  return l.modelled ? REGISTERED.get(l.entry)?.run : undefined;
}

/** The programs `owner` (a driver's front end, or 'dockerd') registered, in the order it did. */
export function hostCommandsOf(owner: string): string[] {
  return [...REGISTERED].filter(([, r]) => r.owner === owner).map(([entry]) => entry.program);
}

/**
 * Runs `argv`'s change of the model and applies its plan ops; a refusal the change throws
 * propagates to the program, which prints it.
 */
export async function changing(model: Model, backend: Backend, argv: string[], change: (tx: Tx) => CommandOutput): Promise<CommandOutput> {
  let out: CommandOutput = { stdout: '', stderr: '', exitCode: 0 };
  const ops = model.change((tx) => {
    out = change(tx);
    // Its ops go in one apply: stages (Tx.stage, docker restart's) would lose their order between them.
    if (tx.stages.length) throw new Error(`internal error: ${argv.join(' ')} staged its change (Tx.stage), which changing applies in one go`);
    // What the daemon waited (a shutdown's stop timeout, sim/model/dockerd.ts) is the step's.
    if (tx.waits.length) out = { ...out, daemonWaits: tx.waits };
  });
  await backend.apply(ops, model.world);
  return out;
}
