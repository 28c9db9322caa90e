/**
 * libnetwork's overlay driver as plan ops: the overlay sandbox (br0 + vxlan0), veth pairs for
 * endpoints, and the peer table's neigh/fdb entries. Functions here change the draft and
 * emit the ops that make the kernel match it.
 */
import { Draft } from 'immer';
import { cidrString, maskOf, overlaps, parseCidr } from '../../wire/addr';
import { createEndpoint, deleteEndpoint } from '../endpoints';
import { emptyIpam, newIpam } from '../ipam';
import { swarmId } from '../ids';
import { advance, endpointMachine, initialState, networkMachine, networkOnHostMachine } from '../machines';
import { DaemonRefusal } from '../refusal';
import { NOT_A_MANAGER } from '../swarm';
import { addNamespace, delNamespace, plugContainerEnd } from '../sandbox';
import { gossipPeers, gossipsWith } from '../netdb';
import { swarmNetworksRead, Tx } from '../tx';
import { PeerEntry } from '../../plan/ops';
import { Endpoint, endpointsOf, hostOf, instanceHosts, instanceOf, Network, OVERLAY_MTU, shardDelete, shardSet, swarmNetwork, swarmNetworks, World } from '../world';
import { classicModeNeeds, createClassicNetwork, obtainVxlanId, peerAnswers, peerLookup, publishClassic, replayPeerDb, watchMiss } from './overlay-kv';
import { CaptureSpot, DriverNamespace, NetworkDriver, NetworkSpec } from './driver';
import { registerDriver } from './index';

export function overlayNetnsName(networkId: string): string {
  return `1-${networkId.slice(0, 10)}`;
}

export function lbSandboxName(networkId: string): string {
  return `lb_${networkId}`.slice(0, 12);
}

/** Endpoints' entries on vxlan0 of `netns` on each of `hosts` (libnetwork peerAdd/peerDelete as NetworkDB's events reach each host). */
function emitPeers(tx: Tx, op: 'add' | 'del', hosts: string[], netns: string, peers: PeerEntry[]): void {
  if (hosts.length && peers.length) tx.emit({ op: op === 'add' ? 'peers.add' : 'peers.del', hosts, netns, dev: 'vxlan0', peers });
}

/**
 * The peer entries of other hosts' joined endpoints, as a new instance replays them. A step
 * runs on one host and changes only that host's endpoints, so the world as the step began is
 * exact here, and reading it avoids drafts. One pass, each endpoint's entry made once: every
 * node instantiating the ingress network replays every other node's endpoint.
 */
function joinedRemotePeers(tx: Tx, net: Draft<Network>, host: string): PeerEntry[] {
  const base = swarmNetwork(tx.before.swarm, net.id);
  if (!base) return [];
  const reaches = gossipsWith(tx.before, host);
  const peers: PeerEntry[] = [];
  for (const shard of base.endpoints) {
    if (!shard) continue;
    for (const joined of joinedPeersOf(tx, shard)) if (reaches(joined.host)) peers.push(joined.entry);
  }
  return peers;
}

/**
 * A shard's joined endpoints with their entries, in the shard's order, once per version of
 * the shard: every node instantiating a network replays the other nodes' endpoints, and a
 * step changes one shard of them.
 */
const joinedOfShard = new WeakMap<Record<string, Endpoint>, { host: string; entry: PeerEntry }[]>();

function joinedPeersOf(tx: Tx, shard: Record<string, Endpoint>): { host: string; entry: PeerEntry }[] {
  let joined = joinedOfShard.get(shard);
  if (!joined) {
    joined = [];
    for (const id in shard) {
      const ep = shard[id];
      if (ep.state === 'joined') joined.push({ host: ep.host, entry: peerEntryOf(tx, ep) });
    }
    joinedOfShard.set(shard, joined);
  }
  return joined;
}

/** Each endpoint's entry, made once and reused while the endpoint still names the same address, MAC and host. */
const peerEntries = new WeakMap<Endpoint, { host: string; entry: PeerEntry }>();

