/**
 * iproute2's view of the simulated kernel: `ip addr|link|route|neigh`, `ip -d link`,
 * `bridge fdb show`, in the format of iproute2 6.1 (Debian 12) so that sim and emu read alike.
 */
import { Route, SimLink, SimNetns } from './objects';
import { ipv4ToNumber, isIpv4, maskOf, numberToIpv4 } from '../wire/addr';
import { pmtuException, route } from './net/ipv4/route';
import { addsPrefixRoute, ifaddrBroadcast, routePrefix } from './net/ipv4/fib';
import { devClose, devOpen, devSetMac, devSetMtu, mtuRange } from './net/dev';
import { brMtuAutoAdjust } from './net/bridge/br_if';
import { routeModify } from './iproute_route';
import { linkAdd, linkDel, LinkRequests } from './iproute_link';
import { BRIDGE_OBJECTS, BRIDGE_VERBS, IP_OBJECTS, IP_VERBS, LISTING_VERBS, selectWord } from '../commands/iproute2-words';
import { BRIDGE_FDB_USAGE, BRIDGE_LINK_USAGE, IP_ADDRESS_USAGE, IP_LINK_USAGE, IP_NEIGH_USAGE, IP_ROUTE_USAGE, IP_USAGE } from './iproute_help';
import { ipJsonWithDetails, LINK_SET_NOT_MODELLED } from '../commands/ip-change-words';
import { err, INCOMPLETE, integer, NOT_PERMITTED, Output, unmodelledWords } from './iproute_utils';
import { txQueues } from './net/sched/sch_generic';
import { moduleLinkType } from './net/rtnetlink';

export interface RenderOptions {
  /** Docker's namespaces are visible to `ip netns` (after `ln -s /var/run/docker/netns /var/run/netns`). */
  namesVisible: boolean;
  /** The command runs in a container, whose mounts hold no namespace names at all. */
  inContainer?: boolean;
  /** false when ip runs without CAP_NET_ADMIN (a container run without --cap-add NET_ADMIN): the kernel refuses its changes. */
  netAdmin?: boolean;
  /** The kernel's clock, for what expires (a learned path MTU); 0 when absent. */
  nowNs?: number;
}

const out = (stdout: string): Output => ({ stdout, stderr: '', exitCode: 0 });

export function sortedLinks(ns: SimNetns): SimLink[] {
  return [...ns.links.values()].sort((a, b) => a.ifindex - b.ifindex);
}

/**
 * Whether the device has carrier as the kernel reports it. A bridge with no port has none
 * once its MAC was set (Docker sets one on docker0 and docker_gwbridge: NO-CARRIER, routes
 * `linkdown`); one left as made reads UNKNOWN, with carrier. With ports, some port must have it.
 */
export function hasCarrier(l: SimLink): boolean {
  if (l.type !== 'bridge' || !l.up) return l.carrier;
  if (l.ports.size === 0) return !l.explicitMac;
  return [...l.ports].some((p) => p.carrier);
}

/** The bridge port cost STP derives from the port's speed: a veth reports 10 Gb/s (2), a vxlan device none (100). */
function portCost(l: SimLink): number {
  return l.type === 'vxlan' ? 100 : 2;
}

export function flags(l: SimLink): { flags: string; state: string; qdisc: string } {
  const f = defaultFlags(l);
  return l.qdisc ? { ...f, qdisc: l.qdisc.kind } : f;
}

/** The flags and state of a device, with the qdisc it has by default. */
function defaultFlags(l: SimLink): { flags: string; state: string; qdisc: string } {
  if (l.type === 'loopback') return l.up ? { flags: 'LOOPBACK,UP,LOWER_UP', state: 'UNKNOWN', qdisc: 'noqueue' } : { flags: 'LOOPBACK', state: 'DOWN', qdisc: 'noop' };
  // A dummy device answers no ARP and reports no operational state of its own.
  if (l.type === 'dummy') return l.up ? { flags: 'BROADCAST,NOARP,UP,LOWER_UP', state: 'UNKNOWN', qdisc: 'noqueue' } : { flags: 'BROADCAST,NOARP', state: 'DOWN', qdisc: l.qdiscAttached ? 'noqueue' : 'noop' };
  // An ipip tunnel has no link layer: NOARP, no broadcast; up, its state is UNKNOWN.
  if (l.type === 'ipip') return l.up ? { flags: 'NOARP,UP,LOWER_UP', state: 'UNKNOWN', qdisc: 'noqueue' } : { flags: 'NOARP', state: 'DOWN', qdisc: l.qdiscAttached ? 'noqueue' : 'noop' };
  // iproute2 adds M-DOWN when the device's link (a veth's peer, a macvlan's lower device) is down and in the same namespace.
  const link = l.type === 'veth' ? l.peer : l.stacked?.lower;
  const mdown = link !== undefined && link.netns === l.netns && !link.up ? ',M-DOWN' : '';
  // NOARP follows MULTICAST in iproute2's (and BusyBox's) order of the flags.
  const noArp = l.stacked?.noArp ? ',NOARP' : '';
  if (!l.up) return { flags: `BROADCAST,MULTICAST${noArp}${mdown}`, state: 'DOWN', qdisc: l.qdiscAttached ? 'noqueue' : 'noop' };
  // A stacked device's carrier is its lower device's (netif_stacked_transfer_operstate).
  if ((l.type === 'veth' || l.stacked) && !link?.up) return { flags: `NO-CARRIER,BROADCAST,MULTICAST${noArp},UP${mdown}`, state: 'LOWERLAYERDOWN', qdisc: 'noqueue' };
  if (l.type === 'bridge') {
    if (l.ports.size === 0 && !l.explicitMac) return { flags: 'BROADCAST,MULTICAST,UP,LOWER_UP', state: 'UNKNOWN', qdisc: 'noqueue' };
    return hasCarrier(l) ? { flags: 'BROADCAST,MULTICAST,UP,LOWER_UP', state: 'UP', qdisc: 'noqueue' } : { flags: 'NO-CARRIER,BROADCAST,MULTICAST,UP', state: 'DOWN', qdisc: 'noqueue' };
  }
  // A vxlan device and some modules' devices (an Open vSwitch datapath's internal device) report no operational state of their own.
  return { flags: `BROADCAST,MULTICAST${noArp},UP,LOWER_UP`, state: l.type === 'vxlan' || moduleLinkType(l.type)?.noOperstate ? 'UNKNOWN' : 'UP', qdisc: 'noqueue' };
}

