/**
 * NetworkDB's gossip in emu. emu runs no dockerd: after each step, the run compares the
 * swarm's table entries (sim/model/cluster.ts clusterView) with the step before, as sim's
 * daemon does (sim/kernel/dockerd_cluster.ts), and each entry created or deleted becomes a
 * table event in its owner's queue, at the owner's table clock. What the owner's gossip
 * ticker then sends, round by round (one compound packet per network every 200 ms at the
 * node's own phase, to up to 3 random members, each event in RetransmitMult × ⌈log10(n+1)⌉
 * rounds), is built here with the model's encoders and handed to the node's listener holder
 * (listeners.ts) as datagrams to send at given times: the holder needs no encoder, and the
 * bytes are the ones sim sends for the same events (their encrypted part random, as the
 * swarm's keys make it look). A node that joins or leaves a network queues its network event
 * for memberlist's gossip (its own 200 ms ticker, up to 3 random members of the swarm, each
 * packet one transmission of each event), and a join bulk-syncs with every other member of
 * the network in turn: streams as long as sim's, which the members answer (bulkSyncIn). Peers are
 * drawn by the rule sim draws by (randomNodes), with the machine's randomness.
 *
 * A node that leaves the cluster (sim's daemon: depart), by `docker swarm leave` or because its
 * daemon stops, queues its node leave event alone: its NetworkDB closed before its containers
 * and networks went, so their deletes and network leaves never go out. It sends until that
 * event has gone its rounds
 * (clusterLeave waits for it): its holder is stopped only then (departures). A member that
 * hears a leave for the first time gossips it on from its next memberlist round, to the
 * members and to the leaver while it is still there, as sim's daemons do; the times a leave
 * reaches each member are the sends' own, in the order they happen (the earliest first). A
 * daemon that starts again is a new node (its node join event) that joins the networks its
 * node kept, each with its network event and bulk syncs.
 */
import { randomBytes } from 'crypto';
import { BROADCAST_TIMEOUT_NS, ClusterNode, gossipTransmits, knownNodes, NetworkDbClocks, recordOwnLeaves, queueNetworkEvent, queueNodeEvent, relayed, queueTableEvent, broadcastPacketMessage, ClusterNetwork, ClusterTableEntry, ClusterView, GOSSIP_INTERVAL_NS, GOSSIP_NODES, nextGossipTick, gossipPacketMessage, hasBroadcasts, joinSyncs, memberlistRound, MEMBERLIST_GOSSIP, NETWORKDB_GOSSIP, randomNodes, tableChanges } from '../sim/model/cluster';
import { Broadcast, copyQueue, gossipRound, queueBroadcast, QueuedEvent, transmitQueue, TransmitQueue } from '../sim/model/transmit_queue';
import { encryptedEnvelope, packetPlaintextLength } from '../sim/wire/memberlist';
import { NODE_EVENT, TABLE_EVENT } from '../sim/wire/networkdb';

const TICK_MS = GOSSIP_INTERVAL_NS / 1e6;
/**
 * How many ticks in a row a schedule lets memberlist's draw find no one before it ends: with
 * real draws a miss is rare (two nodes: 2^-6 a tick), but a draw that always misses (one
 * that gives the same index) would make the schedule endless.
 */
const MISSED_DRAWS = 64;

/**
 * What a holder sends at a time (the machine's clock, ms): a datagram to an underlay address
 * (its bytes in hex), or a network join's bulk syncs (each to an address, a stream of that
 * many bytes on a connection of its own), one after another: bulkSyncNode waits for the
 * member's answer, 30 s at most, before the next (libnetwork cluster.go bulkSync).
 */
export type GossipSend = [atMs: number, to: string, datagram: string] | [atMs: number, syncs: JoinSync[]];
export type JoinSync = [to: string, length: number];


