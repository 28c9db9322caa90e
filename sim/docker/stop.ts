/**
 * `docker stop`, `docker restart` and `docker kill`, as docker/cli v20.10 runs them
 * (cli/command/container/stop.go, restart.go, kill.go: a name printed per container that
 * succeeded, in the order given, then every error in one message, exit 1) and moby v20.10's
 * daemon answers them (daemon/stop.go, restart.go, kill.go). How a stop ends is the model's
 * (sim/model/stop.ts). The CLI stops its containers in parallel, so one `docker stop a b`
 * waits one timeout; a container that is not running is no error for stop (the daemon's 304).
 *
 * A line with a PID 1 whose handling of the signal the model does not know is refused whole,
 * as not modelled, before anything changes.
 */
import { lastValue, ParsedFlags } from './argv';
import { DockerError, notModelledError } from './errors';
import { startStopped, stopContainer } from '../model/containers';
import { DEFAULT_STOP_TIMEOUT_S, KILLED_EXIT, onSignal, Signal, unknownMainProcess } from '../model/main-process';
import { planStops, StopRefusal, StopTarget, stopNow } from '../model/stop';
import { DaemonRefusal } from '../model/refusal';
import { findContainer, Tx } from '../model/tx';
import type { Container } from '../model/world';
import { CommandOutput } from '../commands/registry';
import { refuseUnstartable } from './nodes-and-start';
import type { Draft } from 'immer';

/** pflag's int flag (strconv.ParseInt, base 0: 0x hex, 0o or a leading 0 octal, 0b binary), its error as the CLI prints it. */
function intFlag(p: ParsedFlags, long: string, short: string, command: string): number | undefined {
  const v = lastValue(p, long);
  if (v === undefined) return undefined;
  const m = /^([+-]?)(?:0[xX]([0-9a-fA-F]+)|0[oO]?([0-7]+)|0[bB]([01]+)|([1-9][0-9]*|0))$/.exec(v);
  if (!m) throw new DockerError(`invalid argument "${v}" for "-${short}, --${long}" flag: strconv.ParseInt: parsing "${v}": invalid syntax\nSee '${command} --help'.`, 125);
  const [, sign, hex, oct, bin, dec] = m;
  const n = hex !== undefined ? parseInt(hex, 16) : oct !== undefined ? parseInt(oct, 8) : bin !== undefined ? parseInt(bin, 2) : Number(dec);
  return sign === '-' ? -n : n;
}

/** docker/cli's stop and restart refuse, as not modelled, what the model cannot tell of a stop (model/stop.ts). */
function stopRefusal(command: string, timeoutS: number): StopRefusal {
  return ({ ref }, why, timed) => notModelledError(`${command}${timed ? ` -t ${timeoutS}` : ''} ${ref}: ${why}`);
}

export function stopCommand(tx: Tx, host: string, p: ParsedFlags): CommandOutput {
  const timeoutS = intFlag(p, 'time', 't', 'docker stop') ?? DEFAULT_STOP_TIMEOUT_S;
  const h = tx.host(host);
  const results: { ref: string; error?: string }[] = [];
  const running: StopTarget[] = [];
  for (const ref of p.args) {
    const c = findContainer(h, ref);
    if (!c) {
      results.push({ ref, error: `Error response from daemon: No such container: ${ref}` });
      continue;
    }
    results.push({ ref });
    if (c.state === 'running' && !running.some((r) => r.c.id === c.id)) running.push({ c, ref });
  }
  stopNow(tx, planStops(running, timeoutS, stopRefusal('docker stop', timeoutS)));
  return printed(results);
}

/**
 * `docker restart`: docker/cli restarts its containers one at a time (restart.go), so each
 * running one's stop waits its own timeout; the daemon's containerRestart stops a running
 * container (its --rm set aside meanwhile, so the stop does not remove it) and starts it
 * again, in a new sandbox (model/containers.ts startStopped). The stop's kernel changes reach
 * the kernel before the start's (Tx.stage): the start may make again a namespace the stop
 * deleted (an overlay's, when the container was its last on the host). A start the daemon
 * refuses is named "Cannot restart container"; every stop, and what the model cannot start
 * again, is judged before anything changes.
 */
export function restartCommand(tx: Tx, host: string, p: ParsedFlags): CommandOutput {
  const timeoutS = intFlag(p, 'time', 't', 'docker restart') ?? DEFAULT_STOP_TIMEOUT_S;
  const h = tx.host(host);
  const named = p.args.map((ref) => ({ ref, c: findContainer(h, ref) }));
  const stopped: StopTarget[] = [];
  const stoppedAt: number[] = [];
  named.forEach(({ ref, c }, i) => {
    if (!c) return;
    refuseUnstartable(tx, host, c, 'docker restart', ref);
    // Running now, or restarted by an earlier name of the line: this restart stops it.
    if (c.state === 'running' || named.slice(0, i).some((n) => n.c?.id === c.id)) {
      stopped.push({ c, ref });
      stoppedAt.push(i);
    }
  });
  const planned = planStops(stopped, timeoutS, stopRefusal('docker restart', timeoutS));
  const planOf = new Map(stoppedAt.map((i, k) => [i, planned[k]]));
  const results: { ref: string; error?: string }[] = [];
  for (const [i, { ref, c }] of named.entries()) {
    if (!c) {
      results.push({ ref, error: `Error response from daemon: No such container: ${ref}` });
      continue;
    }
    if (c.state === 'running') {
      // Every container running here was planned above: running then, or restarted since by this line.
      stopNow(tx, [planOf.get(i)!], undefined, false);
      tx.stage();
    }
    try {
      startStopped(tx, c);
      results.push({ ref });
    } catch (e) {
      if (!(e instanceof DaemonRefusal)) throw e;
      results.push({ ref, error: `Error response from daemon: Cannot restart container ${ref}: ${e.message}` });
    }
  }
  return printed(results);
}

