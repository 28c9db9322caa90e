/**
 * The record of what one emu run made, written before each thing is made, so that
 * `cnmlab clean` can remove exactly that after a crash or kill -9, and nothing else.
 */
import * as fs from 'fs';
import * as path from 'path';
import { InputError } from '../sim/errors';

export const STATE_DIR = process.env.CNMLAB_STATE_DIR ?? '/run/cnmlab';

/** Where `ip netns exec` finds a namespace's own /etc files; the only place outside its folder a run writes. */
export const NETNS_ETC = '/etc/netns';

/**
 * The machine around a run changed or refused it: a namespace deleted from outside, a state
 * folder that is read-only or full. One line and exit 2, like bad input; the run is torn down.
 */
export class EmuEnvironmentError extends InputError {}

export interface RunState {
  prefix: string;
  pid: number;
  /** The owner's start time (clock ticks since boot, /proc/PID/stat): a recycled pid has another. */
  startTime?: number;
  startedAt: string;
  scenario: string;
  keep: boolean;
  namespaces: string[];
  files: string[];
  pids: number[];
}

export const PREFIX_RE = /^cnm[0-9a-f]{6}$/;

/**
 * The environment variable that marks a process a run started (RunRecord.marked): the run's
 * prefix, its owner's pid and start time, and its state file. /proc/PID/environ keeps it for
 * the process's life; no other program sets it.
 */
export const RUN_MARK = 'CNMLAB_RUN';

export interface RunMark {
  prefix: string;
  owner: Pick<RunState, 'pid' | 'startTime'>;
  stateFile: string;
}

/** The run mark in a process's environment (NUL-separated, as /proc/PID/environ holds it), or undefined. */
export function parseRunMark(environ: string): RunMark | undefined {
  const entry = environ.split('\0').find((e) => e.startsWith(`${RUN_MARK}=`));
  const m = entry && /^(cnm[0-9a-f]{6}) (\d+) (\d*) (\/.+)$/.exec(entry.slice(RUN_MARK.length + 1));
  if (!m) return undefined;
  return { prefix: m[1], owner: { pid: Number(m[2]), ...(m[3] ? { startTime: Number(m[3]) } : {}) }, stateFile: m[4] };
}

/** The largest record RunRecord.save writes in place: one page, which a write copies whole. */
const IN_PLACE_MAX = 4096;
const NAME_CHARS = /^[A-Za-z0-9_.:@-]+$/;

const WRITE_REFUSED: Record<string, string> = {
  ENOSPC: 'no space left on the device', EROFS: 'the file system is read-only', EDQUOT: 'the disk quota is exhausted', EACCES: 'permission denied', EPERM: 'permission denied',
};

/** A write the state folder refused (full, read-only…), said in one line; undefined for any other failure. */
export function refusedStateWrite(e: unknown): EmuEnvironmentError | undefined {
  const err = e as NodeJS.ErrnoException & { dest?: string };
  const why = err?.code ? WRITE_REFUSED[err.code] : undefined;
  // A copy into the folder names its source as the path and the folder's file as dest.
  const inFolder = (p: string) => path.resolve(p).startsWith(path.resolve(STATE_DIR));
  const where = err?.dest !== undefined && inFolder(err.dest) ? err.dest : err?.path;
  if (!why || (where !== undefined && !inFolder(where))) return undefined;
  return new EmuEnvironmentError(`cannot write the run's state in ${STATE_DIR} (${where ?? STATE_DIR}): ${why}; set CNMLAB_STATE_DIR to a writable folder`);
}

/** Runs a write to the state folder (or a folder under it), turning a refused write into EmuEnvironmentError. */
export function writingState<T>(write: () => T): T {
  try {
    return write();
  } catch (e) {
    throw refusedStateWrite(e) ?? e;
  }
}

export class RunRecord {
  readonly file: string;
  readonly state: RunState;

