/**
 * What dockerd's control plane knows of the swarm, read off the world: the nodes memberlist
 * gossips with (NetworkDB's members), the networks each node is in (it has the network's
 * sandbox), and the table entries each node owns (the overlay driver's peer entries and
 * the service records of named containers). The sim's traffic (sim/kernel/dockerd_cluster.ts)
 * and emu's listener processes (emu/listeners.ts) send what this describes.
 */
import { Endpoint, endpointsOf, Host, hostOf, inSwarm, Network, shardGet, Shards, World } from './world';
import { emitProtobuf } from '../wire/protobuf';
import { writeIpv4 } from '../wire/addr';
import { ackMessage, ENCRYPT_OVERHEAD, MEMBERLIST_PORT, memberlistCompound, memberlistStream, pingMessage, pushPullMessage, userPacketMessage, userStreamMessage } from '../wire/memberlist';
import { Broadcast, gossipRound, GossipBudget, messageOf, queueBroadcast, QueuedEvent, transmitQueue, TransmitQueue } from './transmit_queue';
import { bulkSyncMessage, compoundMessage, ENDPOINT_TABLE, endpointRecord, endpointRecordLength, networkEvent, networkPushPull, NETWORK_EVENT, NODE_EVENT, nodeEvent, peerRecord, peerRecordLength, TABLE_EVENT, tableEvent, tableEventLengthOf } from '../wire/networkdb';

/** memberlist's DefaultLANConfig timers as NetworkDB keeps them, and swarmkit's dispatcher's heartbeat. */
export const SWARM_API_PORT = 2377;
export const PROBE_INTERVAL_NS = 1_000_000_000;
export const PUSH_PULL_INTERVAL_NS = 30_000_000_000;
export const GOSSIP_INTERVAL_NS = 200_000_000;

/** A gossip ticker's first tick strictly after `now`: it fires every GOSSIP_INTERVAL at its own phase (both in one unit, ns or ms). */
export function nextGossipTick(now: number, phase: number, interval = GOSSIP_INTERVAL_NS): number {
  return now + interval - ((((now - phase) % interval) + interval) % interval);
}
export const HEARTBEAT_PERIOD_NS = 5_000_000_000;
export const HEARTBEAT_EPSILON_NS = 500_000_000;
const RETRANSMIT_MULT = 4;
/** NetworkDB's gossip fan-out: a round goes to up to this many members of the network. */
export const GOSSIP_NODES = 3;
/** memberlist's UDPBufferSize, libnetwork's PacketBufferSize: the most a gossip packet is planned to hold. */
const PACKET_BUFFER_SIZE = 1400;

/**
 * memberlist's gossip (state.go gossip, getBroadcasts): the packet less its compound header
 * (compoundHeaderOverhead, 2) and, the swarm's keys making it encrypt, the encryption's
 * (encryptOverhead); NetworkDB's node and network events, its delegate's broadcasts, each
 * cost compoundOverhead and userMsgOverhead (2 + 1).
 */
export const MEMBERLIST_GOSSIP: GossipBudget = { limit: PACKET_BUFFER_SIZE - 2 - ENCRYPT_OVERHEAD, overhead: 2 + 1 };
/**
 * NetworkDB's own gossip of a network's table events (networkdb cluster.go gossip,
 * message.go): the packet less its compoundHeaderOverhead (5), each event costing
 * compoundOverhead (4).
 */
export const NETWORKDB_GOSSIP: GossipBudget = { limit: PACKET_BUFFER_SIZE - 5, overhead: 4 };

/** memberlist's pushPullScale: the interval grows with log2 of the members past 32. */
export function pushPullInterval(nodes: number): number {
  return nodes <= 32 ? PUSH_PULL_INTERVAL_NS : Math.ceil(Math.log2(nodes) - Math.log2(32) + 1) * PUSH_PULL_INTERVAL_NS;
}

/** TransmitLimitedQueue's retransmitLimit: how many gossip rounds carry an event while the queue counts `members` (NumNodes, asked each round). */
export function gossipTransmits(members: number): number {
  return RETRANSMIT_MULT * Math.ceil(Math.log10(members + 1));
}

/** The sizes of a heartbeat's plaintext HTTP/2 frames (gRPC over h2, headers from HPACK's table after the first call). */
export function heartbeatFrames(sessionId: string, periodNs: number): { request: number; response: number } {
  const FRAME_HEADER = 9, GRPC_PREFIX = 5;
  // :method, :scheme, :path, :authority, content-type, user-agent, te indexed; grpc-timeout a literal ("4999987u").
  const requestHeaders = 7 + 10;
  const request = emitProtobuf([[1, sessionId]]).length;
  const seconds = Math.floor(periodNs / 1e9);
  const response = emitProtobuf([[1, emitProtobuf([[1, seconds], [2, periodNs - seconds * 1e9]])]]).length;
  // :status 200 and content-type indexed; trailers: grpc-status 0 indexed.
  const responseHeaders = 2, trailers = 1;
  return {
    request: FRAME_HEADER + requestHeaders + FRAME_HEADER + GRPC_PREFIX + request,
    response: FRAME_HEADER + responseHeaders + FRAME_HEADER + GRPC_PREFIX + response + FRAME_HEADER + trailers,
  };
}


export interface ClusterNode {
  host: string;
  /** The address memberlist advertises and swarmkit's agent dials from: the underlay's. */
  address: string;
  /** NetworkDB's node name. */
  gossipName: string;
  manager: boolean;
  /** Not declared dead by the others (netdb.ts). */
  alive: boolean;
}

