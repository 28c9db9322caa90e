/** Runs iproute2 and friends: argv only, never a shell; batches through `ip -batch`. */
import * as os from 'os';
import { spawn } from 'child_process';
import type { CommandOutput, StepBounds, StepEnd } from '../sim/backend';
import { endedOutput } from '../sim/runner/bounds';
import { MACHINE_NAMESPACE, NamespaceJob, NFTABLES_REFUSED, runInNamespaces } from './nsworker';
import { iptablesSendsNatBatch, natBatch } from './nftables';

export class CommandFailed extends Error {}

const ENV = { PATH: `${process.env.PATH ?? ''}:/usr/sbin:/sbin`, LC_ALL: 'C' };

export interface Result {
  stdout: string;
  stderr: string;
  exitCode: number;
}

/** A command watched at a terminal: its output as it comes, and Ctrl-C sent on as SIGINT. */
export interface Watch {
  onOutput(stream: 'stdout' | 'stderr', text: string): void;
  interrupt: AbortSignal;
}

/**
 * Runs a program to its end: its output, and its exit code (1 when it could not start or a
 * signal ended it, as when `cancelSignal` fires: SIGTERM). Never rejects. child_process
 * itself: a wrapper package costs every emu run its loading, on the way to the first namespace.
 */
export function run(file: string, args: string[], input?: string, cancelSignal?: AbortSignal): Promise<Result> {
  return new Promise((resolve) => {
    try {
      const child = spawn(file, args, { env: { ...process.env, ...ENV }, stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'], signal: cancelSignal });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      // A program that could not start (then its code is the errno's, negative) or was cancelled ends here too: 'close' follows every spawn.
      child.on('error', () => undefined);
      child.on('close', (code) => resolve({ stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), exitCode: code === null || code < 0 ? 1 : code }));
      // With no descriptors left (EMFILE) spawn returns a child without its pipes, and 'close' comes alone.
      child.stdout?.on('data', (d: Buffer) => out.push(d));
      child.stderr?.on('data', (d: Buffer) => err.push(d));
      if (input !== undefined && child.stdin) {
        child.stdin.on('error', () => undefined);
        child.stdin.end(input);
      }
    } catch (e) {
      // spawn throws at once for an errno outside the few it reports by 'error' (ENOMEM, E2BIG…).
      resolve({ stdout: '', stderr: `${file}: ${(e as Error).message}\n`, exitCode: 1 });
    }
  });
}

export async function must(file: string, args: string[], input?: string): Promise<string> {
  const r = await run(file, args, input);
  if (r.exitCode !== 0) throw new CommandFailed(`${file} ${args.join(' ')}: ${(r.stderr || r.stdout).trim()}${input ? `\n--- batch ---\n${input}` : ''}`);
  return r.stdout;
}

/** Statistics for the note and the benchmark: how many programs a setup started. */
export const processCount = { value: 0 };

/**
 * One `ip -batch -` (or `bridge`) process for many commands in the machine's own namespace
 * (`ip netns add` and `del`), started by the namespace worker: a fork of a small Perl, not
 * of this Node process, whose fork costs more as its heap grows. `force`: go on past a line
 * that fails (a namespace already gone).
 */
export async function batch(tool: 'ip' | 'bridge', lines: string[][], force = false): Promise<void> {
  if (lines.length === 0) return;
  processCount.value++;
  const input = lines.map((l) => l.join(' ')).join('\n') + '\n';
  const args = [...(force ? ['-force'] : []), '-batch', '-'];
  const [r] = await runInNamespaces([{ netns: MACHINE_NAMESPACE, program: [tool, ...args], input }]);
  // -force goes on past a line that fails; a batch the worker refused (126: it ran nothing) fails whatever the force.
  if (r.code !== 0 && (!force || r.code === 126)) throw new CommandFailed(`${tool} ${args.join(' ')}: ${r.output.trim()}\n--- batch ---\n${input}`);
}

/**
 * One batch in each of many namespaces: `ip -batch -` (or `bridge`) run inside each by the
 * namespace worker (nsworker.ts), several at a time, its commands on its stdin.
 */
