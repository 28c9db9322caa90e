/**
 * What a typed `ip [OPTIONS] link add|del …` names, read from its words alone (no kernel
 * asked): emu counts the device such a step made or deleted once it succeeded
 * (emu/ifindex.ts), the way sim's kernel numbered it. BusyBox's ip reads its verbs by
 * prefix too, from tables of its own (busyboxKeyword over the BUSYBOX_*_VERBS tables, for the
 * registry's forms and kernel/busybox_ip_change.ts).
 */
import { IP_OBJECTS, IP_VERBS, selectWord } from './iproute2-words';

/** iplink's add or delete verb, as do_iplink's table selects it (`a` adds, `d` deletes; iproute2-words.ts); undefined for any other word. */
export function linkChangeVerb(word: string | undefined): 'add' | 'delete' | undefined {
  const verb = selectWord(IP_VERBS.link, word);
  return verb === 'add' || verb === 'delete' ? verb : undefined;
}

/**
 * The verb and the device's name (the first word, or the one after a first `name` or
 * `dev`); none for `ip link add type dummy`, which the kernel names (dummy%d). Undefined
 * for any other command.
 */
export function typedLinkChange(argv: string[]): { verb: 'add' | 'del'; name?: string } | undefined {
  let at = 1;
  while (at < argv.length && argv[at].startsWith('-')) at++;
  // ip's object is selected by its table too.
  if (argv[0] !== 'ip' || selectWord(IP_OBJECTS, argv[at]) !== 'link') return undefined;
  const word = argv[at + 1];
  const full = linkChangeVerb(word);
  if (!full) return undefined;
  const verb = full === 'add' ? 'add' : 'del';
  const [first, second] = argv.slice(at + 2);
  if (first === undefined || first === 'type') return { verb };
  return { verb, name: first === 'name' || first === 'dev' ? second : first };
}

/**
 * BusyBox 1.35's index_in_substrings (libbb/compare_string_array.c), walking `table` in
 * order as the C does: the first word `word` is whole returns at once; a second word it only
 * begins ends the walk with none (`ip route c`: change and chg), even when a later word is
 * `word` itself; else the one word it begins. Undefined for an empty word or no match.
 */
export function busyboxKeyword(table: readonly string[], word: string): string | undefined {
  if (word === '') return undefined;
  let matched: string | undefined;
  for (const w of table) {
    if (!w.startsWith(word)) continue;
    if (w === word) return w;
    if (matched !== undefined) return undefined;
    matched = w;
  }
  return matched;
}

/** Every word that selects `full` in BusyBox's `table` (busyboxKeyword), as a registry form's alternatives. */
export function busyboxWordsFor(table: readonly string[], ...full: string[]): string {
  const words: string[] = [];
  for (const f of full) for (let i = 1; i <= f.length; i++) if (busyboxKeyword(table, f.slice(0, i)) === f) words.push(f.slice(0, i));
  return words.join('|');
}

/** BusyBox 1.35's ip route verbs (iproute.c do_iproute's table: `a` is add, not append). */
export const BUSYBOX_ROUTE_VERBS = ['a', 'add', 'append', 'change', 'chg', 'delete', 'get', 'list', 'show', 'prepend', 'replace', 'test', 'flush'];
/** The ones that send a route to the kernel as add does (iproute_modify), each with its own netlink flags. */
export const BUSYBOX_ROUTE_MODIFY = ['append', 'change', 'chg', 'prepend', 'replace', 'test'];
/** BusyBox 1.35's ip address verbs (ipaddress.c do_ipaddr's table). */
export const BUSYBOX_ADDRESS_VERBS = ['add', 'change', 'chg', 'replace', 'delete', 'list', 'show', 'lst', 'flush'];
/** BusyBox 1.35's ip link verbs (iplink.c do_iplink's table). */
export const BUSYBOX_LINK_VERBS = ['add', 'delete', 'set', 'show', 'lst', 'list'];
/** The ones that send an address as add does (ipaddr_modify). */
export const BUSYBOX_ADDRESS_MODIFY = ['change', 'chg', 'replace'];

/** The attributes iplink_parse reads before `type`: cnmlab models none of them (sim's ip refuses each, iproute_link.ts). */
export const LINK_ATTRIBUTES = ['mtu', 'address', 'broadcast', 'brd', 'txqueuelen', 'txqlen', 'qlen', 'link', 'netns', 'master', 'nomaster', 'up', 'down', 'alias', 'group', 'index', 'numtxqueues', 'numrxqueues'];

/**
 * Whether the words after `ip link add|del` are all sim models, so that emu may run them:
 * the device's name (by `name`, `dev` or alone, iproute2's own errors for a misuse), then
 * for an add `type dummy` (or `type` alone: iproute2's incomplete line); a delete names its
 * device one way, not by both `name` and `dev`. Any other kind or attribute is refused in
 * both modes before the real ip runs, as nothing sim could match.
 */
export function linkChangeModelled(verb: 'add' | 'del', operands: readonly string[]): boolean {
  let named = false;
  let dev = false;
  for (let i = 0; i < operands.length; i++) {
    const w = operands[i];
    if (w === 'type') return verb === 'add' && operands.length - i <= 2 && (operands[i + 1] ?? 'dummy') === 'dummy';
    if (LINK_ATTRIBUTES.includes(w)) return false;
    if (w === 'name') named = true;
    else dev = true;
    if (w === 'name' || w === 'dev') i++;
  }
  return verb === 'add' || !(named && dev);
}

/**
 * cnmlab's refusal of `ip link del DEVICE` for a device the model made (Docker's, a driver's,
 * the host's NIC): only a device a step's `ip link add` made may be deleted. sim's ip knows
 * its devices (kernel/iproute_link.ts), emu the ones its plan made (emu/ifindex.ts); both print this.
 */
export const modelDeviceDeleteRefusal = (name: string): string =>
  `cnmlab: ip link del ${name}: deleting a device the model made (Docker's, a driver's, the host's NIC) is not modelled; one ip link add made is\n`;

/** BusyBox's ip link set keyword table (do_set), read by index_in_substrings (`dev` last: a word it does not select names the device). */
export const BUSYBOX_LINK_SET_KEYWORDS = ['up', 'down', 'name', 'mtu', 'qlen', 'multicast', 'arp', 'promisc', 'address', 'netns', 'master', 'nomaster', 'dev'];

/**
 * Whether BusyBox's `ip ARGS` is a change cnmlab makes holding CAP_NET_ADMIN: `ip link set`
 * with a device and only up, down and mtu (each as do_set's table reads it).
 */
export function busyboxChangeModelledHoldingNetAdmin(args: string[]): boolean {
  const [object, verb, ...words] = args;
  if (object === undefined || !'link'.startsWith(object) || verb === undefined || busyboxKeyword(BUSYBOX_LINK_VERBS, verb) !== 'set') return false;
  for (let i = 0; i < words.length; i++) {
    const key = busyboxKeyword(BUSYBOX_LINK_SET_KEYWORDS, words[i]);
    if (key === 'mtu' || key === 'dev') i++;
    else if (key !== undefined && key !== 'up' && key !== 'down') return false;
  }
  return true;
}
