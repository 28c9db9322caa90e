/**
 * The overlay's peer table in the plan: one `peers.add`/`peers.del` op stands for an
 * endpoint's entries on every other host (and for the entries a new instance replays), where
 * a swarm would otherwise emit a neigh and an fdb op per host and peer (n² for the ingress
 * network of n nodes). Each host's kernel must end up with what the entries one by one give
 * it: the same `bridge fdb show` and `ip neigh show`, learned entries and removals included.
 */
import { Model } from '../sim/model/model';
import { SimKernel } from '../sim/kernel/kernel';
import { bridgeCommand, ipCommand } from '../sim/kernel/iproute';
import { dockerStep } from '../sim/docker/session';
import { hostOps, PlanOp } from '../sim/plan/ops';
import { planText } from '../sim/plan/explain';
import { LoggedMap } from '../sim/kernel/objects';

const HOSTS = Array.from({ length: 12 }, (_, i) => `h${i}`);
const OPTS = { namesVisible: true };

/** The same plan into two kernels: as the model emits it, and with every peers op as its per-host ops. */
class Pair {
  readonly model = new Model(HOSTS.map((name, i) => ({ name, underlay: `198.51.100.${10 + i}` })), 7);
  readonly grouped = new SimKernel(7);
  readonly oneByOne = new SimKernel(7);
  readonly plan: PlanOp[] = [];

  constructor() {
    this.apply(this.model.boot());
  }

  apply(ops: PlanOp[]): void {
    this.plan.push(...ops);
    for (const op of ops) this.grouped.apply(op);
    for (const op of hostOps(ops)) this.oneByOne.apply(op);
  }

  docker(host: string, line: string): PlanOp[] {
    const ops = dockerStep(this.model, host, line.split(' ')).ops;
    this.apply(ops);
    return ops;
  }

  /** Every overlay namespace's `bridge fdb show` and `ip neigh show`, on every host, in both kernels. */
  tables(k: SimKernel): Record<string, string> {
    const out: Record<string, string> = {};
    for (const host of HOSTS) {
      for (const ns of k.hosts.get(host)!.namespaces.values()) {
        if (!ns.links.has('vxlan0')) continue;
        out[`${host} ${ns.name} fdb`] = bridgeCommand(ns, ['fdb', 'show'], OPTS).stdout;
        out[`${host} ${ns.name} neigh`] = ipCommand(ns, ['neigh', 'show'], OPTS).stdout;
      }
    }
    return out;
  }

  expectAlike(): void {
    expect(this.tables(this.grouped)).toEqual(this.tables(this.oneByOne));
  }
}

function swarm(): Pair {
  const p = new Pair();
  p.docker('h0', 'swarm init');
  for (const h of HOSTS.slice(1)) p.docker(h, 'swarm join --token <...> 198.51.100.10:2377');
  for (const n of ['n0', 'n1', 'n2']) p.docker('h0', `network create -d overlay --attachable ${n}`);
  for (let c = 0; c < 36; c++) p.docker(HOSTS[c % HOSTS.length], `run -dit --name c${c} --network n${c % 3} busybox`);
  return p;
}