export interface ClusterTableEntry {
  table: 'overlay_peer_table' | 'endpoint_table';
  networkId: string;
  /** The endpoint id. */
  key: string;
  /** The host that owns (created) it. */
  owner: string;
  endpoint: { ip: string; prefixLength: number; mac: string; name: string; aliases: string[]; container: boolean };
}

export interface ClusterNetwork {
  id: string;
  /** Nodes with the network's sandbox: NetworkDB's members of it. */
  hosts: string[];
  /** The same, asked one host at a time. */
  readonly members: { has(host: string): boolean };
  /** Its table entries, in the order the network lists its endpoints (made when first asked: a bulk sync asks). */
  readonly entries: ClusterTableEntry[];
  /** The version of the network it was read from (tableChanges compares two versions by it). */
  readonly source: Network;
}

export interface ClusterView {
  nodes: ClusterNode[];
  networks: ClusterNetwork[];
}

/** The swarm's control plane as it stands; undefined outside swarm mode. */
export function clusterView(w: World): ClusterView | undefined {
  return new ClusterReader().read(w);
}

/** A swarm node whose daemon runs: a stopped one's NetworkDB left the cluster (dockerd.ts), though the swarm still lists the node. */
function inNetworkDb(h: Host): boolean {
  return inSwarm(h.nodeState) && h.dockerdStoppedNs === undefined;
}

function clusterNode(h: Host): ClusterNode {
  return { host: h.name, address: h.underlay, gossipName: h.gossipName, manager: h.nodeState === 'manager', alive: h.gossipAlive };
}

function sameNode(a: ClusterNode | undefined, b: ClusterNode | undefined): boolean {
  return a === b || (!!a && !!b && a.host === b.host && a.address === b.address && a.gossipName === b.gossipName && a.manager === b.manager && a.alive === b.alive);
}

/** An endpoint's entries, once per version of it: a network's next version shares those of the endpoints it kept. */
const entriesOfEndpoint = new WeakMap<Endpoint, ClusterTableEntry[]>();

function endpointEntries(networkId: string, ep: Endpoint): ClusterTableEntry[] {
  let entries = entriesOfEndpoint.get(ep);
  if (entries) return entries;
  const endpoint = { ip: ep.ip, prefixLength: ep.prefixLength, mac: ep.mac, name: ep.name, aliases: ep.aliases, container: ep.kind === 'container' };
  entries = [{ table: 'overlay_peer_table', networkId, key: ep.id, owner: ep.host, endpoint }];
  // addServiceInfoToCluster: a named container's record for service discovery (an lb endpoint is anonymous).
  if (ep.kind === 'container') entries.push({ table: 'endpoint_table', networkId, key: ep.id, owner: ep.host, endpoint });
  entriesOfEndpoint.set(ep, entries);
  return entries;
}

/** An endpoint's entries when NetworkDB has them: it joined, on a member of the network. */
function tableEntries(net: Network, ep: Endpoint | undefined, members: ClusterNetwork['members']): ClusterTableEntry[] {
  return ep && ep.state === 'joined' && members.has(ep.host) ? endpointEntries(net.id, ep) : [];
}

class NetworkView implements ClusterNetwork {
  readonly id: string;
  private made?: ClusterTableEntry[];

  constructor(readonly source: Network, readonly hosts: string[]) {
    this.id = source.id;
  }

  /** The view answers for its members itself: a step makes a view of its network, and a members object with it would be one more. */
  get members(): ClusterNetwork['members'] {
    return this;
  }

  /** Looked up in the network's instances: a set of a big network's members would be made afresh at each of its versions. */
  has(host: string): boolean {
    return shardGet(this.source.instances, host) !== undefined;
  }

  get entries(): ClusterTableEntry[] {
    return (this.made ??= endpointsOf(this.source).flatMap((ep) => tableEntries(this.source, ep, this.members)));
  }
}

/** The hosts of a shard's endpoints, once per version of it. */
const hostsOfEndpointShard = new WeakMap<object, Set<string>>();

function endpointHosts(shard: Record<string, Endpoint>): Set<string> {
  let hosts = hostsOfEndpointShard.get(shard);
  if (!hosts) {
    hosts = new Set();
    for (const id in shard) hosts.add(shard[id].host);
    hostsOfEndpointShard.set(shard, hosts);
  }
  return hosts;
}

/**
 * The members that left a network and those that joined it from one version to the next
 * (either absent: no members), each in its version's order of hosts. Of two versions of a
 * network, only the instance shards the step changed are compared: a host joining a big
 * network costs its shard, not a pass over every member.
 */
export function memberChanges(old: ClusterNetwork | undefined, now: ClusterNetwork | undefined): { left: string[]; joined: string[] } {
  if (old?.hosts === now?.hosts) return { left: [], joined: [] };
  if (!(old instanceof NetworkView) || !(now instanceof NetworkView)) {
    return { left: old?.hosts.filter((h) => !now?.members.has(h)) ?? [], joined: now?.hosts.filter((h) => !old?.members.has(h)) ?? [] };
  }
  const left: string[] = [], joined: string[] = [];
  const before = old.source.instances, after = now.source.instances;
  for (let i = 0; i < Math.max(before.length, after.length); i++) {
    const was = before[i], is = after[i];
    if (was === is) continue;
    if (was) for (const h in was) if (!is || !(h in is)) left.push(h);
    if (is) for (const h in is) if (!was || !(h in was)) joined.push(h);
  }
  return { left, joined };
}

