/**
 * The underlay: each host's physical interface on one shared Ethernet segment (the lab's
 * switch). A frame reaches the interface its destination MAC belongs to (a host's own, or
 * one the switch learned behind a host's port: a macvlan's), or every other one when
 * broadcast, after the wire's time.
 */
import type { Datapath } from '../datapath';
import type { SimLink } from '../objects';
import type { NetDeviceOps } from './dev';
import { BROADCAST_MAC, macToString } from '../../wire/addr';
import { Skb } from './skb';

export const underlayOps: NetDeviceOps = { xmit: segmentXmit };

function segmentXmit(dp: Datapath, dev: SimLink, skb: Skb): void {
  const dst = macToString(skb.frame, 0);
  const wait = dp.delays.underlay + skb.lag;
  skb.lag = 0;
  if (dst !== BROADCAST_MAC) {
    const to = dp.kernel.underlayByMac.get().get(dst) ?? dp.kernel.segmentLearned.get(dst);
    if (to && to !== dev) dp.clock.call(wait, dp.segmentArriveTask, skb, to, dev);
    return;
  }
  segmentFlood(dp, dev, skb, wait);
}

/** The switch learns `mac` behind `port` (a host's interface) from a frame it sends; the table is written only when that changes. */
export function segmentLearn(dp: Datapath, port: SimLink, mac: string): void {
  const macs = dp.kernel.segmentLearned;
  if (macs.get(mac) !== port) macs.set(mac, port);
}

/** A broadcast reaches every other interface on the segment, each with an skb of its own (a receiver may retarget it: vxlan_rcv). */
function segmentFlood(dp: Datapath, dev: SimLink, skb: Skb, wait: number): void {
  for (const other of dp.kernel.underlay.values()) {
    if (other !== dev) dp.clock.call(wait, dp.segmentArriveTask, skb.clone(), other, dev);
  }
}