function peerEntryOf(tx: Tx, ep: Endpoint): PeerEntry {
  const made = peerEntries.get(ep);
  if (made && made.host === ep.host && made.entry.ip === ep.ip && made.entry.mac === ep.mac) return made.entry;
  const entry = { ip: ep.ip, mac: ep.mac, dst: tx.underlayOf(ep.host) };
  peerEntries.set(ep, { host: ep.host, entry });
  return entry;
}

/**
 * The daemon's first overlay join checks once whether a vxlan device can be moved between
 * namespaces (libnetwork v20.10 drivers/overlay/ov_network.go, networkOnceInit): it makes
 * `testvxlan` (VNI 1) in the host namespace and removes it. The host's interface index
 * counter moves past it, as later devices' indexes show.
 */
function probeVxlanOnce(tx: Tx, host: string): void {
  const h = tx.host(host);
  if (h.overlayProbed) return;
  h.overlayProbed = true;
  const dstport = tx.w.swarm?.dataPathPort ?? 4789;
  tx.emit(
    { op: 'link.add', host, netns: host, name: 'testvxlan', kind: { type: 'vxlan', vni: 1, dstport, proxy: true, l2miss: true, l3miss: true, learning: true, ageing: 300 } },
    { op: 'link.del', host, netns: host, name: 'testvxlan' },
  );
}

/**
 * Builds the overlay sandbox on a host at its first local join (libnetwork joinSandbox). br0
 * is made inside the new namespace (osl AddInterface with Bridge(true) uses the sandbox's
 * netlink handle), so it takes that namespace's first index (2); vxlan0 and the veths are
 * made in the host namespace and keep the host's indexes when moved.
 */
function instantiate(tx: Tx, net: Draft<Network>, host: string): void {
  const classic = net.scope === 'global';
  if (classic) obtainVxlanId(tx, net);
  probeVxlanOnce(tx, host);
  const netns = overlayNetnsName(net.id);
  shardSet(net.instances, host, { netns, state: advance(networkOnHostMachine, 'absent', 'FIRST_JOIN'), nextVeth: 0, joined: 0, createdNs: String(tx.now()) });
  addNamespace(tx, host, netns);
  const vx = `vx-${net.vni.toString(16).padStart(6, '0')}-${net.id.slice(0, 5)}`;
  const dataPort = tx.w.swarm?.dataPathPort ?? 4789;
  const prefix = net.ipam.subnet.split('/')[1];
  tx.emit(
    { op: 'link.add', host, netns, name: 'br0', kind: { type: 'bridge' }, mtu: OVERLAY_MTU, txqueuelen: 0 },
    { op: 'addr.add', host, netns, dev: 'br0', address: `${net.ipam.gateway}/${prefix}` },
    { op: 'link.set', host, netns, name: 'br0', up: true },
    // Created in the host namespace, then moved into the overlay sandbox and renamed (createVxlan).
    { op: 'link.add', host, netns: host, name: vx, mtu: OVERLAY_MTU, txqueuelen: 0, kind: { type: 'vxlan', vni: net.vni, dstport: dataPort, proxy: true, l2miss: true, l3miss: true, learning: true, ageing: 300 } },
    { op: 'link.move', host, netns: host, name: vx, to: netns },
    { op: 'link.rename', host, netns, name: vx, to: 'vxlan0' },
    { op: 'link.set', host, netns, name: 'vxlan0', master: 'br0', up: true },
  );
  if (classic) {
    // With serf running, initSandbox subscribes to the namespace's neighbour misses (watchMiss) before the peers are replayed.
    watchMiss(tx, net, host, netns);
    replayPeerDb(tx, net, host, netns);
    return;
  }
  // initSandboxPeerDB: replay the peers gossiped before this host had the sandbox.
  emitPeers(tx, 'add', [host], netns, joinedRemotePeers(tx, net, host));
}

