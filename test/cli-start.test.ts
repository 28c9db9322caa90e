/** The CLI's start: the bundle runs from V8's code cache kept beside it, made anew when stale. */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawnSync } from 'child_process';
import { REPO } from './helpers/env';

const cache = path.join(REPO, 'dist', 'cnmlab.js.cache');
const cli = (...args: string[]) => spawnSync(process.execPath, [path.join(REPO, 'bin', 'cnmlab.js'), ...args], { encoding: 'utf8', cwd: REPO });

test('a run leaves the code cache; a stale or broken one is replaced and the run is unharmed', () => {
  fs.rmSync(cache, { force: true });
  const first = cli('run', 'scenarios/overlay-standalone.yaml');
  expect(first.status).toBe(0);
  const made = fs.readFileSync(cache);
  expect(made.length).toBeGreaterThan(100_000);

  const again = cli('run', 'scenarios/overlay-standalone.yaml');
  expect(again.stdout).toBe(first.stdout);
  // Accepted, so left as it was.
  expect(fs.readFileSync(cache).equals(made)).toBe(true);

  fs.writeFileSync(cache, 'not a code cache');
  const broken = cli('run', 'scenarios/overlay-standalone.yaml');
  expect(broken.status).toBe(0);
  expect(broken.stdout).toBe(first.stdout);
  expect(fs.readFileSync(cache).length).toBeGreaterThan(100_000);
});

test('a code cache that cannot be read (a directory where the file would be) is none: the run is unharmed', () => {
  const expected = cli('run', 'scenarios/overlay-standalone.yaml');
  fs.rmSync(cache, { force: true });
  fs.mkdirSync(cache);
  try {
    const run = cli('run', 'scenarios/overlay-standalone.yaml');
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.stdout).toBe(expected.stdout);
    // It stays a directory: the new cache cannot be renamed over it.
    expect(fs.statSync(cache).isDirectory()).toBe(true);
  } finally {
    fs.rmSync(cache, { recursive: true, force: true });
  }
});

