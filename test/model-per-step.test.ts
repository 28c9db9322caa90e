/**
 * What the model asks before every step (the namespace collector's due hosts, NetworkDB's
 * pending verdicts) costs the shards the step changed, not every host: a 1,000-host swarm
 * asked it of each host at each of its 11,000 steps.
 */
import { Model } from '../sim/model/model';
import { Host, hostsWhere } from '../sim/model/world';

const hosts = Array.from({ length: 200 }, (_, i) => ({ name: `h${i}`, underlay: `198.51.100.${i + 1}` }));

test('hostsWhere asks its question again only of the shards a step changed', () => {
  const model = new Model(hosts, 1);
  model.boot();
  const cache = new WeakMap<object, string[]>();
  let asked = 0;
  const linked = (h: Host) => {
    asked++;
    return h.netnsLinked;
  };
  expect(hostsWhere(model.world.hosts, cache, linked)).toEqual([]);
  expect(asked).toBe(hosts.length);
  asked = 0;
  model.tick(1e9);
  expect(hostsWhere(model.world.hosts, cache, linked)).toEqual([]);
  expect(asked).toBe(0);
  model.linkNetnsDir('h7');
  expect(hostsWhere(model.world.hosts, cache, linked)).toEqual(['h7']);
  // One shard of the 64 was copied: its hosts only.
  expect(asked).toBeGreaterThan(0);
  expect(asked).toBeLessThan(hosts.length / 8);
});
