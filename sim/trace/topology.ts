/**
 * The trace's topology, drawn from the model: every backend builds the same namespaces and
 * devices from the same plan, so the model can describe them for all of them.
 */
import { endpointsOf, hostOf, instanceOf, networksByAge, swarmNetworks, World } from '../model/world';
import { driverOf } from '../model/drivers';
import type { DriverNamespace } from '../model/drivers/driver';
import { Topology } from './types';
import { ipv4ToNumber } from '../wire/addr';

export function topologyFromWorld(world: World): Topology {
  const topo: Topology = { hosts: [], namespaces: [], links: [] };
  const networks = networksByAge(swarmNetworks(world.swarm));
  for (const name of world.hostOrder) {
    const h = hostOf(world, name);
    topo.hosts.push({ name, underlay: h.underlay });
    topo.namespaces.push({ host: name, name, kind: 'host' });
    topo.links.push({ host: name, netns: name, device: 'eth0', kind: 'underlay', addresses: [`${h.underlay}/${h.underlayPrefix}`] });
    const locals = Object.values(h.localNetworks).filter((n) => n.bridge);
    for (const n of locals) topo.links.push({ host: name, netns: name, device: n.bridge!, kind: 'bridge', addresses: [`${n.ipam.gateway}/${n.ipam.subnet.split('/')[1]}`] });
    const containers = new Map(Object.values(h.containers).filter((c) => c.state === 'running').map((c) => [c.sandbox, c.name]));
    for (const ns of h.namespaces) {
      let own: DriverNamespace | undefined;
      const overlay = networks.find((n) => instanceOf(n, name) && (own = driverOf(n).networkNamespace(n))?.name === ns);
      const kind = overlay ? 'overlay' : containers.has(ns) ? 'container' : ns === 'ingress_sbox' ? 'ingress' : 'lb';
      topo.namespaces.push({ host: name, name: ns, kind, ...(containers.has(ns) ? { container: containers.get(ns) } : {}), ...(overlay ? { network: overlay.name } : {}) });
      if (overlay && own) for (const d of own.devices) topo.links.push({ host: name, netns: ns, ...d });
    }
    for (const net of [...networks, ...locals]) {
      for (const ep of endpointsOf(net).sort((a, b) => ipv4ToNumber(a.ip) - ipv4ToNumber(b.ip))) {
        if (ep.host !== name || ep.state !== 'joined') continue;
        const { netns: peerNetns, master } = driverOf(net).endpointPeer(net, name);
        topo.links.push({ host: name, netns: ep.sandbox, device: ep.ifname, kind: 'veth', mac: ep.mac, addresses: [`${ep.ip}/${ep.prefixLength}`], peer: { netns: peerNetns, device: ep.peerIfname } });
        topo.links.push({ host: name, netns: peerNetns, device: ep.peerIfname, kind: 'veth', master, peer: { netns: ep.sandbox, device: ep.ifname } });
      }
    }
  }
  return topo;
}
