/**
 * The emu backend on the real kernel (root): the seed lab end to end, Docker's layout in
 * the namespaces, agreement with sim, and the safety rules of DESIGN §7.
 */
import { execFileSync, spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { describeWith, REPO } from './helpers/env';
import { cnmlab } from './helpers/tshark';
import { classifyPath } from '../sim/trace/path';
import { Trace } from '../sim/trace/types';

const CLI = path.join(REPO, 'bin', 'cnmlab.js');

function rootView(): string {
  // The root namespace's links, addresses and routes, and the namespaces not ours.
  const links = execFileSync('ip', ['-d', '-o', 'link'], { encoding: 'utf8' }).split('\n').map((l) => l.replace(/\d+: /, '').replace(/link-netnsid \d+/, '')).sort();
  const addrs = execFileSync('ip', ['-o', 'addr'], { encoding: 'utf8' }).split('\n').sort();
  const routes = execFileSync('ip', ['route'], { encoding: 'utf8' });
  const netns = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }).split('\n').filter((n) => n && !n.startsWith('cnm')).sort();
  return JSON.stringify({ links, addrs, routes, netns });
}

// This file's runs keep their state in a folder of their own, so that its `cnmlab clean` meets
// only its own runs, never those of another suite running on the machine (nor they these).
const STATE = fs.mkdtempSync(path.join(os.tmpdir(), 'cnmlab-emu-state-'));
process.env.CNMLAB_STATE_DIR = STATE;
const prefixes = new Set<string>();

/** Namespaces of the runs this file started (each run records its prefix before it makes anything). */
function ourNamespaces(): string[] {
  for (const f of fs.readdirSync(STATE)) if (/^cnm[0-9a-f]{6}\.json$/.test(f)) prefixes.add(f.slice(0, 9));
  return execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }).split('\n').map((l) => l.split(' ')[0]).filter((n) => prefixes.has(n.slice(0, 9)) && n[9] === '.');
}

function scenario(dir: string, name: string, steps: string): string {
  const file = path.join(dir, `${name}.yaml`);
  fs.writeFileSync(file, `name: ${name}\nhosts:\n  r0: {}\n  r1: {}\nsteps:\n${steps}`);
  return file;
}

const SETUP = `  - r0: docker swarm init
  - r1: docker swarm join --token <...> 198.51.100.10:2377
  - r0: docker network create --driver=overlay --attachable test-net
  - r0: docker run -dit --name ubuntu0 --network test-net ubuntu:14.04
  - r1: docker run -dit --name ubuntu1 --network test-net ubuntu:14.04
  - r0: ln -s /var/run/docker/netns /var/run/netns
`;

