/**
 * sim/model/cluster.ts's ClusterReader reads the control plane before every step from what the
 * step changed (the nodes a join appends, the instance and endpoint shards a step touched).
 * Read that way along a swarm's life (joins, containers run and removed, a node leaving, a
 * network removed, the last manager leaving), every view must be what a fresh reader makes
 * of the same world, and the changes between two views (memberChanges, tableChanges) what
 * comparing them as wholes gives.
 */
import { parseScenario } from '../sim/scenario/load';
import { runScenario } from '../sim/runner/runner';
import { SimBackend } from '../sim/kernel/backend';
import { seedFromName } from '../sim/model/ids';
import { ClusterNetwork, ClusterReader, ClusterTableEntry, ClusterView, clusterView, entryKey, memberChanges, tableChanges } from '../sim/model/cluster';
import type { Network, Shards, World } from '../sim/model/world';

const LIFE = `name: cluster-life
hosts:
  r0: {}
  r1: {}
  r2: {}
  r3: {}
steps:
  - r0: docker swarm init
  - r1: docker swarm join --token <...> 198.51.100.10:2377
  - r2: docker swarm join --token <...> 198.51.100.10:2377
  - r0: docker network create --driver=overlay --attachable net-a
  - r0: docker network create --driver=overlay --attachable net-b
  - r0: docker run -dit --name a0 --network net-a busybox
  - r1: docker run -dit --name a1 --network net-a busybox
  - r3: docker swarm join --token <...> 198.51.100.10:2377
  - r2: docker run -dit --name b2 --network net-b busybox
  - r3: docker run -dit --name a3 --network net-a busybox
  - r3: docker run -dit --name b3 --network net-b busybox
  - r1: docker run -dit --name a1b --network net-a busybox
  - r1: docker rm -f a1
  - r1: docker rm -f a1b
  - r2: docker rm -f b2
  - r3: docker rm -f b3
  - r0: docker network rm net-b
  - r2: docker swarm leave
  - r3: docker swarm leave
  - r0: docker rm -f a0
  - r1: docker swarm leave
  - r0: docker swarm leave --force
`;

/** What a view says, without the identities the reader keeps: its nodes, and each network's members and entries. */
function contents(view: ClusterView | undefined) {
  return view && {
    nodes: view.nodes.map((n) => ({ ...n })),
    networks: view.networks.map((n) => ({ id: n.id, hosts: [...n.hosts], entries: n.entries.map(entryKey) })),
  };
}

const keys = (entries: ClusterTableEntry[]) => entries.map(entryKey);

describe('ClusterReader along a swarm\'s life', () => {
  const reads: { world: World; view: ClusterView | undefined; changed: readonly ClusterNetwork[] | undefined; count: number }[] = [];

  beforeAll(async () => {
    const read = ClusterReader.prototype.read;
    const spy = jest.spyOn(ClusterReader.prototype, 'read').mockImplementation(function (this: ClusterReader, world: World) {
      const view = read.call(this, world);
      reads.push({ world, view, changed: this.changedNetworks, count: this.networkCount });
      return view;
    });
    const s = parseScenario('cluster-life.yaml', LIFE);
    const { result } = await runScenario(s, new SimBackend(s.seed ?? seedFromName(s.name)));
    spy.mockRestore();
    expect(result.steps.filter((step) => !step.ok).map((step) => step.command)).toEqual([]);
  });

  test('every view read from the step\'s changes is the one a fresh reader makes of the world', () => {
    expect(reads.length).toBeGreaterThan(20);
    for (const { world, view } of reads) expect(contents(view)).toEqual(contents(clusterView(world)));
  });

  test('the networks the reader says changed are every network whose view is not the last read\'s, in the view\'s order', () => {
    let named = 0;
    for (let i = 1; i < reads.length; i++) {
      const before = reads[i - 1].view?.networks ?? [], after = reads[i].view?.networks ?? [];
      const { changed, count } = reads[i];
      expect(count).toBe(after.length);
      if (changed === undefined) {
        // The same list: every network the same view as before.
        expect(after).toEqual(before);
        after.forEach((net, j) => expect(net).toBe(before[j]));
        continue;
      }
      const lastById = new Map(before.map((n) => [n.id, n] as const));
      const differing = after.filter((n) => lastById.get(n.id) !== n);
      // Those it names are in the view, in its order; among them every one that differs.
      const positions = changed.map((n) => after.indexOf(n));
      expect(positions.every((p) => p >= 0)).toBe(true);
      expect([...positions].sort((a, b) => a - b)).toEqual(positions);
      for (const net of differing) expect(changed).toContain(net);
      named += changed.length;
    }
    expect(named).toBeGreaterThan(5);
  });

  test('the views saw the swarm grow, a node leave and the networks change', () => {
    const sizes = reads.map((r) => r.view?.nodes.length ?? 0);
    expect(Math.max(...sizes)).toBe(4);
    expect(sizes).toContain(3);
    expect(sizes[sizes.length - 1]).toBe(0);
  });

  test('the members that came and went, and the entries created and deleted, are what comparing whole views gives', () => {
    let changes = 0;
    for (let i = 1; i < reads.length; i++) {
      const before = reads[i - 1].view?.networks ?? [], after = reads[i].view?.networks ?? [];
      const ids = new Set([...before, ...after].map((n) => n.id));
      for (const id of ids) {
        const old: ClusterNetwork | undefined = before.find((n) => n.id === id), now = after.find((n) => n.id === id);
        const moves = memberChanges(old, now);
        expect(moves.left).toEqual((old?.hosts ?? []).filter((h) => !(now?.hosts ?? []).includes(h)));
        expect(moves.joined).toEqual((now?.hosts ?? []).filter((h) => !(old?.hosts ?? []).includes(h)));
        const { created, deleted } = tableChanges(old, now);
        const oldKeys = keys(old?.entries ?? []), nowKeys = keys(now?.entries ?? []);
        expect(keys(created)).toEqual(nowKeys.filter((k) => !oldKeys.includes(k)));
        expect(keys(deleted)).toEqual(oldKeys.filter((k) => !nowKeys.includes(k)));
        changes += moves.left.length + moves.joined.length + created.length + deleted.length;
      }
    }
    expect(changes).toBeGreaterThan(10);
  });
});

