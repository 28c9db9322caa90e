/**
 * drivers/net/macvlan.c: devices that each have a MAC of their own on one lower device (the
 * host's eth0). The lower's port (macvlan_port, its rx_handler's data) lists its macvlans;
 * a frame the lower receives goes to the macvlan whose MAC it is addressed to (a broadcast to
 * every one, and the lower's own stack too). What a macvlan sends leaves through the lower
 * unchanged, except in bridge mode to a sibling's MAC, which the port hands across directly.
 * Nothing sent by the lower itself reaches its macvlans: a container cannot reach its own
 * host's parent address.
 */
import { joinPort, StackedPort } from './stacked_port';
import type { MacvlanMode } from '../../plan/links/macvlan';
import { GROUP_CLAIMED, RxClaim, SimLink, StackedDev } from '../objects';
import { macToString } from '../../wire/addr';
import { isMulticastEtherAddr } from '../../wire/ethernet';
import { NetDeviceOps, devXmit, later } from './dev';
import { segmentLearn } from './underlay';
import { registerStackedDevice, type StackedDevice } from './stacked';

/** The lower device's side (macvlan_port), its rx_handler's data: the macvlans on it. */
class MacvlanPort extends StackedPort {
  constructor(private readonly owner: SimLink) {
    super();
  }

  /** macvlan_hash_lookup: the open macvlan on the port that has this MAC (a stopped one is out of the hash). */
  lookup(mac: string): SimLink | undefined {
    for (const v of this.uppers) if (v.up && v.mac === mac) return v;
    return undefined;
  }

  /** macvlan_handle_frame's choice: a unicast frame is the macvlan's with its destination MAC, a group frame every one's. */
  claim(f: Uint8Array): RxClaim {
    if (!isMulticastEtherAddr(f)) return this.lookup(macToString(f, 0));
    return this.groupClaimed(f) ? GROUP_CLAIMED : undefined;
  }

  /** The lower has no unicast filter to list its macvlans' MACs in: an open one with a MAC of its own makes it promiscuous. */
  ucPromisc(): boolean {
    for (const v of this.uppers) if (v.up && v.mac !== this.owner.mac) return true;
    return false;
  }
}

/** A macvlan device (macvlan_dev): its lower device, its port there and its mode. */
class MacvlanDev implements StackedDev {
  constructor(readonly lower: SimLink, readonly port: MacvlanPort, readonly mode: MacvlanMode) {}

  // The broadcast queue's length, as asked (none: the default) and as used (MACVLAN_DEFAULT_BC_QUEUE_LEN).
  details(): string {
    return `    macvlan mode ${this.mode} bcqueuelen 1000 usedbcqueuelen 1000 `;
  }

  /** macvlan_uninit: the device leaves its lower's port; the port goes with its last macvlan. */
  unlink(dev: SimLink): void {
    this.port.leave(this.lower, dev);
  }
}

function macvlanOf(dev: SimLink): MacvlanDev {
  const m = dev.stacked;
  if (!(m instanceof MacvlanDev)) throw new Error(`${dev.name} is no macvlan`);
  return m;
}

/** macvlan_common_newlink: `dev` becomes a macvlan on `lower`, whose port (made with its first macvlan) lists it. */
function macvlanNewlink(dev: SimLink, lower: SimLink, mode: MacvlanMode): void {
  const port = joinPort(lower, dev, MacvlanPort, () => new MacvlanPort(lower));
  dev.stacked = new MacvlanDev(lower, port, mode);
}

const macvlanOps: NetDeviceOps = {
  // macvlan_queue_xmit: bridge mode hands a frame for a sibling across, and a broadcast to every sibling as well as out.
  xmit(dp, dev, skb) {
    const { lower, port, mode } = macvlanOf(dev);
    const f = skb.frame;
    if (mode === 'bridge') {
      if (isMulticastEtherAddr(f)) {
        port.forwardGroup(dp, dev, skb, (v) => macvlanOf(v).mode === 'bridge');
      } else {
        const dest = port.lookup(macToString(f, 0));
        if (dest && macvlanOf(dest).mode === 'bridge') return later(dp, skb, dp.delays.veth, dp.devRecvTask, dest);
      }
    }
    // The lab's switch learns the macvlan's MAC behind this host's port, as ul0 (a Linux bridge) does in emu.
    segmentLearn(dp, lower, macToString(f, 6));
    devXmit(dp, lower, skb);
  },
};

export const macvlanDevice: StackedDevice<'macvlan'> = { ops: macvlanOps, newlink: (dev, lower, k) => macvlanNewlink(dev, lower, k.mode) };

registerStackedDevice('macvlan', macvlanDevice);
