/**
 * The network-driver seam of the model. A driver is everything the model knows of one kind of
 * network: how `docker network create -d NAME` allocates one, the plan ops that join and
 * leave an endpoint, what a container on it gets (a gateway, the embedded DNS server, an
 * endpoint on docker_gwbridge), where emu captures a packet crossing it, and what viz draws
 * of it. Outside `sim/model/drivers/`, no code asks which driver a network has: it asks the
 * network's driver (`driverOf`, in `./index.ts`).
 */
import { Draft } from 'immer';
import { overlaps, parseCidr } from '../../wire/addr';
import { newIpam } from '../ipam';
import { hexId } from '../ids';
import { advance, endpointMachine, initialState, networkMachine } from '../machines';
import { DaemonRefusal } from '../refusal';
import { localNetworksRead, Tx } from '../tx';
import { Endpoint, hostOf, Network, World } from '../world';

/**
 * A kernel feature a driver's scenarios may need that a machine may lack, and how emu finds
 * it before it starts: `ip` commands that make a device of its kind in a scratch namespace,
 * or the generic netlink family its module registers (asking for it loads it). The driver
 * states it, so a new driver's feature is its own.
 */
export interface KernelFeature {
  name: string;
  /** What the refusal says the scenario needs. */
  what: string;
  config: string;
  /** `ip` argument lists, run in order in the scratch namespace: the feature is there when all succeed. */
  probe?: string[][];
  genlFamily?: string;
}

/** The kernel's dummy devices (CONFIG_DUMMY), which a driver makes for a parent (macvlan, ipvlan) or to set a bridge's MTU (weave). */
export const DUMMY_DEVICES: KernelFeature = { name: 'dummy', what: 'dummy devices', config: 'CONFIG_DUMMY', probe: [['link', 'add', 'probe0', 'type', 'dummy']] };

/** A program a driver's scenarios need on a real machine (emu), and the Debian package that brings it. */
export interface MachineProgram {
  name: string;
  debianPackage: string;
  /** What the refusal says it is needed for, when the missing programs all share it. */
  neededFor?: string;
}

/** What a driver's needs are, for emu: the programs it runs and the kernel features it makes devices of. */
export interface MachineNeeds {
  programs: MachineProgram[];
  kernel: KernelFeature[];
}

/** The cluster store (emu's is etcd, whatever the URL's scheme): a dockerd on a store and flannel connect to it, and emu writes its keys with etcdctl. */
export const CLUSTER_STORE: MachineProgram[] = [
  { name: 'etcd', debianPackage: 'etcd-server', neededFor: 'the cluster store' },
  { name: 'etcdctl', debianPackage: 'etcd-client', neededFor: 'the cluster store' },
];

/** What `docker network create` asks for, whatever the driver. */
export interface NetworkSpec {
  name: string;
  attachable: boolean;
  internal: boolean;
  subnet?: string;
  gateway?: string;
  options: Record<string, string>;
  labels: Record<string, string>;
  /** `--ipam-driver`, when not Docker's default. */
  ipamDriver?: string;
}

/** Where a packet from a host's own namespace is seen (its capture spots, in order), and the address it leaves from. */
export interface HostNamespaceWay {
  src: string;
  spots: CaptureSpot[];
}

/** Where emu listens for a packet on its way through an endpoint's network. */
export interface CaptureSpot {
  host: string;
  netns: string;
  device: string;
  /**
   * What the device is on the path: a container's eth, the bridge's end of its veth (in the
   * overlay namespace, or the host's for a local bridge), the vxlan device, the host's
   * underlay interface, or the host's port on the underlay segment (whose device the backend names).
   */
  role: 'container' | 'bridge-port' | 'bridge' | 'host-end' | 'vxlan' | 'tunnel' | 'router' | 'host' | 'underlay';
  /** container, bridge-port and bridge: the container's MAC; vxlan and router: the host's container MACs; host and underlay: the host's underlay address. */
  mine: string[];
  /** host: the host routes the flow's packets through this interface (ip_forward), both ways. */
  forwards?: boolean;
  /** bridge-port and vxlan: the bridge they are ports of (the device that hands them frames). */
  master?: string;
  /** host: the device (or program: weave's router) that encapsulates what the host sends (vxlan0 unless named: flannel.1, vxlan.calico, tunl0, weaver). */
  vtep?: string;
  /** host: each VNI's overlay namespace on the host (for the hop notes). */
  overlays?: Record<number, string>;
}

