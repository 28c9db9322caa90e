/**
 * The queue (sim/model/transmit_queue.ts) against the btree it stands for, kept the plain way:
 * an array sorted again after every change, ReplaceOrInsert a delete of the one the same in
 * all three keys before the insert, a round's picks by looking through the whole queue.
 * Whatever is queued and however the rounds go, both take the same broadcasts, drop the same
 * ones and leave the same queue.
 */
import fc from 'fast-check';
import { gossipRound, queueBroadcast, QueuedEvent, transmitQueue } from '../sim/model/transmit_queue';

type Op = { queue: { length: number; topic?: string } } | { round: { limit: number; transmitLimit: number } };
const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ queue: fc.record({ length: fc.integer({ min: 1, max: 4 }), topic: fc.option(fc.constantFrom('a', 'b', 'c'), { nil: undefined }) }) }),
  fc.record({ round: fc.record({ limit: fc.integer({ min: 0, max: 12 }), transmitLimit: fc.integer({ min: 1, max: 4 }) }) }),
);

/** A broadcast as the reference keeps it: its three keys, and the name of the queueing that made it. */
type Ref = { transmits: number; length: number; id: number; name: string; topic?: string };
const order = (a: Ref, b: Ref): number => a.transmits - b.transmits || b.length - a.length || b.id - a.id;

class ReferenceQueue {
  events: Ref[] = [];
  idGen = 0;
  replaceOrInsert(e: Ref, dropped: Ref[]): void {
    const same = this.events.findIndex((o) => order(e, o) === 0);
    if (same >= 0) dropped.push(...this.events.splice(same, 1));
    this.events.push(e);
    this.events.sort(order);
  }
  queue(length: number, name: string, topic?: string): void {
    const id = ++this.idGen;
    const old = topic === undefined ? -1 : this.events.findIndex((o) => o.topic === topic);
    if (old >= 0) {
      this.events.splice(old, 1);
      if (this.events.length === 0) this.idGen = 0;
    }
    this.replaceOrInsert({ transmits: 0, length, id, name, topic }, []);
  }
  round(limit: number, transmitLimit: number, dropped: Ref[]): Ref[] {
    const batch: Ref[] = [];
    let used = 0;
    for (const tier of [...new Set(this.events.map((e) => e.transmits))]) {
      for (;;) {
        const free = limit - used;
        const e = free <= 0 ? undefined : this.events.find((o) => o.transmits === tier && !batch.includes(o) && o.length <= free);
        if (!e) break;
        batch.push(e);
        used += e.length;
      }
    }
    if (batch.length === 0) return batch;
    if (batch.length === this.events.length) this.idGen = 0;
    this.events = this.events.filter((o) => !batch.includes(o));
    for (const e of batch) {
      e.transmits++;
      if (e.transmits < transmitLimit) this.replaceOrInsert(e, dropped);
    }
    return batch;
  }
}

const named = (events: readonly QueuedEvent[]) => events.map((e) => [e.leave, e.transmits, e.length, e.id]);
const refNamed = (events: readonly Ref[]) => events.map((e) => [e.name, e.transmits, e.length, e.id]);

test('rounds and queueings leave what the btree would: the same taken, the same dropped, the same queue in the same order', () => {
  fc.assert(fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
    const q = transmitQueue();
    const ref = new ReferenceQueue();
    ops.forEach((o, i) => {
      if ('queue' in o) {
        // The leave field carries a name for the queueing, which the queue keeps but does not order by.
        queueBroadcast(q, { length: o.queue.length, topic: o.queue.topic, leave: `q${i}` });
        ref.queue(o.queue.length, `q${i}`, o.queue.topic);
      } else {
        const dropped: QueuedEvent[] = [];
        const refDropped: Ref[] = [];
        const batch = gossipRound(q, { limit: o.round.limit, overhead: 0 }, o.round.transmitLimit, (e) => dropped.push(e));
        const refBatch = ref.round(o.round.limit, o.round.transmitLimit, refDropped);
        expect(named(batch)).toEqual(refNamed(refBatch));
        expect(named(dropped)).toEqual(refNamed(refDropped));
      }
      expect(named(q.events)).toEqual(refNamed(ref.events));
      expect(q.idGen).toBe(ref.idGen);
    });
  }), { numRuns: 500 });
});
