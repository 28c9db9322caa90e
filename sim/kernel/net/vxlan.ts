/**
 * drivers/net/vxlan/vxlan_core.c: the vxlan device. vxlan_xmit answers ARP from its
 * neighbour table (arp_reduce, with `proxy`), looks the inner destination up in its FDB
 * and encapsulates (vxlan_xmit_one); vxlan_rcv takes the inner frame off a datagram its
 * UDP socket received, learns the sender's VTEP (vxlan_snoop) and hands the frame to the
 * bridge it is a port of, or to its namespace's stack.
 */
import type { Datapath } from '../datapath';
import type { ResolvedRoute, SimLink, SimNetns, VxlanFdbEntry, VxlanState } from '../objects';
import type { NetDeviceOps } from './dev';
import { ipv4ToNumber, macToString, maskOf, ZERO_MAC } from '../../wire/addr';
import { ARP_REPLY, ARP_REQUEST, emitArp, parseArp } from '../../wire/arp';
import { be16, be32, bufferView } from '../../wire/bytes';
import { emitEthernet, ETHERNET_HEADER_LEN, ETHERTYPE_ARP, ETHERTYPE_IPV4, isMulticastEtherAddr } from '../../wire/ethernet';
import { emitIpv4, IPPROTO_ICMP, IPPROTO_UDP, IPV4_MIN_HEADER_LEN, ipv4PacketDstString, ipv4PacketSrc, Ipv4Repr, writeIpv4PlainHeader } from '../../wire/ipv4';
import { emitIcmp, ICMP_DEST_UNREACHABLE, ICMP_HEADER_LEN, UNREACH_FRAG_NEEDED } from '../../wire/icmp';
import { UDP_HEADER_LEN, UdpRepr, writeUdpHeader } from '../../wire/udp';
import { VXLAN_FLAG_I, VXLAN_HEADER_LEN, VxlanRepr, writeVxlanHeader } from '../../wire/vxlan';
import { Skb } from './skb';
import { bridgeForward } from './bridge/br_forward';
import { pathMtu, route } from './ipv4/route';
import { ipFragment } from './ipv4/ip_fragment';
import { accepts, countRx, l3Input, recvTaps, VXLAN_OVERHEAD } from './dev';
import { datagramBuffer, ipTransmit, NO_OPTIONS } from './ipv4/ip_output';
import { resolvedNeigh, writeL2Header } from './neighbour';
import { vxlanMissNotify } from '../watchmiss';
import { EPHEMERAL_PORT_MAX, EPHEMERAL_PORT_MIN } from './sockets';

export const vxlanOps: NetDeviceOps = { xmit: vxlanXmit };

function vxlanXmit(dp: Datapath, vx: SimLink, skb: Skb): void {
  const v = vx.vxlan!;
  const f = skb.frame;
  if (be16(f, 12) === ETHERTYPE_ARP && v.proxy) return arpReduce(dp, vx, skb);
  const dst = macToString(f, 0);
  const e = vxlanLookup(dp, v, dst) ?? v.fdb.get(ZERO_MAC);
  if (!e) return fdbMiss(dp, vx, skb, dst);
  // vxlan_xmit encapsulates and hands the packet to the underlay in the same call.
  skb.lag += dp.delays.vxlan;
  encapsulate(dp, vx, e, f, skb);
}

/** No FDB entry for the destination: nothing is sent. */
function fdbMiss(dp: Datapath, vx: SimLink, skb: Skb, dst: string): void {
  dp.trace.encapFailed(vx, skb, `no fdb entry for ${dst} (l2miss)`);
  // vxlan_fdb_miss: with l2miss, a unicast destination's miss is told to the namespace's listeners.
  if (vx.vxlan!.l2miss && !isMulticastEtherAddr(skb.frame)) vxlanMissNotify(dp, vx, skb, { mac: dst });
}

/**
 * arp_reduce: with `proxy` set, the device answers an ARP request itself from its
 * neighbour table (the entries the overlay driver programs); a request it cannot answer
 * is an l3miss and goes nowhere.
 */
