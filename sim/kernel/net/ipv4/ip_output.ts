/**
 * net/ipv4/ip_output.c: a datagram from a local socket is routed, built whole in one
 * buffer behind its Ethernet header when the next hop is known, fragmented when it does
 * not fit the device, and handed to the neighbour layer.
 */
import type { Datapath } from '../../datapath';
import type { Neigh, ResolvedRoute, SimNetns } from '../../objects';
import type { Flow } from '../../../trace/types';
import { ipv4ToNumber, ZERO_MAC } from '../../../wire/addr';
import { emitEthernet, ETHERNET_HEADER_LEN, ETHERTYPE_IPV4 } from '../../../wire/ethernet';
import { emitIpv4, IPV4_MIN_HEADER_LEN, ipv4FlagsWord, ipv4HeaderLength, ipv4PacketDst, ipv4PacketDstString, Ipv4Repr, parseIpv4, writeIpv4Header, writeIpv4PlainHeader } from '../../../wire/ipv4';
import { bufferView } from '../../../wire/bytes';
import { PayloadRewrite, Skb } from '../skb';
import { countRx, devXmit, later, xmitTaps } from '../dev';
import { neighOutput, resolvedNeigh, writeL2Header } from '../neighbour';
import { ipFragment } from './ip_fragment';
import { pathMtu, route } from './route';
import { NF_INET_LOCAL_OUT, NF_INET_POST_ROUTING } from '../netfilter';

export const NO_OPTIONS = Buffer.alloc(0);

/**
 * What a socket's send is told when a netfilter hook on the way out drops its datagram:
 * nf_hook_slow turns NF_DROP into -EPERM, which ip_local_out hands back to sendto.
 */
export const SEND_NOT_PERMITTED = 'Operation not permitted';

/**
 * What a socket's send is told when OUTPUT's NAT sent its datagram where no route goes:
 * ip_route_me_harder's lookup fails with -ENETUNREACH, nf_nat_ipv4_local_fn drops with that
 * error (NF_DROP_ERR) and nf_hook_slow hands it back to sendto.
 */
export const SEND_UNREACHABLE_AFTER_NAT = 'Network is unreachable';

/**
 * Whether a send's error is one a netfilter hook gave as it dropped the datagram (traced
 * where the hook took it). ENETUNREACH is also ipSend's own answer when there is no route
 * at all: only a caller that found a route before sending can read it as the NAT's.
 */
export function droppedByHook(error: string | undefined): boolean {
  return error === SEND_NOT_PERMITTED || error === SEND_UNREACHABLE_AFTER_NAT;
}

/**
 * Sends an IPv4 datagram from a namespace: route, fragment to the device MTU, resolve
 * the next hop, transmit. Returns an error text for the sender (as the socket would).
 */
export function ipSend(dp: Datapath, ns: SimNetns, ip: Omit<Ipv4Repr, 'src' | 'options'> & { src?: string }, payload: Uint8Array, flow: Flow | undefined, dir: Skb['dir'], rewrite?: PayloadRewrite, lag = 0): string | undefined {
  const r = route(ns, ip.dst);
  if (!r) return 'Network is unreachable';
  return ipSendOn(dp, ns, r, ip, payload, flow, dir, rewrite, lag);
}

