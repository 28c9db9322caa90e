/**
 * net/sched/sch_generic.c and sch_api.c: a device's root qdisc. dev_queue_xmit hands every
 * frame to it; the qdisc decides when (or whether) the frame reaches the driver. A device
 * without one of its own has the default a device gets on dev_activate: noqueue (Docker's
 * veths, bridges, vxlan devices and the emulated underlay are all IFF_NO_QUEUE), or noop
 * until it has first been up.
 */
import type { Datapath } from '../../datapath';
import type { SimLink } from '../../objects';
import type { Skb } from '../skb';
import { xmitTaps } from '../dev';

/** The qdisc kinds sim models (tc's `KIND`). */
export type QdiscKind = 'tbf' | 'netem';

export interface Qdisc {
  readonly kind: QdiscKind;
  /** The major of its handle (`8001:`), given out by the kernel when it was made. */
  readonly handle: number;
  /** qdisc_enqueue, then as much of the dequeue as the clock allows: the frame goes on, waits, or dies. */
  enqueue(dp: Datapath, dev: SimLink, skb: Skb): void;
}

/**
 * The number of transmit queues a device has (the root qdisc's refcnt is one more). A veth
 * gets one per possible CPU (veth_get_num_queues); sim's hosts have two CPUs, as the
 * machine cnmlab's emu was measured on. A host's underlay NIC is a veth in emu, so it counts
 * as one. Bridges, vxlan devices and lo have a single queue.
 */
export const POSSIBLE_CPUS = 2;

export function txQueues(dev: SimLink): number {
  return dev.type === 'veth' || dev.type === 'underlay' ? POSSIBLE_CPUS : 1;
}

/** The qdisc `ip link` and `tc` name for a device: its own, or the default it has (noqueue, or noop until first up). */
export function qdiscName(dev: SimLink): string {
  if (dev.qdisc) return dev.qdisc.kind;
  if (dev.type === 'loopback') return dev.up ? 'noqueue' : 'noop';
  return dev.qdiscAttached ? 'noqueue' : 'noop';
}

/**
 * dev_hard_start_xmit: the frame leaves the qdisc for the driver. A device that went down
 * while the frame waited has dropped its queue (dev_deactivate resets the qdisc).
 */
export function devHardXmit(dp: Datapath, dev: SimLink, skb: Skb): void {
  if (!dev.up) return dp.trace.drop(skb, dev, 'link down');
  dev.txPackets++;
  dev.txBytes += skb.frame.length;
  xmitTaps(dp, dev, skb);
  (dev.xmitOps ??= dp.deviceOps[dev.type]).xmit(dp, dev, skb);
}

/** Frame lengths as qdiscs count them (qdisc_pkt_len): the whole frame from its Ethernet header. */
export function pktLen(skb: Skb): number {
  return skb.frame.length;
}