interface NodeQueue {
  tableTime: number;
  /** NetworkDB's network clock: a join or leave moves it. */
  networkTime: number;
  joinedAt: Map<string, number>;
  /** Where in the 200 ms period its tickers fire (NetworkDB's and memberlist's start at random). */
  phaseMs: number;
  memberlistPhaseMs: number;
  /** Events per network, as they stood at `sinceMs`. */
  queued: Map<string, TransmitQueue>;
  /** Network and node events waiting for memberlist's gossip, as they stood at `sinceMs`. */
  networkBroadcasts: TransmitQueue;
  nodeBroadcasts: TransmitQueue;
  sinceMs: number;
  /** The last steps' network joins, each one's bulk syncs in turn. */
  syncs: JoinSync[][];
  /** How many others memberlist's rounds reached, as of `sinceMs` (up to 3). */
  peers: number;
  /** The leave events it has heard (or sent). */
  heardLeaves: Set<string>;
  /** Leave events heard after `sinceMs`, each joining `broadcasts` at its time (relayNodeEvent). */
  arriving: { atMs: number; event: Broadcast }[];
}

/** A node leaving the swarm: what it was, its leave event (as queueNodeEvent names it), and when its holder may stop (its leave event's last round), once its schedule is made. */
interface Departure {
  node: ClusterNode;
  leave?: string;
  /** When its leave event was queued: a dropped one's wait (BROADCAST_TIMEOUT_NS) counts from then, as sim's daemon counts it. */
  leaveQueuedAtMs?: number;
  closeAtMs?: number;
}

export class NetworkDbGossip implements NetworkDbClocks {
  /** `random`: the machine's randomness in emu; a test passes a seeded one so that its draws and phases repeat. */
  constructor(private readonly random: () => number = Math.random) {}

  private readonly below = (n: number): number => Math.floor(this.random() * n);
  /** The networks of the last view, in its order, and by id: their entries are what the next view's are compared with. */
  private lastNetworks: readonly ClusterNetwork[] = [];
  private networksById = new Map<string, ClusterNetwork>();
  /** The nodes of the last view. */
  private lastNodes: readonly ClusterNode[] = [];
  /** Each network's members, as the last view had them. */
  private members = new Map<string, string[]>();
  private readonly nodes = new Map<string, NodeQueue>();
  /** The lengths of the gossip datagrams each host was given (emu/control.ts names a datagram by them). */
  readonly lengths = new Map<string, Set<number>>();
  /** The lengths of the join syncs each host was given to send or to answer with (emu/control.ts names a stream by them). */
  readonly syncLengths = new Map<string, Set<number>>();
  /** The last step's join syncs each host may be sent, to add to its traffic's bulkSyncIn. */
  private syncsIn = new Map<string, { length: number; answer?: number }[]>();
  /** Every leave event sent so far: a node that joins later starts with them heard. */
  private readonly leaves = new Set<string>();
  /** The nodes leaving in the last steps told, by host. */
  private readonly leaving = new Map<string, Departure>();

  /** When each node that left in the last steps told may stop sending (its holder may go), by host (the machine's clock, ms). */
  departures(): Map<string, number> {
    return new Map([...this.leaving].map(([host, d]) => [host, d.closeAtMs ?? 0] as const));
  }

  /** The streams of the last step's join syncs a host may be sent: a joiner's, which it answers, and the answers to its own (its traffic's bulkSyncIn adds them). */
  bulkSyncIn(host: string): { length: number; answer?: number }[] {
    return this.syncsIn.get(host) ?? [];
  }

  /** A node's NetworkDB table clock: 1, and one more for each event it has sent. */
  tableTime(host: string): number {
    return this.nodes.get(host)?.tableTime ?? 1;
  }

  /** A node's NetworkDB network clock: one more for each network it joined or left. */
  networkTime(host: string): number {
    return this.nodes.get(host)?.networkTime ?? 0;
  }

  /** The network clock at which a node joined a network it is in. */
  joinedAt(host: string, networkId: string): number {
    return this.nodes.get(host)?.joinedAt.get(networkId) ?? 0;
  }

  /** The view after one step, at `nowMs` (observeSteps with one view). */
  observe(view: ClusterView | undefined, nowMs: number): Map<string, GossipSend[]> {
    return this.observeSteps([view], nowMs);
  }

