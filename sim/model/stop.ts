/**
 * How the daemon ends a running container, as moby v20.10 does (daemon/stop.go containerStop,
 * kill.go Kill): one place for every path that stops one. A stop (`docker stop`, `docker
 * restart`, dockerd's shutdown) sends the container's stop signal (SIGTERM; nginx's image
 * declares SIGQUIT), waits the stop timeout, then SIGKILLs what still runs: how PID 1 takes
 * its stop signal decides (main-process.ts). A shell as PID 1 ignores it, so the stop waits
 * the whole timeout (the daemon's wait: the step lasts it, and the model's clock moves by it)
 * and the container is Exited (137); nginx exits 0 at once. `docker rm -f` kills at once
 * (cleanupContainer's Kill; its containerStop after finds nothing running).
 *
 * Every stop of a command is judged before anything changes: a PID 1 whose handling of its
 * stop signal the model does not know refuses the whole command.
 */
import type { Draft } from 'immer';
import { stopContainer } from './containers';
import { ignoringStopSignal, KILLED_EXIT, mainProgram, onStop, Signal, stopSignal, unknownMainProcess } from './main-process';
import { Tx } from './tx';
import type { Container } from './world';

/** A running container to stop, and how the command named it (for a refusal's words). */
export interface StopTarget {
  c: Draft<Container>;
  ref: string;
}

/** How one stop ends: at once with a status, or killed after the timeout. */
type StopEnd = { exits: number } | { killedAfterS: number; signal: Signal };

export interface PlannedStop extends StopTarget {
  end: StopEnd;
}

/**
 * Words a refusal: `why` the model cannot tell how the stop of `target` ends; `timed` when
 * the stop timeout is why (a command shows the -t it was given).
 */
export type StopRefusal = (target: StopTarget, why: string, timed: boolean) => Error;

/** How each stop with `timeoutS` (negative: no kill, wait for ever) ends, judged before any is made. */
export function planStops(targets: StopTarget[], timeoutS: number, refuse: StopRefusal): PlannedStop[] {
  return targets.map((target) => {
    const { c } = target;
    const end = onStop(c);
    if (!end) throw refuse(target, unknownMainProcess(c, stopSignal(c)), false);
    const program = mainProgram(c);
    if ('exits' in end) {
      // containerStop's wait with no time left SIGKILLs at once: a race with the process's own exit.
      if (timeoutS === 0) throw refuse(target, `its PID 1 (${program}) exits on its stop signal (${end.signal}) as the SIGKILL is sent`, true);
      return { ...target, end: { exits: end.exits } };
    }
    if (timeoutS < 0) throw refuse(target, `its PID 1 (${program}) ignores its stop signal (${end.signal}), so dockerd would wait for ever`, true);
    return { ...target, end: { killedAfterS: timeoutS, signal: end.signal } };
  });
}

/**
 * The planned stops, made at once (the CLI's and the shutdown's stops run in parallel): those
 * that exit on the signal first, then one wait of the longest timeout, said as `timeout`
 * names it, and the kills.
 */
export function stopNow(tx: Tx, planned: PlannedStop[], timeout = 'the stop timeout', remove?: boolean): void {
  for (const { c, end } of planned) if ('exits' in end) stopContainer(tx, c, end.exits, remove ?? c.autoRemove);
  const killed = planned.flatMap(({ c, end }) => ('killedAfterS' in end ? [{ c, seconds: end.killedAfterS, signal: end.signal }] : []));
  if (!killed.length) return;
  const seconds = Math.max(...killed.map((k) => k.seconds));
  if (seconds > 0) tx.daemonWaits(seconds * 1e9, `${timeout}: ${ignoringStopSignal(killed)}; then SIGKILL`);
  for (const { c } of killed) stopContainer(tx, c, KILLED_EXIT, remove ?? c.autoRemove);
}

/** SIGKILL: the container ends at once, Exited (137), whatever its PID 1. */
export function killContainer(tx: Tx, c: Draft<Container>): void {
  stopContainer(tx, c, KILLED_EXIT);
}