export async function batchEach(tool: 'ip' | 'bridge', batches: { netns: string; lines: string[][] }[], opts: { force?: boolean; onDone?: (namespaces: number) => void } = {}): Promise<void> {
  const todo = batches.filter((b) => b.lines.length > 0);
  // A big setup goes in chunks, so a progress bar can move between them.
  for (let i = 0; i < todo.length; i += CHUNK) {
    const chunk = todo.slice(i, i + CHUNK);
    await batchChunk(tool, chunk, !!opts.force);
    opts.onDone?.(chunk.length);
  }
}

const CHUNK = 64;

async function batchChunk(tool: 'ip' | 'bridge', todo: { netns: string; lines: string[][] }[], force: boolean): Promise<void> {
  const inputs = todo.map((b) => b.lines.map((l) => l.join(' ')).join('\n') + '\n');
  const results = await runInNamespaces(todo.map((b, i) => ({ netns: b.netns, program: [tool, ...(force ? ['-force'] : []), '-batch', '-'], input: inputs[i] })));
  processCount.value += results.filter((r) => !r.inProcess).length;
  const failed = results.findIndex((r) => r.code !== 0);
  if (failed < 0 || force) return;
  // iproute2 names the line that failed (`Command failed -:LINE`): shown, not only its number.
  const output = results[failed].output.trim();
  const line = Number(/Command failed -:(\d+)/.exec(output)?.[1]);
  const what = line > 0 ? `\n--- line ${line} ---\n${inputs[failed].split('\n')[line - 1]}` : `\n--- batch ---\n${inputs[failed]}`;
  throw new CommandFailed(`${tool} -n ${todo[failed].netns} -batch -: ${output}${what}`);
}

/** What one namespace needs before any device lands in it: its sysctls, and its iptables-restore input (empty for none). */
export interface NamespaceSetup {
  netns: string;
  sysctls: { key: string; value: string }[];
  rules: string;
}

/**
 * Every namespace's setup through the namespace worker: its sysctls written to /proc/sys,
 * as `sysctl -w` writes them, by the worker inside the namespace (no program), then its
 * rules through `iptables-restore --noflush` there; or, for a sandbox's DNS rules, the
 * nf_tables batch iptables-nft would send for them, sent by the worker itself (nftables.ts).
 * A batch the kernel refused changed nothing: iptables-restore then does the work, and
 * says what fails. One the worker could not send or see answered fails the setup.
 */
export async function setupEach(setups: NamespaceSetup[]): Promise<void> {
  const todo = setups.filter((s) => s.sysctls.length > 0 || s.rules.length > 0);
  const restore = (s: NamespaceSetup) => ({ program: ['iptables-restore', '--noflush'], input: s.rules });
  const batches: (Buffer | undefined)[] = [];
  // Each namespace's job goes to the worker as soon as it is made: the kernel takes one batch while the next is built.
  const results = await Promise.all(todo.map(async (s, i) => {
    const batch = s.rules && (await iptablesSendsNatBatch()) ? natBatch(s.rules) : undefined;
    batches[i] = batch;
    const job: NamespaceJob = { netns: s.netns, sysctls: s.sysctls, ...(batch ? { nftables: batch } : s.rules ? restore(s) : {}) };
    if (job.program) processCount.value++;
    const [r] = await runInNamespaces([job]);
    return r;
  }));
  // Only a batch the kernel refused is done again: one the worker could not see to its end (NFTABLES_UNSURE) may
  // have applied, and iptables-restore would then fail on chains that exist; it fails the setup as any other code.
  const refused = todo.flatMap((s, i) => (batches[i] && results[i].code === NFTABLES_REFUSED ? [i] : []));
  processCount.value += refused.length;
  const again = await runInNamespaces(refused.map((i) => ({ netns: todo[i].netns, ...restore(todo[i]) })));
  refused.forEach((at, i) => (results[at] = again[i]));
  const failed = results.findIndex((r) => r.code !== 0);
  if (failed >= 0) throw new CommandFailed(`namespace setup of ${todo[failed].netns}: ${results[failed].output.trim()}${todo[failed].rules ? `\n--- rules ---\n${todo[failed].rules}` : ''}`);
}

