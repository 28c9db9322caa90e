/**
 * What every `docker run` of a big swarm does, done without immer's per-access costs, and
 * still as the model did it:
 * - `--network REF` is looked up among every network its host sees: lookUpNetwork walks the
 *   swarm's shards instead of listing them, and must find what Docker's order (full id, exact
 *   name, unique id prefix; local networks before swarm ones) finds over the listed networks;
 * - an address pool is an immutable value replaced whole, never drafted: the worlds before a
 *   step keep theirs;
 * - the manager's allocator reads the swarm's networks (their subnets and VNIs) as the step
 *   began, undrafted, and counts one made in the same step.
 */
import { Model } from '../sim/model/model';
import { dockerStep } from '../sim/docker/session';
import { isDraft } from 'immer';
import { allNetworks, fieldOf, findNetwork, lookUpNetwork, swarmNetworksRead, Tx } from '../sim/model/tx';
import { createSwarmNetwork } from '../sim/model/drivers/overlay';
import { runContainer } from '../sim/model/containers';
import { createNetwork } from '../sim/model/networks';
import { ensureGwbridge } from '../sim/model/swarm';
import { gwbridgeOf } from '../sim/model/endpoints';
import { endpointOf, endpointsOf, hostOf, instanceHosts, instanceOf, Ipam, networksByAge, swarmNetwork, swarmNetworks, World } from '../sim/model/world';

function swarmWithNetworks(): Model {
  const model = new Model([{ name: 'h0', underlay: '198.51.100.10' }, { name: 'h1', underlay: '198.51.100.11' }, { name: 'h2', underlay: '198.51.100.12' }], 7);
  model.boot();
  const docker = (host: string, line: string) => expect(dockerStep(model, host, line.split(' ')).outcome).toMatchObject({ exitCode: 0 });
  docker('h0', 'swarm init');
  docker('h1', 'swarm join --token <...> 198.51.100.10:2377');
  // A worker's local network named like a swarm one: Docker's list puts the local one first.
  docker('h1', 'network create net3');
  for (let n = 0; n < 40; n++) docker('h0', `network create -d overlay --attachable net${n}`);
  return model;
}

function refsOf(w: World): string[] {
  const ids = swarmNetworks(w.swarm).map((n) => n.id);
  const shortest = ids.map((id) => id.slice(0, 1));
  return ['net0', 'net3', 'net39', 'bridge', 'ingress', 'docker_gwbridge', 'none', 'nope', '', 'constructor', 'toString', '__proto__', ...ids, ...shortest, ...ids.map((id) => id.slice(0, 6))];
}

test('lookUpNetwork finds what findNetwork finds over every network the host sees', () => {
  const w = swarmWithNetworks().world;
  for (const host of ['h0', 'h1', 'h2']) {
    for (const ref of refsOf(w)) {
      const listed = findNetwork(allNetworks(w, host), ref);
      expect([host, ref, lookUpNetwork(w, host, ref) === listed]).toEqual([host, ref, true]);
    }
  }
  // The cases that tell the orders apart occur: a local name over a swarm one, an ambiguous prefix, a host outside the swarm.
  expect(lookUpNetwork(w, 'h1', 'net3')?.scope).toBe('local');
  expect(lookUpNetwork(w, 'h0', 'net3')?.scope).toBe('swarm');
  expect(lookUpNetwork(w, 'h2', 'net0')).toBeUndefined();
  expect(refsOf(w).filter((ref) => ref.length === 1).some((ref) => lookUpNetwork(w, 'h0', ref) === undefined)).toBe(true);
});

