/**
 * memberlist's TransmitLimitedQueue (queue.go, v0.4.0 as moby v20.10 vendors it), the queue
 * NetworkDB keeps per network for its table events and twice more for its network and node
 * events: what waits for gossip rounds, in the queue's own order, and what one round takes.
 * sim's daemon and emu's player both keep theirs with it.
 */

/** A broadcast waiting in its queue (limitedBroadcast), and how many more rounds carry it. */
export interface QueuedEvent {
  /** The message's length (msgLen, len(Message())): what a round's packet counts, and the queue's second key. */
  readonly length: number;
  /**
   * The message itself, once made (messageOf makes it when first asked: a packet the trace
   * keeps asks, one it only counts does not). A copy ({ ...e }, as emu's schedule takes)
   * carries the bytes made so far, and what makes them.
   */
  msg?: Buffer;
  /** What makes the message, where it waits to be asked for (a table event's). */
  readonly make?: () => Buffer;
  /** How many rounds have carried it (transmits): the queue's first key. */
  transmits: number;
  /** The stamp its queue gave it (id, from idGen): the queue's third key. */
  readonly id: number;
  /**
   * What a later broadcast of the same kind replaces it by (NetworkDB's Invalidates: a
   * network event its network's next, a table event its entry's next); node events have none.
   */
  readonly topic?: string;
  /**
   * A node's leave event, by its node and network clock: news to a member the first time it
   * comes (handleNodeEvent moves the node to the left ones), which then gossips it on.
   */
  readonly leave?: string;
}

/**
 * One TransmitLimitedQueue: its broadcasts in its order (broadcastOrder), the id the last one
 * queued was stamped with, and the queued broadcast of each topic (what a new one of the
 * topic replaces, found without looking through the queue).
 */
export interface TransmitQueue {
  events: QueuedEvent[];
  idGen: number;
  byTopic: Map<string, QueuedEvent>;
}

export function transmitQueue(): TransmitQueue {
  return { events: [], idGen: 0, byTopic: new Map() };
}

/** A queue and its broadcasts as they stand, for a schedule to use up without touching the original (emu plans ahead). */
export function copyQueue(q: TransmitQueue): TransmitQueue {
  const copy = transmitQueue();
  copy.idGen = q.idGen;
  for (const e of q.events) {
    const c = { ...e };
    copy.events.push(c);
    if (c.topic !== undefined) copy.byTopic.set(c.topic, c);
  }
  return copy;
}

/**
 * limitedBroadcast.Less: fewer transmits first (fresher news), then the longer message, then
 * the higher id (the later queued). Negative when `a` goes before `b`.
 */
function broadcastOrder(a: QueuedEvent, b: QueuedEvent): number {
  return a.transmits - b.transmits || b.length - a.length || b.id - a.id;
}

/** What a broadcast is made of before its queue stamps it. */
export interface Broadcast {
  length: number;
  msg?: Buffer;
  make?: () => Buffer;
  topic?: string;
  leave?: string;
}

/**
 * QueueBroadcast: the queue stamps it with the next id, drops a queued broadcast it replaces
 * (the same topic), and puts it in its place. Every event is made as the same plain record
 * (an object literal with a getter, or fields in another order, took a hidden class of its
 * own, which made each of a big swarm's many table events cost more than its message).
 */
export function queueBroadcast(q: TransmitQueue, b: Broadcast): void {
  const id = ++q.idGen;
  const e: QueuedEvent = { length: b.length, msg: b.msg, make: b.make, transmits: 0, id, topic: b.topic, leave: b.leave };
  const old = e.topic === undefined ? undefined : q.byTopic.get(e.topic);
  if (old) {
    // The queue's keys are its order: the old one is found where it sorts.
    q.events.splice(firstIndex(q.events, 0, q.events.length, (o) => broadcastOrder(old, o) <= 0), 1);
    // deleteItem: an emptied queue starts its ids again (the new one keeps the id it took).
    if (q.events.length === 0) q.idGen = 0;
  }
  // addItem is the btree's ReplaceOrInsert.
  replaceOrInsert(q, e);
  if (e.topic !== undefined) q.byTopic.set(e.topic, e);
}

/** A broadcast gone from its queue no longer stands for its topic there. */
function forget(q: TransmitQueue, e: QueuedEvent): void {
  if (e.topic !== undefined && q.byTopic.get(e.topic) === e) q.byTopic.delete(e.topic);
}

