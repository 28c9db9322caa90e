/**
 * The trace's topology, drawn from the model: every backend builds the same namespaces and
 * devices from the same plan, so the model can describe them for all of them.
 */
import { endpointsOf, hostOf, instanceOf, networksByAge, swarmNetworks, World } from '../model/world';
import { overlayNetnsName } from '../model/drivers/overlay';
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
      const overlay = networks.find((n) => instanceOf(n, name) && overlayNetnsName(n.id) === ns);
      const kind = overlay ? 'overlay' : containers.has(ns) ? 'container' : ns === 'ingress_sbox' ? 'ingress' : 'lb';
      topo.namespaces.push({ host: name, name: ns, kind, ...(containers.has(ns) ? { container: containers.get(ns) } : {}), ...(overlay ? { network: overlay.name } : {}) });
      if (overlay) {
        topo.links.push({ host: name, netns: ns, device: 'br0', kind: 'bridge', addresses: [`${overlay.ipam.gateway}/${overlay.ipam.subnet.split('/')[1]}`] });
        topo.links.push({ host: name, netns: ns, device: 'vxlan0', kind: 'vxlan', master: 'br0' });
      }
    }
    for (const net of [...networks, ...locals]) {
      for (const ep of endpointsOf(net).sort((a, b) => ipv4ToNumber(a.ip) - ipv4ToNumber(b.ip))) {
        if (ep.host !== name || ep.state !== 'joined') continue;
        const peerNetns = net.driver === 'overlay' ? overlayNetnsName(net.id) : name;
        const master = net.driver === 'overlay' ? 'br0' : net.bridge!;
        topo.links.push({ host: name, netns: ep.sandbox, device: ep.ifname, kind: 'veth', mac: ep.mac, addresses: [`${ep.ip}/${ep.prefixLength}`], peer: { netns: peerNetns, device: ep.peerIfname } });
        topo.links.push({ host: name, netns: peerNetns, device: ep.peerIfname, kind: 'veth', master, peer: { netns: ep.sandbox, device: ep.ifname } });
      }
    }
  }
  return topo;
}
