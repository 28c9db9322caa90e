/**
 * dockerd's control plane on the wire, between swarm nodes, on the run's clock: what each
 * node's memberlist (NetworkDB) sends on 7946 and what a worker's swarmkit agent sends to
 * the manager on 2377, as timers of the simulated clock, so it happens only over spans the
 * clock covers (a ping, a sleep) and costs nothing between them.
 *
 * From hashicorp/memberlist v0.4.0 (DefaultLANConfig) and libnetwork v20.10's NetworkDB:
 * - probe: each node, every ProbeInterval (1 s), pings the next member of its shuffled list
 *   (one peer a tick, not all: a big swarm sends n probes a second), which acks;
 * - push/pull: each node, every PushPullInterval (30 s, scaled up past 32 nodes), swaps its
 *   member list and NetworkDB's networks with one random member over TCP;
 * - NetworkDB's bulk sync (libnetwork networkdb/cluster.go bulkSyncTables, bulkSync,
 *   bulkSyncNode): every 30 s, per node: a member of the first of its networks not yet
 *   covered is drawn, and one message over TCP (SendToTCP, one way) carries every network
 *   the two share, answered in kind the same way; the networks it covered are done, and the
 *   next uncovered network draws the next peer;
 * - a network join (networkdb.go JoinNetwork): the node's network event (join, at its network
 *   clock) is queued for memberlist's gossip, and a bulk sync goes to every other member of
 *   the network in turn, each answered before the next; a leave (LeaveNetwork) queues the
 *   leave event;
 * - memberlist's gossip (memberlist state.go gossip): every GossipInterval (200 ms) while
 *   NetworkDB's network events are queued, to up to 3 random members of the swarm, each
 *   packet taking one transmission of each event it carries (one event as it is, more as a
 *   compound), an event sent RetransmitMult × ⌈log10(n+1)⌉ times;
 * - swarmkit: a worker's Heartbeat RPC to the manager every period the dispatcher gives
 *   (5 s ± 0.5 s), over its session's TLS connection (made at join, before any span here).
 * Each timer starts at a random offset, as memberlist's and NetworkDB's triggers stagger.
 *
 * - a node that joins the cluster (cluster.go clusterJoin: a worker, or a manager joining
 *   others; not the first manager, which has no one to join) queues its node event (JOIN, at
 *   its network clock) for memberlist's gossip, which carries it after the network events;
 * - a node that leaves the cluster sends its node leave alone: its cluster node stops before
 *   its containers and networks go, whether the swarm is left (`docker swarm leave`: moby
 *   v20.10 daemon/cluster/swarm.go Leave stops the node runner, nr.Stop, before it removes the
 *   node's task containers and DaemonLeavesCluster disconnects the attachable networks'
 *   containers and releases ingress) or the daemon stops (`systemctl stop docker`,
 *   sim/model/dockerd.ts: cmd/dockerd/daemon.go:250 c.Cleanup before :254 shutdownDaemon). The
 *   node's stop (noderunner.go EventNodeLeave) makes libnetwork's agentClose →
 *   networkdb.go Close → cluster.go clusterLeave, so its entries' deletes and network leaves
 *   never go out; the others delete its entries on hearing the leave (handleNodeEvent →
 *   deleteNodeTableEntries). It sends until that event has gone its rounds (sendNodeEvent
 *   waits for it, 5 s at most), then stops (memberlist's Leave and Shutdown): the step lasts
 *   that long. A member that hears the leave for the first time (handleNodeMessage: the node
 *   moved to the left ones) gossips it on with its own retransmit limit, to the members and
 *   to the leaver until it stops; a node that joins later never knew the leaver, so the leave
 *   is no news to it. A daemon started again (its node staying in the swarm) is a new
 *   NetworkDB node (a new name, its clocks from the start) that sends its node join and joins
 *   the networks its node kept (rejoinNetworks): each one's network event and bulk syncs.
 * Not modelled: what a missing ack starts (indirect pings, the TCP fallback ping), the
 * table and network events the receivers gossip on (handleTableMessage and
 * handleNetworkMessage rebroadcast what was news to them: a big swarm would send n² of
 * them), the join event of a reconnect, memberlist's own broadcasts (alive, suspect, dead;
 * so a leaver stops being gossiped to as its last leave round goes, not when its memberlist
 * leave message arrives), the network clock a node takes from the events it hears (Lamport
 * witnessing: a restarted node's clock starts again at 1), TCP
 * retransmission and ACKs between a conversation's segments beyond those listed, grpc's
 * window updates and BDP pings. Each flow is one exchange (kind `control-plane`, its
 * ControlKind); the bytes are as long as the real encoders make them and opaque, as the
 * swarm's keys and TLS make them (sim/wire/memberlist.ts, networkdb.ts, tls.ts).
 */
import type { Datapath } from './datapath';
import type { SimKernel } from './kernel';
import type { SimNetns } from './objects';
import type { Skb } from './net/skb';
import { BROADCAST_TIMEOUT_NS, gossipTransmits, knownNodes, memberChanges, newLeaves, recordOwnLeaves, queueNetworkEvent, queueNodeEvent, relayNodeEvent, queueTableEvent, broadcastPacketMessage, bulkSyncStreamMessage, commonNetworks, randomNodes, tableChanges, ClusterNetwork, ClusterNode, ClusterReader, ClusterTableEntry, ClusterView, GOSSIP_INTERVAL_NS, GOSSIP_NODES, gossipPacketMessage, hasBroadcasts, heartbeatFrames, memberlistRound, MEMBERLIST_GOSSIP, NETWORKDB_GOSSIP, nextGossipTick, HEARTBEAT_EPSILON_NS, HEARTBEAT_PERIOD_NS, PROBE_INTERVAL_NS, PUSH_PULL_INTERVAL_NS, pushPullInterval, pushPullState, NetworkDbClocks, SWARM_API_PORT, addressBytes, TableOwner } from '../model/cluster';
import { gossipRound, QueuedEvent, transmitQueue, TransmitQueue } from '../model/transmit_queue';
import type { World } from '../model/world';
import type { Flow } from '../trace/types';
import type { ControlRecord } from '../trace/control_record';
import { IPPROTO_TCP, IPPROTO_UDP } from '../wire/ipv4';
import { emitUdp } from '../wire/udp';
import { emitTcp, TCP_ACK, TCP_FIN, TCP_PSH, TCP_SYN } from '../wire/tcp';
import { ackMessage, encryptedEnvelope, MEMBERLIST_PORT, memberlistPacket, memberlistStream, packetPlaintextLength, pingMessage } from '../wire/memberlist';
import { NODE_EVENT, TABLE_EVENT } from '../wire/networkdb';
import { tls13ApplicationData } from '../wire/tls';
import { EPHEMERAL_PORT_MAX, EPHEMERAL_PORT_MIN } from './net/sockets';

