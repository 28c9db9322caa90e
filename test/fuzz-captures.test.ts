/**
 * A seeded mutation fuzzer over cnmlab's own captures (issue 22): bit flips, truncation,
 * header and record fields, pcapng block lengths and options, DNS payloads. Every case runs
 * the readers, decode's text and JSON, and replay in-process; a sample runs through the CLI.
 * A case may be read or refused as damage (CaptureError: exit 2), nothing else; none may take
 * 10 s or 1 GiB. A failure names its seed and case, so it can be replayed alone.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { decodeCapture, detailLines, summaryLine } from '../sim/pcap/decode';
import { CaptureError } from '../sim/pcap/frame';
import { readCapture } from '../sim/pcap/reader';
import { replayCaptures } from '../sim/trace/replay';
import { dissect } from '../sim/wire/dissect';
import { cleanExitProblem, cnmlabMeasured, int, pcapngOf, pick, seeded } from './helpers/hostile';
import { cnmlab } from './helpers/tshark';
import { REPO } from './helpers/env';

const SEED = Number(process.env.CNMLAB_FUZZ_SEED ?? 22);
const CASES = Number(process.env.CNMLAB_FUZZ_CASES ?? 3000);
const CLI_SAMPLE = 6;
const CASE_TIME_LIMIT_MS = 10_000;
const RSS_LIMIT = 1 << 30;

interface Base {
  name: string;
  bytes: Buffer;
  format: 'pcap' | 'pcapng';
  /** Classic pcap: where each record header starts. pcapng: where each block starts. */
  offsets: number[];
  /** Where each DNS message starts, and its length. */
  dns: { at: number; len: number }[];
}

let dir: string;
const bases: Base[] = [];

/** Offsets of the UDP payload in an Ethernet or cooked frame, when it is DNS. */
function dnsIn(frame: Buffer, linktype: number): { at: number; len: number } | undefined {
  const layers = dissect(frame, linktype);
  if (!layers.some((l) => l.proto === 'dns')) return undefined;
  const link = linktype === 1 ? 14 : linktype === 113 ? 16 : 20;
  const ihl = (frame[link] & 0x0f) * 4;
  const at = link + ihl + 8;
  return at < frame.length ? { at, len: frame.length - at } : undefined;
}

function classicBase(name: string, bytes: Buffer): Base {
  const offsets: number[] = [];
  const dns: Base['dns'] = [];
  const linktype = bytes.readUInt32LE(20) & 0xffff;
  for (let off = 24; off + 16 <= bytes.length; off += 16 + bytes.readUInt32LE(off + 8)) {
    offsets.push(off);
    const d = dnsIn(bytes.subarray(off + 16, off + 16 + bytes.readUInt32LE(off + 8)), linktype);
    if (d) dns.push({ at: off + 16 + d.at, len: d.len });
  }
  return { name, bytes, format: 'pcap', offsets, dns };
}