  constructor(prefix: string, scenario: string, keep: boolean) {
    this.file = path.join(STATE_DIR, `${prefix}.json`);
    this.state = { prefix, pid: process.pid, startTime: processStartTime(process.pid), startedAt: new Date().toISOString(), scenario, keep, namespaces: [], files: [], pids: [] };
    writingState(() => fs.mkdirSync(STATE_DIR, { recursive: true, mode: 0o700 }));
    this.save();
  }

  get dir(): string {
    return path.join(STATE_DIR, this.state.prefix);
  }

  /**
   * `argv` run under `env` with the run's mark (RUN_MARK) added to its environment: every
   * process the run leaves running carries it, and so do their children, so that `cnmlab
   * clean` knows them as this run's even once the state folder that listed them is gone.
   * `env` execs the program in place: the pid is the program's own. It also drops
   * NODE_EXTRA_CA_CERTS, which no program of a run needs (none verifies a certificate
   * against an authority): Node reads and parses that file, and builds its whole root store
   * with it, at the start of every process, which makes the run's Node helpers (the socket
   * holder, miss handlers, DNS responders) each cost several times their own start.
   */
  marked(argv: string[]): string[] {
    const { prefix, pid, startTime } = this.state;
    return ['env', '-u', 'NODE_EXTRA_CA_CERTS', `${RUN_MARK}=${prefix} ${pid} ${startTime ?? ''} ${path.resolve(this.file)}`, ...argv];
  }

  /** The state file, open for writing in place (see save). */
  private fd?: number;
  /** How long the file is: it never shrinks, so a save overwrites all that was there. */
  private written = 0;

  /**
   * Writes the state before the thing it records is made. A small record is written over
   * the one before, in place, in one write of at most a page, padded with spaces (JSON
   * allows them) to the old length: the kernel copies a write within one page whole or not
   * at all, even when the writer is killed, so a run killed at any point leaves the old
   * record or the new one (a reader at the same instant may see a mix: readStates). Anything
   * larger goes to a new file renamed over the old. In place costs microseconds; a rename
   * over an existing file on ext4 flushes the new file's blocks first (auto_da_alloc), which
   * on a busy disk costs milliseconds, and a run saves at every pid and namespace it makes.
   */
  save(): void {
    writingState(() => {
      const text = JSON.stringify(this.state, null, 2);
      const bytes = Buffer.byteLength(text);
      if (this.fd !== undefined && bytes <= IN_PLACE_MAX && this.written <= IN_PLACE_MAX) {
        const padded = text + ' '.repeat(Math.max(0, this.written - bytes));
        if (fs.writeSync(this.fd, padded, 0) === Buffer.byteLength(padded)) {
          this.written = Math.max(this.written, bytes);
          return;
        }
      }
      this.close();
      fs.writeFileSync(this.file + '.tmp', text);
      fs.renameSync(this.file + '.tmp', this.file);
      this.fd = fs.openSync(this.file, 'r+');
      this.written = bytes;
    });
  }

  private close(): void {
    if (this.fd === undefined) return;
    fs.closeSync(this.fd);
    this.fd = undefined;
  }

  addNamespaces(names: string[]): void {
    this.state.namespaces.push(...names.filter((n) => !this.state.namespaces.includes(n)));
    this.save();
  }

  forgetNamespaces(names: string[]): void {
    this.state.namespaces = this.state.namespaces.filter((n) => !names.includes(n));
    this.save();
  }

  addFiles(files: string[]): void {
    const known = new Set(this.state.files);
    this.state.files.push(...files.filter((f) => !known.has(f)));
    this.save();
  }

  addPid(pid: number): void {
    this.state.pids.push(pid);
    this.save();
  }

  forgetPid(pid: number): void {
    this.state.pids = this.state.pids.filter((p) => p !== pid);
    this.save();
  }

  /** After teardown. A state folder that turned read-only keeps the file; `cnmlab clean` finds nothing left to remove and drops it. */
  remove(): void {
    this.close();
    writingState(() => {
      fs.rmSync(this.file, { force: true });
      fs.rmSync(this.dir, { recursive: true, force: true });
    });
  }
}

