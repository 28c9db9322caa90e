/** Tools for hostile-input tests: capture builders, a seeded random source, and the CLI with its peak memory. */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { REPO } from './env';

const CLI = path.join(REPO, 'bin', 'cnmlab.js');
const MAXRSS_PRELOAD = path.join(__dirname, 'maxrss.js');

/** mulberry32: a small seeded generator, so every fuzz case can be replayed from its seed. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const pick = <T>(rand: () => number, xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
export const int = (rand: () => number, below: number): number => Math.floor(rand() * below);

export interface CliRun {
  status: number;
  stdout: string;
  stderr: string;
  ms: number;
  /** Peak resident memory of the cnmlab process, in KiB (its VmHWM). */
  maxRssKiB: number;
}

/**
 * Runs the CLI as a user does, reporting its time and peak memory. `stdoutFile` keeps a big
 * output out of the test; `shell` is a command whose output is piped into cnmlab's stdin;
 * `pipeTo` a command cnmlab's stdout is piped into (a slow reader, say).
 */
export function cnmlabMeasured(args: string[], opts: { stdoutFile?: string; shell?: string; pipeTo?: string; timeoutMs?: number } = {}): CliRun {
  const rssFile = path.join(os.tmpdir(), `cnmlab-maxrss-${process.pid}-${Math.random().toString(36).slice(2)}`);
  const env = { ...process.env, CNMLAB_MAXRSS_FILE: rssFile };
  const t0 = Date.now();
  const out = opts.stdoutFile ? fs.openSync(opts.stdoutFile, 'w') : 'pipe';
  const r = opts.shell || opts.pipeTo
    ? spawnSync('sh', ['-c', `preload="$1" cli="$2"; shift 2; ${opts.shell ? `${opts.shell} |` : ''} "$0" --require "$preload" "$cli" "$@" ${opts.pipeTo ? `| ${opts.pipeTo}` : ''}`, process.execPath, MAXRSS_PRELOAD, CLI, ...args], { encoding: 'utf8', env, stdio: ['ignore', out, 'pipe'], timeout: opts.timeoutMs ?? 60_000, maxBuffer: 1 << 30 })
    : spawnSync(process.execPath, ['--require', MAXRSS_PRELOAD, CLI, ...args], { encoding: 'utf8', env, stdio: ['ignore', out, 'pipe'], timeout: opts.timeoutMs ?? 60_000, maxBuffer: 1 << 30 });
  const ms = Date.now() - t0;
  if (typeof out === 'number') fs.closeSync(out);
  let maxRssKiB = -1;
  try {
    maxRssKiB = Number(fs.readFileSync(rssFile, 'utf8'));
    fs.rmSync(rssFile);
  } catch {
    // The process died before its exit handler ran; status says how.
  }
  return { status: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? '', ms, maxRssKiB };
}

/** What every run on hostile input must show: exit 0, 1 or 2; no stack trace; bad input said in one line. */
export function cleanExitProblem(r: { status: number; stderr: string }): string | undefined {
  if (![0, 1, 2].includes(r.status)) return `exit ${r.status}: ${r.stderr.slice(0, 500)}`;
  if (/internal error|\n\s+at .+:\d+:\d+\)?/.test(r.stderr)) return `a stack trace: ${r.stderr.slice(0, 500)}`;
  if (r.status === 2 && r.stderr.trim().split('\n').length !== 1) return `bad input not in one line: ${r.stderr.slice(0, 500)}`;
  return undefined;
}

/** A pcapng block: type, body, both lengths (the trailing one may be given wrong on purpose). */
export function pcapngBlock(type: number, body: Buffer, trailing?: number): Buffer {
  const len = 12 + body.length;
  const b = Buffer.alloc(len);
  b.writeUInt32LE(type, 0);
  b.writeUInt32LE(len, 4);
  body.copy(b, 8);
  b.writeUInt32LE(trailing ?? len, len - 4);
  return b;
}

const pad4 = (b: Buffer) => Buffer.concat([b, Buffer.alloc((4 - (b.length % 4)) % 4)]);

export function pcapngSection(linktype = 1, tsresolNanos = true): Buffer {
  const shb = Buffer.alloc(16);
  shb.writeUInt32LE(0x1a2b3c4d, 0);
  shb.writeUInt16LE(1, 4);
  shb.writeBigInt64LE(-1n, 8);
  const idb = Buffer.alloc(tsresolNanos ? 20 : 8);
  idb.writeUInt16LE(linktype, 0);
  idb.writeUInt32LE(262144, 4);
  if (tsresolNanos) {
    idb.writeUInt16LE(9, 8);
    idb.writeUInt16LE(1, 10);
    idb[12] = 9;
  }
  return Buffer.concat([pcapngBlock(0x0a0d0d0a, shb), pcapngBlock(1, idb)]);
}

export function pcapngEpb(timeNs: bigint, frame: Buffer, interfaceId = 0): Buffer {
  const body = Buffer.alloc(20);
  body.writeUInt32LE(interfaceId, 0);
  body.writeUInt32LE(Number(timeNs >> 32n), 4);
  body.writeUInt32LE(Number(timeNs & 0xffffffffn), 8);
  body.writeUInt32LE(frame.length, 12);
  body.writeUInt32LE(frame.length, 16);
  return pcapngBlock(6, Buffer.concat([body, pad4(frame)]));
}

/** A whole pcapng of one interface (nanosecond resolution) holding these frames. */
export function pcapngOf(frames: { timeNs: bigint; data: Buffer }[], linktype = 1): Buffer {
  return Buffer.concat([pcapngSection(linktype), ...frames.map((f) => pcapngEpb(f.timeNs, f.data))]);
}