function pcapngBase(name: string, bytes: Buffer): Base {
  const offsets: number[] = [];
  const dns: Base['dns'] = [];
  for (let off = 0; off + 12 <= bytes.length; off += bytes.readUInt32LE(off + 4)) {
    offsets.push(off);
    if (bytes.readUInt32LE(off) === 6) {
      const cap = bytes.readUInt32LE(off + 20);
      const d = dnsIn(bytes.subarray(off + 28, off + 28 + cap), 1);
      if (d) dns.push({ at: off + 28 + d.at, len: d.len });
    }
  }
  return { name, bytes, format: 'pcapng', offsets, dns };
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cnmlab-fuzz-'));
  // The project's own captures: a sim run of the tutorial, each capture point a pcap.
  const pcaps = path.join(dir, 'pcaps');
  for (const s of ['overlay-standalone', 'dns-scoping']) {
    const r = cnmlab(['run', path.join(REPO, 'scenarios', `${s}.yaml`), '--pcap-dir', path.join(pcaps, s)]);
    if (r.status !== 0) throw new Error(r.stderr);
  }
  const files = fs.readdirSync(pcaps, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.pcap')).map((f) => path.join(pcaps, f));
  const withFrames = files.map((f) => ({ f, bytes: fs.readFileSync(f) })).filter((x) => x.bytes.length > 24).sort((a, b) => a.f.localeCompare(b.f));
  for (const { f, bytes } of withFrames) bases.push(classicBase(path.basename(f), bytes));
  // The same frames in the other resolution (sim writes nanoseconds: these get microseconds) and as pcapng.
  for (const b of bases.filter((x) => x.dns.length > 0 || x.name.includes('vxlan')).slice(0, 4)) {
    const other = Buffer.from(b.bytes);
    const nano = b.bytes.readUInt32LE(0) === 0xa1b23c4d;
    other.writeUInt32LE(nano ? 0xa1b2c3d4 : 0xa1b23c4d, 0);
    for (const off of b.offsets) other.writeUInt32LE(nano ? Math.floor(other.readUInt32LE(off + 4) / 1000) : other.readUInt32LE(off + 4) * 1000, off + 4);
    bases.push({ ...classicBase(`${b.name}-${nano ? 'us' : 'ns'}`, other) });
    const cap = await readCapture(path.join(pcaps, fs.readdirSync(pcaps, { recursive: true, encoding: 'utf8' }).find((x) => x.endsWith(b.name))!));
    if (cap.info.linktype === 1) bases.push(pcapngBase(`${b.name}-ng`, pcapngOf(cap.frames.map((fr) => ({ timeNs: BigInt(fr.seconds) * 1_000_000_000n + BigInt(fr.nanos), data: fr.data })))));
  }
}, 60_000);
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const INTERESTING = [0, 1, 4, 11, 12, 15, 16, 20, 28, 31, 32, 0x7f, 0xff, 0xffff, 65535, 65536, 262144, 262145, 0x7fffffff, 0x80000000, 0xfffffff0, 0xffffffff];

type Mutation = (b: Buffer, base: Base, rand: () => number) => Buffer;

const MUTATIONS: Record<string, Mutation> = {
  bitflips: (b, _base, rand) => {
    for (let n = 1 + int(rand, 8); n > 0; n--) {
      const at = int(rand, b.length);
      b[at] ^= 1 << int(rand, 8);
    }
    return b;
  },
  truncate: (b, _base, rand) => b.subarray(0, int(rand, b.length)),
  bytes: (b, _base, rand) => {
    const at = int(rand, Math.max(1, b.length - 4)) & ~3;
    b.writeUInt32LE(pick(rand, INTERESTING) >>> 0, at);
    return b;
  },
  header: (b, base, rand) => {
    if (base.format === 'pcap') b.writeUInt32LE(pick(rand, INTERESTING) >>> 0, pick(rand, [4, 8, 12, 16, 20]));
    else b.writeUInt32LE(pick(rand, INTERESTING) >>> 0, pick(rand, [8, 12, 16, 20]));
    return b;
  },
  record: (b, base, rand) => {
    const off = pick(rand, base.offsets);
    if (base.format === 'pcap') b.writeUInt32LE(pick(rand, INTERESTING) >>> 0, off + pick(rand, [0, 4, 8, 12]));
    else if (off + 28 <= b.length) b.writeUInt32LE(pick(rand, INTERESTING) >>> 0, off + pick(rand, [8, 12, 16, 20, 24]));
    return b;
  },
  blockLength: (b, base, rand) => {
    if (base.format === 'pcap') return MUTATIONS.record(b, base, rand);
    const off = pick(rand, base.offsets);
    const len = b.readUInt32LE(off + 4);
    const value = pick(rand, [...INTERESTING, len - 4, len + 4, len + 8]) >>> 0;
    if (rand() < 0.5) b.writeUInt32LE(value, off + 4);
    else if (off + len <= b.length) b.writeUInt32LE(value, off + len - 4);
    return b;
  },
  options: (b, base, rand) => {
    if (base.format === 'pcap') return MUTATIONS.header(b, base, rand);
    // The IDB's if_tsresol option (code, length, value) sits right after its fixed fields.
    const idb = base.offsets[1];
    const at = idb + 16 + pick(rand, [0, 2, 4]);
    if (at + 2 <= b.length) b.writeUInt16LE(pick(rand, [0, 1, 2, 9, 0x7f, 0x80, 0xbf, 0xff, 0xffff]), at);
    return b;
  },
  dns: (b, base, rand) => {
    if (base.dns.length === 0) return MUTATIONS.bitflips(b, base, rand);
    const d = pick(rand, base.dns);
    const kind = int(rand, 4);
    if (kind === 0 && d.len >= 12) b.writeUInt16BE(int(rand, 65536), d.at + pick(rand, [2, 4, 6, 8, 10]));
    else if (kind === 1) for (let i = 12; i < d.len; i++) b[d.at + i] = 0xc0 | (i & 1 ? 0 : 0x0c);
    else if (kind === 2) b.fill(int(rand, 256), d.at + int(rand, d.len), d.at + d.len);
    else for (let n = 1 + int(rand, 6); n > 0; n--) b[d.at + int(rand, d.len)] = int(rand, 256);
    return b;
  },
};

