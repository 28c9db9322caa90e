/**
 * The record of what one emu run made, written before each thing is made, so that
 * `cnmlab clean` can remove exactly that after a crash or kill -9, and nothing else.
 */
import * as fs from 'fs';
import * as path from 'path';

export const STATE_DIR = process.env.CNMLAB_STATE_DIR ?? '/run/cnmlab';

export interface RunState {
  prefix: string;
  pid: number;
  startedAt: string;
  scenario: string;
  keep: boolean;
  namespaces: string[];
  files: string[];
  pids: number[];
}

export class RunRecord {
  readonly file: string;
  readonly state: RunState;

  constructor(prefix: string, scenario: string, keep: boolean) {
    fs.mkdirSync(STATE_DIR, { recursive: true, mode: 0o700 });
    this.file = path.join(STATE_DIR, `${prefix}.json`);
    this.state = { prefix, pid: process.pid, startedAt: new Date().toISOString(), scenario, keep, namespaces: [], files: [], pids: [] };
    this.save();
  }

  get dir(): string {
    return path.join(STATE_DIR, this.state.prefix);
  }

  save(): void {
    fs.writeFileSync(this.file + '.tmp', JSON.stringify(this.state, null, 2));
    fs.renameSync(this.file + '.tmp', this.file);
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

  remove(): void {
    fs.rmSync(this.file, { force: true });
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function readStates(): { file: string; state: RunState }[] {
  if (!fs.existsSync(STATE_DIR)) return [];
  return fs.readdirSync(STATE_DIR).filter((f) => /^cnm[0-9a-f]{6}\.json$/.test(f)).flatMap((f) => {
    const file = path.join(STATE_DIR, f);
    try {
      return [{ file, state: JSON.parse(fs.readFileSync(file, 'utf8')) as RunState }];
    } catch {
      return [];
    }
  });
}