test('lookUpNetwork and findNetwork agree where Docker\'s order decides: an id over a name, a name over a prefix, a prefix shared by a local and a swarm network', () => {
  const model = swarmWithNetworks();
  const docker = (host: string, line: string) => expect(dockerStep(model, host, line.split(' ')).outcome).toMatchObject({ exitCode: 0 });
  const swarmIds = () => swarmNetworks(model.world.swarm).map((n) => n.id);
  // Names that are other networks' ids and id prefixes, local and swarm.
  const [first, second] = swarmIds();
  docker('h1', `network create ${first}`);
  docker('h0', `network create -d overlay --attachable ${second.slice(0, 3)}`);
  docker('h1', `network create ${second.slice(0, 2)}`);
  const w = model.world;
  const ids = [...swarmIds(), ...Object.values(w.hosts).flatMap((shard) => Object.values(shard ?? {})).flatMap((h) => Object.values(h.localNetworks).map((n) => n.id))];
  const prefixes = [...new Set(ids.flatMap((id) => [id.slice(0, 1), id.slice(0, 2), id.slice(0, 3)]))];
  const refs = [...refsOf(w), ...ids, ...prefixes];
  for (const host of ['h0', 'h1', 'h2']) {
    for (const ref of refs) expect([host, ref, lookUpNetwork(w, host, ref)?.id]).toEqual([host, ref, findNetwork(allNetworks(w, host), ref)?.id]);
  }
  // Each case occurs: the full id wins over a local network named by it, a name over the prefix it is of another id,
  // and a prefix unique among the swarm's networks but shared with a local one finds none.
  expect(lookUpNetwork(w, 'h1', first)?.scope).toBe('swarm');
  expect(lookUpNetwork(w, 'h0', second.slice(0, 3))?.name).toBe(second.slice(0, 3));
  expect(lookUpNetwork(w, 'h1', second.slice(0, 2))?.scope).toBe('local');
  const locals = Object.values(w.hosts).flatMap((shard) => Object.values(shard ?? {})).filter((h) => h.name === 'h1').flatMap((h) => Object.values(h.localNetworks));
  const shared = prefixes.filter((p) => swarmIds().filter((id) => id.startsWith(p)).length === 1 && locals.some((n) => n.id.startsWith(p)) && !locals.some((n) => n.name === p));
  expect(shared.length).toBeGreaterThan(0);
  for (const p of shared) expect([p, lookUpNetwork(w, 'h1', p)]).toEqual([p, undefined]);
});

test('lookUpNetwork follows the swarm\'s names from world to world: two networks of one name, the first one removed, an older world asked again', () => {
  const model = swarmWithNetworks();
  const worlds: World[] = [model.world];
  // Docker refuses a second name on the manager; the model's own call makes one, as another manager's create could.
  const spec = { name: 'twin', attachable: true, internal: false, ingress: false, options: {}, labels: {} };
  for (let i = 0; i < 4; i++) {
    model.change((tx) => {
      createSwarmNetwork(tx, spec);
    });
    worlds.push(model.world);
  }
  const twins = () => networksByAge(swarmNetworks(model.world.swarm).filter((n) => n.name === 'twin'));
  expect(dockerStep(model, 'h0', ['network', 'rm', twins()[0].id]).outcome).toMatchObject({ exitCode: 0 });
  worlds.push(model.world);
  expect(dockerStep(model, 'h0', ['network', 'rm', 'net7']).outcome).toMatchObject({ exitCode: 0 });
  worlds.push(model.world);
  for (const w of [...worlds, worlds[2], worlds[0], ...worlds.slice().reverse()]) {
    for (const host of ['h0', 'h1', 'h2']) {
      for (const ref of ['twin', 'net7', 'net3', 'net0']) expect([host, ref, lookUpNetwork(w, host, ref)?.id]).toEqual([host, ref, findNetwork(allNetworks(w, host), ref)?.id]);
    }
  }
});