/** The namespace a driver makes for a network on each host the network is instantiated on, and the devices in it. */
export interface DriverNamespace {
  name: string;
  devices: { device: string; kind: 'bridge' | 'vxlan'; master?: string; addresses?: string[] }[];
}

/** Topology hints: a device a driver made in a host's own namespace (a bridge network's Linux bridge, weave's router devices). */
export interface HostDevice {
  device: string;
  kind: string;
  mac?: string;
  addresses?: string[];
  master?: string;
  peer?: { netns: string; device: string };
}

/** Topology hints: a user-space program in a host's own namespace that packets pass through (weave's router), and the devices it takes them from or gives them to. */
export interface HostProgram {
  name: string;
  role: 'router' | 'controller';
  devices: string[];
}

/** The answer a daemon's query for a peer it missed (a vxlan l2miss or l3miss) gets, who gave it, and its text on the wire. */
export interface PeerAnswer {
  mac: string;
  prefixLength: number;
  vtep: string;
  /** The member whose answer came first: the endpoint's own host when it is asked, as sim takes it (any member that knows the address answers). */
  answeredBy: string;
  /** The answer's payload as the daemon writes it (classic overlay: "MAC MASK VTEP"). */
  payload: string;
}

/** Where a packet leaving through an endpoint that carries the default route goes when something beside the driver routes it (flannel's lease on docker0). */
export interface OutsideWay {
  path: string;
  /** Endpoints beyond the driver's own peers the packet may reach, captured too (flannel's peer container). */
  peers: { net: Network; ep: Endpoint }[];
  /** Capture spots beyond the endpoints' own (flannel's uplinks and flannel.1). */
  spots: CaptureSpot[];
  /** The source address a MASQUERADE on the way gives the packet. */
  natSrc?: string;
}

