/**
 * The simulated kernel's objects, each standing for what Linux has: a network namespace
 * with its links, routes and neighbour table; veth pairs; a learning bridge; a vxlan device
 * with its own FDB and UDP socket; the host's underlay interface.
 */
import type { NetDeviceOps } from './net/dev';
import type { NetnsTables } from './net/ipv4/netfilter/ip_tables';
import type { ListeningSocket, PeerEntry, VxlanAttrs } from '../plan/ops';
import type { HopSite } from './hop';
import type { MissWatch } from './watchmiss';
import type { Qdisc } from './net/sched/sch_generic';
import type { Datapath } from './datapath';
import type { Skb } from './net/skb';
import type { StackedType } from '../plan/links';
import { ipv4ToNumber } from '../wire/addr';

/** A plan op the kernel cannot carry out: the model asked for something the kernel refuses or does not model. */
export class KernelError extends Error {}

/**
 * Bumped on every change of links, addresses, routes or tables, so the datapath may cache
 * what it derives from them (routes, a bridge's MAC, a namespace's role) per generation.
 */
let generation = 0;

export function topologyChanged(): void {
  generation++;
}

export function topologyGeneration(): number {
  return generation;
}

/**
 * Bumped on every change of any namespace's neighbour table (an entry set, added or
 * deleted, a device's entries dropped, a peer feed's entries given or taken in), so a route
 * may keep the entry its next hop was last found as (ResolvedRoute.neigh) instead of
 * looking it up by device name and address for every datagram. An entry changed in place
 * (its state, its address) is the same object, read anew by each use.
 */
let neighGeneration = 0;

export function neighbourChanged(): void {
  neighGeneration++;
}

export function neighbourGeneration(): number {
  return neighGeneration;
}

/** A value derived from the topology, recomputed after any change. */
export class Derived<T> {
  private gen = -1;
  private value!: T;

  constructor(private readonly compute: () => T) {}

  get(): T {
    if (this.gen !== generation) {
      this.value = this.compute();
      this.gen = generation;
    }
    return this.value;
  }
}

/**
 * A device made on a lower one (IFLA_LINK: a macvlan, an ipvlan), as its kind's module keeps
 * it: the generic code asks only for the lower and the kind's `ip -d` line.
 */
export interface StackedDev {
  readonly lower: SimLink;
  /** IFF_NOARP: the device resolves no neighbours (its next hop's address is its own) and answers no ARP (an ipvlan in l3 mode). */
  readonly noArp?: boolean;
  /** The kind's own line of `ip -d link` (rtnl_link_ops' fill_info). */
  details(): string;
  /** The device leaves its lower's port (the kind's uninit); the port goes with its last device. */
  unlink(dev: SimLink): void;
}

/** A group frame that one or more of a port's devices take (each gets a copy). */
export const GROUP_CLAIMED = 'group';
/** What a port's lookup found for a frame: the device it is for, GROUP_CLAIMED, or nothing. */
export type RxClaim = SimLink | typeof GROUP_CLAIMED | undefined;

/** The tunnel a frame came in by, as a device in collect-metadata mode hands it on (ip_tunnel_info). */
export interface TunnelKey {
  id: number;
  src: string;
  dst: string;
}

/**
 * A device's rx_handler and its data (netdev_rx_handler_register): whatever sits on the
 * device takes its frames before its own stack does. Bridges' ports aside (`master`), it is
 * each module's own: an Open vSwitch vport, a user-space program's capture socket, the port
 * of the devices stacked on a lower one (macvlan_port, ipvl_port). A device has one; a
 * second is EBUSY.
 */
