/**
 * Docker's classic overlay in emu (root): the store is a real etcd in a namespace of its own,
 * vxlan0's misses are the real kernel's, a miss handler per overlay namespace answers them
 * and programs the kernel, a kept lab's handlers live until `cnmlab clean`, and nothing is
 * left behind.
 */
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { describeWith, REPO } from './helpers/env';
import { EmuBackend } from '../emu/backend';
import { parseScenario } from '../sim/scenario/load';
import { ScenarioSession } from '../sim/runner/session';
import { MISSWATCH_MARK } from '../emu/misswatch';

const STATE = fs.mkdtempSync(path.join(os.tmpdir(), 'cnmlab-kvover-state-'));
process.env.CNMLAB_STATE_DIR = STATE;
const CLI = path.join(REPO, 'bin', 'cnmlab.js');

const DOCKERD = (h: string) => `  - ${h}: dockerd --cluster-store=etcd://198.51.100.10:2379 --cluster-advertise=eth0:2376\n`;
const LAB = `name: kv-emu
hosts:
  r0: {}
  r1: {}
  r2: {}
steps:
${DOCKERD('r0')}${DOCKERD('r1')}  - r0: docker network create -d overlay multihost
  - r0: docker run -dit --name c0 --net multihost busybox
${DOCKERD('r2')}  - r2: docker run -dit --name c2 --net multihost busybox
`;

const ourNamespaces = (prefix: string) => execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }).split('\n').map((l) => l.split(' ')[0]).filter((n) => n.startsWith(`${prefix}.`));
/** The processes of a run: their command lines name its prefix (its namespaces' names). */
const processesOf = (prefix: string) => execFileSync('sh', ['-c', 'pgrep -af . || true'], { encoding: 'utf8' }).split('\n').filter((l) => l.includes(prefix) && !l.includes('pgrep'));

describeWith(['ip', 'bridge', 'tcpdump', 'ping', 'etcd', 'etcdctl'], true, 'classic overlay in emu (real kernel, real etcd)', () => {
  test("the kernel's l3miss on r2's vxlan0 reaches the handler, which programs r0's answer: the first echo waits for the ARP sent again a second later; teardown leaves nothing", async () => {
    const s = parseScenario('lab.yaml', LAB);
    const backend = await EmuBackend.create(s, { quiet: true });
    const prefix = backend.names.prefix;
    try {
      const session = await ScenarioSession.start(s, backend);
      for (const st of s.steps) expect((await session.step(st.on, st.command)).exitCode).toBe(0);
      await backend.settle();
      expect(ourNamespaces(prefix)).toContain(`${prefix}._etcd`);
      const handlers = processesOf(prefix).filter((l) => l.includes(MISSWATCH_MARK));
      // One per overlay namespace: r0's and r2's.
      expect(handlers).toHaveLength(2);
      const ovl = ourNamespaces(prefix).find((n) => n.startsWith(`${prefix}.r2.1-`))!;
      expect(execFileSync('ip', ['-n', ovl, 'neigh', 'show'], { encoding: 'utf8' })).toBe('');
      const ping = await session.step('c2', 'ping -c 2 c0');
      expect(ping.exitCode).toBe(0);
      expect(ping.stdout).toMatch(/seq=0 ttl=64 time=10\d\d\.\d+ ms/);
      expect(execFileSync('ip', ['-n', ovl, 'neigh', 'show'], { encoding: 'utf8' })).toBe('10.0.0.2 dev vxlan0 lladdr 02:42:0a:00:00:02 PERMANENT \n');
      expect(execFileSync('bridge', ['-n', ovl, 'fdb', 'show', 'dev', 'vxlan0'], { encoding: 'utf8' })).toContain('02:42:0a:00:00:02 dst 198.51.100.10 link-netnsid 0 self permanent');
      const flow = backend.flows().find((f) => ping.flows.includes(f.id))!;
      const control = flow.hops.filter((h) => ['miss', 'peer-answer', 'peer-programmed'].includes(h.event) || (h.event === 'drop' && h.step === 3));
      expect(control.map((h) => `${h.step} ${h.host} ${h.device} ${h.event}`)).toEqual(['3 r2 vxlan0 drop', '3 r2 vxlan0 miss', '4 r2 eth0 peer-answer', '4 r2 vxlan0 peer-programmed']);
      expect(control[0].reason).toBe('no neighbour entry for 10.0.0.2 (l3miss)');
      expect(control[2].note).toContain('"02:42:0a:00:00:02 255.255.255.0 198.51.100.10"');
      // c2 asked again a second after its first ARP, once the entries were there, and vxlan0 answered.
      const arps = flow.hops.filter((h) => h.event === 'veth-cross' && h.host === 'r2' && h.layers.some((l) => l.proto === 'arp'));
      expect(arps.length).toBeGreaterThanOrEqual(2);
      expect(arps[1].timeNs - arps[0].timeNs).toBeGreaterThan(900_000_000);
      expect(arps[1].timeNs).toBeGreaterThan(control[3].timeNs);
      expect(flow.hops.some((h) => h.event === 'arp-proxy-reply' && h.host === 'r2' && h.timeNs > control[3].timeNs)).toBe(true);
    } finally {
      await backend.close();
    }
    expect(ourNamespaces(prefix)).toEqual([]);
    expect(processesOf(prefix)).toEqual([]);
  }, 180_000);

  test("a kept lab's handlers and their `ip monitor` live on after the run, and `cnmlab clean` ends them by their mark", () => {
    const file = path.join(STATE, 'kept.yaml');
    fs.writeFileSync(file, LAB.replace('name: kv-emu', 'name: kv-kept'));
    const r = spawnSync(process.execPath, [CLI, 'run', file, '--mode', 'emu', '--keep'], { cwd: REPO, encoding: 'utf8', env: process.env });
    expect(r.status).toBe(0);
    // The kept lab's list names the classic overlay's namespace on each host it is instantiated on, as its driver names it.
    expect(r.stdout).toMatch(/^ {2}overlay multihost on r0 +ip netns exec /m);
    const prefix = fs.readdirSync(STATE).find((f) => /^cnm[0-9a-f]{6}\.json$/.test(f))!.slice(0, 9);
    const left = processesOf(prefix);
    expect(left.filter((l) => l.includes(MISSWATCH_MARK))).toHaveLength(2);
    expect(left.filter((l) => / monitor neigh$/.test(l))).toHaveLength(2);
    const c = spawnSync(process.execPath, [CLI, 'clean'], { cwd: REPO, encoding: 'utf8', env: process.env });
    expect(c.status).toBe(0);
    expect(processesOf(prefix)).toEqual([]);
    expect(ourNamespaces(prefix)).toEqual([]);
  }, 180_000);
});
