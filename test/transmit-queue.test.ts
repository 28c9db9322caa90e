/**
 * memberlist's TransmitLimitedQueue as NetworkDB's queues use it (sim/model/transmit_queue.ts):
 * what one gossip round takes, in the queue's order (fewest transmits, then the longest,
 * then the newest), passing over what does not fit for what does, and what QueueBroadcast
 * replaces.
 */
import { gossipTransmits, MEMBERLIST_GOSSIP, memberlistRound, NETWORKDB_GOSSIP } from '../sim/model/cluster';
import { gossipRound, queueBroadcast, QueuedEvent, transmitQueue, TransmitQueue } from '../sim/model/transmit_queue';

/** A queue of broadcasts of these lengths, queued in this order (each named by its place in it). */
function queueOf(lengths: number[]): TransmitQueue {
  const q = transmitQueue();
  for (const length of lengths) queueBroadcast(q, { length, msg: Buffer.alloc(length) });
  return q;
}
/** retransmitLimit for up to 9 nodes (4 × ⌈log10(n + 1)⌉). */
const LIMIT = 4;
const sizes = (batch: QueuedEvent[]) => batch.map((e) => e.length);
const ids = (batch: QueuedEvent[]) => batch.map((e) => e.id);
const n = (count: number, length: number): number[] => Array(count).fill(length);

describe('what one gossip round carries (TransmitLimitedQueue.GetBroadcasts)', () => {
  test("memberlist's packet, encrypted, less its compound header, 3 a message; NetworkDB's less its own header (5), 4 a message", () => {
    // memberlist: a 1400-byte packet less its compound header (2) and AES-GCM's version,
    // nonce and tag (1 + 12 + 16) leaves 1369; each message costs its length, its compound
    // length (2) and its user-message type (1). Ten of 133 bytes cost 1360, one of 6 fills
    // the 1369 exactly, and even an empty one (3) is then too much: 11 go. Forgetting the
    // encryption (1398) or a byte of each message's cost (10 × 135 + 8 = 1358) sends the 12th.
    expect(sizes(gossipRound(queueOf([...n(10, 133), 6, 0]), MEMBERLIST_GOSSIP, LIMIT))).toEqual([...n(10, 133), 6]);
    // A byte over the limit: one of 7 costs 10 where 9 are left, so only the ten go.
    expect(sizes(gossipRound(queueOf([...n(10, 133), 7]), MEMBERLIST_GOSSIP, LIMIT))).toEqual(n(10, 133));
    // NetworkDB: 1400 less its header (a type byte and a 4-byte count) leaves 1395; each event
    // costs its length and a 4-byte length. Fifteen of 89 bytes (93 each) fill it exactly; a
    // sixteenth, even empty (4), does not fit. A cost a byte short (15 × 92 + 3 = 1383) takes it.
    expect(sizes(gossipRound(queueOf([...n(15, 89), 0]), NETWORKDB_GOSSIP, LIMIT))).toEqual(n(15, 89));
    // The same 60-byte events: 1369 / 63 and 1395 / 64 both take 21.
    expect(gossipRound(queueOf(n(30, 60)), MEMBERLIST_GOSSIP, LIMIT).length).toBe(21);
    expect(gossipRound(queueOf(n(30, 60)), NETWORKDB_GOSSIP, LIMIT).length).toBe(21);
  });

  test('the longest first, whenever queued; one too long for the room left is passed over for shorter ones behind it', () => {
    // The 90, queued last, goes first (94); thirteen of 89 (1209) then leave 92, a fourteenth's 93 too much.
    expect(sizes(gossipRound(queueOf([...n(14, 89), 90]), NETWORKDB_GOSSIP, LIMIT))).toEqual([90, ...n(13, 89)]);
    // Ten of 133 leave 9 (6 for a message): the 7 does not fit, the 6 behind it does.
    expect(sizes(gossipRound(queueOf([...n(10, 133), 7, 6]), MEMBERLIST_GOSSIP, LIMIT))).toEqual([...n(10, 133), 6]);
  });

  test('among the same length the latest queued first; fewer transmits before any length', () => {
    const q = queueOf([50, 50, 50]);
    expect(ids(gossipRound(q, NETWORKDB_GOSSIP, LIMIT))).toEqual([3, 2, 1]);
    // All three were sent once; one queued now (the queue had emptied in the round: ids start again) goes first.
    queueBroadcast(q, { length: 10, msg: Buffer.alloc(10) });
    expect(gossipRound(q, NETWORKDB_GOSSIP, LIMIT).map((e) => [e.length, e.transmits])).toEqual([[10, 1], [50, 2], [50, 2], [50, 2]]);
  });

  test('a tier that does not fit is passed over for the next one', () => {
    // One of 1000 sent once, then one of 1300 and one of 300 queued: the 1300 (fewer transmits) goes, the 300 too, the 1000 waits.
    const q = queueOf([1000]);
    gossipRound(q, NETWORKDB_GOSSIP, LIMIT);
    queueBroadcast(q, { length: 1300, msg: Buffer.alloc(1300) });
    queueBroadcast(q, { length: 30, msg: Buffer.alloc(30) });
    expect(sizes(gossipRound(q, NETWORKDB_GOSSIP, LIMIT))).toEqual([1300, 30]);
    expect(q.events.map((e) => [e.length, e.transmits])).toEqual([[1300, 1], [1000, 1], [30, 1]]);
  });

  test('each event goes its rounds, then leaves the queue', () => {
    const q = queueOf([40, 40]);
    expect(gossipRound(q, NETWORKDB_GOSSIP, 2)).toHaveLength(2);
    expect(gossipRound(q, NETWORKDB_GOSSIP, 2)).toHaveLength(2);
    expect(q.events).toEqual([]);
    expect(gossipRound(q, NETWORKDB_GOSSIP, 2)).toEqual([]);
  });

  test("the limit is the round's: members that come or go change the rounds an event has left (GetBroadcasts asks NumNodes each time)", () => {
    // Queued among 9 (4 rounds); after two, the network has 10 members (8 rounds): six more go, not two.
    const q = queueOf([40]);
    for (let round = 0; round < 2; round++) expect(gossipRound(q, NETWORKDB_GOSSIP, gossipTransmits(9))).toHaveLength(1);
    let more = 0;
    while (gossipRound(q, NETWORKDB_GOSSIP, gossipTransmits(10)).length > 0) more++;
    expect(more).toBe(6);
    // Queued among 10, sent 5 times; then the members are 9 again: the sixth round is past the limit of 4, the last.
    const r = queueOf([40]);
    for (let round = 0; round < 5; round++) gossipRound(r, NETWORKDB_GOSSIP, gossipTransmits(10));
    expect(gossipRound(r, NETWORKDB_GOSSIP, gossipTransmits(9))).toHaveLength(1);
    expect(r.events).toEqual([]);
  });
});