export interface RxHandler {
  /**
   * A frame the device received, after its RX counters; `tunnel` is what a device in
   * collect-metadata mode read off the outer headers. True when the handler consumed it
   * (RX_HANDLER_CONSUMED), false when the device's own stack gets it too (RX_HANDLER_PASS).
   */
  rx(dp: Datapath, dev: SimLink, skb: Skb, tunnel?: TunnelKey): boolean;
  /** It takes every frame the device receives (a vport, a capture socket): a frame sent there is taken whatever its address. */
  readonly takesAll: boolean;
  /** The device the handler links this one under (netdev_master_upper_dev_link: a vport's datapath), for `ip link`'s `master`. */
  readonly upper?: SimLink;
  /** The kind `ip -d link` prints as `KIND_slave` for a device linked under `upper` (the upper's rtnl slave ops). */
  readonly slaveKind?: string;
  /** The devices stacked on this one, deleted with it (NETDEV_UNREGISTER). */
  readonly uppers?: ReadonlySet<SimLink>;
  /** Whether the device must take frames for addresses it has no filter for (__dev_set_rx_mode's uc_promisc). */
  ucPromisc(): boolean;
}

/** A tunnel socket's encap_rcv: the datagram whose UDP header starts at `l4` and ends at `end`, arrived on `dev`. */
export type UdpEncapRcv = (dp: Datapath, dev: SimLink, skb: Skb, l4: number, end: number) => void;

/** Device types a module registers with its transmit (net/rtnetlink.ts), each added here by its module by merging. */
export interface RegisteredLinkTypes {}
export type ModuleLinkType = keyof RegisteredLinkTypes;

export type LinkType = 'loopback' | 'veth' | 'bridge' | 'vxlan' | 'underlay' | 'dummy' | 'ipip' | ModuleLinkType | StackedType;

export interface Address {
  ip: string;
  prefixLength: number;
}

export interface Route {
  /** 'default' or a.b.c.d/n */
  dst: string;
  via?: string;
  /** Empty for a blackhole route. */
  dev: string;
  /** RTN_BLACKHOLE: what it matches is discarded. */
  blackhole?: true;
  /** The routing protocol that installed it, when not the administrator (`proto NAME`, a routing daemon's). */
  proto?: string;
  scope?: 'link';
  /** RTNH_F_ONLINK: the gateway is taken as on the device's link though no address of it covers the gateway. */
  onlink?: boolean;
}

/** Linux's NUD states (include/net/neighbour.h), as `ip neigh` names them. */
export type NeighState = 'PERMANENT' | 'INCOMPLETE' | 'REACHABLE' | 'STALE' | 'DELAY' | 'PROBE' | 'FAILED';

export interface Neigh {
  ip: string;
  dev: string;
  mac?: string;
  state: NeighState;
}

export interface BridgeFdbEntry {
  port: SimLink;
  /** The bridge's own ports' addresses, never aged. */
  local: boolean;
  updatedNs: number;
}

export interface VxlanFdbEntry {
  dst: string;
  permanent: boolean;
  /** Learned entries: when the device last saw the MAC (they age out after the device's ageing). */
  updatedNs?: number;
}

/**
 * A Map that takes bulk additions cheaply. A swarm's peer tables get two million static
 * entries spread over two thousand tables, one entry per table at a time; hashing each into
 * its table touches cold memory (about 3x the cost of filling one table in order). Additions
 * are logged and hashed in order when the table is next read; reads see the same entries,
 * in the same order, as if each had been set at once.
 */
export class LoggedMap<K, V> {
  private readonly map = new Map<K, V>();
  /** Key, value, key, value …: one array, so an addition touches one place in memory. */
  private log: (K | V)[] = [];
  /** Entries set elsewhere for this table, taken in when it is next read or changed (a peer feed's). */
  private upstream?: Upstream<K, V>;

  /** The same as set, deferred until the next read. */
  add(key: K, value: V): void {
    // With an upstream, what it holds came first: an addition goes after it.
    if (this.upstream) this.set(key, value);
    else this.log.push(key, value);
  }

  /** From now on the table also holds what `upstream` gives it, in its order. */
  follow(upstream: Upstream<K, V>): void {
    this.unfollow();
    this.upstream = upstream;
  }

  /** Takes in what the upstream has given so far, and no more after. */
  unfollow(): void {
    if (!this.upstream) return;
    void this.indexed;
    this.upstream = undefined;
  }

