/**
 * net/core/dev.c: the device layer. Every frame leaves a device through devXmit
 * (dev_queue_xmit), the one place where link state applies (and where MTU and qdiscs
 * will), and arrives through devRecv (netif_receive_skb). Each device type registers its
 * transmit in a table of ops, as drivers fill in net_device_ops.
 */
import type { Datapath } from '../datapath';
import type { LinkType, SimLink } from '../objects';
import { ARP_REQUEST } from '../../wire/arp';
import { BROADCAST_MAC, macToString } from '../../wire/addr';
import { be16 } from '../../wire/bytes';
import { ETHERTYPE_ARP, ETHERTYPE_IPV4 } from '../../wire/ethernet';
import { arpOpcode, Skb } from './skb';
import { bridgeForward } from './bridge/br_forward';
import { arpInput } from './ipv4/arp';
import { ipInput } from './ipv4/ip_input';

/** What a device type does with a frame it is given to send (ndo_start_xmit). */
export interface NetDeviceOps {
  xmit(dp: Datapath, dev: SimLink, skb: Skb): void;
}

export type DeviceOpsTable = Record<LinkType, NetDeviceOps>;

/** dev_queue_xmit: a frame leaves a device. */
export function devXmit(dp: Datapath, dev: SimLink, skb: Skb): void {
  if (!dev.up) return dp.tracer.drop(skb, undefined, dev, 'link down');
  dev.txPackets++;
  dev.txBytes += skb.frame.length;
  dp.deviceOps[dev.type].xmit(dp, dev, skb);
}

/** netif_receive_skb: a frame arrives on a device; a bridge port hands it to its bridge (the rx_handler). */
export function devRecv(dp: Datapath, dev: SimLink, skb: Skb): void {
  if (!dev.up) return dp.tracer.drop(skb, undefined, dev, 'link down');
  countRx(dev, skb);
  if (dev.master) {
    dp.tracer.portRecv(dev, skb);
    bridgeForward(dp, dev.master, dev, skb);
    return;
  }
  if (!accepts(dev, skb.frame)) return;
  dp.tracer.stackRecv(dev, skb);
  l3Input(dp, dev, skb);
}

/** A frame the device received (its `ip -s` RX counters). */
export function countRx(dev: SimLink, skb: Skb): void {
  dev.rxPackets++;
  dev.rxBytes += skb.frame.length;
}

/** The protocol handler for the frame's ethertype (ptype_base): ARP or IPv4. */
export function l3Input(dp: Datapath, dev: SimLink, skb: Skb): void {
  const ethertype = be16(skb.frame, 12);
  if (ethertype === ETHERTYPE_ARP) arpInput(dp, dev.netns, dev, skb);
  else if (ethertype === ETHERTYPE_IPV4) ipInput(dp, dev.netns, dev, skb);
}

/** Queues a frame for `task(dev, skb)` after `delayNs` and whatever processing time the frame has run ahead. */
export function later(dp: Datapath, skb: Skb, delayNs: number, task: (dev: SimLink, skb: Skb) => void, dev: SimLink): void {
  const wait = delayNs + skb.lag;
  skb.lag = 0;
  dp.clock.call(wait, task, dev, skb);
}

/** Whether a device's stack takes a frame: addressed to it, or an ARP request for one of its addresses. */
export function accepts(dev: SimLink, f: Uint8Array): boolean {
  if (dev.type === 'loopback') return true;
  const dst = macToString(f, 0);
  if (dst === dev.mac) return true;
  if (dst !== BROADCAST_MAC) return false;
  if (arpOpcode(f) !== ARP_REQUEST) return true;
  // The ARP target's address (offset 38 of the frame).
  const target = `${f[38]}.${f[39]}.${f[40]}.${f[41]}`;
  return dev.addrs.some((a) => a.ip === target);
}