function arpReduce(dp: Datapath, vx: SimLink, skb: Skb): void {
  const arp = parseArp(bufferView(skb.frame).subarray(ETHERNET_HEADER_LEN));
  if (!arp.ok || arp.repr.opcode !== ARP_REQUEST) return;
  const ip = arp.repr.targetIp;
  const n = vx.netns.neigh.get(vx.name, ip);
  if (!n?.mac) {
    dp.trace.arpReduceMiss(vx, skb, ip);
    // vxlan_ip_miss: with l3miss, the kernel tells the namespace's listeners which address it lacked.
    if (vx.vxlan!.l3miss) vxlanMissNotify(dp, vx, skb, { ip });
    return;
  }
  const mac = n.mac;
  const reply = emitEthernet({ src: mac, dst: arp.repr.senderMac, ethertype: ETHERTYPE_ARP },
    emitArp({ opcode: ARP_REPLY, senderMac: mac, senderIp: ip, targetMac: arp.repr.senderMac, targetIp: arp.repr.senderIp }));
  const r = new Skb(reply, skb.flow, skb.dir);
  dp.clock.schedule(dp.delays.vxlan + skb.lag, () => {
    dp.trace.arpReduced(vx, r, ip, mac);
    bridgeForward(dp, vx.master!, vx, r);
  });
}

/** vxlan_find_mac, with the learned entries' ageing (after the device's `ageing` seconds). */
function vxlanLookup(dp: Datapath, vx: VxlanState, mac: string): VxlanFdbEntry | undefined {
  const e = vx.fdb.get(mac);
  if (e?.updatedNs !== undefined && !e.permanent && dp.clock.now - e.updatedNs > vx.ageing * 1e9) {
    vx.fdb.delete(mac);
    return undefined;
  }
  return e;
}

/** The outer header's TTL (vxlan's `ttl` unset: ip4_dst_hoplimit, the namespace's default 64). */
const OUTER_TTL = 64;

/**
 * vxlan_xmit_one: wraps a frame in VXLAN, UDP and IPv4 and sends it from the device's
 * socket namespace (outer DF clear, TTL 64, UDP checksum absent, source port from the inner flow).
 */
function encapsulate(dp: Datapath, vx: SimLink, e: VxlanFdbEntry, inner: Uint8Array, skb: Skb): void {
  const v = vx.vxlan!;
  const r = route(v.linkNetns, e.dst);
  if (!r || r.local) return noRouteToVtep(dp, vx, skb, e.dst, r === undefined);
  const udpLength = UDP_HEADER_LEN + VXLAN_HEADER_LEN + inner.length;
  const mtu = pathMtu(v.linkNetns, e.dst, r.dev, dp.clock.now);
  const fits = IPV4_MIN_HEADER_LEN + udpLength <= mtu;
  // skb_tunnel_check_pmtu: an inner IPv4 packet with DF that will not fit is answered on its destination's behalf.
  if (!fits && innerDontFragment(inner)) return pmtudReply(dp, vx, skb, inner, mtu, IPV4_MIN_HEADER_LEN + udpLength);
  const id = dp.nextIpId();
  if (!fits) return encapsulateInFragments(dp, vx, e, inner, skb, r, mtu, { src: r.src, dst: e.dst, protocol: IPPROTO_UDP, ttl: OUTER_TTL, id, tos: 0, dontFragment: false, moreFragments: false, fragmentOffset: 0, options: NO_OPTIONS }, udpLength);
  const n = resolvedNeigh(dp, v.linkNetns, r);
  // skb_cow_head: the headers go into the room before the frame when the skb owns it (and
  // the next hop is known, so the outer Ethernet header is written now); else into a new buffer the frame is copied to.
  const inPlace = n !== undefined && skb.head === inner;
  const b = inPlace ? new Uint8Array(skb.headSlab!, inner.byteOffset - ENCAP_HEADROOM, ENCAP_HEADROOM + inner.length) : datagramBuffer(dp, r, n, udpLength);
  if (inPlace) writeL2Header(b, r, n.mac!);
  const at = b.length - udpLength;
  writeIpv4PlainHeader(b, at - IPV4_MIN_HEADER_LEN, udpLength, 0, id, 0, OUTER_TTL, IPPROTO_UDP, r.srcAddr, ipv4ToNumber(e.dst));
  writeEncapHeaders(b, at, v, inner, udpLength);
  if (!inPlace) b.set(inner, at + UDP_HEADER_LEN + VXLAN_HEADER_LEN);
  // The same skb leaves wrapped, its lag still ahead of the clock.
  skb.retarget(b, vx.name, inPlace ? inner : undefined, at + UDP_HEADER_LEN + VXLAN_HEADER_LEN);
  ipTransmit(dp, v.linkNetns, r, n, skb);
}

/**
 * The UDP and VXLAN headers of `inner`'s encapsulation, at `at` in `b`. The headers'
 * representations are written into one pair of objects, not made anew: every packet a
 * flood sends is encapsulated, and the writers only read them.
 */
