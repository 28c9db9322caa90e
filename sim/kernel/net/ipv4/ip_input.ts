/**
 * net/ipv4/ip_input.c: ip_rcv checks the header, ip_local_deliver takes datagrams for the
 * namespace (reassembling fragments) and hands them to ICMP, UDP or TCP; others go to ip_forward. The header is read in
 * place, as routers do, not parsed into a representation.
 */
import type { Datapath } from '../../datapath';
import type { SimLink, SimNetns } from '../../objects';
import { ETHERNET_HEADER_LEN } from '../../../wire/ethernet';
import {
  IPPROTO_ICMP, IPPROTO_IPIP, IPPROTO_TCP, IPPROTO_UDP, ipv4HeaderProblem, ipv4PacketChecksumOk, ipv4PacketDst, ipv4PacketDstString, ipv4PacketEnd, ipv4PacketHeaderLength, ipv4PacketIsFragment, ipv4PacketProtocol,
} from '../../../wire/ipv4';
import { ICMP_ECHO_REQUEST } from '../../../wire/icmp';
import { Skb } from '../skb';
import { isLocalAddress, route } from './route';
import { broadcastRoute } from './fib';
import { ipDefrag } from './ip_fragment';
import { ipForward } from './ip_forward';
import { icmpRcv } from './icmp';
import { udpRcv } from './udp';
import { tcpRcv } from './tcp';
import { isVxlanFrame } from '../vxlan';
import { ipipRcv } from './ipip';
import { NF_INET_LOCAL_IN, NF_INET_PRE_ROUTING } from '../netfilter';

export function ipInput(dp: Datapath, ns: SimNetns, dev: SimLink, skb: Skb): void {
  const ip = ETHERNET_HEADER_LEN;
  if (ipv4HeaderProblem(skb.frame, ip) !== undefined || !ipv4PacketChecksumOk(skb.frame, ip)) return dp.trace.drop(skb, dev, 'bad IPv4 header');
  // nf_defrag_ipv4: where connection tracking runs, it sees whole datagrams, so fragments
  // are joined before PREROUTING (a forwarded one leaves in fragments again).
  if (ns.netfilter?.active && ipv4PacketIsFragment(skb.frame, ip)) return defragForConntrack(dp, ns, dev, skb);
  ipRcvFinish(dp, ns, dev, skb);
}

// The reassembly paths live in functions of their own: a closure in the hot functions
// would make V8 allocate a context for the captured variables on every datagram.

function defragForConntrack(dp: Datapath, ns: SimNetns, dev: SimLink, skb: Skb): void {
  ipDefrag(dp, ns, 'conntrack', skb, (whole) => ipRcvFinish(dp, ns, dev, whole));
}

/** ip_local_deliver's ip_defrag: a fragment for this namespace waits for the rest of its datagram. */
function defragThenDeliver(dp: Datapath, ns: SimNetns, dev: SimLink, skb: Skb): void {
  const ip = ETHERNET_HEADER_LEN;
  ipDefrag(dp, ns, 'local', skb, (whole) => deliver(dp, ns, dev, whole, ip + ipv4PacketHeaderLength(whole.frame, ip), whole.frame.length));
}