/** A swarm of `hosts` nodes, `overlays` networks, a container on each node, then one more on h1 (already a member of its network). */
function swarmYaml(hosts: number, overlays: number): string {
  const lines = [`name: reader-${hosts}`, 'hosts:'];
  for (let i = 0; i < hosts; i++) lines.push(`  h${i}: {}`);
  lines.push('steps:', '  - h0: docker swarm init');
  for (let i = 1; i < hosts; i++) lines.push(`  - h${i}: docker swarm join --token <...> 198.51.100.10:2377`);
  for (let n = 0; n < overlays; n++) lines.push(`  - h0: docker network create -d overlay --attachable net${n}`);
  for (let i = 0; i < hosts; i++) lines.push(`  - h${i}: docker run -dit --name c${i} --network net${i % overlays} busybox`);
  lines.push(`  - h1: docker run -dit --name extra --network net${1 % overlays} busybox`);
  return lines.join('\n') + '\n';
}

/**
 * The world as the reader is handed it, each record it looks into counted: a host or a
 * network read out of one of this world's shards (an earlier world's shard it compares with
 * is not counted), and each host an instance shard lists. The shard lists and shards are
 * stand-ins kept per original, so that the reader's comparisons by identity hold from one
 * world to the next as they do on the originals.
 */
class CountingWorlds {
  visited = 0;
  private readonly standIns = new WeakMap<object, object>();
  /** The shards of the world being read. */
  private current = new Set<object>();

  of(w: World): World {
    this.current = new Set([...w.hosts, ...(w.swarm?.networks ?? [])].filter((shard) => shard));
    const swarm = w.swarm && { ...w.swarm, networks: this.shards(w.swarm.networks, (net) => this.network(net)) };
    return { ...w, hosts: this.shards(w.hosts, (h) => h), swarm };
  }

  private kept<T extends object>(original: T, make: () => T): T {
    let standIn = this.standIns.get(original) as T | undefined;
    if (!standIn) this.standIns.set(original, (standIn = make()));
    return standIn;
  }

  /** A shard list whose shards count each record read out of them. */
  private shards<T extends object>(list: Shards<T>, wrap: (record: T) => T): Shards<T> {
    return this.kept(list, () => new Proxy(list, {
      get: (target, key) => {
        const shard = Reflect.get(target, key);
        return typeof key === 'string' && /^\d+$/.test(key) && shard ? this.shard(shard, wrap) : shard;
      },
    }));
  }

  private shard<T extends object>(shard: Record<string, T>, wrap: (record: T) => T): Record<string, T> {
    return this.kept(shard, () => new Proxy(shard, {
      get: (target, key) => {
        if (typeof key !== 'string' || !Object.hasOwn(target, key)) return Reflect.get(target, key);
        if (this.current.has(shard)) this.visited++;
        return wrap(target[key]);
      },
    }));
  }

  /** A network whose instance shards count the hosts listed out of them. */
  private network(net: Network): Network {
    return this.kept(net, () => {
      const instances = new Proxy(net.instances, {
        get: (target, key) => {
          const shard = Reflect.get(target, key);
          if (typeof key !== 'string' || !/^\d+$/.test(key) || !shard) return shard;
          return this.kept(shard, () => new Proxy(shard, {
            ownKeys: (t) => {
              const keys = Reflect.ownKeys(t);
              this.visited += keys.length;
              return keys;
            },
          }));
        },
      });
      return new Proxy(net, { get: (target, key) => (key === 'instances' ? instances : Reflect.get(target, key)) });
    });
  }
}

/** What the daemon's reader looked into at each of its reads along the run. */
async function visitsPerRead(yaml: string): Promise<number[]> {
  const visits: number[] = [];
  const counting = new CountingWorlds();
  const read = ClusterReader.prototype.read;
  const spy = jest.spyOn(ClusterReader.prototype, 'read').mockImplementation(function (this: ClusterReader, world: World) {
    const before = counting.visited;
    const view = read.call(this, counting.of(world));
    visits.push(counting.visited - before);
    return view;
  });
  try {
    const s = parseScenario('reader.yaml', yaml);
    const { result } = await runScenario(s, new SimBackend(s.seed ?? seedFromName(s.name)), undefined, { trace: false });
    expect(result.steps.filter((step) => !step.ok).map((step) => step.command)).toEqual([]);
  } finally {
    spy.mockRestore();
  }
  return visits;
}

describe('ClusterReader\'s cost grows with what a step wrote, not with the swarm', () => {
  test('a docker run on a member looks into its host and its network, in a swarm of 4 nodes as in one of 48', async () => {
    const small = await visitsPerRead(swarmYaml(4, 2));
    const big = await visitsPerRead(swarmYaml(48, 6));
    // The last read is the extra container's step: one host written, one network's endpoints and that host's instance.
    for (const visits of [small, big]) expect(visits[visits.length - 1]).toBeLessThanOrEqual(4);
    // Every step of the big swarm was read as it came (a join looks into the newcomer and the ingress shard it joined, a
    // network's creation into its shard), never the 48 nodes or their containers again.
    expect(big.length).toBeGreaterThan(2 * 48);
    expect(Math.max(...big.slice(1))).toBeLessThanOrEqual(8);
  });
});
