/** A deterministic discrete-event scheduler in virtual nanoseconds. */

/**
 * A pending call: a function and up to three arguments, so hot paths schedule a method
 * they bound once instead of a new closure per packet. Executed events are reused.
 */
class Event {
  at = 0;
  seq = 0;
  fn: Task = idle;
  a: unknown = undefined;
  b: unknown = undefined;
  c: unknown = undefined;
}

/** Each caller's own argument types are checked at `call`; the queue only stores them. */
type Task = (a: unknown, b: unknown, c: unknown) => void;

function runThunk(run: () => void): void {
  run();
}

function idle(): void {}

export class EventQueue {
  now = 0;
  /**
   * The earliest pending event, when one was scheduled ahead of every event in the heap: a
   * packet's next step is nearly always the next thing to happen (the timers wait far
   * ahead), so it is kept here and taken back without a walk up and down the heap. Events
   * still run in (at, seq) order.
   */
  private soon: Event | undefined = undefined;
  private heap: Event[] = [];
  private readonly free: Event[] = [];
  private seq = 0;
  /** Events executed so far (for benchmarks). */
  executed = 0;

  schedule(delayNs: number, run: () => void): void {
    this.call(delayNs, runThunk, run);
  }

  /** Runs `fn(a, b, c)` after `delayNs`. */
  call<A, B, C>(delayNs: number, fn: (a: A, b: B, c: C) => void, a: A, b?: B, c?: C): void {
    const e = this.free.pop() ?? new Event();
    e.at = this.now + delayNs;
    e.seq = this.seq++;
    e.fn = fn as unknown as Task;
    e.a = a;
    e.b = b;
    e.c = c;
    const soon = this.soon;
    if (soon === undefined) {
      if (this.heap.length === 0 || earlier(e, this.heap[0])) {
        this.soon = e;
        return;
      }
    } else if (earlier(e, soon)) {
      this.soon = e;
      this.push(soon);
      return;
    }
    this.push(e);
  }

  private push(e: Event): void {
    const h = this.heap;
    let i = h.length;
    h.push(e);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (earlier(h[p], e)) break;
      h[i] = h[p];
      i = p;
    }
    h[i] = e;
  }

  /** The earliest pending event, left where it is. */
  private peek(): Event | undefined {
    return this.soon ?? this.heap[0];
  }

  private pop(): Event | undefined {
    const soon = this.soon;
    if (soon !== undefined) {
      this.soon = undefined;
      return soon;
    }
    const h = this.heap;
    if (h.length === 0) return undefined;
    const top = h[0];
    const last = h.pop()!;
    if (h.length > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= h.length) break;
        const r = l + 1;
        const c = r < h.length && earlier(h[r], h[l]) ? r : l;
        if (earlier(last, h[c])) break;
        h[i] = h[c];
        i = c;
      }
      h[i] = last;
    }
    return top;
  }

  /**
   * Runs events in time order until none are left, the next is after `untilNs`, or `done`
   * says the waiting is over (then the clock stays where the last event left it).
   */
  runUntil(untilNs = Infinity, done?: () => boolean): void {
    for (;;) {
      if (done?.()) return;
      const next = this.peek();
      if (!next || next.at > untilNs) break;
      this.pop();
      this.now = next.at;
      this.executed++;
      const { fn, a, b, c } = next;
      next.a = next.b = next.c = undefined;
      this.free.push(next);
      fn(a, b, c);
    }
    if (done?.()) return;
    if (untilNs !== Infinity && this.now < untilNs) this.now = untilNs;
  }

  get pending(): number {
    return this.heap.length + (this.soon === undefined ? 0 : 1);
  }
}

function earlier(a: Event, b: Event): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}