describeWith(['ip', 'bridge', 'tcpdump', 'ping'], true, 'emu backend (real kernel)', () => {
  let dir: string;
  let before: string;
  beforeAll(() => {
    execFileSync(process.execPath, [CLI, 'clean'], { stdio: 'ignore', env: process.env });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cnmlab-emu-'));
    before = rootView();
  });
  afterEach(() => {
    // Whatever a test did, nothing of ours may remain.
    const left = ourNamespaces();
    if (left.length) execFileSync(process.execPath, [CLI, 'clean'], { stdio: 'ignore', env: process.env });
    expect(left).toEqual([]);
  });
  afterAll(() => {
    fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(STATE, { recursive: true, force: true });
    expect(rootView()).toBe(before);
  });

  test('the seed lab: the ping works and the trace has steps 1–8 both ways with VNI 4097', () => {
    const trace = path.join(dir, 'seed.json');
    const r = cnmlab(['run', 'scenarios/overlay-standalone.yaml', '--mode', 'emu', '--trace', trace]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/64 bytes from ubuntu1\.test-net \(10\.0\.1\.4\): icmp_seq=1 ttl=64 time=/);
    const t: Trace = JSON.parse(fs.readFileSync(trace, 'utf8'));
    expect(t.mode).toBe('emu');
    const flow = t.flows[0];
    expect(classifyPath(flow).kind).toBe('overlay');
    for (const dir of ['request', 'reply'] as const) {
      const steps = flow.hops.filter((h) => h.dir === dir && h.layers.some((l) => l.proto === 'icmp' && l['icmp.seq'] === 1)).map((h) => h.step);
      expect(steps).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 8]);
    }
    // No ARP for the peer's underlay address at step 4: the hosts' control-plane traffic (the listener holders' probes) resolved it
    // before the ping, as on Docker hosts and in sim's golden trace.
    expect(flow.hops.filter((h) => h.step === 4 && h.layers.some((l) => l.proto === 'arp')).map((h) => [h.host, h.event])).toEqual([]);
    // The hop notes are the path model's words, each filled in with what the mode knows: the same as sim's golden trace gives.
    const golden: Trace = JSON.parse(fs.readFileSync(path.join(REPO, 'test', 'golden', 'overlay-standalone.sim.trace.json'), 'utf8'));
    const notes = (tr: Trace) => [...new Set(tr.flows.filter((f) => f.kind === 'icmp-echo')
      .flatMap((f) => f.hops.filter((h) => h.note).map((h) => `${h.dir} step ${h.step} ${h.event} at ${h.host}/${h.device}: ${h.note}`)))].sort();
    expect(notes(t)).toEqual(notes(golden));
    const encap = flow.hops.find((h) => h.step === 4 && h.event === 'encap')!;
    expect(encap.layers.find((l) => l.proto === 'vxlan')).toMatchObject({ 'vxlan.vni': 4097 });
    expect(encap.layers.find((l) => l.proto === 'udp')).toMatchObject({ 'udp.dstport': 4789 });
    // The listener holders played dockerd's probes while the ping was captured: each node probed the other, and was acked
    // (seen sent at both ends; the first may have been missed by a capture point still starting).
    const probes = (t.control ?? []).filter((f) => f.control === 'memberlist-probe');
    for (const [from, to] of [['r0', 'r1'], ['r1', 'r0']]) {
      const sends = probes.filter((f) => f.from === from && f.to === to).map((f) => f.hops.filter((h) => h.event === 'send').map((h) => [h.host, h.dir, h.layers.find((l) => l.proto === 'udp')?.['udp.dstport']]));
      expect(sends).toContainEqual([[from, 'request', 7946], [to, 'reply', 7946]]);
    }
    for (const b of (t.control ?? []).filter((f) => f.control === 'swarm-heartbeat')) {
      expect([b.from, b.to]).toEqual(['r1', 'r0']);
      expect(b.hops.find((h) => h.event === 'send')!.layers.find((l) => l.proto === 'tls')).toMatchObject({ 'tls.record.content_type': 23 });
    }
  });

  test("Docker's layout: overlay namespace devices, neigh and fdb; the container's eth0, eth1 and routes", () => {
    const file = scenario(dir, 'layout', `${SETUP}  - r0: ip netns exec 1-6trovoee4p ip -d link show vxlan0
  - r0: ip netns exec 1-6trovoee4p ip neigh
  - r0: ip netns exec 1-6trovoee4p bridge fdb show dev vxlan0
  - ubuntu0: ip addr
  - ubuntu0: ip route
  - ubuntu0: cat /etc/resolv.conf
  - r0: ip netns exec 1-6trovoee4p ip link show br0
`.replace(/1-6trovoee4p/g, '1-bd0gtk9rgx'));
    // The namespace name is seeded by the scenario name; learn it from sim first.
    const sim = JSON.parse(cnmlab(['run', file, '--json']).stdout);
    const ovl = (sim.trace as Trace).topology.namespaces.find((n) => n.kind === 'overlay' && n.network === 'test-net' && n.host === 'r0')!.name;
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace(/1-bd0gtk9rgx/g, ovl));
    const r = cnmlab(['run', file, '--mode', 'emu', '--json']);
    expect(r.status).toBe(0);
    const out = (JSON.parse(r.stdout).steps as { stdout: string }[]).map((s) => s.stdout);
    expect(out[6]).toMatch(/vxlan0@if\d+: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1450 .*master br0/);
    expect(out[6]).toMatch(/vxlan id 4097 .*dstport 4789 proxy l2miss l3miss .*ageing 300/);
    expect(out[6]).toContain('link-netns r0');
    expect(out[7]).toMatch(/^10\.0\.1\.4 dev vxlan0 lladdr 02:42:0a:00:01:04 PERMANENT/m);
    expect(out[7]).toMatch(/^10\.0\.1\.5 dev vxlan0 lladdr 02:42:0a:00:01:05 PERMANENT/m);
    expect(out[8]).toMatch(/^02:42:0a:00:01:04 dst 198\.51\.100\.11 link-netns(id)? \S+ self permanent$/m);
    expect(out[9]).toMatch(/eth0@if\d+: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1450[\s\S]*link\/ether 02:42:0a:00:01:02[\s\S]*inet 10\.0\.1\.2\/24 brd 10\.0\.1\.255 scope global eth0/);
    expect(out[9]).toMatch(/eth1@if\d+: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500[\s\S]*inet 172\.18\.0\.3\/16/);
    expect(out[10]).toMatch(/^default via 172\.18\.0\.1 dev eth1/m);
    expect(out[10]).toMatch(/^10\.0\.1\.0\/24 dev eth0 proto kernel scope link src 10\.0\.1\.2/m);
    expect(out[11]).toBe('nameserver 127.0.0.11\noptions ndots:0\n');
    expect(out[12]).toMatch(/br0: .* mtu 1450 /);
  });

  test('every lab passes in emu, and sim and emu traces agree (verify --mode both, JUnit)', () => {
    const junit = path.join(dir, 'both.xml');
    const labs = fs.readdirSync(path.join(REPO, 'scenarios')).filter((f) => f.endsWith('.yaml')).map((f) => `scenarios/${f}`);
    const r = cnmlab(['verify', ...labs, '--mode', 'both', '--junit', junit]);
    // lossy-underlay's netem steps are sim's alone on a kernel without netem.
    expect(r.stdout).toMatch(/^\d+ passed, 0 failed(, \d+ not available in this kernel)?$/m);
    expect(r.status).toBe(0);
    expect(fs.readFileSync(junit, 'utf8')).toContain('name="sim and emu traces agree"');
  });

  test('two runs at once do not collide', async () => {
    const runOne = () => new Promise<number>((resolve) => {
      const p = spawn(process.execPath, [CLI, 'run', 'scenarios/overlay-standalone.yaml', '--mode', 'emu', '--json'], { cwd: REPO, env: process.env, stdio: 'ignore' });
      p.on('exit', (code) => resolve(code ?? -1));
    });
    expect(await Promise.all([runOne(), runOne()])).toEqual([0, 0]);
  });

  test('SIGINT during a run tears everything down', async () => {
    const file = scenario(dir, 'interrupt', `${SETUP}  - ubuntu0: ping -c 30 ubuntu1\n`);
    const p = spawn(process.execPath, [CLI, 'run', file, '--mode', 'emu'], { cwd: REPO, env: process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    await new Promise<void>((resolve) => p.stdout!.on('data', (d: Buffer) => d.toString().includes('PING') || d.toString().includes('ubuntu1') ? resolve() : undefined));
    await new Promise((r) => setTimeout(r, 500));
    expect(ourNamespaces().length).toBeGreaterThan(0);
    p.kill('SIGINT');
    const code = await new Promise<number>((resolve) => p.on('exit', (c) => resolve(c ?? -1)));
    expect(code).toBe(130);
    expect(ourNamespaces()).toEqual([]);
  });

  test('after kill -9, cnmlab clean removes exactly what the run made', async () => {
    const file = scenario(dir, 'killed', `${SETUP}  - ubuntu0: ping -c 30 ubuntu1\n`);
    // Captures outside the run's state folder: clean must still find their tcpdumps.
    const pcaps = fs.mkdtempSync(path.join(os.tmpdir(), 'cnmlab-killed-pcaps-'));
    const p = spawn(process.execPath, [CLI, 'run', file, '--mode', 'emu', '--pcap-dir', pcaps], { cwd: REPO, env: process.env, stdio: ['ignore', 'pipe', 'ignore'] });
    await new Promise<void>((resolve) => p.stdout!.on('data', (d: Buffer) => (d.toString().includes('/var/run/netns') ? resolve() : undefined)));
    // Into the ping, so its captures are running when the run dies: their files are there (a
    // fixed wait was too short on a loaded machine, and the run died before its captures began).
    for (const until = Date.now() + 30_000; fs.readdirSync(pcaps).length === 0 && Date.now() < until;) await new Promise((r) => setTimeout(r, 100));
    await new Promise((r) => setTimeout(r, 500));
    // A namespace that is not ours must survive clean.
    execFileSync('ip', ['netns', 'add', 'cnmlab-test-bystander']);
    try {
      p.kill('SIGKILL');
      await new Promise((r) => p.on('exit', r));
      expect(ourNamespaces().length).toBeGreaterThan(5);
      const r = cnmlab(['clean']);
      expect(r.status).toBe(0);
      expect(r.stdout).toMatch(/^removed \d+ namespace\(s\)/);
      expect(ourNamespaces()).toEqual([]);
      expect(execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })).toContain('cnmlab-test-bystander');
      expect(fs.readdirSync('/etc/netns').filter((d) => prefixes.has(d.slice(0, 9)))).toEqual([]);
      // The embedded DNS responder the ping's name lookup started (emu/dns.ts) went with the run's namespaces.
      expect(execFileSync('sh', ['-c', `pgrep -f "[c]nmlab-dns .*${STATE}/cnm" || true`], { encoding: 'utf8' }).trim()).toBe('');
      expect(fs.readdirSync(pcaps).length).toBeGreaterThan(0);
      expect(execFileSync('sh', ['-c', `pgrep -f "[t]cpdump.*${pcaps}" || true`], { encoding: 'utf8' }).trim()).toBe('');
    } finally {
      execFileSync('ip', ['netns', 'del', 'cnmlab-test-bystander']);
      fs.rmSync(pcaps, { recursive: true, force: true });
    }
  });

  test('--keep leaves the topology up until cnmlab clean', () => {
    expect(cnmlab(['run', 'scenarios/overlay-standalone.yaml', '--mode', 'emu', '--keep']).status).toBe(0);
    expect(ourNamespaces().length).toBeGreaterThan(5);
    expect(cnmlab(['clean']).status).toBe(0);
    expect(ourNamespaces()).toEqual([]);
  });

  test('steps that only create wait for no command: a run without one still leaves the whole topology (--keep)', () => {
    const file = scenario(dir, 'setup-only', SETUP);
    expect(cnmlab(['run', file, '--mode', 'emu', '--keep']).status).toBe(0);
    const addresses = ourNamespaces().flatMap((ns) => execFileSync('ip', ['-n', ns, '-o', '-4', 'addr'], { encoding: 'utf8' }).split('\n')
      .filter((l) => /^\d+: eth0 /.test(l)).flatMap((l) => l.match(/10\.0\.1\.\d+\/24/g) ?? []));
    // Both containers and both lb endpoints on test-net.
    expect(addresses.sort()).toEqual(['10.0.1.2/24', '10.0.1.3/24', '10.0.1.4/24', '10.0.1.5/24']);
    expect(cnmlab(['clean']).status).toBe(0);
  });

  test('a run that fails midway (an expectation fails) still cleans up', () => {
    const file = scenario(dir, 'fails', `${SETUP}  - ubuntu0: ping -c 1 ubuntu1\n    expect: { exit: 3 }\n`);
    expect(cnmlab(['run', file, '--mode', 'emu']).status).toBe(1);
  });

  test('without root: a one-line error naming what is needed, exit 2', () => {
    const r = execFileSync('sh', ['-c', `setpriv --reuid=65534 --regid=65534 --clear-groups ${process.execPath} ${CLI} run scenarios/overlay-standalone.yaml --mode emu; echo "rc=$?"`], { cwd: REPO, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    expect(r.trim()).toBe('rc=2');
    const err = execFileSync('sh', ['-c', `setpriv --reuid=65534 --regid=65534 --clear-groups ${process.execPath} ${CLI} run scenarios/overlay-standalone.yaml --mode emu 2>&1 >/dev/null || true`], { cwd: REPO, encoding: 'utf8' });
    expect(err.trim()).toBe('cnmlab: --mode emu needs root (network namespaces, veth, bridge and vxlan devices); run it with sudo');
  });
});
