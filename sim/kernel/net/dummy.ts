/** drivers/net/dummy.c: a device that takes every frame it is given and drops it (dummy_xmit counts it, then frees it). */
import type { NetDeviceOps } from './dev';

export const dummyOps: NetDeviceOps = {
  xmit(_dp, dev, skb) {
    dev.txPackets++;
    dev.txBytes += skb.frame.length;
  },
};
