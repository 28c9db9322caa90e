/** net/ipv4/route.c and fib: the route to a destination, by longest prefix, cached per topology generation. */
import type { ResolvedRoute, SimLink, SimNetns } from '../../objects';
import { contains, ipv4ToNumber } from '../../../wire/addr';
import { addsPrefixRoute, broadcastRoute, routePrefix } from './fib';

export function isLocal(ns: SimNetns, ip: string): boolean {
  return isLocalAddress(ns, ipv4ToNumber(ip) | 0);
}

/**
 * An address of one of the namespace's devices, loopback's 127/8, or any address in the
 * prefix of another address on lo (`addr` as ipv4PacketDst reads it).
 */
export function isLocalAddress(ns: SimNetns, addr: number): boolean {
  return addr >>> 24 === 127 || ns.localAddrs.get().has(addr) || loopbackPrefixHolder(ns, addr) !== undefined;
}

/**
 * The address on lo whose prefix holds `addr`: fib_add_ifaddr makes a loopback address's
 * whole prefix a local route (`local 10.1.1.0/24 dev lo`, its source that address), in the
 * table while lo is up.
 */
function loopbackPrefixHolder(ns: SimNetns, addr: number): string | undefined {
  for (const { ip, prefix } of ns.loopbackPrefixes.get()) if (contains(prefix, addr)) return ip;
  return undefined;
}

/** net.ipv4.route.mtu_expires: how long a learned path MTU holds (600 s). */
export const PMTU_EXPIRES_NS = 600e9;

/** A learned path MTU still in force for `dst`, or undefined (an expired one is forgotten). */
export function pmtuException(ns: SimNetns, dst: string, nowNs: number): { mtu: number; expiresNs: number } | undefined {
  const e = ns.pmtu.get(dst);
  if (e && e.expiresNs <= nowNs) {
    ns.pmtu.delete(dst);
    return undefined;
  }
  return e;
}

/** The MTU a datagram to `dst` meets: the device's, or a smaller learned path MTU (dst_mtu). */
export function pathMtu(ns: SimNetns, dst: string, dev: SimLink, nowNs: number): number {
  if (ns.pmtu.size === 0) return dev.mtu;
  const e = pmtuException(ns, dst, nowNs);
  return e ? Math.min(e.mtu, dev.mtu) : dev.mtu;
}

/** __ip_rt_update_pmtu: a smaller path MTU to `dst`, held for PMTU_EXPIRES_NS (a larger one is ignored). */
export function updatePmtu(ns: SimNetns, dst: string, mtu: number, nowNs: number): void {
  const e = pmtuException(ns, dst, nowNs);
  if (e && e.mtu <= mtu) return;
  ns.pmtu.set(dst, { mtu, expiresNs: nowNs + PMTU_EXPIRES_NS });
}

/** The route to a destination, resolved once per topology generation (the dst cache). */
export function route(ns: SimNetns, dst: string): ResolvedRoute | undefined {
  const cache = ns.dstCache.get();
  let r = cache.get(dst);
  if (r === undefined && !cache.has(dst)) cache.set(dst, (r = resolveRoute(ns, dst)));
  return r;
}

/**
 * The route of a socket bound to `dev` (SO_BINDTODEVICE) to a destination no route out of `dev`
 * matches: the lookup with an output device passes over every route whose nexthop is another
 * device (fib_table_lookup's oif check), and ip_route_output_key_hash_rcu, finding none, says
 * "Apparently, routing tables are wrong. Assume, that the destination is on link." and sends it
 * out of the device, to the destination itself (its ARP), from the device's primary address
 * (inet_select_addr, scope link). So does the kernel when a route out of another device
 * matches (measured: with only a default via eth0, `ping -I eth1` ARPs on eth1's link); cnmlab
 * models only the case where no route matches at all, and refuses the other in both modes
 * (pingDeviceRefusal), as its lookup does not filter by device. The caller has checked the
 * device is up (else ENETUNREACH) and has an address of its own.
 */
export function onLinkRoute(dev: SimLink, dst: string): ResolvedRoute {
  return resolved(dst, { dev, src: dev.addrs[0].ip, local: false }, false);
}

/** 255.255.255.255 (ipv4_is_lbcast). */
const LIMITED_BROADCAST = 0xffffffff;

function resolveRoute(ns: SimNetns, dst: string): ResolvedRoute | undefined {
  const addr = ipv4ToNumber(dst);
  // RTN_BROADCAST: the local table, which the lookup asks first, holds a /32 broadcast route for
  // each up device's address (broadcastRoute), and __mkroute_output takes the device and the
  // source from it, whatever longer route of the main table also matches. One on lo comes back in.
  const brd = broadcastRoute(ns, addr);
  if (brd) return resolved(dst, { dev: brd.dev, src: brd.src, local: brd.dev.type === 'loopback' }, true);
  const found = longestPrefixMatch(ns, dst);
  if (!found) return undefined;
  // __mkroute_output: the limited broadcast goes out of the device it was routed to.
  return resolved(dst, found, addr >>> 0 === LIMITED_BROADCAST);
}

/** The dst entry of a route found; a broadcast goes to no gateway. */
function resolved(dst: string, found: FoundRoute, broadcast: boolean): ResolvedRoute {
  const via = broadcast ? undefined : found.via;
  // Every field written, in one order: one shape for every route, so the datapath's reads of it stay monomorphic.
  return { dev: found.dev, via, src: found.src, srcAddr: ipv4ToNumber(found.src), local: found.local, blackhole: found.blackhole, nexthop: via ?? dst, broadcast, l2Header: undefined, neigh: undefined, neighGeneration: -1 };
}

type FoundRoute = Pick<ResolvedRoute, 'dev' | 'via' | 'src' | 'local' | 'blackhole'>;

/** Longest-prefix match over connected routes of up links and static routes (the local table first). */
function longestPrefixMatch(ns: SimNetns, dst: string): FoundRoute | undefined {
  const lo = ns.links.get('lo')!;
  // A local route's source: loopback's 127.0.0.1, the address itself, or the lo address whose prefix holds it.
  if (isLocal(ns, dst)) return { dev: lo, src: dst.startsWith('127.') ? '127.0.0.1' : ns.localAddrs.get().has(ipv4ToNumber(dst) | 0) ? dst : loopbackPrefixHolder(ns, ipv4ToNumber(dst))!, local: true };
  const d = ipv4ToNumber(dst);
  let best: FoundRoute | undefined;
  let bestLen = -1;
  for (const l of ns.links.values()) {
    if (!l.up) continue;
    for (const a of l.addrs) {
      if (addsPrefixRoute(l, a.prefixLength) && a.prefixLength > bestLen && contains({ base: ipv4ToNumber(a.ip), prefixLength: a.prefixLength }, d)) {
        best = { dev: l, src: a.ip, local: false };
        bestLen = a.prefixLength;
      }
    }
  }
  for (const r of ns.routes) {
    const prefix = routePrefix(r);
    const len = prefix.prefixLength;
    if (len > bestLen && contains(prefix, d)) {
      if (r.blackhole) {
        best = { dev: lo, src: '0.0.0.0', local: false, blackhole: true };
        bestLen = len;
        continue;
      }
      const dev = ns.links.get(r.dev);
      if (!dev?.up) continue;
      best = { dev, via: r.via, src: dev.addrs[0]?.ip ?? '0.0.0.0', local: false };
      bestLen = len;
    }
  }
  return best;
}
