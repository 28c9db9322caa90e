/**
 * BusyBox 1.35's `ip` asked to change the kernel (`ip route add|del`, `ip address add|del`,
 * `ip link add|del|set`) in a container without CAP_NET_ADMIN, as Docker 20.10 runs one: its
 * reading of the words and its texts, then the kernel's refusal as BusyBox prints it. Measured
 * with Debian 12's busybox in a network namespace under setpriv without net_admin (the way emu
 * runs a container's program). rtnetlink refuses a change from a socket without the
 * capability before any handler reads it (so a route to a device that is down, or an existing
 * device's name, is refused alike); the SIOCSIF* ioctls of `ip link set` check it before the
 * device. What BusyBox reads but cnmlab does not model (metric, table, scope, broadcast, label,
 * address, name, qlen …, and the word shapes not measured) is refused as not modelled.
 *
 * With --cap-add NET_ADMIN the change would be made: that is not modelled for BusyBox's ip
 * (runner/shell.ts runInContainer refuses it in both modes), so this file never changes the kernel.
 */
import type { SimNetns } from './objects';
import { err, Output, unmodelledWords } from './iproute_utils';
import { BUSYBOX_IP_SET, IP_ADD_WORDS, IP_DELETE_WORDS } from '../commands/ip-link-words';

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

/**
 * `ip link set [dev] DEVICE [up|down] [mtu N]` (do_set): the MTU's ioctl first (refused before
 * the device is looked up), then the flags', read and only written when they change (the last
 * of up and down wins): a device already in that state needs no capability.
 */
function linkSet(ns: SimNetns, argv: string[]): Output {
  let dev: string | undefined;
  let mtu = false;
  let state: 'up' | 'down' | undefined;
  for (let i = 0; i < argv.length; i++) {
    const w = argv[i];
    if (w === 'up' || w === 'down') state = w;
    else if (w === 'mtu') {
      const v = argv[++i];
      if (v === undefined) return fail(INCOMPLETE, 2);
      if (/^-\d+$/.test(v) || /^[a-z]+$/i.test(v)) return fail(`invalid argument '${v}' to 'mtu'`, 2);
      if (!/^\d{1,9}$/.test(v)) return unmodelledWords(`cnmlab: ip link set … mtu ${v}: not modelled in a BusyBox image (a decimal number is)\n`);
      mtu = true;
    } else if (['address', 'name', 'arp', 'multicast', 'promisc', 'qlen', 'txqueuelen', 'master', 'nomaster', 'netns', 'broadcast', 'brd'].includes(w)) {
      return unmodelledWords(`cnmlab: ip link set … ${w}: not modelled in a BusyBox image (up, down and mtu are)\n`);
    } else {
      const v = w === 'dev' ? argv[++i] : w;
      if (v === undefined) return fail(INCOMPLETE, 2);
      if (dev !== undefined) return fail(`either "dev" is duplicate, or "${v}" is garbage`, 2);
      dev = v;
    }
  }
  if (dev === undefined) return fail('"dev" requires an argument', 2);
  if (mtu) return EPERM('SIOCSIFMTU');
  if (state === undefined) return done;
  const link = ns.links.get(dev);
  if (!link) return fail('SIOCGIFFLAGS: No such device', 2);
  return link.up === (state === 'up') ? done : EPERM('SIOCSIFFLAGS');
}

/** BusyBox's `ip OBJECT VERB …` for the changes it is asked without CAP_NET_ADMIN; undefined when `verb` is no change. */
export function busyboxIpChange(ns: SimNetns, object: string, verb: string | undefined, argv: string[]): Output | undefined {
  if (verb === undefined) return undefined;
  const add = IP_ADD_WORDS.includes(verb);
  const del = IP_DELETE_WORDS.includes(verb);
  if (object === 'route' && (add || del)) return routeChange(ns, verb, argv);
  if (object === 'address' && (add || del)) return addressChange(ns, verb, argv);
  if (object === 'link' && add) return linkAdd(argv);
  if (object === 'link' && del) return linkDel(ns, verb, argv);
  if (object === 'link' && BUSYBOX_IP_SET.includes(verb)) return linkSet(ns, argv);
  return undefined;
}