/** ipSend on a route already resolved (a socket bound to a device: the route its lookup made, route.ts onLinkRoute). */
export function ipSendOn(dp: Datapath, ns: SimNetns, r: ResolvedRoute, ip: Omit<Ipv4Repr, 'src' | 'options'> & { src?: string }, payload: Uint8Array, flow: Flow | undefined, dir: Skb['dir'], rewrite?: PayloadRewrite, lag = 0): string | undefined {
  // fib_props[RTN_BLACKHOLE]: the lookup itself fails with EINVAL.
  if (r.blackhole) return 'Invalid argument';
  // The rewrite happens as the payload is copied into a single frame; otherwise on a copy first.
  const mtu = r.local ? r.dev.mtu : pathMtu(ns, ip.dst, r.dev, dp.clock.now);
  if (rewrite && (r.local || IPV4_MIN_HEADER_LEN + payload.length > mtu)) {
    payload = Buffer.from(payload);
    rewrite(payload, 0, payload.length);
    rewrite = undefined;
  }
  if (!r.local && IPV4_MIN_HEADER_LEN + payload.length <= mtu) {
    // The common case, built whole behind its Ethernet header: no representation object.
    const n = resolvedNeigh(dp, ns, r);
    const b = datagramBuffer(dp, r, n, payload.length);
    // The slab b was cut from, read before anything else could take a frame from it.
    const slab = dp.frames.current;
    const at = b.length - payload.length;
    writeIpv4PlainHeader(b, at - IPV4_MIN_HEADER_LEN, payload.length, ip.tos, ip.id, ipv4FlagsWord(ip.dontFragment, ip.moreFragments, ip.fragmentOffset), ip.ttl, ip.protocol,
      ip.src === undefined ? r.srcAddr : ipv4ToNumber(ip.src), ipv4ToNumber(ip.dst));
    b.set(payload, at);
    rewrite?.(b, at, payload.length);
    const skb = new Skb(b, flow, dir);
    skb.lag = lag;
    if (n) skb.ownHeadroom(b, slab);
    return ipTransmit(dp, ns, r, n, skb);
  }
  const repr: Ipv4Repr = { src: ip.src ?? r.src, dst: ip.dst, protocol: ip.protocol, ttl: ip.ttl, id: ip.id, tos: ip.tos, dontFragment: ip.dontFragment, moreFragments: ip.moreFragments, fragmentOffset: ip.fragmentOffset, options: NO_OPTIONS };
  if (r.local) return loopbackSend(dp, ns, r, repr, payload, flow, dir, lag);
  return sendInFragments(dp, ns, r, mtu, repr, payload, flow, dir, lag);
}

/** A datagram to one of the namespace's own addresses goes through lo. */
function loopbackSend(dp: Datapath, ns: SimNetns, r: ResolvedRoute, repr: Ipv4Repr, payload: Uint8Array, flow: Flow | undefined, dir: Skb['dir'], lag: number): string | undefined {
  const frame = emitEthernet({ src: ZERO_MAC, dst: ZERO_MAC, ethertype: ETHERTYPE_IPV4 }, emitIpv4(repr, payload));
  const skb = new Skb(frame, flow, dir);
  skb.lag = lag;
  return loopbackXmit(dp, ns, r, skb);
}

/**
 * ip_local_out on a local route: past OUTPUT and POSTROUTING, out of lo and back in to the
 * namespace's own stack. `skb` is a frame with lo's blank Ethernet header.
 */
export function loopbackXmit(dp: Datapath, ns: SimNetns, r: ResolvedRoute, skb: Skb): string | undefined {
  const refused = localOut(dp, ns, r, skb, ETHERNET_HEADER_LEN);
  if (refused !== undefined) return refused;
  // loopback_xmit counts the frame once, as sent and as received (lo's `ifconfig`, `ip -s`).
  r.dev.txPackets++;
  r.dev.txBytes += skb.frame.length;
  countRx(r.dev, skb);
  xmitTaps(dp, r.dev, skb);
  later(dp, skb, dp.delays.stack, dp.localInputTask, r.dev);
  return undefined;
}

/** A datagram over the device's MTU: refused with DF, else cut into fragments. */
function sendInFragments(dp: Datapath, ns: SimNetns, r: ResolvedRoute, mtu: number, repr: Ipv4Repr, payload: Uint8Array, flow: Flow | undefined, dir: Skb['dir'], lag: number): string | undefined {
  if (repr.dontFragment) return `message too long, mtu=${mtu}`;
  const like = new Skb(payload, flow, dir);
  like.lag = lag;
  if (!ns.netfilter?.active) {
    ipFragment(dp, ns, r, mtu, repr, payload, like);
    return undefined;
  }
  const whole = new Skb(emitIpv4(repr, payload), flow, dir);
  whole.lag = lag;
  return fragmentPastHooks(dp, ns, r, mtu, whole, like);
}