test('a docker run replaces its networks\' pools: the world before it keeps its own, and a pool cannot be changed in place', () => {
  const model = swarmWithNetworks();
  const before = model.world;
  const pool = (w: World) => swarmNetworks(w.swarm).find((n) => n.name === 'net5')!.ipam;
  const was = pool(before);
  const bitmap = JSON.stringify(was);
  expect(dockerStep(model, 'h1', ['run', '-dit', '--name', 'c1', '--network', 'net5', 'busybox']).outcome).toMatchObject({ exitCode: 0 });
  expect(dockerStep(model, 'h1', ['run', '-dit', '--name', 'c2', '--network', 'net5', 'busybox']).outcome).toMatchObject({ exitCode: 0 });
  const now = pool(model.world);
  expect(now).toBeInstanceOf(Ipam);
  expect(now).not.toBe(was);
  expect(JSON.stringify(pool(before))).toBe(bitmap);
  const ips = endpointsOf(swarmNetworks(model.world.swarm).find((n) => n.name === 'net5')!).map((e) => e.ip).sort();
  expect(new Set(ips).size).toBe(ips.length);
  expect(() => {
    (now as { next: number }).next = 1;
  }).toThrow(TypeError);
  // The first word holds the containers' addresses: changing it in place is refused.
  expect(now.used.w0).toBeGreaterThan(0);
  expect(() => {
    (now.used as Record<string, number>).w0 = 0;
  }).toThrow(TypeError);
  // A container removed gives its address back in a new pool; the one before still holds it.
  expect(dockerStep(model, 'h1', ['rm', '-f', 'c1']).outcome).toMatchObject({ exitCode: 0 });
  expect(pool(model.world)).not.toBe(now);
  expect(JSON.stringify(pool(model.world).used)).not.toBe(JSON.stringify(now.used));
});

test('swarmNetworksRead gives the networks as the step began, undrafted, and those made in the step', () => {
  const model = swarmWithNetworks();
  const before = swarmNetworks(model.world.swarm);
  model.change((tx) => {
    const made = createSwarmNetwork(tx, { name: 'extra', attachable: true, internal: false, ingress: false, options: {}, labels: {} });
    const read = swarmNetworksRead(tx);
    expect(read.length).toBe(before.length + 1);
    expect(read.filter((n) => isDraft(n))).toEqual([]);
    expect(read.map((n) => n.id)).toContain(made.id);
    for (const n of before) expect(read).toContain(n);
    // Its subnet is a new one, its VNI the next: the allocator saw every network.
    expect(before.map((n) => n.ipam.subnet)).not.toContain(made.ipam.subnet);
    expect(Math.max(...before.map((n) => n.vni))).toBeLessThan(made.vni);
    const again = createSwarmNetwork(tx, { name: 'extra2', attachable: true, internal: false, ingress: false, options: {}, labels: {} });
    expect(again.ipam.subnet).not.toBe(made.ipam.subnet);
    expect(again.vni).toBe(made.vni + 1);
  });
});

test('fieldOf reads a field as the step stands, undrafted: the original, the value the step put there, or the draft the step made', () => {
  const model = swarmWithNetworks();
  model.change((tx) => {
    const h = tx.host('h1');
    const was = hostOf(tx.before, 'h1').namespaces;
    expect(fieldOf(h, 'namespaces')).toBe(was);
    h.namespaces = [...was, 'x'];
    expect(fieldOf(h, 'namespaces')).toEqual([...was, 'x']);
    expect(isDraft(fieldOf(h, 'localNetworks'))).toBe(false);
    const locals = h.localNetworks;
    expect(isDraft(locals)).toBe(true);
    expect(fieldOf(h, 'localNetworks')).toBe(locals);
    expect(fieldOf(hostOf(tx.before, 'h1'), 'underlay')).toBe('198.51.100.11');
  });
});

/** The names of the records a step drafted among a host's local networks and the swarm's networks (immer copies each at the step's end). */
function draftedNetworks(tx: Tx, host: string): string[] {
  const locals = fieldOf(tx.host(host), 'localNetworks');
  const names = Object.keys(locals).filter((id) => isDraft(fieldOf(locals, id))).map((id) => fieldOf(locals, id).name);
  const shards = fieldOf(fieldOf(tx.w, 'swarm')!, 'networks');
  for (let i = 0; i < shards.length; i++) {
    const shard = fieldOf(shards, i);
    if (shard) for (const id in shard) if (isDraft(fieldOf(shard, id))) names.push(fieldOf(shard, id).name);
  }
  return names.sort();
}