function teardown(tx: Tx, net: Draft<Network>, host: string): void {
  const inst = instanceOf(net, host)!;
  advance(networkOnHostMachine, inst.state, 'LAST_LEAVE');
  delNamespace(tx, host, inst.netns);
  shardDelete(net.instances, host);
}

/** Tells every other host where the network lives about an endpoint (NetworkDB overlay_peer_table; serf's events in classic mode). */
function publish(tx: Tx, net: Draft<Network>, ep: Draft<Endpoint>, op: 'add' | 'del'): void {
  if (net.scope === 'global') return publishClassic(tx, net, ep, op === 'add' ? 'join' : 'leave');
  // A daemon that left NetworkDB in this step (systemctl stop docker: its containers stop after) tells no one.
  if (!hostOf(tx.w, ep.host).gossipAlive) return;
  // Other hosts' instances do not change in a step run on ep.host: read them without drafts.
  const hosts = gossipPeers(tx.before, ep.host, instanceHosts(swarmNetwork(tx.before.swarm, net.id) ?? net));
  emitPeers(tx, op, hosts, overlayNetnsName(net.id), [{ ip: ep.ip, mac: ep.mac, dst: tx.underlayOf(ep.host) }]);
}

/** NetworkDB's entries between two nodes appear or go: each node's vxlan0 gains or loses the other's joined endpoints. */
function gossipOverlay(tx: Tx, net: Draft<Network>, a: string, b: string, op: 'add' | 'del', onlyHolder?: string): void {
  for (const [holder, owner] of [[a, b], [b, a]]) {
    if (onlyHolder !== undefined && holder !== onlyHolder) continue;
    const inst = instanceOf(net, holder);
    if (!inst) continue;
    const vtep = tx.underlayOf(owner);
    emitPeers(tx, op, [holder], inst.netns, endpointsOf(net).filter((ep) => ep.host === owner && ep.state === 'joined').map((ep) => ({ ip: ep.ip, mac: ep.mac, dst: vtep })));
  }
}

function joinEndpointToOverlay(tx: Tx, net: Draft<Network>, ep: Draft<Endpoint>): void {
  if (!instanceOf(net, ep.host)) instantiate(tx, net, ep.host);
  const inst = instanceOf(net, ep.host)!;
  const hostVeth = tx.vethName(), ctrVeth = tx.vethName();
  ep.peerIfname = `veth${inst.nextVeth++}`;
  const host = ep.host;
  tx.emit(
    { op: 'link.add', host, netns: host, name: hostVeth, mtu: OVERLAY_MTU, txqueuelen: 0, kind: { type: 'veth', peer: ctrVeth } },
    { op: 'link.move', host, netns: host, name: hostVeth, to: inst.netns },
    { op: 'link.rename', host, netns: inst.netns, name: hostVeth, to: ep.peerIfname },
    { op: 'link.set', host, netns: inst.netns, name: ep.peerIfname, master: 'br0', up: true },
  );
  plugContainerEnd(tx, ep, ctrVeth);
  ep.state = advance(endpointMachine, ep.state, 'JOIN');
  inst.joined++;
  publish(tx, net, ep, 'add');
}

/** Removes an endpoint's interface (unless its whole sandbox is going away) and its peer entries elsewhere. */
function leaveEndpointOfOverlay(tx: Tx, net: Draft<Network>, ep: Draft<Endpoint>, sandboxGoing: boolean): void {
  if (!sandboxGoing) tx.emit({ op: 'link.del', host: ep.host, netns: ep.sandbox, name: ep.ifname });
  publish(tx, net, ep, 'del');
  ep.state = advance(endpointMachine, ep.state, 'LEAVE');
  const inst = instanceOf(net, ep.host)!;
  inst.joined--;
  if (inst.joined === 0) teardown(tx, net, ep.host);
}


/**
 * Joins a container endpoint. On a swarm overlay not yet instantiated on the host, the
 * node's lb-<net> endpoint comes first (its address after the container's, its veth first),
 * as libnetwork does.
 */
