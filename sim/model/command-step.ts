/**
 * One command line of a tool that drives the model (docker, calicoctl, weave): it runs in one
 * model change, so the change's plan ops are what the command did. What the tool refuses
 * is its outcome, printed as the tool prints it; any other error is cnmlab's and propagates.
 */
import { CommandOutput, notModelled } from '../commands/registry';
import { PlanOp } from '../plan/ops';
import { Model } from './model';
import { NotModelled } from './refusal';
import { DaemonWait, Stage, Tx } from './tx';

export interface ModelStep<O> {
  outcome: O;
  ops: PlanOp[];
  /** What the daemon waited in the step (Tx.daemonWaits), when it did. */
  waits?: DaemonWait[];
  /** Where the ops must reach the kernel in parts, each with its world (Tx.stage); the last part's is the model's. */
  stages?: Stage[];
}

/** Printed on stdout, exit 0. */
export const ok = (stdout = ''): CommandOutput => ({ stdout, stderr: '', exitCode: 0 });

/** A tool's own error: its message as one line on stderr. */
export const failed = (message: string, exitCode = 1): CommandOutput => ({ stdout: '', stderr: `${message}\n`, exitCode });

/**
 * Runs `run` in one change of the model. `refusal` turns the errors the tool reports itself
 * into its output (undefined: not the tool's); a part of the command cnmlab does not model
 * says so (exit 127) unless `refusal` words it. A refusal does not undo what the command
 * changed before it.
 */
export function modelStep<O>(model: Model, run: (tx: Tx) => O, refusal: (e: unknown) => O | undefined = () => undefined): ModelStep<O | CommandOutput> {
  let outcome: O | CommandOutput = ok();
  let waits: DaemonWait[] = [];
  let stages: Stage[] = [];
  const ops = model.change((tx) => {
    waits = tx.waits;
    stages = tx.stages;
    try {
      outcome = run(tx);
    } catch (e) {
      const refused = refusal(e) ?? (e instanceof NotModelled ? notModelled(e.message) : undefined);
      if (refused === undefined) throw e;
      outcome = refused;
    }
  });
  return { outcome, ops, ...(waits.length ? { waits } : {}), ...(stages.length ? { stages } : {}) };
}