test("a command loads its own modules only: a sim run evaluates neither emu's process tooling nor the lab's terminal", () => {
  // Node's own list of the built-in modules the process loaded, printed as it exits.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cnmlab-modules-'));
  const probe = path.join(dir, 'probe.js');
  fs.writeFileSync(probe, "process.on('exit', () => process.stderr.write('\\n' + JSON.stringify(process.moduleLoadList)));\n");
  const loaded = (...args: string[]) => {
    const r = spawnSync(process.execPath, ['--require', probe, path.join(REPO, 'bin', 'cnmlab.js'), ...args], { encoding: 'utf8', cwd: REPO });
    return { status: r.status, modules: JSON.parse(r.stderr.split('\n').pop()!) as string[] };
  };
  try {
    const sim = loaded('run', 'scenarios/overlay-standalone.yaml');
    expect(sim.status).toBe(0);
    // emu's process tooling's (emu/exec.ts) and readline's (cnmlab lab, replay) built-ins, and child_process,
    // which commander would load as it loads for subcommands cnmlab does not have.
    for (const m of ['NativeModule timers/promises', 'NativeModule readline', 'NativeModule child_process']) expect(sim.modules).not.toContain(m);
    // A command that uses one loads it (the probe sees it), even when its input is then refused.
    expect(loaded('replay', path.join(dir, 'absent.pcap')).modules).toContain('NativeModule readline');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('zod and ajv stay out of the bundle and are loaded by the commands that need them: a valid scenario needs neither', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cnmlab-packages-'));
  const probe = path.join(dir, 'probe.js');
  // The packages the process required from node_modules, printed as it exits.
  fs.writeFileSync(probe, "process.on('exit', () => process.stderr.write('\\n' + JSON.stringify([...new Set(Object.keys(require.cache).map((f) => /node_modules\\/([^/]+)/.exec(f)?.[1]).filter(Boolean))])));\n");
  const packages = (...args: string[]) => {
    const r = spawnSync(process.execPath, ['--require', probe, path.join(REPO, 'bin', 'cnmlab.js'), ...args], { encoding: 'utf8', cwd: REPO });
    return { status: r.status, stderr: r.stderr, packages: JSON.parse(r.stderr.split('\n').pop()!) as string[] };
  };
  try {
    const bundle = fs.readFileSync(path.join(REPO, 'dist', 'cnmlab.js'), 'latin1');
    expect(bundle).not.toContain('ZodError');
    expect(bundle).not.toContain('ajv/dist');
    const valid = packages('run', 'scenarios/overlay-standalone.yaml');
    expect(valid.status).toBe(0);
    expect(valid.packages).not.toContain('zod');
    expect(valid.packages).not.toContain('ajv');
    // A file the plain checks refuse is judged by zod's schemas, which say what is wrong.
    const bad = path.join(dir, 'bad.yaml');
    fs.writeFileSync(bad, 'name: bad\nhosts:\n  r0: {wrong: 1}\nsteps:\n  - r0: docker network ls\n');
    const refused = packages('run', bad);
    expect(refused.status).toBe(2);
    expect(refused.stderr).toContain("unexpected key 'wrong'");
    expect(refused.packages).toContain('zod');
    // viz validates a trace with ajv.
    const trace = path.join(dir, 'trace.json');
    fs.writeFileSync(trace, '{}');
    const viz = packages('viz', trace, '-o', path.join(dir, 'out.html'));
    expect(viz.status).toBe(2);
    expect(viz.packages).toContain('ajv');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('the bundle is ASCII, so the CLI reads it as Latin-1 without decoding UTF-8', () => {
  // esbuild escapes what lies beyond ASCII in strings; minifying drops the comments that kept it.
  const bytes = fs.readFileSync(path.join(REPO, 'dist', 'cnmlab.js'));
  const beyond = bytes.findIndex((b) => b > 0x7f);
  expect(beyond === -1 ? 'ASCII' : bytes.subarray(Math.max(0, beyond - 40), beyond + 20).toString('utf8')).toBe('ASCII');
});

test("a command's help is the same from the program that defines it alone (`cnmlab run --help`) as from the whole program (`cnmlab help run`)", () => {
  for (const command of ['run', 'verify', 'compare', 'lab']) {
    const alone = cli(command, '--help');
    const whole = cli('help', command);
    expect(alone.status).toBe(0);
    expect(alone.stdout).toContain(`Usage: cnmlab ${command} `);
    expect(alone.stdout).toBe(whole.stdout);
  }
  // The whole program's help lists every command.
  const all = cli('--help').stdout;
  for (const command of ['decode', 'run', 'verify', 'compare', 'viz', 'replay', 'lab', 'explain', 'clean']) expect(all).toMatch(new RegExp(`^  ${command} `, 'm'));
});

test("the bundle is written inside Node's CommonJS wrapper, so the CLI compiles its text as read, with no wrapped copy", () => {
  const bundle = fs.readFileSync(path.join(REPO, 'dist', 'cnmlab.js'), 'latin1');
  const [head, tail] = (require('module') as { wrapper: [string, string] }).wrapper;
  expect(bundle.startsWith(head)).toBe(true);
  expect(bundle.trimEnd().endsWith(tail)).toBe(true);
  // A fixed head, the one the CLI looks for, whatever the running Node's Module.wrapper says.
  const literal = '(function (exports, require, module, __filename, __dirname) { ';
  expect(bundle.startsWith(literal)).toBe(true);
  expect(fs.readFileSync(path.join(REPO, 'bin', 'cnmlab.js'), 'utf8')).toContain(`const WRAPPER_HEAD = '${literal}';`);
});

test("the CLI knows the wrapped bundle by the build's fixed head, not by Module.wrapper: a tool that patches the wrapper does not get it wrapped twice", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cnmlab-wrapper-'));
  const probe = path.join(dir, 'probe.js');
  // Patched as the CLI opens the bundle: patched any earlier, Node would wrap bin/cnmlab.js
  // itself with it, and its #! line would no longer come first.
  fs.writeFileSync(probe, `const fs = require('fs');
const Module = require('module');
const openSync = fs.openSync;
fs.openSync = function (file, ...rest) {
  if (String(file).endsWith('cnmlab.js')) Module.wrapper[0] = '(function (exports, require, module, __filename, __dirname) { /* patched */ ';
  return openSync.call(this, file, ...rest);
};
`);
  try {
    const r = spawnSync(process.execPath, ['--require', probe, path.join(REPO, 'bin', 'cnmlab.js'), '--version'], { encoding: 'utf8', cwd: REPO });
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('0.1.0\n');
    expect(r.status).toBe(0);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
