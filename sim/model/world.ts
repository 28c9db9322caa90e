/**
 * The model's whole state: one immutable (immer) value. Big keyed collections are split
 * into shards (see Shards) so that one scenario step copies only small records, which keeps
 * a 10,000-container swarm cheap to step through.
 */
import { initialState, swarmNodeMachine } from './machines';
import { seedFromName } from './ids';
import type { DriverName } from './drivers';

export const GWBRIDGE = 'docker_gwbridge';
export const OVERLAY_MTU = 1450;
export const VXLAN_PORT = 4789;
/** 2026-01-01T00:00:00Z: the virtual clock's start, so no wall-clock value enters a result. */
export const EPOCH_NS = 1_767_225_600_000_000_000n;

export type NodeState = 'inactive' | 'manager' | 'worker' | 'left';

/** A node that is part of a swarm, as a manager or a worker. */
export function inSwarm(state: NodeState): boolean {
  return state === 'manager' || state === 'worker';
}

/**
 * A network's address pool: an immutable value that ipam.ts replaces whole when it gives or
 * takes back an address. A class, so that immer returns it undrafted: a `docker run` reads
 * and writes two pools, and a draft of each (and of its bitmap) cost more than the copy.
 * Frozen, so a write in place fails loudly instead of changing earlier worlds.
 */
export class Ipam {
  constructor(
    /** Subnet in CIDR form; empty when the allocation failed. */
    readonly subnet: string,
    readonly gateway: string,
    /** Serial allocation: the next host offset to try. */
    readonly next: number,
    /** Offsets in use, as a bitmap: word (offset / 32, keyed `w<word>`) → bit (offset % 32); see ipam.ts. */
    readonly used: Readonly<Record<string, number>>,
  ) {
    Object.freeze(used);
    Object.freeze(this);
  }
}

export interface Endpoint {
  id: string;
  networkId: string;
  host: string;
  /** 'container' for a container's endpoint, 'lb' for the node's lb-<net>, 'ingress' for ingress-sbox. */
  kind: 'container' | 'lb' | 'ingress' | 'gateway';
  containerId?: string;
  /** The name `docker network inspect` shows (container name, or `<net>-endpoint`). */
  name: string;
  ip: string;
  prefixLength: number;
  mac: string;
  state: string;
  aliases: string[];
  /** The swarm network-attachment task (25 chars) for a container on a swarm network. */
  taskId?: string;
  /** The sandbox (namespace) this endpoint's interface lives in. */
  sandbox: string;
  /** Interface name inside the sandbox (eth0, eth1 …). */
  ifname: string;
  /** The overlay namespace's end of the veth pair (veth0, veth1 …); or the host-side veth for bridges. */
  peerIfname: string;
}

export interface OverlayInstance {
  /** `1-` + the first 10 characters of the network id. */
  netns: string;
  state: string;
  /** Monotonic per-namespace veth counter (Docker 17.03–27). */
  nextVeth: number;
  /** Local endpoints joined here. */
  joined: number;
  createdNs: string;
}

export interface Network {
  id: string;
  name: string;
  /** Its driver's name, as registered in drivers/index.ts. */
  driver: DriverName;
  /** global: a remote driver's network kept in the cluster store (Calico's), on every host. */
  scope: 'swarm' | 'local' | 'global';
  /** For local networks, the host that owns them. */
  host?: string;
  attachable: boolean;
  internal: boolean;
  ingress: boolean;
  vni: number;
  options: Record<string, string>;
  labels: Record<string, string>;
  createdNs: string;
  state: string;
  ipam: Ipam;
  /** The manager allocator could not give it a subnet (overlapping --subnet). */
  allocationFailed: boolean;
  /**
   * Its subnet was asked for (libnetwork's IpamConf.PreferredPool): `--subnet` at `docker
   * network create`, or a swarm network's, which the manager's allocation names. Only such a
   * network takes a container's `--ip` (the daemon's validateNetworkingConfig).
   */
  subnetConfigured: boolean;
  /** `--ipam-driver` when a plugin's (calico-ipam); Docker's own otherwise. */
  ipamDriver?: string;
  /** Linux bridge name for bridge networks (docker0, docker_gwbridge, br-<id12>). */
  bridge?: string;
  /** A parent link the driver made for the network and removes with it (macvlan's dm-<id12> dummy: libnetwork's CreatedSlaveLink). */
  createdLink?: string;
  /** By id (see endpointsOf). */
  endpoints: Shards<Endpoint>;
  /** Per host where the network is instantiated (overlay only; see instanceOf). */
  instances: Shards<OverlayInstance>;
}

