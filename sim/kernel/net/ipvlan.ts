/**
 * drivers/net/ipvlan: devices on one lower device (the host's eth0) that all carry the
 * lower's MAC and are told apart by their IP addresses. The lower's port (ipvl_port, its
 * rx_handler's data) lists them; in l2 mode (ipvlan_xmit_mode_l2, ipvlan_handle_mode_l2) a
 * frame the lower receives goes to the device that holds its destination address (an IPv4
 * packet's destination, an ARP packet's target), and a broadcast to every device as well as
 * to the lower's own stack. What a device sends leaves through the lower unchanged, except a
 * frame addressed to the shared MAC, which stays on the host: to the device that holds its
 * destination address, else to the lower's own stack (dev_forward_skb). A broadcast goes to
 * the other devices and out. l3 mode (routed by the lower's namespace, no ARP) is not
 * modelled: the ipvlan driver refuses a container on such a network before one is made.
 */
import type { Datapath } from '../datapath';
import type { IpvlanMode } from '../../plan/links/ipvlan';
import type { RxHandler, SimLink, StackedDev } from '../objects';
import { be16 } from '../../wire/bytes';
import { ETHERTYPE_ARP, ETHERTYPE_IPV4 } from '../../wire/ethernet';
import { NetDeviceOps, accepts, devRecv, devXmit, later } from './dev';
import { Skb } from './skb';
import type { StackedDevice } from './stacked';

const isGroup = (f: Uint8Array) => (f[0] & 1) === 1;

/** ipvlan_get_L3_hdr's address: an IPv4 packet's destination, an ARP packet's target; undefined for anything else. */
function l3Destination(f: Uint8Array): string | undefined {
  const type = f.length >= 14 ? be16(f, 12) : 0;
  const at = type === ETHERTYPE_IPV4 ? 30 : type === ETHERTYPE_ARP ? 38 : -1;
  if (at < 0 || f.length < at + 4) return undefined;
  return `${f[at]}.${f[at + 1]}.${f[at + 2]}.${f[at + 3]}`;
}

/** Whether two frames' MACs are the same (the destination is the sender's own: the shared MAC). */
function toOwnMac(f: Uint8Array): boolean {
  for (let i = 0; i < 6; i++) if (f[i] !== f[6 + i]) return false;
  return true;
}

/** The lower device's side (ipvl_port): the ipvlans on it. */
class IpvlanPort implements RxHandler {
  readonly uppers = new Set<SimLink>();

  /** ipvlan_addr_lookup: the open ipvlan on the port that holds this address. */
  lookup(ip: string | undefined): SimLink | undefined {
    if (ip === undefined) return undefined;
    for (const v of this.uppers) {
      if (!v.up) continue;
      for (let i = 0; i < v.addrs.length; i++) if (v.addrs[i].ip === ip) return v;
    }
    return undefined;
  }

  claims(f: Uint8Array): boolean {
    if (!isGroup(f)) return this.lookup(l3Destination(f)) !== undefined;
    for (const v of this.uppers) if (v.up && accepts(v, f)) return true;
    return false;
  }

  /**
   * ipvlan_handle_frame in l2 mode: a broadcast is every ipvlan's (each a copy, traced only
   * where it will be taken) and the lower's too (RX_HANDLER_PASS); a unicast frame is the
   * ipvlan's that holds its destination address, else the lower's own.
   */
  handle(dp: Datapath, _lower: SimLink, skb: Skb): boolean {
    const f = skb.frame;
    if (isGroup(f)) {
      for (const v of this.uppers) if (v.up) devRecv(dp, v, new Skb(f, accepts(v, f) ? skb.flow : undefined, skb.dir));
      return false;
    }
    const dest = this.lookup(l3Destination(f));
    if (!dest) return false;
    devRecv(dp, dest, skb);
    return true;
  }

  /** Its devices carry the lower's own MAC: the lower needs no promiscuity for them. */
  ucPromisc(): boolean {
    return false;
  }
}

/** An ipvlan device (ipvl_dev): its lower device, its port there and its mode. */
class IpvlanDev implements StackedDev {
  constructor(readonly lower: SimLink, readonly port: IpvlanPort, readonly mode: IpvlanMode) {}

  // iproute2 prints the mode, then the flags (bridge: neither private nor vepa, as libnetwork makes it).
  details(): string {
    return `    ipvlan  mode ${this.mode} bridge `;
  }

  /** ipvlan_uninit: the device leaves its lower's port; the port goes with its last ipvlan. */
  unlink(dev: SimLink): void {
    this.port.uppers.delete(dev);
    if (this.port.uppers.size === 0 && this.lower.rxHandler === this.port) this.lower.rxHandler = undefined;
  }
}

function ipvlanOf(dev: SimLink): IpvlanDev {
  const d = dev.stacked;
  if (!(d instanceof IpvlanDev)) throw new Error(`${dev.name} is no ipvlan`);
  return d;
}

/** ipvlan_link_new: `dev` becomes an ipvlan on `lower`, whose port (made with its first ipvlan) lists it. */
function ipvlanNewlink(dev: SimLink, lower: SimLink, mode: IpvlanMode): void {
  if (mode !== 'l2') throw new Error(`${dev.name}: ipvlan mode ${mode} is not modelled by the sim kernel`);
  let port = lower.rxHandler;
  if (port === undefined) lower.rxHandler = port = new IpvlanPort();
  if (!(port instanceof IpvlanPort)) throw new Error(`${lower.name}: its rx_handler is another kind's (Device or resource busy)`);
  port.uppers.add(dev);
  dev.stacked = new IpvlanDev(lower, port, mode);
}

const ipvlanOps: NetDeviceOps = {
  // ipvlan_xmit_mode_l2.
  xmit(dp, dev, skb) {
    const { lower, port } = ipvlanOf(dev);
    const f = skb.frame;
    if (toOwnMac(f)) {
      // For the shared MAC: a sibling holding the address takes it, else the lower's own stack (dev_forward_skb).
      return later(dp, skb, dp.delays.veth, dp.devRecvTask, port.lookup(l3Destination(f)) ?? lower);
    }
    if (isGroup(f)) {
      // ipvlan_multicast_enqueue: every other ipvlan gets a copy, and the frame leaves by the lower.
      for (const v of port.uppers) {
        if (v === dev || !v.up) continue;
        later(dp, new Skb(f, accepts(v, f) ? skb.flow : undefined, skb.dir), dp.delays.veth, dp.devRecvTask, v);
      }
    }
    devXmit(dp, lower, skb);
  },
};

export const ipvlanDevice: StackedDevice<'ipvlan'> = { ops: ipvlanOps, lowerMac: true, newlink: (dev, lower, k) => ipvlanNewlink(dev, lower, k.mode) };
