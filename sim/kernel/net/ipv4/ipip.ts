/**
 * net/ipv4/ipip.c: IP in IP (tunl0, remote any, local any, ttl inherit). A datagram routed
 * into the device is wrapped in an outer IPv4 header (protocol 4) to the gateway of the
 * route that chose it (ip_tunnel_xmit's rt_nexthop when the tunnel has no remote) and sent
 * from the namespace like any datagram; protocol 4 arriving for the namespace is unwrapped
 * and received again on the device. The device has no link layer: the datapath's frames keep
 * an Ethernet header of zeros on it, never put on a wire.
 */
import type { Datapath } from '../../datapath';
import type { SimLink, SimNetns } from '../../objects';
import type { NetDeviceOps } from '../dev';
import { ETHERNET_HEADER_LEN, ETHERTYPE_IPV4, writeEthernetHeader } from '../../../wire/ethernet';
import { IPPROTO_IPIP, ipv4PacketDstString, ipv4PacketTtl } from '../../../wire/ipv4';
import { be16 } from '../../../wire/bytes';
import { ZERO_MAC } from '../../../wire/addr';
import { Skb } from '../skb';
import { devRecv } from '../dev';
import { route } from './route';
import { droppedByHook } from './ip_output';

export const ipipOps: NetDeviceOps = {
  xmit(dp, dev, skb) {
    const inner = skb.frame.subarray(ETHERNET_HEADER_LEN);
    const r = route(dev.netns, ipv4PacketDstString(inner, 0));
    // With no remote, the tunnel needs a gateway to send to (ip_tunnel_xmit: "tunnel no remote and no gateway").
    if (!r?.via) return dp.trace.drop(skb, dev, 'ipip: no gateway for the inner destination');
    // ttl inherit, and DF as the inner datagram has it (the tunnel's pmtudisc is off).
    const df = (be16(inner, 6) & 0x4000) !== 0;
    const error = dp.ipSend(dev.netns, {
      dst: r.via, protocol: IPPROTO_IPIP, ttl: ipv4PacketTtl(inner, 0), tos: inner[1], id: df ? 0 : dp.nextIpId(),
      dontFragment: df, moreFragments: false, fragmentOffset: 0,
    }, inner, skb.flow, skb.dir, undefined, skb.lag);
    // A netfilter hook that dropped the outer datagram has traced its drop. ENETUNREACH is
    // also ipSend's own answer with no route: the NAT's only when the gateway has one.
    if (error && !(droppedByHook(error) && route(dev.netns, r.via))) dp.trace.drop(skb, dev, `ipip: ${error}`);
  },
};

/** ipip_rcv: the inner datagram of protocol 4 for this namespace, received on its up ipip device (else dropped, as with no tunnel). */
export function ipipRcv(dp: Datapath, ns: SimNetns, dev: SimLink, skb: Skb, l4: number, end: number): void {
  const tunnel = [...ns.links.values()].find((l) => l.type === 'ipip' && l.up);
  if (!tunnel) return dp.trace.drop(skb, dev, 'protocol 4 with no ipip tunnel');
  const frame = dp.frames.alloc(ETHERNET_HEADER_LEN + end - l4);
  writeEthernetHeader({ src: ZERO_MAC, dst: ZERO_MAC, ethertype: ETHERTYPE_IPV4 }, frame, 0);
  frame.set(skb.frame.subarray(l4, end), ETHERNET_HEADER_LEN);
  const inner = new Skb(frame, skb.flow, skb.dir);
  inner.lag = skb.lag;
  devRecv(dp, tunnel, inner);
}

/** An Ethernet frame carrying IPv4 in IPv4 (protocol 4), the underlay's view of a tunl0 packet. */
export function isIpipFrame(f: Uint8Array): boolean {
  return f.length >= ETHERNET_HEADER_LEN + 20 && be16(f, 12) === ETHERTYPE_IPV4 && f[ETHERNET_HEADER_LEN + 9] === IPPROTO_IPIP;
}
