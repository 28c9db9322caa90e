/**
 * The model's whole state: one immutable (immer) value. Collections are sharded by host
 * and by network so that one scenario step copies only small maps, which keeps a
 * 10,000-container swarm cheap to step through.
 */
import { initialState, swarmNodeMachine } from './machines';

export const GWBRIDGE = 'docker_gwbridge';
export const OVERLAY_MTU = 1450;
export const VXLAN_PORT = 4789;
/** 2026-01-01T00:00:00Z: the virtual clock's start, so no wall-clock value enters a result. */
export const EPOCH_NS = 1_767_225_600_000_000_000n;

export type NodeState = 'inactive' | 'manager' | 'worker' | 'left';

export interface Ipam {
  /** Subnet in CIDR form; empty when the allocation failed. */
  subnet: string;
  gateway: string;
  /** Serial allocation: the next host offset to try. */
  next: number;
  /** Host offset → endpoint id, in buckets of 16 offsets (immer copies only the bucket it changes). */
  used: Record<number, Record<number, string>>;
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
  driver: 'overlay' | 'bridge' | 'host' | 'null';
  scope: 'swarm' | 'local';
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
  /** Linux bridge name for bridge networks (docker0, docker_gwbridge, br-<id12>). */
  bridge?: string;
  /** By id, in buckets named by the id's first character (see endpointsOf). */
  endpoints: Record<string, Record<string, Endpoint>>;
  /** Per host where the network is instantiated (overlay only), in host buckets (see instanceOf). */
  instances: Record<string, Record<string, OverlayInstance>>;
}

export interface Container {
  id: string;
  name: string;
  host: string;
  image: string;
  command: string[];
  state: string;
  autoRemove: boolean;
  interactive: boolean;
  createdNs: string;
  startedNs?: string;
  hostname: string;
  /** The sandbox namespace (first 12 characters of the sandbox id). */
  sandbox: string;
  sandboxId: string;
  sandboxState: string;
  /** Network ids in attachment order, with the requested aliases and address. */
  networks: { networkId: string; endpointId?: string; aliases: string[]; ip?: string }[];
  /** The docker_gwbridge endpoint when the container is on an overlay. */
  gatewayEndpoint?: string;
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
  /** Names of namespaces Docker made on this host, in creation order. */
  namespaces: string[];
  /** Counter for the random-looking host-side veth names. */
  vethSerial: number;
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
  /** Swarm networks by id, in buckets named by the id's first character (see swarmNetwork). */
  networks: Record<string, Record<string, Network>>;
  /** Host names of the nodes, in join order. */
  nodes: string[];
}

export interface World {
  seed: number;
  rng: number;
  /** Virtual nanoseconds since EPOCH_NS. */
  clockNs: number;
  hostOrder: string[];
  /**
   * Hosts in buckets (see hostBucket): immer copies a record it changes, so a step that
   * touches one host copies a bucket of a few dozen, not a thousand hosts.
   */
  hosts: Record<string, Record<string, Host>>;
  swarm: Swarm | null;
}

const HOST_BUCKETS = 64;

/** Every endpoint of a network (buckets keep immer's copies small; callers see one list). */
export function endpointsOf<E>(net: { endpoints: Record<string, Record<string, E>> }): E[] {
  const all: E[] = [];
  for (const bucket of Object.values(net.endpoints)) for (const e of Object.values(bucket)) all.push(e);
  return all;
}

export function endpointOf<E>(net: { endpoints: Record<string, Record<string, E>> }, id: string): E | undefined {
  return net.endpoints[id[0]]?.[id];
}

/** A swarm network by id (buckets keep immer's copies small: a step copies a few networks' bucket, not a hundred). */
export function swarmNetwork<N>(swarm: { networks: Record<string, Record<string, N>> } | null | undefined, id: string): N | undefined {
  return swarm?.networks[id[0]]?.[id];
}

/** Every swarm network (in bucket order; callers that show them sort). */
export function swarmNetworks<N>(swarm: { networks: Record<string, Record<string, N>> } | null | undefined): N[] {
  const all: N[] = [];
  if (swarm) for (const bucket of Object.values(swarm.networks)) for (const n of Object.values(bucket)) all.push(n);
  return all;
}

/** The network's instance on a host (buckets keep immer's copies small when a thousand hosts join ingress). */
export function instanceOf<I>(net: { instances: Record<string, Record<string, I>> }, host: string): I | undefined {
  return net.instances[hostBucket(host)]?.[host];
}

/** Hosts where the network is instantiated (in bucket order). */
export function instanceHosts(net: { instances: Record<string, Record<string, unknown>> }): string[] {
  const hosts: string[] = [];
  for (const bucket of Object.values(net.instances)) for (const h of Object.keys(bucket)) hosts.push(h);
  return hosts;
}

export function setInstance(net: { instances: Record<string, Record<string, OverlayInstance>> }, host: string, inst: OverlayInstance): void {
  (net.instances[hostBucket(host)] ??= {})[host] = inst;
}

export function deleteInstance(net: { instances: Record<string, Record<string, OverlayInstance>> }, host: string): void {
  delete net.instances[hostBucket(host)]?.[host];
}

export function hostBucket(name: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193) >>> 0;
  return `b${h % HOST_BUCKETS}`;
}

export function hostOf<H extends Host>(w: { hosts: Record<string, Record<string, H>> }, name: string): H {
  return w.hosts[hostBucket(name)]?.[name];
}

export function bucketHosts(hosts: Host[]): Record<string, Record<string, Host>> {
  const buckets: Record<string, Record<string, Host>> = {};
  for (const h of hosts) (buckets[hostBucket(h.name)] ??= {})[h.name] = h;
  return buckets;
}

export function emptyHost(name: string, underlay: string, underlayPrefix = 24): Host {
  return {
    name, underlay, underlayPrefix, nodeState: initialState(swarmNodeMachine) as NodeState, nodeId: '', gossipName: '',
    netnsLinked: false, containers: {}, localNetworks: {}, namespaces: [], vethSerial: 0,
  };
}

/** RFC 3339 with nanoseconds, as Docker prints Created (trailing zeros trimmed, like Go). */
export function formatTime(clockNs: number): string {
  const total = EPOCH_NS + BigInt(clockNs);
  const ms = Number(total / 1_000_000n);
  const frac = (total % 1_000_000_000n).toString().padStart(9, '0').replace(/0+$/, '');
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, frac ? `.${frac}Z` : 'Z');
}