/** Linux's delayed ACK (tcp_delack_min): a reply that carries nothing back is acked this late. */
export const DELAYED_ACK_NS = 40_000_000;
/** How long bulkSyncNode waits for the answer to an unsolicited sync. */
const BULK_SYNC_TIMEOUT_NS = 30_000_000_000;
/** The underlay's MSS with timestamps (1500 - 20 - 20 - 12). */
const MSS = 1448;

/** A seeded xorshift: the picks and the opaque bytes repeat run after run. */
export class Random {
  constructor(private s: number) {
    if (this.s === 0) this.s = 0x9e3779b9;
  }

  next(): number {
    let x = this.s;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.s = x >>> 0;
    return this.s;
  }

  /** A draw below n; past 2^32 (a 30 s timer in nanoseconds) one 32-bit draw cannot reach n, so two make 53 bits. */
  below(n: number): number {
    if (n <= 2 ** 32) return this.next() % n;
    const high = this.next() >>> 11;
    return (high * 2 ** 32 + this.next()) % n;
  }

  bytes = (length: number): Uint8Array => {
    const b = new Uint8Array(length);
    for (let i = 0; i < length; i++) b[i] = this.next() & 0xff;
    return b;
  };

  shuffled<T>(xs: T[]): T[] {
    const a = [...xs];
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.below(i + 1);
      [a[i], a[j]] = [a[j], a[i]];
    }
    return a;
  }
}

/** A bulk sync to make: to whom, and the networks it covers (a join's: every network the two share). */
interface BulkSync {
  peer: NodeAgent;
  networks?: ClusterNetwork[];
  joining?: string;
}

/** Bulk syncs made in turn, each asked for when its turn comes. */
interface BulkSyncs {
  readonly length: number;
  at(i: number): BulkSync | undefined;
}

/** One node's daemon: its memberlist and NetworkDB state, and (on a worker) its session. */
interface NodeAgent {
  node: ClusterNode;
  ns: SimNetns;
  seqNo: number;
  probeOrder: string[];
  probeIndex: number;
  /** NetworkDB's table clock (a Lamport time). */
  tableTime: number;
  /** NetworkDB's network clock (a Lamport time): a join or leave moves it. */
  networkTime: number;
  joinedAt: Map<string, number>;
  /** Table events waiting for gossip rounds, per network. */
  queued: Map<string, TransmitQueue>;
  gossipPhase: number;
  gossipArmed: boolean;
  /** Network and node events waiting for memberlist's gossip (NetworkDB's networkBroadcasts, nodeBroadcasts), and its ticker. */
  networkBroadcasts: TransmitQueue;
  nodeBroadcasts: TransmitQueue;
  memberlistPhase: number;
  memberlistArmed: boolean;
  /** The leave events it has heard (or sent): one it hears again is no news. */
  heardLeaves: Set<string>;
  /** Its own leave event (clusterLeave's, as queueNodeEvent names it), when it was queued, and whether its queue dropped it (BROADCAST_TIMEOUT_NS). */
  ownLeave?: string;
  leaveQueuedAt?: number;
  leaveDropped?: boolean;
  /** Whether a host is a live member other than this node: who its draws may pick (made once, not at every draw). */
  drawable: (host: string) => boolean;
  /** The session's TCP connection to the manager (a worker's). */
  session?: TcpConnection;
  sessionId: string;
  close: () => void;
}

type Side = 'client' | 'server';

/**
 * A TCP connection whose segments its two ends send in turn: each end's sequence numbers,
 * timestamps and IP ids, and what to do when the segment in flight arrives.
 */
export class TcpConnection {
  private readonly seq: Record<Side, number>;
  private readonly ipId: Record<Side, number>;
  private readonly tsOffset: Record<Side, number>;
  private readonly lastTs: Record<Side, number> = { client: 0, server: 0 };
  /** What to do when a segment arrives at a side, by its sequence number, with the flow it was sent as (exchanges can overlap on one connection). */
  private readonly arrivals: Record<Side, Map<number, { flow: Flow | undefined; then: () => void }>> = { client: new Map(), server: new Map() };
  private readonly closers: (() => void)[];
  flow?: Flow;

  constructor(
    private readonly dp: Datapath,
    readonly ends: Record<Side, { ns: SimNetns; ip: string; port: number }>,
    rnd: Random,
  ) {
    this.seq = { client: rnd.next(), server: rnd.next() };
    this.ipId = { client: rnd.next() & 0xffff, server: rnd.next() & 0xffff };
    this.tsOffset = { client: rnd.next(), server: rnd.next() };
    const c = ends.client, s = ends.server;
    this.closers = [
      dp.sockets.connectTcp(c.ns, c.ip, c.port, s.ip, s.port, (t, _p, skb) => this.received('client', t.seq, skb)),
      dp.sockets.connectTcp(s.ns, s.ip, s.port, c.ip, c.port, (t, _p, skb) => this.received('server', t.seq, skb)),
    ];
  }

  /** A segment arrived at `at`: when it is the one awaited (its sequence number says), what was to follow it runs. */
  private received(at: Side, seq: number, skb: Skb): void {
    const awaited = this.arrivals[at].get(seq);
    if (!awaited || skb.flow !== awaited.flow) return;
    this.arrivals[at].delete(seq);
    awaited.then();
  }