test('a step drafts only the networks it writes: a docker run its own and docker_gwbridge, not the bridge\'s options; a network create and a new docker_gwbridge none', () => {
  const model = swarmWithNetworks();
  const run = (tx: Tx, name: string, network?: string) => runContainer(tx, 'h1', { name, image: 'busybox', command: [], network, aliases: [], autoRemove: false, openStdin: true, tty: true, attached: false, clientTerminal: false });
  model.change((tx) => {
    run(tx, 'b1');
    const locals = tx.host('h1').localNetworks;
    const bridge = Object.keys(locals).find((id) => fieldOf(locals, id).name === 'bridge')!;
    expect(isDraft(locals[bridge])).toBe(true);
    expect(isDraft(fieldOf(locals[bridge], 'options'))).toBe(false);
    expect(draftedNetworks(tx, 'h1')).toEqual(['bridge']);
  });
  model.change((tx) => {
    run(tx, 'o1', 'net5');
    expect(draftedNetworks(tx, 'h1')).toEqual(['docker_gwbridge', 'net5']);
  });
  model.change((tx) => {
    createNetwork(tx, 'h0', { name: 'net40', driver: 'overlay', attachable: true, internal: false, options: {}, labels: {} });
    expect(draftedNetworks(tx, 'h0')).toEqual([]);
  });
  model.change((tx) => {
    const made = ensureGwbridge(tx, 'h2');
    expect(gwbridgeOf(tx, 'h2')).toBe(made);
    const locals = fieldOf(tx.host('h2'), 'localNetworks');
    expect(Object.keys(locals).filter((id) => isDraft(fieldOf(locals, id)))).toEqual([]);
  });
  // What the steps wrote is in the world.
  expect(Object.values(hostOf(model.world, 'h1').containers).map((c) => [c.name, c.state]).sort()).toEqual([['b1', 'running'], ['o1', 'running']]);
  expect(swarmNetworks(model.world.swarm).some((n) => n.name === 'net40')).toBe(true);
});

/**
 * The contract ClusterReader, the lab's step back and a trace's topology rely on: a step
 * leaves every earlier world as it was, and a record keeps its identity unless the step wrote
 * into it (or into something it holds), so comparing two worlds by identity tells what the
 * step changed and nothing else.
 */
test('a docker run leaves the world before it unchanged, and changes identity only along what it wrote', () => {
  const model = swarmWithNetworks();
  const docker = (host: string, line: string) => expect(dockerStep(model, host, line.split(' ')).outcome).toMatchObject({ exitCode: 0 });
  docker('h1', 'run -dit --name c0 --network net5 busybox');
  const before = model.world;
  const text = JSON.stringify(before);
  docker('h1', 'run -dit --name c1 --network net5 busybox');
  const after = model.world;
  expect(JSON.stringify(before)).toBe(text);
  expect(after).not.toBe(before);

  const changedHosts = after.hosts.flatMap((shard, i) => (shard === before.hosts[i] ? [] : Object.keys(shard).filter((name) => shard[name] !== before.hosts[i][name])));
  expect(changedHosts).toEqual(['h1']);
  const h1 = hostOf(after, 'h1'), h1Before = hostOf(before, 'h1');
  expect(Object.keys(h1.containers).filter((id) => h1.containers[id] !== h1Before.containers[id]).map((id) => h1.containers[id].name)).toEqual(['c1']);

  const changedNetworks = swarmNetworks(after.swarm).filter((n) => swarmNetwork(before.swarm, n.id) !== n).map((n) => n.name);
  expect(changedNetworks).toEqual(['net5']);
  const net5 = swarmNetworks(after.swarm).find((n) => n.name === 'net5')!, net5Before = swarmNetwork(before.swarm, net5.id)!;
  // Of its instances only h1's counts the join; the endpoints the step did not make stay.
  expect(instanceHosts(net5).filter((host) => instanceOf(net5, host) !== instanceOf(net5Before, host))).toEqual(['h1']);
  expect(net5.instances.filter((shard, i) => shard !== net5Before.instances[i]).length).toBe(1);
  const newEndpoints = endpointsOf(net5).filter((ep) => endpointOf(net5Before, ep.id) !== ep);
  expect(newEndpoints.map((ep) => [ep.host, ep.containerId && h1.containers[ep.containerId].name])).toEqual([['h1', 'c1']]);
  expect(endpointsOf(net5Before).every((ep) => endpointOf(net5, ep.id) === ep)).toBe(true);
});