function writeEncapHeaders(b: Uint8Array, at: number, v: VxlanState, inner: Uint8Array, udpLength: number): void {
  ENCAP_UDP.srcPort = vxlanSourcePort(inner);
  ENCAP_UDP.dstPort = v.dstport;
  writeUdpHeader(ENCAP_UDP, b, at, udpLength - UDP_HEADER_LEN);
  ENCAP_VXLAN.vni = v.vni;
  writeVxlanHeader(ENCAP_VXLAN, b, at + UDP_HEADER_LEN);
}
const ENCAP_UDP: UdpRepr = { srcPort: 0, dstPort: 0 };
const ENCAP_VXLAN: VxlanRepr = { flags: VXLAN_FLAG_I, groupPolicyId: 0, vni: 0 };

/**
 * What vxlan pushes before the inner frame, within NET_SKB_PAD: the outer Ethernet, IPv4, UDP
 * and VXLAN headers. As many bytes as VXLAN_OVERHEAD (dev.ts), which sums another set: what
 * an MTU leaves for, the inner Ethernet header counted instead of the outer one.
 */
const ENCAP_HEADROOM = ETHERNET_HEADER_LEN + IPV4_MIN_HEADER_LEN + UDP_HEADER_LEN + VXLAN_HEADER_LEN;

/** No route to the VTEP: because the underlay device that would carry it is down (the reason a student needs), or none at all. */
function noRouteToVtep(dp: Datapath, vx: SimLink, skb: Skb, vtep: string, noRoute: boolean): void {
  const v = vx.vxlan!;
  const down = noRoute && [...v.linkNetns.links.values()].find((l) => !l.up && l.addrs.some((a) => inSubnet(a.ip, a.prefixLength, vtep)));
  if (down) return dp.trace.uplinkDown(down, skb);
  dp.trace.encapFailed(vx, skb, `no route to ${vtep}`);
}

/** The outer header's DF is clear: a datagram over the underlay's MTU leaves in fragments. */
function encapsulateInFragments(dp: Datapath, vx: SimLink, e: VxlanFdbEntry, inner: Uint8Array, skb: Skb, r: ResolvedRoute, mtu: number, outer: Ipv4Repr, udpLength: number): void {
  const v = vx.vxlan!;
  const payload = Buffer.alloc(udpLength);
  writeEncapHeaders(payload, 0, v, inner, udpLength);
  payload.set(inner, UDP_HEADER_LEN + VXLAN_HEADER_LEN);
  const like = new Skb(inner, skb.flow, skb.dir, undefined, vx.name);
  like.lag = skb.lag;
  ipFragment(dp, v.linkNetns, r, mtu, outer, payload, like);
}

/** Whether an inner frame is an IPv4 packet with DF set. */
function innerDontFragment(inner: Uint8Array): boolean {
  return inner.length >= ETHERNET_HEADER_LEN + IPV4_MIN_HEADER_LEN && be16(inner, 12) === ETHERTYPE_IPV4 && (inner[ETHERNET_HEADER_LEN + 6] & 0x40) !== 0;
}

/** The most of the offending packet an ICMP error carries: the whole error within 576 bytes (RFC 1812). */
const ICMP_ERROR_MAX = 576;
/** The smallest MTU the tunnel reports (iptunnel_pmtud_check_icmp answers nothing below IPv4's 576). */
const MIN_REPORTED_MTU = 576;

/**
 * iptunnel_pmtud_build_icmp, for a vxlan device that is a bridge port: the device itself
 * answers ICMP "fragmentation needed" with the tunnel's MTU (the path's less VXLAN's 50
 * bytes), from the inner destination's addresses to its source, and receives it as if it
 * had come from the peer (netif_rx), so the bridge carries it back to the sender. The
 * packet itself goes no further.
 */
function pmtudReply(dp: Datapath, vx: SimLink, skb: Skb, inner: Uint8Array, pathMtu: number, outerLength: number): void {
  const mtu = pathMtu - VXLAN_OVERHEAD;
  dp.trace.tunnelTooBig(vx, skb, `MTU ${pathMtu} < ${outerLength}, DF set`);
  if (mtu < MIN_REPORTED_MTU) return;
  const ip = ETHERNET_HEADER_LEN;
  const innerLength = Math.min(be16(inner, ip + 2), inner.length - ip);
  const quoted = Buffer.from(inner.subarray(ip, ip + Math.min(innerLength, ICMP_ERROR_MAX - IPV4_MIN_HEADER_LEN - ICMP_HEADER_LEN)));
  const icmp = emitIcmp({ kind: 'unreachable', type: ICMP_DEST_UNREACHABLE, code: UNREACH_FRAG_NEEDED, mtu, quoted });
  const src = ipv4PacketDstString(inner, ip), dst = ipv4PacketSrc(inner, ip);
  const reply = emitEthernet({ src: macToString(inner, 0), dst: macToString(inner, 6), ethertype: ETHERTYPE_IPV4 },
    emitIpv4({ src, dst, protocol: IPPROTO_ICMP, ttl: 64, id: 0, tos: 0, dontFragment: true, moreFragments: false, fragmentOffset: 0, options: NO_OPTIONS }, icmp));
  // The answer goes back toward the sender, as any ICMP error does.
  const r = new Skb(reply, skb.flow, skb.dir === 'request' ? 'reply' : 'request');
  dp.clock.schedule(dp.delays.vxlan + skb.lag, () => {
    countRx(vx, r);
    dp.trace.pmtuReply(vx, r, mtu);
    vxlanRx(dp, vx, r);
  });
}

