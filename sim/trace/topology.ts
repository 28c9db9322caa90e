/**
 * The trace's topology, drawn from the model: every backend builds the same namespaces and
 * devices from the same plan, so the model can describe them for all of them.
 *
 * A run observes the topology after every step, so the work of one observation follows what
 * the step changed, not the size of the lab: the model's world is immutable, and a host
 * whose record and endpoints are the same objects as before has the same topology as before.
 */
import { endpointsOf, hostOf, instanceOf, Network, Endpoint, shardGet, swarmNetwork, World, Shards } from '../model/world';
import { driverOf } from '../model/drivers';
import { Topology } from './types';
import { ipv4ToNumber } from '../wire/addr';
import { HostTopology, TopologyHistory } from './lifetimes';

/** A swarm network as the topology of its hosts uses it: its endpoints by host, in address order. */
interface SwarmNetworkView {
  /** The network as of the last observation. */
  net: Network;
  endpointsByHost: Map<string, Endpoint[]>;
}

/** Endpoints grouped by host, each group in address order (stable, as `endpointsOf` lists them). */
function endpointsByHost(net: Network): Map<string, Endpoint[]> {
  const keyed = endpointsOf(net).map((ep) => ({ ep, key: ipv4ToNumber(ep.ip) }));
  keyed.sort((a, b) => a.key - b.key);
  const byHost = new Map<string, Endpoint[]>();
  for (const { ep } of keyed) {
    const list = byHost.get(ep.host);
    if (list) list.push(ep);
    else byHost.set(ep.host, [ep]);
  }
  return byHost;
}

/** Keys whose values are not the same objects in `a` and `b` (either side may lack them). */
function changedKeys<T>(a: Shards<T> | undefined, b: Shards<T> | undefined, out: (key: string) => void): void {
  if (a === b) return;
  const n = Math.max(a?.length ?? 0, b?.length ?? 0);
  for (let i = 0; i < n; i++) {
    const sa = a?.[i], sb = b?.[i];
    if (sa === sb) continue;
    if (sa) for (const k in sa) if (sa[k] !== sb?.[k]) out(k);
    if (sb) for (const k in sb) if (!sa || !(k in sa)) out(k);
  }
}

/** One host's namespaces and links. */
function hostTopology(world: World, name: string, swarmNets: SwarmNetworkView[], byNetns: Map<string, SwarmNetworkView>): HostTopology {
  const namespaces: Topology['namespaces'] = [];
  const links: Topology['links'] = [];
  const h = hostOf(world, name);
  namespaces.push({ host: name, name, kind: 'host' });
  links.push({ host: name, netns: name, device: 'eth0', kind: 'underlay', addresses: [`${h.underlay}/${h.underlayPrefix}`] });
  const locals = Object.values(h.localNetworks).filter((n) => n.bridge);
  for (const n of locals) links.push({ host: name, netns: name, device: n.bridge!, kind: 'bridge', addresses: [`${n.ipam.gateway}/${n.ipam.subnet.split('/')[1]}`] });
  const containers = new Map(Object.values(h.containers).filter((c) => c.state === 'running').map((c) => [c.sandbox, c.name]));
  for (const ns of h.namespaces) {
    const candidate = byNetns.get(ns)?.net;
    const overlay = candidate && instanceOf(candidate, name) ? candidate : undefined;
    const own = overlay ? driverOf(overlay).networkNamespace(overlay) : undefined;
    const kind = overlay ? 'overlay' : containers.has(ns) ? 'container' : ns === 'ingress_sbox' ? 'ingress' : 'lb';
    namespaces.push({ host: name, name: ns, kind, ...(containers.has(ns) ? { container: containers.get(ns) } : {}), ...(overlay ? { network: overlay.name } : {}) });
    if (own) for (const d of own.devices) links.push({ host: name, netns: ns, ...d });
  }
  // Every local network whose containers get endpoints: a bridge's, or one without a bridge (Calico's, routed by the host).
  const attached = Object.values(h.localNetworks).filter((n) => driverOf(n).attaches);
  const endpointLists = [...swarmNets.map((v) => ({ net: v.net, eps: v.endpointsByHost.get(name) ?? [] })), ...attached.map((net) => ({ net, eps: endpointsByHost(net).get(name) ?? [] }))];
  for (const { net, eps } of endpointLists) {
    for (const ep of eps) {
      if (ep.state !== 'joined') continue;
      const { netns: peerNetns, master } = driverOf(net).endpointPeer(net, name);
      links.push({ host: name, netns: ep.sandbox, device: ep.ifname, kind: 'veth', mac: ep.mac, addresses: [`${ep.ip}/${ep.prefixLength}`], peer: { netns: peerNetns, device: ep.peerIfname } });
      links.push({ host: name, netns: peerNetns, device: ep.peerIfname, kind: 'veth', ...(master ? { master } : {}), peer: { netns: ep.sandbox, device: ep.ifname } });
    }
  }
  return { host: name, namespaces, links };
}

