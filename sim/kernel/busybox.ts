/**
 * BusyBox's applets over the simulated kernel, for containers whose image is built on
 * BusyBox (sim/commands/family.ts): `ip`, `arp`, `ifconfig`, `netstat -rn`, `route -n` and
 * `hostname`, in the texts of Debian 12's busybox 1.35 (the build emu runs), measured in
 * network namespaces. Its ping and nslookup live beside the GNU ones (programs.ts).
 */
import { CommandOutput, ExecContext } from '../backend';
import { Datapath } from './datapath';
import { SimLink, SimNetns } from './objects';
import { addrLines, broadcast, flags, hasCarrier, ipv6Addrs, networkOf, sortedLinks } from './iproute';
import { busyboxNslookup, hostsAddresses, ping } from './programs';
import { ipv4ToNumber, maskOf, numberToIpv4 } from '../wire/addr';
import { containerById } from '../model/world';
import { holdsNetAdmin } from '../model/capabilities';
import { busyboxSysctl } from './sysctl';
import { neighProbes } from './net/neighbour';
import { busyboxIpChange } from './busybox_ip_change';
import { BUSYBOX_ADDRESS_VERBS, BUSYBOX_LINK_VERBS, BUSYBOX_ROUTE_VERBS, busyboxKeyword } from '../commands/ip-link-words';

const out = (stdout: string): CommandOutput => ({ stdout, stderr: '', exitCode: 0 });
const fail = (stderr: string): CommandOutput => ({ stdout: '', stderr, exitCode: 1 });

/** The applets this file answers (the rest of a BusyBox image's modelled commands are the GNU ones' twins: cat, echo, true). */
export const BUSYBOX_APPLETS = new Set(['ping', 'nslookup', 'ip', 'arp', 'ifconfig', 'netstat', 'route', 'hostname', 'sysctl']);

export function busyboxCommand(dp: Datapath, ns: SimNetns, argv: string[], ctx: ExecContext): CommandOutput {
  const [applet, ...args] = argv;
  switch (applet) {
    case 'ping':
      return ping(dp, ns, args, ctx, 'busybox');
    case 'nslookup':
      return busyboxNslookup(dp, ns, args, ctx);
    case 'ip':
      return ip(ns, args, busyboxHoldsNetAdmin(ctx));
    case 'arp':
      return arp(ns);
    case 'ifconfig':
      return ifconfig(ns, args);
    case 'netstat':
      return routingTable(ns, 'netstat');
    case 'route':
      return routingTable(ns, 'route');
    case 'sysctl':
      return busyboxSysctl(ns, args);
    default:
      return hostname(ns, args, ctx);
  }
}

/**
 * The index a device names as its link (IFLA_LINK: a veth's peer; a vxlan device moved
 * from the namespace it was made in), or undefined when it has none.
 */
function iflink(l: SimLink): number | undefined {
  if (l.type === 'veth' && l.peer) return l.peer.ifindex;
  if (l.stacked) return l.stacked.lower.ifindex;
  if (l.type === 'vxlan' && l.vxlan && l.vxlan.linkNetns !== l.netns) return l.ifindex;
  return undefined;
}

/**
 * BusyBox's link line: no state, group or link-netns; the link named by its index as this
 * namespace knows it (`if16` when no device here has that index), M-DOWN when that local
 * device is not up (or absent); qlen only when there is a queue length.
 */
function linkLines(ns: SimNetns, l: SimLink): string[] {
  const link = iflink(l);
  let name = l.name;
  let mdown = false;
  if (link !== undefined) {
    const local = [...ns.links.values()].find((x) => x.ifindex === link);
    name += `@${local ? local.name : `if${link}`}`;
    mdown = !local?.up;
  }
  // iproute2's flags without its own M-DOWN rule (a peer in the same namespace).
  const f = flags(l).flags.replace(',M-DOWN', '') + (mdown ? ',M-DOWN' : '');
  const master = l.master ? `master ${l.master.name} ` : '';
  const head = `${l.ifindex}: ${name}: <${f}> mtu ${l.mtu} qdisc ${flags(l).qdisc} ${master}${l.txqueuelen ? `qlen ${l.txqueuelen}` : ''}`;
  const ether = l.type === 'loopback' ? `    link/loopback ${l.mac} brd 00:00:00:00:00:00` : `    link/ether ${l.mac} brd ff:ff:ff:ff:ff:ff`;
  return [head, ether];
}