  /**
   * The views after each of the steps the kernel is given at once, at `nowMs` (emu coalesces
   * steps that only add: their plans wait for a command that looks at the kernel). The rounds
   * each node has sent since it was last told are taken off its queue; then each step's view
   * is compared with the one before, in order, as sim's daemon sees them step by step: an
   * entry made before a node joined its network reaches that node by the join's bulk sync,
   * not as an event. Each node that has new events gets its whole schedule again (a holder
   * replaces the one it had), with the members as the last view has them.
   */
  observeSteps(views: (ClusterView | undefined)[], nowMs: number): Map<string, GossipSend[]> {
    for (const [host, q] of this.nodes) {
      // The rounds counted the members as the last view had them, as its schedule did.
      for (let at = nextGossipTick(q.sinceMs, q.phaseMs, TICK_MS); at <= nowMs; at += TICK_MS) {
        for (const [id, events] of q.queued) gossipRound(events, NETWORKDB_GOSSIP, gossipTransmits(this.members.get(id)?.length ?? 0));
      }
      for (const [id, events] of q.queued) if (events.events.length === 0) q.queued.delete(id);
      // Each packet memberlist sent took one transmission (up to 3 a tick, as many as there were others).
      for (let at = nextGossipTick(q.sinceMs, q.memberlistPhaseMs, TICK_MS); at <= nowMs && q.peers > 0; at += TICK_MS) {
        arrived(q, at);
        const nodes = this.known(this.lastNodes.length, host, q.heardLeaves);
        for (let i = 0; i < q.peers; i++) memberlistRound(q, MEMBERLIST_GOSSIP, nodes);
      }
      arrived(q, nowMs);
      q.sinceMs = nowMs;
      q.syncs = [];
    }
    // Those that left have stopped (the run waited for them).
    for (const host of this.leaving.keys()) this.nodes.delete(host);
    this.leaving.clear();
    this.syncsIn = new Map();
    const told = new Set<string>();
    for (const view of views) this.step(view, nowMs, told);
    const last = views[views.length - 1];
    const schedules = new Map<string, GossipSend[]>();
    if (!last) return schedules;
    // The leavers first: when their leave reaches each member decides when that member gossips it on.
    const heardAt = new Map<string, number>();
    const heard = (at: number, peer: string, batch: readonly QueuedEvent[]) => {
      const q = this.nodes.get(peer);
      if (!q || schedules.has(peer) || !batch.some((e) => e.leave && !q.heardLeaves.has(e.leave))) return;
      if ((heardAt.get(peer) ?? Infinity) > at) heardAt.set(peer, at);
      // What it hears from each sender, kept until it is scheduled (the earliest of them first).
      for (const e of batch) if (e.leave && !q.heardLeaves.has(e.leave) && !q.arriving.some((a) => a.event.leave === e.leave && a.atMs <= at)) {
        q.arriving = [...q.arriving.filter((a) => a.event.leave !== e.leave), { atMs: at, event: e }];
      }
    };
    for (const [host, d] of this.leaving) {
      schedules.set(host, this.schedule(last, host, nowMs, heard));
      told.delete(host);
      d.closeAtMs ??= nowMs;
    }
    // Then every member in the order the leaves reach them, or that was told of something new.
    for (;;) {
      let next: string | undefined;
      for (const [host, at] of heardAt) if (!schedules.has(host) && (next === undefined || at < heardAt.get(next)!)) next = host;
      if (next === undefined) break;
      const q = this.nodes.get(next)!;
      // heardLeaves takes them once their round is made (schedule): here they wait in `arriving`.
      q.arriving = q.arriving.map((a) => ({ atMs: a.atMs, event: relayed(a.event) }));
      schedules.set(next, this.schedule(last, next, nowMs, heard));
    }
    for (const host of told) if (!schedules.has(host) && this.nodes.has(host)) schedules.set(host, this.schedule(last, host, nowMs));
    return schedules;
  }

  /** How many nodes `host`'s NetworkDB counts for its memberlist queues: the members, and those still leaving whose leave it has not heard (knownNodes). */
  private known(members: number, host: string, heard: ReadonlySet<string>): number {
    return this.leaving.size === 0 ? members : knownNodes(members, host, [...this.leaving].map(([h, d]) => ({ host: h, leave: d.leave })), heard);
  }