/**
 * What a network's table entries became from one version to the next (either absent: no
 * network, no entries): the entries created, in the new version's order, and those deleted,
 * in the old one's, by key. Only the endpoints the step changed are compared (immer keeps the
 * identity of the others' shards), and those on hosts that joined or left the network: a
 * `docker run` costs its own endpoint, not a pass over every endpoint of the network.
 */
export function tableChanges(old: ClusterNetwork | undefined, now: ClusterNetwork | undefined): { created: ClusterTableEntry[]; deleted: ClusterTableEntry[] } {
  const changes = { created: [] as ClusterTableEntry[], deleted: [] as ClusterTableEntry[] };
  if (!(old instanceof NetworkView) || !(now instanceof NetworkView)) {
    differ(old?.entries ?? [], now?.entries ?? [], changes);
    return changes;
  }
  // The hosts that joined or left the network: their endpoints' entries come and go with them.
  const moves = old.hosts === now.hosts ? undefined : memberChanges(old, now);
  const moved = moves && moves.left.length + moves.joined.length > 0 ? new Set([...moves.left, ...moves.joined]) : undefined;
  const before = old.source.endpoints, after = now.source.endpoints;
  if (before === after && !moved) return changes;
  for (let i = 0, n = Math.max(before.length, after.length); i < n; i++) {
    const was = before[i], is = after[i];
    if (was === is && (moved === undefined || !onMovedHost(was, moved))) continue;
    const wasEntries: ClusterTableEntry[] = [], isEntries: ClusterTableEntry[] = [];
    if (was) for (const id in was) if (endpointChanged(was[id], is?.[id], moved)) wasEntries.push(...tableEntries(old.source, was[id], old.members));
    if (is) for (const id in is) if (endpointChanged(is[id], was?.[id], moved)) isEntries.push(...tableEntries(now.source, is[id], now.members));
    differ(wasEntries, isEntries, changes);
  }
  return changes;
}

/** Whether an endpoint's entries may differ between two versions: it changed, or its host joined or left the network. */
function endpointChanged(a: Endpoint, b: Endpoint | undefined, moved: Set<string> | undefined): boolean {
  return a !== b || (moved !== undefined && moved.has(a.host));
}

/** Whether a shard holds an endpoint on a host that joined or left the network. */
function onMovedHost(shard: Record<string, Endpoint> | undefined, moved: Set<string>): boolean {
  if (!shard) return false;
  const hosts = endpointHosts(shard);
  for (const h of moved) if (hosts.has(h)) return true;
  return false;
}

/** The entries of `is` not in `was` (created), and of `was` not in `is` (deleted), by key. */
function differ(was: ClusterTableEntry[], is: ClusterTableEntry[], into: { created: ClusterTableEntry[]; deleted: ClusterTableEntry[] }): void {
  if (was.length === 0) {
    for (const e of is) into.created.push(e);
    return;
  }
  // A step's changed endpoints have an entry or two each: searched through, not hashed.
  const inWas = entryTest(was, is.length), inIs = entryTest(is, was.length);
  for (const e of is) if (!inWas(e)) into.created.push(e);
  for (const e of was) if (!inIs(e)) into.deleted.push(e);
}

function entryTest(list: ClusterTableEntry[], against: number): (e: ClusterTableEntry) => boolean {
  if (list.length * against <= 64) return (e) => list.some((x) => sameEntry(x, e));
  const keys = new Set(list.map(entryKey));
  return (e) => keys.has(entryKey(e));
}

function sameEntry(a: ClusterTableEntry, b: ClusterTableEntry): boolean {
  return a.key === b.key && a.table === b.table && a.networkId === b.networkId;
}


const NO_NETWORKS: ClusterNetwork[] = [];

interface NetworkShards {
  shards: Shards<Network>;
  views: ClusterNetwork[][];
  count: number;
  list?: ClusterNetwork[];
}

/** A read's view: its networks flattened from the shards' views when someone asks (a bulk sync, a push/pull), not at every step. */
class ReaderView implements ClusterView {
  constructor(readonly nodes: ClusterNode[], private readonly shards: NetworkShards) {}

  get networks(): ClusterNetwork[] {
    return (this.shards.list ??= this.shards.views.flat());
  }

  /** Whether it is the view of these nodes and network shards (a read that changed neither gives the last view again). */
  of(nodes: ClusterNode[], shards: NetworkShards): boolean {
    return this.nodes === nodes && this.shards === shards;
  }
}

/**
 * Reads the view before every step of a run. immer keeps the identity of every network and
 * host shard a step did not change, so a step costs what it changed (one container's
 * network), not every node and entry of a big swarm, and the parts it did not change keep
 * their identity in the view (the daemon's diff skips them by it).
 */
export class ClusterReader {
  /** Each network's view, once per version of it (a shard's other networks keep theirs). */
  private readonly views = new WeakMap<Network, ClusterNetwork | undefined>();
  /** Each network's members as last read: the instances they were read from, each shard's hosts, and all of them. */
  private readonly lastMembers = new Map<string, { instances: Shards<unknown>; keys: string[][]; hosts: string[] }>();
  /** The swarm's network shards last read, each shard's networks as the view lists them, how many, and the list (made when first asked). */
  private lastNetworks?: NetworkShards;
  private last?: { swarmNodes: string[]; hostShards: Shards<Host>; nodes: ClusterNode[]; byHost: Map<string, ClusterNode> };
  private lastView?: ReaderView;
  /**
   * What the last read changed in the list of networks: the networks of the shards whose
   * version changed, in the view's order (a shard's unchanged networks keep their views), or
   * undefined when the list is the read before's. Without a swarm, every read is a change.
   */
  changedNetworks: readonly ClusterNetwork[] | undefined = NO_NETWORKS;
  /** How many networks the last read's view lists. */
  networkCount = 0;

