/** drivers/net/loopback.c: what lo sends, it receives after the stack's time. */
import type { NetDeviceOps } from './dev';
import { later } from './dev';

export const loopbackOps: NetDeviceOps = {
  xmit(dp, dev, skb) {
    later(dp, skb, dp.delays.stack, dp.devRecvTask, dev);
  },
};