export interface NetworkDriver {
  /** The driver's name, as `docker network create -d` and `docker network ls` give it. */
  readonly name: Network['driver'];
  /**
   * `docker network create -d NAME`: refuses (throws a DaemonRefusal) what the driver cannot
   * make on this host, before the name is checked; absent for drivers whose networks only
   * dockerd makes (host, null), which Docker then calls a missing plugin.
   */
  admit?(tx: Tx, host: string): void;
  /** Allocates the network (subnet, VNI) and emits what exists before any endpoint joins. */
  create?(tx: Tx, host: string, spec: NetworkSpec): Network;
  /**
   * `docker network rm` of a local network, once dockerd has agreed to it (libnetwork's
   * DeleteNetwork): undoes on the host what `create` made there (a bridge and its rules, a
   * parent link). Absent when `create` made nothing on the host.
   */
  remove?(tx: Tx, host: string, net: Draft<Network>): void;
  /** An endpoint's address from the driver's own IPAM (a remote IPAM plugin), instead of the network's subnet. */
  address?(tx: Tx, net: Draft<Network>, host: string): { ip: string; prefixLength: number; mac: string };
  /** Whether a container on it gets an interface of its own (host and null share the host's or no stack; a container run on host gets an endpoint that plumbs nothing, containers.ts). */
  readonly attaches: boolean;
  /** The name its Join asks libnetwork to give the container's interface (DstPrefix, numbered per prefix): eth unless said (weave's ethwe). */
  readonly interfacePrefix?: string;
  /** Why a container cannot join its networks in cnmlab, when it cannot (said before anything is made for the container). */
  readonly containersNotModelled?: string;
  /**
   * Refuses (a DaemonRefusal) a container's join that the daemon would fail, checked before
   * anything is made for it: libnetwork rolls back what it made when a Join fails.
   * `joinedBefore`: the networks the same start joins ahead of this one (not in the world yet).
   */
  refuseJoin?(tx: Tx, net: Network, host: string, joinedBefore: readonly Network[]): void;
  /** An endpoint's plan ops at join: its veth and the driver's side of it; `defaultRoute` when it carries the sandbox's gateway. */
  join(tx: Tx, net: Draft<Network>, ep: Draft<Endpoint>, defaultRoute: boolean): void;
  /** Undoes `join`; the endpoint's interface stays when its whole sandbox is going away. */
  leave(tx: Tx, net: Draft<Network>, ep: Draft<Endpoint>, sandboxGoing: boolean): void;
  /** An endpoint on it carries a gateway (and so the sandbox's default route). */
  readonly providesGateway: boolean;
  /** A container reaches the outside through an endpoint on docker_gwbridge, unless the network is internal or another gives a gateway. */
  readonly outsideThroughGwbridge: boolean;
  /**
   * Its gateway endpoint maps a container's published ports (libnetwork's
   * ProgramExternalConnectivity with port bindings, model/ports.ts): the bridge driver's; cnmlab
   * models publishing through no other.
   */
  readonly publishesPorts?: boolean;
  /** The embedded DNS server answers for the network's containers (resolv.conf points at 127.0.0.11). */
  embeddedDns(net: Network): boolean;
  /** Endpoints beyond the container's own a packet to `dst` may reach, captured too (the overlay's peer on another host). */
  peersToCapture(net: Network, dst: string | undefined, world?: World): Endpoint[];
  /** Where a packet through `ep` is seen past the container's own interface. */
  captureSpots(world: World, net: Network, ep: Endpoint): CaptureSpot[];
  /** Where a packet to `dst` off all the container's networks is seen past `ep` (its outside path): the bridge, the host's uplink it is routed out of, the remote host it reaches. */
  outsideCaptureSpots?(world: World, net: Network, ep: Endpoint, dst: string | undefined): CaptureSpot[];
  /** Topology hints: the namespace of its own the network has on each host it is instantiated on (the overlay's 1-<id>), if any. */
  networkNamespace(net: Network): DriverNamespace | undefined;
  /**
   * NetworkDB's entries between nodes `a` and `b` appear or go (one declared the other dead,
   * or they reconnected, netdb.ts): the driver's state each holds of the other's endpoints.
   * With `onlyHolder`, only that node's state changes (a daemon that stops leaves its kernel as it was).
   */
  gossip?(tx: Tx, net: Draft<Network>, a: string, b: string, op: 'add' | 'del', onlyHolder?: string): void;
  /** What a scenario's commands need of a real machine for this driver (emu): programs to run, kernel features (`ipip`). */
  needs?(commands: string[]): MachineNeeds;
  /**
   * Topology hints: where the other end of an endpoint's veth is, and the bridge it is a port
   * of; or, `stacked` (the device's kind), that the endpoint's interface is no veth but a
   * device on the host's own `peerIfname` (a macvlan on its parent), which is its only end.
   */
  endpointPeer(net: Network, host: string): { netns: string; master?: string; stacked?: string };
  /** Topology hints: what the driver made in `host`'s own namespace for all it runs there (its networks' bridges, a router), in the order drawn. */
  hostTopology?(world: World, host: string): { devices: HostDevice[]; programs: HostProgram[] };
  /** Hosts whose `hostTopology` changed between two worlds though their host records did not (a record the driver keeps elsewhere in the world). */
  hostsRedrawn?(before: World | undefined, after: World): Iterable<string>;
  /** A daemon's answer to `host`'s query for the peer at `ip` on network `networkId` that its vxlan device missed (the classic overlay's watchMiss); undefined when no member knows it. */
  resolvePeer?(world: World, host: string, networkId: string, ip: string): PeerAnswer | undefined;
  /** Every address on `networkId` a query from `host` would get answered, with its answer (emu's miss handler reads them ahead). */
  peerAnswers?(world: World, host: string, networkId: string): Record<string, PeerAnswer>;
  /**
   * The path model (sim/trace/paths/<id>.ts, by its id) a packet between two endpoints of one
   * of its networks takes; absent when its containers get no endpoint.
   */
  readonly path?: string;
  /** The path a packet between two of its endpoints takes where it depends on the hosts (weave's datapath) or the network (ipvlan's mode); `path` otherwise. */
  pathOn?(world: World, net: Network): string | undefined;
  /**
   * Every path `pathOn` may give, stated beside it: a function of a world cannot be asked for
   * them all, and `test/driver-registration.test.ts` holds each to a registered path model.
   */
  readonly pathsOn?: readonly string[];
  /** The path model of a packet leaving a container through an endpoint of it that carries the default route, to an address off all its networks. */
  readonly outsidePath?: string;
  /**
   * The host driver's: where a packet sent from a host's own namespace (a host's command, a
   * container sharing it) to `dst` is seen on its `path`, and the address it leaves from;
   * undefined for a destination that way does not model.
   */
  hostNamespaceWay?(world: World, host: string, dst: string): HostNamespaceWay | undefined;
  /** Where such a packet goes instead when the driver routes it elsewhere (ipvlan l3's host routing); undefined: a host-level driver's way (`registerHostLevel`: flannel's lease for docker0's packets), else `outsidePath`. */
  outsideWay?(world: World, host: string, net: Network, dst: string): OutsideWay | undefined;
}