describe('QueueBroadcast', () => {
  test('a broadcast of the same topic (Invalidates) replaces the one queued', () => {
    const q = transmitQueue();
    queueBroadcast(q, { length: 40, msg: Buffer.from('create'), topic: 'endpoint_table|n1|ep1' });
    queueBroadcast(q, { length: 40, msg: Buffer.from('other'), topic: 'endpoint_table|n1|ep2' });
    queueBroadcast(q, { length: 52, msg: Buffer.from('delete'), topic: 'endpoint_table|n1|ep1' });
    expect(q.events.map((e) => [e.msg!.toString(), e.id])).toEqual([['delete', 3], ['other', 2]]);
    // Node events have no topic: none replaces another.
    queueBroadcast(q, { length: 10, msg: Buffer.from('leave') });
    queueBroadcast(q, { length: 10, msg: Buffer.from('leave') });
    expect(q.events).toHaveLength(4);
  });

  test('the one of its topic is replaced wherever it stands: one sent already, not one that went its rounds', () => {
    const q = transmitQueue();
    queueBroadcast(q, { length: 40, msg: Buffer.from('create'), topic: 'endpoint_table|n1|ep1' });
    queueBroadcast(q, { length: 30, msg: Buffer.from('other'), topic: 'endpoint_table|n1|ep2' });
    gossipRound(q, NETWORKDB_GOSSIP, LIMIT);
    queueBroadcast(q, { length: 20, msg: Buffer.from('third') });
    queueBroadcast(q, { length: 52, msg: Buffer.from('delete'), topic: 'endpoint_table|n1|ep1' });
    expect(q.events.map((e) => [e.msg!.toString(), e.transmits])).toEqual([['delete', 0], ['third', 0], ['other', 1]]);
    // Gone its rounds, an event is no longer there to replace: the next of its topic is only queued.
    for (let round = 0; round < LIMIT; round++) gossipRound(q, NETWORKDB_GOSSIP, LIMIT);
    expect(q.events).toEqual([]);
    queueBroadcast(q, { length: 30, msg: Buffer.from('again'), topic: 'endpoint_table|n1|ep2' });
    expect(q.events.map((e) => e.msg!.toString())).toEqual(['again']);
  });

  test('ids start again once a round empties the queue: one queued after it can come to share a tier, length and id with one before, and replaces it', () => {
    // Room for two of 600 a round. a (id 1) and b (id 2) go in one round: the queue empties, ids start again.
    const q = queueOf([600, 600]);
    expect(ids(gossipRound(q, NETWORKDB_GOSSIP, LIMIT))).toEqual([2, 1]);
    // c takes id 1 again. The round takes c (transmits 0), then b (1, id 2); a does not fit.
    queueBroadcast(q, { length: 600, msg: Buffer.from('c') });
    const dropped: QueuedEvent[] = [];
    expect(gossipRound(q, NETWORKDB_GOSSIP, LIMIT, (e) => dropped.push(e)).map((e) => [e.transmits, e.id])).toEqual([[1, 1], [2, 2]]);
    // a is gone without going its rounds (no Finished in memberlist): the round says so.
    expect(dropped.map((e) => [e.transmits, e.id, e.msg!.toString()])).toEqual([[1, 1, '\0'.repeat(600)]]);
    // c, queued again at transmits 1 with id 1 and 600 bytes, is a to the btree: it replaces it.
    expect(q.events.map((e) => [e.transmits, e.id, e.msg!.toString()])).toEqual([[1, 1, 'c'], [2, 2, '\0'.repeat(600)]]);
  });
});

test("memberlist's packet asks NetworkDB's network events, then its node events, each with the whole room (delegate.go GetBroadcasts)", () => {
  const q = { networkBroadcasts: queueOf(n(10, 130)), nodeBroadcasts: queueOf(n(10, 130)) };
  // Ten of 130 (133 each) fit the 1369, and the node events' queue is given the 1369 again: twenty go.
  expect(sizes(memberlistRound(q, MEMBERLIST_GOSSIP, 9))).toEqual(n(20, 130));
});
