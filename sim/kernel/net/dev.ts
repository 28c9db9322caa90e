/**
 * net/core/dev.c: the device layer. Every frame leaves a device through devXmit
 * (dev_queue_xmit), the one place where link state applies (and where MTU and qdiscs
 * will), and arrives through devRecv (netif_receive_skb). Each device type registers its
 * transmit in a table of ops, as drivers fill in net_device_ops.
 */
import type { Datapath } from '../datapath';
import type { LinkType, RxHandler, SimLink } from '../objects';
import { KernelError, topologyChanged } from '../objects';
import { ARP_REQUEST } from '../../wire/arp';
import { BROADCAST_MAC, macToString } from '../../wire/addr';
import { be16 } from '../../wire/bytes';
import { ETHERTYPE_ARP, ETHERTYPE_IPV4 } from '../../wire/ethernet';
import { arpOpcode, Skb } from './skb';
import { bridgeForward } from './bridge/br_forward';
import { arpInput } from './ipv4/arp';
import { ipInput } from './ipv4/ip_input';
import { devHardXmit } from './sched/sch_generic';

/** What a device type does with a frame it is given to send (ndo_start_xmit). */
export interface NetDeviceOps {
  xmit(dp: Datapath, dev: SimLink, skb: Skb): void;
}

export type DeviceOpsTable = Record<LinkType, NetDeviceOps>;

/** dev_queue_xmit: a frame leaves a device. */
export function devXmit(dp: Datapath, dev: SimLink, skb: Skb): void {
  if (!dev.up) return dp.trace.drop(skb, dev, 'link down');
  if (dev.qdisc) return dev.qdisc.enqueue(dp, dev, skb);
  devHardXmit(dp, dev, skb);
}

/**
 * netif_receive_skb: a frame arrives on a device. The device's rx_handler, when a module
 * registered one (an Open vSwitch vport, a user-space program's capture socket, the port of
 * the devices stacked on a lower one), takes it first; else a bridge port hands it to its bridge.
 */
export function devRecv(dp: Datapath, dev: SimLink, skb: Skb): void {
  if (!dev.up) return dp.trace.recvDown(dev, skb);
  countRx(dev, skb);
  const rx = dev.rxHandler;
  if (rx !== undefined && rx.rx(dp, dev, skb)) return;
  const br = dev.master;
  // A bridge port takes every frame for its bridge (the rx_handler); a device of its own, what is addressed to it.
  if (br === undefined && !accepts(dev, skb.frame)) return;
  recvTaps(dp, dev, skb);
  if (br !== undefined) bridgeForward(dp, br, dev, skb);
  else l3Input(dp, dev, skb);
}

/**
 * netdev_rx_handler_register: `handler` takes the frames `dev` receives before its own stack.
 * A device has one rx_handler: when another holds it, the registration is refused (EBUSY).
 */
export function netdevRxHandlerRegister(dev: SimLink, handler: RxHandler): void {
  if (dev.rxHandler !== undefined) throw new KernelError(`${dev.name}: its rx_handler is another's (Device or resource busy)`);
  dev.rxHandler = handler;
}

/** netdev_rx_handler_unregister: `dev`'s frames go to its own stack again, when `handler` is the one it has (a module unregisters only its own). */
export function netdevRxHandlerUnregister(dev: SimLink, handler: RxHandler): void {
  if (dev.rxHandler === handler) dev.rxHandler = undefined;
}

/**
 * The packet taps of a frame a device transmits (dev_queue_xmit_nit, called by
 * dev_hard_start_xmit): the device points of the transmit path call it, no driver does.
 */
export function xmitTaps(dp: Datapath, dev: SimLink, skb: Skb): void {
  dp.taps.xmit(dev, skb);
}

/**
 * The packet taps of a frame a device takes in (deliver_skb to ptype_all, in
 * __netif_receive_skb_core): devRecv calls it, and the devices that receive without it (a
 * bridge passing a frame up, vxlan's gro cell, which call netif_receive_skb themselves).
 */
export function recvTaps(dp: Datapath, dev: SimLink, skb: Skb): void {
  dp.taps.recv(dev, skb);
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
  return dst === BROADCAST_MAC && acceptsBroadcast(dev, f);
}

/** A broadcast: taken unless it is an ARP request for another's address (apart from accepts, which every frame's path inlines). */
function acceptsBroadcast(dev: SimLink, f: Uint8Array): boolean {
  if (arpOpcode(f) !== ARP_REQUEST) return true;
  // The ARP target's address (offset 38 of the frame).
  const target = `${f[38]}.${f[39]}.${f[40]}.${f[41]}`;
  // A device that proxies ARP looks at every request (arp_process decides).
  if (dev.proxyArp) return true;
  // A loop, not addrs.some with a closure: a closure over `target` would make V8 allocate a context on every frame.
  for (let i = 0; i < dev.addrs.length; i++) if (dev.addrs[i].ip === target) return true;
  return false;
}

// ── link state and attributes (`ip link set`: dev_change_flags, dev_set_mtu, dev_set_mac_address) ──

/**
 * dev_open: the device comes up. Its connected routes come back (they are derived from its
 * addresses); static routes through it removed by the last dev_close do not.
 */
export function devOpen(dev: SimLink): void {
  if (dev.up) return;
  dev.up = true;
  topologyChanged();
}

/**
 * dev_close: the device goes down. As Linux does on NETDEV_DOWN: routes through it are
 * flushed (fib_disable_ip), its neighbour entries too, permanent ones included
 * (neigh_ifdown), and a bridge forgets what it learned on the port that lost its carrier
 * (this device, or a bridge port whose veth peer it is: br_port_carrier_check).
 */
export function devClose(dev: SimLink): void {
  if (!dev.up) return;
  dev.up = false;
  const ns = dev.netns;
  for (let i = ns.routes.length - 1; i >= 0; i--) if (ns.routes[i].dev === dev.name) ns.routes.splice(i, 1);
  ns.neigh.deleteDevice(dev.name);
  for (const port of [dev, dev.peer]) {
    if (!port?.master) continue;
    for (const [mac, e] of port.master.fdb) if (e.port === port && !e.local) port.master.fdb.delete(mac);
  }
  topologyChanged();
}

/** The MTU range a device takes (dev->min_mtu, dev->max_mtu): Ethernet's 68 to IP's 64 KiB; loopback any. */
export function mtuRange(dev: SimLink): { min: number; max: number } {
  return dev.type === 'loopback' || dev.type === 'dummy' ? { min: 0, max: Infinity } : { min: 68, max: IP_MAX_MTU };
}

export const IP_MAX_MTU = 65535;
/** What VXLAN adds over IPv4: outer IP 20, UDP 8, VXLAN 8, inner Ethernet 14 (VXLAN_HEADROOM). */
export const VXLAN_OVERHEAD = 50;

/** dev_set_mtu, after the range check the caller made. */
export function devSetMtu(dev: SimLink, mtu: number): void {
  dev.mtu = mtu;
  topologyChanged();
}

/** dev_set_mac_address: a bridge port's own (local) FDB entry follows the new address (br_fdb_changeaddr). */
export function devSetMac(dev: SimLink, mac: string): void {
  const br = dev.master;
  if (br) {
    br.fdb.delete(dev.mac);
    br.fdb.set(mac, { port: dev, local: true, updatedNs: 0 });
  }
  dev.mac = mac;
  topologyChanged();
}
