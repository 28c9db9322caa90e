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
 */
import { randomBytes } from 'crypto';
import { NetworkDbClocks, queueNetworkEvent, queueNodeEvent, queueTableEvent, broadcastPacketMessage, ClusterTableEntry, ClusterView, entryKey, GOSSIP_INTERVAL_NS, GOSSIP_NODES, nextGossipTick, gossipPacketMessage, gossipRound, joinSyncs, QueuedEvent, randomNodes } from '../sim/model/cluster';
import { memberlistPacket } from '../sim/wire/memberlist';
import { TABLE_EVENT } from '../sim/wire/networkdb';

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
  queued: Map<string, QueuedEvent[]>;
  /** Network events waiting for memberlist's gossip, as they stood at `sinceMs`. */
  broadcasts: QueuedEvent[];
  sinceMs: number;
  /** The last steps' network joins, each one's bulk syncs in turn. */
  syncs: JoinSync[][];
  /** How many others memberlist's rounds reached, as of `sinceMs` (up to 3). */
  peers: number;
}

export class NetworkDbGossip implements NetworkDbClocks {
  /** `random`: the machine's randomness in emu; a test passes a seeded one so that its draws and phases repeat. */
  constructor(private readonly random: () => number = Math.random) {}

  private readonly below = (n: number): number => Math.floor(this.random() * n);
  private entries = new Map<string, ClusterTableEntry>();
  /** Each network's members, as the last view had them. */
  private members = new Map<string, string[]>();
  private readonly nodes = new Map<string, NodeQueue>();
  /** The lengths of the gossip datagrams each host was given (emu/control.ts names a datagram by them). */
  readonly lengths = new Map<string, Set<number>>();
  /** The lengths of the join syncs each host was given to send or to answer with (emu/control.ts names a stream by them). */
  readonly syncLengths = new Map<string, Set<number>>();
  /** The last step's join syncs each host may be sent, to add to its traffic's bulkSyncIn. */
  private syncsIn = new Map<string, { length: number; answer?: number }[]>();

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
    for (const q of this.nodes.values()) {
      for (let at = nextGossipTick(q.sinceMs, q.phaseMs, TICK_MS); at <= nowMs; at += TICK_MS) for (const [id, events] of q.queued) q.queued.set(id, gossipRound(events).rest);
      for (const [id, events] of q.queued) if (events.length === 0) q.queued.delete(id);
      // Each packet memberlist sent took one transmission (up to 3 a tick, as many as there were others).
      for (let at = nextGossipTick(q.sinceMs, q.memberlistPhaseMs, TICK_MS); at <= nowMs && q.peers > 0; at += TICK_MS) for (let i = 0; i < q.peers; i++) q.broadcasts = gossipRound(q.broadcasts).rest;
      q.sinceMs = nowMs;
      q.syncs = [];
    }
    this.syncsIn = new Map();
    const told = new Set<string>();
    for (const view of views) this.step(view, nowMs, told);
    const last = views[views.length - 1];
    const schedules = new Map<string, GossipSend[]>();
    for (const host of told) if (last && this.nodes.has(host)) schedules.set(host, this.schedule(last, host, nowMs));
    return schedules;
  }

  /** One step's view: members come and go, joins and leaves queue their network events and bulk syncs, entries made or deleted their table events; `told` gains the nodes that have something new to send. */
  private step(view: ClusterView | undefined, nowMs: number, told: Set<string>): void {
    const members = new Set(view?.nodes.map((n) => n.host) ?? []);
    for (const host of this.nodes.keys()) if (!members.has(host)) this.nodes.delete(host);
    for (const node of view?.nodes ?? []) {
      if (this.nodes.has(node.host)) continue;
      // One that joins others sends its node event (clusterJoin), as sim's daemon does.
      const joinsOthers = this.nodes.size > 0;
      const q: NodeQueue = { tableTime: 1, networkTime: 0, joinedAt: new Map(), phaseMs: this.random() * TICK_MS, memberlistPhaseMs: this.random() * TICK_MS, queued: new Map(), broadcasts: [], sinceMs: nowMs, syncs: [], peers: 0 };
      this.nodes.set(node.host, q);
      if (joinsOthers) {
        queueNodeEvent(q, node.gossipName, view!.nodes.length);
        told.add(node.host);
      }
    }
    const alive = (view?.nodes ?? []).filter((n) => n.alive).map((n) => n.host);
    for (const [host, q] of this.nodes) {
      const peers = Math.min(GOSSIP_NODES, alive.filter((h) => h !== host).length);
      // Events that waited for someone to hear them go to the members that came.
      if (q.peers === 0 && peers > 0 && q.broadcasts.length > 0) told.add(host);
      q.peers = peers;
    }
    // Joins and leaves first: a node joins a network (its bulk syncs done) before it creates its entries there.
    const memberList = new Map((view?.networks ?? []).map((n) => [n.id, n.hosts] as const));
    const moves: { networkId: string; host: string; joined: boolean }[] = [];
    for (const [id, hosts] of memberList) for (const host of hosts) if (!this.members.get(id)?.includes(host)) moves.push({ networkId: id, host, joined: true });
    for (const [id, hosts] of this.members) for (const host of hosts) if (!memberList.get(id)?.includes(host)) moves.push({ networkId: id, host, joined: false });
    this.members = memberList;
    for (const m of moves) {
      const q = this.nodes.get(m.host), node = view?.nodes.find((n) => n.host === m.host);
      if (!q || !node) continue;
      queueNetworkEvent(q, m.joined, node.gossipName, m.networkId, view!.nodes.length);
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
    const next = new Map((view?.networks ?? []).flatMap((n) => n.entries).map((e) => [entryKey(e), e] as const));
    const queue = (e: ClusterTableEntry, type: number) => {
      const owner = this.nodes.get(e.owner), node = view?.nodes.find((n) => n.host === e.owner);
      const hosts = view?.networks.find((n) => n.id === e.networkId)?.hosts ?? [];
      if (!owner || !node || !hosts.some((h) => h !== e.owner)) return;
      queueTableEvent(owner, node, e, type, hosts.length);
      told.add(e.owner);
    };
    for (const [key, e] of next) if (!this.entries.has(key)) queue(e, TABLE_EVENT.create);
    for (const [key, e] of this.entries) if (!next.has(key)) queue(e, TABLE_EVENT.delete);
    this.entries = next;
  }

  /**
   * What a node sends from `nowMs`: its joins' syncs at once (each join's in turn), then the rounds its queues make
   * until they are empty, with the members as they stand now.
   */
  private schedule(view: ClusterView, host: string, nowMs: number): GossipSend[] {
    const q = this.nodes.get(host)!;
    const queued = new Map([...q.queued].map(([id, events]) => [id, events.map((e) => ({ ...e }))] as const));
    const address = new Map(view.nodes.filter((n) => n.alive).map((n) => [n.host, n.address] as const));
    const lengths = lengthsOf(this.lengths, host);
    const eligible = (h: string) => h !== host && address.has(h);
    const sends: GossipSend[] = q.syncs.map((syncs) => [nowMs, syncs]);
    const send = (at: number, peer: string, message: Buffer) => {
      const packet = memberlistPacket(message, true, (n) => randomBytes(n));
      lengths.add(packet.length);
      sends.push([Math.round(at), address.get(peer)!, packet.toString('hex')]);
    };
    for (let at = nextGossipTick(nowMs, q.phaseMs, TICK_MS); queued.size > 0; at += TICK_MS) {
      for (const [id, events] of queued) {
        const { batch, rest } = gossipRound(events);
        if (rest.length) queued.set(id, rest);
        else queued.delete(id);
        if (batch.length === 0) continue;
        const message = gossipPacketMessage(batch);
        for (const peer of randomNodes(view.networks.find((n) => n.id === id)?.hosts ?? [], GOSSIP_NODES, this.below, eligible)) send(at, peer, message);
      }
    }
    const hosts = view.nodes.map((n) => n.host);
    let broadcasts = q.broadcasts.map((e) => ({ ...e }));
    // With no one to tell, the events wait for the next member.
    const told = hosts.some(eligible);
    for (let at = nextGossipTick(nowMs, q.memberlistPhaseMs, TICK_MS), missed = 0; told && broadcasts.length > 0 && missed < MISSED_DRAWS; at += TICK_MS) {
      const peers = randomNodes(hosts, GOSSIP_NODES, this.below, eligible);
      // A draw that missed the others (kRandomNodes' 3n tries) sends nothing this tick; the next draws again.
      missed = peers.length === 0 ? missed + 1 : 0;
      for (const peer of peers) {
        const { batch, rest } = gossipRound(broadcasts);
        broadcasts = rest;
        if (batch.length > 0) send(at, peer, broadcastPacketMessage(batch));
      }
    }
    return sends;
  }
}

function lengthsOf(byHost: Map<string, Set<number>>, host: string): Set<number> {
  let lengths = byHost.get(host);
  if (!lengths) byHost.set(host, (lengths = new Set()));
  return lengths;
}
