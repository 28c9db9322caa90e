/**
 * BusyBox 1.35's `ip` asked to change the kernel (`ip route add|del`, `ip address add|del`,
 * `ip link add|del|set`) in a container without CAP_NET_ADMIN, as Docker 20.10 runs one: its
 * reading of the words and its texts, then the kernel's refusal as BusyBox prints it. Measured
 * with Debian 12's busybox in a network namespace under setpriv without net_admin (the way emu
 * runs a container's program). rtnetlink refuses a change from a socket without the
 * capability before any handler reads it (so a route to a device that is down, or an existing
 * device's name, is refused alike); the SIOCSIF* ioctls of `ip link set` check it before the
 * device. A flush lists what its words select and asks the kernel to delete each: with
 * nothing selected it asks nothing and succeeds. What BusyBox reads but cnmlab does not model
 * (metric, table, scope, broadcast, label, arp, master …, and the word shapes not measured)
 * is refused as not modelled.
 *
 * With --cap-add NET_ADMIN, `ip link set` taking a device up or down and setting its MTU is
 * made as BusyBox makes it (the same ioctls, now let through; measured with Debian 12's busybox
 * as root in a namespace): the MTU's SIOCSIFMTU before any device is looked up (`ip:
 * SIOCSIFMTU: No such device`, `Invalid argument` outside the device's range), then the
 * flags. Every other change holding the capability is not modelled (runner/shell.ts refuses
 * it in both modes before either runs it: ip-link-words.ts busyboxChangeModelledHoldingNetAdmin).
 */
import type { SimLink, SimNetns } from './objects';
import { devClose, devOpen, mtuRange } from './net/dev';
import { setMtuAsAsked } from './iproute';
import { err, Output, unmodelledWords } from './iproute_utils';
import { BUSYBOX_ADDRESS_MODIFY, BUSYBOX_ADDRESS_VERBS, BUSYBOX_LINK_SET_KEYWORDS, BUSYBOX_LINK_VERBS, BUSYBOX_ROUTE_MODIFY, BUSYBOX_ROUTE_VERBS, busyboxKeyword } from '../commands/ip-link-words';
import { ipv4ToNumber, maskOf } from '../wire/addr';

/** BusyBox's `ip:`-prefixed message on stderr. */
const fail = (message: string, exitCode: number): Output => err(`ip: ${message}\n`, exitCode);
const INCOMPLETE = 'command line is not complete, try "help"';
const EPERM = (what: string): Output => fail(`${what}: Operation not permitted`, 2);
const done: Output = { stdout: '', stderr: '', exitCode: 0 };

/** A dotted quad whose four parts are at most 255, as inet_pton reads one. */
function dottedQuad(word: string): boolean {
  const parts = word.split('.');
  return parts.length === 4 && parts.every((p) => /^(0|[1-9]\d{0,2})$/.test(p) && Number(p) <= 255);
}

/**
 * get_prefix's reading of ADDRESS[/LENGTH] (and `default` where a route's is read): 'ok',
 * 'bad' when the length is past 32 (BusyBox then names the address alone), or undefined for a
 * shape cnmlab did not measure (BusyBox takes `300.9.0.0` and `10.9/16` without a word).
 */
function prefixWord(word: string, route: boolean): 'ok' | 'bad' | undefined {
  if (route && word === 'default') return 'ok';
  const [address, length, more] = word.split('/');
  if (more !== undefined || !dottedQuad(address)) return undefined;
  if (length === undefined) return 'ok';
  if (!/^(0|[1-9]\d{0,2})$/.test(length)) return undefined;
  return Number(length) <= 32 ? 'ok' : 'bad';
}

const badPrefix = (word: string): Output => fail(`an inet prefix is expected rather than "${word.split('/')[0]}"`, 1);

/** What a flush that selected something gets: the kernel refuses the deletes it sends (flush_update), exit 1. */
const FLUSH_EPERM = fail("can't send flush request: Operation not permitted", 1);

