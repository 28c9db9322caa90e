/**
 * How iproute2 6.1's programs (ip, bridge, tc) select an object and its verb: each walks a
 * table in its own order and takes the first word the typed one begins (lib/utils.c
 * matches(); an empty word begins none), a few only whole (strcmp). So `ip link s` is
 * `set` (do_iplink asks add, set, change, replace, delete before show), `ip addr a` is `add`,
 * `tc qdisc l` is `link`, and `bridge fdb fl` is no verb (flush only whole). The registry's
 * forms and sim's programs both read the words through these tables.
 */

/** A word of a table: taken by any prefix (matches()), or only whole (strcmp). */
export type TableWord = string | { whole: string };

/** The table word `word` selects, as iproute2 walks `table`; undefined when it selects none. */
export function selectWord(table: readonly TableWord[], word: string | undefined): string | undefined {
  if (word === undefined || word === '') return undefined;
  for (const w of table) {
    if (typeof w === 'string' ? w.startsWith(word) : w.whole === word) return typeof w === 'string' ? w : w.whole;
  }
  return undefined;
}

/** ip.c's object table (cmds[], v6.1.0), in its order. */
export const IP_OBJECTS: readonly TableWord[] = ['address', 'addrlabel', 'maddress', 'route', 'rule', 'neighbor', 'neighbour', 'ntable', 'ntbl', 'link', 'l2tp', 'fou', 'ila', 'macsec',
  'tunnel', 'tunl', 'tuntap', 'tap', 'token', 'tcpmetrics', 'tcp_metrics', 'monitor', 'xfrm', 'mroute', 'mrule', 'netns', 'netconf', 'vrf', 'sr', 'nexthop', 'mptcp', 'ioam', 'help', 'stats'];

const IP_NEIGH_VERBS: readonly TableWord[] = ['add', 'change', { whole: 'chg' }, 'replace', 'delete', 'get', 'show', 'lst', 'list', 'flush', 'help'];

/** Each ip object's verbs as its do_ function asks them (ipaddress.c do_ipaddr, iplink.c do_iplink, iproute.c do_iproute, ipneigh.c do_ipneigh). */
export const IP_VERBS: Readonly<Record<string, readonly TableWord[]>> = {
  address: ['add', 'change', { whole: 'chg' }, 'replace', 'delete', 'list', 'show', 'lst', 'flush', 'save', 'showdump', 'restore', 'help'],
  link: ['add', 'set', 'change', 'replace', 'delete', 'show', 'lst', 'list', 'xstats', 'afstats', 'property', 'help'],
  route: ['add', 'change', { whole: 'chg' }, 'replace', 'prepend', 'append', 'test', 'delete', 'list', 'show', 'lst', 'get', 'flush', 'save', 'restore', 'showdump', 'help'],
  neighbor: IP_NEIGH_VERBS,
  neighbour: IP_NEIGH_VERBS,
};

/** bridge.c's object table, in its order. */
export const BRIDGE_OBJECTS: readonly TableWord[] = ['link', 'fdb', 'mdb', 'vlan', 'vni', 'monitor', 'help'];

/** bridge's verbs of fdb and link (fdb.c do_fdb, link.c do_link): fdb's flush only whole. */
export const BRIDGE_VERBS: Readonly<Record<string, readonly TableWord[]>> = {
  fdb: ['add', 'append', 'replace', 'delete', 'get', 'show', 'lst', 'list', { whole: 'flush' }, 'help'],
  link: ['set', 'change', 'show', 'lst', 'list', 'help'],
};

/** tc.c's objects (do_cmd), in its order. */
export const TC_OBJECTS: readonly TableWord[] = ['qdisc', 'class', 'filter', 'chain', 'actions', 'monitor', 'exec', 'help'];

/** tc's qdisc verbs (tc_qdisc.c do_qdisc): `l` is link. */
export const TC_VERBS: Readonly<Record<string, readonly TableWord[]>> = {
  qdisc: ['add', 'change', 'replace', 'link', 'delete', 'list', 'show', 'lst', 'help'],
};

/** The listing verbs every table above has, by whichever name was typed. */
export const LISTING_VERBS = ['show', 'list', 'lst'];
