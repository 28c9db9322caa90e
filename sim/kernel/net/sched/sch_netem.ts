/**
 * net/sched/sch_netem.c: the network emulator. Each frame may be lost (a uniform draw
 * against the loss probability), and otherwise waits its delay: the latency, plus a uniform
 * offset within ± the jitter when one is set (tabledist without a distribution table), so
 * jitter can reorder frames as netem's time-ordered queue does. Draws come from the
 * qdisc's own seeded generator, so a scenario loses the same frames on every run.
 */
import type { Datapath } from '../../datapath';
import type { SimLink } from '../../objects';
import type { Skb } from '../skb';
import { randomUint32, Rng } from '../../../model/ids';
import { devHardXmit, Qdisc } from './sch_generic';
import type { NetemParams } from '../../../commands/tc-words';
import { printfG } from '../../../text/printf';

const PSCHED_TICKS2NS = (ticks: number) => ticks * 64;

export class Netem implements Qdisc {
  readonly kind = 'netem' as const;
  /** As tc gave them (`tc qdisc show` prints them back). */
  params!: NetemParams;
  private latencyNs = 0;
  private jitterNs = 0;
  private queued = 0;

  constructor(readonly handle: number, params: NetemParams, private readonly prng: Rng) {
    this.change(params);
  }

  change(params: NetemParams): void {
    this.params = params;
    this.latencyNs = PSCHED_TICKS2NS(params.latencyTicks);
    this.jitterNs = PSCHED_TICKS2NS(params.jitterTicks);
  }

  /** netem_enqueue: the loss draw first, then the queue's limit, then the delay draw. */
  enqueue(dp: Datapath, dev: SimLink, skb: Skb): void {
    const { loss, limit } = this.params;
    if (loss && loss >= randomUint32(this.prng)) return dp.trace.qdiscDrop(dev, skb, `netem loss ${printfG(lossPercent(loss))}%`);
    if (this.queued >= limit) return dp.trace.qdiscDrop(dev, skb, `netem: queue full (limit ${limit} packets)`);
    const delay = this.delayNs();
    if (delay === 0) return devHardXmit(dp, dev, skb);
    this.queued++;
    const wait = delay + skb.lag;
    skb.lag = 0;
    dp.clock.call(wait, this.release, dp, dev, skb);
  }

  /** tabledist(latency, jitter) without a table: uniform in [latency - jitter, latency + jitter). */
  private delayNs(): number {
    if (this.jitterNs === 0) return this.latencyNs;
    const span = (2 * (this.jitterNs >>> 0)) >>> 0;
    return Math.max(0, (randomUint32(this.prng) % span) + this.latencyNs - this.jitterNs);
  }

  private readonly release = (dp: Datapath, dev: SimLink, skb: Skb): void => {
    this.queued--;
    // Deleted or replaced meanwhile: qdisc_destroy freed what it held.
    if (dev.qdisc !== this) return;
    devHardXmit(dp, dev, skb);
  };
}

/** The loss as tc prints it (%g of the percentage). */
export function lossPercent(loss: number): number {
  return (100 * loss) / 0xffffffff;
}