/**
 * The btree's ReplaceOrInsert: `e` goes where it sorts, and one already there the same in all
 * three keys is replaced by it (`replaced`). Ids start again once the queue empties, so a
 * broadcast queued after that can come to share a tier, a length and an id with one queued before.
 */
function replaceOrInsert(q: TransmitQueue, e: QueuedEvent, dropped?: (e: QueuedEvent) => void): void {
  const events = q.events;
  const at = firstIndex(events, 0, events.length, (o) => broadcastOrder(e, o) <= 0);
  if (at < events.length && broadcastOrder(e, events[at]) === 0) {
    replaced(q, events[at], dropped);
    events[at] = e;
  } else {
    events.splice(at, 0, e);
  }
}

/** A queued broadcast the btree replaced: gone without its Finished, which memberlist calls only for the limit or an Invalidates. */
function replaced(q: TransmitQueue, old: QueuedEvent, dropped?: (e: QueuedEvent) => void): void {
  forget(q, old);
  dropped?.(old);
}

/** The event's message, made now if it waits to be asked for. */
export function messageOf(e: Broadcast): Buffer {
  return (e.msg ??= e.make!());
}

/** What a gossip round may fill (GetBroadcasts's limit) and what each message is counted as costing beyond its length. */
export interface GossipBudget {
  limit: number;
  overhead: number;
}

/**
 * One GetBroadcasts: tier by tier of transmits, from the fewest, the first broadcast in the
 * queue's order that fits what is left of the packet, again and again, until none of the
 * tier fits; no tier is looked at once nothing is left. A broadcast too long for the room
 * left is passed over for shorter ones behind it. Those taken are counted as sent once
 * more and, while fewer than `transmitLimit`, queued again among the next tier's. The limit
 * is the round's (retransmitLimit of NumNodes, which memberlist asks at each GetBroadcasts):
 * members that came or went since a broadcast was queued change how many rounds it has left.
 * `dropped` is told of each queued broadcast the round's reinsertion replaced (requeue): gone
 * without its Finished, which memberlist calls only for the limit or an Invalidates.
 */
export function gossipRound(q: TransmitQueue, budget: GossipBudget, transmitLimit: number, dropped?: (e: QueuedEvent) => void): QueuedEvent[] {
  const events = q.events;
  const batch: QueuedEvent[] = [];
  // Where each taken one stood: ascending, as the search goes on past each.
  const takenAt: number[] = [];
  let used = 0;
  // The queue's order is by transmits, then by length from the longest: within a tier, those
  // too long for the room left come first, so each search is a binary one (the btree's AscendRange).
  for (let at = 0; at < events.length; ) {
    const free = budget.limit - used - budget.overhead;
    if (free <= 0) break;
    const tier = events[at].transmits;
    const tierEnd = firstIndex(events, at, events.length, (e) => e.transmits > tier);
    const fits = firstIndex(events, at, tierEnd, (e) => e.length <= free);
    if (fits === tierEnd) {
      at = tierEnd;
      continue;
    }
    const e = events[fits];
    batch.push(e);
    takenAt.push(fits);
    used += budget.overhead + e.length;
    at = fits + 1;
  }
  if (batch.length === 0) return batch;
  // deleteItem: the queue emptied by the round starts its ids again.
  if (batch.length === events.length) q.idGen = 0;
  const again: QueuedEvent[] = [];
  for (const e of batch) {
    e.transmits++;
    if (e.transmits < transmitLimit) again.push(e);
    else forget(q, e);
  }
  // One pass puts the rest and those queued again in the queue's order, in place: what the btree's
  // deletes and ReplaceOrInsert leave. The taken were in the queue's order, and one transmit more
  // each keeps it. Each queued again sorts after the place it was taken from, so it is written
  // only once that place has been passed over, and never over one not yet read.
  let write = 0;
  let t = 0;
  let j = 0;
  for (let i = 0; i < events.length; i++) {
    if (t < takenAt.length && takenAt[t] === i) {
      t++;
      continue;
    }
    const o = events[i];
    let order = 1;
    while (j < again.length && (order = broadcastOrder(again[j], o)) < 0) events[write++] = again[j++];
    if (order === 0) {
      replaced(q, o, dropped);
      events[write++] = again[j++];
    } else {
      events[write++] = o;
    }
  }
  while (j < again.length) events[write++] = again[j++];
  events.length = write;
  return batch;
}

/** The first index in [lo, hi) whose event meets `test`, which once met stays met (hi when none does). */
function firstIndex(events: readonly QueuedEvent[], lo: number, hi: number, test: (e: QueuedEvent) => boolean): number {
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (test(events[mid])) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}