/** A main-table route as BusyBox's listing reads it: its destination (`default` or a prefix) and device. */
export interface MainRoute {
  dst: string;
  dev: string;
}

/**
 * What the namespace holds that a flush selects from: the main table's routes, and whether a
 * device has an address of the family ip was given (-4: inet only), or of any family.
 */
export interface FlushSources {
  mainRoutes(): MainRoute[];
  hasAddress(link: SimLink, family: 'inet' | undefined): boolean;
}

/** A prefix as numbers: its address and length. */
function prefixOf(word: string): { net: number; len: number } {
  if (word === 'default') return { net: 0, len: 0 };
  const [address, length] = word.split('/');
  return { net: ipv4ToNumber(address) >>> 0, len: length === undefined ? 32 : Number(length) };
}

/** inet_addr_match: the first `bits` bits of the two addresses are the same. */
function sameBits(a: number, b: number, bits: number): boolean {
  return bits === 0 || ((a ^ b) & maskOf(bits)) === 0;
}

/** iproute_list_or_flush's words: its keyword table, read by index_in_substrings. */
const ROUTE_LIST_KEYWORDS = ['protocol', 'dev', 'oif', 'iif', 'via', 'table', 'cache', 'from', 'to', 'scope', 'all', 'root', 'match', 'exact', 'main'];

/**
 * `ip route flush [to] [root|match|exact] PREFIX|default [dev DEVICE]` (iproute_list_or_flush,
 * print_route's filter over the main table): a bare prefix is `exact` (the route's own
 * prefix), root takes the routes within it, match those that contain it; `default`, `all` and
 * `any` select no destination (get_prefix gives them no family), so every route; the last of
 * each wins. Missing words and a bad device are BusyBox's errors, exit 1.
 */
function routeFlush(ns: SimNetns, argv: string[], routes: () => MainRoute[]): Output {
  const notModelled = (word: string) => unmodelledWords(`cnmlab: ip route flush … ${word}: not modelled in a BusyBox image (a prefix, root, match, exact and dev are)\n`);
  if (argv.length === 0) return fail('"ip route flush" requires an argument', 1);
  let dev: string | undefined;
  // rdst (routes within it) and mdst (routes that contain it); exact sets both.
  let root: { net: number; len: number } | undefined;
  let match: { net: number; len: number } | undefined;
  for (let i = 0; i < argv.length; i++) {
    let key = busyboxKeyword(ROUTE_LIST_KEYWORDS, argv[i]);
    if (key === 'dev' || key === 'oif') {
      const v = argv[++i];
      if (v === undefined) return fail(INCOMPLETE, 1);
      dev = v;
      continue;
    }
    if (key !== undefined && !['to', 'root', 'match', 'exact', 'all'].includes(key)) return notModelled(argv[i]);
    if (key === 'to') {
      if (argv[++i] === undefined) return fail(INCOMPLETE, 1);
      key = busyboxKeyword(ROUTE_LIST_KEYWORDS, argv[i]);
    }
    const kind = key === 'root' || key === 'match' ? key : 'exact';
    if (key === 'root' || key === 'match' || key === 'exact') {
      if (argv[++i] === undefined) return fail(INCOMPLETE, 1);
    }
    const word = argv[i];
    let prefix: { net: number; len: number } | undefined;
    if (!['default', 'all', 'any'].includes(word)) {
      const read = prefixWord(word, false);
      if (read === undefined) return notModelled(word);
      if (read === 'bad') return badPrefix(word);
      prefix = prefixOf(word);
    }
    if (kind !== 'match') root = prefix;
    if (kind !== 'root') match = prefix;
  }
  if (dev !== undefined && !ns.links.has(dev)) return fail(`can't find device '${dev}'`, 1);
  const selected = routes().some((r) => {
    const dst = prefixOf(r.dst);
    if (root && (root.len > dst.len || !sameBits(dst.net, root.net, root.len))) return false;
    if (match && (match.len < dst.len || !sameBits(dst.net, match.net, dst.len))) return false;
    return dev === undefined || r.dev === dev;
  });
  return selected ? FLUSH_EPERM : done;
}

