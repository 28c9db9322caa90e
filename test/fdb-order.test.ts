/**
 * `bridge fdb show` lists a device's entries newest first, as the kernel dumps them (a vxlan
 * device's since Linux 6.16, below): the bridge's table (br_fdb's fdb_create) and a vxlan
 * device's (vxlan_fdb_create) each add an entry at its list's head. sim's order is checked against this machine's kernel, built the
 * same way in a namespace of the test's own.
 */
import { spawnSync } from 'child_process';
import * as os from 'os';
import { SimKernel } from '../sim/kernel/kernel';
import { bridgeCommand } from '../sim/kernel/iproute';
import { learn } from '../sim/kernel/net/bridge/br_fdb';
import type { Datapath } from '../sim/kernel/datapath';
import { PlanOp } from '../sim/plan/ops';
import { describeWith } from './helpers/env';
import { TestNamespaces } from './helpers/netns';

/** Added in an order that is neither the MACs' nor a hash's. */
const MACS = ['02:42:0a:00:01:05', '02:42:0a:00:01:02', '02:42:0a:00:01:09', '02:42:0a:00:01:03', '02:42:0a:00:01:04'];
const VTEP = '198.51.100.11';
const OPTS = { namesVisible: true };

function simKernel(): SimKernel {
  const k = new SimKernel(1);
  const ops: PlanOp[] = [
    { op: 'host.add', host: 'h', iface: 'eth0', address: '198.51.100.10/24' },
    { op: 'netns.add', host: 'h', netns: 'ov' },
    { op: 'link.add', host: 'h', netns: 'ov', name: 'br0', kind: { type: 'bridge' } },
    { op: 'link.set', host: 'h', netns: 'ov', name: 'br0', up: true },
    { op: 'link.add', host: 'h', netns: 'ov', name: 'vxlan0', kind: { type: 'vxlan', vni: 4097, dstport: 4789, proxy: true, l2miss: true, l3miss: true, learning: false, ageing: 300 } },
    { op: 'link.set', host: 'h', netns: 'ov', name: 'vxlan0', master: 'br0', up: true },
    { op: 'link.add', host: 'h', netns: 'ov', name: 'v0', kind: { type: 'veth', peer: 'v0p' } },
    { op: 'link.set', host: 'h', netns: 'ov', name: 'v0', master: 'br0', up: true },
    ...MACS.map((mac): PlanOp => ({ op: 'fdb.add', host: 'h', netns: 'ov', dev: 'vxlan0', mac, dst: VTEP })),
  ];
  for (const op of ops) k.apply(op);
  return k;
}

const macsOf = (text: string, word: string) => text.split('\n').filter((l) => l.includes(word)).map((l) => l.split(' ')[0]);

describe('bridge fdb show in sim: newest first within a device', () => {
  test("vxlan0's entries from the peer table, and what br0 learned on a port (its own address, added at enslaving, last)", () => {
    const k = simKernel();
    const ns = k.netns('h', 'ov');
    expect(macsOf(bridgeCommand(ns, ['fdb', 'show', 'dev', 'vxlan0'], OPTS).stdout, ' dst ')).toEqual([...MACS].reverse());
    const br = ns.links.get('br0')!, v0 = ns.links.get('v0')!;
    const dp = { clock: { now: 1 } } as unknown as Datapath;
    for (const mac of MACS) learn(dp, br, mac, v0);
    // Learned again on the same port: refreshed where it is, as br_fdb_update does.
    learn(dp, br, MACS[0], v0);
    expect(macsOf(bridgeCommand(ns, ['fdb', 'show', 'dev', 'v0'], OPTS).stdout, ' master br0')).toEqual([...[...MACS].reverse(), v0.mac]);
  });
});

/**
 * The kernel's dump order is its list's order only where the dump walks that list. br_fdb_dump
 * walks br->fdb_list since the bridge's fdbs moved to an rhashtable (Linux 4.16, "net: bridge:
 * use rhashtable for fdbs"). vxlan_fdb_dump walked the FDB_HASH_SIZE hash buckets until Linux
 * 6.16: commit 7aa0dc750d4b ("vxlan: Use linked list to traverse FDB entries", net-next for
 * 6.16, part of the FDB's rhashtable conversion) walks vxlan->fdb_list, to whose head
 * vxlan_fdb_create adds (8d45673d2d2e). On an older kernel the real order is the hash's, which
 * sim does not model, so that comparison is not made there.
 */
const KERNEL = os.release().split(/[.-]/).slice(0, 2).map(Number);
const kernelAtLeast = (major: number, minor: number) => KERNEL[0] > major || (KERNEL[0] === major && KERNEL[1] >= minor);
const testOnKernel = (major: number, minor: number) => (kernelAtLeast(major, minor) ? test : test.skip);

describeWith(['ip', 'bridge'], true, "bridge fdb show: sim's order is this machine's kernel's", () => {
  const spaces = new TestNamespaces();
  const netns = spaces.name('fdb');
  const sh = (argv: string[]) => {
    const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' } });
    if (r.status !== 0) throw new Error(`${argv.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  const bridge = (...words: string[]) => sh(['bridge', '-n', netns, ...words]);
  const sim = simKernel().netns('h', 'ov');

  beforeAll(() => {
    spaces.add('fdb');
    const ip = (...words: string[]) => sh(['ip', '-n', netns, ...words]);
    ip('link', 'add', 'br0', 'type', 'bridge');
    ip('link', 'set', 'br0', 'up');
    ip('link', 'add', 'vxlan0', 'type', 'vxlan', 'id', '4097', 'dstport', '4789', 'proxy', 'l2miss', 'l3miss', 'nolearning');
    ip('link', 'set', 'vxlan0', 'master', 'br0', 'up');
    ip('link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v0p');
    ip('link', 'set', 'v0', 'master', 'br0', 'up');
    for (const mac of MACS) bridge('fdb', 'add', mac, 'dev', 'vxlan0', 'dst', VTEP, 'self', 'permanent');
    // Static entries stand for learned ones (which need traffic): the same table, the same head insertion.
    for (const mac of MACS) bridge('fdb', 'add', mac, 'dev', 'v0', 'master', 'static');
    const dp = { clock: { now: 1 } } as unknown as Datapath;
    for (const mac of MACS) learn(dp, sim.links.get('br0')!, mac, sim.links.get('v0')!);
  });
  afterAll(() => spaces.cleanup());

  testOnKernel(4, 16)("a bridge port's entries, added in the same order, list alike", () => {
    const port = (text: string) => macsOf(text, ' master br0').slice(0, MACS.length);
    expect(port(bridgeCommand(sim, ['fdb', 'show', 'dev', 'v0'], OPTS).stdout)).toEqual(port(bridge('fdb', 'show', 'dev', 'v0')));
  });

  testOnKernel(6, 16)("vxlan0's self entries, added in the same order, list alike", () => {
    expect(macsOf(bridgeCommand(sim, ['fdb', 'show', 'dev', 'vxlan0'], OPTS).stdout, ' dst ')).toEqual(macsOf(bridge('fdb', 'show', 'dev', 'vxlan0'), ' dst '));
  });
});