export interface Container {
  id: string;
  name: string;
  host: string;
  image: string;
  command: string[];
  state: string;
  autoRemove: boolean;
  /** docker run -i: its stdin is kept open (Config.OpenStdin). */
  openStdin: boolean;
  /** docker run -t: its main process has a terminal (Config.Tty). */
  tty: boolean;
  /** docker run without -d: the client attached to its output, and to its stdin with -i (Config.AttachStdout, AttachStderr, AttachStdin). */
  attached: boolean;
  createdNs: string;
  startedNs?: string;
  hostname: string;
  /**
   * The sandbox's namespace (first 12 characters of the sandbox id). A container run with
   * --network host has a sandbox but no namespace of its own (libnetwork's default sandbox,
   * the host's): see containerNetns.
   */
  sandbox: string;
  sandboxId: string;
  sandboxState: string;
  /**
   * HostConfig.NetworkMode: docker run's --network as typed, `default` without one. The
   * daemon asks it, not the networks the container has now, whether the container is on the
   * host network (NetworkMode.IsHost) when it is connected or disconnected.
   */
  networkMode: string;
  /** HostConfig.CapAdd: docker run's --cap-add values as typed (capabilities.ts), absent without one. */
  capAdd?: string[];
  /** HostConfig.Sysctls: docker run's --sysctl, key to value (run-sysctl.ts: only keys the kernel models reach the model), absent without one. */
  sysctls?: Record<string, string>;
  /** HostConfig.PortBindings: docker run's -p as docker/cli parsed them (sim/docker/publish.ts), absent without one. */
  portBindings?: PortBinding[];
  /**
   * NetworkSettings.Ports' bindings while it runs: the bridge driver's port mappings on its
   * gateway endpoint (model/ports.ts), each with the docker-proxy and rules it holds; gone as it stops.
   */
  publishedPorts?: PublishedPort[];
  /** Network ids in attachment order, with the requested aliases and address. */
  networks: { networkId: string; endpointId?: string; aliases: string[]; ip?: string }[];
  /** The docker_gwbridge endpoint when the container is on an overlay. */
  gatewayEndpoint?: string;
  /**
   * The embedded DNS's sockets in the running sandbox (dockerd listens on 127.0.0.11 at
   * ports the kernel picks; Docker's DNAT sends port 53 there); set on the first network
   * with the embedded DNS, gone when the sandbox goes.
   */
  resolverPorts?: { udp: number; tcp: number };
  /** The container's process as the host numbers it (State.Pid), while it runs. */
  pid?: number;
  /** Its main process's exit status (State.ExitCode; docker ps's Exited (N)): its own at its end, 137 once a stop or kill sent SIGKILL (main-process.ts); absent when the model does not know it. */
  exitCode?: number;
  /** Why its last start failed (State.Error), for a container left Created by it. */
  startError?: string;
  /** When it last stopped (State.FinishedAt): docker ps counts an exited container's "ago" from it. */
  finishedNs?: string;
}

/** One -p binding as docker/cli hands it to the daemon (nat.PortBinding under its nat.Port). */
export interface PortBinding {
  /** The container's port and protocol as nat.Port spells it: `80/tcp`. */
  port: string;
  /** HostIp: as typed, '' for every address. */
  hostIp: string;
  /** HostPort: as typed, '' for one the daemon picks, `8000-8010` for a range it picks from. */
  hostPort: string;
}

/** A port mapping the bridge driver made (libnetwork types.PortBinding once allocated). */
export interface PublishedPort {
  proto: 'tcp' | 'udp';
  containerPort: number;
  containerIp: string;
  /** 0.0.0.0 (or the address asked for), or `::` for the IPv6 mapping the userland proxy serves with the container's IPv4 address. */
  hostIp: string;
  hostPort: number;
  /** The bridge device its rules name. */
  bridge: string;
}

