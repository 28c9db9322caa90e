/**
 * net/ipv4/fib_trie.c and fib_semantics.c: a route added to or deleted from the main table
 * (RTM_NEWROUTE with NLM_F_CREATE|NLM_F_EXCL, RTM_DELROUTE), with the kernel's checks and
 * answers. The connected routes of a device's addresses are derived from the addresses
 * (route.ts), so they are found here but not stored.
 */
import type { Route, SimLink, SimNetns } from '../../objects';
import { topologyChanged } from '../../objects';
import { Cidr, contains, ipv4ToNumber, maskOf, numberToIpv4 } from '../../../wire/addr';

/** What `ip route add|del` asks of the table (fib_config): the prefix, the type, the next hop and the protocol. */
export interface FibConfig {
  /** The network's first address as a number, and the prefix length. */
  dst: number;
  prefixLength: number;
  /** As typed: on add, none is unicast; on delete, none matches either (iproute2 sends RTN_UNSPEC). */
  type?: 'unicast' | 'blackhole';
  via?: string;
  dev?: SimLink;
  onlink: boolean;
  /** On add, the protocol to record (undefined: boot, which iproute2 does not print); on delete, the one to match. */
  proto?: string;
}

/** The kernel's refusal: its errno's text, and the extack message that iproute2 prints instead when there is one. */
export interface FibError {
  errno: 'File exists' | 'No such process' | 'No such device' | 'Invalid argument' | 'Network is down';
  extack?: string;
}

/** The result of a delete that would remove a connected route, which the model derives from an address and cannot remove. */
export const CONNECTED_ROUTE = 'connected';

function dstOf(cfg: FibConfig): string {
  return cfg.prefixLength === 0 ? 'default' : `${numberToIpv4(cfg.dst)}/${cfg.prefixLength}`;
}

/**
 * fib_add_ifaddr: an address of a device makes a prefix route on it (in the table while the
 * device is up), unless it is a /32 or loopback's, whose addresses are local routes only.
 */
export function addsPrefixRoute(dev: SimLink, prefixLength: number): boolean {
  return prefixLength < 32 && dev.type !== 'loopback';
}

/** A table route's prefix, its text read once (`default` is 0.0.0.0/0). */
export function routePrefix(r: Route): Cidr {
  if (r.dst === 'default') return { base: 0, prefixLength: 0 };
  const slash = r.dst.indexOf('/');
  return slash < 0 ? { base: ipv4ToNumber(r.dst), prefixLength: 32 } : { base: ipv4ToNumber(r.dst.slice(0, slash)), prefixLength: Number(r.dst.slice(slash + 1)) };
}

/** fib_add_ifaddr's broadcast route of an address: its prefix's last address; none for a /31 or /32. */
export function ifaddrBroadcast(ip: number, prefixLength: number): number | undefined {
  return prefixLength < 31 ? (ip | ~maskOf(prefixLength)) >>> 0 : undefined;
}

/**
 * The local table's broadcast route to `addr`, if it has one: fib_add_ifaddr's for the
 * broadcast address of an address on a device that is up (lo's 127.255.255.255 among them),
 * on that device, with that address as its source (prefsrc).
 */
export function broadcastRoute(ns: SimNetns, addr: number): { dev: SimLink; src: string } | undefined {
  for (const l of ns.links.values()) {
    if (!l.up) continue;
    for (const a of l.addrs) if (ifaddrBroadcast(ipv4ToNumber(a.ip), a.prefixLength) === addr >>> 0) return { dev: l, src: a.ip };
  }
  return undefined;
}

/** A connected route of an up device's address with this prefix (fib_add_ifaddr's), if any. */
function connectedRoute(ns: SimNetns, dst: number, prefixLength: number): SimLink | undefined {
  const m = maskOf(prefixLength);
  for (const l of ns.links.values()) {
    if (!l.up) continue;
    for (const a of l.addrs) if (a.prefixLength === prefixLength && addsPrefixRoute(l, a.prefixLength) && ((ipv4ToNumber(a.ip) & m) >>> 0) === dst) return l;
  }
  return undefined;
}

/** What a lookup of a gateway finds (fib_table_lookup's fib_result): the route's type and device. */
interface GatewayRoute {
  type: 'unicast' | 'local' | 'broadcast';
  dev: SimLink;
}

/**
 * fib_lookup of a gateway as fib_check_nh_v4_gw makes it, over the local and main tables
 * (one trie while there are no policy rules): the longest prefix among routes of scope link
 * or host, so a connected route, a static route with no gateway (a default one too), an
 * address (local, kept while its device is down), loopback's 127/8 and an up device's
 * broadcast address (loopback's 127.255.255.255 too). With `oif`, only that device's routes
 * (fib_lookup_good_nhc).
 */