/**
 * How a namespace refers to another: by name when names are visible, else by a per-namespace id.
 * A host's own namespace is named on the host side: emu stands a named namespace in for it.
 */
function netnsRef(to: SimNetns, opts: RenderOptions, ids: Map<SimNetns, number>): string {
  if (!opts.inContainer && (opts.namesVisible || to.name === to.host.name)) return `link-netns ${to.name}`;
  return `link-netnsid ${nsid(to, ids)}`;
}

function nsid(to: SimNetns, ids: Map<SimNetns, number>): number {
  if (!ids.has(to)) ids.set(to, ids.size);
  return ids.get(to)!;
}

function linkHeader(l: SimLink, mode: boolean, opts: RenderOptions, ids: Map<SimNetns, number>): string[] {
  const f = flags(l);
  let name = l.name;
  let linkNetns = '';
  if (l.type === 'veth' && l.peer) {
    // A peer in the same namespace is named (ll_index_to_name); one elsewhere has only its index.
    if (l.peer.netns === l.netns) name += `@${l.peer.name}`;
    else {
      name += `@if${l.peer.ifindex}`;
      linkNetns = ' ' + netnsRef(l.peer.netns, opts, ids);
    }
  } else if (l.stacked) {
    // Its lower device: named when in the same namespace, else its index and namespace (macvlan_get_link_net, ipvlan's likewise).
    const lower = l.stacked.lower;
    if (lower.netns === l.netns) name += `@${lower.name}`;
    else {
      name += `@if${lower.ifindex}`;
      linkNetns = ' ' + netnsRef(lower.netns, opts, ids);
    }
  } else if (l.type === 'ipip') {
    // No underlying device (`dev`): iproute2 names the link NONE.
    name += '@NONE';
  } else if (l.type === 'vxlan' && l.vxlan && l.vxlan.linkNetns !== l.netns) {
    name += `@if${l.ifindex}`;
    linkNetns = ' ' + netnsRef(l.vxlan.linkNetns, opts, ids);
  }
  const upper = l.master ?? l.rxHandler?.upper;
  const master = upper ? ` master ${upper.name}` : '';
  const head = `${l.ifindex}: ${name}: <${f.flags}> mtu ${l.mtu} qdisc ${f.qdisc}${master} state ${f.state}${mode ? ' mode DEFAULT' : ''} group default${l.txqueuelen ? ` qlen ${l.txqueuelen}` : ' '}`;
  const ether = l.type === 'loopback' ? `    link/loopback ${l.mac} brd 00:00:00:00:00:00`
    : l.type === 'ipip' ? '    link/ipip 0.0.0.0 brd 0.0.0.0' : `    link/ether ${l.mac} brd ff:ff:ff:ff:ff:ff${linkNetns}`;
  return [head, ether];
}

/** TSO limits (include/linux/netdevice.h): a device's default, and the largest a bridge takes from its ports. */
const GSO_LEGACY_MAX_SIZE = 65536;
const TSO_MAX_SIZE = 524280;
/** The bridge's STP defaults in jiffies-free units: forward delay 15 s, FDB garbage collection every ageing time (300 s), first run 0.1 s after it comes up. */
const FORWARD_DELAY_NS = 15e9;
const AGEING_NS = 300e9;
const FIRST_GC_NS = 100e6;

function tsoMaxSize(l: SimLink): number {
  if (l.vxlan) {
    // vxlan_config_apply: a device tied to a lower one (flannel.1, vxlan.calico: `dev eth0`) inherits its TSO limit; Docker's vxlan0 has none.
    const lower = l.vxlan.dev === undefined ? undefined : l.vxlan.linkNetns.links.get(l.vxlan.dev);
    return lower ? tsoMaxSize(lower) : GSO_LEGACY_MAX_SIZE;
  }
  if (l.type !== 'bridge') return TSO_MAX_SIZE;
  // br_set_gso_limits runs only when ports come and go: a bridge that never had one keeps the device default.
  return l.portsChanged ? Math.min(TSO_MAX_SIZE, ...[...l.ports].map(tsoMaxSize)) : GSO_LEGACY_MAX_SIZE;
}

/** A bridge timer's remaining time as iproute2 prints it: clock ticks (1/100 s) as "%4i.%.2i". */
function timer(remainingNs: number): string {
  const cs = Math.max(0, Math.floor(remainingNs / 1e7));
  return `${String(Math.floor(cs / 100)).padStart(4)}.${String(cs % 100).padStart(2, '0')}`;
}

/** A bridge id as iproute2 prints it: priority 0x8000, then the MAC's bytes in hex without padding. */
function bridgeId(br: SimLink): string {
  return `8000.${br.mac.split(':').map((b) => parseInt(b, 16).toString(16)).join(':')}`;
}

/**
 * When the bridge's FDB garbage collection runs next (br_fdb_cleanup): 0.1 s after the bridge
 * comes up, then after the ageing time, or sooner when a learned entry expires sooner (at
 * least 10 ms apart). Each entry's last refresh stands for when it was learned.
 */