export interface Host {
  name: string;
  underlay: string;
  /** Prefix length of the underlay segment (24 for a scenario's 198.51.100.0/24). */
  underlayPrefix: number;
  nodeState: NodeState;
  nodeId: string;
  /** NetworkDB node name: 12 hex characters (Peers[].Name). */
  gossipName: string;
  /** `ln -s /var/run/docker/netns /var/run/netns` was run, so `ip netns` shows Docker's namespaces. */
  netnsLinked: boolean;
  containers: Record<string, Container>;
  /** Local networks (bridge, host, none, docker_gwbridge, user bridges), by id. */
  localNetworks: Record<string, Network>;
  /** Names of namespaces Docker made on this host and has not destroyed, in creation order. */
  namespaces: string[];
  /**
   * The files under /var/run/docker/netns, in creation order: the live namespaces' and those
   * of destroyed ones until the daemon's garbage collector removes them (see netnsGc).
   */
  netnsFiles: string[];
  /** When the garbage collector's 60 s ticker started: the daemon's first namespace (null before). */
  netnsGcStartNs: number | null;
  /** Counter for the random-looking host-side veth names. */
  vethSerial: number;
  /** The kernel's pid allocator on this host: the last process id it handed out (a container's State.Pid comes from it). */
  lastPid: number;
  /** The underlay link (eth0) is up, since `underlayChangedNs` on the run's clock (netdb.ts). */
  underlayUp: boolean;
  underlayChangedNs: number;
  /** NetworkDB: the other nodes hold this node's entries and it holds theirs (false once memberlist declared it dead). */
  gossipAlive: boolean;
  /** swarmkit's dispatcher marked the node down: its heartbeats stopped reaching the leader (netdb.ts heartbeatTimers). */
  heartbeatDown?: boolean;
  /** dockerd is stopped (`systemctl stop docker`, dockerd.ts) since this time on the run's clock; absent while it runs. */
  dockerdStoppedNs?: number;
  /** dockerd's --cluster-store URL, when it was started with one (drivers/overlay-kv.ts). */
  clusterStore?: string;
  /** dockerd's --cluster-advertise as ParseAdvertise resolved it (ADDRESS:PORT). */
  clusterAdvertise?: string;
  /** The overlay driver's one-time check (networkOnceInit) ran: it made and removed a test vxlan device. */
  overlayProbed: boolean;
  /**
   * docker_gwbridge's id as ensureGwbridge last made or found it (gwbridgeOf checks its name:
   * a removed docker_gwbridge leaves it stale), so a container's start need not list the
   * host's networks to find it.
   */
  gwbridgeId?: string;
  /**
   * libnetwork's port allocator (portallocator.go): the host ports taken, by `address/protocol`,
   * and for each range it searched (the dynamic one, or a range -p gave) the last port it gave there (the next search starts after it).
   */
  portsTaken?: Record<string, { ports: number[]; lastInRange: Record<string, number> }>;
}

export interface Swarm {
  id: string;
  createdNs: string;
  workerToken: string;
  managerToken: string;
  dataPathPort: number;
  /** Default address pool and the size of the subnets carved from it. */
  addrPool: string;
  addrPoolMaskLength: number;
  nextVni: number;
  /** Swarm networks by id (see swarmNetwork). */
  networks: Shards<Network>;
  /** Host names of the nodes, in join order. */
  nodes: string[];
  /** Workers that left (`docker swarm leave`): the manager keeps their node objects until `docker node rm`. */
  departed: DepartedNode[];
}

/**
 * A worker that left the swarm, as the manager's store keeps it (swarmkit stores a node until
 * RemoveNode): its id, its host name, and when its heartbeats stopped; the dispatcher marks it
 * down after the heartbeat grace (netdb.ts heartbeatTimers).
 */
export interface DepartedNode {
  nodeId: string;
  hostname: string;
  /**
   * On the run's clock, when its heartbeats stopped: set by the leader's first timer pass
   * after the leave (a docker command's step does not know the run's clock), as the leave's
   * step ends.
   */
  leftNs?: number;
  down: boolean;
}

