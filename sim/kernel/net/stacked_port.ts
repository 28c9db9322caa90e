/**
 * What the port of a lower device (macvlan_port, ipvl_port: its rx_handler's data) does for
 * any kind of stacked device: it lists the devices on the lower, hands a group frame to
 * each, and goes from the lower with its last device. Each kind says which device a unicast
 * frame is for, and its own transmit.
 */
import type { Datapath } from '../datapath';
import { GROUP_CLAIMED, RxClaim, RxHandler, SimLink } from '../objects';
import { isMulticastEtherAddr } from '../../wire/ethernet';
import { accepts, devRecv, later, netdevRxHandlerRegister, netdevRxHandlerUnregister } from './dev';
import { Skb } from './skb';

export abstract class StackedPort implements RxHandler {
  readonly uppers = new Set<SimLink>();
  readonly takesAll = false;

  abstract claim(frame: Uint8Array): RxClaim;
  abstract ucPromisc(): boolean;

  /** Whether a group frame goes to the port's devices (each kind's port says when it does not). */
  protected deliversGroups(): boolean {
    return true;
  }

  /**
   * The rx_handler: which device the frame is for is looked up once (`claim`); when one
   * takes it, the lower's packet taps have seen it first, as __netif_receive_skb_core
   * delivers to ptype_all before rx_handler (`tcpdump -i eth0` sees it): the device layer's
   * `stackedLowerRecv` tracepoint says so before the claim is handed on.
   */
  rx(dp: Datapath, lower: SimLink, skb: Skb): boolean {
    const claim = this.claim(skb.frame);
    if (claim !== undefined) {
      skb.tappedBy = lower;
      dp.trace.stackedLowerRecv(lower, skb);
    }
    return this.handle(dp, lower, skb, claim);
  }

  /**
   * Hands the frame on as claimed (macvlan_handle_frame, ipvlan_handle_frame): a frame claimed by one device
   * is that device's (RX_HANDLER_CONSUMED); a group frame goes to every open device, each a
   * copy traced only where it will be taken, and the lower's own stack sees it too
   * (RX_HANDLER_PASS), as it sees a frame no device claimed.
   */
  handle(dp: Datapath, _lower: SimLink, skb: Skb, claim: RxClaim): boolean {
    if (claim !== undefined && claim !== GROUP_CLAIMED) {
      devRecv(dp, claim, skb);
      return true;
    }
    if (this.deliversGroups() && isMulticastEtherAddr(skb.frame)) this.deliverGroup(dp, skb);
    return false;
  }

  /** Whether an open device on the port takes this group frame as its own. */
  protected groupClaimed(f: Uint8Array): boolean {
    for (const v of this.uppers) if (v.up && accepts(v, f)) return true;
    return false;
  }

  /** A group frame to every open device on the port: each a copy, traced only where it will be taken. */
  private deliverGroup(dp: Datapath, skb: Skb): void {
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
    if (this.uppers.size === 0) netdevRxHandlerUnregister(lower, this);
  }
}

/**
 * A new device `dev` on `lower`'s port of kind `Port`, the port made with the lower's first
 * such device (`make`). A lower has one rx_handler: a port of another kind there is EBUSY
 * (netdev_rx_handler_register in macvlan_port_create, netdev_is_rx_handler_busy in
 * ipvlan_port_create).
 */
export function joinPort<P extends StackedPort>(lower: SimLink, dev: SimLink, Port: abstract new (...args: never[]) => P, make: () => P): P {
  const held = lower.rxHandler;
  const port = held instanceof Port ? held : make();
  if (port !== held) netdevRxHandlerRegister(lower, port);
  port.uppers.add(dev);
  return port;
}