  /** One step's view: members come and go, joins and leaves queue their network events and bulk syncs, entries made or deleted their table events; `told` gains the nodes that have something new to send. */
  private step(view: ClusterView | undefined, nowMs: number, told: Set<string>): void {
    const members = new Set(view?.nodes.map((n) => n.host) ?? []);
    // A node that leaves still sends its node event (its deletes and network leaves never go out).
    const departed: ClusterNode[] = [];
    for (const host of this.nodes.keys()) {
      if (members.has(host) || this.leaving.has(host)) continue;
      const node = this.lastNodes.find((n) => n.host === host);
      if (node) departed.push(node);
      else this.nodes.delete(host);
    }
    for (const node of departed) this.leaving.set(node.host, { node });
    this.lastNodes = view?.nodes ?? [];
    const nodeOf = (host: string) => view?.nodes.find((n) => n.host === host) ?? this.leaving.get(host)?.node;
    const started: string[] = [];
    for (const node of view?.nodes ?? []) {
      if (this.nodes.has(node.host)) continue;
      started.push(node.host);
      // One that joins others sends its node event (clusterJoin), as sim's daemon does.
      const joinsOthers = this.nodes.size > 0;
      // The leaves sent before it joined are of nodes it never knew: no news to it (sim's daemon: leaves).
      const q: NodeQueue = { tableTime: 1, networkTime: 0, joinedAt: new Map(), phaseMs: this.random() * TICK_MS, memberlistPhaseMs: this.random() * TICK_MS, queued: new Map(), networkBroadcasts: transmitQueue(), nodeBroadcasts: transmitQueue(), sinceMs: nowMs, syncs: [], peers: 0, heardLeaves: new Set(this.leaves), arriving: [] };
      this.nodes.set(node.host, q);
      if (joinsOthers) {
        queueNodeEvent(q, node.gossipName);
        told.add(node.host);
      }
    }
    const alive = (view?.nodes ?? []).filter((n) => n.alive).map((n) => n.host);
    for (const [host, q] of this.nodes) {
      const peers = Math.min(GOSSIP_NODES, alive.filter((h) => h !== host).length);
      // Events that waited for someone to hear them go to the members that came.
      if (q.peers === 0 && peers > 0 && hasBroadcasts(q)) told.add(host);
      q.peers = peers;
    }
    // Joins and leaves first: a node joins a network (its bulk syncs done) before it creates its entries there.
    const memberList = new Map((view?.networks ?? []).map((n) => [n.id, n.hosts] as const));
    const moves: { networkId: string; host: string; joined: boolean }[] = [];
    // A daemon that started again joins the networks its node still has (sim's daemon: rejoinNetworks).
    for (const host of started) for (const [id, hosts] of this.members) if (hosts.includes(host) && memberList.get(id)?.includes(host)) moves.push({ networkId: id, host, joined: true });
    for (const [id, hosts] of memberList) for (const host of hosts) if (!this.members.get(id)?.includes(host)) moves.push({ networkId: id, host, joined: true });
    for (const [id, hosts] of this.members) for (const host of hosts) if (!memberList.get(id)?.includes(host)) moves.push({ networkId: id, host, joined: false });
    this.members = memberList;
    for (const m of moves) {
      const q = this.nodes.get(m.host), node = nodeOf(m.host);
      if (!q || !node || this.leaving.has(m.host)) continue;
      queueNetworkEvent(q, m.joined, node.gossipName, m.networkId);
      told.add(m.host);
      if (!m.joined) continue;
      const syncs: JoinSync[] = [];
      for (const s of joinSyncs(view!, m.host, m.networkId, (h) => this.tableTime(h))) {
        const peer = view!.nodes.find((n) => n.host === s.peer)!;
        syncs.push([peer.address, s.stream]);
        lengthsOf(this.syncLengths, m.host).add(s.stream);
        lengthsOf(this.syncLengths, s.peer).add(s.answer);
        this.syncsIn.set(s.peer, [...(this.syncsIn.get(s.peer) ?? []), { length: s.stream, answer: s.answer }]);
        this.syncsIn.set(m.host, [...(this.syncsIn.get(m.host) ?? []), { length: s.answer }]);
      }
      if (syncs.length) q.syncs.push(syncs);
    }
    const networks = view?.networks ?? [];
    const byId = new Map(networks.map((n) => [n.id, n] as const));
    const queue = (e: ClusterTableEntry, type: number) => {
      const owner = this.nodes.get(e.owner), node = nodeOf(e.owner);
      const hosts = byId.get(e.networkId)?.hosts ?? [];
      if (!owner || !node || this.leaving.has(e.owner) || !hosts.some((h) => h !== e.owner)) return;
      queueTableEvent(owner, node, e, type);
      told.add(e.owner);
    };
    // Entries made, in the view's order, then entries gone, in the last view's. Only the networks whose version changed
    // are compared, and in them only the endpoints that changed (tableChanges, as sim's daemon compares them): a
    // coalesced `docker run` costs its own endpoint's entries, not a pass over every entry of every step's view.
    const deleted = new Map<string, ClusterTableEntry[]>();
    for (const n of networks) {
      const old = this.networksById.get(n.id);
      if (old === n) continue;
      const change = tableChanges(old, n);
      for (const e of change.created) queue(e, TABLE_EVENT.create);
      if (change.deleted.length) deleted.set(n.id, change.deleted);
    }
    for (const old of this.lastNetworks) {
      const gone = byId.has(old.id) ? deleted.get(old.id) : tableChanges(old, undefined).deleted;
      for (const e of gone ?? []) queue(e, TABLE_EVENT.delete);
    }
    this.lastNetworks = networks;
    this.networksById = byId;
    for (const node of departed) {
      const q = this.nodes.get(node.host)!;
      const departure = this.leaving.get(node.host)!;
      departure.leave = queueNodeEvent(q, node.gossipName, NODE_EVENT.leave);
      departure.leaveQueuedAtMs = nowMs;
      recordOwnLeaves(q, q.heardLeaves, this.leaves);
    }
  }