/** A host's flanneld: its lease and what it made of it (sim/model/drivers/flannel.ts). */
export interface FlannelNode {
  host: string;
  /** The leased subnet, a.b.c.0/len. */
  subnet: string;
  /** The whole flannel network (the config's Network). */
  network: string;
  backend: 'vxlan' | 'host-gw';
  /** The host's address the peers reach it at (its underlay address). */
  publicIp: string;
  /** The MTU containers get: the interface's, less what the backend adds. */
  mtu: number;
  /** vxlan: flannel.1's MAC, announced in the lease. */
  vtepMac?: string;
  /** flanneld ran with --ip-masq: its FLANNEL-POSTRTG chain masquerades what leaves the network. */
  ipMasq?: boolean;
}

export interface World {
  seed: number;
  rng: number;
  /** Virtual nanoseconds since EPOCH_NS. */
  clockNs: number;
  hostOrder: string[];
  /** By name (see hostOf); hostOrder gives the scenario's order. */
  hosts: Shards<Host>;
  swarm: Swarm | null;
  /** The cluster's key-value store (etcd) and the hosts where flanneld runs; absent until a lab uses them. */
  flannel?: { store: Record<string, string>; nodes: Record<string, FlannelNode> };
  /** Calico's datastore (etcd), shared by every host that runs calico/node; absent until one does. */
  calico?: CalicoStore;
  /** Weave Net's routers by host, and its IPAM ring (sim/model/drivers/weave.ts); absent until weave launch. */
  weave?: WeaveMesh;
  /** Docker's classic overlay mode: the dockerds started with one cluster store; absent until one is. */
  kv?: KvCluster;
}

/** A host's Weave Net router (sim/model/drivers/weave.ts). */
export interface WeavePeer {
  host: string;
  /** Its peer name: a MAC, also the weave bridge's. */
  name: string;
  nickname: string;
  shortId: number;
  datapath: 'sleeve' | 'fastdp';
  address: string;
  /** The addresses it was launched with (weave launch PEER…). */
  targets: string[];
  /** The weave router container's id (what weave launch prints). */
  containerId: string;
  /** The ring ranges it owns, [start, end) as numbers, in order. */
  ranges: [number, number][];
  /** Addresses it handed out, by address number: the container (or weave:expose) holding it. */
  allocated: Record<number, string>;
  /** The network weave launch's plugin made on the host. */
  networkId: string;
  launchedNs: number;
  /** weave expose's address on the bridge. */
  exposed?: string;
}

export interface WeaveMesh {
  /** By host. */
  peers: Record<string, WeavePeer>;
  /** The ring was claimed (the first address was asked for). */
  ringClaimed: boolean;
  /** The mesh's TCP connections: who dialled whom, from which port. */
  connections: { from: string; to: string; sourcePort: number }[];
}

/** A peer as the overlay driver's peer database keeps it (libnetwork peerdb.go): an endpoint and its host's VTEP. */
export interface KvPeer {
  eid: string;
  ip: string;
  prefixLength: number;
  mac: string;
  vtep: string;
}

/** The dockerds that share a cluster store, and what serf has told each of them (drivers/overlay-kv.ts). */
export interface KvCluster {
  store: string;
  /** Hosts whose dockerd runs with the store, in the order they started (the order discovery lists them in). */
  members: string[];
  /** Members whose overlay driver has joined a serf neighbour: its joinOnce is spent, it never pushes its endpoints again. */
  joined: string[];
  /** Each member's peer database: network id → the other hosts' endpoints serf's events told it of. */
  peerDb: Record<string, Record<string, KvPeer[]>>;
  /** The store's vxlan-id allocator (libnetwork idm, serial, from 256). */
  nextVni: number;
}

/** A calico/node: its Node resource and what its Felix and BIRD have programmed so far. */
export interface CalicoNode {
  name: string;
  host: string;
  /** The node's IPv4 routing address (`--ip`), BGP's router id and next hop. */
  ip: string;
  startedNs: number;
  /** Its affine /26 block, claimed at its first address (a workload's or a tunnel's). */
  block?: string;
  /** Offsets of the block in use. */
  blockUsed: number[];
  ipipTunnelAddr?: string;
  vxlanTunnelAddr?: string;
  vxlanTunnelMac?: string;
  /** What has been programmed on the host, as keys, so a later change adds only what is new. */
  programmed: string[];
  /** BIRD's configuration as last rendered. */
  birdConfig?: string;
}

export type EncapMode = 'Never' | 'Always' | 'CrossSubnet';

