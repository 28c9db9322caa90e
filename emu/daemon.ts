/**
 * The processes emu leaves running inside a namespace (the embedded DNS responder, dockerd's
 * socket holders, weave's router): started with `ip netns exec`, which execs the program in
 * place so the pid recorded is the daemon's own, and ready once it prints `ready`.
 */
import { ChildProcess, spawn } from 'child_process';
import { EmuEnvironmentError, RunRecord } from './state';

export interface DaemonStart {
  /** The program and its arguments, run in `netns`; NAME=VALUE items before the program are set in its environment (env's words). */
  argv: string[];
  /** Keep a pipe to its stdin (for changes sent later); otherwise stdin is closed. */
  stdin?: boolean;
  /** The one-line error when it exits before it is ready. */
  failure: (code: number | null, stderr: string) => string;
  /** Told each line it writes once ready (its stdout stays open for them); otherwise its output ends there. */
  lines?: (line: string) => void;
  /** Told the process as soon as it is started, so it can be stopped before it is ready. */
  spawned?: (child: ChildProcess) => void;
}

/**
 * Starts the daemon and resolves once it is ready. From then on it no longer keeps cnmlab
 * alive: a kept lab's daemons outlive the run, until `cnmlab clean` (which finds them by the
 * pid recorded here or by the run's mark in their environment, RunRecord.marked).
 */
export function startDaemon(record: RunRecord, netns: string | undefined, start: DaemonStart): Promise<ChildProcess> {
  // No namespace: the machine's own (a process that enters none holds none alive).
  const [program, ...args] = [...(netns === undefined ? [] : ['ip', 'netns', 'exec', netns]), ...record.marked(start.argv)];
  const child = spawn(program, args, { stdio: [start.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
  try {
    if (child.pid) record.addPid(child.pid);
  } catch (e) {
    // Unrecorded, it would outlive the run (and keep cnmlab waiting for it): it goes now.
    child.kill('SIGKILL');
    return Promise.reject(e);
  }
  start.spawned?.(child);
  child.stdin?.on('error', () => {});
  return new Promise((resolve, reject) => {
    let err = '';
    const failed = (code: number | null) => reject(new EmuEnvironmentError(start.failure(code, err.trim())));
    child.on('error', reject);
    child.on('exit', failed);
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    let out = '';
    const ready = (d: Buffer) => {
      out += d.toString();
      const end = out.indexOf('ready');
      if (end < 0) return;
      child.stdout!.off('data', ready);
      child.stderr!.destroy();
      const lines = start.lines;
      if (lines) {
        let rest = out.slice(end + 'ready'.length).replace(/^\n/, '');
        const take = (more: string) => {
          rest += more;
          for (let i; (i = rest.indexOf('\n')) >= 0; rest = rest.slice(i + 1)) lines(rest.slice(0, i));
        };
        take('');
        child.stdout!.on('data', (more: Buffer) => take(more.toString()));
        (child.stdout as unknown as { unref(): void }).unref();
      } else child.stdout!.destroy();
      child.off('exit', failed);
      (child.stdin as unknown as { unref(): void } | null)?.unref();
      child.unref();
      resolve(child);
    };
    child.stdout!.on('data', ready);
  });
}

/** Stops a daemon started above and waits for it to go (a process inside a namespace keeps it alive). */
export async function stopDaemon(record: RunRecord, child: ChildProcess): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) {
    const gone = new Promise((r) => child.once('exit', r));
    // Waited for: it must keep cnmlab alive again until it is gone.
    child.ref();
    child.kill('SIGKILL');
    await gone;
  }
  if (child.pid) record.forgetPid(child.pid);
}
