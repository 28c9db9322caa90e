/**
 * `docker stop` and `docker kill`, as docker/cli v20.10 runs them (cli/command/container/
 * stop.go, kill.go: a name printed per container that succeeded, in the order given, then
 * every error in one message, exit 1) and moby v20.10's daemon answers them (daemon/stop.go,
 * kill.go).
 *
 * A stop sends the container's stop signal (SIGTERM; nginx's image declares SIGQUIT), waits the
 * stop timeout (10 s unless -t), then SIGKILLs what still runs: how the container's PID 1 takes
 * its stop signal decides (sim/model/main-process.ts). A shell as PID 1 ignores it, so the
 * stop waits the whole timeout (the daemon's wait: the step lasts it, and the model's clock
 * moves by it) and the container is Exited (137); nginx exits 0 at once. The CLI stops its
 * containers in parallel, so one `docker stop a b` waits one timeout. A container that is not
 * running is no error for stop (the daemon's 304).
 *
 * A line with a PID 1 whose handling of the signal the model does not know is refused whole,
 * as not modelled, before anything changes.
 *
 * `docker restart` is not modelled: its stop and start in one step would delete a network's
 * namespace and make it again, which emu applies in the other order (namespaces are made
 * before any is deleted).
 */
import { ParsedFlags, first } from './argv';
import { DockerError, notModelledError } from './errors';
import { stopContainer } from '../model/containers';
import { DEFAULT_STOP_TIMEOUT_S, ignoringStopSignal, KILLED_EXIT, mainProgram, onSignal, onStop, Signal, stopSignal, unknownMainProcess } from '../model/main-process';
import { findContainer, Tx } from '../model/tx';
import type { Container } from '../model/world';
import { CommandOutput } from '../commands/registry';
import type { Draft } from 'immer';

/** pflag's int flag (strconv.ParseInt, base 0: 0x hex, 0o or a leading 0 octal, 0b binary), its error as the CLI prints it. */
function intFlag(p: ParsedFlags, long: string, short: string, command: string): number | undefined {
  const v = first(p, long);
  if (v === undefined) return undefined;
  const m = /^([+-]?)(?:0[xX]([0-9a-fA-F]+)|0[oO]?([0-7]+)|0[bB]([01]+)|([1-9][0-9]*|0))$/.exec(v);
  if (!m) throw new DockerError(`invalid argument "${v}" for "-${short}, --${long}" flag: strconv.ParseInt: parsing "${v}": invalid syntax\nSee '${command} --help'.`, 125);
  const [, sign, hex, oct, bin, dec] = m;
  const n = hex !== undefined ? parseInt(hex, 16) : oct !== undefined ? parseInt(oct, 8) : bin !== undefined ? parseInt(bin, 2) : Number(dec);
  return sign === '-' ? -n : n;
}

/** How one running container's stop ends: at once with a status, or killed after the timeout. */
type StopEnd = { exits: number } | { killedAfterS: number; signal: Signal };

/** What a stop with `timeoutS` does to `c` (running), or the refusal when the model does not know. */
function stopEnd(c: Container, ref: string, timeoutS: number, command: string): StopEnd {
  const end = onStop(c);
  if (!end) throw notModelledError(`${command} ${ref}: ${unknownMainProcess(c, stopSignal(c))}`);
  const program = mainProgram(c);
  if ('exits' in end) {
    // containerStop's wait with no time left SIGKILLs at once: a race with the process's own exit.
    if (timeoutS === 0) throw notModelledError(`${command} -t 0 ${ref}: its PID 1 (${program}) exits on its stop signal (${end.signal}) as the SIGKILL is sent`);
    return { exits: end.exits };
  }
  if (timeoutS < 0) throw notModelledError(`${command} -t ${timeoutS} ${ref}: its PID 1 (${program}) ignores its stop signal (${end.signal}), so dockerd would wait for ever`);
  return { killedAfterS: timeoutS, signal: end.signal };
}

/** The daemon's wait for those it kills after the timeout, said as the step reports it. */
function waitForKills(tx: Tx, killed: { c: Draft<Container>; seconds: number; signal: Signal }[]): void {
  const seconds = Math.max(...killed.map((k) => k.seconds));
  if (seconds <= 0) return;
  tx.daemonWaits(seconds * 1e9, `the stop timeout: ${ignoringStopSignal(killed)}; then SIGKILL`);
}

export function stopCommand(tx: Tx, host: string, p: ParsedFlags): CommandOutput {
  const timeoutS = intFlag(p, 'time', 't', 'docker stop') ?? DEFAULT_STOP_TIMEOUT_S;
  const h = tx.host(host);
  const results: { ref: string; error?: string }[] = [];
  const ending: { c: Draft<Container>; end: StopEnd }[] = [];
  for (const ref of p.args) {
    const c = findContainer(h, ref);
    if (!c) {
      results.push({ ref, error: `Error response from daemon: No such container: ${ref}` });
      continue;
    }
    results.push({ ref });
    if (c.state === 'running' && !ending.some((e) => e.c.id === c.id)) ending.push({ c, end: stopEnd(c, ref, timeoutS, 'docker stop') });
  }
  for (const { c, end } of ending) if ('exits' in end) stopContainer(tx, c, end.exits);
  const killed = ending.flatMap(({ c, end }) => ('killedAfterS' in end ? [{ c, seconds: end.killedAfterS, signal: end.signal }] : []));
  if (killed.length) {
    waitForKills(tx, killed);
    for (const { c } of killed) stopContainer(tx, c, KILLED_EXIT);
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
  const raw = first(p, 'signal') ?? 'KILL';
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
