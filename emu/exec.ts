/** Runs iproute2 and friends: argv only, never a shell; batches through `ip -batch -`. */
import { execa } from 'execa';

export class CommandFailed extends Error {}

const ENV = { PATH: `${process.env.PATH ?? ''}:/usr/sbin:/sbin`, LC_ALL: 'C' };

export interface Result {
  stdout: string;
  stderr: string;
  exitCode: number;
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
