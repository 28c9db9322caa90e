/**
 * A hostile scenario (issue 20): host and container steps that try to change the machine,
 * read its secrets, reach namespaces not the run's, flood the output and never end. In
 * emu (as root) nothing on the machine changes; every step gets its refusal or its
 * timeout, in sim and emu alike, and the run ends with the exit its expectations give.
 * Also emu's step executor on its own: it starts only what the registry maps to a real
 * program, in a namespace of its run, whatever a caller hands it.
 */
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { describeWith, REPO } from './helpers/env';
import { twoNodes } from './helpers/run';
import { EXIT_OUTPUT_CUT, EXIT_TIMED_OUT, OUTPUT_CAP_BYTES } from '../sim/runner/bounds';
import { NOT_MODELLED_EXIT, notModelled } from '../sim/commands/registry';
import { parseScenario } from '../sim/scenario/load';
import { newModel } from '../sim/runner/runner';
import { EmuBackend } from '../emu/backend';

interface Step { command: string; exitCode: number; stdout: string; stderr: string; ok: boolean }

/** A namespace name no run of cnmlab makes (a run's start with cnm and six hex digits). */
const FOREIGN = `hostile-foreign-${process.pid}`;

/**
 * Each hostile step with the answer it must get, the same in both modes. `foreign` names a
 * network namespace that is not the run's (in emu, one that exists on the machine).
 */
function hostile(marker: string, foreign: string): { yaml: string; answers: [string, number, RegExp][] } {
  const answers: [string, number, RegExp][] = [
    [`r0: touch ${marker}/new`, NOT_MODELLED_EXIT, /^cnmlab: not modelled: touch /],
    [`r0: rm -rf ${marker}`, NOT_MODELLED_EXIT, /^cnmlab: not modelled: rm /],
    ['c0: touch /tmp/x', NOT_MODELLED_EXIT, /^cnmlab: not modelled: touch \/tmp\/x/],
    ['c0: rm -rf /etc', NOT_MODELLED_EXIT, /^cnmlab: not modelled: rm -rf \/etc/],
    ['r0: echo pwned > /etc/hostname', NOT_MODELLED_EXIT, /^cnmlab: not modelled: echo pwned > \/etc\/hostname/],
    ["c0: sh -c 'echo 1 > /proc/sys/net/ipv4/ip_forward'", NOT_MODELLED_EXIT, /^cnmlab: not modelled: sh /],
    ['c0: cat /etc/shadow', NOT_MODELLED_EXIT, /^cnmlab: not modelled: cat \/etc\/shadow/],
    ['r0: cat /etc/shadow', NOT_MODELLED_EXIT, /^cnmlab: not modelled: cat \/etc\/shadow/],
    ['r0: ln -s /var/run/docker/netns /var/run/netns', 0, /^$/],
    [`r0: ip netns exec ${foreign} ip link set lo up`, 255, new RegExp(`^Cannot open network namespace "${foreign}": No such file or directory\n$`)],
    [`r0: ip -n ${foreign} link set lo up`, 255, new RegExp(`^Cannot open network namespace "${foreign}": No such file or directory\n$`)],
    ['r0: ip netns exec @test-net sh', NOT_MODELLED_EXIT, /^cnmlab: not modelled: ip netns exec @test-net sh/],
    ['r0: nsenter -t 1 -n ip link', NOT_MODELLED_EXIT, /^cnmlab: not modelled: nsenter /],
    ['c0: nsenter -t 1 -m -u -n -i sh', NOT_MODELLED_EXIT, /^cnmlab: not modelled: nsenter /],
    // Over 11 MB uncut: 200,000 replies of 56 bytes.
    ['r0: ping -i 0.0002 -c 200000 198.51.100.11\n    timeout: 60', EXIT_OUTPUT_CUT, /cnmlab: output cut at 1048576 bytes, its processes killed: ping -i 0\.0002 -c 200000 198\.51\.100\.11\n$/],
    ['r0: ping 198.51.100.11', EXIT_TIMED_OUT, /^cnmlab: timed out after 2 s, its processes killed: ping 198\.51\.100\.11\n$/],
    ['c0: ping c1', EXIT_TIMED_OUT, /^cnmlab: timed out after 2 s, its processes killed: ping c1\n$/],
    // A stopped stage stops its line: the filter reads what it printed, the exit is the stop's, nothing after it runs.
    ['c0: ping c1 | head -n 1 ; echo after', EXIT_TIMED_OUT, /^cnmlab: timed out after 2 s, its processes killed: ping c1 \| head -n 1 ; echo after\n$/],
    ['r0: ping -i 0.0002 -c 200000 198.51.100.11 | wc -l\n    timeout: 60', EXIT_OUTPUT_CUT, /^cnmlab: output cut at 1048576 bytes, its processes killed: ping -i 0\.0002 -c 200000 198\.51\.100\.11 \| wc -l\n$/],
    ['c0: hostname', 0, /^$/],
    ['c0: cat /etc/hosts /etc/resolv.conf', 0, /^$/],
  ];
  const steps = answers.map(([line, exit]) => `  - ${line}\n    expect: { exit: ${exit} }\n`).join('');
  const yaml = twoNodes(`  - r0: docker run -dit --name c0 --network test-net ubuntu:14.04
  - r1: docker run -dit --name c1 --network test-net ubuntu:14.04
${steps}`, 'name: hostile\ntimeout: 2');
  return { yaml, answers };
}