/** Everything decode and replay do with a capture, in-process; resolves if read, rejects with what was thrown. */
async function exercise(file: string): Promise<void> {
  await decodeCapture(file, (f) => {
    summaryLine(f);
    detailLines(f);
    JSON.stringify(f);
  });
  await replayCaptures([{ file }]);
}

describe('seeded capture fuzzer', () => {
  test(`${CASES} mutated captures (seed ${SEED}): read or refused as damage, each under 10 s and 1 GiB`, async () => {
    const rand = seeded(SEED);
    const names = Object.keys(MUTATIONS);
    const refused = new Map<string, number>();
    let read = 0;
    for (let i = 0; i < CASES; i++) {
      const base = bases[i % bases.length];
      const mutation = names[Math.floor(i / bases.length) % names.length];
      const bytes = MUTATIONS[mutation](Buffer.from(base.bytes), base, rand);
      const file = path.join(dir, `case.${base.format}`);
      fs.writeFileSync(file, bytes);
      const t0 = Date.now();
      const outcome = await exercise(file).then(() => undefined, (e: unknown) => e);
      const ms = Date.now() - t0;
      const where = `seed ${SEED} case ${i} (${mutation} of ${base.name})`;
      if (outcome !== undefined && !(outcome instanceof CaptureError)) throw new Error(`${where}: ${(outcome as Error).stack ?? String(outcome)}`);
      if (outcome) refused.set(mutation, (refused.get(mutation) ?? 0) + 1);
      else read++;
      if (ms > CASE_TIME_LIMIT_MS) throw new Error(`${where}: took ${ms} ms`);
      if (process.memoryUsage().rss > RSS_LIMIT) throw new Error(`${where}: resident memory ${process.memoryUsage().rss} bytes`);
    }
    // Both outcomes occur: the fuzzer reaches the readers' damage checks and gets past them.
    expect(read).toBeGreaterThan(CASES / 10);
    expect([...refused.values()].reduce((a, b) => a + b, 0)).toBeGreaterThan(CASES / 20);
    expect(bases.filter((b) => b.format === 'pcapng').length).toBeGreaterThan(0);
    expect(bases.some((b) => b.dns.length > 0)).toBe(true);
  }, 120_000);

  test(`a sample through the CLI (seed ${SEED}): decode, decode --json and replay exit 0, 1 or 2, without a stack`, () => {
    const rand = seeded(SEED + 1);
    const names = Object.keys(MUTATIONS);
    for (let i = 0; i < CLI_SAMPLE; i++) {
      const base = pick(rand, bases);
      const mutation = names[i % names.length];
      const file = path.join(dir, `cli-${i}.${base.format}`);
      fs.writeFileSync(file, MUTATIONS[mutation](Buffer.from(base.bytes), base, rand));
      for (const args of [['decode', file], ['decode', '--json', file], ['replay', file]]) {
        const r = cnmlabMeasured(args, { timeoutMs: CASE_TIME_LIMIT_MS });
        const problem = cleanExitProblem(r) ?? (r.maxRssKiB * 1024 > RSS_LIMIT ? `peak memory ${r.maxRssKiB} KiB` : undefined);
        if (problem) throw new Error(`seed ${SEED + 1} CLI case ${i} (${mutation} of ${base.name}) ${args[0]}: ${problem}`);
      }
    }
  }, 120_000);
});
