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
 * swarm's keys make it look).
 */
import { randomBytes } from 'crypto';
import { ClusterTableEntry, ClusterView, entryKey, GOSSIP_INTERVAL_NS, GOSSIP_NODES, gossipPacketMessage, gossipRound, gossipTransmits, QueuedEvent, tableEventMessage } from '../sim/model/cluster';
import { memberlistPacket } from '../sim/wire/memberlist';
import { TABLE_EVENT } from '../sim/wire/networkdb';

const TICK_MS = GOSSIP_INTERVAL_NS / 1e6;

/** A datagram a holder sends: when (the machine's clock, ms), to which underlay address, its bytes in hex. */
export type GossipSend = [atMs: number, to: string, packet: string];

interface NodeQueue {
  tableTime: number;
  /** Where in the 200 ms period its ticker fires (NetworkDB's tickers start at random). */
  phaseMs: number;
  /** Events per network, as they stood at `sinceMs`. */
  queued: Map<string, QueuedEvent[]>;
  sinceMs: number;
}

export class NetworkDbGossip {
  private entries = new Map<string, ClusterTableEntry>();
  private readonly nodes = new Map<string, NodeQueue>();
  /** The lengths of the gossip datagrams each host was given (emu/control.ts names a datagram by them). */
  readonly lengths = new Map<string, Set<number>>();

  /** A node's NetworkDB table clock: 1, and one more for each event it has sent. */
  tableTime(host: string): number {
    return this.nodes.get(host)?.tableTime ?? 1;
  }

  /**
   * The view after a step, at `nowMs`: the rounds each node has sent since it was last told
   * are taken off its queue, the step's events are queued, and each node that has new events
   * gets its whole schedule again (a holder replaces the one it had).
   */
  observe(view: ClusterView | undefined, nowMs: number): Map<string, GossipSend[]> {
    const members = new Set(view?.nodes.map((n) => n.host) ?? []);
    for (const host of this.nodes.keys()) if (!members.has(host)) this.nodes.delete(host);
    for (const host of members) if (!this.nodes.has(host)) this.nodes.set(host, { tableTime: 1, phaseMs: Math.random() * TICK_MS, queued: new Map(), sinceMs: nowMs });
    for (const q of this.nodes.values()) {
      for (let at = nextTick(q, q.sinceMs); at <= nowMs; at += TICK_MS) for (const [id, events] of q.queued) q.queued.set(id, gossipRound(events).rest);
      for (const [id, events] of q.queued) if (events.length === 0) q.queued.delete(id);
      q.sinceMs = nowMs;
    }
    const next = new Map((view?.networks ?? []).flatMap((n) => n.entries).map((e) => [entryKey(e), e] as const));
    const told = new Set<string>();
    const queue = (e: ClusterTableEntry, type: number) => {
      const owner = this.nodes.get(e.owner), node = view?.nodes.find((n) => n.host === e.owner);
      const hosts = view?.networks.find((n) => n.id === e.networkId)?.hosts ?? [];
      if (!owner || !node || !hosts.some((h) => h !== e.owner)) return;
      owner.tableTime++;
      const events = owner.queued.get(e.networkId) ?? [];
      owner.queued.set(e.networkId, events);
      events.push({ msg: tableEventMessage({ tableTime: owner.tableTime, gossipName: node.gossipName, address: node.address }, e, type), left: gossipTransmits(hosts.length) });
      told.add(e.owner);
    };
    for (const [key, e] of next) if (!this.entries.has(key)) queue(e, TABLE_EVENT.create);
    for (const [key, e] of this.entries) if (!next.has(key)) queue(e, TABLE_EVENT.delete);
    this.entries = next;
    const schedules = new Map<string, GossipSend[]>();
    for (const host of told) schedules.set(host, this.schedule(view!, host, nowMs));
    return schedules;
  }

  /** The rounds a node's queue makes from `nowMs` until it is empty, with the members as they stand now. */
  private schedule(view: ClusterView, host: string, nowMs: number): GossipSend[] {
    const q = this.nodes.get(host)!;
    const queued = new Map([...q.queued].map(([id, events]) => [id, events.map((e) => ({ ...e }))] as const));
    const address = new Map(view.nodes.filter((n) => n.alive).map((n) => [n.host, n.address] as const));
    const lengths = this.lengths.get(host) ?? new Set<number>();
    this.lengths.set(host, lengths);
    const sends: GossipSend[] = [];
    for (let at = nextTick(q, nowMs); queued.size > 0; at += TICK_MS) {
      for (const [id, events] of queued) {
        const { batch, rest } = gossipRound(events);
        if (rest.length) queued.set(id, rest);
        else queued.delete(id);
        const others = (view.networks.find((n) => n.id === id)?.hosts ?? []).filter((h) => h !== host && address.has(h));
        if (batch.length === 0) continue;
        const message = gossipPacketMessage(batch);
        for (const peer of shuffled(others).slice(0, GOSSIP_NODES)) {
          const packet = memberlistPacket(message, true, (n) => randomBytes(n));
          lengths.add(packet.length);
          sends.push([Math.round(at), address.get(peer)!, packet.toString('hex')]);
        }
      }
    }
    return sends;
  }
}

/** The node's first tick after `ms`. */
function nextTick(q: NodeQueue, ms: number): number {
  return ms + TICK_MS - ((((ms - q.phaseMs) % TICK_MS) + TICK_MS) % TICK_MS);
}

function shuffled<T>(xs: T[]): T[] {
  const a = [...xs];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}
