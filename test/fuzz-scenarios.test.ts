/**
 * A seeded mutation fuzzer over the project's scenarios (issue 22): YAML structure (anchors,
 * aliases, indentation, deletions), names, numbers and regexes. Loading may succeed or refuse
 * with an InputError at file:line, nothing else; a sample of the scenarios that load runs in
 * sim in-process, and a few through the CLI. A failure names its seed and case.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { InputError } from '../sim/errors';
import { parseScenario } from '../sim/scenario/load';
import { Scenario } from '../sim/scenario/schema';
import { runScenario } from '../sim/runner/runner';
import { makeBackend } from '../bin/commands/run';
import { REPO } from './helpers/env';
import { cleanExitProblem, cnmlabMeasured, int, pick, seeded } from './helpers/hostile';

const SEED = Number(process.env.CNMLAB_FUZZ_SEED ?? 22);
const CASES = Number(process.env.CNMLAB_FUZZ_CASES ?? 2000);
const RUNS = 30;
const CLI_SAMPLE = 4;
const CASE_TIME_LIMIT_MS = 10_000;

const sources = fs.readdirSync(path.join(REPO, 'scenarios')).filter((f) => f.endsWith('.yaml')).sort()
  .map((f) => ({ name: f, text: fs.readFileSync(path.join(REPO, 'scenarios', f), 'utf8') }));

const WEIRD_NAMES = ['', 'a'.repeat(70_000), 'db\n6.6.6.6 evil', 'x y', '-lead', 'UPPER', 'ünï', 'a.b.c', '*', '&a', '!!str', "'", '"', '\\', 'underscore_ok', '0'];
const WEIRD_NUMBERS = ['-1', '0', '256', '99999999999999999999', '1e309', '.nan', '0x1f', '1.5', '~', 'null', 'true', '[]', '{}'];
const WEIRD_REGEXES = ["'/(/'", "'/[a-z/'", "'/a{2,1}/'", "'/(?<n>a)(?<n>b)/'", "'/\\\\/'", "'/x/zz'", "'//'", "'/(a+)+$/'"];

type Mutation = (lines: string[], rand: () => number) => string[];

const MUTATIONS: Record<string, Mutation> = {
  deleteLine: (l, rand) => l.filter((_, i) => i !== int(rand, l.length)),
  duplicateLine: (l, rand) => {
    const i = int(rand, l.length);
    return [...l.slice(0, i + 1), l[i], ...l.slice(i + 1)];
  },
  indent: (l, rand) => l.map((x, i) => (i === int(rand, l.length) ? (rand() < 0.5 ? ` ${x}` : x.replace(/^ /, '')) : x)),
  swapLines: (l, rand) => {
    const i = int(rand, l.length), j = int(rand, l.length);
    const out = [...l];
    [out[i], out[j]] = [out[j], out[i]];
    return out;
  },
  aliases: (l, rand) => {
    const kind = int(rand, 3);
    if (kind === 0) return [...l, 'extra: *nowhere'];
    if (kind === 1) {
      const bomb = ['a0: &a0 [x, x, x, x, x, x, x, x, x, x]'];
      for (let k = 1; k < 9; k++) bomb.push(`a${k}: &a${k} [${Array(10).fill(`*a${k - 1}`).join(', ')}]`);
      return [...bomb, ...l];
    }
    return l.map((x) => x.replace(/^(\s*-\s+\w+):/, '$1: &step').replace(/^(\s+)expect:/, '$1expect: *step'));
  },
  characters: (l, rand) => {
    const i = int(rand, l.length);
    const at = int(rand, l[i].length + 1);
    return l.map((x, k) => (k === i ? x.slice(0, at) + pick(rand, [':', '{', '[', '"', "'", '&', '*', '!', '|', '>', '%', '@', '`', '\t', '#', ',']) + x.slice(at) : x));
  },
  names: (l, rand) => {
    const weird = JSON.stringify(pick(rand, WEIRD_NAMES));
    const target = pick(rand, ['--name ', '--network-alias ', '--alias ', 'ping -c 1 ', 'ping -c 3 ', 'network create ', '--network ']);
    const hits = l.map((x, i) => (x.includes(target) ? i : -1)).filter((i) => i >= 0);
    if (hits.length === 0) return l.map((x) => x.replace(/^name: .*/, `name: ${weird}`));
    const i = pick(rand, hits);
    // The weird name goes in as one shell word: the command is a YAML double-quoted scalar.
    return l.map((x, k) => (k === i ? x.replace(/^(\s*-\s+[\w-]+:\s*)(.*)$/, (_m, head: string, cmd: string) => `${head}${JSON.stringify(cmd.replace(new RegExp(`${target}\\S+`), `${target}'${JSON.parse(weird).replace(/'/g, '')}'`))}`) : x));
  },
  numbers: (l, rand) => {
    const i = pick(rand, l.map((x, k) => (/(exit|seed|drop-at|veth|bridge|vxlan|stack|underlay|dns):\s*-?\d/.test(x) ? k : -1)).filter((k) => k >= 0).concat([-1]));
    if (i < 0) return [...l, `seed: ${pick(rand, WEIRD_NUMBERS)}`];
    return l.map((x, k) => (k === i ? x.replace(/(:\s*)-?\d+(\.\d+)?/, `$1${pick(rand, WEIRD_NUMBERS)}`) : x));
  },
  regexes: (l, rand) => {
    const i = pick(rand, l.map((x, k) => (/(stdout|stderr):/.test(x) ? k : -1)).filter((k) => k >= 0).concat([-1]));
    if (i < 0) return l;
    return l.map((x, k) => (k === i ? x.replace(/((stdout|stderr):\s*)('[^']*'|[^,}]+)/, `$1${pick(rand, WEIRD_REGEXES)}`) : x));
  },
};

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cnmlab-fuzz-scenarios-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function mutated(i: number, rand: () => number): { where: string; file: string; text: string } {
  const src = sources[i % sources.length];
  const names = Object.keys(MUTATIONS);
  const mutation = names[Math.floor(i / sources.length) % names.length];
  let lines = src.text.split('\n');
  for (let n = 1 + int(rand, 2); n > 0; n--) lines = MUTATIONS[n === 1 ? mutation : pick(rand, names)](lines, rand);
  return { where: `seed ${SEED} case ${i} (${mutation} of ${src.name})`, file: `fuzz-${i}.yaml`, text: lines.join('\n') };
}

describe('seeded scenario fuzzer', () => {
  test(`${CASES} mutated scenarios (seed ${SEED}) load or refuse at file:line:col; ${RUNS} that load run in sim`, async () => {
    const rand = seeded(SEED);
    const loaded: { where: string; s: Scenario }[] = [];
    let refused = 0;
    for (let i = 0; i < CASES; i++) {
      const { where, file, text } = mutated(i, rand);
      const t0 = Date.now();
      try {
        const s = parseScenario(file, text);
        if (!sources.some((x) => x.text === text)) loaded.push({ where, s });
      } catch (e) {
        if (!(e instanceof InputError)) throw new Error(`${where}: ${(e as Error).stack}`);
        if (!/^fuzz-\d+\.yaml:\d+:\d+: /.test(e.message) || e.message.includes('\n')) throw new Error(`${where}: not one file:line:col line: ${JSON.stringify(e.message.slice(0, 300))}`);
        refused++;
      }
      if (Date.now() - t0 > CASE_TIME_LIMIT_MS) throw new Error(`${where}: loading took ${Date.now() - t0} ms`);
    }
    expect(refused).toBeGreaterThan(CASES / 10);
    expect(loaded.length).toBeGreaterThan(RUNS);
    for (const { where, s } of loaded.filter((_, k) => k % Math.ceil(loaded.length / RUNS) === 0)) {
      const t0 = Date.now();
      const backend = await makeBackend('sim', s, {});
      try {
        await runScenario(s, backend);
      } catch (e) {
        if (!(e instanceof InputError)) throw new Error(`${where}: the run threw ${(e as Error).stack}`);
      } finally {
        await backend.close();
      }
      if (Date.now() - t0 > CASE_TIME_LIMIT_MS) throw new Error(`${where}: the run took ${Date.now() - t0} ms`);
    }
  }, 120_000);

  test(`a sample through the CLI (seed ${SEED}): exit 0, 1 or 2, without a stack`, () => {
    const rand = seeded(SEED + 1);
    for (let k = 0; k < CLI_SAMPLE; k++) {
      const { where, file, text } = mutated(int(rand, CASES), rand);
      const p = path.join(dir, file);
      fs.writeFileSync(p, text);
      const r = cnmlabMeasured(['run', p], { timeoutMs: CASE_TIME_LIMIT_MS });
      const problem = cleanExitProblem(r);
      if (problem) throw new Error(`${where}: ${problem}`);
    }
  }, 60_000);
});