  private get indexed(): Map<K, V> {
    if (this.log.length > 0) {
      const log = this.log;
      this.log = [];
      for (let i = 0; i < log.length; i += 2) this.map.set(log[i] as K, log[i + 1] as V);
    }
    this.upstream?.drain(this.map);
    return this.map;
  }

  get(key: K): V | undefined {
    return this.indexed.get(key);
  }

  set(key: K, value: V): void {
    this.indexed.set(key, value);
  }

  delete(key: K): boolean {
    return this.indexed.delete(key);
  }

  values(): IterableIterator<V> {
    return this.indexed.values();
  }

  [Symbol.iterator](): IterableIterator<[K, V]> {
    return this.indexed[Symbol.iterator]();
  }
}

/** What a table takes in from elsewhere: `drain` sets into it what came since it last drained. */
export interface Upstream<K, V> {
  drain(into: Map<K, V>): void;
}

/** How a peers op's entries become table entries (the kernel shares equal ones between hosts). */
export interface PeerEntryMaker {
  neigh(p: PeerEntry): Neigh;
  fdb(p: PeerEntry): VxlanFdbEntry;
}

/** One peers op for many hosts: its entries, made once, when a host named first takes them in. */
interface PeerFeedItem {
  hosts: string[];
  /** `hosts` as a set, made when a host first reads the item. */
  named?: Set<string>;
  peers: readonly PeerEntry[];
  make: PeerEntryMaker;
  neighs?: Neigh[];
  fdbs?: VxlanFdbEntry[];
}

/**
 * A network's peer entries as NetworkDB's events bring them to every host's vxlan device
 * of that network (the plan's peers ops), held once: a swarm's ingress network of n nodes
 * would otherwise write n² entries one host at a time. A host's device follows the feed
 * from the first op that names it; its neighbour and FDB tables take in the items that name
 * the host when they are next read or changed, so each host sees exactly its entries, in
 * the order the ops came. An item's entries are made when a table first takes it in: in a
 * big swarm most tables are never read.
 */
export class PeerFeed {
  private readonly items: PeerFeedItem[] = [];
  /** Each following host's device. */
  private readonly followers = new Map<string, SimLink>();

  /** Adds entries for `hosts`; `join` is called for each host whose device does not follow the feed yet, before the entries are added. */
  add(hosts: string[], peers: readonly PeerEntry[], make: PeerEntryMaker, join: (host: string) => SimLink): void {
    for (const host of hosts) {
      if (this.followers.has(host)) continue;
      const dev = join(host);
      this.followers.set(host, dev);
      dev.vxlan!.peerFeed = this;
      dev.vxlan!.fdb.follow(this.cursor(host, (item, into) => {
        const fdbs = (item.fdbs ??= item.peers.map((p) => item.make.fdb(p)));
        for (let i = 0; i < fdbs.length; i++) into.set(item.peers[i].mac, fdbs[i]);
      }));
      dev.netns.neigh.follow(dev.name, this.cursor(host, (item, into) => {
        for (const n of (item.neighs ??= item.peers.map((p) => item.make.neigh(p)))) into.set(n.ip, n);
      }));
    }
    this.items.push({ hosts, peers, make });
    // The following tables hold these entries from now on (taken in when next read).
    neighbourChanged();
  }

  /** The device leaves the feed (deleted, moved or renamed): its tables keep what they took in. */
  leave(dev: SimLink): void {
    const host = dev.netns.host.name;
    if (this.followers.get(host) !== dev) return;
    this.followers.delete(host);
    dev.vxlan!.peerFeed = undefined;
    dev.vxlan!.fdb.unfollow();
    dev.netns.neigh.unfollow(dev.name);
  }

  private cursor<K, V>(host: string, take: (item: PeerFeedItem, into: Map<K, V>) => void): Upstream<K, V> {
    const items = this.items;
    let at = items.length;
    return {
      drain(into) {
        for (; at < items.length; at++) {
          const item = items[at];
          if (names(item, host)) take(item, into);
        }
      },
    };
  }
}