/**
 * `ip [-4] address flush [dev] DEVICE` (ipaddr_list_or_flush): every address of the device
 * of the family given, of any without one (it asks the dump for preferred_family and skips
 * the others).
 */
function addressFlush(ns: SimNetns, argv: string[], sources: FlushSources, family: 'inet' | undefined): Output {
  if (argv.length === 0) return fail('flush requires an argument', 1);
  let dev: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const w = argv[i];
    // index_in_strings: the whole word only.
    if (['to', 'scope', 'up', 'label'].includes(w)) return unmodelledWords(`cnmlab: ip address flush … ${w}: not modelled in a BusyBox image (the device is)\n`);
    const v = w === 'dev' ? argv[++i] : w;
    if (v === undefined) return fail(INCOMPLETE, 1);
    if (dev !== undefined) return fail(`either "dev" is duplicate, or "${v}" is garbage`, 1);
    dev = v;
  }
  const link = ns.links.get(dev!);
  if (!link) return fail(`can't find device '${dev}'`, 1);
  return sources.hasAddress(link, family) ? FLUSH_EPERM : done;
}

/** `ip route add|del|delete [to] PREFIX|default [via ADDRESS] [dev DEVICE]` (iproute_modify): exit 1 for its own errors, 2 for the kernel's. */
function routeChange(ns: SimNetns, verb: string, argv: string[]): Output {
  const notModelled = (word: string) => unmodelledWords(`cnmlab: ip route ${verb} … ${word}: not modelled in a BusyBox image (a prefix, via and dev are)\n`);
  let dst: string | undefined;
  let dev: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const w = argv[i];
    if (w === 'via') {
      const v = argv[++i];
      if (v === undefined) return fail(INCOMPLETE, 1);
      if (dottedQuad(v)) continue;
      // A name, or four numbers one of them past 255: inet_pton refuses it.
      if (/^[a-z][a-z0-9-]*$/i.test(v) || /^\d+\.\d+\.\d+\.\d+$/.test(v)) return fail(`an inet address is expected rather than "${v}"`, 1);
      return notModelled(`via ${v}`);
    } else if (w === 'dev') {
      const v = argv[++i];
      if (v === undefined) return fail(INCOMPLETE, 1);
      dev = v;
    } else {
      const word = w === 'to' ? argv[++i] : w;
      if (word === undefined) return fail(INCOMPLETE, 1);
      if (dst !== undefined) {
        // Another of iproute_modify's keywords is read as one, not as garbage.
        if (/^[a-z]+$/.test(word) && word !== 'default' && w !== 'to') return notModelled(word);
        return fail(`either "to" is duplicate, or "${word}" is garbage`, 1);
      }
      const read = prefixWord(word, true);
      if (read === undefined) return notModelled(word);
      if (read === 'bad') return badPrefix(word);
      dst = word;
    }
  }
  if (dev !== undefined && !ns.links.has(dev)) return fail(`can't find device '${dev}'`, 1);
  return EPERM('RTNETLINK answers');
}

/** `ip address add|del ADDRESS[/LENGTH] dev DEVICE` (ipaddr_modify). */
function addressChange(ns: SimNetns, verb: string, argv: string[]): Output {
  const notModelled = (word: string) => unmodelledWords(`cnmlab: ip address ${verb} … ${word}: not modelled in a BusyBox image (an address and dev are)\n`);
  let local: string | undefined;
  let dev: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const w = argv[i];
    if (w === 'dev') {
      const v = argv[++i];
      if (v === undefined) return fail(INCOMPLETE, 1);
      dev = v;
    } else if (local !== undefined) {
      if (/^[a-z]+$/.test(w)) return notModelled(w);
      return fail(`either "local" is duplicate, or "${w}" is garbage`, 1);
    } else {
      const read = prefixWord(w, false);
      if (read === undefined) return notModelled(w);
      if (read === 'bad') return badPrefix(w);
      local = w;
    }
  }
  if (dev === undefined) return fail('need "dev IFACE"', 1);
  if (!ns.links.has(dev)) return fail(`can't find device '${dev}'`, 1);
  return EPERM('RTNETLINK answers');
}