const SETUP_STEPS = 5;

function cnmlab(args: string[], env: NodeJS.ProcessEnv = {}): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [path.join(REPO, 'bin', 'cnmlab.js'), ...args], { encoding: 'utf8', maxBuffer: 1 << 30, env: { ...process.env, ...env } });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

function run(file: string, mode: 'sim' | 'emu', env: NodeJS.ProcessEnv = {}): { status: number; steps: Step[]; namespaces: { host: string; name: string }[] } {
  const r = cnmlab(['run', file, '--mode', mode, '--json'], env);
  const out = JSON.parse(r.stdout);
  return { status: r.status, steps: (out.steps as Step[]).slice(SETUP_STEPS), namespaces: out.trace.topology.namespaces };
}

function checkAnswers(steps: Step[], answers: [string, number, RegExp][]): void {
  expect(steps.map((s, i) => ({ line: answers[i][0], exit: s.exitCode, stderrOk: answers[i][2].test(s.stderr) || s.stderr })))
    .toEqual(answers.map(([line, exit]) => ({ line, exit, stderrOk: true })));
  const cut = steps.find((s) => s.exitCode === EXIT_OUTPUT_CUT)!;
  expect(Buffer.byteLength(cut.stdout)).toBe(OUTPUT_CAP_BYTES);
  const [headed, counted] = steps.filter((s) => s.stdout !== cut.stdout && /\| (head|wc)/.test(s.command));
  expect(headed.stdout).toMatch(/^PING c1 \(10\.0\.1\.\d+\) 56\(84\) bytes of data\.\n$/);
  // wc counted the lines of the first 1 MiB: a flood of replies, not the whole 200,000.
  expect(Number(counted.stdout)).toBeGreaterThan(10_000);
  expect(Number(counted.stdout)).toBeLessThan(20_000);
  const [hostname, files] = steps.slice(-2);
  expect(hostname.stdout).toMatch(/^[0-9a-f]{12}\n$/);
  expect(files.stdout).toBe(`127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n10.0.1.2\t${hostname.stdout.trim()}\nnameserver 127.0.0.11\noptions ndots:0\n`);
}

