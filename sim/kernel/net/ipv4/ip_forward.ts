/**
 * net/ipv4/ip_forward.c: a datagram for another host, received on a device that forwards
 * (net.ipv4.conf.DEV.forwarding, which net.ipv4.ip_forward sets for all), leaves by the
 * route to its destination. In Linux's order: the input route (no route: ICMP network
 * unreachable, ip_error), ip_forward's checks (TTL 1 or less: ICMP time exceeded; over the
 * outgoing device's MTU with DF set: ICMP fragmentation needed, ip_exceeds_mtu), the TTL
 * decremented (ip_decrease_ttl), netfilter's FORWARD hook, then ip_output: POSTROUTING,
 * fragments when it does not fit and DF is clear (ip_finish_output), and the neighbour
 * layer. With forwarding off the datagram is dropped without an answer, as ip_error does.
 * ICMP redirects (a datagram leaving by the device it came in on) are not modelled.
 */
import type { Datapath } from '../../datapath';
import type { ResolvedRoute, SimLink, SimNetns } from '../../objects';
import { macToString } from '../../../wire/addr';
import { be16, bufferView, putBe16 } from '../../../wire/bytes';
import { internetChecksum } from '../../../wire/checksum';
import { ETHERNET_HEADER_LEN } from '../../../wire/ethernet';
import { ICMP_DEST_UNREACHABLE, ICMP_TIME_EXCEEDED, UNREACH_FRAG_NEEDED } from '../../../wire/icmp';
import { ipv4PacketDstString, ipv4PacketEnd, ipv4PacketHeaderLength, ipv4PacketTtl, parseIpv4 } from '../../../wire/ipv4';
import { Skb } from '../skb';
import { devXmit } from '../dev';
import { neighOutput, resolvedNeigh, writeL2Header } from '../neighbour';
import { devForwards } from './devinet';
import { icmpSend } from './icmp';
import { ipFragment } from './ip_fragment';
import { route } from './route';
import { NF_INET_FORWARD, NF_INET_POST_ROUTING } from '../netfilter';

const UNREACH_NET = 0;
const EXC_TTL = 0;
/** IP_DF in the flags and fragment offset field. */
const IP_DF = 0x4000;

/** ip_route_input_slow's forwarding branch and ip_forward, for the datagram whose IPv4 header starts at the frame's offset 14. */
export function ipForward(dp: Datapath, ns: SimNetns, inDev: SimLink, skb: Skb): void {
  const ip = ETHERNET_HEADER_LEN;
  if (!devForwards(inDev)) return dp.trace.forwardDrop(skb, inDev, `not for this namespace, and ${inDev.name} does not forward (net.ipv4.conf.${inDev.name}.forwarding = 0)`);
  // Only a frame addressed to this device is forwarded (skb->pkt_type == PACKET_HOST).
  if (macToString(skb.frame, 0) !== inDev.mac) return dp.trace.forwardDrop(skb, inDev, 'not for this namespace (link-layer broadcast)');
  const dst = ipv4PacketDstString(skb.frame, ip);
  const r = route(ns, dst);
  if (!r || r.local) {
    icmpSend(dp, ns, skb, ip, ICMP_DEST_UNREACHABLE, UNREACH_NET);
    return dp.trace.forwardDrop(skb, inDev, `no route to ${dst}: ICMP network unreachable`);
  }
  // RTN_BLACKHOLE: discarded without a word (dst_discard).
  if (r.blackhole) return dp.trace.drop(skb, inDev, `blackhole route to ${dst}`);
  if (ipv4PacketTtl(skb.frame, ip) <= 1) {
    icmpSend(dp, ns, skb, ip, ICMP_TIME_EXCEEDED, EXC_TTL);
    return dp.trace.forwardDrop(skb, inDev, 'TTL exceeded in transit: ICMP time exceeded');
  }
  const length = ipv4PacketEnd(skb.frame, ip) - ip;
  const df = (be16(skb.frame, ip + 6) & IP_DF) !== 0;
  if (df && length > r.dev.mtu) {
    icmpSend(dp, ns, skb, ip, ICMP_DEST_UNREACHABLE, UNREACH_FRAG_NEEDED, r.dev.mtu);
    return dp.trace.forwardDrop(skb, inDev, `MTU ${r.dev.mtu} < ${length}, DF set: ICMP fragmentation needed`);
  }
  // skb_cow: the datagram is changed on a copy (the frame seen so far stays as it was).
  const out = dp.frames.alloc(ETHERNET_HEADER_LEN + length);
  out.set(skb.frame.subarray(0, ETHERNET_HEADER_LEN + length));
  decreaseTtl(out, ip);
  const fwd = new Skb(out, skb.flow, skb.dir, skb.note);
  fwd.lag = skb.lag;
  fwd.copyNfct(skb);
  fwd.fragMaxSize = skb.fragMaxSize;
  fwd.forwarded = true;
  if (!hookAccepts(dp, NF_INET_FORWARD, ns, fwd, inDev, r.dev)) return;
  if (!hookAccepts(dp, NF_INET_POST_ROUTING, ns, fwd, inDev, r.dev)) return;
  forwardOutput(dp, ns, r, fwd, length);
}

/** ip_decrease_ttl: one less, the header checksum made anew. */
function decreaseTtl(f: Uint8Array, ip: number): void {
  f[ip + 8]--;
  putBe16(f, ip + 10, 0);
  putBe16(f, ip + 10, internetChecksum(f, ip, ip + ipv4PacketHeaderLength(f, ip)));
}

function hookAccepts(dp: Datapath, hook: typeof NF_INET_FORWARD | typeof NF_INET_POST_ROUTING, ns: SimNetns, skb: Skb, inDev: SimLink, outDev: SimLink): boolean {
  const dropped = dp.netfilter.verdict(dp, hook, ns, skb, ETHERNET_HEADER_LEN, inDev, outDev);
  if (dropped === undefined) return true;
  dp.trace.forwardDrop(skb, hook === NF_INET_FORWARD ? inDev : outDev, dropped);
  return false;
}

/** ip_finish_output for a forwarded datagram: whole behind a new Ethernet header, in fragments, or queued for the next hop's address. */
function forwardOutput(dp: Datapath, ns: SimNetns, r: ResolvedRoute, skb: Skb, length: number): void {
  const ip = ETHERNET_HEADER_LEN;
  // A datagram joined from fragments leaves in fragments no larger than the ones it came in (ip_fragment's frag_max_size).
  const mtu = skb.fragMaxSize !== undefined ? Math.min(r.dev.mtu, skb.fragMaxSize) : r.dev.mtu;
  if (length > mtu) {
    const p = parseIpv4(bufferView(skb.frame), ip);
    if (!p.ok) return;
    // The fragments leave past the hooks the whole datagram already passed.
    ipFragment(dp, ns, r, mtu, p.repr, p.payload, skb, (frag) => {
      frag.forwarded = true;
      neighOutput(dp, ns, r, frag);
    });
    return;
  }
  const n = resolvedNeigh(dp, ns, r);
  if (n) {
    writeL2Header(skb.frame, r, n.mac!);
    return devXmit(dp, r.dev, skb);
  }
  const bare = new Skb(skb.frame.subarray(ip), skb.flow, skb.dir, skb.note);
  bare.lag = skb.lag;
  bare.forwarded = true;
  neighOutput(dp, ns, r, bare);
}