/** Whether a feed item is for `host`: a new instance's replay names one host, a published endpoint every other. */
function names(item: PeerFeedItem, host: string): boolean {
  const hosts = item.hosts;
  if (hosts.length === 1) return hosts[0] === host;
  return (item.named ??= new Set(hosts)).has(host);
}

export interface VxlanState extends VxlanAttrs {
  /**
   * Collect-metadata mode (`external`): each packet's tunnel (VNI, addresses) is its own, set
   * by whoever sends it (a datapath's set_tunnel). Only an Open vSwitch datapath's vxlan vport
   * is made so (odp.vport); no plan op makes one.
   */
  external?: boolean;
  /** Remote VTEP per inner MAC ('self' entries: `bridge fdb add … dst X self`). */
  fdb: LoggedMap<string, VxlanFdbEntry>;
  /** The namespace whose UDP socket carries this device's packets (where it was created). */
  linkNetns: SimNetns;
  /** The network's peer entries this device's tables follow (the overlay's vxlan0). */
  peerFeed?: PeerFeed;
}

/** Where a datagram to one destination leaves, and the neighbour key of its next hop. */
export interface ResolvedRoute {
  dev: SimLink;
  via?: string;
  src: string;
  /** `src` as a number, as the datagrams' headers hold it. */
  srcAddr: number;
  local: boolean;
  /** The route is a blackhole: nothing leaves (dev is the namespace's lo). */
  blackhole?: true;
  nexthop: string;
  /**
   * To a broadcast address (RTN_BROADCAST: the limited broadcast, or a connected prefix's
   * last address): its frames go to the device's broadcast address, with no ARP.
   */
  broadcast: boolean;
  /** The Ethernet header last built toward the next hop, while its MAC stays the same (like a neighbour's cached header). */
  l2Header?: { dstMac: string; bytes: Buffer };
  /**
   * The next hop's neighbour entry (or its absence) as last found, valid while no
   * neighbour table has changed since (`neighGeneration`, see neighbourGeneration): the
   * route's dst entry holding its neighbour, as Linux's does.
   */
  neigh: Neigh | undefined;
  neighGeneration: number;
}

export class SimLink {
  master?: SimLink;
  peer?: SimLink;
  private isUp = false;
  /** Brought up at least once: the qdisc attached then (dev_activate) stays when the device goes down. */
  qdiscAttached = false;
  /** A root qdisc set with `tc qdisc add` (else the device's default). */
  qdisc?: Qdisc;
  readonly addrs: Address[] = [];
  vxlan?: VxlanState;
  // Most links are veths that never carry a packet: a swarm keeps tens of thousands, and
  // every object they hold is copied by the young-generation GC. Tables are made on first use.
  private portSet?: Set<SimLink>;
  private fdbTable?: Map<string, BridgeFdbEntry>;
  private sites?: Map<number, HopSite>;
  private bridgeMac?: Derived<string>;
  /** The device's counters (`ip -s`), as the device layer counts frames in and out. */
  rxPackets = 0;
  rxBytes = 0;
  txPackets = 0;
  txBytes = 0;
  /** The transmit queue length (`qlen`); a device made with 0 shows none. */
  txqueuelen = 1000;
  /** net.ipv4.conf.DEV.forwarding: whether IPv4 datagrams arriving here may be forwarded (IN_DEV_FORWARD); set from the namespace's default when the device lands there. */
  ipv4Forwarding = 0;
  /** net.ipv4.conf.DEV.proxy_arp: the device answers ARP for addresses routed out of another device (arp_fwd_proxy). */
  proxyArp = false;
  /** net.ipv4.neigh.DEV.proxy_delay, in USER_HZ (1/100 s): a proxied answer waits up to this long (80 unless set). */
  proxyDelay = 80;
  /** Its type's transmit in the datapath's ops table, read there on the first frame it sends (a field read instead of a table lookup per frame). */
  xmitOps?: NetDeviceOps;
  /** A device stacked on a lower one (a macvlan, an ipvlan): its lower device and kind's own state. */
  stacked?: StackedDev;
  /** The device's rx_handler (netdev_rx_handler_register): a module's port on it (see RxHandler). */
  rxHandler?: RxHandler;
  /** A bridge whose MTU was set after it was made (BROPT_MTU_SET_BY_USER): it no longer follows its ports'. */
  mtuSetByUser = false;
  /** An explicitly set MAC; a bridge without one takes its lowest port's. */
  private ownMac: string;
  explicitMac = false;

