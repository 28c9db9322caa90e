/**
 * SIGINT and SIGTERM while an emu run holds kernel objects: tear the run down, then exit as a
 * shell reports a death by that signal (130, 143), without a stack. Whatever the interrupted
 * run throws meanwhile is the interruption's doing and is not reported (see main).
 */
import * as os from 'os';
import { InterruptGuard } from '../emu/backend';

const SIGNALS = ['SIGINT', 'SIGTERM'] as const;
const teardowns = new Set<() => Promise<void>>();
let caught: { signal: NodeJS.Signals; done: Promise<number> } | undefined;

export function exitCodeFor(signal: NodeJS.Signals): number {
  return 128 + os.constants.signals[signal];
}

function onSignal(signal: NodeJS.Signals): void {
  // A second Ctrl-C while tearing down is ignored: stopping halfway would leave the kernel objects behind.
  if (caught) return;
  const done = Promise.allSettled([...teardowns].map((t) => t())).then((results) => {
    for (const r of results) if (r.status === 'rejected') process.stderr.write(`cnmlab: teardown after ${signal}: ${String((r.reason as Error)?.message ?? r.reason).split('\n')[0]}\n`);
    return exitCodeFor(signal);
  });
  caught = { signal, done };
  void done.then((code) => process.exit(code));
}

/**
 * Handlers are installed only while a run needs tearing down: otherwise a signal keeps its
 * default action (a busy sim run stops at once). They stay through the teardown itself:
 * a second Ctrl-C must not kill cnmlab halfway through removing its namespaces.
 */
export const signalGuard: InterruptGuard = {
  protect(teardown) {
    if (teardowns.size === 0) for (const s of SIGNALS) process.on(s, onSignal);
    teardowns.add(teardown);
    return () => {
      teardowns.delete(teardown);
      if (teardowns.size === 0 && !caught) for (const s of SIGNALS) process.removeListener(s, onSignal);
    };
  },
};

/** The exit code once an interruption's teardown is done, or undefined when no signal came. */
export function interruption(): Promise<number> | undefined {
  return caught?.done;
}