  read(w: World): ClusterView | undefined {
    const swarm = w.swarm;
    if (!swarm) {
      this.last = this.lastNetworks = this.lastView = undefined;
      this.changedNetworks = NO_NETWORKS;
      this.networkCount = 0;
      return undefined;
    }
    const nodes = this.nodes(w, swarm.nodes);
    const networks = this.networks(swarm.networks);
    this.networkCount = networks.count;
    if (this.lastView?.of(nodes, networks)) return this.lastView;
    return (this.lastView = new ReaderView(nodes, networks));
  }

  /** A network's view; its members the same array as the last version's while they are the same hosts. */
  private network(net: Network): ClusterNetwork | undefined {
    if (this.views.has(net)) return this.views.get(net);
    const hosts = this.membersOf(net);
    const view = hosts.length === 0 ? undefined : new NetworkView(net, hosts);
    this.views.set(net, view);
    return view;
  }

  /**
   * A network's members, in the order of its instance shards: read again only in the shards
   * whose version changed (a `docker run` changes its host's instance, not who has one), and
   * the last version's array while every shard has the same hosts.
   */
  private membersOf(net: Network): string[] {
    const last = this.lastMembers.get(net.id);
    if (last?.instances === net.instances) return last.hosts;
    const instances = net.instances;
    const keys = last ? [...last.keys] : [];
    let changed = !last;
    for (let i = 0; i < Math.max(instances.length, keys.length); i++) {
      const shard = instances[i];
      if (last && shard === last.instances[i]) continue;
      const now = shard ? Object.keys(shard) : [];
      const was = keys[i] ?? [];
      if (now.length === was.length && now.every((h, j) => h === was[j])) continue;
      keys[i] = now;
      changed = true;
    }
    let hosts = last?.hosts ?? [];
    if (changed) {
      hosts = [];
      for (const shardKeys of keys) if (shardKeys) for (const h of shardKeys) hosts.push(h);
    }
    this.lastMembers.set(net.id, { instances, keys, hosts });
    return hosts;
  }

  /**
   * The networks in shard order (as swarmNetworks lists them); the same while no shard
   * changed (changedNetworks says what did). Only the shards whose version changed are read
   * again: the others keep their views, and the count moves by what the changed ones hold.
   */
  private networks(shards: Shards<Network>): NetworkShards {
    const last = this.lastNetworks;
    this.changedNetworks = undefined;
    if (last?.shards === shards) return last;
    let views: ClusterNetwork[][] | undefined;
    let count = last?.count ?? 0;
    const changedNetworks: ClusterNetwork[] = [];
    for (let i = 0, n = Math.max(shards.length, last?.shards.length ?? 0); i < n; i++) {
      const shard = shards[i];
      if (last && shard === last.shards[i]) continue;
      views ??= last ? [...last.views] : [];
      const view: ClusterNetwork[] = [];
      if (shard) {
        for (const id in shard) {
          const net = this.network(shard[id]);
          if (net) view.push(net);
        }
      }
      count += view.length - (last?.views[i]?.length ?? 0);
      views[i] = view.length > 0 ? view : NO_NETWORKS;
      for (const net of view) changedNetworks.push(net);
    }
    if (!views && last) {
      // A new version of the list whose shards are all the last ones: the same list.
      last.shards = shards;
      return last;
    }
    views ??= [];
    views.length = shards.length;
    for (let i = 0; i < views.length; i++) views[i] ??= NO_NETWORKS;
    this.changedNetworks = changedNetworks;
    return (this.lastNetworks = { shards, views, count });
  }

  private nodes(w: World, swarmNodes: string[]): ClusterNode[] {
    const last = this.last;
    if (last && last.hostShards.length === w.hosts.length) {
      // A join appends its node to the swarm's: the nodes read before stand, and only the newcomers are read.
      const appended = last.swarmNodes === swarmNodes ? [] : this.appended(last.swarmNodes, swarmNodes);
      if (appended && this.unchanged(last, w.hosts, appended)) {
        const newcomers: ClusterNode[] = [];
        for (const name of appended) {
          const h = hostOf(w, name);
          if (!inNetworkDb(h)) continue;
          const node = clusterNode(h);
          newcomers.push(node);
          last.byHost.set(node.host, node);
        }
        last.swarmNodes = swarmNodes;
        last.hostShards = w.hosts;
        if (newcomers.length > 0) last.nodes = last.nodes.concat(newcomers);
        return last.nodes;
      }
    }
    const nodes = swarmNodes.map((name) => hostOf(w, name)).filter(inNetworkDb).map((h) => {
      const node = clusterNode(h), before = last?.byHost.get(h.name);
      return sameNode(before, node) ? before! : node;
    });
    const same = !!last && last.nodes.length === nodes.length && nodes.every((n, i) => n === last.nodes[i]);
    this.last = { swarmNodes, hostShards: w.hosts, nodes: same ? last.nodes : nodes, byHost: new Map(nodes.map((n) => [n.host, n] as const)) };
    return this.last.nodes;
  }