function gatewayLookup(ns: SimNetns, gw: number, oif: SimLink | undefined): GatewayRoute | undefined {
  let found: GatewayRoute | undefined;
  let foundLen = -1;
  const consider = (type: GatewayRoute['type'], dev: SimLink, prefix: Cidr) => {
    if (prefix.prefixLength > foundLen && (oif === undefined || oif === dev) && contains(prefix, gw)) {
      found = { type, dev };
      foundLen = prefix.prefixLength;
    }
  };
  for (const l of ns.links.values()) {
    for (const a of l.addrs) {
      const ip = ipv4ToNumber(a.ip);
      consider('local', l, { base: ip, prefixLength: 32 });
      if (!l.up) continue;
      // fib_add_ifaddr: loopback's prefix is a local route, another device's a unicast one; either's broadcast a broadcast route.
      if (l.type === 'loopback') consider('local', l, { base: ip, prefixLength: a.prefixLength });
      else if (addsPrefixRoute(l, a.prefixLength)) consider('unicast', l, { base: ip, prefixLength: a.prefixLength });
      const broadcast = ifaddrBroadcast(ip, a.prefixLength);
      if (broadcast !== undefined) consider('broadcast', l, { base: broadcast, prefixLength: 32 });
    }
  }
  for (const r of ns.routes) {
    if (r.via !== undefined || r.blackhole) continue;
    const l = ns.links.get(r.dev);
    if (l?.up) consider('unicast', l, routePrefix(r));
  }
  return found;
}

/** 224.0.0.0/4 (ipv4_is_multicast). */
const isMulticast = (addr: number) => addr >>> 28 === 0xe;

/**
 * fib_check_nh_v4_gw for an onlink gateway: inet_addr_type_table, which asks the table
 * whatever the device: the limited broadcast, a multicast group, an address of the
 * namespace (any device's) or a broadcast address is no gateway.
 */
function onlinkGatewayValid(ns: SimNetns, gw: number): boolean {
  if (gw === 0xffffffff || isMulticast(gw)) return false;
  const type = gatewayLookup(ns, gw, undefined)?.type ?? 'unicast';
  return type === 'unicast';
}

/** fib_table_insert: the route, or why the kernel refuses it (in the order it checks: the prefix, the next hop, a route already there). */
export function fibTableInsert(ns: SimNetns, cfg: FibConfig): FibError | undefined {
  if (((cfg.dst & maskOf(cfg.prefixLength)) >>> 0) !== cfg.dst) return { errno: 'Invalid argument', extack: 'Invalid prefix for given prefix length' };
  let dev = cfg.dev;
  const blackhole = cfg.type === 'blackhole';
  if (blackhole) {
    if (cfg.via !== undefined || dev !== undefined) return { errno: 'Invalid argument', extack: 'Gateway, device and multipath can not be specified for this route type' };
  } else if (cfg.via !== undefined && cfg.onlink) {
    if (dev === undefined) return { errno: 'No such device', extack: 'Nexthop device required for onlink' };
    if (!dev.up) return { errno: 'Network is down', extack: 'Nexthop device is not up' };
    if (!onlinkGatewayValid(ns, ipv4ToNumber(cfg.via))) return { errno: 'Invalid argument', extack: 'Nexthop has invalid gateway' };
  } else if (cfg.via !== undefined) {
    const found = gatewayLookup(ns, ipv4ToNumber(cfg.via), dev);
    if (found === undefined || found.type === 'broadcast') return { errno: 'Invalid argument', extack: 'Nexthop has invalid gateway' };
    // An address of a device that is down: its local route outlives the device's other routes.
    if (!found.dev.up) return { errno: 'Network is down' };
    dev = found.dev;
  } else {
    // fib_check_nh_nongw: a next hop with no gateway cannot be onlink.
    if (cfg.onlink) return { errno: 'Invalid argument', extack: 'Invalid flags for nexthop - PERVASIVE and ONLINK can not be set' };
    if (dev === undefined) return { errno: 'No such device' };
    if (!dev.up) return { errno: 'Network is down', extack: 'Device for nexthop is not up' };
  }
  const dst = dstOf(cfg);
  if (ns.routes.some((r) => r.dst === dst) || connectedRoute(ns, cfg.dst, cfg.prefixLength)) return { errno: 'File exists' };
  const route: Route = { dst, dev: dev?.name ?? '' };
  if (blackhole) route.blackhole = true;
  if (cfg.via !== undefined) route.via = cfg.via;
  if (cfg.proto !== undefined) route.proto = cfg.proto;
  // A route with no gateway reaches its destination on the link (iproute2 asks for scope link).
  if (cfg.via === undefined && !blackhole) route.scope = 'link';
  if (cfg.onlink && cfg.via !== undefined) route.onlink = true;
  ns.routes.push(route);
  topologyChanged();
  return undefined;
}

/**
 * fib_table_delete: the first route of the prefix that matches what is given (type, gateway,
 * device, protocol; anything not given matches), else ESRCH. A connected route that would
 * match is CONNECTED_ROUTE: its caller says the model cannot delete it.
 */
export function fibTableDelete(ns: SimNetns, cfg: FibConfig): FibError | typeof CONNECTED_ROUTE | undefined {
  const dst = dstOf(cfg);
  const i = ns.routes.findIndex((r) => r.dst === dst && (cfg.type === undefined || (r.blackhole === true) === (cfg.type === 'blackhole'))
    && (cfg.via === undefined || r.via === cfg.via) && (cfg.dev === undefined || r.dev === cfg.dev.name)
    && (cfg.proto === undefined || (r.proto ?? 'boot') === cfg.proto));
  if (i >= 0) {
    ns.routes.splice(i, 1);
    topologyChanged();
    return undefined;
  }
  const connected = connectedRoute(ns, cfg.dst, cfg.prefixLength);
  if (connected && cfg.type !== 'blackhole' && cfg.via === undefined && (cfg.dev === undefined || cfg.dev === connected) && (cfg.proto === undefined || cfg.proto === 'kernel')) return CONNECTED_ROUTE;
  return { errno: 'No such process' };
}