export interface CalicoPool {
  name: string;
  cidr: string;
  blockSize: number;
  ipipMode: EncapMode;
  vxlanMode: EncapMode;
  natOutgoing: boolean;
  createdNs: number;
  resourceVersion: number;
  uid: string;
}

export interface CalicoStore {
  /** By node name. */
  nodes: Record<string, CalicoNode>;
  pools: CalicoPool[];
  /** etcd's revision: every write bumps it (resourceVersion). */
  revision: number;
}

/**
 * A keyed collection as an array of small records, each holding the keys that hash to it.
 * immer copies every record and array a step changes. V8 copies a record of more than about
 * 20 keys some hundred times slower than a small one (it has fallen into dictionary mode),
 * while an array copies by slice: shards keep a thousand hosts' step as cheap as two hosts'.
 */
export type Shards<T> = Record<string, T>[];

const SHARDS = 64;

/** Shard numbers of the keys seen lately: most keys are 64-character ids, looked up again and again, and a Map hashes a string once, natively. */
const shardNumbers = new Map<string, number>();
const SHARD_NUMBERS_LIMIT = 1 << 16;

function shardOf(key: string): number {
  let n = shardNumbers.get(key);
  if (n === undefined) {
    let h = 0x811c9dc5;
    for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193) >>> 0;
    n = h % SHARDS;
    if (shardNumbers.size >= SHARD_NUMBERS_LIMIT) shardNumbers.clear();
    shardNumbers.set(key, n);
  }
  return n;
}

/**
 * An empty record for values keyed by id or host name. Without a prototype, V8 keeps it as a
 * hash table from the start: each record's keys are its own, so as an ordinary object every
 * record (and immer's copy of it, each step) would build hidden classes no other object shares.
 */
export function idRecord<T>(): Record<string, T> {
  return Object.create(null) as Record<string, T>;
}

export function shardGet<T>(s: Shards<T>, key: string): T | undefined {
  return s[shardOf(key)]?.[key];
}

export function shardSet<T>(s: Shards<T>, key: string, value: T): void {
  (s[shardOf(key)] ??= idRecord())[key] = value;
}

export function shardDelete<T>(s: Shards<T>, key: string): void {
  delete s[shardOf(key)]?.[key];
}

/** Every value, in shard order (callers that show them sort). */
export function shardValues<T>(s: Shards<T>): T[] {
  const all: T[] = [];
  for (const shard of s) if (shard) for (const k in shard) all.push(shard[k]);
  return all;
}

export function shardKeys<T>(s: Shards<T>): string[] {
  const all: string[] = [];
  for (const shard of s) if (shard) for (const k in shard) all.push(k);
  return all;
}

export function shardsOf<T>(entries: [string, T][]): Shards<T> {
  const s: Shards<T> = [];
  for (const [k, v] of entries) shardSet(s, k, v);
  return s;
}

export function endpointsOf<E>(net: { endpoints: Shards<E> }): E[] {
  return shardValues(net.endpoints);
}

export function endpointOf<E>(net: { endpoints: Shards<E> }, id: string): E | undefined {
  return shardGet(net.endpoints, id);
}

export function swarmNetwork<N>(swarm: { networks: Shards<N> } | null | undefined, id: string): N | undefined {
  return swarm ? shardGet(swarm.networks, id) : undefined;
}

/** Every swarm network, in shard order (see networksByAge). */
export function swarmNetworks<N>(swarm: { networks: Shards<N> } | null | undefined): N[] {
  return swarm ? shardValues(swarm.networks) : [];
}

/** Oldest first: the order in which they were created. */
export function networksByAge<N extends { createdNs: string; vni: number }>(nets: N[]): N[] {
  return [...nets].sort((a, b) => Number(a.createdNs) - Number(b.createdNs) || a.vni - b.vni);
}

export function instanceOf<I>(net: { instances: Shards<I> }, host: string): I | undefined {
  return shardGet(net.instances, host);
}

/** Hosts where the network is instantiated (in shard order). */
export function instanceHosts(net: { instances: Shards<unknown> }): string[] {
  return shardKeys(net.instances);
}