/**
 * libnetwork deletes a rule only after `iptables -C` found it: a rule a scenario's own
 * command already took away is skipped. iptables-restore stops at the first line that fails
 * and rolls back that line's table block (`*table` … `COMMIT`), keeping the blocks before it:
 * so the script is run again from that block's start, without the deletion that failed.
 */
export async function restoreTolerant(netns: string, commands: string[][], script: (commands: string[][]) => string): Promise<void> {
  let rest = commands;
  while (rest.length > 0) {
    const text = script(rest);
    processCount.value++;
    const [r] = await runInNamespaces([{ netns, program: ['iptables-restore', '--noflush'], input: text }]);
    if (r.code === 0) return;
    const failedLine = Number(/line (\d+) failed/.exec(r.output)?.[1]);
    // Lines before the failing one: table headers, COMMITs and commands (one line each, in order).
    const before = text.split('\n').slice(0, Math.max(0, failedLine - 1));
    const isCommand = (l: string) => !l.startsWith('*') && l !== 'COMMIT';
    const failed = before.filter(isCommand).length;
    const blockStart = failed - before.slice(before.map((l) => l.startsWith('*')).lastIndexOf(true) + 1).filter(isCommand).length;
    if (!(failedLine > 0) || !rest[failed]?.includes('-D')) throw new CommandFailed(`iptables-restore in ${netns}: ${r.output.trim()}\n--- script ---\n${text}`);
    rest = [...rest.slice(blockStart, failed), ...rest.slice(failed + 1)];
  }
}

/** The whole environment a step's program gets: nothing of cnmlab's own (no sudo or CI variables). */
const STEP_ENV = { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', LC_ALL: 'C', HOME: '/' };

/**
 * Runs a step's program bounded as runner/bounds says: stdin closed (/dev/null), the
 * process in a group of its own (setsid), and that whole group killed when the step's
 * timeout passes or either stream passes the output cap, or when `cancel` fires.
 */
export function runBounded(file: string, args: string[], bounds: StepBounds, cancel?: AbortSignal, watch?: Watch): Promise<CommandOutput> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true, env: STEP_ENV, cwd: '/' });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let outBytes = 0, errBytes = 0;
    let end: StepEnd | undefined;
    const killGroup = () => {
      try {
        if (child.pid) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // the group is gone already
      }
    };
    const stop = (why: StepEnd) => {
      end ??= why;
      killGroup();
    };
    const timer = setTimeout(() => stop('timed-out'), bounds.timeoutNs / 1e6);
    const onCancel = () => killGroup();
    cancel?.addEventListener('abort', onCancel);
    if (cancel?.aborted) killGroup();
    // Ctrl-C at a terminal is SIGINT to the foreground group: ping then prints its statistics.
    const onInterrupt = () => {
      try {
        if (child.pid) process.kill(-child.pid, 'SIGINT');
      } catch {
        // the group is gone already
      }
    };
    watch?.interrupt.addEventListener('abort', onInterrupt, { once: true });
    child.stdout!.on('data', (d: Buffer) => {
      if (outBytes <= bounds.outputCap) out.push(d);
      outBytes += d.length;
      watch?.onOutput('stdout', d.toString('utf8'));
      if (outBytes > bounds.outputCap) stop('output-cut');
    });
    child.stderr!.on('data', (d: Buffer) => {
      if (errBytes <= bounds.outputCap) err.push(d);
      errBytes += d.length;
      watch?.onOutput('stderr', d.toString('utf8'));
      if (errBytes > bounds.outputCap) stop('output-cut');
    });
    child.on('error', (e) => {
      clearTimeout(timer);
      cancel?.removeEventListener('abort', onCancel);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      cancel?.removeEventListener('abort', onCancel);
      watch?.interrupt.removeEventListener('abort', onInterrupt);
      // What the program left running in its group goes with it.
      killGroup();
      const raw = { stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), exitCode: code ?? 128 + signalNumber(signal) };
      resolve(endedOutput(raw, bounds, end));
    });
  });
}

function signalNumber(signal: NodeJS.Signals | null): number {
  return signal ? (os.constants.signals[signal] ?? 0) : 0;
}