  /** `by` sends a segment (data cut at the MSS) as `flow`, begun by `initiator` (its segments are the requests); `then` runs when its last piece arrives. */
  send(by: Side, flags: number, data: Uint8Array = new Uint8Array(0), then?: () => void, flow: Flow | undefined = this.flow, initiator: Side = 'client'): void {
    const other: Side = by === 'client' ? 'server' : 'client';
    const from = this.ends[by], to = this.ends[other];
    const pieces: Uint8Array[] = [];
    for (let at = 0; at < data.length; at += MSS) pieces.push(data.subarray(at, at + MSS));
    if (pieces.length === 0) pieces.push(data);
    for (const [i, piece] of pieces.entries()) {
      const syn = (flags & TCP_SYN) !== 0;
      const last = i === pieces.length - 1;
      const f = last ? flags : (flags & ~(TCP_FIN | TCP_PSH)) | TCP_ACK;
      const tsVal = (Math.floor(this.dp.clock.now / 1e6) + this.tsOffset[by]) >>> 0;
      const options = syn ? synOptions(tsVal, this.lastTs[by]) : timestampOption(tsVal, this.lastTs[by]);
      this.lastTs[other] = tsVal;
      if (last && then) this.arrivals[other].set(this.seq[by], { flow, then });
      const segment = emitTcp({ srcPort: from.port, dstPort: to.port, seq: this.seq[by], ack: f & TCP_ACK ? this.seq[other] : 0, flags: f, window: syn ? 64240 : 502, urgent: 0, options }, piece, { src: from.ip, dst: to.ip });
      this.seq[by] = (this.seq[by] + piece.length + (syn || (f & TCP_FIN) !== 0 ? 1 : 0)) >>> 0;
      this.ipId[by] = (this.ipId[by] + 1) & 0xffff;
      this.dp.ipSend(from.ns, { src: from.ip, dst: to.ip, protocol: IPPROTO_TCP, ttl: 64, id: this.ipId[by], tos: 0, dontFragment: true, moreFragments: false, fragmentOffset: 0 }, segment, flow, by === initiator ? 'request' : 'reply');
    }
  }

  close(): void {
    for (const c of this.closers) c();
  }
}

/** A SYN's options as Linux orders them: MSS (the device's, without options), SACK permitted, timestamps, NOP, window scale 7. */
function synOptions(tsVal: number, tsEcr: number): Buffer {
  const b = Buffer.alloc(20);
  b.set([2, 4], 0);
  b.writeUInt16BE(MSS + 12, 2);
  b.set([4, 2, 8, 10], 4);
  b.writeUInt32BE(tsVal, 8);
  b.writeUInt32BE(tsEcr, 12);
  b.set([1, 3, 3, 7], 16);
  return b;
}

/** NOP, NOP, timestamps: what every later segment carries. */
function timestampOption(tsVal: number, tsEcr: number): Buffer {
  const b = Buffer.alloc(12);
  b.set([1, 1, 8, 10], 0);
  b.writeUInt32BE(tsVal, 4);
  b.writeUInt32BE(tsEcr, 8);
  return b;
}

export class DockerdCluster {
  private readonly agents = new Map<string, NodeAgent>();
  private readonly reader = new ClusterReader();
  private view?: ClusterView;
  /** The view's networks by id (the last step's, until the next observe). */
  private readonly networks = new Map<string, ClusterNetwork>();
  /** The view's networks as it lists them. */
  private get networkList(): readonly ClusterNetwork[] {
    return this.view?.networks ?? [];
  }

  /** The view's live nodes and its live manager, read once per change of its nodes. */
  private live?: { hosts: string[]; alive: number; manager?: string };
  private readonly rnd: Random;
  /** What a datagram's arrival starts (a probe's ack), by its flow. */
  private readonly onArrival = new Map<Flow, () => void>();
  /** The daemons whose memberlist events wait with the ticker asleep (a node event at its join, events no one was there to hear): observe wakes them. */
  private readonly unarmed = new Set<NodeAgent>();
  /** Gossip packets of the current step not yet delivered (the remote programs its peers after them). */
  private inFlight = 0;
  /** The step's network joins whose bulk syncs are still under way. */
  private readonly joinsSyncing = new Set<object>();
  /**
   * Nodes leaving the swarm whose leave event is still being gossiped (clusterLeave waits for
   * it, sendNodeEvent): gone from the view, they still send, and the others' gossip still reaches them.
   */
  private readonly departing = new Map<string, NodeAgent>();
  /**
   * Every leave event sent so far. A daemon that joins later never knew those nodes: a leave
   * it hears is no news to it (handleNodeEvent finds no such node), so it starts with them heard.
   */
  private readonly leaves = new Set<string>();
  private readonly below = (n: number) => this.rnd.below(n);

  /** `record` holds the exchanges the trace keeps and counts the rest (shared with the other daemons' control planes). */
  constructor(private readonly dp: Datapath, private readonly kernel: SimKernel, seed: number, private readonly record: ControlRecord) {
    this.rnd = new Random((seed ^ 0x5bd1e995) >>> 0);
  }