describe('hostile scenario in sim', () => {
  test('every step gets its refusal or its timeout, and the run passes since each expects it', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cnmlab-hostile-'));
    try {
      const { yaml, answers } = hostile(path.join(dir, 'marker'), FOREIGN);
      const file = path.join(dir, 'hostile.yaml');
      fs.writeFileSync(file, yaml);
      const r = run(file, 'sim');
      checkAnswers(r.steps, answers);
      expect(r.status).toBe(0);
      // Without its expectations the same run fails: a refused or stopped step is not a pass.
      fs.writeFileSync(file, yaml.replace(/\n {4}expect: \{ exit: \d+ \}/g, ''));
      expect(cnmlab(['run', file, '--mode', 'sim']).status).toBe(1);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** Names, modes, sizes and times of every entry under dir. */
function tree(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      const st = fs.lstatSync(p);
      out.push(`${p} ${st.mode} ${st.size} ${st.mtimeMs}`);
      if (e.isDirectory()) walk(p);
    }
  };
  walk(dir);
  return out.sort();
}

function rootNamespace(): string {
  const links = execFileSync('ip', ['-o', 'link'], { encoding: 'utf8' }).split('\n').map((l) => l.replace(/^\d+: /, '').replace(/link-netnsid \d+/, '')).filter((l) => !/^(veth|u-)/.test(l)).sort();
  const addrs = execFileSync('ip', ['-o', 'addr'], { encoding: 'utf8' }).split('\n').sort();
  const routes = execFileSync('ip', ['route'], { encoding: 'utf8' });
  return JSON.stringify({ links, addrs, routes, hostname: os.hostname() });
}

/** Processes that live in this run's views or run its hostile commands. */
function runProcesses(stateDir: string): string[] {
  return fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p)).flatMap((pid) => {
    try {
      const root = fs.readlinkSync(`/proc/${pid}/root`);
      const args = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
      return root.startsWith(stateDir) || args.includes(stateDir) || /ping (-i 0\.0002|198\.51\.100\.11|c1)/.test(args) ? [`${pid} ${args}`] : [];
    } catch {
      return [];
    }
  });
}

describeWith(['ip', 'nsenter', 'unshare', 'setpriv', 'mount', 'ping', 'tcpdump'], true, 'hostile scenario in emu (real kernel)', () => {
  test('nothing on the machine changes, and every step gets the same answer as in sim', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cnmlab-hostile-'));
    const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cnmlab-hostile-state-'));
    try {
      const marker = path.join(dir, 'marker');
      fs.mkdirSync(path.join(marker, 'sub'), { recursive: true });
      fs.writeFileSync(path.join(marker, 'sub', 'keep'), 'keep');
      const { yaml, answers } = hostile(marker, FOREIGN);
      const file = path.join(dir, 'hostile.yaml');
      fs.writeFileSync(file, yaml);
      const etc = () => tree('/etc').filter((l) => !l.startsWith('/etc/netns'));
      const netnsEtc = () => (fs.existsSync('/etc/netns') ? fs.readdirSync('/etc/netns') : []);
      // A namespace of the machine that is not the run's: the steps name it, and it must stay as it is (lo down).
      execFileSync('ip', ['netns', 'add', FOREIGN]);
      const foreignLinks = () => execFileSync('ip', ['-n', FOREIGN, '-o', 'link'], { encoding: 'utf8' });
      const before = { marker: tree(marker), etc: etc(), netns: netnsEtc(), root: rootNamespace(), foreign: foreignLinks() };
      expect(before.foreign).toMatch(/^1: lo: <LOOPBACK> .* state DOWN /);
      const emu = run(file, 'emu', { CNMLAB_STATE_DIR: stateDir });
      checkAnswers(emu.steps, answers);
      expect(emu.status).toBe(0);
      const after = { marker: tree(marker), etc: etc(), netns: netnsEtc(), root: rootNamespace(), foreign: foreignLinks() };
      // Other runs on a shared machine come and go there; none of this run's namespaces may have an entry.
      const mine = (n: string) => emu.namespaces.some((ns) => n.endsWith(`.${ns.host}.${ns.name}`));
      expect({ ...after, netns: after.netns.filter(mine) }).toEqual({ ...before, netns: before.netns.filter(mine) });
      expect(runProcesses(stateDir)).toEqual([]);
      expect(fs.readdirSync(stateDir)).toEqual([]);
      // Same exits and refusal lines as sim, step by step.
      const sim = run(file, 'sim');
      const last = (s: Step) => s.stderr.trim().split('\n').pop();
      expect(emu.steps.map((s) => [s.exitCode, last(s)])).toEqual(sim.steps.map((s) => [s.exitCode, last(s)]));
    } finally {
      spawnSync('ip', ['netns', 'del', FOREIGN]);
      fs.rmSync(dir, { recursive: true, force: true });
      fs.rmSync(stateDir, { recursive: true, force: true });
    }
  });
});