  constructor(
    /** Kept when the device moves to another namespace, unless taken there (see SimKernel's link.move). */
    public ifindex: number,
    public name: string,
    readonly type: LinkType,
    mac: string,
    public mtu: number,
    public netns: SimNetns,
  ) {
    this.ownMac = mac;
    this.ipv4Forwarding = netns.ipv4Forwarding.default;
  }

  /** Bridges only: their ports. */
  get ports(): Set<SimLink> {
    return (this.portSet ??= new Set());
  }

  /** Bridges only: the learned and local forwarding table. */
  get fdb(): Map<string, BridgeFdbEntry> {
    return (this.fdbTable ??= new Map());
  }

  /** The datapath's hop sites on this device, by (step, direction, event). */
  get hopSites(): Map<number, HopSite> {
    return (this.sites ??= new Map());
  }

  get mac(): string {
    if (this.type !== 'bridge' || this.explicitMac || this.ports.size === 0) return this.ownMac;
    return (this.bridgeMac ??= this.lowestPortMac()).get();
  }

  /**
   * A bridge's MAC without one set: its lowest port's. Made here, not in the getter: an
   * arrow function there captures `this`, and V8 would allocate a context for it on every
   * read of any device's MAC.
   */
  private lowestPortMac(): Derived<string> {
    return new Derived(() => [...this.ports].map((p) => p.mac).sort()[0]);
  }

  set mac(value: string) {
    this.ownMac = value;
    this.explicitMac = true;
  }

  /** When the device last came up, on its host's clock (a bridge's timers count from there). */
  upSinceNs = 0;
  /** Bridge ports: the port number the bridge gave it (the lowest free from 1), and when. */
  portNo = 0;
  enslavedNs = 0;
  /** Bridges: a port was ever added or removed, so the GSO limits follow the ports (br_set_gso_limits). */
  portsChanged = false;

  get up(): boolean {
    return this.isUp;
  }

  set up(value: boolean) {
    if (value && !this.isUp) this.upSinceNs = this.netns.host.now();
    this.isUp = value;
    if (value) this.qdiscAttached = true;
  }

  /** Up and, for a veth, its peer up too (LOWER_UP). */
  get carrier(): boolean {
    if (!this.up) return false;
    if (this.type === 'veth') return !!this.peer?.up;
    return true;
  }
}

/** A namespace's neighbour table: entries per device, by address (as Linux keys them). */
export class NeighTable {
  private readonly byDev = new Map<string, LoggedMap<string, Neigh>>();

  get(dev: string, ip: string): Neigh | undefined {
    return this.byDev.get(dev)?.get(ip);
  }

  set(entry: Neigh): void {
    neighbourChanged();
    this.device(entry.dev).set(entry.ip, entry);
  }

  /** The same as set, for the plan's static entries (see LoggedMap). */
  add(entry: Neigh): void {
    neighbourChanged();
    this.device(entry.dev).add(entry.ip, entry);
  }

  /** The device's entries also hold what `upstream` gives (a peer feed's). */
  follow(dev: string, upstream: Upstream<string, Neigh>): void {
    neighbourChanged();
    this.device(dev).follow(upstream);
  }

  unfollow(dev: string): void {
    neighbourChanged();
    this.byDev.get(dev)?.unfollow();
  }

  private device(dev: string): LoggedMap<string, Neigh> {
    let entries = this.byDev.get(dev);
    if (!entries) this.byDev.set(dev, (entries = new LoggedMap()));
    return entries;
  }