/** A local-scope network record as dockerd keeps it (docker0, host, none, user bridges, docker_gwbridge). */
export function localNetwork(tx: Tx, host: string, name: string, driver: Network['driver'], subnet: string, bridge?: string, options: Record<string, string> = {}): Network {
  return {
    id: hexId(tx.rng), name, driver, scope: 'local', host, attachable: false, internal: false, ingress: false, vni: 0,
    options, labels: {}, createdNs: String(tx.now()), state: initialState(networkMachine), ipam: newIpam(subnet), allocationFailed: false, subnetConfigured: false,
    bridge, endpoints: [], instances: [],
  };
}

/** Local address pools (ipamutils): 172.17–172.31 as /16s, then 192.168.0.0/16 as /20s. */
function* localPools(): Generator<string> {
  for (let b = 17; b <= 31; b++) yield `172.${b}.0.0/16`;
  for (let c = 0; c < 256; c += 16) yield `192.168.${c}.0/20`;
}

/** The first local pool no network on `host` overlaps: a local network's subnet when `docker network create` names none. */
export function nextLocalSubnet(tx: Tx, host: string): string {
  const taken = localNetworksRead(tx, host).map((n) => parseCidr(n.ipam.subnet)).filter((c) => c !== undefined);
  for (const pool of localPools()) {
    const c = parseCidr(pool)!;
    if (!taken.some((t) => overlaps(t, c))) return pool;
  }
  throw new DaemonRefusal('could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network');
}

/**
 * A driver of dockerd's predefined networks whose containers get no interface (`host`: the
 * container shares the host's stack; `null`, the `none` network: only its loopback).
 * libnetwork still records an endpoint on it, which its driver plumbs nothing for (drivers/host
 * and drivers/null: Join and Leave do nothing, and no address); `docker network create`
 * cannot make one.
 */
export function noEndpointsDriver(name: 'host' | 'null'): NetworkDriver {
  return {
    name,
    attaches: false,
    address: () => ({ ip: '', prefixLength: 0, mac: '' }),
    join: (_tx, _net, ep) => {
      ep.state = advance(endpointMachine, ep.state, 'JOIN');
    },
    leave: (_tx, _net, ep) => {
      ep.state = advance(endpointMachine, ep.state, 'LEAVE');
    },
    providesGateway: false,
    outsideThroughGwbridge: false,
    embeddedDns: () => false,
    peersToCapture: () => [],
    captureSpots: () => [],
    networkNamespace: () => undefined,
    endpointPeer: (_net, host) => ({ netns: host, master: '' }),
  };
}

/** A host's uplink as a capture sees it: its eth0 in the host's namespace and that device's port on the underlay, both holding `address`. */
export function uplinkSpots(host: string, address: string, forwards?: true): CaptureSpot[] {
  return [
    { host, netns: host, device: 'eth0', role: 'host', mine: [address], ...(forwards ? { forwards } : {}) },
    { host, netns: host, device: 'eth0', role: 'underlay', mine: [address] },
  ];
}

/** The scenario host other than `host` whose underlay address is `address`. */
export function hostByUnderlay(world: World, host: string, address: string | undefined): string | undefined {
  return world.hostOrder.find((h) => h !== host && hostOf(world, h).underlay === address);
}
