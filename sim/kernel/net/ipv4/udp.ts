/**
 * net/ipv4/udp.c: a datagram goes to the socket bound to its destination port. A vxlan
 * device's socket takes it whole (its encap_rcv) when the VNI is the device's; others get
 * the payload.
 */
import type { Datapath } from '../../datapath';
import type { RxHandler, SimLink, SimNetns } from '../../objects';
import { be16, bufferView } from '../../../wire/bytes';
import { ETHERNET_HEADER_LEN } from '../../../wire/ethernet';
import { ipv4PacketDstString, ipv4PacketSrc, parseIpv4 } from '../../../wire/ipv4';
import { parseUdp, UDP_HEADER_LEN } from '../../../wire/udp';
import { VXLAN_HEADER_LEN, vxlanVni } from '../../../wire/vxlan';
import { Skb } from '../skb';

export function udpRcv(dp: Datapath, ns: SimNetns, dev: SimLink, skb: Skb, l4: number, end: number): void {
  const f = skb.frame;
  if (end - l4 < UDP_HEADER_LEN) return;
  // The datagram ends where its length field says (never past the IP payload).
  const udpEnd = l4 + Math.min(be16(f, l4 + 4), end - l4);
  const vxlans = udpEnd - l4 >= UDP_HEADER_LEN + VXLAN_HEADER_LEN ? ns.vxlanSockets.get().get(be16(f, l4 + 2)) : undefined;
  for (let i = 0; vxlans !== undefined && i < vxlans.length; i++) {
    const vx = vxlans[i];
    const vni = vxlanVni(f, l4 + UDP_HEADER_LEN);
    if (!vx.up || (!vx.vxlan!.external && vni !== vx.vxlan!.vni)) continue;
    dp.trace.udpDeliver(dev, skb, vx, vni);
    const inner = innerFrame(skb, f, l4 + UDP_HEADER_LEN + VXLAN_HEADER_LEN, udpEnd);
    // An external device with an rx_handler (an Open vSwitch vport's): its packets carry their tunnel as metadata.
    const rx = vx.vxlan!.external ? vx.rxHandler : undefined;
    if (rx !== undefined) return metadataRcv(dp, vx, skb, new Skb(inner, skb.flow, skb.dir), vni, rx);
    // vxlan_rcv pulls the outer headers off the same skb. The outer datagram goes along for
    // vxlan_snoop, which reads the sending VTEP from it only where the device learns.
    const wait = dp.delays.vxlan + skb.lag;
    skb.lag = 0;
    skb.retarget(inner, undefined, undefined);
    dp.clock.call(wait, dp.vxlanRecvTask, vx, skb, f);
    return;
  }
  udpSocketRcv(dp, ns, dev, skb, l4, end, udpEnd);
}

/**
 * The inner frame at [start, end) of the datagram `f`: the one the sending vxlan wrapped in
 * place (the skb's inner frame), when `f` is still the frame it wrapped it in and these are
 * its bytes; else a view cut anew.
 */
function innerFrame(skb: Skb, f: Uint8Array, start: number, end: number): Uint8Array {
  const inner = skb.inner;
  if (inner !== undefined && skb.innerOf === f && skb.innerStart === start && inner.length === end - start) return inner;
  return f.subarray(start, end);
}

/**
 * A datagram for no vxlan device: a tunnel socket's encap_rcv (a user-space router's port,
 * weave sleeve's 6783), or a bound socket. Apart from udpRcv, whose vxlan path every overlay packet takes.
 */
function udpSocketRcv(dp: Datapath, ns: SimNetns, dev: SimLink, skb: Skb, l4: number, end: number, udpEnd: number): void {
  const f = skb.frame;
  const encapRcv = ns.udpTunnels?.get(be16(f, l4 + 2));
  if (encapRcv !== undefined) return encapRcv(dp, dev, skb, l4, udpEnd);
  const u = parseUdp(bufferView(f).subarray(l4, end));
  const h = parseIpv4(bufferView(f), ETHERNET_HEADER_LEN);
  if (!u.ok || !h.ok) return;
  dp.sockets.udp(ns, h.repr.dst, u.repr.dstPort)?.(h.repr, u.repr.srcPort, u.payload, skb);
}

/**
 * A collect-metadata device's datagram: its tunnel (VNI and outer addresses) goes with the
 * inner frame straight to the device's handler. The only collect-metadata device is the one
 * an Open vSwitch datapath makes for its vxlan vport (odp.vport, which alone sets
 * `external`), and it registers the vport's handler, which takes every frame, with it (a
 * second handler is EBUSY). No snooping as vxlanRecv does: Open vSwitch's vxlan_tnl_create
 * sets collect-metadata without VXLAN_F_LEARN, so vxlan_set_mac never snoops for it.
 */
function metadataRcv(dp: Datapath, vx: SimLink, skb: Skb, inner: Skb, vni: number, rx: RxHandler): void {
  const wait = dp.delays.vxlan + skb.lag;
  const f = skb.frame, ip = ETHERNET_HEADER_LEN;
  const tunnel = { id: vni, src: ipv4PacketSrc(f, ip), dst: ipv4PacketDstString(f, ip) };
  dp.clock.schedule(wait, () => rx.rx(dp, vx, inner, tunnel));
}