function joinOverlay(tx: Tx, net: Draft<Network>, ep: Draft<Endpoint>): void {
  // The lb endpoint is swarm's (its service load balancing); classic mode has none.
  if (net.scope === 'swarm' && !net.ingress && !instanceOf(net, ep.host)) {
    const lbName = lbSandboxName(net.id);
    addNamespace(tx, ep.host, lbName);
    const lb = createEndpoint(tx, net, { kind: 'lb', host: ep.host, sandbox: lbName, ifname: 'eth0', name: `${net.name}-endpoint` });
    joinEndpointToOverlay(tx, net, lb);
  }
  joinEndpointToOverlay(tx, net, ep);
}

/** The last container leaving a swarm overlay on a host takes the lb endpoint with it. */
function leaveOverlay(tx: Tx, net: Draft<Network>, ep: Draft<Endpoint>, sandboxGoing: boolean): void {
  const host = ep.host;
  const lastContainer = ep.kind === 'container' && endpointsOf(net).filter((e) => e.host === host && e.kind === 'container').length === 1;
  const lb = lastContainer ? endpointsOf(net).find((e) => e.host === host && e.kind === 'lb') : undefined;
  leaveEndpointOfOverlay(tx, net, ep, sandboxGoing);
  if (lb) {
    leaveEndpointOfOverlay(tx, net, lb, true);
    delNamespace(tx, host, lb.sandbox);
    deleteEndpoint(net, lb);
  }
}

export interface SwarmNetworkSpec extends NetworkSpec {
  ingress: boolean;
}

/** The manager's allocator: the lowest free /24 of the pool, the next VNI from 4096. */
export function createSwarmNetwork(tx: Tx, spec: SwarmNetworkSpec): Network {
  const swarm = tx.w.swarm!;
  // Read as the step began where they were (a network's subnet and VNI are its own for life): a draft of each would cost more than the allocation.
  const networks = swarmNetworksRead(tx);
  const existing = networks.map((n) => parseCidr(n.ipam.subnet)).filter((c) => c !== undefined);
  let subnet = spec.subnet;
  let allocationFailed = false;
  if (subnet) {
    const c = parseCidr(subnet)!;
    allocationFailed = existing.some((e) => overlaps(e, c));
  } else {
    const pool = parseCidr(swarm.addrPool)!;
    const step = 2 ** (32 - swarm.addrPoolMaskLength);
    const start = (pool.base & maskOf(pool.prefixLength)) >>> 0;
    const count = 2 ** (swarm.addrPoolMaskLength - pool.prefixLength);
    for (let i = 0; i < count && !subnet; i++) {
      const c = { base: start + i * step, prefixLength: swarm.addrPoolMaskLength };
      if (!existing.some((e) => overlaps(e, c))) subnet = cidrString(c);
    }
    if (!subnet) throw new DaemonRefusal('could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network');
  }
  const requestedVni = spec.options['com.docker.network.driver.overlay.vxlanid_list'];
  const used = new Set(networks.map((n) => n.vni));
  let vni = requestedVni ? Number(requestedVni.split(',')[0]) : swarm.nextVni;
  if (!requestedVni) {
    while (used.has(vni)) vni++;
    swarm.nextVni = vni + 1;
  }
  const net: Network = {
    id: swarmId(tx.rng), name: spec.name, driver: 'overlay', scope: 'swarm', attachable: spec.attachable, internal: spec.internal,
    ingress: spec.ingress, vni, options: { ...spec.options, 'com.docker.network.driver.overlay.vxlanid_list': String(vni) }, labels: spec.labels,
    createdNs: String(tx.now()), state: initialState(networkMachine),
    ipam: allocationFailed ? emptyIpam() : newIpam(subnet!, spec.gateway),
    allocationFailed, subnetConfigured: true, endpoints: [], instances: [],
  };
  shardSet(swarm.networks, net.id, net);
  return swarmNetwork(swarm, net.id)!;
}


