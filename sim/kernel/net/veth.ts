/** drivers/net/veth.c: what one end sends, the peer receives after the backlog's time. */
import type { NetDeviceOps } from './dev';
import { later } from './dev';

export const vethOps: NetDeviceOps = {
  xmit(dp, dev, skb) {
    later(dp, skb, dp.delays.veth, dp.devRecvTask, dev.peer!);
  },
};
