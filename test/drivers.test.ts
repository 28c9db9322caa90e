/**
 * The network-driver seam (ARCHITECTURE.md, "Network drivers"): every registered driver is
 * complete. For each driver `docker network create -d` can make, a lab puts two containers on
 * one of its networks and pings; then what the driver says (topology hints, capture spots)
 * must name devices the plan really built, every hop sim traced on the ping must be placed
 * on the path its driver names, and that path model must be registered. A new driver
 * registered without them fails here.
 */
import { runSim } from './helpers/run';
import { driverOf, registeredDrivers } from '../sim/model/drivers';
import { NetworkDriver } from '../sim/model/drivers/driver';
import { endpointsOf, hostOf, Network, swarmNetworks, World } from '../sim/model/world';
import { SimKernel } from '../sim/kernel/kernel';
import { classifyPath } from '../sim/trace/path';
import { registeredPath } from '../sim/trace/paths';

// A driver whose containers are not modelled cannot run the ping lab (none is, today).
const creatable = registeredDrivers().filter((d) => d.create && !d.containersNotModelled);

/**
 * What a driver needs before its networks can be made (a plugin's daemon on every host) and
 * how its containers join (a network that becomes a container's only one is given at run).
 */
const PREPARE: Partial<Record<NetworkDriver['name'], { steps: string[]; createFlags: string; joinAtRun: boolean }>> = {
  calico: { steps: ['r0: calicoctl node run', 'r1: calicoctl node run'], createFlags: '--ipam-driver calico-ipam', joinAtRun: true },
};

/** Two containers on a network of the driver: on two hosts when its networks span the swarm, else on one. */
function lab(driver: NetworkDriver, spansHosts: boolean): string {
  const second = spansHosts ? 'r1' : 'r0';
  const prep = PREPARE[driver.name];
  const net = `net-${driver.name}`;
  const join = prep?.joinAtRun
    ? [`r0: docker run -dit --name left --net ${net} alpine`, `${second}: docker run -dit --name right --net ${net} alpine`]
    : ['r0: docker run -dit --name left alpine', `${second}: docker run -dit --name right alpine`, `r0: docker network connect ${net} left`, `${second}: docker network connect ${net} right`];
  return `name: driver-${driver.name}
hosts:
  r0: {}
  r1: {}
steps:
  - r0: docker swarm init
  - r1: docker swarm join --token <...> 198.51.100.10:2377
${(prep?.steps ?? []).map((st) => `  - ${st}\n`).join('')}  - r0: docker network create -d ${driver.name} ${prep?.createFlags ?? '--attachable'} ${net}
${join.map((st) => `  - ${st}\n`).join('')}  - left: ping -c 1 right
    expect: { exit: 0 }
`;
}

function hasDevice(k: SimKernel, host: string, netns: string, device: string): boolean {
  return !!k.hosts.get(host)?.namespaces.get(netns)?.links.has(device);
}

/** A network's endpoints on every host: a global network's copies (kept in a cluster store) each hold their own host's. */
function everyEndpoint(w: World, net: Network) {
  if (net.scope !== 'global') return endpointsOf(net);
  return w.hostOrder.flatMap((h) => endpointsOf(hostOf(w, h).localNetworks[net.id] ?? { endpoints: [] }).filter((ep) => ep.host === h));
}

function networkNamed(w: World, name: string): Network {
  const found = swarmNetworks(w.swarm).find((n) => n.name === name) ?? w.hostOrder.flatMap((h) => Object.values(hostOf(w, h).localNetworks)).find((n) => n.name === name);
  if (!found) throw new Error(`no network ${name}`);
  return found;
}