function gcTimer(br: SimLink, nowNs: number): number {
  if (!br.up) return 0;
  let next = br.upSinceNs + FIRST_GC_NS;
  const learned = [...br.fdb.values()].filter((e) => !e.local).map((e) => e.updatedNs);
  while (next <= nowNs) {
    const at = next;
    const expiries = learned.map((u) => u + AGEING_NS).filter((x) => x > at);
    next = at + Math.max(10e6, Math.min(AGEING_NS, ...expiries.map((x) => x - at)));
  }
  return next - nowNs;
}

/** When a port began forwarding (br_make_forwarding arms the forward-delay timer, STP or not): the last of the conditions for it to be enabled. */
function portEnabledSince(p: SimLink): number | undefined {
  const br = p.master!;
  if (!br.up || !p.carrier) return undefined;
  return Math.max(p.upSinceNs, p.enslavedNs, br.upSinceNs, p.type === 'veth' && p.peer ? p.peer.upSinceNs : 0);
}

/**
 * `ip -d link` as iproute2 6.1 prints it on this kernel: after the link-layer line the
 * generic attributes, then the kind's own line, the bridge port's line, and the device's
 * IPv6 address mode, queues and offload limits at the end of the last line.
 */
function withDetails(header: string[], l: SimLink, nowNs: number): string[] {
  const [head, ether] = header;
  // A bridge's port, or a datapath's vport (which the datapath makes promiscuous).
  const port = !!l.master || l.rxHandler?.upper !== undefined;
  const [minMtu, maxMtu] = l.type === 'loopback' || l.type === 'dummy' ? [0, 0] : [68, 65535];
  // A device without unicast filtering (a veth, the underlay's NIC) that must take its open macvlans' MACs goes promiscuous for them (__dev_set_rx_mode's uc_promisc).
  const promiscuous = port || (l.rxHandler?.ucPromisc() ?? false);
  const lines = [head, `${ether} promiscuity ${promiscuous ? 1 : 0}  allmulti ${port ? 1 : 0} minmtu ${minMtu} maxmtu ${maxMtu} `];
  if (l.vxlan) {
    const v = l.vxlan;
    const fl = [v.proxy && 'proxy', v.l2miss && 'l2miss', v.l3miss && 'l3miss', !v.learning && 'nolearning'].filter(Boolean).join(' ');
    const tie = `${v.local ? `local ${v.local} ` : ''}${v.dev ? `dev ${v.dev} ` : ''}`;
    // A datapath's vxlan vport: external, zero-checksum IPv6 accepted (VXLAN_F_UDP_ZERO_CSUM6_RX).
    if (v.external) lines.push(`    vxlan external id ${v.vni} srcport 0 0 dstport ${v.dstport} ${fl ? fl + ' ' : ''}ttl auto ageing ${v.ageing} udpcsum noudp6zerocsumtx udp6zerocsumrx `);
    else lines.push(`    vxlan id ${v.vni} ${tie}srcport 0 0 dstport ${v.dstport} ${fl ? fl + ' ' : ''}ttl auto ageing ${v.ageing} udpcsum noudp6zerocsumtx noudp6zerocsumrx `);
  } else if (l.type === 'ipip') {
    lines.push('    ipip any remote any local any ttl inherit nopmtudisc ');
  } else if (l.stacked) {
    lines.push(l.stacked.details());
  } else if (l.type === 'veth' || l.type === 'dummy' || moduleLinkType(l.type)) {
    lines.push(`    ${l.type} `);
  } else if (l.type === 'bridge') {
    const id = bridgeId(l);
    lines.push(`    bridge forward_delay 1500 hello_time 200 max_age 2000 ageing_time 30000 stp_state 0 priority 32768 vlan_filtering 0 bridge_id ${id} designated_root ${id} root_port 0 root_path_cost 0 topology_change 0 topology_change_detected 0 hello_timer ${timer(0)} tcn_timer ${timer(0)} topology_change_timer ${timer(0)} gc_timer ${timer(gcTimer(l, nowNs))} group_fwd_mask 0 group_address 01:80:c2:00:00:00 mcast_snooping 1 no_linklocal_learn 0 mcast_vlan_snooping 0 mcast_router 1 mcast_query_use_ifaddr 0 mcast_querier 0 mcast_hash_elasticity 16 mcast_hash_max 4096 mcast_last_member_count 2 mcast_startup_query_count 2 mcast_last_member_interval 100 mcast_membership_interval 26000 mcast_querier_interval 25500 mcast_query_interval 12500 mcast_query_response_interval 1000 mcast_startup_query_interval 3124 mcast_stats_enabled 0 mcast_igmp_version 2 mcast_mld_version 1 nf_call_iptables 0 nf_call_ip6tables 0 nf_call_arptables 0 `);
  }
  if (l.rxHandler?.slaveKind) lines.push(`    ${l.rxHandler.slaveKind}_slave `);
  if (l.master) {
    const id = bridgeId(l.master);
    const portId = 0x8000 | l.portNo;
    const since = portEnabledSince(l);
    const forwardDelay = since === undefined ? 0 : since + FORWARD_DELAY_NS - nowNs;
    lines.push(`    bridge_slave state ${l.carrier ? 'forwarding' : 'disabled'} priority 32 cost ${portCost(l)} hairpin off guard off root_block off fastleave off learning on flood on port_id 0x${portId.toString(16)} port_no 0x${l.portNo.toString(16)} designated_port ${portId} designated_cost 0 designated_bridge ${id} designated_root ${id} hold_timer ${timer(0)} message_age_timer ${timer(0)} forward_delay_timer ${timer(forwardDelay)} topology_change_ack 0 config_pending 0 proxy_arp off proxy_arp_wifi off mcast_router 1 mcast_fast_leave off mcast_flood on bcast_flood on mcast_to_unicast off neigh_suppress off group_fwd_mask 0 group_fwd_mask_str 0x0 vlan_tunnel off isolated off locked off `);
  }
  const queues = txQueues(l);
  lines[lines.length - 1] += `addrgenmode eui64 numtxqueues ${queues} numrxqueues ${queues} gso_max_size 65536 gso_max_segs 65535 tso_max_size ${tsoMaxSize(l)} tso_max_segs 65535 gro_max_size 65536 `;
  return lines;
}

