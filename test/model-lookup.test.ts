/**
 * `docker run --network REF` looks REF up among every network its host sees, once per
 * container: lookUpNetwork walks the swarm's shards instead of listing them, and must find
 * what Docker's order (full id, exact name, unique id prefix; local networks before swarm ones)
 * finds over the listed networks.
 */
import { Model } from '../sim/model/model';
import { dockerStep } from '../sim/docker/session';
import { allNetworks, findNetwork, lookUpNetwork } from '../sim/model/tx';
import { swarmNetworks, World } from '../sim/model/world';

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
