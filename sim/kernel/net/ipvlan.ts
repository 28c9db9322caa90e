/**
 * drivers/net/ipvlan: devices on one lower device (the host's eth0) that all carry the
 * lower's MAC and are told apart by their IP addresses. The lower's port (ipvl_port, its
 * rx_handler's data) lists them and holds their mode (ipvlan_set_port_mode: one for all).
 * In l2 mode (ipvlan_xmit_mode_l2, ipvlan_handle_mode_l2) a frame the lower receives goes to
 * the device that holds its destination address (an IPv4 packet's destination, an ARP
 * packet's target), and a broadcast to every device as well as to the lower's own stack.
 * What a device sends leaves through the lower unchanged, except a frame addressed to the
 * shared MAC, which stays on the host: to the device that holds its destination address,
 * else to the lower's own stack (dev_forward_skb). A broadcast goes to the other devices and
 * out. In l3 mode the devices are NOARP: what one sends to a sibling's address is handed
 * across; anything else loses its Ethernet header and is routed by the lower's namespace
 * (ipvlan_process_v4_outbound: the host's routing table, its OUTPUT and POSTROUTING hooks,
 * its neighbours), a broadcast or multicast dropped. A frame the lower receives goes by its
 * destination address alone, a broadcast too (ipvlan_handle_mode_l3): an ARP request for a
 * device's address reaches that device, which answers none.
 */
import type { Datapath } from '../datapath';
import { joinPort, StackedPort } from './stacked_port';
import type { IpvlanMode } from '../../plan/links/ipvlan';
import { GROUP_CLAIMED, ResolvedRoute, RxClaim, SimLink, SimNetns, StackedDev } from '../objects';
import { ipv4ToNumber } from '../../wire/addr';
import { be16 } from '../../wire/bytes';
import { ETHERNET_HEADER_LEN, ETHERTYPE_ARP, ETHERTYPE_IPV4, isMulticastEtherAddr } from '../../wire/ethernet';
import { NetDeviceOps, devXmit, later } from './dev';
import { Skb } from './skb';
import { resolvedNeigh, writeL2Header } from './neighbour';
import { ipTransmit, loopbackXmit } from './ipv4/ip_output';
import { route } from './ipv4/route';
import { registerStackedDevice, type StackedDevice } from './stacked';

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
class IpvlanPort extends StackedPort {
  constructor(public mode: IpvlanMode) {
    super();
  }

  /** ipvlan_addr_lookup: the open ipvlan on the port that holds this address. */
  lookup(ip: string | undefined): SimLink | undefined {
    if (ip === undefined) return undefined;
    for (const v of this.uppers) {
      if (!v.up) continue;
      for (let i = 0; i < v.addrs.length; i++) if (v.addrs[i].ip === ip) return v;
    }
    return undefined;
  }

  claim(f: Uint8Array): RxClaim {
    if (!isMulticastEtherAddr(f) || this.mode === 'l3') return this.lookup(l3Destination(f));
    return this.groupClaimed(f) ? GROUP_CLAIMED : undefined;
  }

  /**
   * ipvlan_handle_frame in l2 mode: a broadcast is every ipvlan's and the lower's too; a
   * unicast frame is the ipvlan's that holds its destination address, else the lower's own.
   * In l3 mode (ipvlan_handle_mode_l3) every frame goes by its address alone (claim), a
   * broadcast too: an ARP request for a device's address is that device's (which, NOARP,
   * drops it), a broadcast IPv4 destination no device's.
   */
  protected deliversGroups(): boolean {
    return this.mode === 'l2';
  }

  /** Its devices carry the lower's own MAC: the lower needs no promiscuity for them. */
  ucPromisc(): boolean {
    return false;
  }
}

/** An ipvlan device (ipvl_dev): its lower device and its port there, whose mode it has. */
class IpvlanDev implements StackedDev {
  constructor(readonly lower: SimLink, readonly port: IpvlanPort) {}

  /** ipvlan_set_port_mode: an l3 port's devices are IFF_NOARP. */
  get noArp(): boolean {
    return this.port.mode === 'l3';
  }

  // iproute2 prints the mode, then the flags (bridge: neither private nor vepa, as libnetwork makes it).
  details(): string {
    return `    ipvlan  mode ${this.port.mode} bridge `;
  }

  /** ipvlan_uninit: the device leaves its lower's port; the port goes with its last ipvlan. */
  unlink(dev: SimLink): void {
    this.port.leave(this.lower, dev);
  }
}

function ipvlanOf(dev: SimLink): IpvlanDev {
  const d = dev.stacked;
  if (!(d instanceof IpvlanDev)) throw new Error(`${dev.name} is no ipvlan`);
  return d;
}

/** ipvlan_link_new: `dev` becomes an ipvlan on `lower`, whose port (made with its first ipvlan) lists it. */
function ipvlanNewlink(dev: SimLink, lower: SimLink, mode: IpvlanMode): void {
  const port = joinPort(lower, dev, IpvlanPort, () => new IpvlanPort(mode));
  // ipvlan_link_new sets the mode asked for on the whole port: its other devices take it too.
  port.mode = mode;
  dev.stacked = new IpvlanDev(lower, port);
}

