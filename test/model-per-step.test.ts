/**
 * What the model asks before every step (the namespace collector's due hosts, NetworkDB's
 * pending verdicts) costs the shards the step changed, not every host: a 1,000-host swarm
 * asked it of each host at each of its 11,000 steps.
 */
import { Model } from '../sim/model/model';
import { Host, HostsWhere } from '../sim/model/world';

const hosts = Array.from({ length: 200 }, (_, i) => ({ name: `h${i}`, underlay: `198.51.100.${i + 1}` }));

test('HostsWhere asks its question again only of the shards a step changed', () => {
  const model = new Model(hosts, 1);
  model.boot();
  let asked = 0;
  const linked = new HostsWhere((h: Host) => {
    asked++;
    return h.netnsLinked;
  });
  expect(linked.of(model.world.hosts)).toEqual([]);
  expect(asked).toBe(hosts.length);
  asked = 0;
  model.tick(1e9);
  expect(linked.of(model.world.hosts)).toEqual([]);
  expect(asked).toBe(0);
  model.linkNetnsDir('h7');
  expect(linked.of(model.world.hosts)).toEqual(['h7']);
  // One shard of the 64 was copied: its hosts only.
  expect(asked).toBeGreaterThan(0);
  expect(asked).toBeLessThan(hosts.length / 8);
});

test('HostsWhere answers for the world it is given, whichever it was asked of before', () => {
  const a = new Model(hosts, 1), b = new Model(hosts.slice(0, 50), 1);
  a.boot();
  b.boot();
  b.linkNetnsDir('h3');
  a.linkNetnsDir('h120');
  const linked = new HostsWhere((h: Host) => h.netnsLinked);
  const before = a.world;
  expect(linked.of(a.world.hosts)).toEqual(['h120']);
  expect(linked.of(b.world.hosts)).toEqual(['h3']);
  a.linkNetnsDir('h9');
  expect([...linked.of(a.world.hosts)].sort()).toEqual(['h120', 'h9']);
  expect(linked.of(before.hosts)).toEqual(['h120']);
});

test('a tick that moves only the clock makes a new world sharing every part of the one before, which stays as it was', () => {
  const model = new Model(hosts, 1);
  model.boot();
  const before = model.world;
  model.tick(1e9);
  expect(model.world).not.toBe(before);
  expect(model.world.clockNs).toBe(before.clockNs + 1e9);
  expect(before.clockNs).toBe(0);
  expect(model.world.hosts).toBe(before.hosts);
  expect({ ...model.world, clockNs: 0 }).toEqual(before);
});