  /**
   * What a node sends from `nowMs`: its joins' syncs at once (each join's in turn), then the rounds its queues make
   * until they are empty, with the members as they stand now (and those still leaving, to memberlist's gossip); the
   * leaves it hears meanwhile join its queue as they come. A leaving node's rounds end with its leave event's last
   * (closeAtMs). `heard`: told of each packet with leave events, when it goes and to whom.
   */
  private schedule(view: ClusterView, host: string, nowMs: number, heard?: (atMs: number, peer: string, batch: readonly QueuedEvent[]) => void): GossipSend[] {
    const q = this.nodes.get(host)!;
    const departure = this.leaving.get(host);
    const ownLeave = departure?.leave;
    const queued = new Map([...q.queued].map(([id, events]) => [id, copyQueue(events)] as const));
    const address = new Map(view.nodes.filter((n) => n.alive).map((n) => [n.host, n.address] as const));
    for (const [h, d] of this.leaving) address.set(h, d.node.address);
    const lengths = lengthsOf(this.lengths, host);
    // A leaver is there for memberlist until its own leave is done; NetworkDB's table gossip goes to the network's members.
    const present = (h: string, at: number) => !this.leaving.has(h) || (this.leaving.get(h)!.closeAtMs ?? Infinity) >= at;
    const eligible = (h: string) => h !== host && address.has(h) && !this.leaving.has(h);
    const sends: GossipSend[] = q.syncs.map((syncs) => [nowMs, syncs]);
    // Each packet is encrypted afresh (its bytes random here): only its length is the message's, as sim's daemon sends it.
    const send = (at: number, peer: string, plaintextLength: number) => {
      const packet = encryptedEnvelope(plaintextLength, (n) => randomBytes(n));
      lengths.add(packet.length);
      sends.push([Math.round(at), address.get(peer)!, packet.toString('hex')]);
    };
    const hosts = [...view.nodes.map((n) => n.host), ...this.leaving.keys()];
    const broadcasts = { networkBroadcasts: copyQueue(q.networkBroadcasts), nodeBroadcasts: copyQueue(q.nodeBroadcasts) };
    let arrivals = q.arriving.map((a) => ({ atMs: a.atMs, event: { ...a.event } }));
    // The leaves it has heard by each round: one heard meanwhile stops counting its leaver (knownNodes).
    const heardLeaves = new Set(q.heardLeaves);
    let closeAt = departure ? Infinity : undefined;
    let leaveDropped = false;
    const dropped = ownLeave ? (e: QueuedEvent) => (leaveDropped ||= e.leave === ownLeave) : undefined;
    const networkHosts = new Map(view.networks.map((n) => [n.id, n.hosts] as const));
    const tableRounds = () => {
      // Each network's last round: an event goes out in several rounds in a row, so a round often sends the same
      // events as the one before, whose packet's plaintext length (its message compressed: most of a round's cost) it keeps.
      const lastRound = new Map<string, { batch: QueuedEvent[]; plaintextLength: number }>();
      for (let at = nextGossipTick(nowMs, q.phaseMs, TICK_MS); queued.size > 0 && at <= (closeAt ?? Infinity); at += TICK_MS) {
        for (const [id, events] of queued) {
          const batch = gossipRound(events, NETWORKDB_GOSSIP, gossipTransmits(networkHosts.get(id)?.length ?? 0));
          if (events.events.length === 0) queued.delete(id);
          if (batch.length === 0) continue;
          const last = lastRound.get(id);
          const plaintextLength = last && sameEvents(last.batch, batch) ? last.plaintextLength : packetPlaintextLength(gossipPacketMessage(batch), true);
          lastRound.set(id, { batch, plaintextLength });
          for (const peer of randomNodes(networkHosts.get(id) ?? [], GOSSIP_NODES, this.below, eligible)) send(at, peer, plaintextLength);
        }
      }
    };
    // A leaver's table rounds end where its memberlist rounds do; a member's are drawn first, as they always were.
    if (!departure) tableRounds();
    // With no one to tell, the events wait for the next member; a leaver with no one stops at once (sendNodeEvent does not wait).
    const someone = (at: number) => hosts.some((h) => h !== host && address.has(h) && present(h, at));
    if (departure && !someone(nowMs)) closeAt = nowMs;
    for (let at = nextGossipTick(nowMs, q.memberlistPhaseMs, TICK_MS), missed = 0; (hasBroadcasts(broadcasts) || arrivals.length > 0) && missed < MISSED_DRAWS && at <= (closeAt ?? Infinity); at += TICK_MS) {
      for (const a of arrivals) {
        if (a.atMs >= at) continue;
        queueBroadcast(broadcasts.nodeBroadcasts, a.event);
        if (a.event.leave) heardLeaves.add(a.event.leave);
      }
      arrivals = arrivals.filter((a) => a.atMs >= at);
      if (!someone(at)) {
        if (arrivals.length === 0) break;
        continue;
      }
      const peers = randomNodes(hosts, GOSSIP_NODES, this.below, (h) => h !== host && address.has(h) && present(h, at));
      // A draw that missed the others (kRandomNodes' 3n tries) sends nothing this tick; the next draws again.
      missed = peers.length === 0 ? missed + 1 : 0;
      // What the node counts cannot change within its tick: a leave it hears arrives later.
      const nodes = this.known(view.nodes.length, host, heardLeaves);
      for (const peer of peers) {
        const batch = memberlistRound(broadcasts, MEMBERLIST_GOSSIP, nodes, dropped);
        if (batch.length === 0) break;
        send(at, peer, packetPlaintextLength(broadcastPacketMessage(batch), true));
        if (heard && batch.some((e) => e.leave)) heard(at, peer, batch);
      }
      // clusterLeave's event has gone its rounds: memberlist leaves. One dropped waits for the timeout (BROADCAST_TIMEOUT_NS).
      if (ownLeave && closeAt === Infinity && !broadcasts.nodeBroadcasts.events.some((e) => e.leave === ownLeave)) closeAt = leaveDropped ? (departure?.leaveQueuedAtMs ?? nowMs) + BROADCAST_TIMEOUT_NS / 1e6 : at;
    }
    if (departure) {
      departure.closeAtMs = closeAt === undefined || closeAt === Infinity ? nowMs : closeAt;
      tableRounds();
    }
    return sends;
  }
}

/** Leave events heard before `atMs` join the node's queue (they are its to gossip on from then). */
function arrived(q: NodeQueue, atMs: number): void {
  for (const a of q.arriving) {
    if (a.atMs >= atMs || !a.event.leave) continue;
    q.heardLeaves.add(a.event.leave);
    queueBroadcast(q.nodeBroadcasts, a.event);
  }
  q.arriving = q.arriving.filter((a) => a.atMs >= atMs);
}

/** Whether two rounds' batches are the same events in the same order (then their messages are the same bytes). */
function sameEvents(a: readonly QueuedEvent[], b: readonly QueuedEvent[]): boolean {
  return a.length === b.length && a.every((e, i) => e === b[i]);
}

function lengthsOf(byHost: Map<string, Set<number>>, host: string): Set<number> {
  let lengths = byHost.get(host);
  if (!lengths) byHost.set(host, (lengths = new Set()));
  return lengths;
}