/**
 * BusyBox's usage text for `ip`, on stderr with exit 1: what it answers for an option it does
 * not have (its ip knows no -d, -s or -j: `ip -d link` is iproute2's, not BusyBox's).
 */
const IP_USAGE = `BusyBox v1.35.0 (Debian 1:1.35.0-4+deb12u1+b1) multi-call binary.

Usage: ip [OPTIONS] address|route|link|tunnel|neigh|rule [ARGS]

OPTIONS := -f[amily] inet|inet6|link | -o[neline]

ip addr add|del IFADDR dev IFACE | show|flush [dev IFACE] [to PREFIX]
ip route list|flush|add|del|change|append|replace|test ROUTE
ip link set IFACE [up|down] [arp on|off] [multicast on|off]
\t[promisc on|off] [mtu NUM] [name NAME] [qlen NUM] [address MAC]
\t[master IFACE | nomaster] [netns PID]
ip tunnel add|change|del|show [NAME]
\t[mode ipip|gre|sit] [remote ADDR] [local ADDR] [ttl TTL]
ip neigh show|flush [to PREFIX] [dev DEV] [nud STATE]
ip rule [list] | add|del SELECTOR ACTION
`;

/** Whether the program runs holding CAP_NET_ADMIN: a host's root, or a container given it. */
function busyboxHoldsNetAdmin(ctx: ExecContext): boolean {
  const c = ctx.container === undefined ? undefined : containerById(ctx.world, ctx.container);
  return c === undefined || holdsNetAdmin(c);
}

function ip(ns: SimNetns, argv: string[], netAdmin: boolean): CommandOutput {
  // -4: IPv4 only, and (as iproute2) only the devices that have an IPv4 address, without their link-layer line.
  const inet4Only = argv[0] === '-4';
  const args = inet4Only ? argv.slice(1) : argv;
  const [object, ...rest] = args;
  if (object?.startsWith('-')) return { stdout: '', stderr: IP_USAGE, exitCode: 1 };
  const is = (full: string) => object !== undefined && full.startsWith(object);
  const changeOf = ['route', 'address', 'link'].find(is);
  const change = changeOf === undefined ? undefined : busyboxIpChange(ns, changeOf, rest[0], rest.slice(1), {
    mainRoutes: () => tableRoutes(ns),
    hasAddress: (l, family) => l.addrs.length > 0 || (family === undefined && ipv6Addrs(l).length > 0),
  }, inet4Only ? 'inet' : undefined, netAdmin);
  if (change) return change;
  // The verb comes first, read by the object's table: a device or `dev` in its place is no
  // verb (`ip addr eth0`), refused as ip address and ip route refuse one (exit 1), ip link's exit 2.
  const verbs = changeOf === 'address' ? BUSYBOX_ADDRESS_VERBS : changeOf === 'link' ? BUSYBOX_LINK_VERBS : changeOf === 'route' ? BUSYBOX_ROUTE_VERBS : undefined;
  if (verbs && rest[0] !== undefined && busyboxKeyword(verbs, rest[0]) === undefined) return { stdout: '', stderr: `ip: invalid argument '${rest[0]}' to 'ip'\n`, exitCode: changeOf === 'link' ? 2 : 1 };
  if (is('route')) return out(routeLines(ns).map((r) => r + '\n').join(''));
  if (is('neigh')) return neighbours(ns, rest);
  const words = rest.filter((w) => w !== 'show' && w !== 'list' && w !== 'dev');
  let links = sortedLinks(ns);
  if (words.length) {
    const l = ns.links.get(words[0]);
    if (!l) return fail(`ip: can't find device '${words[0]}'\n`);
    links = [l];
  }
  if (is('address') && inet4Only) return out(links.filter((l) => l.addrs.length).flatMap((l) => [linkLines(ns, l)[0], ...addrLines(l, [])]).map((x) => x + '\n').join(''));
  if (is('address')) return out(links.flatMap((l) => [...linkLines(ns, l), ...addrLines(l, ipv6Addrs(l))]).map((x) => x + '\n').join(''));
  return out(links.flatMap((l) => linkLines(ns, l)).map((x) => x + '\n').join(''));
}