  /**
   * The world after a step: members come and go, and the table entries that changed are
   * queued for gossip. When some are, the owners' next gossip round runs first, so the
   * events reach the other members before the caller programs their kernels.
   */
  observe(world: World): void {
    const view = this.reader.read(world);
    const lastView = this.view, lastNodes = lastView?.nodes;
    const nodesChanged = view?.nodes !== lastNodes;
    this.view = view;
    if (nodesChanged) {
      const nodes = view?.nodes ?? [];
      const from = this.joinedAfter(lastNodes, nodes);
      if (from === undefined) {
        const members = new Set(nodes.map((n) => n.host));
        for (const [host, agent] of this.agents) if (!members.has(host)) this.depart(host, agent);
      }
      const started: NodeAgent[] = [];
      for (let i = from ?? 0; i < nodes.length; i++) {
        const node = nodes[i];
        const agent = this.agents.get(node.host);
        if (agent) agent.node = node;
        else {
          const joined = this.join(node);
          if (joined) started.push(joined);
        }
      }
      this.rejoinNetworks(started);
      let alive = from === undefined ? 0 : this.live!.alive;
      for (let i = from ?? 0; i < nodes.length; i++) if (nodes[i].alive) alive++;
      // The manager a worker heartbeats: the first live one of the daemons, in the order they joined (those that came join after it).
      let manager = from === undefined ? undefined : this.live!.manager;
      if (manager === undefined) {
        for (const a of this.agents.values()) {
          if (!a.node.manager || !a.node.alive) continue;
          manager = a.node.host;
          break;
        }
      }
      const hosts = from === undefined ? nodes.map((n) => n.host) : this.live!.hosts.concat(nodes.slice(from).map((n) => n.host));
      this.live = { hosts, alive, manager };
      // Events queued while no one else was there go to the members that came.
      if (this.unarmed.size === 1) {
        const [agent] = this.unarmed;
        if (this.agents.get(agent.node.host) === agent && hasBroadcasts(agent)) this.armMemberlist(agent);
      } else if (this.unarmed.size > 1) {
        // In the order the daemons joined, as their tickers were armed before.
        for (const agent of this.agents.values()) if (hasBroadcasts(agent)) this.armMemberlist(agent);
      }
      this.unarmed.clear();
    }
    // Only the networks whose version changed are compared, entry by entry: creations in the
    // view's order first, then deletions in the last view's order. The reader names the
    // networks of the shards the step changed: a step costs those, not the list.
    const changedNetworks = this.reader.changedNetworks;
    if (changedNetworks === undefined) {
      this.settle(false);
      return;
    }
    const created: ClusterTableEntry[] = [], deleted: ClusterTableEntry[] = [];
    const changes = new Map<string, ReturnType<typeof tableChanges>>();
    /** The nodes that joined (true) or left (false) a network, in the view's order. */
    const moves: { net: ClusterNetwork; host: string; joined: boolean }[] = [];
    const moved = (old: ClusterNetwork | undefined, net: ClusterNetwork | undefined) => {
      const { left, joined } = memberChanges(old, net);
      for (const host of left) moves.push({ net: old!, host, joined: false });
      for (const host of joined) moves.push({ net: net!, host, joined: true });
    };
    let anyDeleted = false;
    for (const net of changedNetworks) {
      const old = this.networks.get(net.id);
      if (old === net) continue;
      const change = tableChanges(old, net);
      changes.set(net.id, change);
      created.push(...change.created);
      anyDeleted ||= change.deleted.length > 0;
      moved(old, net);
      this.networks.set(net.id, net);
    }
    if (this.networks.size > this.reader.networkCount) {
      const ids = new Set(this.networkList.map((n) => n.id));
      for (const [id, old] of this.networks) {
        if (ids.has(id)) continue;
        const change = tableChanges(old, undefined);
        changes.set(id, change);
        anyDeleted ||= change.deleted.length > 0;
        moved(old, undefined);
        this.networks.delete(id);
      }
    }
    // A docker run deletes nothing: the last view's networks are walked only when something went.
    if (anyDeleted) for (const old of lastView?.networks ?? []) deleted.push(...(changes.get(old.id)?.deleted ?? []));
    // A node joins a network (its bulk syncs done) before it creates its entries there. A node
    // that left the cluster in this step closed its NetworkDB first: its network leaves never go out.
    for (const m of moves) {
      const agent = this.agents.get(m.host);
      if (agent) this.networkEvent(agent, m.net, m.joined);
    }
    let queued = false;
    for (const e of created) queued = this.queueEvent(e, TABLE_EVENT.create) || queued;
    for (const e of deleted) queued = this.queueEvent(e, TABLE_EVENT.delete) || queued;
    // A node that leaves sends its node leave (and what it had queued before the step).
    if (this.departing.size > 0) this.leaveEvents();
    this.settle(queued);
  }

  /**
   * A daemon that started again (`systemctl start docker`, sim/model/dockerd.ts) joins the
   * networks the node still has (its NetworkDB's JoinNetwork for each): a node that comes
   * into the view while the last view already lists it in a network. One that joins the swarm
   * joins its networks in the step that makes them (their members change).
   */
  private rejoinNetworks(started: readonly NodeAgent[]): void {
    for (const agent of started) {
      for (const net of this.networks.values()) if (net.members.has(agent.node.host)) this.networkEvent(agent, net, true);
    }
  }

  /** The end of a step's observe: the step waits for what it started, `queued` saying whether table events were queued. */
  private settle(queued: boolean): void {
    // A step waits for its table events' first round (the other hosts program their peers
    // after it), its joins' bulk syncs (JoinNetwork returns after them) and its leaves'
    // node events (clusterLeave returns after them); its network events go out at the node's
    // next memberlist round, whenever the clock next runs.
    if (!queued && this.joinsSyncing.size === 0 && this.departing.size === 0) return;
    const start = this.dp.clock.now;
    this.inFlight = queued ? -1 : 0;
    const until = start + (this.departing.size > 0 ? BROADCAST_TIMEOUT_NS : GOSSIP_INTERVAL_NS + PROBE_INTERVAL_NS);
    this.dp.clock.runUntil(until, () => this.inFlight === 0 && this.joinsSyncing.size === 0 && this.departing.size === 0);
    this.inFlight = 0;
    this.joinsSyncing.clear();
    // sendNodeEvent gave up waiting: memberlist's Leave and Shutdown follow all the same.
    for (const agent of this.departing.values()) this.close(agent);
  }

  /**
   * Where the nodes that joined begin when the view's nodes are the last ones, each the same,
   * and more (a swarm join): only those need an agent, and the live members grow by them.
   * Undefined when some node left or changed, or a node has no agent (its host had no kernel).
   */
  private joinedAfter(before: readonly ClusterNode[] | undefined, now: readonly ClusterNode[]): number | undefined {
    if (!before || !this.live || now.length < before.length || this.agents.size !== before.length) return undefined;
    // Every agent is a node of the last view, holding that node: as many agents as nodes means each node has its agent.
    for (let i = 0; i < before.length; i++) if (before[i] !== now[i]) return undefined;
    return before.length;
  }

