/**
 * The host programs a driver brings with it (calicoctl, the weave script, flannel's etcdctl
 * and flanneld), which the model answers in both modes. Each is its driver's front end, a
 * file of the driver's own folder (`sim/<driver>/`) that registers its programs here as it
 * loads; what loads it is the driver's registration line (`sim/drivers/index.ts`). The shell
 * asks here before running anything in the backend, so it names no driver's program.
 */
import { Backend, CommandOutput } from '../backend';
import { Model } from '../model/model';
import { Tx } from '../model/tx';

/** Runs one command line of the program on `host` (argv[0] is the program), the backend carrying out the plan ops it made. */
export type HostCommand = (model: Model, backend: Backend, host: string, argv: string[]) => Promise<CommandOutput>;

const REGISTERED = new Map<string, { driver: string; run: HostCommand }>();

/** Called by a driver's front end as it loads: `program` on a host's shell is then answered by `run`. */
export function registerHostCommand(program: string, driver: string, run: HostCommand): void {
  REGISTERED.set(program, { driver, run });
}

/** What answers `program` on a host's shell, when a driver's front end registered it. */
export function hostCommandOf(program: string): HostCommand | undefined {
  return REGISTERED.get(program)?.run;
}

/** The programs `driver`'s front end registered, in the order it did. */
export function hostCommandsOf(driver: string): string[] {
  return [...REGISTERED].filter(([, r]) => r.driver === driver).map(([program]) => program);
}

/** Runs a change of the model and applies its plan ops; a refusal the change throws propagates to the program, which prints it. */
export async function changing(model: Model, backend: Backend, change: (tx: Tx) => CommandOutput): Promise<CommandOutput> {
  let out: CommandOutput = { stdout: '', stderr: '', exitCode: 0 };
  const ops = model.change((tx) => {
    out = change(tx);
  });
  await backend.apply(ops, model.world);
  return out;
}