/** `docker network create -d overlay`: only a manager allocates swarm networks; off swarm, a dockerd with a cluster store makes classic ones. */
function admitOverlay(tx: Tx, host: string): void {
  const h = tx.host(host);
  if (h.nodeState !== 'manager' && h.nodeState !== 'worker') {
    if (h.clusterStore) return;
    throw new DaemonRefusal(NOT_A_MANAGER);
  }
  if (h.nodeState === 'worker') throw new DaemonRefusal('Cannot create a multi-host network from a worker node. Please create the network from a manager node.');
}

/** The overlay namespace's end of the endpoint's veth, vxlan0, and both hosts' ways onto the underlay. */
function overlayCaptureSpots(world: World, net: Network, ep: Endpoint): CaptureSpot[] {
  const ovl = overlayNetnsName(net.id);
  // A classic network's endpoints on the host are in the host's own copy.
  const held = net.scope === 'global' ? hostOf(world, ep.host).localNetworks[net.id] ?? net : net;
  const local = endpointsOf(held).filter((e) => e.host === ep.host).map((e) => e.mac);
  const underlay = hostOf(world, ep.host).underlay;
  const classic = Object.values(hostOf(world, ep.host).localNetworks).filter((n) => n.scope === 'global' && n.driver === 'overlay');
  const overlays = Object.fromEntries([...swarmNetworks(world.swarm), ...classic].filter((n) => instanceOf(n, ep.host)).map((n) => [n.vni, overlayNetnsName(n.id)]));
  return [
    { host: ep.host, netns: ovl, device: ep.peerIfname, role: 'bridge-port', mine: [ep.mac], master: 'br0' },
    { host: ep.host, netns: ovl, device: 'vxlan0', role: 'vxlan', mine: local, master: 'br0' },
    { host: ep.host, netns: ep.host, device: 'eth0', role: 'host', mine: [underlay], overlays },
    { host: ep.host, netns: ep.host, device: 'eth0', role: 'underlay', mine: [underlay] },
  ];
}

/** A network's endpoints: a classic one's are held by each member's copy, each its own. */
function classicEndpoints(net: Network, world: World | undefined): Endpoint[] {
  if (net.scope !== 'global' || !world) return endpointsOf(net);
  return world.hostOrder.flatMap((h) => {
    const copy = hostOf(world, h).localNetworks[net.id];
    return copy ? endpointsOf(copy).filter((e) => e.host === h) : [];
  });
}

/** The overlay namespace: br0 with the gateway's address, vxlan0 its port. */
function overlayNamespace(net: Network): DriverNamespace {
  return {
    name: overlayNetnsName(net.id),
    devices: [
      { device: 'br0', kind: 'bridge', addresses: [`${net.ipam.gateway}/${net.ipam.subnet.split('/')[1]}`] },
      { device: 'vxlan0', kind: 'vxlan', master: 'br0' },
    ],
  };
}

export const overlayDriver: NetworkDriver = {
  name: 'overlay',
  admit: admitOverlay,
  create: (tx, host, spec: NetworkSpec) => (tx.host(host).clusterStore && tx.host(host).nodeState !== 'manager' ? createClassicNetwork(tx, host, spec) : createSwarmNetwork(tx, { ...spec, ingress: false })),
  attaches: true,
  join: (tx, net, ep) => joinOverlay(tx, net, ep),
  leave: leaveOverlay,
  gossip: gossipOverlay,
  providesGateway: false,
  outsideThroughGwbridge: true,
  embeddedDns: () => true,
  peersToCapture: (net, dst, world) => (dst ? classicEndpoints(net, world).filter((e) => e.ip === dst && e.state === 'joined').slice(0, 1) : []),
  captureSpots: overlayCaptureSpots,
  networkNamespace: overlayNamespace,
  endpointPeer: (net) => ({ netns: overlayNetnsName(net.id), master: 'br0' }),
  resolvePeer: peerLookup,
  peerAnswers,
  needs: classicModeNeeds,
  path: 'overlay',
};

declare module './index' {
  interface RegisteredDrivers {
    overlay: true;
  }
}

registerDriver('overlay', overlayDriver, { rank: 10 });