/** The broadcast address `ip addr` shows for an address: its broadcast route's (ifaddrBroadcast), none for a /31 or /32. */
function brdOf(a: { ip: string; prefixLength: number }): string | undefined {
  const b = ifaddrBroadcast(ipv4ToNumber(a.ip), a.prefixLength);
  return b === undefined ? undefined : numberToIpv4(b);
}

/** ifconfig's Bcast: the address's prefix's last address, printed for every prefix length. */
export function broadcast(ip: string, prefixLength: number): string {
  return numberToIpv4((ipv4ToNumber(ip) | ~maskOf(prefixLength)) >>> 0);
}

/** An IPv6 address as iproute2 prints it: groups without leading zeros, the longest run of zero groups (two or more) as `::`. */
export function ipv6String(groups: number[]): string {
  let best = -1, bestLen = 1;
  for (let i = 0; i < groups.length; ) {
    let j = i;
    while (j < groups.length && groups[j] === 0) j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j > i ? j : i + 1;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

/** The link-local address the kernel derives from a MAC (EUI-64: the universal/local bit flipped, ff:fe in the middle). */
export function linkLocalOf(mac: string): string {
  const b = mac.split(':').map((x) => parseInt(x, 16));
  const eui = [b[0] ^ 2, b[1], b[2], 0xff, 0xfe, b[3], b[4], b[5]];
  return ipv6String([0xfe80, 0, 0, 0, (eui[0] << 8) | eui[1], (eui[2] << 8) | eui[3], (eui[4] << 8) | eui[5], (eui[6] << 8) | eui[7]]);
}

/**
 * The device's IPv6 addresses, where its namespace has IPv6 (a host's; Docker switches it
 * off in its own): `::1` on lo, and on a device up with carrier the link-local one.
 */
export function ipv6Addrs(l: SimLink): { ip: string; prefixLength: number; scope: 'host' | 'link' }[] {
  const off = l.netns.ipv6Disabled;
  if (off.all || off.default || !l.up) return [];
  if (l.type === 'loopback') return [{ ip: '::1', prefixLength: 128, scope: 'host' }];
  // addrconf_dev_config makes link-local addresses for Ethernet-like devices only, not an ipip tunnel's.
  if (l.type === 'ipip') return [];
  return hasCarrier(l) ? [{ ip: linkLocalOf(l.mac), prefixLength: 64, scope: 'link' }] : [];
}

export function addrLines(l: SimLink, inet6: { ip: string; prefixLength: number; scope: string }[]): string[] {
  return [
    ...l.addrs.flatMap((a) => {
      const brd = brdOf(a);
      return [
        l.type === 'loopback'
          ? `    inet ${a.ip}/${a.prefixLength} scope host ${l.name}`
          : `    inet ${a.ip}/${a.prefixLength}${brd !== undefined ? ` brd ${brd}` : ''} scope global ${l.name}`,
        '       valid_lft forever preferred_lft forever',
      ];
    }),
    ...inet6.flatMap((a) => [`    inet6 ${a.ip}/${a.prefixLength} scope ${a.scope} `, '       valid_lft forever preferred_lft forever']),
  ];
}

/**
 * The words after ip address's or ip link's listing verb: none at all lists, or list, show or
 * lst (as the object's table selects it: `ip link s` is set, not show) then the device; any
 * other word is no verb of do_ipaddr's or do_iplink's (iproute2 6.1), so `ip addr eth0` and
 * `ip link dev eth0` are refused, exit 255.
 */
function listingArgs(args: string[], object: 'address' | 'link'): string[] | Output {
  if (args.length === 0) return args;
  if (LISTING_VERBS.includes(selectWord(IP_VERBS[object], args[0]) ?? '')) return args.slice(1);
  return err(`Command "${args[0]}" is unknown, try "ip ${object} help".\n`, 255);
}

function selectLinks(ns: SimNetns, args: string[]): SimLink[] | Output {
  const rest = args.filter((a) => a !== 'show' && a !== 'list' && a !== 'dev');
  if (rest.length === 0) return sortedLinks(ns);
  const l = ns.links.get(rest[0]);
  if (!l) return err(`Device "${rest[0]}" does not exist.\n`, 1);
  return [l];
}

export function networkOf(a: { ip: string; prefixLength: number }): string {
  return `${numberToIpv4((ipv4ToNumber(a.ip) & maskOf(a.prefixLength)) >>> 0)}/${a.prefixLength}`;
}

/** Kernel routes for up links' addresses, then the static ones, as `ip route` orders them. */
export function routeLines(ns: SimNetns): string[] {
  const lines: string[] = [];
  for (const r of ns.routes.filter((x) => x.dst === 'default')) lines.push(staticRouteLine(r, ns));
  const connected: [number, number, string][] = [];
  for (const l of sortedLinks(ns)) {
    if (l.type === 'loopback' || !l.up) continue;
    for (const a of prefixRouted(l)) connected.push([ipv4ToNumber(a.ip) & maskOf(a.prefixLength), a.prefixLength, `${networkOf(a)} dev ${l.name} proto kernel scope link src ${a.ip} ${hasCarrier(l) ? '' : 'linkdown '}`]);
  }
  for (const r of ns.routes.filter((x) => x.dst !== 'default')) {
    const p = routePrefix(r);
    connected.push([p.base, p.prefixLength, staticRouteLine(r, ns)]);
  }
  connected.sort(fibOrder);
  return [...lines, ...connected.map(([, , s]) => s)];
}

/** A device's addresses that make a prefix route: all but /32s (fib_add_ifaddr). */
function prefixRouted(l: SimLink): SimLink['addrs'] {
  return l.addrs.filter((a) => addsPrefixRoute(l, a.prefixLength));
}

/** The FIB's dump order: by destination, and at one destination the longer prefix first (a trie leaf's aliases). */
function fibOrder(a: [number, number, unknown], b: [number, number, unknown]): number {
  return (a[0] >>> 0) - (b[0] >>> 0) || b[1] - a[1];
}

/** A host route's destination without its /32, as iproute2 prints one. */
function routeDst(r: Route): string {
  return r.dst.endsWith('/32') ? r.dst.slice(0, -3) : r.dst;
}

/** iproute2's print_route order: type, destination, gateway, device, protocol, scope, then flags (linkdown: the device has no carrier, RTNH_F_LINKDOWN). */
function staticRouteLine(r: Route, ns: SimNetns): string {
  const dev = r.dev ? ns.links.get(r.dev) : undefined;
  const words = [...(r.blackhole ? ['blackhole'] : []), routeDst(r), ...(r.via ? ['via', r.via] : []), ...(r.dev ? ['dev', r.dev] : []),
    ...(r.proto ? ['proto', r.proto] : []), ...(r.scope ? ['scope', r.scope] : []), ...(r.onlink ? ['onlink'] : []), ...(dev && !hasCarrier(dev) ? ['linkdown'] : [])];
  return words.join(' ') + ' ';
}

/** The same route as `ip -j route` gives it. */
function staticRouteJson(r: Route, ns: SimNetns): Record<string, unknown> {
  const dev = r.dev ? ns.links.get(r.dev) : undefined;
  return {
    ...(r.blackhole ? { type: 'blackhole' } : {}), dst: routeDst(r), ...(r.via ? { gateway: r.via } : {}), ...(r.dev ? { dev: r.dev } : {}),
    ...(r.proto ? { protocol: r.proto } : {}), ...(r.scope ? { scope: r.scope } : {}), flags: [...(r.onlink ? ['onlink'] : []), ...(dev && !hasCarrier(dev) ? ['linkdown'] : [])],
  };
}

/** `ip …` in `ns`; `kernel` takes what `ip link add|del` asks of it. */
export function ipCommand(ns: SimNetns, argv: string[], opts: RenderOptions, kernel?: LinkRequests): Output {
  let detail = false;
  let json = false;
  let stats = false;
  let inet4Only = false;
  let i = 0;
  for (; i < argv.length && argv[i].startsWith('-'); i++) {
    const o = argv[i];
    if (o === '-d' || o === '-details') detail = true;
    else if (o === '-j' || o === '-json') json = true;
    else if (o === '-s' || o === '-stats' || o === '-statistics') stats = true;
    else if (o === '-4') inet4Only = true;
    else return err(`Option "${o}" is unknown, try "ip -help".\n`, 255);
  }
  if (ipJsonWithDetails(argv.slice(0, i))) return unmodelledWords('cnmlab: ip -j -d is not modelled (ip -j and ip -d are)\n');
  const [typedObject, ...args] = argv.slice(i);
  const ids = new Map<SimNetns, number>();
  const now = opts.nowNs ?? 0;
  // The object and its verb as ip's tables select them (iproute2-words.ts).
  const object = selectWord(IP_OBJECTS, typedObject);
  const verb = object === undefined || IP_VERBS[object] === undefined ? undefined : selectWord(IP_VERBS[object], args[0]);
  if (object === 'help') return err(IP_USAGE, 255);
  if (verb === 'help') return err(object === 'address' ? IP_ADDRESS_USAGE : object === 'link' ? IP_LINK_USAGE : object === 'route' ? IP_ROUTE_USAGE : IP_NEIGH_USAGE, 255);
  if (object === 'address') {
    const listed = listingArgs(args, 'address');
    if (!Array.isArray(listed)) return listed;
    const selected = selectLinks(ns, listed);
    if (!Array.isArray(selected)) return selected;
    // -4: only IPv4 addresses, and only the devices that have one.
    const links = inet4Only ? selected.filter((l) => l.addrs.length > 0) : selected;
    const v6 = (l: SimLink) => (inet4Only ? [] : ipv6Addrs(l));
    if (json) {
      return jsonOut(links.map((l) => ({
        ...linkJson(l, false, stats, ids),
        addr_info: [...l.addrs.map((a) => addrJson(l, a)), ...v6(l).map((a) => ({ family: 'inet6', local: a.ip, prefixlen: a.prefixLength, scope: a.scope, valid_life_time: INFINITY_LIFE_TIME, preferred_life_time: INFINITY_LIFE_TIME }))],
      })));
    }
    // A family filter leaves out the link-layer line too.
    const header = (l: SimLink) => (inet4Only ? linkHeader(l, false, opts, ids).slice(0, 1) : detail ? withDetails(linkHeader(l, false, opts, ids), l, now) : linkHeader(l, false, opts, ids));
    return out(links.flatMap((l) => [...header(l), ...addrLines(l, v6(l)), ...(stats ? statsLines(l) : [])]).join('\n') + '\n');
  }
  if (object === 'link') {
    // do_iplink reads change as set (both iplink_modify with RTM_NEWLINK and no flags).
    if (verb === 'set' || verb === 'change') return linkSet(ns, args.slice(1), opts.netAdmin !== false);
    if (verb === 'add' || verb === 'delete') {
      if (!kernel) throw new Error(`ip link ${verb}: ipCommand was given no kernel to ask`);
      return verb === 'add' ? linkAdd(ns, args.slice(1), kernel, opts.netAdmin !== false) : linkDel(ns, args.slice(1), kernel, opts.netAdmin !== false);
    }
    const listed = listingArgs(args, 'link');
    if (!Array.isArray(listed)) return listed;
    const links = selectLinks(ns, listed);
    if (!Array.isArray(links)) return links;
    if (json) return jsonOut(links.map((l) => linkJson(l, true, stats, ids)));
    return out(links.flatMap((l) => [...(detail ? withDetails(linkHeader(l, true, opts, ids), l, now) : linkHeader(l, true, opts, ids)), ...(stats ? statsLines(l) : [])]).join('\n') + '\n');
  }
  if (object === 'route') {
    if (verb === 'get') return routeGet(ns, args.slice(1), json, opts.nowNs ?? 0);
    if (verb === 'add') return routeModify(ns, 'add', args.slice(1), opts.netAdmin !== false);
    if (verb === 'delete') return routeModify(ns, 'del', args.slice(1), opts.netAdmin !== false);
    if (json) return jsonOut(routeJson(ns));
    const lines = routeLines(ns);
    return out(lines.length ? lines.join('\n') + '\n' : '');
  }
  if (object === 'neighbour' || object === 'neighbor') {
    if (json) return jsonOut([...ns.neigh.values()].map((n) => ({ dst: n.ip, dev: n.dev, ...(n.mac === undefined ? {} : { lladdr: n.mac }), state: [n.state] })));
    const lines = [...ns.neigh.values()].map((n) => (n.mac === undefined ? `${n.ip} dev ${n.dev} ${n.state} ` : `${n.ip} dev ${n.dev} lladdr ${n.mac} ${n.state} `));
    return out(lines.length ? lines.join('\n') + '\n' : '');
  }
  return err(`Object "${typedObject ?? ''}" is unknown, try "ip help".\n`, 1);
}

/**
 * `ip link set [dev] DEV [up|down] [mtu N] [address MAC]`: iplink's argument checks and
 * the kernel's answers, then the change. Later words win (`up down` leaves it down), as
 * iproute2 sends one request with the last of each; `netAdmin`: whether ip holds CAP_NET_ADMIN.
 */
/** A device's MTU as a user sets it (dev_set_mtu): a bridge keeps it from then, a port's bridge follows its ports' (br_mtu_auto_adjust). */
export function setMtuAsAsked(dev: SimLink, mtu: number): void {
  devSetMtu(dev, mtu);
  if (dev.type === 'bridge') dev.mtuSetByUser = true;
  else if (dev.master) brMtuAutoAdjust(dev.master);
}

function linkSet(ns: SimNetns, argv: string[], netAdmin: boolean): Output {
  let name: string | undefined;
  let state: 'up' | 'down' | undefined;
  let mtu: number | undefined;
  let mac: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const w = argv[i];
    const value = (): string | undefined => argv[++i];
    if (w === 'up' || w === 'down') state = w;
    else if (w === 'mtu') {
      const v = value();
      if (v === undefined) return err(INCOMPLETE, 255);
      mtu = integer(v);
      if (mtu === undefined) return err(`Error: argument "${v}" is wrong: Invalid "mtu" value\n\n`, 255);
    } else if (w === 'address') {
      const v = value();
      if (v === undefined) return err(INCOMPLETE, 255);
      const bytes = v.split(':');
      if (!bytes.every((b) => /^[0-9a-f]{1,2}$/i.test(b))) return err(`"${v}" is invalid lladdr.\n`, 1);
      if (bytes.length !== 6) return err(`Invalid address length ${bytes.length} - must be 6 bytes\n`, 1);
      mac = bytes.map((b) => b.toLowerCase().padStart(2, '0')).join(':');
    } else if (w === 'dev' || name === undefined) {
      const v = w === 'dev' ? value() : w;
      if (v === undefined) return err(INCOMPLETE, 255);
      if (name !== undefined) return err(`Error: either "dev" is duplicate, or "${v}" is a garbage.\n`, 255);
      name = v;
    } else if (LINK_SET_NOT_MODELLED.includes(w)) {
      return unmodelledWords(`cnmlab: ip link set … ${w}: not modelled (up, down, mtu and address are)\n`);
    } else return err(`Error: either "dev" is duplicate, or "${w}" is a garbage.\n`, 255);
  }
  if (name === undefined) return err('Not enough information: "dev" argument is required.\n', 255);
  const dev = ns.links.get(name);
  if (!dev) return err(`Cannot find device "${name}"\n`, 1);
  if (!netAdmin) return NOT_PERMITTED();
  if (mtu !== undefined) {
    const { min, max } = mtuRange(dev);
    if (mtu < min) return err('Error: mtu less than device minimum.\n', 2);
    if (mtu > max) return err('Error: mtu greater than device maximum.\n', 2);
  }
  // The kernel refuses a multicast (or broadcast) address: the first octet's low bit (is_valid_ether_addr).
  if (mac !== undefined && (parseInt(mac.slice(0, 2), 16) & 1 || mac === '00:00:00:00:00:00')) return err('RTNETLINK answers: Cannot assign requested address\n', 2);
  if (mac !== undefined) devSetMac(dev, mac);
  if (mtu !== undefined) setMtuAsAsked(dev, mtu);
  if (state === 'up') devOpen(dev);
  else if (state === 'down') devClose(dev);
  return out('');
}

/** `ip route get ADDR`: the route the kernel resolves for one destination, as iproute2 prints it. */
function routeGet(ns: SimNetns, args: string[], json: boolean, nowNs: number): Output {
  const dst = args.find((a) => a !== 'to');
  if (dst === undefined) return err('need at least a destination address\n', 1);
  if (!isIpv4(dst)) return err(`Error: any valid prefix is expected rather than "${dst}".\n`, 1);
  const r = route(ns, dst);
  if (!r) return err('RTNETLINK answers: Network is unreachable\n', 2);
  // The route's type unless unicast, and the dst entry's flags: a broadcast is RTCF_BROADCAST and RTCF_LOCAL, whatever its device.
  const type = r.broadcast ? 'broadcast' : r.local ? 'local' : undefined;
  const cacheFlags = r.broadcast ? ['local', 'brd'] : r.local ? ['local'] : [];
  if (json) {
    return jsonOut([{ ...(type ? { type } : {}), dst, ...(r.via ? { gateway: r.via } : {}), dev: r.dev.name, prefsrc: r.src, flags: [], uid: 0, cache: cacheFlags }]);
  }
  if (type) return out(`${type} ${dst} dev ${r.dev.name} src ${r.src} uid 0 \n    cache <${cacheFlags.join(',')}> \n`);
  // A learned path MTU shows with its remaining lifetime, in whole seconds as iproute2 divides the kernel's clock ticks.
  const e = pmtuException(ns, dst, nowNs);
  const cache = e ? `cache expires ${Math.max(0, Math.floor((e.expiresNs - nowNs) / 1e9))}sec mtu ${e.mtu} ` : 'cache ';
  return out(`${dst}${r.via ? ` via ${r.via}` : ''} dev ${r.dev.name} src ${r.src} uid 0 \n    ${cache}\n`);
}

/** iproute2 prints JSON on one line, then a newline. */
function jsonOut(value: unknown): Output {
  return out(JSON.stringify(value) + '\n');
}

/** The fields of `ip -j link` (and the link part of `ip -j addr`, which has no linkmode), in iproute2's order. */
function linkJson(l: SimLink, mode: boolean, stats: boolean, ids: Map<SimNetns, number>): Record<string, unknown> {
  const f = flags(l);
  const lower = l.stacked?.lower;
  const crossNetns = l.type === 'veth' && l.peer ? l.peer.netns !== l.netns : lower ? lower.netns !== l.netns : !!l.vxlan && l.vxlan.linkNetns !== l.netns;
  const linked = l.type === 'veth' && l.peer ? { link_index: l.peer.ifindex } : lower ? { link_index: lower.ifindex } : crossNetns ? { link_index: l.ifindex } : {};
  const other = l.type === 'veth' && l.peer ? l.peer.netns : lower ? lower.netns : l.vxlan?.linkNetns;
  return {
    ifindex: l.ifindex, ...linked, ifname: l.name, flags: f.flags.split(','), mtu: l.mtu, qdisc: f.qdisc, ...(l.master ? { master: l.master.name } : {}),
    operstate: f.state, ...(mode ? { linkmode: 'DEFAULT' } : {}), group: 'default', txqlen: l.txqueuelen,
    link_type: l.type === 'loopback' ? 'loopback' : l.type === 'ipip' ? 'ipip' : 'ether', address: l.type === 'ipip' ? '0.0.0.0' : l.mac,
    broadcast: l.type === 'loopback' ? '00:00:00:00:00:00' : l.type === 'ipip' ? '0.0.0.0' : 'ff:ff:ff:ff:ff:ff',
    ...(crossNetns && other ? { link_netnsid: nsid(other, ids) } : {}),
    ...(stats ? { stats64: {
      rx: { bytes: l.rxBytes, packets: l.rxPackets, errors: 0, dropped: 0, over_errors: 0, multicast: 0 },
      tx: { bytes: l.txBytes, packets: l.txPackets, errors: 0, dropped: 0, carrier_errors: 0, collisions: 0 },
    } } : {}),
  };
}

/** iproute2 prints "forever" lifetimes as the kernel's INFINITY_LIFE_TIME in JSON. */
const INFINITY_LIFE_TIME = 4294967295;

function addrJson(l: SimLink, a: { ip: string; prefixLength: number }): Record<string, unknown> {
  const loopback = l.type === 'loopback';
  const brd = loopback ? undefined : brdOf(a);
  return {
    family: 'inet', local: a.ip, prefixlen: a.prefixLength, ...(brd !== undefined ? { broadcast: brd } : {}),
    scope: loopback ? 'host' : 'global', label: l.name, valid_life_time: INFINITY_LIFE_TIME, preferred_life_time: INFINITY_LIFE_TIME,
  };
}

/** `ip -j route`: the same routes as routeLines, in the same order. */
function routeJson(ns: SimNetns): Record<string, unknown>[] {
  const routes: Record<string, unknown>[] = [];
  for (const r of ns.routes.filter((x) => x.dst === 'default')) routes.push(staticRouteJson(r, ns));
  const connected: [number, number, Record<string, unknown>][] = [];
  for (const l of sortedLinks(ns)) {
    if (l.type === 'loopback' || !l.up) continue;
    for (const a of prefixRouted(l)) connected.push([ipv4ToNumber(a.ip) & maskOf(a.prefixLength), a.prefixLength, { dst: networkOf(a), dev: l.name, protocol: 'kernel', scope: 'link', prefsrc: a.ip, flags: hasCarrier(l) ? [] : ['linkdown'] }]);
  }
  for (const r of ns.routes.filter((x) => x.dst !== 'default')) {
    const p = routePrefix(r);
    connected.push([p.base, p.prefixLength, staticRouteJson(r, ns)]);
  }
  connected.sort(fibOrder);
  return [...routes, ...connected.map(([, , r]) => r)];
}

/** `ip -s`: the device's counters, in columns as wide as their widest entry (header or number). */
function statsLines(l: SimLink): string[] {
  const table = (dir: string, names: string[], values: number[]): string[] => {
    const widths = names.map((n, i) => Math.max(n.length, String(values[i]).length));
    const head = `    ${dir}: ${names.map((n, i) => n.padStart(widths[i])).join(' ')}           `;
    const row = `    ${values.map((v, i) => String(v).padStart(widths[i] + (i === 0 ? 4 : 0))).join(' ')} `;
    return [head, row];
  };
  const s = l;
  return [
    ...table('RX', [' bytes', 'packets', 'errors', 'dropped', ' missed', '  mcast'], [s.rxBytes, s.rxPackets, 0, 0, 0, 0]),
    ...table('TX', [' bytes', 'packets', 'errors', 'dropped', 'carrier', 'collsns'], [s.txBytes, s.txPackets, 0, 0, 0, 0]),
  ];
}

/** `bridge link`: the ports of the namespace's bridges. */
function bridgeLink(ns: SimNetns, args: string[]): Output {
  const rest = args.filter((a) => a !== 'dev');
  if (rest.length && !ns.links.has(rest[0])) return err(`Cannot find device "${rest[0]}"\n`, 1);
  // bridge(8) names the linked device (IFLA_LINK) by looking its index up in this namespace:
  // a veth's peer index may name a local device that has nothing to do with it (veth0@vxlan0),
  // or none (veth0@if7); a vxlan device links to itself and shows no `@`.
  const named = (index: number) => ns.linkByIndex(index)?.name ?? `if${index}`;
  const lines = sortedLinks(ns).filter((l) => l.master && (!rest.length || l.name === rest[0])).map((l) => {
    const f = flags(l);
    const name = l.type === 'veth' && l.peer ? `${l.name}@${named(l.peer.ifindex)}` : l.name;
    return `${l.ifindex}: ${name}: <${f.flags}> mtu ${l.mtu} master ${l.master!.name} state ${l.carrier ? 'forwarding' : 'disabled'} priority 32 cost ${portCost(l)} `;
  });
  return out(lines.length ? lines.join('\n') + '\n' : '');
}

/**
 * The multicast addresses an Ethernet device up has joined, as `bridge fdb` lists them
 * (`self permanent`): all-nodes and all-hosts; a bridge also the multicast-router groups its
 * snooping joins; with a link-local IPv6 address, its solicited-node group. A vxlan device
 * lists its own table instead.
 */
function multicastSelf(l: SimLink): string[] {
  if (l.type === 'loopback' || l.type === 'vxlan' || !l.up) return [];
  const groups = l.type === 'bridge' ? ['33:33:00:00:00:01', '01:00:5e:00:00:6a', '33:33:00:00:00:6a', '01:00:5e:00:00:01'] : ['33:33:00:00:00:01', '01:00:5e:00:00:01'];
  if (ipv6Addrs(l).some((a) => a.scope === 'link')) groups.push(`33:33:ff:${l.mac.split(':').slice(3).join(':')}`);
  return groups;
}

export function bridgeCommand(ns: SimNetns, argv: string[], opts: RenderOptions): Output {
  const [typedObject, ...args] = argv;
  // The object and its verb as bridge's tables select them (iproute2-words.ts); no verb lists.
  const object = selectWord(BRIDGE_OBJECTS, typedObject);
  const verbs = object === undefined ? undefined : BRIDGE_VERBS[object];
  if (verbs === undefined) return err(`Object "${typedObject ?? ''}" is unknown, try "bridge help".\n`, 255);
  const verb = args.length ? selectWord(verbs, args[0]) : 'show';
  if (verb === 'help') return err(object === 'fdb' ? BRIDGE_FDB_USAGE : BRIDGE_LINK_USAGE, 255);
  if (verb === undefined || !LISTING_VERBS.includes(verb)) return err(`Command "${args[0]}" is unknown, try "bridge ${object} help".\n`, 255);
  const rest = args.slice(1);
  if (object === 'link') return bridgeLink(ns, rest);
  const devFilter = rest[0] === 'dev' ? rest[1] : rest[0];
  const ids = new Map<SimNetns, number>();
  const lines: string[] = [];
  // Filtered by device, bridge(8) leaves the device out of each line.
  const dev = (l: SimLink) => (devFilter ? '' : ` dev ${l.name}`);
  if (devFilter && !ns.links.has(devFilter)) return err(`Cannot find device "${devFilter}"\n`, 1);
  for (const l of sortedLinks(ns)) {
    if (devFilter && l.name !== devFilter) continue;
    // Within a device the kernel dumps the newest entry first: each table adds an entry at its
    // list's head (br_fdb's fdb_create, vxlan's vxlan_fdb_create), and an entry updated in place
    // keeps its place, as the tables' Maps keep theirs.
    if (l.master) {
      // bridge(8) ends a learned entry's line with the space before its (empty) state.
      const own = [...l.master.fdb].filter(([, e]) => e.port === l).reverse();
      for (const [mac, e] of own) lines.push(`${mac}${dev(l)} master ${l.master.name}${e.local ? ' permanent' : ' '}`);
    }
    for (const group of multicastSelf(l)) lines.push(`${group}${dev(l)} self permanent`);
    // A bridge given its own address keeps it as a local entry of its own.
    if (l.type === 'bridge' && l.explicitMac) lines.push(`${l.mac}${dev(l)} master ${l.name} permanent`);
    if (l.vxlan) {
      for (const [mac, e] of [...l.vxlan.fdb].reverse()) {
        // bridge(8) always prints the numeric id of the socket's namespace.
        const ref = l.vxlan.linkNetns !== l.netns ? ` link-netnsid ${nsid(l.vxlan.linkNetns, ids)}` : '';
        lines.push(`${mac}${dev(l)} dst ${e.dst}${ref} self${e.permanent ? ' permanent' : ''}`);
      }
    }
  }
  return out(lines.length ? lines.join('\n') + '\n' : '');
}