describeWith(['ip', 'nsenter', 'unshare', 'setpriv', 'mount'], true, "emu's step executor (real kernel)", () => {
  test('starts only what the registry maps to a real program, only in a namespace of its run, whatever its caller hands it', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cnmlab-executor-'));
    const marker = path.join(dir, 'touched');
    const s = parseScenario('lab.yaml', 'name: executor\nhosts:\n  r0: {}\nsteps:\n  - r0: ip link\n');
    const model = newModel(s);
    const backend = await EmuBackend.create(s, { quiet: true });
    // Real on the machine and named as the run names its namespaces, but not made by the run.
    const intruder = `${backend.names.prefix}.r0.intruder`;
    try {
      await backend.apply(model.boot(), model.world);
      execFileSync('ip', ['netns', 'add', intruder]);
      const ctx = { world: model.world, namesVisible: false };
      const exec = (netns: string, argv: string[]) => backend.exec('r0', netns, argv, ctx);
      const refused = (argv: string[]) => notModelled(argv.join(' '));
      for (const argv of [
        ['touch', marker],
        ['sh', '-c', `touch ${marker}`],
        // Answered by the model or by cnmlab in the shell: never a real program.
        ['docker', 'ps'], ['ip', 'netns', 'exec', 'intruder', 'touch', marker], ['ln', '-s', '/var/run/docker/netns', '/var/run/netns'], ['grep', 'x'],
        // Real ip would enter any namespace of the machine.
        ['ip', '-n', intruder, 'link', 'set', 'lo', 'up'],
        // Options and operands the registry does not declare.
        ['ip', '-batch', marker], ['ip', 'route', 'flush', 'all'], ['ping', '-c', '1', '-p', 'ff', '127.0.0.1'],
      ]) {
        expect(await exec('r0', argv)).toEqual(refused(argv));
      }
      // Checked against the host's shell: cat (of the container's own files only) is a container's program.
      expect(await exec('r0', ['cat', '/etc/hosts'])).toEqual(refused(['cat', '/etc/hosts']));
      expect(await exec('intruder', ['ip', 'link', 'set', 'lo', 'up'])).toEqual({ stdout: '', stderr: 'Cannot open network namespace "intruder": No such file or directory\n', exitCode: 255 });
      expect(await exec('../../x', ['ip', 'link'])).toEqual({ stdout: '', stderr: 'Cannot open network namespace "../../x": No such file or directory\n', exitCode: 255 });
      expect(execFileSync('ip', ['-n', intruder, '-o', 'link'], { encoding: 'utf8' })).toMatch(/^1: lo: <LOOPBACK> .* state DOWN /);
      expect(fs.existsSync(marker)).toBe(false);
      // What the registry maps to a real program does run, in the run's namespace.
      const lo = await exec('r0', ['ip', 'link', 'show', 'lo']);
      expect(lo).toMatchObject({ exitCode: 0, stderr: '' });
      expect(lo.stdout).toMatch(/^1: lo: /);
    } finally {
      await backend.close();
      spawnSync('ip', ['netns', 'del', intruder]);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