/** vxlan_rcv: the inner frame of a datagram for this device's VNI (`outer`, as it arrived), after its gro cell's time. */
export function vxlanRecv(dp: Datapath, vx: SimLink, skb: Skb, outer: Uint8Array): void {
  countRx(vx, skb);
  if (vx.vxlan!.learning) vxlanSnoop(dp, vx.vxlan!, macToString(skb.frame, 6), ipv4PacketSrc(outer, ETHERNET_HEADER_LEN));
  recvTaps(dp, vx, skb);
  vxlanRx(dp, vx, skb);
}

/**
 * The inner frame received on the device (gro_cells_receive): a bridge port hands it to
 * its bridge; a device of its own (Calico's vxlan.calico, routed to) gives it to the
 * namespace's stack when it is addressed to the device.
 */
function vxlanRx(dp: Datapath, vx: SimLink, skb: Skb): void {
  if (vx.master) return bridgeForward(dp, vx.master, vx, skb);
  if (!accepts(vx, skb.frame)) return;
  l3Input(dp, vx, skb);
}

/** vxlan_snoop: with learning on, the inner source MAC is remembered at the VTEP it came from. */
function vxlanSnoop(dp: Datapath, v: VxlanState, src: string, vtep: string): void {
  const e = v.fdb.get(src);
  if (e && !e.permanent && e.dst === vtep) e.updatedNs = dp.clock.now;
  else if (!e?.permanent) v.fdb.set(src, { dst: vtep, permanent: false, updatedNs: dp.clock.now });
}

/** Whether a UDP port is one of the namespace's overlay ports: a vxlan device's, or a tunnel socket's (weave sleeve's). */
export function isOverlayPort(ns: SimNetns, port: number): boolean {
  return ns.vxlanSockets.get().has(port) || ns.udpTunnels?.has(port) === true;
}

/** An Ethernet frame carrying UDP to one of the host's overlay ports (`isOverlayPort`). */
export function isVxlanFrame(f: Uint8Array, ns: SimNetns): boolean {
  const ip = ETHERNET_HEADER_LEN;
  // A later fragment carries no UDP header: only a whole datagram or its first fragment has the port.
  if (f.length < ip + 20 + UDP_HEADER_LEN || be16(f, 12) !== ETHERTYPE_IPV4 || f[ip + 9] !== IPPROTO_UDP || (be16(f, ip + 6) & 0x1fff) !== 0) return false;
  return isOverlayPort(ns, be16(f, ip + (f[ip] & 15) * 4 + 2));
}

/**
 * The outer UDP source port: a hash of the inner flow folded into the ephemeral range, as
 * Linux's udp_flow_src_port does. The hash is symmetric, so both directions use one port.
 */
export function vxlanSourcePort(inner: Uint8Array): number {
  let a = 0, b = 0, proto = 0;
  // An inner IPv4 packet hashes its addresses (offsets 26 and 30) and protocol (23); anything else its MACs.
  if (inner.length >= 34 && be16(inner, 12) === ETHERTYPE_IPV4) {
    a = be32(inner, 26) >>> 0;
    b = be32(inner, 30) >>> 0;
    proto = inner[23];
  } else {
    a = be32(inner, 0) >>> 0;
    b = be32(inner, 6) >>> 0;
  }
  const lo = Math.min(a, b), hi = Math.max(a, b);
  let h = Math.imul(lo ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(hi ^ 0xc2b2ae35, 0x27d4eb2f) ^ proto;
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d) >>> 0;
  return EPHEMERAL_PORT_MIN + (h % (EPHEMERAL_PORT_MAX - EPHEMERAL_PORT_MIN + 1));
}

function inSubnet(ip: string, prefixLength: number, dst: string): boolean {
  const m = maskOf(prefixLength);
  return ((ipv4ToNumber(ip) & m) >>> 0) === ((ipv4ToNumber(dst) & m) >>> 0);
}