  /** The names `now` adds at the end of `before` (none read before), or undefined when it is not `before` and more. */
  private appended(before: string[], now: string[]): string[] | undefined {
    if (now.length < before.length) return undefined;
    for (let i = 0; i < before.length; i++) if (before[i] !== now[i]) return undefined;
    const added = now.slice(before.length);
    return added.every((name) => !this.last!.byHost.has(name)) && new Set(added).size === added.length ? added : undefined;
  }

  /**
   * Whether the hosts of the shards a step changed read as the same nodes (a docker run
   * changes its host's containers, not its node), the `appended` ones aside (read afresh).
   */
  private unchanged(last: { hostShards: Shards<Host>; byHost: Map<string, ClusterNode> }, shards: Shards<Host>, appended: string[]): boolean {
    for (let i = 0; i < shards.length; i++) {
      const shard = shards[i], was = last.hostShards[i];
      if (shard === was) continue;
      for (const name in shard) {
        const h = shard[name];
        // immer keeps the hosts the step did not change: the same host reads as the same node.
        if (was && was[name] === h) continue;
        if (appended.length > 0 && appended.includes(h.name)) continue;
        const before = last.byHost.get(h.name);
        const member = inNetworkDb(h);
        if (member !== !!before) return false;
        if (before && (before.address !== h.underlay || before.gossipName !== h.gossipName || before.manager !== (h.nodeState === 'manager') || before.alive !== h.gossipAlive)) return false;
      }
    }
    return true;
  }
}

export function addressBytes(ip: string): Uint8Array {
  const b = new Uint8Array(4);
  writeIpv4(ip, b, 0);
  return b;
}

/**
 * NetworkDB's Lamport clocks on each node, as sim's daemon and emu's player keep them: the
 * table clock its table events and bulk syncs carry, the network clock its network events
 * and push/pulls carry, and the network clock each member's join of a network was made at.
 */
export interface NetworkDbClocks {
  tableTime(host: string): number;
  networkTime(host: string): number;
  /** The join event's time (a node's `network.ltime`); 0 for a join the clocks never saw. */
  joinedAt(host: string, networkId: string): number;
}

/**
 * NetworkDB's part of a push/pull from `host` (delegate.go LocalState): its network clock
 * (networkClock.Time(), not the table clock), and every node's networks, each at the time of
 * that node's join.
 */
export function networkDbLocalState(view: ClusterView, host: string, clocks: NetworkDbClocks): Buffer {
  // By a map, not a search per name: the networks list every member of every network, so a big swarm's push/pull would be quadratic.
  const gossipNames = new Map(view.nodes.map((n) => [n.host, n.gossipName] as const));
  const nameOf = (h: string) => gossipNames.get(h) ?? h;
  const networks = view.networks.flatMap((net) => net.hosts.map((h) => ({ networkId: net.id, lTime: clocks.joinedAt(h, net.id), nodeName: nameOf(h) })));
  return networkPushPull(clocks.networkTime(host), nameOf(host), networks);
}

/** What a push/pull carries from `host` (sendLocalState): every member, and NetworkDB's networks of every node. */
export function pushPullState(view: ClusterView, host: string, clocks: NetworkDbClocks): Buffer {
  const members = view.nodes.map((n) => ({ name: n.gossipName, addr: addressBytes(n.address), port: MEMBERLIST_PORT, incarnation: 1, state: n.alive ? 0 : 2 }));
  return pushPullMessage(members, networkDbLocalState(view, host, clocks), false);
}

/**
 * What one node's daemon sends, for a process that plays it on a real kernel (emu's listener
 * holder): whom it probes and pushes to, the manager it heartbeats (a worker's), and the
 * lengths of its messages as the encoders make them: a ping and an ack by sequence number
 * (MessagePack's uint8 up to 255 and uint16 up to 65535 after the fixint up to 127), a
 * push/pull stream, NetworkDB's bulk syncs (the one it sends a member unasked, covering every
 * network they share, and the one it answers each member's with), a heartbeat's HTTP/2 frames
 * each way (TLS adds its record to those); and its timers. NetworkDB's gossip and what a
 * network join sends are not here: they depend on the step's events, which the player is told
 * as they come (emu/netdb.ts).
 */
export interface NodeTraffic {
  peers: string[];
  manager?: string;
  ping: [number, number, number];
  ack: [number, number, number];
  pushPull: number;
  /** Per network it shares with other members, their addresses: the periodic bulk sync draws one member of a network. */
  bulkSyncNetworks: string[][];
  /** Per member it shares networks with: the stream it sends it unasked (every shared network), and which of bulkSyncNetworks that covers. */
  bulkSync: { peer: string; stream: number; networks: number[] }[];
  /** The bulk-sync streams members may send it, by length: one sent unasked is answered with `answer` bytes, an answer is not. */
  bulkSyncIn: { length: number; answer?: number }[];
  heartbeat: { request: number; response: number };
  /** memberlist's, NetworkDB's and the dispatcher's periods, in ms (push/pull scaled with the members). */
  timersMs: { probe: number; pushPull: number; bulkSync: number; gossip: number; heartbeat: number; heartbeatJitter: number };
}

