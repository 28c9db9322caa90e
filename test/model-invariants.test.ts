/**
 * Model-based test: random sequences of create, run, connect, disconnect, rm and leave,
 * with the plan applied to the simulated kernel after every command. Three invariants:
 * no address is used twice; peer (neigh + fdb) entries exist exactly for remote endpoints;
 * a network is instantiated on a host exactly when a local container endpoint exists.
 */
import fc from 'fast-check';
import { Model } from '../sim/model/model';
import { SimKernel } from '../sim/kernel/kernel';
import { overlayNetnsName } from '../sim/model/drivers/overlay';
import { endpointsOf, hostOf, instanceOf, swarmNetworks, World } from '../sim/model/world';
import { dockerStep } from '../sim/docker/session';

const HOSTS = ['r0', 'r1', 'r2'];
const NETS = ['n0', 'n1', 'n2'];
const CTRS = ['c0', 'c1', 'c2', 'c3', 'c4'];

type Cmd = { host: string; argv: string[] };

const cmd: fc.Arbitrary<Cmd> = fc.oneof(
  { weight: 2, arbitrary: fc.record({ host: fc.constant('r0'), argv: fc.constantFrom(...NETS).map((n) => ['network', 'create', '-d', 'overlay', '--attachable', n]) }) },
  { weight: 5, arbitrary: fc.tuple(fc.constantFrom(...HOSTS), fc.constantFrom(...CTRS), fc.constantFrom(...NETS)).map(([host, c, n]) => ({ host, argv: ['run', '-dit', '--name', c, '--network', n, 'busybox'] })) },
  { weight: 2, arbitrary: fc.tuple(fc.constantFrom(...HOSTS), fc.constantFrom(...CTRS), fc.constantFrom(...NETS)).map(([host, c, n]) => ({ host, argv: ['network', 'connect', n, c] })) },
  { weight: 2, arbitrary: fc.tuple(fc.constantFrom(...HOSTS), fc.constantFrom(...CTRS), fc.constantFrom(...NETS)).map(([host, c, n]) => ({ host, argv: ['network', 'disconnect', n, c] })) },
  { weight: 2, arbitrary: fc.tuple(fc.constantFrom(...HOSTS), fc.constantFrom(...CTRS)).map(([host, c]) => ({ host, argv: ['rm', '-f', c] })) },
  { weight: 1, arbitrary: fc.constantFrom('r1', 'r2').map((host) => ({ host, argv: ['swarm', 'leave'] })) },
  { weight: 1, arbitrary: fc.constantFrom('r1', 'r2').map((host) => ({ host, argv: ['swarm', 'join', '--token', '<...>', '198.51.100.10:2377'] })) },
  { weight: 1, arbitrary: fc.constantFrom(...NETS).map((n) => ({ host: 'r0', argv: ['network', 'rm', n] })) },
);

function check(w: World, k: SimKernel): void {
  for (const net of swarmNetworks(w.swarm)) {
    const ips = endpointsOf(net).map((e) => e.ip);
    expect(new Set(ips).size).toBe(ips.length);
    for (const host of HOSTS) {
      const local = endpointsOf(net).some((e) => e.host === host && (e.kind === 'container' || e.kind === 'ingress'));
      const netns = overlayNetnsName(net.id);
      const inKernel = k.hosts.get(host)!.namespaces.has(netns);
      expect({ net: net.name, host, instantiated: !!instanceOf(net, host) }).toEqual({ net: net.name, host, instantiated: local });
      expect({ net: net.name, host, inKernel }).toEqual({ net: net.name, host, inKernel: local });
      if (!inKernel) continue;
      const vx = k.link(host, netns, 'vxlan0');
      const fdb = [...vx.vxlan!.fdb].filter(([, e]) => e.permanent).map(([mac, e]) => `${mac}>${e.dst}`).sort();
      const neigh = [...k.netns(host, netns).neigh.values()].map((n) => `${n.ip}=${n.mac}`).sort();
      const remote = endpointsOf(net).filter((e) => e.host !== host && e.state === 'joined');
      expect(fdb).toEqual(remote.map((e) => `${e.mac}>${hostOf(w, e.host).underlay}`).sort());
      expect(neigh).toEqual(remote.map((e) => `${e.ip}=${e.mac}`).sort());
    }
  }
  for (const host of HOSTS) {
    // No two interfaces on one host share an address within the same namespace kind.
    const seen = new Set<string>();
    for (const ns of k.hosts.get(host)!.namespaces.values()) {
      for (const l of ns.links.values()) for (const a of l.addrs) {
        if (l.type === 'loopback' || l.type === 'bridge') continue;
        const key = `${a.ip}`;
        expect(seen.has(key) ? `${host}: ${key} used twice` : 'unique').toBe('unique');
        seen.add(key);
      }
    }
  }
}

test('random command sequences keep the three invariants', () => {
  fc.assert(
    fc.property(fc.array(cmd, { minLength: 1, maxLength: 40 }), (cmds) => {
      const m = new Model(HOSTS.map((name, i) => ({ name, underlay: `198.51.100.${10 + i}` })), 11);
      const k = new SimKernel(11);
      for (const op of m.boot()) k.apply(op);
      for (const step of [['r0', ['swarm', 'init']], ['r1', ['swarm', 'join', '--token', '<...>', '198.51.100.10:2377']], ['r2', ['swarm', 'join', '--token', '<...>', '198.51.100.10:2377']]] as const) {
        for (const op of dockerStep(m, step[0], [...step[1]]).ops) k.apply(op);
      }
      for (const c of cmds) {
        for (const op of dockerStep(m, c.host, c.argv).ops) k.apply(op);
        check(m.world, k);
      }
    }),
    { numRuns: 150 },
  );
});
