/**
 * The words of ip (-j with -d, `ip link set`, `ip route add|del`) that cnmlab does not model, and where in
 * a line they are read: sim's ip (kernel/iproute.ts, kernel/iproute_route.ts) refuses them
 * with its own `cnmlab: … not modelled` line, and the registry's forms refuse the same lines
 * before either mode runs, so that emu never runs the real ip on words sim cannot match.
 * The walks below skip a keyword's value as iplink and iproute_modify read it, so that a
 * value (`dev promisc`) is never taken for a keyword.
 */
import { IP_OBJECTS, IP_VERBS, selectWord } from './iproute2-words';

/** ip's -j and -d together: sim prints each alone, not the JSON of a device's details. */
export const ipJsonWithDetails = (options: readonly string[]): boolean =>
  options.some((o) => o === '-j' || o === '-json') && options.some((o) => o === '-d' || o === '-details');

/** iplink_parse's attributes of `ip link set` that the model does not change (up, down, mtu and address it does). */
export const LINK_SET_NOT_MODELLED = ['txqueuelen', 'name', 'master', 'nomaster', 'netns', 'alias', 'arp', 'multicast', 'promisc', 'type', 'group', 'qlen', 'vf', 'xdp'];

/** The first word of `ip link set …` (after `set`) that sim's ip refuses as not modelled, if any. */
export function linkSetNotModelledWord(words: readonly string[]): string | undefined {
  let named = false;
  for (let i = 0; i < words.length; i++) {
    const w = words[i];
    if (w === 'up' || w === 'down') continue;
    if (w === 'mtu' || w === 'address' || w === 'dev') {
      i++;
      named ||= w === 'dev';
    } else if (!named) named = true;
    else if (LINK_SET_NOT_MODELLED.includes(w)) return w;
  }
  return undefined;
}

/** Route types other than unicast and blackhole (rtnl_rtntype_a2n). */
export const ROUTE_OTHER_TYPES = ['local', 'broadcast', 'multicast', 'throw', 'unreachable', 'prohibit', 'nat', 'anycast'];

/** iproute_modify's other words, each a feature the model does not have. */
export const ROUTE_NOT_MODELLED = ['src', 'from', 'as', 'metric', 'priority', 'preference', 'table', 'vrf', 'mtu', 'advmss', 'rtt', 'rttvar', 'reordering',
  'window', 'cwnd', 'initcwnd', 'initrwnd', 'ssthresh', 'realm', 'realms', 'rto_min', 'hoplimit', 'features', 'quickack', 'congctl', 'pref', 'expires',
  'fastopen_no_cookie', 'ttl-propagate', 'tos', 'dsfield', 'scope', 'nexthop', 'nhid', 'encap', 'pervasive', 'lock', 'mpath', 'mp_algo', 'equalize', 'weight'];

/** The first word of `ip route add|del …` that sim's ip refuses as not modelled, if any. */
export function routeNotModelledWord(words: readonly string[]): string | undefined {
  for (let i = 0; i < words.length; i++) {
    const w = words[i];
    if (w === 'via') i += words[i + 1] === 'inet' ? 2 : 1;
    else if (w === 'dev' || w === 'oif' || w === 'proto' || w === 'protocol' || w === 'to') i++;
    else if (ROUTE_NOT_MODELLED.includes(w) || ROUTE_OTHER_TYPES.includes(w)) return w;
  }
  return undefined;
}

/**
 * cnmlab's refusal of `ip route del` of an address's connected route: the model derives the
 * route from the address. sim's ip finds the route in its kernel (kernel/iproute_route.ts),
 * emu asks the namespace's kernel (`ip route show exact … proto kernel`); both print this.
 */
export const CONNECTED_ROUTE_DEL_REFUSAL = "cnmlab: ip route del of an address's connected route (proto kernel): not modelled (the model derives it from the address)\n";

/**
 * What an `ip route del …` (its words after `del`) would match a connected route by, as
 * fib_table_delete matches one: no gateway, not the blackhole type, proto kernel (or none);
 * its prefix as typed (a.b.c.d/n, or default) and its device when named. Undefined for any
 * other delete, and for words iproute2 itself would refuse (its own error then comes first).
 */
export function connectedRouteSelector(words: readonly string[]): { dst: string; prefixLength: number; dev?: string } | undefined {
  let prefix: string | undefined;
  let dev: string | undefined;
  for (let i = 0; i < words.length; i++) {
    const w = words[i];
    if (w === 'via' || w === 'blackhole') return undefined;
    if (w === 'unicast' || w === 'onlink') continue;
    const v = w === 'dev' || w === 'oif' || w === 'proto' || w === 'protocol' || w === 'to' ? words[++i] : w;
    if (v === undefined) return undefined;
    if (w === 'dev' || w === 'oif') dev = v;
    else if (w === 'proto' || w === 'protocol') {
      if (v !== 'kernel' && v !== '2') return undefined;
    } else if (prefix !== undefined) return undefined;
    else prefix = v;
  }
  if (prefix === undefined) return undefined;
  if (prefix === 'default' || prefix === 'all' || prefix === 'any') return { dst: '0.0.0.0', prefixLength: 0, ...(dev ? { dev } : {}) };
  const m = /^(\d{1,3}(?:\.\d{1,3}){3})(?:\/(\d{1,2}))?$/.exec(prefix);
  if (!m || m[1].split('.').some((o) => Number(o) > 255) || Number(m[2] ?? 32) > 32) return undefined;
  return { dst: m[1], prefixLength: Number(m[2] ?? 32), ...(dev ? { dev } : {}) };
}

/**
 * A typed `ip [OPTIONS] route del|delete …` (the object by any prefix ip selects it by, as
 * typedLinkChange reads `ip link`), read by connectedRouteSelector; undefined for any other command.
 */
export function typedConnectedRouteDelete(argv: readonly string[]): ReturnType<typeof connectedRouteSelector> {
  let at = 1;
  while (at < argv.length && argv[at].startsWith('-')) at++;
  if (argv[0] !== 'ip' || selectWord(IP_OBJECTS, argv[at]) !== 'route' || selectWord(IP_VERBS.route, argv[at + 1]) !== 'delete') return undefined;
  return connectedRouteSelector(argv.slice(at + 2));
}
