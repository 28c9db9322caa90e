/**
 * The emu run's lifecycle on the real kernel (root): leave and join again, a capture point
 * that is down, signals, --keep, clean's rules, and a machine that changes under the run.
 * Every run here keeps its state in a folder of its own (CNMLAB_STATE_DIR), so a `cnmlab
 * clean` from another run on the machine cannot touch these runs, nor these theirs.
 */
import { ChildProcess, execFileSync, spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { describeWith, REPO } from './helpers/env';
import { Trace } from '../sim/trace/types';

const CLI = path.join(REPO, 'bin', 'cnmlab.js');

const SETUP = `  - r0: docker swarm init
  - r1: docker swarm join --token <...> 198.51.100.10:2377
  - r0: docker network create --driver=overlay --attachable test-net
  - r0: docker run -dit --name ubuntu0 --network test-net ubuntu:14.04
  - r1: docker run -dit --name ubuntu1 --network test-net --cap-add NET_ADMIN ubuntu:14.04
`;

describeWith(['ip', 'bridge', 'tcpdump', 'ping', 'mount'], true, 'emu lifecycle (real kernel)', () => {
  let dir: string;
  let stateDir: string;
  const env = () => ({ ...process.env, CNMLAB_STATE_DIR: stateDir });

  const cnmlab = (args: string[]) => {
    const r = spawnSync(process.execPath, [CLI, ...args], { cwd: REPO, encoding: 'utf8', env: env(), maxBuffer: 1 << 28 });
    return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
  };
  const scenario = (name: string, steps: string, hosts = ['r0', 'r1']) => {
    const file = path.join(dir, `${name}.yaml`);
    fs.writeFileSync(file, `name: ${name}\nhosts:\n${hosts.map((h) => `  ${h}: {}\n`).join('')}steps:\n${steps}`);
    return file;
  };
  /** Namespaces of the runs recorded in this test's state folder, and those the test saw. */
  const seen = new Set<string>();
  const prefixes = () => {
    for (const f of fs.existsSync(stateDir) ? fs.readdirSync(stateDir) : []) if (/^cnm[0-9a-f]{6}\.json$/.test(f)) seen.add(f.slice(0, 9));
    return [...seen];
  };
  const namespacesOf = (prefix: string) => execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }).split('\n').map((l) => l.split(' ')[0]).filter((n) => n.startsWith(`${prefix}.`));
  const processesOf = (prefix: string) => execFileSync('sh', ['-c', `pgrep -f "[c]nmlab-dns ${prefix}|[t]cpdump.*${prefix}" || true`], { encoding: 'utf8' }).trim();
  const spawnRun = (args: string[]) => spawn(process.execPath, [CLI, ...args], { cwd: REPO, env: env(), stdio: ['ignore', 'pipe', 'pipe'] });
  const collect = (p: ChildProcess) => {
    const out = { stdout: '', stderr: '' };
    p.stdout!.on('data', (d: Buffer) => (out.stdout += d.toString()));
    p.stderr!.on('data', (d: Buffer) => (out.stderr += d.toString()));
    return out;
  };
  const waitFor = (out: { stdout: string }, text: string) => new Promise<void>((resolve, reject) => {
    const t0 = Date.now();
    const poll = () => (out.stdout.includes(text) ? resolve() : Date.now() - t0 > 60000 ? reject(new Error(`no ${text} in ${out.stdout}`)) : setTimeout(poll, 20));
    poll();
  });
  const exited = (p: ChildProcess) => new Promise<number>((resolve) => (p.exitCode !== null ? resolve(p.exitCode) : p.on('exit', (c) => resolve(c ?? -1))));

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cnmlab-life-'));
    stateDir = path.join(dir, 'state');
    seen.clear();
  });
  afterEach(() => {
    // Whatever a test did, nothing of its runs may remain.
    const left = prefixes().flatMap(namespacesOf);
    if (fs.existsSync(stateDir)) cnmlab(['clean']);
    for (const n of prefixes().flatMap(namespacesOf)) execFileSync('ip', ['netns', 'del', n]);
    fs.rmSync(dir, { recursive: true, force: true });
    expect(left).toEqual([]);
  });

  test('a host leaves an overlay and joins it again in the next step, 20 times (rm -f then run, disconnect then connect)', () => {
    let steps = SETUP;
    for (let i = 1; i <= 10; i++) steps += `  - r1: docker rm -f ubuntu${i}\n  - r1: docker run -dit --name ubuntu${i + 1} --network test-net ubuntu:14.04\n`;
    for (let i = 0; i < 10; i++) steps += '  - r1: docker network disconnect test-net ubuntu11\n  - r1: docker network connect test-net ubuntu11\n';
    steps += '  - ubuntu0: ping -c 1 -W 2 ubuntu11\n    expect: { exit: 0, path: overlay }\n';
    const r = cnmlab(['run', scenario('leave-join', steps), '--mode', 'emu']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('1 packets transmitted, 1 received');
  });

  test.each([
    ['ubuntu1', true],
    ['10.0.1.4', false],
  ] as const)('a ping of %s is captured on its lo (the embedded DNS) only when it resolves a name', (target, resolves) => {
    const pcaps = path.join(dir, 'pcaps');
    const trace = path.join(dir, 'lo.json');
    const r = cnmlab(['run', scenario('lo', `${SETUP}  - ubuntu0: ping -c 1 -W 2 ${target}\n    expect: { exit: 0 }\n`), '--mode', 'emu', '--pcap-dir', pcaps, '--trace', trace]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const files = fs.readdirSync(pcaps);
    expect(files).toContain('r0-r0-eth0.pcap');
    expect(files.some((f) => f.endsWith('-lo.pcap'))).toBe(resolves);
    const hops = (JSON.parse(fs.readFileSync(trace, 'utf8')) as Trace).flows.find((f) => f.kind === 'icmp-echo')!.hops;
    expect(hops.some((h) => h.device === 'lo')).toBe(resolves);
    expect(hops.filter((h) => h.event === 'deliver')).toHaveLength(2);
  });

  test('a capture point that is down is where the flow stops (link down), not a crash', () => {
    const trace = path.join(dir, 'down.json');
    const r = cnmlab(['run', scenario('down', `${SETUP}  - ubuntu1: ip link set eth0 down\n  - ubuntu0: ping -c 1 -W 1 ubuntu1\n    expect: { exit: 1 }\n`), '--mode', 'emu', '--trace', trace]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const hops = (JSON.parse(fs.readFileSync(trace, 'utf8')) as Trace).flows[0].hops.filter((h) => h.dir === 'request' && h.layers.some((l) => l.proto === 'icmp'));
    expect(hops.map((h) => h.step)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(hops[hops.length - 1]).toMatchObject({ step: 8, host: 'r1', device: 'eth0', event: 'drop', reason: 'link down' });
  });

  test.each([
    ['SIGINT', 130, 'Swarm initialized'],
    ['SIGTERM', 143, 'Swarm initialized'],
    ['SIGINT', 130, 'docker run -dit --name ubuntu1'],
    ['SIGTERM', 143, 'docker run -dit --name ubuntu1'],
  ] as const)('%s tears the run down and exits %d, without a stack (after "%s")', async (signal, code, after) => {
    const p = spawnRun(['run', scenario('interrupt', `${SETUP}  - ubuntu0: ping -c 30 ubuntu1\n`), '--mode', 'emu']);
    const out = collect(p);
    await waitFor(out, after);
    // Into the next step's kernel work (setup) or the ping's captures.
    await new Promise((r) => setTimeout(r, after.startsWith('docker') ? 700 : 30));
    const [prefix] = prefixes();
    expect(namespacesOf(prefix).length).toBeGreaterThan(0);
    p.kill(signal);
    expect(await exited(p)).toBe(code);
    expect(out.stderr).not.toMatch(/internal error|\n\s+at /);
    expect(namespacesOf(prefix)).toEqual([]);
    expect(processesOf(prefix)).toBe('');
    expect(fs.readdirSync(stateDir)).toEqual([]);
  });

  test('--keep says how to enter the lab and keeps its DNS answering until cnmlab clean', () => {
    const r = cnmlab(['run', 'scenarios/overlay-standalone.yaml', '--mode', 'emu', '--keep']);
    expect(r.status).toBe(0);
    const [prefix] = prefixes();
    expect(r.stdout).toContain(`host r0  `);
    expect(r.stdout).toMatch(new RegExp(`host r1 +ip netns exec ${prefix}\\.r1 bash\n`));
    expect(r.stdout).toContain('cnmlab clean');
    const ns = new RegExp(`container ubuntu0 on r0 +ip netns exec (${prefix}\\.r0\\.[0-9a-f]{12}) bash`).exec(r.stdout)![1];
    // The owner has exited; the container's resolver still answers, as it did during the run.
    const hosts = execFileSync('ip', ['netns', 'exec', ns, 'getent', 'hosts', 'ubuntu1'], { encoding: 'utf8' });
    expect(hosts).toMatch(/^10\.0\.1\.4\s+ubuntu1/);
    expect(processesOf(prefix)).not.toBe('');
    const c = cnmlab(['clean']);
    expect(c.status).toBe(0);
    expect(namespacesOf(prefix)).toEqual([]);
    expect(processesOf(prefix)).toBe('');
  });

  test('clean leaves a run whose owner lives, kept or not; the kept lab is cleanable once its owner exits', async () => {
    const p = spawnRun(['run', scenario('live', `${SETUP}  - ubuntu0: ping -c 30 ubuntu1\n`), '--mode', 'emu', '--keep']);
    const out = collect(p);
    await waitFor(out, 'docker run -dit --name ubuntu1');
    const [prefix] = prefixes();
    const c = cnmlab(['clean']);
    expect(c.stdout).toBe('nothing to clean\n');
    expect(c.stderr).toMatch(new RegExp(`^cnmlab: left ${prefix} \\(kept run ${p.pid} of live is still running\\)\n$`));
    expect(namespacesOf(prefix).length).toBeGreaterThan(5);
    p.kill('SIGTERM');
    expect(await exited(p)).toBe(143);
    expect(namespacesOf(prefix).length).toBeGreaterThan(5);
    expect(cnmlab(['clean']).stdout).toMatch(/^removed \d+ namespace\(s\)/);
    expect(namespacesOf(prefix)).toEqual([]);
  });

  test('a recycled pid does not keep a dead run from clean: the owner is its pid and its start time', () => {
    fs.mkdirSync(stateDir, { recursive: true });
    const stat = fs.readFileSync(`/proc/${process.pid}/stat`, 'utf8');
    const startTime = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
    const runs = { cnm7e57a1: startTime + 1, cnm7e57a2: startTime };
    for (const [prefix, start] of Object.entries(runs)) {
      seen.add(prefix);
      execFileSync('ip', ['netns', 'add', `${prefix}.r0`]);
      fs.writeFileSync(path.join(stateDir, `${prefix}.json`), JSON.stringify({ prefix, pid: process.pid, startTime: start, startedAt: '', scenario: 's', keep: false, namespaces: [`${prefix}.r0`], files: [], pids: [] }));
    }
    const c = cnmlab(['clean']);
    expect(c.stdout).toBe('removed 1 namespace(s): cnm7e57a1.r0\n');
    expect(c.stderr).toBe(`cnmlab: left cnm7e57a2 (run ${process.pid} of s is still running)\n`);
    expect(namespacesOf('cnm7e57a2')).toEqual(['cnm7e57a2.r0']);
    execFileSync('ip', ['netns', 'del', 'cnm7e57a2.r0']);
  });

  test('clean refuses a forged state file in one line and removes nothing of it', () => {
    fs.mkdirSync(stateDir, { recursive: true });
    const victim = path.join(dir, 'victim');
    fs.writeFileSync(victim, 'keep me');
    seen.add('cnm7e57b2');
    execFileSync('ip', ['netns', 'add', 'cnm7e57b2.r0']);
    const forged = { pid: 999999, startedAt: '', scenario: 's', keep: false, pids: [] };
    fs.writeFileSync(path.join(stateDir, 'cnm7e57b1.json'), JSON.stringify({ ...forged, prefix: 'cnm7e57b2', namespaces: ['cnm7e57b2.r0'], files: [] }));
    fs.writeFileSync(path.join(stateDir, 'cnm7e57b3.json'), JSON.stringify({ ...forged, prefix: 'cnm7e57b3', namespaces: [], files: [victim] }));
    const c = cnmlab(['clean']);
    expect(c.status).toBe(2);
    expect(c.stdout).toBe('nothing to clean\n');
    const lines = c.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^cnmlab: refusing state file .*cnm7e57b1\.json: its prefix "cnm7e57b2" is not its file name's \(cnm7e57b1\); nothing of it removed$/);
    expect(lines[1]).toMatch(/^cnmlab: refusing state file .*cnm7e57b3\.json: file ".*victim" is outside/);
    expect(namespacesOf('cnm7e57b2')).toEqual(['cnm7e57b2.r0']);
    expect(fs.readFileSync(victim, 'utf8')).toBe('keep me');
    execFileSync('ip', ['netns', 'del', 'cnm7e57b2.r0']);
    fs.rmSync(stateDir, { recursive: true });
  });

  test('a namespace deleted from outside mid-run: one line, exit 2, and the rest torn down', async () => {
    const p = spawnRun(['run', scenario('deleted', `${SETUP}  - r0: ln -s /var/run/docker/netns /var/run/netns\n  - ubuntu0: ping -c 2 ubuntu1\n  - r1: docker run -dit --name ubuntu2 --network test-net ubuntu:14.04\n  - ubuntu0: ping -c 1 ubuntu2\n`), '--mode', 'emu']);
    const out = collect(p);
    await waitFor(out, '/var/run/netns');
    const [prefix] = prefixes();
    // The namespaces are made when the next step first looks at the kernel: wait for r1's.
    for (const t0 = Date.now(); !namespacesOf(prefix).includes(`${prefix}.r1`) && Date.now() - t0 < 60000;) await new Promise((r) => setTimeout(r, 10));
    execFileSync('ip', ['netns', 'del', `${prefix}.r1`]);
    expect(await exited(p)).toBe(2);
    expect(out.stderr).toMatch(new RegExp(`^cnmlab: namespace ${prefix}\\.r1 of this run was deleted from outside it \\(ip netns del\\?\\); the run cannot go on\n$`));
    expect(namespacesOf(prefix)).toEqual([]);
    expect(processesOf(prefix)).toBe('');
  });

  test.each([
    ['read-only', 'ro,size=1m', /the file system is read-only/],
    ['full', 'size=8k', /no space left on the device/],
  ])('a %s state folder: one line, exit 2, nothing left behind', (_what, options, why) => {
    fs.mkdirSync(stateDir);
    execFileSync('mount', ['-t', 'tmpfs', '-o', options, 'cnmlab-test', stateDir]);
    try {
      const r = cnmlab(['run', 'scenarios/overlay-standalone.yaml', '--mode', 'emu']);
      expect(r.stderr).toMatch(new RegExp(`^cnmlab: cannot write the run's state in ${stateDir} \\(.*\\): ${why.source}; set CNMLAB_STATE_DIR to a writable folder\n$`));
      expect(r.status).toBe(2);
      expect(execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })).not.toMatch(new RegExp(`^(${prefixes().join('|') || 'none'})\\.`, 'm'));
    } finally {
      execFileSync('umount', [stateDir]);
    }
  });

  test('a scenario host named underlay runs (emu names its own underlay so that no host can take it)', () => {
    const file = scenario('host-underlay', `  - underlay: docker swarm init
  - r1: docker swarm join --token <...> 198.51.100.10:2377
  - underlay: docker network create --driver=overlay --attachable test-net
  - underlay: docker run -dit --name ubuntu0 --network test-net ubuntu:14.04
  - r1: docker run -dit --name ubuntu1 --network test-net ubuntu:14.04
  - ubuntu0: ping -c 1 ubuntu1
    expect: { exit: 0, path: overlay }
`, ['underlay', 'r1']);
    const r = cnmlab(['run', file, '--mode', 'emu']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });
});