/** `ip link add [name] NAME type KIND [peer name PEER]`: only a missing value stops it before the kernel refuses (exit 2, as all of ip link's errors). */
function linkAdd(argv: string[]): Output {
  const notModelled = (word: string) => unmodelledWords(`cnmlab: ip link add … ${word}: not modelled in a BusyBox image (a name, a type and a veth's peer name are)\n`);
  for (let i = 0; i < argv.length; i++) {
    const w = argv[i];
    if (w === 'name' || w === 'type') {
      if (argv[++i] === undefined) return fail(INCOMPLETE, 2);
      if (w === 'type' && argv[i] === 'veth' && argv[i + 1] === 'peer' && argv[i + 2] === 'name') {
        if (argv[i + 3] === undefined) return fail(INCOMPLETE, 2);
        i += 3;
      }
    } else if (i !== 0) return notModelled(w);
  }
  return EPERM('RTNETLINK answers');
}

/** `ip link del|delete [dev] DEVICE`: the device looked up, then the kernel's refusal. */
function linkDel(ns: SimNetns, verb: string, argv: string[]): Output {
  const typed = argv[0] === 'dev' ? argv.slice(1) : argv;
  if (argv[0] === 'dev' && typed.length === 0) return fail(INCOMPLETE, 2);
  if (typed.length > 1) return unmodelledWords(`cnmlab: ip link ${verb} … ${typed.slice(1).join(' ')}: not modelled in a BusyBox image (the device alone is)\n`);
  // Without a device BusyBox fails without a word.
  if (typed.length === 0) return err('', 1);
  if (!ns.links.has(typed[0])) return fail(`can't find device '${typed[0]}'`, 2);
  return EPERM('RTNETLINK answers');
}

/** A MAC address as ll_addr_a2n reads six colon-separated bytes of one or two hex digits (other shapes are not modelled). */
const MAC = /^([0-9a-f]{1,2}:){5}[0-9a-f]{1,2}$/i;

/**
 * `ip link set [dev] DEVICE [up|down] [mtu N] [qlen N] [name NAME] [address MAC]` (do_set):
 * the words first (a number's and a duplicate's errors), then the changes in do_set's order:
 * the address (the device looked up, then the MAC read, then its ioctl), the name (none
 * when it is the device's own), qlen, mtu, each ioctl refused before any device is looked
 * up; then the flags, read and only written when they change (the last of up and down wins):
 * a device already in that state needs no capability.
 */
