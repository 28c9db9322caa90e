/**
 * What the port of a lower device (macvlan_port, ipvl_port: its rx_handler's data) does for
 * any kind of stacked device: it lists the devices on the lower, hands a group frame to
 * each, and goes from the lower with its last device. Each kind says which device a unicast
 * frame is for, and its own transmit.
 */
import type { Datapath } from '../datapath';
import type { RxClaim, RxHandler, SimLink } from '../objects';
import { accepts, devRecv, later } from './dev';
import { Skb } from './skb';

export abstract class StackedPort implements RxHandler {
  readonly uppers = new Set<SimLink>();

  abstract claim(frame: Uint8Array): RxClaim;
  abstract handle(dp: Datapath, lower: SimLink, skb: Skb, claim: RxClaim): boolean;
  abstract ucPromisc(): boolean;

  /** Whether an open device on the port takes this group frame as its own. */
  protected groupClaimed(f: Uint8Array): boolean {
    for (const v of this.uppers) if (v.up && accepts(v, f)) return true;
    return false;
  }

  /** A group frame to every open device on the port: each a copy, traced only where it will be taken. */
  protected deliverGroup(dp: Datapath, skb: Skb): void {
    const f = skb.frame;
    for (const v of this.uppers) if (v.up) devRecv(dp, v, new Skb(f, accepts(v, f) ? skb.flow : undefined, skb.dir));
  }

  /** A group frame `from` sends, to every other open device on the port that `takes` (dev_forward_skb, a veth's delay on). */
  forwardGroup(dp: Datapath, from: SimLink, skb: Skb, takes: (v: SimLink) => boolean = () => true): void {
    const f = skb.frame;
    for (const v of this.uppers) {
      if (v === from || !v.up || !takes(v)) continue;
      later(dp, new Skb(f, accepts(v, f) ? skb.flow : undefined, skb.dir), dp.delays.veth, dp.devRecvTask, v);
    }
  }

  /** A device's uninit: it leaves the port, and the port goes from `lower` with its last device. */
  leave(lower: SimLink, dev: SimLink): void {
    this.uppers.delete(dev);
    if (this.uppers.size === 0 && lower.rxHandler === this) lower.rxHandler = undefined;
  }
}