  delete(dev: string, ip: string): void {
    neighbourChanged();
    this.byDev.get(dev)?.delete(ip);
  }

  /** A device going away takes its entries with it. */
  deleteDevice(dev: string): void {
    neighbourChanged();
    this.byDev.delete(dev);
  }

  *values(): IterableIterator<Neigh> {
    for (const entries of this.byDev.values()) yield* entries.values();
  }
}

export class SimNetns {
  readonly links = new Map<string, SimLink>();
  readonly routes: Route[] = [];
  readonly neigh = new NeighTable();
  /** Set when `ip netns del` removed it (hosts are never removed). */
  deleted = false;
  /** net.ipv6.conf.{all,default}.disable_ipv6: a new namespace has IPv6 (`::1` on lo, `fe80::` on devices with carrier). */
  ipv6Disabled = { all: false, default: false };
  readonly files = new Map<string, string>();
  /** The namespace's iptables tables and connection tracking, made by the first `iptables` command or plan rule. */
  netfilter?: NetnsTables;
  /**
   * net.ipv4.conf.{all,default}.forwarding (all is net.ipv4.ip_forward): 0 in a new
   * namespace, as it inherits init_net's, and the machine's is 0. Any int is taken, as
   * proc_dointvec takes it; nonzero forwards. See net/ipv4/devinet.ts.
   */
  readonly ipv4Forwarding = { all: 0, default: 0 };
  /** A daemon's subscription to the namespace's neighbour notifications that acts on vxlan misses (dockerd's watchMiss; watchmiss.ts). */
  missWatch?: MissWatch;
  /**
   * net.bridge.bridge-nf-call-iptables: whether IPv4 frames a bridge here forwards from port
   * to port go through iptables (net/bridge/br_netfilter.ts). br_netfilter gives every
   * namespace 1 (as measured on the kernel emu runs on, and what dockerd's bridge driver
   * sets: libnetwork's checkBridgeNetFiltering); writing any nonzero stores 1.
   */
  bridgeNfCallIptables = 1;
  /** Sockets daemons hold here (plan ops: dockerd's, the embedded DNS resolver's), as `ss` lists them. */
  readonly listening: ListeningSocket[] = [];
  /**
   * What runs here that is no part of the core stack, by name: user-space programs (Weave
   * Net's router) and modules' per-namespace state (net_generic: Open vSwitch's datapaths).
   * Each program's own module reads and writes its entry (sim/kernel/program_registry.ts).
   */
  programs: Map<string, unknown> | undefined = undefined;
  /**
   * UDP sockets a tunnel's receive is set on (setup_udp_tunnel_sock's encap_rcv), by local
   * port: the datagram goes to the tunnel's receive instead of a socket's queue.
   */
  udpTunnels: Map<number, UdpEncapRcv> | undefined = undefined;

  /** Where the namespace sits in Docker's layout: the host's own, an overlay (holds vxlan0), or a sandbox. */
  readonly role = new Derived<'host' | 'overlay' | 'sandbox'>(() => {
    if (this.name === this.host.name) return 'host';
    for (const l of this.links.values()) if (l.type === 'vxlan') return 'overlay';
    return 'sandbox';
  });

  /** Addresses of this namespace's devices, as signed 32-bit numbers (as the datapath reads them from frames). */
  readonly localAddrs = new Derived(() => new Set([...this.links.values()].flatMap((l) => l.addrs.map((a) => ipv4ToNumber(a.ip) | 0))));
  /**
   * lo's addresses whose prefix is local as a whole (fib_add_ifaddr's `local PREFIX dev lo`),
   * while lo is up, as numbers: every packet asks whether its destination is local. 127/8 is
   * left out, local by its own rule.
   */
  readonly loopbackPrefixes = new Derived(() => {
    const lo = this.links.get('lo');
    if (!lo?.up) return [];
    return lo.addrs.filter((a) => a.prefixLength < 32 && !a.ip.startsWith('127.')).map((a) => ({ ip: a.ip, prefix: { base: ipv4ToNumber(a.ip), prefixLength: a.prefixLength } }));
  });

