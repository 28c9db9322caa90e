/**
 * The event queue runs events in (time, order scheduled) order, however they were scheduled:
 * from outside, or by events as they run (the packet's next step, usually the earliest of
 * all, which the queue keeps apart from its heap), with ties at one time kept in order.
 */
import fc from 'fast-check';
import { EventQueue } from '../sim/kernel/clock';

/** An event: its delay, and the delays of the events it schedules when it runs. */
type Plan = { delay: number; then: number[] };
const plan: fc.Arbitrary<Plan> = fc.record({ delay: fc.nat(20), then: fc.array(fc.nat(20), { maxLength: 3 }) });

test('events run in (time, sequence) order, including those scheduled while others run', () => {
  fc.assert(fc.property(fc.array(plan, { maxLength: 30 }), (plans) => {
    const q = new EventQueue();
    // What ran, as (time, sequence number given at scheduling), and every event scheduled.
    const ran: [number, number][] = [];
    let seq = 0;
    const scheduled: [number, number][] = [];
    const add = (delay: number, then: number[]): void => {
      const id = seq++;
      scheduled.push([q.now + delay, id]);
      q.call(delay, (t: number[]) => {
        ran.push([q.now, id]);
        for (const d of t) add(d, []);
      }, then);
    };
    for (const p of plans) add(p.delay, p.then);
    expect(q.pending).toBe(plans.length);
    q.runUntil();
    expect(q.pending).toBe(0);
    const expected = [...scheduled].sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    expect(ran).toEqual(expected);
  }), { numRuns: 500 });
});

test('runUntil stops before an event past the time asked, which runs on the next call', () => {
  const q = new EventQueue();
  const ran: number[] = [];
  q.call(10, (x: number) => ran.push(x), 1);
  q.call(5, (x: number) => ran.push(x), 0);
  q.runUntil(7);
  expect([ran, q.now, q.pending]).toEqual([[0], 7, 1]);
  q.runUntil();
  expect([ran, q.now, q.pending]).toEqual([[0, 1], 10, 0]);
});
