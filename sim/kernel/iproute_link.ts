/**
 * iproute2 6.1's `ip link add|del` (iplink_modify, ip/iplink.c): its reading of the words
 * and its texts, then the kernel's answer (rtnl_newlink, rtnl_dellink) as iproute2 prints
 * it: the extack message as `Error: …`, else `RTNETLINK answers: …`, exit 2. The one kind
 * modelled is a dummy device (drivers/net/dummy.c); deleting is modelled for the devices
 * `ip link add` made, and for lo (which the kernel refuses).
 */
import type { PlanOp } from '../plan/ops';
import { LINK_ATTRIBUTES, modelDeviceDeleteRefusal } from '../commands/ip-link-words';
import type { SimLink, SimNetns } from './objects';
import { err, INCOMPLETE, NOT_PERMITTED, Output, unmodelledWords } from './iproute_utils';

/** The kernel's side: the plan's link ops, as the sim kernel applies them (SimKernel.apply). */
export interface LinkRequests {
  apply(op: PlanOp): void;
}

/** IFNAMSIZ less its NUL: a longer IFLA_IFNAME fails the attribute's policy (ifla_policy's NLA_STRING length). */
const IFNAME_MAX = 15;

/** The devices `ip link add` made, which `ip link del` may take again (a device the model made is the model's). */
const MADE_BY_IP = new WeakSet<SimLink>();

const done: Output = { stdout: '', stderr: '', exitCode: 0 };

/** check_altifname: iproute2's own test of a name typed after `dev` (or alone); its length is the kernel's to check. */
function altifnameOk(name: string): boolean {
  return name !== '' && !/[/\s]/.test(name);
}

/** check_ifname, for a name typed after `name`: the same, and shorter than IFNAMSIZ. */
function ifnameOk(name: string): boolean {
  return altifnameOk(name) && name.length <= IFNAME_MAX;
}

/** dev_valid_name's refusals past iproute2's own checks: `.`, `..` and a `:` (an alias's separator). */
function kernelRefusesName(name: string): boolean {
  return name === '.' || name === '..' || name.includes(':');
}

/** The words before `type` (iplink_parse): the device's name, by `name`, `dev` or alone; anything else is not modelled. */
function parseName(verb: 'add' | 'del', argv: string[]): { name?: string; dev?: string; rest: string[] } | Output {
  let name: string | undefined;
  let dev: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const w = argv[i];
    if (w === 'type') return { name, dev, rest: argv.slice(i) };
    if (w === 'name') {
      const v = argv[++i];
      if (v === undefined) return err(INCOMPLETE, 255);
      if (name !== undefined) return err(`Error: duplicate "name": "${v}" is the second value.\n`, 255);
      if (!ifnameOk(v)) return err(`Error: argument "${v}" is wrong: "name" not a valid ifname\n`, 255);
      name = v;
    } else if (LINK_ATTRIBUTES.includes(w)) {
      return unmodelledWords(`cnmlab: ip link ${verb} … ${w}: not modelled (a name and type dummy are)\n`);
    } else {
      const v = w === 'dev' ? argv[++i] : w;
      if (v === undefined) return err(INCOMPLETE, 255);
      if (dev !== undefined) return err(`Error: either "dev" is duplicate, or "${v}" is a garbage.\n`, 255);
      if (!altifnameOk(v)) return err(`Error: argument "${v}" is wrong: "dev" not a valid ifname\n`, 255);
      dev = v;
    }
  }
  return { name, dev, rest: [] };
}

/** `ip link add [name] NAME type dummy` in `ns`; `netAdmin`: whether ip holds CAP_NET_ADMIN (not in a container run without --cap-add NET_ADMIN). */
export function linkAdd(ns: SimNetns, argv: string[], kernel: LinkRequests, netAdmin: boolean): Output {
  const parsed = parseName('add', argv);
  if (!('rest' in parsed)) return parsed;
  const { rest } = parsed;
  if (parsed.name !== undefined && parsed.dev !== undefined) return err('both "name" and "dev" cannot be used when creating devices.\n', 255);
  if (rest.length === 0) return err('Not enough information: "type" argument is required\n', 1);
  const kind = rest[1];
  if (kind === undefined) return err(INCOMPLETE, 255);
  const typed = parsed.name ?? parsed.dev;
  if (!netAdmin && kind === 'dummy' && rest.length <= 2) return NOT_PERMITTED();
  // The request's attributes are checked first; then rtnl_newlink looks the name up before the kind: an existing device is EEXIST whatever the kind.
  if (typed !== undefined && typed.length > IFNAME_MAX) return err('Error: Attribute failed policy validation.\n', 2);
  if (typed !== undefined && ns.links.has(typed)) return err('RTNETLINK answers: File exists\n', 2);
  if (kind !== 'dummy' || rest.length > 2) return unmodelledWords(`cnmlab: ip link add … ${rest.join(' ')}: not modelled (type dummy is, with nothing after it)\n`);
  if (typed !== undefined && kernelRefusesName(typed)) return err('RTNETLINK answers: Invalid argument\n', 2);
  // No name: the kind's pattern, its lowest free number (dev_alloc_name's "dummy%d").
  let name = typed;
  for (let n = 0; name === undefined; n++) if (!ns.links.has(`dummy${n}`)) name = `dummy${n}`;
  kernel.apply({ op: 'link.add', host: ns.host.name, netns: ns.name, name, kind: { type: 'dummy' } });
  MADE_BY_IP.add(ns.links.get(name)!);
  return done;
}

/** `ip link del|delete [dev|name] DEVICE` in `ns`; `netAdmin` as for linkAdd. */
export function linkDel(ns: SimNetns, argv: string[], kernel: LinkRequests, netAdmin: boolean): Output {
  const parsed = parseName('del', argv);
  if (!('rest' in parsed)) return parsed;
  if (parsed.rest.length) return unmodelledWords(`cnmlab: ip link del … ${parsed.rest.join(' ')}: not modelled (the device alone is)\n`);
  if (parsed.name !== undefined && parsed.dev !== undefined) return unmodelledWords('cnmlab: ip link del with both dev and name: not modelled (the device alone is)\n');
  const name = parsed.dev ?? parsed.name;
  if (name === undefined) return err('Not enough information: "dev" argument is required.\n', 255);
  const dev = ns.links.get(name);
  // iproute2 asks the device's index first (RTM_GETLINK needs no capability), then sends the delete.
  if (!dev) return err(`Cannot find device "${name}"\n`, 1);
  if (!netAdmin) return NOT_PERMITTED();
  // rtnl_delete_link: a device whose kind has no rtnl_link_ops (lo) cannot be deleted.
  if (dev.type === 'loopback') return err('RTNETLINK answers: Operation not supported\n', 2);
  if (!MADE_BY_IP.has(dev)) return unmodelledWords(modelDeviceDeleteRefusal(name));
  kernel.apply({ op: 'link.del', host: ns.host.name, netns: ns.name, name });
  return done;
}
