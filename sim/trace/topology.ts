/**
 * The trace's topology, drawn from the model: every backend builds the same namespaces and
 * devices from the same plan, so the model can describe them for all of them.
 *
 * A run observes the topology after every step, so the work of one observation follows what
 * the step changed, not the size of the lab: the model's world is immutable, and a host
 * whose record and endpoints are the same objects as before has the same topology as before.
 */
import { endpointsOf, hostOf, instanceOf, Network, Endpoint, shardGet, sharesHostNetns, swarmNetwork, World, Shards } from '../model/world';
import { driverOf, hostsRedrawn, hostTopologyOf } from '../model/drivers';
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

/**
 * A network's groups after a step: a changed endpoint leaves its host's group and its new
 * version takes its place in address order, so a step costs the endpoints it changed, not
 * the network's. Two endpoints with one address (never given by IPAM) are ordered as
 * `endpointsOf` lists them, by a regrouping of the whole network.
 */
function regroupChanged(groups: Map<string, Endpoint[]>, before: Network, after: Network): Map<string, Endpoint[]> {
  let sameAddress = false;
  changedKeys(before.endpoints, after.endpoints, (epId) => {
    const a = shardGet(before.endpoints, epId), b = shardGet(after.endpoints, epId);
    if (a) {
      const rest = (groups.get(a.host) ?? []).filter((ep) => ep.id !== a.id);
      if (rest.length) groups.set(a.host, rest);
      else groups.delete(a.host);
    }
    if (b) {
      const list = groups.get(b.host) ?? [];
      const key = ipv4ToNumber(b.ip);
      let at = 0;
      while (at < list.length && ipv4ToNumber(list[at].ip) < key) at++;
      if (at < list.length && ipv4ToNumber(list[at].ip) === key) sameAddress = true;
      groups.set(b.host, [...list.slice(0, at), b, ...list.slice(at)]);
    }
  });
  return sameAddress ? endpointsByHost(after) : groups;
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

/** One host's namespaces and links; `swarmNets` are the swarm networks with endpoints on it, oldest first. */
function hostTopology(world: World, name: string, swarmNets: SwarmNetworkView[], byNetns: Map<string, SwarmNetworkView>): HostTopology {
  const namespaces: Topology['namespaces'] = [];
  const links: Topology['links'] = [];
  const h = hostOf(world, name);
  namespaces.push({ host: name, name, kind: 'host' });
  links.push({ host: name, netns: name, device: 'eth0', kind: 'underlay', addresses: [`${h.underlay}/${h.underlayPrefix}`] });
  // What the drivers made in the host's own namespace: the bridge networks' bridges, weave's router and its devices.
  const own = hostTopologyOf(world, name);
  for (const d of own.devices) links.push({ host: name, netns: name, ...d });
  const running = Object.values(h.containers).filter((c) => c.state === 'running');
  const containers = new Map(running.map((c) => [c.sandbox, c.name]));
  // A container run with --network host is in the host's own namespace, drawn there.
  const hostModeContainers = running.filter(sharesHostNetns).map((c) => ({ host: name, container: c.name }));
  // A local network instantiated here with a namespace of its own (a classic overlay's copy, kept by each dockerd of its store).
  const localOverlays = new Map(Object.values(h.localNetworks).flatMap((n) => {
    const inst = instanceOf(n, name);
    return inst ? [[inst.netns, n] as const] : [];
  }));
  for (const ns of h.namespaces) {
    const candidate = byNetns.get(ns)?.net ?? localOverlays.get(ns);
    const overlay = candidate && instanceOf(candidate, name) ? candidate : undefined;
    const networkNs = overlay ? driverOf(overlay).networkNamespace(overlay) : undefined;
    const kind = overlay ? 'overlay' : containers.has(ns) ? 'container' : ns === 'ingress_sbox' ? 'ingress' : 'lb';
    namespaces.push({ host: name, name: ns, kind, ...(containers.has(ns) ? { container: containers.get(ns) } : {}), ...(overlay ? { network: overlay.name } : {}) });
    if (networkNs) for (const d of networkNs.devices) links.push({ host: name, netns: ns, ...d });
  }
  // Every local network whose containers get endpoints: a bridge's, or one without a bridge (Calico's, routed by the host).
  const attached = Object.values(h.localNetworks).filter((n) => driverOf(n).attaches);
  const endpointLists: { net: Network; eps: Endpoint[] }[] = [];
  for (const v of swarmNets) {
    const eps = v.endpointsByHost.get(name);
    if (eps) endpointLists.push({ net: v.net, eps });
  }
  for (const net of attached) {
    const eps = endpointsByHost(net).get(name);
    if (eps) endpointLists.push({ net, eps });
  }
  for (const { net, eps } of endpointLists) {
    for (const ep of eps) {
      if (ep.state !== 'joined') continue;
      const { netns: peerNetns, master, stacked } = driverOf(net).endpointPeer(net, name);
      const drawn = vethPairs.get(ep);
      if (drawn && drawn.peerNetns === peerNetns && drawn.master === master) {
        links.push(...drawn.links);
        continue;
      }
      const own = { host: name, netns: ep.sandbox, device: ep.ifname, kind: stacked ?? 'veth', mac: ep.mac, addresses: [`${ep.ip}/${ep.prefixLength}`], peer: { netns: peerNetns, device: ep.peerIfname } };
      // A device stacked on one of the host's has no other end to draw: the host's device is drawn already.
      const pair: Topology['links'] = stacked ? [own] : [own, { host: name, netns: peerNetns, device: ep.peerIfname, kind: 'veth', ...(master ? { master } : {}), peer: { netns: ep.sandbox, device: ep.ifname } }];
      vethPairs.set(ep, { peerNetns, master, links: pair });
      links.push(...pair);
    }
  }
  return { host: name, namespaces, links, programs: own.programs.map((p) => ({ host: name, netns: name, ...p })), hostModeContainers };
}

/**
 * An endpoint's veth pair as last drawn, by the endpoint's (immutable) record: a host
 * redrawn after a step hands the history the same objects for the endpoints the step left
 * alone, which it recognises without serialising them again (lifetimes.ts).
 */
const vethPairs = new WeakMap<Endpoint, { peerNetns: string; master: string | undefined; links: Topology['links'] }>();

/** The topology of a run, observed after each step; each observation rebuilds only the hosts the step changed. */
export class RunTopology {
  private readonly history = new TopologyHistory();
  private world: World | undefined;
  private readonly views = new Map<string, SwarmNetworkView>();
  private order = new Map<string, number>();
  /** Each swarm network's place among them oldest first, as `docker network ls` and the plumbing order them. */
  private age = new Map<SwarmNetworkView, number>();
  /** The views with endpoints on each host, so a host is drawn from its own networks, not from every network of the swarm. */
  private readonly viewsOnHost = new Map<string, Set<SwarmNetworkView>>();
  private byNetns = new Map<string, SwarmNetworkView>();
  /** Each host's objects as last drawn, by namespace name and by `netns device` (namespace names hold no space). */
  private readonly drawn = new Map<string, Map<string, object>>();
  /** Host topologies built so far (a run's work here grows with what its steps change). */
  hostsBuilt = 0;
  /** Swarm networks those builds read (each host's own, not every network of the swarm). */
  networksRead = 0;

  observe(step: number, world: World): void {
    const prev = this.world;
    this.world = world;
    const dirty = new Set<string>();
    if (!prev || prev.hostOrder !== world.hostOrder) for (const h of world.hostOrder) dirty.add(h);
    changedKeys(prev?.hosts, world.hosts, (h) => dirty.add(h));
    // A driver's record kept outside the host's (weave's mesh) changes what it draws there.
    for (const h of hostsRedrawn(prev, world)) dirty.add(h);
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
        if (before!.endpoints !== after.endpoints) {
          const hosts = new Set(view.endpointsByHost.keys());
          view.endpointsByHost = regroupChanged(view.endpointsByHost, before!, after);
          for (const h of hosts) if (!view.endpointsByHost.has(h)) this.viewsOnHost.get(h)?.delete(view);
          this.placeOnHosts(view);
        }
        view.net = after;
        if (!sameShape(before!, after)) networksChanged = true;
      } else {
        if (view) for (const h of view.endpointsByHost.keys()) this.viewsOnHost.get(h)?.delete(view);
        if (after) {
          const made = { net: after, endpointsByHost: endpointsByHost(after) };
          this.views.set(id, made);
          this.placeOnHosts(made);
        } else this.views.delete(id);
        networksChanged = true;
      }
    });
    if (networksChanged) {
      const views = [...this.views.values()].sort((a, b) => Number(a.net.createdNs) - Number(b.net.createdNs) || a.net.vni - b.net.vni);
      this.age = new Map(views.map((v, i) => [v, i]));
      // A network's own namespace is named after its id, which never changes.
      this.byNetns = new Map(views.flatMap((v) => {
        const own = driverOf(v.net).networkNamespace(v.net);
        return own ? [[own.name, v] as const] : [];
      }));
    }
    const { byNetns } = this;
    if (!prev || prev.hostOrder !== world.hostOrder) this.order = new Map(world.hostOrder.map((h, i) => [h, i]));
    // In host order, as a whole observation would list them, so new objects keep their place.
    const hosts = [...dirty].filter((h) => this.order.has(h)).sort((a, b) => this.order.get(a)! - this.order.get(b)!);
    this.history.observeHosts(step, hosts.map((h) => {
      const nets = this.swarmNetsOn(h);
      this.networksRead += nets.length;
      return this.reuseUnchanged(hostTopology(world, h, nets, byNetns));
    }));
    this.hostsBuilt += hosts.length;
  }

  private placeOnHosts(view: SwarmNetworkView): void {
    for (const h of view.endpointsByHost.keys()) {
      const on = this.viewsOnHost.get(h);
      if (on) on.add(view);
      else this.viewsOnHost.set(h, new Set([view]));
    }
  }

  /** The swarm networks with endpoints on a host, oldest first. */
  private swarmNetsOn(host: string): SwarmNetworkView[] {
    const on = this.viewsOnHost.get(host);
    return on ? [...on].sort((a, b) => this.age.get(a)! - this.age.get(b)!) : [];
  }

  /**
   * A redrawn host with the objects it drew last time for every namespace and device that
   * did not change: the history recognises those by identity instead of serialising each
   * again (lifetimes.ts), so a step costs what it changed on the host.
   */
  private reuseUnchanged(t: HostTopology): HostTopology {
    const last = this.drawn.get(t.host);
    const next = new Map<string, object>();
    const keep = <T extends object>(o: T, key: string): T => {
      const before = last?.get(key) as T | undefined;
      const kept = before !== undefined && (before === o || sameFields(before, o)) ? before : o;
      next.set(key, kept);
      return kept;
    };
    const namespaces = t.namespaces.map((n) => keep(n, n.name));
    const links = t.links.map((l) => keep(l, `${l.netns} ${l.device}`));
    const programs = t.programs.map((p) => keep(p, `${p.netns} program ${p.name}`));
    const hostModeContainers = t.hostModeContainers.map((c) => keep(c, `host-mode ${c.container}`));
    this.drawn.set(t.host, next);
    return { host: t.host, namespaces, links, programs, hostModeContainers };
  }

  /** Namespaces and devices serialised so far (a step's share grows with what it changed). */
  get objectsSerialised(): number {
    return this.history.serialised;
  }

  topology(): Topology {
    const world = this.world;
    return this.history.topology(world ? world.hostOrder.map((name) => ({ name, underlay: hostOf(world, name).underlay })) : []);
  }
}

/** Whether two plain objects hold the same fields in the same order (as their JSON would be alike). */
function sameFields(a: object, b: object): boolean {
  const ka = Object.keys(a), kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  for (let i = 0; i < ka.length; i++) {
    if (ka[i] !== kb[i]) return false;
    const x: unknown = (a as Record<string, unknown>)[ka[i]], y: unknown = (b as Record<string, unknown>)[ka[i]];
    if (x === y) continue;
    if (typeof x !== 'object' || typeof y !== 'object' || x === null || y === null || !sameFields(x, y)) return false;
  }
  return true;
}

/** Whether two versions of a network draw alike on the hosts where neither its endpoints nor its instances changed. */
function sameShape(a: Network, b: Network): boolean {
  return a.name === b.name && a.driver === b.driver && a.ipam.gateway === b.ipam.gateway && a.ipam.subnet === b.ipam.subnet && a.createdNs === b.createdNs && a.vni === b.vni;
}