/**
 * `ip neigh [show] [dev DEV]` as BusyBox prints it (measured against Debian's 1.35): the
 * cache info iproute2 shows only with -s, always. `ref 1` while the entry's timer runs (the
 * timer holds a reference: INCOMPLETE, REACHABLE, DELAY, PROBE); `used 0/0/0` at any age,
 * since BusyBox divides the kernel's clock ticks by the packet scheduler's clock rate; the
 * probes the kernel counted. Without an address, `dev eth0  used` with its two spaces; with
 * `dev`, the device is left out of every line. BusyBox's default filter, like iproute2's,
 * leaves out NOARP entries (measured: a `nud noarp` entry shows only with `nud all` or
 * `nud noarp`); the model's neighbour states have no NOARP (NeighState), so every entry shows.
 */
function neighbours(ns: SimNetns, args: string[]): CommandOutput {
  const words = args[0] === 'show' ? args.slice(1) : args;
  let dev: string | undefined;
  if (words[0] === 'dev') {
    if (words.length < 2) return fail('ip: command line is not complete, try "help"\n');
    if (!ns.links.has(words[1])) return fail(`ip: can't find device '${words[1]}'\n`);
    dev = words[1];
  } else if (words.length) return fail(`ip: invalid argument '${words[0]}' to 'ip'\n`);
  const lines = [...ns.neigh.values()].filter((n) => dev === undefined || n.dev === dev).map((n) => {
    const timerRunning = n.state === 'INCOMPLETE' || n.state === 'REACHABLE' || n.state === 'DELAY' || n.state === 'PROBE';
    const lladdr = n.mac !== undefined && n.state !== 'INCOMPLETE' && n.state !== 'FAILED' ? `lladdr ${n.mac}` : '';
    return `${n.ip} ${dev === undefined ? `dev ${n.dev} ` : ''}${lladdr}${timerRunning ? ' ref 1' : ''} used 0/0/0 probes ${neighProbes(n)} ${n.state}\n`;
  });
  return out(lines.join(''));
}

/** `ip route` as BusyBox prints it: no proto, no linkdown, `scope link  src` with its two spaces. */
function routeLines(ns: SimNetns): string[] {
  return tableRoutes(ns).map((r) => `${r.dst === 'default' ? 'default' : r.dst} ${r.via ? `via ${r.via} ` : ''}dev ${r.dev} ${r.src ? `scope link  src ${r.src} ` : ''}`);
}

interface TableRoute {
  dst: string;
  via?: string;
  dev: string;
  /** A connected route's preferred source. */
  src?: string;
}

/** The main table in the kernel's order: the default route, then by destination. */
function tableRoutes(ns: SimNetns): TableRoute[] {
  const routes: TableRoute[] = ns.routes.filter((r) => r.dst === 'default').map((r) => ({ dst: 'default', via: r.via, dev: r.dev }));
  const rest: TableRoute[] = [];
  for (const l of sortedLinks(ns)) {
    if (l.type === 'loopback' || !l.up) continue;
    for (const a of l.addrs) rest.push({ dst: networkOf(a), dev: l.name, src: a.ip });
  }
  for (const r of ns.routes.filter((x) => x.dst !== 'default')) rest.push({ dst: r.dst, via: r.via, dev: r.dev });
  rest.sort((a, b) => (ipv4ToNumber(a.dst.split('/')[0]) >>> 0) - (ipv4ToNumber(b.dst.split('/')[0]) >>> 0));
  return [...routes, ...rest];
}

/** netstat -rn and route -n: /proc/net/route in net-tools' columns. */
function routingTable(ns: SimNetns, tool: 'netstat' | 'route'): CommandOutput {
  const rows = tableRoutes(ns).map((r) => {
    const [net, len] = r.dst === 'default' ? ['0.0.0.0', 0] : [r.dst.split('/')[0], Number(r.dst.split('/')[1] ?? 32)];
    const flagText = `U${r.via ? 'G' : ''}${len === 32 ? 'H' : ''}`;
    const head = `${net.padEnd(15)} ${(r.via ?? '0.0.0.0').padEnd(15)} ${numberToIpv4(maskOf(len) >>> 0).padEnd(16)}${flagText.padEnd(6)}`;
    return tool === 'netstat' ? `${head}${'0'.padStart(5)} ${'0'.padEnd(5)} ${'0'.padStart(6)} ${r.dev}` : `${head}${'0'.padEnd(6)} ${'0'.padEnd(2)} ${'0'.padStart(7)} ${r.dev}`;
  });
  const columns = tool === 'netstat' ? 'Flags   MSS Window  irtt Iface' : 'Flags Metric Ref    Use Iface';
  return out(['Kernel IP routing table', `${'Destination'.padEnd(16)}${'Gateway'.padEnd(16)}${'Genmask'.padEnd(16)}${columns}`, ...rows].map((x) => x + '\n').join(''));
}