/**
 * Netfilter's hooks see the whole datagram (connection tracking never sees a fragment);
 * ip_finish_output cuts what they let through into fragments. A function of its own: its
 * closure in ipSend would make V8 allocate a context on every datagram sent.
 */
function fragmentPastHooks(dp: Datapath, ns: SimNetns, r: ResolvedRoute, mtu: number, whole: Skb, like: Skb): string | undefined {
  const refused = localOut(dp, ns, r, whole, 0);
  if (refused !== undefined) return refused;
  const p = parseIpv4(bufferView(whole.frame));
  if (p.ok) ipFragment(dp, ns, r, mtu, p.repr, p.payload, like, (fragment) => neighOutput(dp, ns, r, fragment));
  return undefined;
}

/**
 * The buffer of an option-less datagram that fits the device: with the next hop's MAC
 * known, its Ethernet header written (the frame leaves at once) and NET_SKB_PAD bytes of
 * headroom before it, which the skb sending it may own (Skb.head); otherwise bare, to wait
 * for ARP. The caller writes the IPv4 header and the payload into its last
 * `headerLength` + `payloadLength` bytes.
 */
export function datagramBuffer(dp: Datapath, r: ResolvedRoute, n: Neigh | undefined, payloadLength: number, headerLength = IPV4_MIN_HEADER_LEN): Uint8Array {
  if (!n) return dp.frames.alloc(headerLength + payloadLength);
  const b = dp.frames.allocWithHeadroom(ETHERNET_HEADER_LEN + headerLength + payloadLength);
  writeL2Header(b, r, n.mac!);
  return b;
}

/**
 * A datagram that fits the device, built whole in one buffer: with the next hop's MAC
 * known, behind its Ethernet header (the frame leaves at once); otherwise bare, to wait
 * for ARP. The caller writes the payload into the buffer's last `payloadLength` bytes.
 */
export function newDatagram(dp: Datapath, r: ResolvedRoute, n: Neigh | undefined, ip: Ipv4Repr, payloadLength: number): Uint8Array {
  const b = datagramBuffer(dp, r, n, payloadLength, ipv4HeaderLength(ip));
  writeIpv4Header(ip, b, n ? ETHERNET_HEADER_LEN : 0, payloadLength);
  return b;
}

/**
 * __ip_local_out, ip_output and ip_finish_output2: past netfilter's OUTPUT and POSTROUTING
 * hooks, out of the device at once with a resolved neighbour, else through neighbour
 * resolution. A destination OUTPUT's NAT changed is routed anew (ip_route_me_harder).
 * Undefined once it is on its way; else the error its sender is told, when a hook dropped it
 * (SEND_NOT_PERMITTED, SEND_UNREACHABLE_AFTER_NAT).
 */
export function ipTransmit(dp: Datapath, ns: SimNetns, r: ResolvedRoute, n: Neigh | undefined, skb: Skb): string | undefined {
  // A datagram waiting for its next hop's address has no Ethernet header yet.
  const ip = n ? ETHERNET_HEADER_LEN : 0;
  const dst = ipv4PacketDst(skb.frame, ip);
  if (!hookAccepts(dp, NF_INET_LOCAL_OUT, ns, r, skb, ip)) return SEND_NOT_PERMITTED;
  if (ipv4PacketDst(skb.frame, ip) !== dst) return rerouteAfterNat(dp, ns, r, n, skb, ip);
  return postRouting(dp, ns, r, n, skb, ip);
}

/** POSTROUTING, then out of the device at once with a resolved neighbour, else through neighbour resolution. */
function postRouting(dp: Datapath, ns: SimNetns, r: ResolvedRoute, n: Neigh | undefined, skb: Skb, ip: number): string | undefined {
  if (!hookAccepts(dp, NF_INET_POST_ROUTING, ns, r, skb, ip)) return SEND_NOT_PERMITTED;
  if (n) devXmit(dp, r.dev, skb);
  else neighOutput(dp, ns, r, skb);
  return undefined;
}