describe('the overlay peer table as one op per endpoint', () => {
  test("a 12-node swarm's fdb and neighbour tables on every host are the entries one by one, in their order", () => {
    const p = swarm();
    const tables = p.tables(p.grouped);
    // Every node holds the other eleven nodes' ingress endpoints: the tables are not empty.
    const ingress = Object.entries(tables).filter(([k, v]) => k.endsWith(' fdb') && v.split('\n').filter((l) => l.includes(' dst ')).length === HOSTS.length - 1);
    expect(ingress.length).toBeGreaterThanOrEqual(HOSTS.length);
    p.expectAlike();
  });

  test('a node joining adds as many ops whatever the swarm size, and explain prints every entry one by one', () => {
    const p = new Pair();
    p.docker('h0', 'swarm init');
    const counts = HOSTS.slice(1).map((h) => p.docker(h, 'swarm join --token <...> 198.51.100.10:2377').length);
    expect(new Set(counts).size).toBe(1);
    p.docker('h0', 'network create -d overlay --attachable n0');
    p.docker('h3', 'run -dit --name c0 --network n0 busybox');
    p.docker('h3', 'rm -f c0');
    // explain (and emu) get the ops one by one: what they printed before the peers op.
    expect(planText(p.plan)).toBe(planText(hostOps(p.plan)));
    expect(planText(p.plan)).toContain('bridge -n 1-');
  });

  test('a removed endpoint leaves every table, with what the bridge learned for its MAC; a learned entry stays where it was put', () => {
    const p = swarm();
    // A learned entry (vxlan_snoop) among the static ones, and one that br0 learned on vxlan0 for a peer's MAC.
    for (const k of [p.grouped, p.oneByOne]) {
      for (const ns of k.hosts.get('h1')!.namespaces.values()) {
        const vx = ns.links.get('vxlan0');
        if (!vx) continue;
        vx.vxlan!.fdb.set('02:42:0a:63:00:09', { dst: '198.51.100.99', permanent: false, updatedNs: 0 });
        const [peerMac] = [...vx.vxlan!.fdb].find(([, e]) => e.permanent) ?? [];
        if (peerMac) vx.master!.fdb.set(peerMac, { port: vx, local: false, updatedNs: 0 });
      }
    }
    p.expectAlike();
    const removal = p.docker('h0', 'rm -f c0');
    expect(removal.some((op) => op.op === 'peers.del')).toBe(true);
    p.docker('h4', 'network disconnect n1 c4');
    p.docker('h5', 'swarm leave');
    p.expectAlike();
    const fdb = Object.entries(p.tables(p.grouped)).filter(([k]) => k.startsWith('h1 ') && k.endsWith(' fdb')).map(([, v]) => v).join('');
    expect(fdb).toContain('02:42:0a:63:00:09 dev vxlan0 dst 198.51.100.99 link-netnsid 0 self\n');
    // h5 left: no table holds its VTEP any more.
    expect(Object.values(p.tables(p.grouped)).join('')).not.toContain('dst 198.51.100.15 ');
    // Back in the swarm, its new devices take the entries published after they were made, as any host's do.
    p.docker('h5', 'swarm join --token <...> 198.51.100.10:2377');
    p.docker('h5', 'run -dit --name back --network n2 busybox');
    p.docker('h7', 'run -dit --name later --network n2 busybox');
    p.expectAlike();
    expect(Object.values(p.tables(p.grouped)).join('')).toContain('dst 198.51.100.15 ');
  });

  test('a shared entry is on every member host; a change, removal or learned entry on one host stays on that host; show order is the one-by-one order', () => {
    const hosts = ['a', 'b', 'c'];
    const vx = { type: 'vxlan' as const, vni: 4097, dstport: 4789, proxy: true, l2miss: true, l3miss: true, learning: true, ageing: 300 };
    const setup: PlanOp[] = hosts.flatMap((host, i): PlanOp[] => [
      { op: 'host.add', host, iface: 'eth0', address: `198.51.100.${10 + i}/24` },
      { op: 'netns.add', host, netns: 'ov' },
      { op: 'link.add', host, netns: 'ov', name: 'br0', kind: { type: 'bridge' } },
      { op: 'link.add', host, netns: 'ov', name: 'vxlan0', kind: vx },
      { op: 'link.set', host, netns: 'ov', name: 'vxlan0', master: 'br0', up: true },
    ]);
    const peer = (n: number) => ({ ip: `10.0.0.${n}`, mac: `02:42:0a:00:00:0${n}`, dst: `198.51.100.${20 + n}` });
    const plan: PlanOp[] = [
      ...setup,
      { op: 'peers.add', hosts, netns: 'ov', dev: 'vxlan0', peers: [peer(1), peer(2)] },
      // b alone: its own static entry between two shared items, one removed, one replaced.
      { op: 'neigh.add', host: 'b', netns: 'ov', dev: 'vxlan0', ip: '10.0.0.9', mac: '02:42:0a:00:00:09' },
      { op: 'fdb.add', host: 'b', netns: 'ov', dev: 'vxlan0', mac: '02:42:0a:00:00:09', dst: '198.51.100.29' },
      { op: 'peers.add', hosts: ['a', 'b'], netns: 'ov', dev: 'vxlan0', peers: [peer(3)] },
      { op: 'neigh.del', host: 'b', netns: 'ov', dev: 'vxlan0', ip: '10.0.0.1', mac: peer(1).mac },
      { op: 'fdb.del', host: 'b', netns: 'ov', dev: 'vxlan0', mac: peer(1).mac, dst: peer(1).dst },
      { op: 'fdb.add', host: 'c', netns: 'ov', dev: 'vxlan0', mac: peer(2).mac, dst: '198.51.100.99' },
    ];
    const grouped = new SimKernel(3), oneByOne = new SimKernel(3);
    for (const op of plan) grouped.apply(op);
    for (const op of hostOps(plan)) oneByOne.apply(op);
    // A MAC learned on a's vxlan0 (vxlan_snoop) while the shared entries are still unread.
    for (const k of [grouped, oneByOne]) k.netns('a', 'ov').links.get('vxlan0')!.vxlan!.fdb.set('02:42:0a:00:00:07', { dst: '198.51.100.27', permanent: false, updatedNs: 0 });
    const show = (k: SimKernel, host: string) => {
      const ns = k.netns(host, 'ov');
      return { fdb: bridgeCommand(ns, ['fdb', 'show', 'dev', 'vxlan0'], OPTS).stdout, neigh: ipCommand(ns, ['neigh', 'show'], OPTS).stdout };
    };
    const entries = (text: string) => text.split('\n').filter((l) => / dst | lladdr /.test(l)).map((l) => l.split(' ').slice(0, 1)[0]);
    const a = show(grouped, 'a'), b = show(grouped, 'b'), c = show(grouped, 'c');
    // bridge fdb shows a device's newest entry first (an entry replaced in place keeps its place).
    expect(entries(a.fdb)).toEqual(['02:42:0a:00:00:07', peer(3).mac, peer(2).mac, peer(1).mac]);
    expect(entries(b.fdb)).toEqual([peer(3).mac, '02:42:0a:00:00:09', peer(2).mac]);
    expect(entries(c.fdb)).toEqual([peer(2).mac, peer(1).mac]);
    expect(entries(a.neigh)).toEqual(['10.0.0.1', '10.0.0.2', '10.0.0.3']);
    expect(entries(b.neigh)).toEqual(['10.0.0.2', '10.0.0.9', '10.0.0.3']);
    expect(c.fdb).toContain(`${peer(2).mac} dst 198.51.100.99 self permanent`);
    expect(a.fdb).toContain(`${peer(2).mac} dst ${peer(2).dst} self permanent`);
    expect(a.fdb).toContain('02:42:0a:00:00:07 dst 198.51.100.27 self\n');
    expect(b.fdb).not.toContain('02:42:0a:00:00:07');
    for (const host of hosts) expect(show(grouped, host)).toEqual(show(oneByOne, host));
  });

  test('a table following a feed takes the entries in the order they came, its own additions included', () => {
    const t = new LoggedMap<string, number>();
    const feed: [string, number][] = [];
    t.add('a', 1);
    t.follow({ drain: (into) => { for (const [k, v] of feed.splice(0)) into.set(k, v); } });
    feed.push(['b', 2], ['a', 3]);
    t.add('b', 4);
    feed.push(['c', 5]);
    expect([...t]).toEqual([['a', 3], ['b', 4], ['c', 5]]);
    t.unfollow();
    feed.push(['d', 6]);
    expect(t.get('d')).toBeUndefined();
  });
});
