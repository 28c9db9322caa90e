import * as fs from 'fs';
import * as path from 'path';
import { InputError } from '../sim/errors';

/**
 * Gathers small writes into large ones, so printing a million frames is not bound by syscalls.
 * A write that fills a slow reader's pipe returns a promise to await. While the reader is
 * behind, what comes is gathered and written in one piece when the pipe drains, so a writer
 * that does not await (a run's step callback) adds no listener per write to the stream.
 */
export class BufferedOut {
  private parts: string[] = [];
  private size = 0;
  private lingering?: NodeJS.Timeout;
  /** Set while the stream's buffer is full: settles on its 'drain', after writing what gathered meanwhile. */
  private blocked?: Promise<void>;

  /**
   * With `lingerMs`, what waits in the buffer is written at the latest that long after it was
   * written, for output a person watches as it comes (a run's steps, some of which take seconds).
   */
  constructor(private readonly stream: NodeJS.WritableStream = process.stdout, private readonly limit = 1 << 16, private readonly lingerMs?: number) {}

  write(s: string): Promise<void> | undefined {
    this.parts.push(s);
    this.size += s.length;
    if (this.size >= this.limit) return this.drain();
    if (this.lingerMs !== undefined && !this.lingering && !this.blocked) {
      this.lingering = setTimeout(() => void this.drain(), this.lingerMs);
      // A process that is otherwise done does not wait for it: flush() writes what is left.
      this.lingering.unref();
    }
    return undefined;
  }

  private drain(): Promise<void> | undefined {
    clearTimeout(this.lingering);
    this.lingering = undefined;
    if (this.blocked) return this.blocked;
    if (this.parts.length === 0) return undefined;
    const more = this.stream.write(this.parts.join(''));
    this.parts = [];
    this.size = 0;
    if (more) return undefined;
    this.blocked = new Promise((resolve) =>
      this.stream.once('drain', () => {
        this.blocked = undefined;
        void this.drain();
        resolve();
      }),
    );
    return this.blocked;
  }

  async flush(): Promise<void> {
    // Each 'drain' writes what gathered meanwhile, which may fill the pipe again.
    await this.drain();
    while (this.blocked) await this.blocked;
    return new Promise((resolve) => this.stream.write('', () => resolve()));
  }
}

function reason(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  switch (code) {
    case 'ENOENT': return 'no such file or folder';
    case 'ENOTDIR': return 'a part of the path is not a folder';
    case 'EISDIR': return 'is a folder';
    case 'EACCES':
    case 'EPERM': return 'permission denied';
    case 'EROFS': return 'read-only file system';
    case 'ENOSPC': return 'no space left on device';
    default: return (e as Error).message;
  }
}

function statOrUndefined(p: string): fs.Stats | undefined {
  try {
    return fs.statSync(p);
  } catch {
    return undefined;
  }
}

/**
 * Checks, before any work is done, that a file can be written at `file`: its folder exists
 * and it is not a folder itself. A long run is not lost to a typo in an output path.
 */
export function checkOutputFile(option: string, file: string): void {
  const folder = path.dirname(path.resolve(file));
  const st = statOrUndefined(folder);
  if (!st) throw new InputError(`${option} ${file}: no such folder ${folder}`);
  if (!st.isDirectory()) throw new InputError(`${option} ${file}: ${folder} is not a folder`);
  if (statOrUndefined(file)?.isDirectory()) throw new InputError(`${option} ${file}: is a folder`);
}

/** Writes an output file; a failure (disk full, read-only) is bad input, one line. */
export function writeOutputFile(option: string, file: string, content: string): void {
  try {
    fs.writeFileSync(file, content);
  } catch (e) {
    throw new InputError(`${option} ${file}: ${reason(e)}`);
  }
}

/**
 * Makes an output folder and its missing parents, one level at a time: Node's recursive
 * mkdir never returns under /proc, where mkdir fails with ENOENT on a path that exists.
 */
export function prepareOutputFolder(option: string, dir: string): void {
  const missing: string[] = [];
  let p = path.resolve(dir);
  for (;;) {
    const st = statOrUndefined(p);
    if (st) {
      if (!st.isDirectory()) throw new InputError(`${option} ${dir}: ${p === path.resolve(dir) ? 'not a folder' : `${p} is not a folder`}`);
      break;
    }
    missing.unshift(p);
    const parent = path.dirname(p);
    if (parent === p) break;
    p = parent;
  }
  for (const m of missing) {
    try {
      fs.mkdirSync(m);
    } catch (e) {
      throw new InputError(`${option} ${dir}: cannot make ${m}: ${reason(e)}`);
    }
  }
  try {
    fs.accessSync(dir, fs.constants.W_OK);
  } catch (e) {
    throw new InputError(`${option} ${dir}: ${reason(e)}`);
  }
}