/** pkg/signal's SignalMap on Linux (moby v20.10 signal_linux.go): each name, without SIG, and its number. */
const SIGNAL_MAP = new Map<string, number>([
  ...['HUP', 'INT', 'QUIT', 'ILL', 'TRAP', 'ABRT', 'BUS', 'FPE', 'KILL', 'USR1', 'SEGV', 'USR2', 'PIPE', 'ALRM', 'TERM', 'STKFLT', 'CHLD', 'CONT', 'STOP', 'TSTP', 'TTIN', 'TTOU', 'URG', 'XCPU', 'XFSZ', 'VTALRM', 'PROF', 'WINCH', 'IO', 'PWR', 'SYS'].map((name, i): [string, number] => [name, i + 1]),
  ['IOT', 6], ['CLD', 17], ['POLL', 29], ['RTMIN', 34], ['RTMAX', 64],
  ...Array.from({ length: 15 }, (_, i): [string, number] => [`RTMIN+${i + 1}`, 34 + i + 1]),
  ...Array.from({ length: 14 }, (_, i): [string, number] => [`RTMAX-${i + 1}`, 64 - i - 1]),
]);

const SUPPORTED_SIGNALS = new Set(SIGNAL_MAP.values());

/** Go's int64 range, which strconv.Atoi takes. */
const INT64 = { min: -(2n ** 63n), max: 2n ** 63n - 1n };

/**
 * signal.ParseSignal as the daemon runs it on `docker kill -s`: a number (strconv.Atoi) as it
 * is, whatever signal it names, but 0; else a SignalMap name (any case, SIG optional); undefined
 * when it is neither. The number comes as the API's uint64: a negative one wraps.
 */
function parseSignal(raw: string): bigint | undefined {
  if (/^[+-]?\d+$/.test(raw)) {
    const n = BigInt(raw);
    if (n >= INT64.min && n <= INT64.max) return n === 0n ? undefined : BigInt.asUintN(64, n);
  }
  const number = SIGNAL_MAP.get(raw.toUpperCase().replace(/^SIG/, ''));
  return number === undefined ? undefined : BigInt(number);
}

/** The signals whose effect the model knows: SIGKILL's (the kill itself), and the stop signals' (main-process.ts). */
const MODELLED_SIGNALS = new Map<bigint, 'SIGKILL' | Signal>([[9n, 'SIGKILL'], [15n, 'SIGTERM'], [3n, 'SIGQUIT']]);

/**
 * The daemon's answers, per container in the order given: the signal parsed before any lookup
 * (Invalid signal), then ContainerKill's lookup, its check that Linux has that signal (a number
 * outside SignalMap: 32, 33, 65), then the kill of a running container. `-s ""` sends no signal
 * parameter: the daemon kills with SIGKILL.
 */
export function killCommand(tx: Tx, host: string, p: ParsedFlags): CommandOutput {
  const raw = lastValue(p, 'signal') ?? 'KILL';
  const signal = raw === '' ? 9n : parseSignal(raw);
  const h = tx.host(host);
  if (signal === undefined) return printed(p.args.map((ref) => ({ ref, error: `Error response from daemon: Invalid signal: ${raw}` })));
  const supported = SUPPORTED_SIGNALS.has(Number(signal));
  const modelled = MODELLED_SIGNALS.get(signal);
  if (supported && !modelled) throw notModelledError(`docker kill -s ${raw}: what the container's PID 1 does with that signal`);
  const results: { ref: string; error?: string }[] = [];
  const ends: { c: Draft<Container>; status?: number }[] = [];
  for (const ref of p.args) {
    const c = findContainer(h, ref);
    const cannot = (why: string) => results.push({ ref, error: `Error response from daemon: Cannot kill container: ${ref}: ${why}` });
    if (!c) cannot(`No such container: ${ref}`);
    // Not modelled, the signal is one Linux lacks: a supported one was refused above.
    else if (!modelled) cannot(`The linux daemon does not support signal ${signal}`);
    else if (c.state !== 'running' || ends.some((e) => e.c.id === c.id)) cannot(`Container ${c.id} is not running`);
    else {
      results.push({ ref });
      if (modelled === 'SIGKILL') ends.push({ c, status: KILLED_EXIT });
      else {
        const end = onSignal(c, modelled);
        if (!end) throw notModelledError(`docker kill -s ${raw} ${ref}: ${unknownMainProcess(c, modelled)}`);
        ends.push({ c, status: 'exits' in end ? end.exits : undefined });
      }
    }
  }
  // A PID 1 that ignores the signal runs on: the kill still succeeded.
  for (const { c, status } of ends) if (status !== undefined) stopContainer(tx, c, status);
  return printed(results);
}

/** docker/cli's report: each container's name on success, the errors joined after, exit 1 if any. */
function printed(results: { ref: string; error?: string }[]): CommandOutput {
  const errors = results.flatMap((r) => (r.error ? [r.error] : []));
  return { stdout: results.filter((r) => !r.error).map((r) => `${r.ref}\n`).join(''), stderr: errors.map((e) => `${e}\n`).join(''), exitCode: errors.length ? 1 : 0 };
}