  /** A node's daemon starts; one that joins others sends its node event. Its agent, when its host has a kernel. */
  private join(node: ClusterNode): NodeAgent | undefined {
    const ns = this.kernel.hosts.get(node.host)?.rootNetns;
    if (!ns) return undefined;
    const joinsOthers = this.agents.size > 0;
    const unbind = this.dp.sockets.bindUdp(ns, node.address, MEMBERLIST_PORT, (_h, _port, _payload, skb) => this.arrived(skb));
    const agent: NodeAgent = {
      node, ns, seqNo: 0, probeOrder: [], probeIndex: 0, tableTime: 1, networkTime: 0, joinedAt: new Map(), queued: new Map(),
      gossipPhase: this.rnd.below(GOSSIP_INTERVAL_NS), gossipArmed: false, sessionId: this.sessionId(), close: unbind, heardLeaves: new Set(this.leaves),
      networkBroadcasts: transmitQueue(), nodeBroadcasts: transmitQueue(), memberlistPhase: this.rnd.below(GOSSIP_INTERVAL_NS), memberlistArmed: false,
      drawable: (h) => h !== agent.node.host && this.member(h)?.node.alive === true,
    };
    this.agents.set(node.host, agent);
    if (joinsOthers) {
      queueNodeEvent(agent, node.gossipName);
      this.unarmed.add(agent);
    }
    const now = this.dp.clock.now;
    this.every(agent, now + this.rnd.below(PROBE_INTERVAL_NS), () => PROBE_INTERVAL_NS, () => this.probe(agent));
    this.every(agent, now + this.rnd.below(PUSH_PULL_INTERVAL_NS), () => pushPullInterval(this.view?.nodes.length ?? 1), () => this.pushPull(agent));
    this.every(agent, now + this.rnd.below(PUSH_PULL_INTERVAL_NS), () => PUSH_PULL_INTERVAL_NS, () => this.bulkSyncTables(agent));
    if (!node.manager) this.every(agent, now + this.rnd.below(HEARTBEAT_PERIOD_NS), () => this.heartbeatPeriod(), () => this.heartbeat(agent));
    return agent;
  }

  /**
   * A node leaves the cluster (`docker swarm leave`, or its daemon stopped): gone from the
   * members at once, its NetworkDB still sends its node leave event (leaveEvents) until
   * clusterLeave's event has gone; its entries' deletes and network leaves never go out.
   */
  private depart(host: string, agent: NodeAgent): void {
    this.agents.delete(host);
    this.departing.set(host, agent);
  }

  /**
   * Each leaving node's leave event (clusterLeave → sendNodeEvent), queued after what it
   * queued before; with no one left to tell (sendNodeEvent does not wait then) it goes at once.
   */
  private leaveEvents(): void {
    for (const agent of this.departing.values()) {
      agent.ownLeave = queueNodeEvent(agent, agent.node.gossipName, NODE_EVENT.leave);
      agent.leaveQueuedAt = this.dp.clock.now;
      recordOwnLeaves(agent, agent.heardLeaves, this.leaves);
      if ((this.live?.alive ?? 0) > 0) this.armMemberlist(agent);
      else this.close(agent);
    }
  }

  /** memberlist's Leave and Shutdown: nothing more is sent or heard; what was still queued is dropped. */
  private close(agent: NodeAgent): void {
    if (this.departing.get(agent.node.host) === agent) this.departing.delete(agent.node.host);
    agent.close();
    agent.session?.close();
  }

  /** Whether an agent's daemon still runs: a member, or one whose leave is still being gossiped. */
  private running(agent: NodeAgent): boolean {
    return this.agents.get(agent.node.host) === agent || this.departing.get(agent.node.host) === agent;
  }

  private sessionId(): string {
    const alphabet = '0123456789abcdefghijklmnopqrstuvwxyz';
    return Array.from({ length: 25 }, () => alphabet[this.rnd.below(36)]).join('');
  }

  /** Timers and replies of dockerd's that the clock holds now (its queue's other events are the kernels'). */
  scheduled = 0;

  /** Runs `fn` after `delayNs` of the clock, counted in `scheduled` until it runs. */
  private later(delayNs: number, fn: () => void): void {
    this.scheduled++;
    this.dp.clock.call(delayNs, this.runScheduled, fn);
  }

  /** What `later` scheduled, run (one function for every timer: a big swarm's fire thousands of times a step). */
  private readonly runScheduled = (fn: () => void): void => {
    this.scheduled--;
    fn();
  };

  /** Runs `fn(agent)` after `delayNs`, as `later` does, without a closure per call (a gossip ticker is armed at every step). */
  private laterFor(delayNs: number, fn: (agent: NodeAgent) => void, agent: NodeAgent): void {
    this.scheduled++;
    this.dp.clock.call(delayNs, this.runScheduledFor, fn, agent);
  }

  private readonly runScheduledFor = (fn: (agent: NodeAgent) => void, agent: NodeAgent): void => {
    this.scheduled--;
    fn(agent);
  };

  /** A timer that fires at `first`, then every `interval()`, while the agent is a member. */
  private every(agent: NodeAgent, first: number, interval: () => number, fire: () => void): void {
    const tick = () => {
      if (this.agents.get(agent.node.host) !== agent) return;
      fire();
      this.later(interval(), tick);
    };
    this.later(Math.max(0, first - this.dp.clock.now), tick);
  }

  private heartbeatPeriod(): number {
    return HEARTBEAT_PERIOD_NS - HEARTBEAT_EPSILON_NS + this.rnd.below(2 * HEARTBEAT_EPSILON_NS);
  }

  private member(host: string): NodeAgent | undefined {
    return this.agents.get(host) ?? this.departing.get(host);
  }