  /** vxlan devices (in any namespace of the host) whose UDP socket lives here, by destination port. */
  readonly vxlanSockets = new Derived(() => {
    const byPort = new Map<number, SimLink[]>();
    for (const other of this.host.namespaces.values()) {
      for (const l of other.links.values()) {
        if (l.vxlan?.linkNetns !== this) continue;
        const list = byPort.get(l.vxlan.dstport) ?? [];
        byPort.set(l.vxlan.dstport, [...list, l]);
      }
    }
    return byPort;
  });

  /** Path MTUs learned from ICMP "fragmentation needed", per destination (the FIB nexthop's exceptions, fnhe). */
  readonly pmtu = new Map<string, { mtu: number; expiresNs: number }>();

  /** Routes the datapath resolved, per destination, until the next change (like Linux's dst cache). */
  readonly dstCache = new Derived(() => new Map<string, ResolvedRoute | undefined>());

  /**
   * Interface indexes are per namespace (net->ifindex since Linux 3.7): lo is 1, and each
   * device made here takes the next free one after the last handed out, never reusing a
   * freed one (dev_index_reserve's cyclic allocation). A device moved in keeps its own.
   */
  private lastIfindex = 1;
  /**
   * No device here has a higher index (lo's, those handed out, those moved in): an index
   * above it is free without looking through the devices, which a swarm host's namespace
   * has many of, each new one looking.
   */
  private highestIfindex = 1;

  constructor(readonly name: string, readonly host: SimHost) {}

  /**
   * setup_udp_tunnel_sock: the socket bound to `port` here hands its datagrams to `encapRcv`.
   * The port another's socket holds is refused as its bind(2) is (EADDRINUSE); the same
   * receiver set up again keeps its socket.
   */
  setupUdpTunnelSock(port: number, encapRcv: UdpEncapRcv): void {
    const bound = this.udpTunnels?.get(port);
    if (bound && bound !== encapRcv) throw new KernelError(`UDP port ${port}: another socket is bound to it (Address already in use)`);
    (this.udpTunnels ??= new Map()).set(port, encapRcv);
  }

  /** udp_tunnel_sock_release: the tunnel socket on `port` is closed. */
  releaseUdpTunnelSock(port: number): void {
    this.udpTunnels?.delete(port);
  }

  allocIfindex(): number {
    let i = this.lastIfindex + 1;
    while (this.ifindexTaken(i)) i++;
    this.highestIfindex = Math.max(this.highestIfindex, i);
    return (this.lastIfindex = i);
  }

  /**
   * The index of a device the kernel refused before it registered it (a stacked device's
   * lower busy: macvlan_port_create and ipvlan's rx_handler check come before
   * register_netdevice reserves an index): the next device takes it, as none was handed out.
   */
  unreserveIfindex(ifindex: number): void {
    if (ifindex === this.lastIfindex) this.lastIfindex = ifindex - 1;
  }

  ifindexTaken(ifindex: number): boolean {
    return ifindex <= this.highestIfindex && this.linkByIndex(ifindex) !== undefined;
  }

  /** A device moved in with its index (SimKernel's link.move). */
  movedIn(l: SimLink): void {
    this.highestIfindex = Math.max(this.highestIfindex, l.ifindex);
  }

  linkByIndex(ifindex: number): SimLink | undefined {
    for (const l of this.links.values()) if (l.ifindex === ifindex) return l;
    return undefined;
  }
}

export class SimHost {
  readonly namespaces = new Map<string, SimNetns>();
  /** The kernel's next qdisc autohandle (qdisc_alloc_handle: 8001: first). */
  nextQdiscHandle = 0x8001;

  /** The kernel's clock, read for the moments devices change (timers `ip -d link` shows). */
  constructor(readonly name: string, readonly now: () => number) {}

  get rootNetns(): SimNetns {
    return this.namespaces.get(this.name)!;
  }
}