/**
 * ipvlan_process_v4_outbound's route: looked up in the lower's namespace for the lower as
 * the output device (flowi4_oif). With no route at all, ip_route_output_key_hash takes the
 * destination as on the lower's link ("Apparently, routing tables are wrong"). An address of
 * the host's own is RTN_LOCAL, which ipvlan_process_v4_outbound accepts: the host's stack
 * takes it by lo. A route by another device is not modelled here.
 */
function outboundRoute(lower: SimLink, dst: string): ResolvedRoute | string {
  const ns = lower.netns;
  const r = route(ns, dst);
  if (r === undefined) {
    const src = lower.addrs[0]?.ip ?? '0.0.0.0';
    return { dev: lower, via: undefined, src, srcAddr: ipv4ToNumber(src), local: false, blackhole: undefined, nexthop: dst, broadcast: false, l2Header: undefined, neigh: undefined, neighGeneration: -1 };
  }
  if (r.local || (r.dev === lower && !r.blackhole)) return r;
  return `an l3 ipvlan's packet to ${dst}, which ${ns.name}'s routes send ${r.blackhole ? 'to a blackhole' : `by ${r.dev.name}`}, not by ${lower.name}: not modelled`;
}

/**
 * ipvlan_xmit_mode_l3 past a sibling: ipvlan_process_outbound drops a broadcast or multicast
 * and anything but IPv4, pulls the Ethernet header and sends the packet as the lower's
 * namespace's own (ip_local_out: OUTPUT, POSTROUTING, the neighbour layer; its TTL kept).
 */
function l3Outbound(dp: Datapath, dev: SimLink, lower: SimLink, skb: Skb): void {
  const f = skb.frame;
  if (isMulticastEtherAddr(f)) return dp.trace.drop(skb, dev, 'ipvlan l3 sends no broadcast or multicast (ipvlan_process_outbound)');
  if (f.length < ETHERNET_HEADER_LEN + 20 || be16(f, 12) !== ETHERTYPE_IPV4) return dp.trace.drop(skb, dev, 'ipvlan l3 sends IPv4 only here (ipvlan_process_outbound)');
  const r = outboundRoute(lower, l3Destination(f)!);
  if (typeof r === 'string') return dp.trace.drop(skb, dev, r);
  if (r.local) return toHostStack(dp, lower.netns, r, skb);
  const n = resolvedNeigh(dp, lower.netns, r);
  // A copy: the frame the device sent stays as the trace saw it.
  const frame = dp.frames.alloc(f.length);
  frame.set(f);
  const out = new Skb(n ? frame : frame.subarray(ETHERNET_HEADER_LEN), skb.flow, skb.dir, skb.note);
  out.lag = skb.lag;
  if (n) writeL2Header(out.frame, r, n.mac!);
  ipTransmit(dp, lower.netns, r, n, out);
}

/**
 * A packet for an address of the host's own: ip_local_out by lo to the host's stack (which
 * answers by its own routes: libnetwork gives the host none to the container's subnet, so
 * the answer leaves by eth0 if at all, and no ipvlan port sees what its lower sends).
 */
function toHostStack(dp: Datapath, ns: SimNetns, r: ResolvedRoute, skb: Skb): void {
  const frame = dp.frames.alloc(skb.frame.length);
  frame.set(skb.frame);
  // lo's blank Ethernet header, as a local send has it.
  frame.fill(0, 0, 12);
  const out = new Skb(frame, skb.flow, skb.dir, skb.note);
  out.lag = skb.lag;
  loopbackXmit(dp, ns, r, out);
}

const ipvlanOps: NetDeviceOps = {
  // ipvlan_xmit_mode_l2.
  xmit(dp, dev, skb) {
    const { lower, port } = ipvlanOf(dev);
    const f = skb.frame;
    if (port.mode === 'l3') {
      // ipvlan_xmit_mode_l3: a sibling holding the destination address takes it (dev_forward_skb); the lower's namespace routes the rest.
      const sibling = isMulticastEtherAddr(f) ? undefined : port.lookup(l3Destination(f));
      if (sibling) return later(dp, skb, dp.delays.veth, dp.devRecvTask, sibling);
      return l3Outbound(dp, dev, lower, skb);
    }
    if (toOwnMac(f)) {
      // For the shared MAC: a sibling holding the address takes it, else the lower's own stack (dev_forward_skb).
      return later(dp, skb, dp.delays.veth, dp.devRecvTask, port.lookup(l3Destination(f)) ?? lower);
    }
    // ipvlan_multicast_enqueue: every other ipvlan gets a copy, and the frame leaves by the lower.
    if (isMulticastEtherAddr(f)) port.forwardGroup(dp, dev, skb);
    devXmit(dp, lower, skb);
  },
};

export const ipvlanDevice: StackedDevice<'ipvlan'> = { ops: ipvlanOps, lowerMac: true, newlink: (dev, lower, k) => ipvlanNewlink(dev, lower, k.mode) };

registerStackedDevice('ipvlan', ipvlanDevice);
