/**
 * Flannel in emu (root): the store is a real etcd holding what the model holds, flanneld's
 * devices and entries are the kernel's, nothing is left behind, and a machine without etcd
 * is refused before anything is made.
 */
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { describeWith, REPO } from './helpers/env';
import { EmuBackend } from '../emu/backend';
import { parseScenario } from '../sim/scenario/load';
import { ScenarioSession } from '../sim/runner/session';
import { storeOf } from '../sim/model/drivers/flannel';
import { scenarioNeeds } from '../emu/features';

const STATE = fs.mkdtempSync(path.join(os.tmpdir(), 'cnmlab-flannel-state-'));
process.env.CNMLAB_STATE_DIR = STATE;

const LAB = `name: flannel-store
hosts:
  r0: {}
  r1: {}
steps:
  - r0: etcdctl put /coreos.com/network/config '{"Network":"10.5.0.0/16","Backend":{"Type":"vxlan"}}'
  - r0: flanneld
  - r1: flanneld
`;

const ourNamespaces = (prefix: string) => execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }).split('\n').map((l) => l.split(' ')[0]).filter((n) => n.startsWith(`${prefix}.`));

describe('what a scenario needs of the machine', () => {
  test('the store and flannel\'s vxlan are asked for only by the steps that use them', () => {
    const s = parseScenario('lab.yaml', LAB);
    expect(scenarioNeeds(s)).toMatchObject({ programs: ['etcd', 'etcdctl'], features: [{ name: 'vxlan' }] });
    const hostGw = parseScenario('lab.yaml', LAB.replace('"vxlan"', '"host-gw"'));
    expect(scenarioNeeds(hostGw)).toMatchObject({ programs: ['etcd', 'etcdctl'], features: [] });
    const seed = parseScenario('seed.yaml', fs.readFileSync(path.join(REPO, 'scenarios', 'overlay-standalone.yaml'), 'utf8'));
    expect(scenarioNeeds(seed)).toEqual({ programs: [], features: [] });
  });

  test("each driver states its own needs: the overlay's classic mode the store, calico/node BIRD", () => {
    const scenario = (name: string) => parseScenario(`${name}.yaml`, fs.readFileSync(path.join(REPO, 'scenarios', `${name}.yaml`), 'utf8'));
    expect(scenarioNeeds(scenario('kv-overlay'))).toEqual({ programs: ['etcd', 'etcdctl'], features: [] });
    expect(scenarioNeeds(scenario('calico-bgp')).programs).toEqual(['bird', 'birdc']);
  });
});

describeWith(['ip', 'bridge', 'tcpdump', 'ping', 'etcd', 'etcdctl'], true, 'flannel in emu (real kernel, real etcd)', () => {
  test('the real etcd holds exactly the keys the model holds; flannel.1 and its peer entries are the kernel\'s; teardown leaves nothing', async () => {
    const s = parseScenario('lab.yaml', LAB);
    const backend = await EmuBackend.create(s, { quiet: true });
    const prefix = backend.names.prefix;
    try {
      const session = await ScenarioSession.start(s, backend);
      for (const st of s.steps) expect((await session.step(st.on, st.command)).exitCode).toBe(0);
      await backend.settle();
      expect(await backend.store.dump('/coreos.com/network/')).toEqual(storeOf(session.model.world));
      expect(Object.keys(storeOf(session.model.world)).sort()).toEqual(['/coreos.com/network/config', '/coreos.com/network/subnets/10.5.1.0-24', '/coreos.com/network/subnets/10.5.2.0-24']);
      const r0 = backend.names.netns('r0', 'r0');
      const link = JSON.parse(execFileSync('ip', ['-n', r0, '-d', '-j', 'link', 'show', 'flannel.1'], { encoding: 'utf8' }))[0];
      expect(link).toMatchObject({ mtu: 1450, linkinfo: { info_kind: 'vxlan', info_data: { id: 1, port: 8472, learning: false, local: '198.51.100.10' } } });
      expect(execFileSync('ip', ['-n', r0, 'route'], { encoding: 'utf8' })).toContain('10.5.2.0/24 via 10.5.2.0 dev flannel.1 onlink');
      expect(execFileSync('bridge', ['-n', r0, 'fdb', 'show', 'dev', 'flannel.1'], { encoding: 'utf8' })).toMatch(/dst 198\.51\.100\.11 self permanent/);
      expect(ourNamespaces(prefix)).toContain(`${prefix}._etcd`);
    } finally {
      await backend.close();
    }
    expect(ourNamespaces(prefix)).toEqual([]);
    const etcdLeft = execFileSync('sh', ['-c', 'pgrep -a etcd || true'], { encoding: 'utf8' }).split('\n').filter((l) => l.includes(prefix));
    expect(etcdLeft).toEqual([]);
  }, 120_000);

  test('without etcd on the machine, an emu run that needs the store is refused in one line, exit 2, before anything is made', () => {
    // A PATH holding emu's own tools and node, but not etcd.
    const bin = fs.mkdtempSync(path.join(os.tmpdir(), 'cnmlab-noetcd-'));
    for (const tool of ['ip', 'bridge', 'tcpdump', 'ping', 'sh']) {
      const where = execFileSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).trim();
      fs.symlinkSync(where, path.join(bin, tool));
    }
    const file = path.join(bin, 'lab.yaml');
    fs.writeFileSync(file, LAB);
    const before = fs.readdirSync(STATE);
    const r = spawnSync(process.execPath, [path.join(REPO, 'bin', 'cnmlab.js'), 'run', file, '--mode', 'emu'], { encoding: 'utf8', env: { ...process.env, PATH: bin } });
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(`cnmlab: ${file}: --mode emu needs etcd, etcdctl for the cluster store (Debian: apt-get install etcd-server etcd-client)\n`);
    expect(fs.readdirSync(STATE)).toEqual(before);
  });
});
