/**
 * net/sched/sch_tbf.c: the token bucket filter. Tokens, counted as transmit time, fill at
 * the clock's pace up to the bucket (the burst's time at the rate); a frame leaves when the
 * bucket holds its transmit time, or waits in a byte-limited FIFO until the watchdog fires
 * when it will. A frame longer than the burst can ever pay for, or one the full FIFO has
 * no room for, is dropped.
 */
import type { Datapath } from '../../datapath';
import type { SimLink } from '../../objects';
import type { Skb } from '../skb';
import { devHardXmit, pktLen, Qdisc } from './sch_generic';
import type { TbfParams } from '../../../commands/tc-words';

/**
 * psched_ratecfg_precompute: a frame's transmit time is len × mult >> shift, mult the
 * largest 32-bit multiplier that NSEC_PER_SEC / rate allows.
 */
function rateConfig(rate: number): { mult: bigint; shift: bigint } {
  let factor = 1_000_000_000n;
  let shift = 0n;
  const r = BigInt(rate);
  for (;;) {
    const mult = factor / r;
    if (mult & (1n << 31n) || factor & (1n << 63n)) return { mult, shift };
    factor <<= 1n;
    shift++;
  }
}

export class Tbf implements Qdisc {
  readonly kind = 'tbf' as const;
  /** As tc gave them (`tc qdisc show` prints them back). */
  params!: TbfParams;
  private rateCfg!: { mult: bigint; shift: bigint };
  private bufferNs = 0;
  /** The longest frame the bucket can ever pass. */
  private maxSize = 0;
  private tokens = 0;
  /** When tokens were last counted (q->t_c, set when the qdisc was made). */
  private checkpointNs: number | undefined;
  private readonly queue: Skb[] = [];
  private backlog = 0;
  private watchdogAt: number | undefined;

  constructor(readonly handle: number, params: TbfParams, nowNs: number) {
    this.change(params, nowNs);
  }

  /** tbf_change: new parameters; the bucket starts full. */
  change(params: TbfParams, nowNs: number): void {
    this.params = params;
    this.rateCfg = rateConfig(params.rate);
    // Given the burst in bytes, the kernel makes the bucket its transmit time at the rate.
    this.bufferNs = this.transmitNs(params.burst);
    this.maxSize = params.burst;
    this.tokens = this.bufferNs;
    this.checkpointNs ??= nowNs;
  }

  /** The bucket as tbf_dump reports it, in psched ticks (64 ns). */
  get bufferTicks(): number {
    return Math.floor(this.bufferNs / 64);
  }

  private transmitNs(len: number): number {
    return Number((BigInt(len) * this.rateCfg.mult) >> this.rateCfg.shift);
  }

  enqueue(dp: Datapath, dev: SimLink, skb: Skb): void {
    const len = pktLen(skb);
    if (len > this.maxSize) return dp.trace.qdiscDrop(dev, skb, `tbf: a ${len}-byte frame is over its burst (${this.maxSize} bytes)`);
    if (this.backlog + len > this.params.limit) return dp.trace.qdiscDrop(dev, skb, `tbf: queue full (limit ${this.params.limit} bytes)`);
    this.queue.push(skb);
    this.backlog += len;
    if (this.watchdogAt === undefined) this.dequeue(dp, dev, dp.clock.now + skb.lag);
  }

  /** tbf_dequeue: frames leave while the bucket pays for them; then the watchdog waits for the head's deficit. */
  private dequeue(dp: Datapath, dev: SimLink, nowNs: number): void {
    while (this.queue.length > 0) {
      const head = this.queue[0];
      const len = pktLen(head);
      let toks = Math.min(nowNs - this.checkpointNs!, this.bufferNs) + this.tokens;
      if (toks > this.bufferNs) toks = this.bufferNs;
      toks -= this.transmitNs(len);
      if (toks < 0) {
        this.watchdogAt = nowNs - toks;
        dp.clock.call(this.watchdogAt - dp.clock.now, this.watchdog, dp, dev);
        return;
      }
      this.checkpointNs = nowNs;
      this.tokens = toks;
      this.queue.shift();
      this.backlog -= len;
      const wait = nowNs - dp.clock.now;
      if (wait === head.lag) devHardXmit(dp, dev, head);
      else {
        head.lag = 0;
        dp.clock.call(wait, dp.hardXmitTask, dev, head);
      }
    }
  }

  private readonly watchdog = (dp: Datapath, dev: SimLink): void => {
    this.watchdogAt = undefined;
    // Deleted or replaced meanwhile: qdisc_destroy freed what it held.
    if (dev.qdisc !== this) return;
    this.dequeue(dp, dev, dp.clock.now);
  };
}