/**
 * ip_route_me_harder: OUTPUT's NAT changed the destination, so the datagram is routed anew.
 * With no route to the new destination the NAT hook drops it, and its sender is told
 * ENETUNREACH (checked on the real kernel: `busybox ping` prints `ping: sendto: Network is
 * unreachable`, iputils' ping counts the probe lost and says nothing).
 */
function rerouteAfterNat(dp: Datapath, ns: SimNetns, r: ResolvedRoute, n: Neigh | undefined, skb: Skb, ip: number): string | undefined {
  const again = routeAfterNat(dp, ns, r, skb, ip);
  if (!again) return SEND_UNREACHABLE_AFTER_NAT;
  if (again.dev !== r.dev || again.nexthop !== r.nexthop) {
    // The next hop changed: the Ethernet header built for the old one goes.
    if (n) skb.frame = skb.frame.subarray(ETHERNET_HEADER_LEN);
    return postRouting(dp, ns, again, undefined, skb, 0);
  }
  return postRouting(dp, ns, r, n, skb, ip);
}

/**
 * ip_route_me_harder's lookup, for the destination OUTPUT's NAT wrote into the datagram
 * whose IPv4 header starts at `ip` (which may have no Ethernet header yet). With no route
 * there the NAT hook drops it (nf_nat_ipv4_local_fn), traced where the hook took it, and
 * undefined comes back: its sender is told SEND_UNREACHABLE_AFTER_NAT.
 */
function routeAfterNat(dp: Datapath, ns: SimNetns, r: ResolvedRoute, skb: Skb, ip: number): ResolvedRoute | undefined {
  const dst = ipv4PacketDstString(skb.frame, ip);
  const again = route(ns, dst);
  if (!again) dp.trace.netfilterDrop(skb, r.dev, ip, false, `no route to ${dst} after NAT`);
  return again;
}

/**
 * Netfilter's OUTPUT and POSTROUTING hooks on a locally generated packet whose IPv4 header
 * starts at `ip`, for the sends that leave by a route fixed before the hooks (through lo, or
 * in fragments). Undefined when it may go on; else the error its sender is told. A
 * destination OUTPUT's NAT changed is routed anew as ipTransmit does: with no route, the
 * NAT hook drops it (ENETUNREACH); a new route other than the one the send was built for
 * is not modelled on these paths, and the trace says so where the datagram stops.
 */
function localOut(dp: Datapath, ns: SimNetns, r: ResolvedRoute, skb: Skb, ip: number): string | undefined {
  const dst = ipv4PacketDst(skb.frame, ip);
  if (!hookAccepts(dp, NF_INET_LOCAL_OUT, ns, r, skb, ip)) return SEND_NOT_PERMITTED;
  if (ipv4PacketDst(skb.frame, ip) !== dst) {
    const again = routeAfterNat(dp, ns, r, skb, ip);
    if (!again) return SEND_UNREACHABLE_AFTER_NAT;
    if (again.dev !== r.dev || again.nexthop !== r.nexthop || again.local !== r.local) {
      dp.trace.netfilterDrop(skb, r.dev, ip, false, `not modelled: a ${r.local ? 'local' : 'fragmented'} datagram routed anew after OUTPUT's NAT (to ${again.dev.name})`);
      return undefined;
    }
  }
  return hookAccepts(dp, NF_INET_POST_ROUTING, ns, r, skb, ip) ? undefined : SEND_NOT_PERMITTED;
}

function hookAccepts(dp: Datapath, hook: typeof NF_INET_LOCAL_OUT | typeof NF_INET_POST_ROUTING, ns: SimNetns, r: ResolvedRoute, skb: Skb, ip: number): boolean {
  const dropped = dp.netfilter.verdict(dp, hook, ns, skb, ip, undefined, r.dev);
  if (dropped === undefined) return true;
  dp.trace.netfilterDrop(skb, r.dev, ip, false, dropped);
  return false;
}