  private sendUdp(from: NodeAgent, to: NodeAgent, payload: Uint8Array, flow: Flow, dir: Skb['dir']): void {
    const src = from.node.address, dst = to.node.address;
    this.dp.ipSend(from.ns, { src, dst, protocol: IPPROTO_UDP, ttl: 64, id: this.rnd.next() & 0xffff, tos: 0, dontFragment: true, moreFragments: false, fragmentOffset: 0 },
      emitUdp({ srcPort: MEMBERLIST_PORT, dstPort: MEMBERLIST_PORT }, payload, { src, dst }), flow, dir);
  }

  private arrived(skb: Skb): void {
    const flow = skb.flow;
    if (!flow) return;
    const then = this.onArrival.get(flow);
    if (then) {
      this.onArrival.delete(flow);
      then();
    }
  }

  // ── memberlist ─────────────────────────────────────────────────────────────

  /** probe(): the next live member in the shuffled order (reshuffled at the end), pinged; its ack comes back. */
  private probe(agent: NodeAgent): void {
    const aliveOthers = (this.live?.alive ?? 0) - (agent.node.alive ? 1 : 0);
    if (aliveOthers <= 0) return;
    if (!this.record.keeps('memberlist-probe')) {
      // Its sequence number and its place in the order are used up all the same.
      agent.seqNo = (agent.seqNo + 1) >>> 0;
      agent.probeIndex++;
      return;
    }
    const others = (this.view?.nodes ?? []).filter((n) => n.host !== agent.node.host);
    for (let checked = 0; checked <= others.length; checked++) {
      if (agent.probeIndex >= agent.probeOrder.length) {
        agent.probeOrder = this.rnd.shuffled(others.map((n) => n.host));
        agent.probeIndex = 0;
      }
      const target = this.member(agent.probeOrder[agent.probeIndex++] ?? '');
      if (!target || !target.node.alive) continue;
      const seq = agent.seqNo = (agent.seqNo + 1) >>> 0;
      const flow = this.record.flow('memberlist-probe', agent.node.host, target.node.host);
      const ping = pingMessage(seq, target.node.gossipName, addressBytes(agent.node.address), MEMBERLIST_PORT, agent.node.gossipName);
      this.onArrival.set(flow, () => this.later(this.dp.delays.stack, () => this.sendUdp(target, agent, memberlistPacket(ackMessage(seq), false, this.rnd.bytes), flow, 'reply')));
      this.sendUdp(agent, target, memberlistPacket(ping, false, this.rnd.bytes), flow, 'request');
      return;
    }
  }

  /** pushPull(): one random live member; each side sends its state and reads the other's. */
  private pushPull(agent: NodeAgent): void {
    if ((this.live?.alive ?? 0) - (agent.node.alive ? 1 : 0) <= 0 || !this.record.keeps('memberlist-push-pull')) return;
    const peer = this.randomMembers(agent, this.live?.hosts ?? [], 1)[0];
    if (!peer) return;
    const flow = this.record.flow('memberlist-push-pull', agent.node.host, peer.node.host);
    const conn = this.connect(agent, peer, MEMBERLIST_PORT, flow);
    const state = (a: NodeAgent) => memberlistStream(pushPullState(this.view!, a.node.host, this.clocks), this.rnd.bytes);
    conn.send('client', TCP_SYN, undefined, () =>
      conn.send('server', TCP_SYN | TCP_ACK, undefined, () => {
        conn.send('client', TCP_ACK);
        conn.send('client', TCP_PSH | TCP_ACK, state(agent), () =>
          conn.send('server', TCP_PSH | TCP_ACK, state(peer), () =>
            conn.send('client', TCP_FIN | TCP_ACK, undefined, () =>
              conn.send('server', TCP_FIN | TCP_ACK, undefined, () => conn.send('client', TCP_ACK, undefined, undefined)))));
      }));
    this.closeAfter(conn);
  }

  /** A client's connection from an ephemeral port to `port` of `server`, traced as `flow`. */
  private connect(client: NodeAgent, server: NodeAgent, port: number, flow: Flow): TcpConnection {
    const ephemeral = EPHEMERAL_PORT_MIN + this.rnd.below(EPHEMERAL_PORT_MAX - EPHEMERAL_PORT_MIN + 1);
    const conn = new TcpConnection(this.dp, { client: { ns: client.ns, ip: client.node.address, port: ephemeral }, server: { ns: server.ns, ip: server.node.address, port } }, this.rnd);
    conn.flow = flow;
    return conn;
  }

  /** A conversation's sockets close once it is surely over (a lost segment ends it; nothing retransmits). */
  private closeAfter(conn: TcpConnection): void {
    this.later(PUSH_PULL_INTERVAL_NS, () => conn.close());
  }

  /** Up to m distinct live members of `hosts` other than the agent, drawn as NetworkDB and memberlist draw them (randomNodes). */
  private randomMembers(agent: NodeAgent, hosts: readonly string[], m: number): NodeAgent[] {
    return randomNodes(hosts, m, this.below, agent.drawable).map((h) => this.member(h)!);
  }

  // ── NetworkDB ──────────────────────────────────────────────────────────────

  /** The members' NetworkDB clocks, as their agents keep them. */
  private readonly clocks: NetworkDbClocks = {
    tableTime: (h) => this.member(h)?.tableTime ?? 1,
    networkTime: (h) => this.member(h)?.networkTime ?? 0,
    joinedAt: (h, networkId) => this.member(h)?.joinedAt.get(networkId) ?? 0,
  };

  private ownerOf(agent: NodeAgent): TableOwner {
    return { host: agent.node.host, tableTime: agent.tableTime, gossipName: agent.node.gossipName, address: agent.node.address };
  }

  /**
   * A node joined or left a network (JoinNetwork, LeaveNetwork): its network event is queued
   * for memberlist's gossip, and a join bulk-syncs with every other live member in turn.
   */
  private networkEvent(agent: NodeAgent, net: ClusterNetwork, joined: boolean): void {
    queueNetworkEvent(agent, joined, agent.node.gossipName, net.id);
    this.armMemberlist(agent);
    if (!joined) return;
    const isPeer = agent.drawable;
    // Counted, and listed only when the trace keeps the first sync: a join of a big network would otherwise list every member for nothing.
    let count = 0;
    for (const h of net.hosts) if (isPeer(h)) count++;
    if (count === 0) return;
    let peers: BulkSync[] | undefined;
    const syncs = { length: count, at: (i: number) => (peers ??= net.hosts.filter(isPeer).map((h) => ({ peer: this.member(h)!, joining: net.id })))[i] };
    const join = {};
    this.joinsSyncing.add(join);
    this.syncInTurn(agent, syncs, () => this.joinsSyncing.delete(join));
  }