/**
 * The names of the hosts for which `test` holds, for a question asked before every step
 * (the namespace collector's, NetworkDB's). immer keeps the identity of every shard a step
 * did not change, and the question is asked of one world after the other: each shard's
 * answer is kept beside the shard it was drawn from, so a step costs the shards it changed
 * (a comparison of identity for the others), not every host of a big swarm. The names
 * answered are shared: callers read them.
 */
export class HostsWhere<H> {
  private hosts: Shards<H> | undefined;
  private readonly shards: (Record<string, H> | undefined)[] = [];
  private readonly answers: string[][] = [];
  private names: string[] = [];

  constructor(private readonly test: (h: H) => boolean) {}

  of(hosts: Shards<H>): readonly string[] {
    if (hosts === this.hosts) return this.names;
    let changed = false;
    for (let i = 0; i < hosts.length; i++) {
      const shard = hosts[i];
      if (shard === this.shards[i]) continue;
      const matching: string[] = [];
      if (shard) for (const k in shard) if (this.test(shard[k])) matching.push(k);
      this.shards[i] = shard;
      // Mostly no host matches, before or after: the names stand.
      if (matching.length || this.answers[i]?.length) changed = true;
      this.answers[i] = matching;
    }
    if (this.shards.length > hosts.length) {
      this.shards.length = this.answers.length = hosts.length;
      changed = true;
    }
    this.hosts = hosts;
    if (changed) {
      const names: string[] = [];
      for (const answer of this.answers) if (answer) for (const n of answer) names.push(n);
      this.names = names;
    }
    return this.names;
  }
}

/**
 * HostConfig.NetworkMode.IsHost(): the container was run with `--network host` (as typed; by
 * the network's id the daemon refuses it), so it shares its host's network namespace.
 */
export function sharesHostNetns(c: Pick<Container, 'networkMode'>): boolean {
  return c.networkMode === 'host';
}

/** The network namespace a container's programs run in: its sandbox's, or its host's own with --network host. */
export function containerNetns(c: Pick<Container, 'networkMode' | 'host' | 'sandbox'>): string {
  return sharesHostNetns(c) ? c.host : c.sandbox;
}

/** A container by its full id, on whichever host holds it (none for no id). */
export function containerById(world: World, id: string | undefined): Container | undefined {
  if (!id) return undefined;
  for (const h of world.hostOrder) {
    const c = hostOf(world, h).containers[id];
    if (c) return c;
  }
  return undefined;
}

export function hostOf<H extends Host>(w: { hosts: Shards<H> }, name: string): H {
  return shardGet(w.hosts, name)!;
}

/**
 * Where the host's pid allocator stands when the scenario starts: a booted machine whose
 * dockerd and containerd run, some thousands of pids in (the engine's sample: dockerd 12550).
 * A hash of the host's name, so a run repeats without drawing from the seeded generator.
 */
function bootPids(host: string): number {
  return 2000 + (seedFromName(`pids:${host}`) % 20000);
}

export function emptyHost(name: string, underlay: string, underlayPrefix = 24): Host {
  return {
    name, underlay, underlayPrefix, nodeState: initialState(swarmNodeMachine) as NodeState, nodeId: '', gossipName: '',
    netnsLinked: false, containers: idRecord(), localNetworks: idRecord(), namespaces: [], netnsFiles: [], netnsGcStartNs: null, vethSerial: 0, lastPid: bootPids(name), underlayUp: true, underlayChangedNs: 0, gossipAlive: true, overlayProbed: false,
  };
}

/**
 * When dockerd stamped an object made at `clockNs`: the model's clock marks the request, and
 * the daemon's own clock reads later by the time it took to carry it out (a different delay
 * each time, below a millisecond here), which is why Docker's times have nanoseconds. The
 * delay is a hash of the object's key, so a run repeats without drawing from the seeded
 * generator (a draw would shift every id made after it).
 */
export function daemonTime(clockNs: string | number, key: string): number {
  return Number(clockNs) + 1 + (seedFromName(key) % 999_999);
}

/** RFC 3339 with nanoseconds, as Docker prints Created (trailing zeros trimmed, like Go). */
export function formatTime(clockNs: number): string {
  const total = EPOCH_NS + BigInt(clockNs);
  const ms = Number(total / 1_000_000n);
  const frac = (total % 1_000_000_000n).toString().padStart(9, '0').replace(/0+$/, '');
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, frac ? `.${frac}Z` : 'Z');
}