describe('network drivers', () => {
  test('the registry names each driver once, under its own name, and some can be created', () => {
    const names = registeredDrivers().map((d) => d.name);
    expect(new Set(names).size).toBe(names.length);
    for (const d of registeredDrivers()) expect(driverOf({ driver: d.name })).toBe(d);
    expect(creatable.map((d) => d.name)).toEqual(expect.arrayContaining(['bridge', 'overlay']));
  });

  test("each driver whose containers get an endpoint names a registered path model, and one for what leaves through its gateway; host names the host path (its containers send from the host's namespace); the others none", () => {
    const registered = (id: string | undefined) => registeredPath(id) ?? `not a registered path: ${id}`;
    // A driver whose containers are not modelled carries no packet, so it has no path to name.
    const attaching = registeredDrivers().filter((d) => d.attaches && !d.containersNotModelled);
    expect(attaching.map((d) => ({ driver: d.name, path: registered(d.path), outside: d.providesGateway ? registered(d.outsidePath) : '-' })))
      .toEqual(attaching.map((d) => ({ driver: d.name, path: d.path, outside: d.providesGateway ? d.outsidePath : '-' })));
    expect(registered(driverOf({ driver: 'host' }).path)).toBe('host');
    expect(registeredDrivers().filter((d) => (!d.attaches || d.containersNotModelled) && d.name !== 'host' && (d.path || d.outsidePath)).map((d) => d.name)).toEqual([]);
  });

  describe.each(creatable.map((d) => [d.name, d] as const))('%s', (_name, driver) => {
    const setup = (async () => {
      // A swarm network spans hosts; a local one lives on the host that made it.
      const probe = await runSim(lab(driver, false));
      const spansHosts = networkNamed(probe.model.world, `net-${driver.name}`).scope !== 'local';
      return spansHosts ? runSim(lab(driver, true)) : probe;
    })();

    test('the lab runs: its networks are made, joined and pinged across', async () => {
      const { result } = await setup;
      expect(result.steps.filter((s) => !s.ok).map((s) => `${s.on}: ${s.command}: ${s.stderr}`)).toEqual([]);
    });

    test('topology hints name devices the plan built: the veth peer on its bridge, the namespace of its own', async () => {
      const { model, backend } = await setup;
      const w = model.world;
      const net = networkNamed(w, `net-${driver.name}`);
      const joined = everyEndpoint(w, net).filter((e) => e.state === 'joined');
      expect(joined.length).toBeGreaterThanOrEqual(2);
      for (const ep of joined) {
        const { netns, master } = driver.endpointPeer(net, ep.host);
        const peer = backend.kernel.hosts.get(ep.host)!.namespaces.get(netns)!.links.get(ep.peerIfname);
        expect({ ep: ep.name, peer: peer?.name, master: peer?.master?.name }).toEqual({ ep: ep.name, peer: ep.peerIfname, master });
        const own = driver.networkNamespace(net);
        for (const d of own?.devices ?? []) expect({ host: ep.host, device: d.device, there: hasDevice(backend.kernel, ep.host, own!.name, d.device) }).toEqual({ host: ep.host, device: d.device, there: true });
      }
    });

    test('capture spots name devices the plan built', async () => {
      const { model, backend } = await setup;
      const w = model.world;
      const net = networkNamed(w, `net-${driver.name}`);
      for (const ep of everyEndpoint(w, net).filter((e) => e.state === 'joined' && e.kind === 'container')) {
        for (const spot of driver.captureSpots(w, net, ep)) {
          expect({ spot, there: hasDevice(backend.kernel, spot.host, spot.netns, spot.device) }).toEqual({ spot, there: true });
        }
      }
    });

    test('sim traces the ping to its delivery', async () => {
      const { result } = await setup;
      const flows = result.trace.flows.filter((f) => f.kind === 'icmp-echo');
      expect(flows.length).toBe(1);
      expect(flows[0].hops.some((h) => h.event === 'deliver')).toBe(true);
    });

    test('its path model places every hop sim produces for a ping on it, and the flow names it', async () => {
      const { result } = await setup;
      const flow = result.trace.flows.find((f) => f.kind === 'icmp-echo')!;
      expect(flow.path).toBe(driver.path);
      const unplaced = flow.hops.filter((h) => h.step === undefined).map((h) => `${h.host}/${h.netns}/${h.device} ${h.event}`);
      expect({ unplaced, verdictKnown: classifyPath(flow).kind !== 'unknown' }).toEqual({ unplaced: [], verdictKnown: true });
    });
  });
});

describe('network rm: what a driver made on the hosts at create goes with the network', () => {
  /** The hosts' kernels as far as a network's creation can change them: every namespace's links, and the host's rules. */
  const hostsAfter = async (driver: NetworkDriver, steps: string[]) => {
    const prep = PREPARE[driver.name];
    const all = ['r0: docker swarm init', 'r1: docker swarm join --token <...> 198.51.100.10:2377', ...(prep?.steps ?? []), ...steps,
      'r0: iptables -S', 'r0: iptables -t nat -S', 'r1: iptables -S', 'r1: iptables -t nat -S'];
    const { result, backend } = await runSim(`name: rm-${driver.name}\nhosts:\n  r0: {}\n  r1: {}\nsteps:\n${all.map((st) => `  - ${st}\n`).join('')}`);
    expect(result.steps.filter((s) => !s.ok).map((s) => `${s.on}: ${s.command}: ${s.stderr}`)).toEqual([]);
    const links = [...backend.kernel.hosts.values()].flatMap((h) => [...h.namespaces.values()].flatMap((ns) => [...ns.links.keys()].map((l) => `${h.name}/${ns.name}/${l}`))).sort();
    return { links, rules: result.steps.slice(-4).map((s) => s.stdout) };
  };

  test.each(registeredDrivers().filter((d) => d.create).map((d) => [d.name, d] as const))('%s', async (_name, driver) => {
    const create = `r0: docker network create -d ${driver.name} ${PREPARE[driver.name]?.createFlags ?? '--attachable'} net-${driver.name}`;
    const before = await hostsAfter(driver, []);
    const made = await hostsAfter(driver, [create]);
    const removed = await hostsAfter(driver, [create, `r0: docker network rm net-${driver.name}`]);
    expect(removed).toEqual(before);
    // Undoing is the driver's own (its remove), not the network code's: a driver that made anything says how it goes.
    const madeSomething = JSON.stringify(made) !== JSON.stringify(before);
    expect(typeof driver.remove).toBe(madeSomething ? 'function' : 'undefined');
  });
});