  /** memberlist's gossip ticker, woken only while network events are queued and someone is there to hear them. */
  private armMemberlist(agent: NodeAgent): void {
    if (agent.memberlistArmed) return;
    agent.memberlistArmed = true;
    const now = this.dp.clock.now;
    const next = nextGossipTick(now, agent.memberlistPhase);
    this.laterFor(next - now, this.memberlistGossipOf, agent);
  }

  private readonly memberlistGossipOf = (agent: NodeAgent): void => this.memberlistGossip(agent);

  /** memberlist's gossip(): up to 3 random live members, each sent what the queue gives it (one transmission of each event). */
  private memberlistGossip(agent: NodeAgent): void {
    agent.memberlistArmed = false;
    if (!this.running(agent)) return;
    // A leaving node is still alive to memberlist until its Leave: the others' gossip still reaches it.
    const hosts = this.departing.size > 0 ? [...(this.live?.hosts ?? []), ...this.departing.keys()] : this.live?.hosts ?? [];
    const peers = this.randomMembers(agent, hosts, GOSSIP_NODES);
    if (peers.length === 0) {
      // A draw that found no one (kRandomNodes' 3n tries can miss the only other node) sends nothing this tick; the next
      // tick draws again. With no one to tell, the events wait for the next member (observe wakes the ticker).
      if (hosts.some((h) => h !== agent.node.host && this.member(h)?.node.alive)) this.armMemberlist(agent);
      else this.unarmed.add(agent);
      return;
    }
    const ownLeave = this.departing.get(agent.node.host) === agent ? agent.ownLeave : undefined;
    const dropped = ownLeave ? (e: QueuedEvent) => e.leave === ownLeave && this.leaveDropped(agent) : undefined;
    // What the agent counts cannot change within its tick: a leave it hears arrives later.
    const nodes = this.known(agent);
    for (const peer of peers) {
      const batch = memberlistRound(agent, MEMBERLIST_GOSSIP, nodes, dropped);
      if (batch.length === 0) break;
      const heard = batch.some((e) => e.leave) ? () => this.heard(peer, batch) : undefined;
      if (!this.record.keeps('networkdb-gossip')) {
        // Not kept, the packet arrives at once.
        heard?.();
        continue;
      }
      const flow = this.record.flow('networkdb-gossip', agent.node.host, peer.node.host);
      if (heard) this.onArrival.set(flow, heard);
      this.sendUdp(agent, peer, memberlistPacket(broadcastPacketMessage(batch), true, this.rnd.bytes), flow, 'request');
    }
    // clusterLeave's event has gone its rounds (the queue's notify): memberlist leaves. One dropped waits for the timeout.
    if (ownLeave && !agent.leaveDropped && !agent.nodeBroadcasts.events.some((e) => e.leave === ownLeave)) this.close(agent);
    else if (hasBroadcasts(agent)) this.armMemberlist(agent);
  }

  /** A leaver's own leave event was dropped by its queue: sendNodeEvent's wait ends at BROADCAST_TIMEOUT_NS, and memberlist leaves then. */
  private leaveDropped(agent: NodeAgent): void {
    agent.leaveDropped = true;
    const at = (agent.leaveQueuedAt ?? this.dp.clock.now) + BROADCAST_TIMEOUT_NS;
    this.laterFor(Math.max(0, at - this.dp.clock.now), this.closeLeaverOf, agent);
  }

  private readonly closeLeaverOf = (agent: NodeAgent): void => {
    if (this.departing.get(agent.node.host) === agent) this.close(agent);
  };

  /** The nodes `agent`'s NetworkDB counts for its memberlist queues: the members, and those still leaving whose leave it has not heard (knownNodes). */
  private known(agent: NodeAgent): number {
    const members = this.view?.nodes.length ?? 0;
    return this.departing.size === 0 ? members : knownNodes(members, agent.node.host, [...this.departing.values()].map((d) => ({ host: d.node.host, leave: d.ownLeave })), agent.heardLeaves);
  }

  /** A gossip packet with leave events reached `peer`: those it had not heard, it gossips on (handleNodeMessage). */
  private heard(peer: NodeAgent, batch: readonly QueuedEvent[]): void {
    if (!this.running(peer)) return;
    const news = newLeaves(batch, peer.heardLeaves);
    if (news.length === 0) return;
    for (const e of news) relayNodeEvent(peer, e);
    this.armMemberlist(peer);
  }

  /**
   * An entry the owner created or deleted: queued for its gossip rounds. Whether there is anyone
   * to tell. An owner that left the cluster has closed its NetworkDB: what its leave removed is not sent.
   */
  private queueEvent(e: ClusterTableEntry, type: number): boolean {
    const owner = this.agents.get(e.owner);
    const members = this.networks.get(e.networkId)?.hosts ?? [];
    if (!owner || !members.some((h) => h !== e.owner)) return false;
    queueTableEvent(owner, owner.node, e, type);
    this.armGossip(owner);
    return true;
  }

  /** The gossip ticker, woken only while there is something to send (it finds nothing otherwise). */
  private armGossip(agent: NodeAgent): void {
    if (agent.gossipArmed) return;
    agent.gossipArmed = true;
    const now = this.dp.clock.now;
    const next = nextGossipTick(now, agent.gossipPhase);
    this.laterFor(next - now, this.gossipOf, agent);
  }

  private readonly gossipOf = (agent: NodeAgent): void => this.gossip(agent);

