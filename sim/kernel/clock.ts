/** A deterministic discrete-event scheduler in virtual nanoseconds. */

interface Event {
  at: number;
  seq: number;
  run: () => void;
}

export class EventQueue {
  now = 0;
  private heap: Event[] = [];
  private seq = 0;
  /** Events executed so far (for benchmarks). */
  executed = 0;

  schedule(delayNs: number, run: () => void): void {
    const e = { at: this.now + delayNs, seq: this.seq++, run };
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

  private pop(): Event | undefined {
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
      const next = this.heap[0];
      if (!next || next.at > untilNs) break;
      this.pop();
      this.now = next.at;
      this.executed++;
      next.run();
    }
    if (done?.()) return;
    if (untilNs !== Infinity && this.now < untilNs) this.now = untilNs;
  }

  get pending(): number {
    return this.heap.length;
  }
}

function earlier(a: Event, b: Event): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}