/** What NetworkDB knows of each node that owns entries, `tableTimeOf` giving its table clock (1 for a node that has sent no event). */
export function tableOwners(view: ClusterView, tableTimeOf: (host: string) => number): (host: string) => TableOwner {
  const nodeByHost = new Map(view.nodes.map((n) => [n.host, n] as const));
  return (h) => {
    const n = nodeByHost.get(h);
    return { host: h, tableTime: tableTimeOf(h), gossipName: n?.gossipName ?? h, address: n?.address ?? '' };
  };
}

/** The networks two nodes are both members of (findCommonNetworks), in the view's order. */
export function commonNetworks(networks: readonly ClusterNetwork[], a: string, b: string): ClusterNetwork[] {
  return networks.filter((n) => n.members.has(a) && n.members.has(b));
}

const streamLength = (msg: Buffer) => memberlistStream(msg, (n) => new Uint8Array(n)).length;

/** `clocks`: each node's NetworkDB clocks (what its messages carry). */
export function nodeTraffic(view: ClusterView, host: string, clocks: NetworkDbClocks): NodeTraffic | undefined {
  const self = view.nodes.find((n) => n.host === host);
  if (!self) return undefined;
  const others = view.nodes.filter((n) => n.host !== host && n.alive);
  const target = others[0] ?? self;
  const bySeq = (f: (seq: number) => number): [number, number, number] => [f(1), f(200), f(1000)];
  const manager = view.nodes.find((n) => n.manager && n.alive);
  const nodeByHost = new Map(view.nodes.map((n) => [n.host, n] as const));
  const ownerOf = tableOwners(view, (h) => clocks.tableTime(h));
  const mine = view.networks.filter((n) => n.members.has(host) && n.hosts.some((h) => h !== host && nodeByHost.get(h)?.alive));
  const bulkSyncNetworks = mine.map((net) => net.hosts.filter((h) => h !== host && nodeByHost.get(h)?.alive).map((h) => nodeByHost.get(h)!.address));
  const bulkSync: NodeTraffic['bulkSync'] = [];
  const bulkSyncIn: NodeTraffic['bulkSyncIn'] = [];
  for (const m of others) {
    const common = commonNetworks(mine, host, m.host);
    if (common.length === 0) continue;
    const stream = (from: string, unsolicited: boolean) => streamLength(bulkSyncStreamMessage(ownerOf(from), common, unsolicited, ownerOf));
    bulkSync.push({ peer: m.address, stream: stream(host, true), networks: common.map((n) => mine.indexOf(n)) });
    bulkSyncIn.push({ length: stream(m.host, true), answer: stream(host, false) }, { length: stream(m.host, false) });
  }
  const ms = (ns: number) => ns / 1e6;
  return {
    peers: others.map((n) => n.address),
    ...(!self.manager && manager ? { manager: manager.address } : {}),
    ping: bySeq((seq) => ENCRYPT_OVERHEAD + pingMessage(seq, target.gossipName, addressBytes(self.address), MEMBERLIST_PORT, self.gossipName).length),
    ack: bySeq((seq) => ENCRYPT_OVERHEAD + ackMessage(seq).length),
    pushPull: streamLength(pushPullState(view, host, clocks)),
    bulkSyncNetworks,
    bulkSync,
    bulkSyncIn,
    heartbeat: heartbeatFrames('x'.repeat(25), HEARTBEAT_PERIOD_NS),
    timersMs: {
      probe: ms(PROBE_INTERVAL_NS), pushPull: ms(pushPullInterval(view.nodes.length)), bulkSync: ms(PUSH_PULL_INTERVAL_NS),
      gossip: ms(GOSSIP_INTERVAL_NS), heartbeat: ms(HEARTBEAT_PERIOD_NS), heartbeatJitter: ms(HEARTBEAT_EPSILON_NS),
    },
  };
}

/**
 * The bulk syncs a node's JoinNetwork makes (libnetwork networkdb.go JoinNetwork, cluster.go
 * bulkSync with all set): one to every other live member of the network, in turn, each
 * covering every network the two share; the joiner's stream and the member's answer, by length.
 */
export function joinSyncs(view: ClusterView, host: string, networkId: string, tableTimeOf: (host: string) => number): { peer: string; stream: number; answer: number }[] {
  const net = view.networks.find((n) => n.id === networkId);
  if (!net) return [];
  const ownerOf = tableOwners(view, tableTimeOf);
  const alive = new Set(view.nodes.filter((n) => n.alive).map((n) => n.host));
  const joining = { host, networkId };
  return net.hosts.filter((h) => h !== host && alive.has(h)).map((peer) => {
    const common = commonNetworks(view.networks, host, peer);
    return {
      peer,
      stream: streamLength(bulkSyncStreamMessage(ownerOf(host), common, true, ownerOf, joining)),
      answer: streamLength(bulkSyncStreamMessage(ownerOf(peer), common, false, ownerOf, joining)),
    };
  });
}

/** A table entry's identity across views: its table, network and key. */
export function entryKey(e: ClusterTableEntry): string {
  return `${e.table}|${e.networkId}|${e.key}`;
}

/** What NetworkDB knows of the node that owns an entry: its table clock, name and VTEP. */
export interface TableOwner {
  host: string;
  tableTime: number;
  gossipName: string;
  address: string;
}

/** How long a deleted entry stays before it is reaped (networkdb.go reapEntryInterval, 30 min), as its delete event says. */
const RESIDUAL_REAP_TIME_S = 1800;