  /** gossip(): per network, the queued events as one compound to up to 3 random members. */
  private gossip(agent: NodeAgent): void {
    agent.gossipArmed = false;
    if (!this.running(agent)) return;
    for (const [networkId, q] of agent.queued) {
      const net = this.networks.get(networkId);
      // The queue counts the network's members as the round finds them (NumNodes: len(networkNodes[nid])).
      const batch = gossipRound(q, NETWORKDB_GOSSIP, gossipTransmits(net?.hosts.length ?? 0));
      // A network whose events have gone their rounds leaves the queue (a Map's iteration goes on past a deleted entry).
      if (q.events.length === 0) agent.queued.delete(networkId);
      if (!net || batch.length === 0) continue;
      const peers = this.randomMembers(agent, net.hosts, GOSSIP_NODES);
      // The round is under way: a packet the trace only counts arrives at once.
      if (peers.length > 0 && this.inFlight < 0) this.inFlight = 0;
      // Each peer gets the round's packet encrypted afresh: only its length is the same.
      let plaintextLength: number | undefined;
      for (const peer of peers) {
        if (!this.record.keeps('networkdb-gossip')) continue;
        plaintextLength ??= packetPlaintextLength(gossipPacketMessage(batch), true);
        const flow = this.record.flow('networkdb-gossip', agent.node.host, peer.node.host);
        this.inFlight++;
        this.onArrival.set(flow, () => this.inFlight--);
        this.sendUdp(agent, peer, encryptedEnvelope(plaintextLength, this.rnd.bytes), flow, 'request');
      }
    }
    if (agent.queued.size > 0) this.armGossip(agent);
  }

  /**
   * bulkSyncTables(): the node's networks in turn; for the first not yet covered, a live
   * member is drawn (mRandomNodes(2, …), the second tried only if the first fails, which
   * here it does not), and one sync carries every network the two share, covering them all.
   */
  private bulkSyncTables(agent: NodeAgent): void {
    const self = agent.node.host;
    let pending = this.networkList.filter((n) => n.members.has(self));
    const syncs: BulkSync[] = [];
    while (pending.length > 0) {
      const net = pending.shift()!;
      const host = randomNodes(net.hosts, 2, this.below, agent.drawable)[0];
      if (host === undefined) continue;
      const networks = commonNetworks(this.networkList, self, host);
      pending = pending.filter((n) => !networks.includes(n));
      syncs.push({ peer: this.member(host)!, networks });
    }
    this.syncInTurn(agent, syncs);
  }

  /**
   * Bulk syncs from `agent`, one after another (bulkSyncNode waits for the answer, 30 s at
   * most, before the next): each to its peer, covering the networks given or, for a join's,
   * every network the two share. Those the trace does not keep are counted as two (sync and answer).
   */
  private syncInTurn(agent: NodeAgent, syncs: BulkSyncs, done?: () => void, from = 0): void {
    // The trace keeps the first or none: asked again at once, it would say no to each of the rest as well (a big network's join has thousands).
    if (from < syncs.length && this.record.keeps('networkdb-bulk-sync', 2 * (syncs.length - from))) {
      const { peer, networks, joining } = syncs.at(from)!;
      const shared = networks ?? commonNetworks(this.networkList, agent.node.host, peer.node.host);
      let waited = false;
      const next = () => {
        if (waited) return;
        waited = true;
        this.syncInTurn(agent, syncs, done, from + 1);
      };
      this.bulkSync(agent, peer, shared, true, joining === undefined ? undefined : { host: agent.node.host, networkId: joining }, next);
      this.later(BULK_SYNC_TIMEOUT_NS, next);
      return;
    }
    done?.();
  }

  /** bulkSyncNode: one user message over TCP, written and closed; an unsolicited one is answered the same way, then `answered` runs. */
  private bulkSync(from: NodeAgent, to: NodeAgent, networks: ClusterNetwork[], unsolicited: boolean, joining: { host: string; networkId: string } | undefined, answered: () => void): void {
    const message = bulkSyncStreamMessage(this.ownerOf(from), networks, unsolicited, (h) => this.ownerOf(this.member(h) ?? from), joining);
    const flow = this.record.flow('networkdb-bulk-sync', from.node.host, to.node.host);
    const conn = this.connect(from, to, MEMBERLIST_PORT, flow);
    const then = () => {
      if (!unsolicited) answered();
      else if (this.record.keeps('networkdb-bulk-sync')) this.bulkSync(to, from, networks, false, joining, answered);
      else answered();
    };
    conn.send('client', TCP_SYN, undefined, () =>
      conn.send('server', TCP_SYN | TCP_ACK, undefined, () => {
        conn.send('client', TCP_ACK);
        conn.send('client', TCP_PSH | TCP_ACK, memberlistStream(message, this.rnd.bytes));
        conn.send('client', TCP_FIN | TCP_ACK, undefined, () =>
          conn.send('server', TCP_FIN | TCP_ACK, undefined, () =>
            conn.send('client', TCP_ACK, undefined, then)));
      }));
    this.closeAfter(conn);
  }

  // ── swarmkit ───────────────────────────────────────────────────────────────

  /** A worker's Heartbeat: one TLS record each way on its session, the worker's delayed ACK last. */
  private heartbeat(agent: NodeAgent): void {
    const manager = this.live?.manager === undefined ? undefined : this.member(this.live.manager);
    if (!manager || !this.record.keeps('swarm-heartbeat')) return;
    if (!agent.session || agent.session.ends.server.ns !== manager.ns) {
      agent.session?.close();
      agent.session = this.connect(agent, manager, SWARM_API_PORT, this.record.flow('swarm-heartbeat', agent.node.host, manager.node.host));
    } else {
      agent.session.flow = this.record.flow('swarm-heartbeat', agent.node.host, manager.node.host);
    }
    const conn = agent.session;
    const frames = heartbeatFrames(agent.sessionId, this.heartbeatPeriod());
    conn.send('client', TCP_PSH | TCP_ACK, tls13ApplicationData(frames.request, this.rnd.bytes), () =>
      this.later(this.dp.delays.stack, () =>
        conn.send('server', TCP_PSH | TCP_ACK, tls13ApplicationData(frames.response, this.rnd.bytes), () =>
          this.later(DELAYED_ACK_NS, () => conn.send('client', TCP_ACK)))));
  }
}
