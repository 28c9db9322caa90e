/** Runs iproute2 and friends: argv only, never a shell; batches through `ip -batch`. */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawn } from 'child_process';
import { execa } from 'execa';
import type { CommandOutput, StepBounds, StepEnd } from '../sim/backend';
import { endedOutput } from '../sim/runner/bounds';

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

export async function run(file: string, args: string[], input?: string, cancelSignal?: AbortSignal): Promise<Result> {
  const r = await execa(file, args, { input, reject: false, env: ENV, extendEnv: true, stripFinalNewline: false, cancelSignal });
  return { stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? ''), exitCode: r.exitCode ?? 1 };
}

export async function must(file: string, args: string[], input?: string): Promise<string> {
  const r = await run(file, args, input);
  if (r.exitCode !== 0) throw new CommandFailed(`${file} ${args.join(' ')}: ${(r.stderr || r.stdout).trim()}${input ? `\n--- batch ---\n${input}` : ''}`);
  return r.stdout;
}

/** Statistics for the note and the benchmark: how many processes a setup took. */
export const processCount = { value: 0 };

/** One `ip [-n NS] -batch -` (or `bridge`) process for many commands in one namespace. */
export async function batch(tool: 'ip' | 'bridge', netns: string | undefined, lines: string[][]): Promise<void> {
  if (lines.length === 0) return;
  processCount.value++;
  await must(tool, [...(netns ? ['-n', netns] : []), '-batch', '-'], lines.map((l) => l.join(' ')).join('\n') + '\n');
}

/**
 * Batch processes xargs keeps running at once. Each is mostly start-up (exec, libraries, the
 * mount namespace `ip -n` makes); twice the cores keeps them busy without thrashing.
 */
const PARALLEL_BATCHES = Math.max(2, os.availableParallelism() * 2);

/**
 * One batch in each of many namespaces, through a single xargs that starts
 * `ip -n NS -batch FILE` per namespace, several at a time. Each process Node spawns costs it
 * about 5 ms; xargs starts one in well under 1. Items go NUL-separated, so each name is
 * exactly one argv item (nothing is parsed by a shell). The batch files stay in `dir` for
 * inspection until the run's state is removed.
 */
export async function batchEach(tool: 'ip' | 'bridge', batches: { netns: string; lines: string[][] }[], dir: string, opts: { force?: boolean; onDone?: (namespaces: number) => void } = {}): Promise<void> {
  const todo = batches.filter((b) => b.lines.length > 0);
  // A big setup goes in chunks, so a progress bar can move between them.
  for (let i = 0; i < todo.length; i += CHUNK) {
    const chunk = todo.slice(i, i + CHUNK);
    await batchChunk(tool, chunk, dir, !!opts.force);
    opts.onDone?.(chunk.length);
  }
}

const CHUNK = 64;

async function batchChunk(tool: 'ip' | 'bridge', todo: { netns: string; lines: string[][] }[], dir: string, force: boolean): Promise<void> {
  if (todo.length === 1 && !force) return batch(tool, todo[0].netns, todo[0].lines);
  fs.mkdirSync(dir, { recursive: true });
  const items: string[] = [];
  for (const b of todo) {
    const file = path.join(dir, `${b.netns}.${tool}`);
    fs.writeFileSync(file, b.lines.map((l) => l.join(' ')).join('\n') + '\n');
    items.push('-n', b.netns, ...(force ? ['-force'] : []), '-batch', file);
  }
  processCount.value += 1 + todo.length;
  const perCommand = force ? 5 : 4;
  const r = await run('xargs', ['-0', '-P', String(PARALLEL_BATCHES), '-n', String(perCommand), tool], items.join('\0') + '\0');
  if (r.exitCode !== 0 && !force) throw new CommandFailed(`${tool} batches in ${dir}: ${(r.stderr || r.stdout).trim()}`);
}

/** What one namespace needs before any device lands in it: its sysctls, and its iptables-restore input (empty for none). */
export interface NamespaceSetup {
  netns: string;
  sysctls: { key: string; value: string }[];
  rules: string;
}

/**
 * Run in a namespace (argv: the sysctl file, the rules file): each `KEY VALUE` line written
 * to /proc/sys/KEY, as `sysctl -w` writes it (the files under /proc/sys/net are those of the
 * writer's network namespace), then the rules through iptables-restore, which the shell
 * becomes. Fixed text: the namespace's data reaches it only as file contents read by `read`.
 */
const SETUP_SCRIPT = 'while read -r key value; do printf \'%s\\n\' "$value" > "/proc/sys/$key" || exit 1; done < "$1"; [ -s "$2" ] || exit 0; exec iptables-restore --noflush "$2"';

/** A sysctl key as its path under /proc/sys (net.ipv4.ip_forward: net/ipv4/ip_forward); nothing that could leave /proc/sys. */
function sysctlPath(key: string): string {
  if (!/^[a-z0-9_]+(\.[A-Za-z0-9_-]+)+$/.test(key)) throw new Error(`refusing sysctl key ${JSON.stringify(key)}`);
  return key.replace(/\./g, '/');
}

/**
 * Every namespace's setup through one xargs, several at a time: `nsenter --net=/run/netns/NS
 * sh -c SETUP_SCRIPT`, three programs (nsenter, sh, iptables-restore) where `ip netns exec`
 * per sysctl and per rule file took two each, and no mount namespace to build (nsenter
 * enters the network namespace only; neither the writes nor iptables-restore read what `ip
 * netns exec` would remount). The files stay in `dir` for inspection.
 */
export async function setupEach(setups: NamespaceSetup[], dir: string): Promise<void> {
  const todo = setups.filter((s) => s.sysctls.length > 0 || s.rules.length > 0);
  if (todo.length === 0) return;
  fs.mkdirSync(dir, { recursive: true });
  const items: string[] = [];
  for (const s of todo) {
    const sysctls = path.join(dir, `${s.netns}.sysctl`), rules = path.join(dir, `${s.netns}.iptables`);
    fs.writeFileSync(sysctls, s.sysctls.map((c) => `${sysctlPath(c.key)} ${c.value}\n`).join(''));
    fs.writeFileSync(rules, s.rules);
    items.push(`--net=/run/netns/${s.netns}`, '--', 'sh', '-c', SETUP_SCRIPT, 'sh', sysctls, rules);
  }
  processCount.value += 1 + todo.length * 3;
  const r = await run('xargs', ['-0', '-P', String(PARALLEL_BATCHES), '-n', '8', 'nsenter'], items.join('\0') + '\0');
  if (r.exitCode !== 0) throw new CommandFailed(`namespace setup in ${dir}: ${(r.stderr || r.stdout).trim()}`);
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
    const r = await run('nsenter', [`--net=/run/netns/${netns}`, '--', 'iptables-restore', '--noflush'], text);
    if (r.exitCode === 0) return;
    const failedLine = Number(/line (\d+) failed/.exec(r.stderr)?.[1]);
    // Lines before the failing one: table headers, COMMITs and commands (one line each, in order).
    const before = text.split('\n').slice(0, Math.max(0, failedLine - 1));
    const isCommand = (l: string) => !l.startsWith('*') && l !== 'COMMIT';
    const failed = before.filter(isCommand).length;
    const blockStart = failed - before.slice(before.map((l) => l.startsWith('*')).lastIndexOf(true) + 1).filter(isCommand).length;
    if (!(failedLine > 0) || !rest[failed]?.includes('-D')) throw new CommandFailed(`iptables-restore in ${netns}: ${(r.stderr || r.stdout).trim()}\n--- script ---\n${text}`);
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