/** A table event for `e` as its owner sends it: the overlay's peer record or the service record, at the owner's clock. */
export function tableEventMessage(owner: TableOwner, e: ClusterTableEntry, type: number): Buffer {
  const ep = e.endpoint;
  const value = e.table === ENDPOINT_TABLE ? endpointRecord(ep.name, ep.ip, ep.aliases, []) : peerRecord(`${ep.ip}/${ep.prefixLength}`, ep.mac, owner.address);
  return tableEvent({ type, lTime: owner.tableTime, nodeName: owner.gossipName, networkId: e.networkId, tableName: e.table, key: e.key, value, ...(type === TABLE_EVENT.delete ? { residualReapTime: RESIDUAL_REAP_TIME_S } : {}) });
}

/** A service record's task aliases: a container's have none. */
const NO_ALIASES: readonly string[] = [];

/** tableEventMessage's length, without making it. */
export function tableEventMessageLength(owner: TableOwner, e: ClusterTableEntry, type: number): number {
  const ep = e.endpoint;
  const valueLength = e.table === ENDPOINT_TABLE ? endpointRecordLength(ep.name, ep.ip, ep.aliases, NO_ALIASES) : peerRecordLength(`${ep.ip}/${ep.prefixLength}`, ep.mac, owner.address);
  return tableEventLengthOf(type, owner.tableTime, owner.gossipName, e.networkId, e.table, e.key, valueLength, type === TABLE_EVENT.delete ? RESIDUAL_REAP_TIME_S : undefined);
}

/** The user message a gossip round sends (SendToUDP): its events as one compound. */
export function gossipPacketMessage(batch: QueuedEvent[]): Buffer {
  return userPacketMessage(compoundMessage(batch.map(messageOf)));
}

/**
 * The user message of a bulk sync (libnetwork cluster.go bulkSyncNode, SendToTCP): every
 * entry of the networks, each at its owner's clock. `joining`: a bulk sync made by a network
 * join (networkdb.go JoinNetwork), before the joiner knows any of that network's entries (the
 * sync is how it learns them) and before it has created its own (it does once the join returns).
 */
export function bulkSyncStreamMessage(from: TableOwner, networks: readonly ClusterNetwork[], unsolicited: boolean, ownerOf: (host: string) => TableOwner, joining?: { host: string; networkId: string }): Buffer {
  const events: Buffer[] = [];
  for (const net of networks) {
    const joined = joining?.networkId === net.id ? joining.host : undefined;
    if (joined === from.host) continue;
    for (const e of net.entries) if (e.owner !== joined) events.push(tableEventMessage(ownerOf(e.owner), e, TABLE_EVENT.create));
  }
  return userStreamMessage(bulkSyncMessage(from.tableTime, unsolicited, from.gossipName, networks.map((n) => n.id), events));
}

/**
 * Up to m distinct items of `list` that `eligible` admits, drawn as NetworkDB's mRandomNodes
 * and memberlist's kRandomNodes draw them (libnetwork networkdb/cluster.go mRandomNodes,
 * memberlist util.go kRandomNodes): a random index at a time (`below(n)`, a draw in [0, n)),
 * the ineligible and those already drawn skipped, at most 3n draws, so a small list is
 * searched through and a big one costs m draws, not a pass over every member. sim draws with
 * its seeded generator, emu with the machine's: the same rule in both.
 */
export function randomNodes<T>(list: readonly T[], m: number, below: (n: number) => number, eligible: (x: T) => boolean): T[] {
  const picked: T[] = [];
  for (let i = 0; i < 3 * list.length && picked.length < m; i++) {
    const x = list[below(list.length)];
    if (eligible(x) && !picked.includes(x)) picked.push(x);
  }
  return picked;
}

/** What a node's NetworkDB queues: its two clocks, its table events per network (tableBroadcasts), its network and node events for memberlist. sim's daemon and emu's player both keep one per node. */
export interface NetworkDbQueues {
  tableTime: number;
  networkTime: number;
  /** The network clock at which it joined each network it is in. */
  joinedAt: Map<string, number>;
  queued: Map<string, TransmitQueue>;
  networkBroadcasts: TransmitQueue;
  nodeBroadcasts: TransmitQueue;
}

/** A node's two queues of NetworkDB's broadcasts to memberlist (its delegate's). */
export type MemberlistQueues = Pick<NetworkDbQueues, 'networkBroadcasts' | 'nodeBroadcasts'>;

/** Whether memberlist's gossip has anything of NetworkDB's to send. */
export function hasBroadcasts(q: MemberlistQueues): boolean {
  return q.networkBroadcasts.events.length > 0 || q.nodeBroadcasts.events.length > 0;
}

/**
 * What one of memberlist's gossip packets takes from NetworkDB (delegate.go GetBroadcasts):
 * its network events, then its node events, each queue given the whole of the room
 * memberlist offers (both are asked with the same limit, so the two together may exceed it).
 * Both queues count the nodes NetworkDB knows (len(nDB.nodes)): `nodes`, as the round finds them.
 * `dropped`: told of a node event the round's reinsertion replaced (gossipRound).
 */
export function memberlistRound(q: MemberlistQueues, budget: GossipBudget, nodes: number, dropped?: (e: QueuedEvent) => void): QueuedEvent[] {
  const limit = gossipTransmits(nodes);
  const network = gossipRound(q.networkBroadcasts, budget, limit);
  const node = gossipRound(q.nodeBroadcasts, budget, limit, dropped);
  return node.length === 0 ? network : [...network, ...node];
}