/** ip_rcv_finish and on: PREROUTING, the route, then local delivery or forwarding. */
function ipRcvFinish(dp: Datapath, ns: SimNetns, dev: SimLink, skb: Skb): void {
  const ip = ETHERNET_HEADER_LEN;
  // As a sniffer on the device saw it (its first fragment, when it came in pieces), before PREROUTING's NAT.
  const arrived = skb.arrivedAs ?? skb.frame;
  if (!netfilterAccepts(dp, NF_INET_PRE_ROUTING, ns, dev, skb)) return;
  // ip_rcv_finish's route lookup, on the destination PREROUTING's NAT may have changed: a
  // datagram for another host is forwarded, or dropped where forwarding is off.
  const dst = ipv4PacketDst(skb.frame, ip);
  // RTN_BROADCAST: a broadcast address of this namespace's (the local table's) is received here,
  // never forwarded (brd_input; net.ipv4.conf.all.bc_forwarding is 0, as Linux sets it). The
  // lookup's longest match is the broadcast /32 over the local route of a prefix on lo that
  // holds it (10.50.0.255 of lo's 10.50.0.1/24, 127.255.255.255): only an address of a device is local before it.
  const own = ns.localAddrs.get().has(dst);
  const onLo = !own && isLocalAddress(ns, dst);
  const broadcast = own ? false : onLo ? broadcastRoute(ns, dst) !== undefined : route(ns, ipv4PacketDstString(skb.frame, ip))?.broadcast === true;
  const local = own || (onLo && !broadcast);
  if (dev.type === 'underlay') uplinkSeen(dp, ns, dev, skb, arrived, local || broadcast);
  if (!local && !broadcast) return ipForward(dp, ns, dev, skb);
  if (!netfilterAccepts(dp, NF_INET_LOCAL_IN, ns, dev, skb)) return;
  const f = skb.frame;
  // icmp_rcv: an echo to a broadcast address goes unanswered (net.ipv4.icmp_echo_ignore_broadcasts is 1).
  if (broadcast && ipv4PacketProtocol(f, ip) === IPPROTO_ICMP && f[ip + ipv4PacketHeaderLength(f, ip)] === ICMP_ECHO_REQUEST) {
    return dp.trace.drop(skb, dev, 'echo request to a broadcast address: ignored (net.ipv4.icmp_echo_ignore_broadcasts = 1)');
  }
  if (ipv4PacketIsFragment(f, ip)) return defragThenDeliver(dp, ns, dev, skb);
  deliver(dp, ns, dev, skb, ip + ipv4PacketHeaderLength(f, ip), ipv4PacketEnd(f, ip));
}

/** The tracer sees what a host's uplink takes, but VXLAN for this host (its socket's hop says it). */
function uplinkSeen(dp: Datapath, ns: SimNetns, dev: SimLink, skb: Skb, arrived: Uint8Array, local: boolean): void {
  if (!local || !isVxlanFrame(arrived, ns)) dp.trace.uplinkRecv(dev, arrived === skb.frame ? skb : asArrived(skb, arrived), !local);
}

/** The datagram as it arrived, for the tracer: the same flow, direction and time, and the lower whose taps saw it (Skb.tappedBy). */
function asArrived(skb: Skb, frame: Uint8Array): Skb {
  const a = new Skb(frame, skb.flow, skb.dir);
  a.lag = skb.lag;
  a.tappedBy = skb.tappedBy;
  return a;
}

/** The transport layer of a datagram for this namespace; its header sits at the frame's offset 14, its payload at [l4, end). */
export function deliver(dp: Datapath, ns: SimNetns, dev: SimLink, skb: Skb, l4: number, end: number): void {
  const protocol = ipv4PacketProtocol(skb.frame, ETHERNET_HEADER_LEN);
  if (protocol === IPPROTO_ICMP) icmpRcv(dp, ns, skb, l4, end);
  else if (protocol === IPPROTO_UDP) udpRcv(dp, ns, dev, skb, l4, end);
  else if (protocol === IPPROTO_IPIP) ipipRcv(dp, ns, dev, skb, l4, end);
  else if (protocol === IPPROTO_TCP) tcpRcv(dp, ns, skb, l4, end);
}

function netfilterAccepts(dp: Datapath, hook: typeof NF_INET_PRE_ROUTING | typeof NF_INET_LOCAL_IN, ns: SimNetns, dev: SimLink, skb: Skb): boolean {
  const dropped = dp.netfilter.verdict(dp, hook, ns, skb, ETHERNET_HEADER_LEN, dev, undefined);
  if (dropped === undefined) return true;
  dp.trace.netfilterDrop(skb, dev, ETHERNET_HEADER_LEN, true, dropped);
  return false;
}