/** A process's start time in clock ticks since boot (field 22 of /proc/PID/stat), or undefined when it is gone. */
export function processStartTime(pid: number): number | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may hold spaces or ')': fields count from the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[19]);
    return Number.isSafeInteger(ticks) ? ticks : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The process that made a run still runs: same pid and same start time, so a pid the kernel
 * has since given to another process does not count. A record without a start time (an
 * older cnmlab) counts as alive only while its pid runs cnmlab.
 */
export function ownerAlive(state: Pick<RunState, 'pid' | 'startTime'>): boolean {
  if (state.startTime !== undefined) return processStartTime(state.pid) === state.startTime;
  try {
    return fs.readFileSync(`/proc/${state.pid}/cmdline`, 'utf8').includes('cnmlab');
  } catch {
    return false;
  }
}

/**
 * Checks a state file before clean acts on it: its prefix is its file name's, every
 * namespace carries that prefix, every file is the prefix's folder in /etc/netns (or in the
 * run's own folder), every pid is a pid. Returns why it is refused, or the state.
 */
export function checkState(file: string, raw: unknown): RunState | string {
  const prefix = path.basename(file, '.json');
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return 'not a JSON object';
  const s = raw as Record<string, unknown>;
  if (s.prefix !== prefix || !PREFIX_RE.test(prefix)) return `its prefix ${JSON.stringify(s.prefix)} is not its file name's (${prefix})`;
  if (!Number.isSafeInteger(s.pid) || (s.pid as number) <= 0) return 'pid is not a process id';
  if (s.startTime !== undefined && (!Number.isSafeInteger(s.startTime) || (s.startTime as number) < 0)) return 'startTime is not a number of clock ticks';
  if (typeof s.keep !== 'boolean' || typeof s.scenario !== 'string' || typeof s.startedAt !== 'string') return 'keep, scenario or startedAt is missing';
  const strings = (v: unknown) => Array.isArray(v) && v.every((x) => typeof x === 'string');
  if (!strings(s.namespaces) || !strings(s.files)) return 'namespaces and files must be lists of names';
  if (!Array.isArray(s.pids) || !s.pids.every((p) => Number.isSafeInteger(p) && p > 0)) return 'pids must be a list of process ids';
  const badNs = (s.namespaces as string[]).find((n) => !n.startsWith(`${prefix}.`) || !NAME_CHARS.test(n) || n.split('.').includes('..'));
  if (badNs !== undefined) return `namespace ${JSON.stringify(badNs)} is not one of run ${prefix}`;
  const own = path.join(STATE_DIR, prefix);
  const badFile = (s.files as string[]).find((f) => {
    if (path.resolve(f) !== f) return true;
    const inEtc = path.dirname(f) === NETNS_ETC && path.basename(f).startsWith(`${prefix}.`) && NAME_CHARS.test(path.basename(f));
    return !inEtc && !f.startsWith(own + path.sep);
  });
  if (badFile !== undefined) return `file ${JSON.stringify(badFile)} is outside ${NETNS_ETC}/${prefix}.* and the run's folder`;
  return s as unknown as RunState;
}

/** Every state file in the state folder, checked; a file that fails the check carries why. */
export function readStates(): { file: string; state?: RunState; refused?: string }[] {
  if (!fs.existsSync(STATE_DIR)) return [];
  return fs.readdirSync(STATE_DIR).filter((f) => /^cnm[0-9a-f]{6}\.json$/.test(f)).map((f) => {
    const file = path.join(STATE_DIR, f);
    let raw: unknown;
    try {
      raw = readJson(file);
    } catch (e) {
      return { file, refused: `unreadable (${(e as Error).message.split('\n')[0]})` };
    }
    const checked = checkState(file, raw);
    return typeof checked === 'string' ? { file, refused: checked } : { file, state: checked };
  });
}

/**
 * A state file's JSON. A run saves its record in place (RunRecord.save): a read that meets
 * a save half-copied into the page sees a mix of the two records, so a file that does not
 * parse is read once more before it counts as unreadable.
 */
function readJson(file: string): unknown {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  }
}
