/**
 * net/ipv4/fib_trie.c and fib_semantics.c: a route added to or deleted from the main table
 * (RTM_NEWROUTE with NLM_F_CREATE|NLM_F_EXCL, RTM_DELROUTE), with the kernel's checks and
 * answers. The connected routes of a device's addresses are derived from the addresses
 * (route.ts), so they are found here but not stored.
 */
import type { Route, SimLink, SimNetns } from '../../objects';
import { topologyChanged } from '../../objects';
import { ipv4ToNumber, maskOf, numberToIpv4 } from '../../../wire/addr';

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

/** A connected route of an up device's address with this prefix (fib_add_ifaddr's), if any. */
function connectedRoute(ns: SimNetns, dst: number, prefixLength: number): SimLink | undefined {
  const m = maskOf(prefixLength);
  for (const l of ns.links.values()) {
    if (!l.up || l.type === 'loopback') continue;
    for (const a of l.addrs) if (a.prefixLength === prefixLength && a.prefixLength < 32 && ((ipv4ToNumber(a.ip) & m) >>> 0) === dst) return l;
  }
  return undefined;
}

/**
 * fib_check_nh_v4_gw: the gateway must be on a link the table already reaches directly (a
 * connected route, or a static route with no gateway, scope link), or be one of the
 * namespace's own addresses on an up device; with `dev`, on that device. Returns the device.
 */
function gatewayDevice(ns: SimNetns, via: string, dev: SimLink | undefined): SimLink | undefined {
  const gw = ipv4ToNumber(via);
  let best: SimLink | undefined;
  let bestLen = -1;
  for (const l of ns.links.values()) {
    if (!l.up || l.type === 'loopback') continue;
    for (const a of l.addrs) {
      if (ipv4ToNumber(a.ip) === gw) return dev === undefined || dev === l ? l : undefined;
      const m = maskOf(a.prefixLength);
      if (a.prefixLength < 32 && a.prefixLength > bestLen && ((ipv4ToNumber(a.ip) & m) >>> 0) === ((gw & m) >>> 0)) {
        best = l;
        bestLen = a.prefixLength;
      }
    }
  }
  for (const r of ns.routes) {
    if (r.via !== undefined || r.blackhole || r.dst === 'default') continue;
    const [base, len] = r.dst.split('/');
    const m = maskOf(Number(len));
    const l = ns.links.get(r.dev);
    if (l?.up && Number(len) > bestLen && ((ipv4ToNumber(base) & m) >>> 0) === ((gw & m) >>> 0)) {
      best = l;
      bestLen = Number(len);
    }
  }
  return best !== undefined && (dev === undefined || dev === best) ? best : undefined;
}

/** fib_table_insert: the route, or why the kernel refuses it (in the order it checks: the prefix, the next hop, a route already there). */
export function fibTableInsert(ns: SimNetns, cfg: FibConfig): FibError | undefined {
  if (((cfg.dst & maskOf(cfg.prefixLength)) >>> 0) !== cfg.dst) return { errno: 'Invalid argument', extack: 'Invalid prefix for given prefix length' };
  let dev = cfg.dev;
  const blackhole = cfg.type === 'blackhole';
  if (blackhole) {
    if (cfg.via !== undefined || dev !== undefined) return { errno: 'Invalid argument', extack: 'Gateway, device and multipath can not be specified for this route type' };
  } else if (cfg.via !== undefined && cfg.onlink) {
    if (dev === undefined) return { errno: 'Invalid argument', extack: 'Nexthop device required for onlink' };
    if (!dev.up) return { errno: 'Network is down', extack: 'Nexthop device is not up' };
  } else if (cfg.via !== undefined) {
    dev = gatewayDevice(ns, cfg.via, dev);
    if (dev === undefined) return { errno: 'Invalid argument', extack: 'Nexthop has invalid gateway' };
  } else {
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