/** The topology of a run, observed after each step; each observation rebuilds only the hosts the step changed. */
export class RunTopology {
  private readonly history = new TopologyHistory();
  private world: World | undefined;
  private readonly views = new Map<string, SwarmNetworkView>();
  private order = new Map<string, number>();
  /** Swarm networks oldest first, as `docker network ls` and the plumbing order them. */
  private swarmNets: SwarmNetworkView[] = [];
  private byNetns = new Map<string, SwarmNetworkView>();
  /** Host topologies built so far (a run's work here grows with what its steps change). */
  hostsBuilt = 0;

  observe(step: number, world: World): void {
    const prev = this.world;
    this.world = world;
    const dirty = new Set<string>();
    if (!prev || prev.hostOrder !== world.hostOrder) for (const h of world.hostOrder) dirty.add(h);
    changedKeys(prev?.hosts, world.hosts, (h) => dirty.add(h));
    const markHostsOf = (net: Network | undefined) => {
      if (!net) return;
      for (const ep of endpointsOf(net)) dirty.add(ep.host);
      changedKeys(net.instances, undefined, (h) => dirty.add(h));
    };
    let networksChanged = false;
    changedKeys(prev?.swarm?.networks, world.swarm?.networks, (id) => {
      const before = this.views.get(id)?.net;
      const after = swarmNetwork(world.swarm, id);
      if (before && after && sameShape(before, after)) {
        // Only endpoints or instances changed: the hosts of those that did.
        changedKeys(before.endpoints, after.endpoints, (epId) => {
          const a = shardGet(before.endpoints, epId), b = shardGet(after.endpoints, epId);
          if (a) dirty.add(a.host);
          if (b) dirty.add(b.host);
        });
        changedKeys(before.instances, after.instances, (h) => dirty.add(h));
      } else {
        markHostsOf(before);
        markHostsOf(after);
      }
      const view = this.views.get(id);
      if (view && after) {
        // Updated in place: the order of networks (by age) holds.
        if (before!.endpoints !== after.endpoints) view.endpointsByHost = endpointsByHost(after);
        view.net = after;
        if (!sameShape(before!, after)) networksChanged = true;
      } else {
        if (after) this.views.set(id, { net: after, endpointsByHost: endpointsByHost(after) });
        else this.views.delete(id);
        networksChanged = true;
      }
    });
    if (networksChanged) {
      const views = [...this.views.values()].sort((a, b) => Number(a.net.createdNs) - Number(b.net.createdNs) || a.net.vni - b.net.vni);
      this.swarmNets = views;
      // A network's own namespace is named after its id, which never changes.
      this.byNetns = new Map(views.flatMap((v) => {
        const own = driverOf(v.net).networkNamespace(v.net);
        return own ? [[own.name, v] as const] : [];
      }));
    }
    const { swarmNets, byNetns } = this;
    if (!prev || prev.hostOrder !== world.hostOrder) this.order = new Map(world.hostOrder.map((h, i) => [h, i]));
    // In host order, as a whole observation would list them, so new objects keep their place.
    const hosts = [...dirty].filter((h) => this.order.has(h)).sort((a, b) => this.order.get(a)! - this.order.get(b)!);
    this.history.observeHosts(step, hosts.map((h) => hostTopology(world, h, swarmNets, byNetns)));
    this.hostsBuilt += hosts.length;
  }

  topology(): Topology {
    const world = this.world;
    return this.history.topology(world ? world.hostOrder.map((name) => ({ name, underlay: hostOf(world, name).underlay })) : []);
  }
}

/** Whether two versions of a network draw alike on the hosts where neither its endpoints nor its instances changed. */
function sameShape(a: Network, b: Network): boolean {
  return a.name === b.name && a.driver === b.driver && a.ipam.gateway === b.ipam.gateway && a.ipam.subnet === b.ipam.subnet && a.createdNs === b.createdNs && a.vni === b.vni;
}