/** arp -n: /proc/net/arp's entries (a NOARP one is not listed), net-tools' line for each. */
function arp(ns: SimNetns): CommandOutput {
  const lines = [...ns.neigh.values()].map((n) => {
    const complete = n.mac !== undefined && n.state !== 'INCOMPLETE' && n.state !== 'FAILED';
    return `? (${n.ip}) at ${complete ? `${n.mac} [ether]` : '<incomplete>'} ${n.state === 'PERMANENT' ? 'PERM' : ''} on ${n.dev}`;
  });
  return out(lines.map((x) => x + '\n').join(''));
}

/** A byte count as net-tools' ifconfig scales it: one decimal, binary units. */
function scaledBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let whole = bytes;
  let tenths = 0;
  let unit = 0;
  while (whole >= 1024 && unit < units.length - 1) {
    tenths = Math.floor(((whole % 1024) * 10) / 1024);
    whole = Math.floor(whole / 1024);
    unit++;
  }
  return `${bytes} (${whole}.${tenths} ${units[unit]})`;
}

/** ifconfig [-a] [DEVICE]: the devices that are up (all with -a), by name, in net-tools' layout. */
function ifconfig(ns: SimNetns, args: string[]): CommandOutput {
  const all = args.includes('-a');
  const named = args.find((a) => a !== '-a');
  let links = [...ns.links.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  if (named !== undefined) {
    const l = ns.links.get(named);
    if (!l) return fail(`ifconfig: ${named}: error fetching interface information: Device not found\n`);
    links = [l];
  } else if (!all) links = links.filter((l) => l.up);
  const pad = ' '.repeat(10);
  const text = links.map((l) => {
    const loopback = l.type === 'loopback';
    const lines = [loopback ? `${l.name.padEnd(10)}Link encap:Local Loopback  ` : `${l.name.padEnd(10)}Link encap:Ethernet  HWaddr ${l.mac.toUpperCase()}  `];
    const a = l.addrs[0];
    if (a) lines.push(`${pad}inet addr:${a.ip}  ${loopback ? '' : `Bcast:${broadcast(a.ip, a.prefixLength)}  `}Mask:${numberToIpv4(maskOf(a.prefixLength) >>> 0)}`);
    for (const v6 of ipv6Addrs(l)) lines.push(`${pad}inet6 addr: ${v6.ip}/${v6.prefixLength} Scope:${v6.scope === 'host' ? 'Host' : 'Link'}`);
    const running = l.up && hasCarrier(l);
    const words = [l.up && 'UP', loopback ? 'LOOPBACK' : 'BROADCAST', running && 'RUNNING', !loopback && 'MULTICAST'].filter(Boolean).join(' ');
    lines.push(`${pad}${words}  MTU:${l.mtu}  Metric:1`);
    lines.push(`${pad}RX packets:${l.rxPackets} errors:0 dropped:0 overruns:0 frame:0`);
    lines.push(`${pad}TX packets:${l.txPackets} errors:0 dropped:0 overruns:0 carrier:0`);
    lines.push(`${pad}collisions:0 txqueuelen:${l.txqueuelen} `);
    lines.push(`${pad}RX bytes:${scaledBytes(l.rxBytes)}  TX bytes:${scaledBytes(l.txBytes)}`);
    return lines.join('\n') + '\n\n';
  });
  return out(text.join(''));
}

/** hostname: the UTS name; -i: the first address /etc/hosts gives it (glibc's files lookup). */
function hostname(ns: SimNetns, args: string[], ctx: ExecContext): CommandOutput {
  const c = containerById(ctx.world, ctx.container);
  const name = c?.hostname ?? ns.host.name;
  if (!args.includes('-i')) return out(`${name}\n`);
  const ip = hostsAddresses(ctx, ns, c, name).find((a) => !a.includes(':'));
  return ip ? out(`${ip}\n`) : fail(`hostname: bad address '${name}'\n`);
}