function linkSet(ns: SimNetns, argv: string[], netAdmin: boolean): Output {
  const notModelled = (word: string) => unmodelledWords(`cnmlab: ip link set … ${word}: not modelled in a BusyBox image (up, down, mtu, qlen, name and address are)\n`);
  let dev: string | undefined;
  let mtu: string | undefined;
  let qlen: string | undefined;
  let name: string | undefined;
  let address: string | undefined;
  let state: 'up' | 'down' | undefined;
  /** get_unsigned's reading of mtu's and qlen's number. */
  const number = (key: string, v: string | undefined): Output | undefined => {
    if (v === undefined) return fail(INCOMPLETE, 2);
    if (/^-\d+$/.test(v) || /^[a-z]+$/i.test(v) || /^\d{11,}$/.test(v)) return fail(`invalid argument '${v}' to '${key}'`, 2);
    if (!/^\d{1,9}$/.test(v)) return unmodelledWords(`cnmlab: ip link set … ${key} ${v}: not modelled in a BusyBox image (a decimal number is)\n`);
    return undefined;
  };
  for (let i = 0; i < argv.length; i++) {
    const w = argv[i];
    const key = busyboxKeyword(BUSYBOX_LINK_SET_KEYWORDS, w);
    if (key === 'up' || key === 'down') state = key;
    else if (key === 'mtu' || key === 'qlen') {
      const v = argv[++i];
      if ((key === 'mtu' ? mtu : qlen) !== undefined && v !== undefined) return fail(`duplicate "${key}": "${v}" is the second value`, 2);
      const wrong = number(key, v);
      if (wrong) return wrong;
      if (key === 'mtu') mtu = v;
      else qlen = v;
    } else if (key === 'name' || key === 'address') {
      const v = argv[++i];
      if (v === undefined) return fail(INCOMPLETE, 2);
      if (key === 'address' && !MAC.test(v)) return unmodelledWords(`cnmlab: ip link set … address ${v}: not modelled in a BusyBox image (six bytes in hex, colon-separated, are)\n`);
      if (key === 'name') name = v;
      else address = v;
    } else if (key !== undefined && key !== 'dev') {
      return notModelled(w);
    } else {
      const v = key === 'dev' ? argv[++i] : w;
      if (v === undefined) return fail(INCOMPLETE, 2);
      if (dev !== undefined) return fail(`either "dev" is duplicate, or "${v}" is garbage`, 2);
      dev = v;
    }
  }
  if (dev === undefined) return fail('"dev" requires an argument', 2);
  if (address !== undefined) {
    if (!ns.links.has(dev)) return fail('SIOCGIFINDEX: No such device', 2);
    return EPERM('SIOCSIFHWADDR');
  }
  if (name !== undefined && name !== dev) return EPERM('SIOCSIFNAME');
  if (qlen !== undefined) return EPERM('SIOCSIFTXQLEN');
  if (mtu !== undefined) {
    if (!netAdmin) return EPERM('SIOCSIFMTU');
    const link = ns.links.get(dev);
    if (!link) return fail('SIOCSIFMTU: No such device', 2);
    const { min, max } = mtuRange(link);
    if (Number(mtu) < min || Number(mtu) > max) return fail('SIOCSIFMTU: Invalid argument', 2);
    setMtuAsAsked(link, Number(mtu));
  }
  if (state === undefined) return done;
  const link = ns.links.get(dev);
  if (!link) return fail('SIOCGIFFLAGS: No such device', 2);
  if (link.up === (state === 'up')) return done;
  if (!netAdmin) return EPERM('SIOCSIFFLAGS');
  if (state === 'up') devOpen(link);
  else devClose(link);
  return done;
}


/**
 * BusyBox's `ip OBJECT VERB …` for the changes it is asked without CAP_NET_ADMIN; undefined
 * when `verb` is no change. ip route's append, change, prepend, replace and test, and ip
 * address's change and replace, are read as add is (iproute_modify, ipaddr_modify: only
 * their netlink flags differ, which the kernel does not get to read).
 */
export function busyboxIpChange(ns: SimNetns, object: string, verb: string | undefined, argv: string[], sources: FlushSources, family: 'inet' | undefined, netAdmin: boolean): Output | undefined {
  if (verb === undefined) return undefined;
  if (object === 'route') {
    const key = busyboxKeyword(BUSYBOX_ROUTE_VERBS, verb);
    if (key === 'a' || key === 'add' || key === 'delete' || BUSYBOX_ROUTE_MODIFY.includes(key ?? '')) return routeChange(ns, verb, argv);
    if (key === 'flush') return routeFlush(ns, argv, sources.mainRoutes);
  }
  if (object === 'address') {
    const key = busyboxKeyword(BUSYBOX_ADDRESS_VERBS, verb);
    if (key === 'add' || key === 'delete' || BUSYBOX_ADDRESS_MODIFY.includes(key ?? '')) return addressChange(ns, verb, argv);
    if (key === 'flush') return addressFlush(ns, argv, sources, family);
  }
  if (object === 'link') {
    const key = busyboxKeyword(BUSYBOX_LINK_VERBS, verb);
    if (key === 'add') return linkAdd(argv);
    if (key === 'delete') return linkDel(ns, verb, argv);
    if (key === 'set') return linkSet(ns, argv, netAdmin);
  }
  return undefined;
}