/**
 * A node joined or left a network (networkdb.go JoinNetwork, LeaveNetwork): its network clock
 * moves and the event (libnetwork broadcast.go sendNetworkEvent, which replaces one of the
 * same network still queued) waits for memberlist's gossip to the swarm's nodes.
 */
export function queueNetworkEvent(q: NetworkDbQueues, joined: boolean, gossipName: string, networkId: string): void {
  q.networkTime++;
  if (joined) q.joinedAt.set(networkId, q.networkTime);
  else q.joinedAt.delete(networkId);
  const msg = networkEvent({ type: joined ? NETWORK_EVENT.join : NETWORK_EVENT.leave, lTime: q.networkTime, nodeName: gossipName, networkId });
  queueBroadcast(q.networkBroadcasts, { length: msg.length, msg, topic: networkId });
}

/**
 * A node joined the gossip cluster (cluster.go clusterJoin: memberlist's Join, then
 * sendNodeEvent) or leaves it (clusterLeave: sendNodeEvent before memberlist's Leave): its
 * network clock moves and the event waits for memberlist's gossip to the swarm's nodes.
 * The first node of a swarm joins no one (agentSetup has no remote address to join) and sends
 * none. A join is no news to the members (memberlist's NotifyJoin made the node active
 * already); a leave is, and they gossip it on (relayNodeEvent).
 */
export function queueNodeEvent(q: NetworkDbQueues, gossipName: string, type: number = NODE_EVENT.join): string | undefined {
  q.networkTime++;
  const msg = nodeEvent({ type, lTime: q.networkTime, nodeName: gossipName });
  const leave = type === NODE_EVENT.leave ? `${gossipName}@${q.networkTime}` : undefined;
  queueBroadcast(q.nodeBroadcasts, { length: msg.length, msg, leave });
  return leave;
}

/**
 * How many nodes a node's NetworkDB counts for its memberlist queues (len(nDB.nodes), which
 * NumNodes asks at each round): the members, and each node still leaving whose leave event
 * (`leave`, as queueNodeEvent names it) this node has not heard yet; handleNodeEvent moves a
 * node whose leave it hears to leftNodes at once. A leaver counts itself: it stays in its own
 * nodes until memberlist leaves.
 */
export function knownNodes(members: number, self: string, leaving: Iterable<{ host: string; leave?: string }>, heard: ReadonlySet<string>): number {
  let n = members;
  for (const l of leaving) if (l.host === self || l.leave === undefined || !heard.has(l.leave)) n++;
  return n;
}

/**
 * How long clusterLeave's sendNodeEvent waits for its leave event's Finished (broadcast.go
 * broadcastTimeout) before memberlist's Leave: it comes once the event has gone its rounds.
 * One the queue's btree replaced (gossipRound's `dropped`) never finishes: the wait ends
 * at this timeout ("timed out broadcasting node event", logged), from the leave's queueing.
 */
export const BROADCAST_TIMEOUT_NS = 5_000_000_000;

/**
 * A member hears a node's leave event for the first time (delegate.go handleNodeMessage: the
 * event moved the node, so it is rebroadcast): the same message goes on its own queue.
 */
export function relayNodeEvent(q: NetworkDbQueues, e: QueuedEvent): void {
  queueBroadcast(q.nodeBroadcasts, relayed(e));
}

/** A leave event as a member that heard it queues it again: the same message, its own rounds. */
export function relayed(e: Broadcast): Broadcast {
  return { length: e.length, msg: messageOf(e), leave: e.leave };
}

/**
 * A leaver's queued leave events (its own): it has heard them, so it does not gossip them on,
 * and they join `sent`, the leaves a node that joins later starts with as heard (it never
 * knew the leaver).
 */
export function recordOwnLeaves(q: NetworkDbQueues, heard: Set<string>, sent: Set<string>): void {
  for (const e of q.nodeBroadcasts.events) {
    if (!e.leave) continue;
    heard.add(e.leave);
    sent.add(e.leave);
  }
}

/** The leave events in a gossip round that `heard` has not heard yet, now heard. */
export function newLeaves(batch: readonly QueuedEvent[], heard: Set<string>): QueuedEvent[] {
  const news: QueuedEvent[] = [];
  for (const e of batch) {
    if (!e.leave || heard.has(e.leave)) continue;
    heard.add(e.leave);
    news.push(e);
  }
  return news;
}

/**
 * An entry its owner created or deleted (networkdb.go sendTableEvent, which replaces an event
 * of the same entry still queued): the owner's table clock moves and the event waits for the
 * network's gossip rounds to its members.
 */
export function queueTableEvent(q: NetworkDbQueues, owner: Omit<TableOwner, 'tableTime'>, e: ClusterTableEntry, type: number): void {
  q.tableTime++;
  let events = q.queued.get(e.networkId);
  if (!events) q.queued.set(e.networkId, (events = transmitQueue()));
  const at: TableOwner = { host: owner.host, tableTime: q.tableTime, gossipName: owner.gossipName, address: owner.address };
  queueBroadcast(events, { length: tableEventMessageLength(at, e, type), make: () => tableEventMessage(at, e, type), topic: entryKey(e) });
}

/** What memberlist's gossip sends one node (memberlist state.go gossip): NetworkDB's messages framed as user messages, one as it is, more as a compound. */
export function broadcastPacketMessage(batch: QueuedEvent[]): Buffer {
  return batch.length === 1 ? userPacketMessage(messageOf(batch[0])) : memberlistCompound(batch.map((e) => userPacketMessage(messageOf(e))));
}
