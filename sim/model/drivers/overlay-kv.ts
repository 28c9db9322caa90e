/**
 * Docker's overlay before swarm mode ("classic" mode): dockerd started with
 * `--cluster-store=etcd://…` (or consul://) and `--cluster-advertise=eth0:2376`. The daemon
 * side (the flags, `docker info`), the mode's networks (global scope, kept in the store and
 * so seen by every dockerd of the cluster) and the overlay driver's control plane of that
 * mode: serf between the dockerds, not NetworkDB.
 *
 * Facts from moby and libnetwork at v20.10 (read, not copied):
 * - daemon/config ParseClusterAdvertiseSettings: --cluster-advertise without --cluster-store
 *   stops dockerd (how its error is printed is not modelled); pkg/discovery ParseAdvertise turns
 *   `IFACE:PORT` into the interface's IPv4 address and the port, which `docker info` prints.
 * - docker/cli info.go prints " Cluster Store:" and " Cluster Advertise:" after
 *   " Experimental:", each only when set.
 * - The store holds the networks, their endpoints (global scope), the VNI allocator and
 *   discovery's node list. The driver's data scope is global (overlay.go); a network has no
 *   VNI until its first endpoint joins somewhere (obtainVxlanID), which takes the store's
 *   "vxlan-id" allocator's next, serially from 256 (vxlanIDStart); the network's
 *   namespace is `<initEpoch>-<id>` cut to 12 characters (ov_network.go initSandbox); the
 *   address pool is the first free /24 of 10.0.0.0/8 (ipamutils' global-scope defaults).
 * - Peers are not read from the store. Each dockerd runs serf on its advertised address
 *   (ov_serf.go). A join (Join → pushLocalEndpointEvent) is a serf user event "jl VTEP NID
 *   EID" / "join IP MASK MAC" that every other member's processEvent turns into peerAdd: a
 *   permanent neighbour and FDB entry on vxlan0 if its sandbox exists, else only the
 *   peer database, which the sandbox replays when it is made (initSandboxPeerDB). A leave
 *   is a "leave" event and peerDelete. Events reach a member within a gossip round (200 ms)
 *   and serf's 50 ms quiescent period; the model applies them in the step that sent them,
 *   as it does NetworkDB's.
 * - Discovery tells each dockerd of the others (nodeJoin): a driver joins serf once
 *   (joinOnce), with ignoreOld, and then pushes its own endpoints as events (pushLocalDb).
 *   So a dockerd that joins a cluster whose members have all joined already hears of no
 *   endpoint made before it came: nobody pushes them again, and serf withholds old events
 *   from it. Those peers it learns only on a miss.
 * - The miss: vxlan0 is made with `proxy l2miss l3miss` (createVxlan), and in this mode the
 *   driver subscribes to the overlay namespace's neighbour notifications (initSandbox,
 *   watchMiss). An l3miss (an ARP request vxlan0 could not answer) or an l2miss (a frame
 *   for a MAC without FDB entry, whose IP is the MAC's last four bytes) in the network's
 *   subnet is resolved with a serf query "peerlookup" ("NID IP"), answered by any member
 *   whose peer database has the address ("MAC MASK VTEP"), given up after 1 s; the answer
 *   is programmed as a permanent neighbour and FDB entry (peerAdd with eid "dummy"). The
 *   container's ARP, sent again after its second, is then answered by vxlan0.
 */
import { Draft } from 'immer';
import { cidrString, maskOf, numberToIpv4, overlaps, parseCidr } from '../../wire/addr';
import { hexId } from '../ids';
import { newIpam, release } from '../ipam';
import { initialState, networkMachine } from '../machines';
import { NotModelled } from '../refusal';
import { Tx } from '../tx';
import { Endpoint, endpointsOf, Host, hostOf, inSwarm, instanceOf, KvCluster, KvPeer, Network, World } from '../world';
import { CLUSTER_STORE, MachineNeeds, NetworkSpec, PeerAnswer } from './driver';

/** A peer's static neighbour and FDB entries on vxlan0, one peer at a time as serf's events and watchMiss program them (libnetwork peerAdd/peerDelete). */
function emitPeer(tx: Tx, op: 'add' | 'del', host: string, netns: string, ep: Pick<Endpoint, 'ip' | 'mac'>, vtep: string): void {
  tx.emit(
    { op: op === 'add' ? 'neigh.add' : 'neigh.del', host, netns, dev: 'vxlan0', ip: ep.ip, mac: ep.mac },
    { op: op === 'add' ? 'fdb.add' : 'fdb.del', host, netns, dev: 'vxlan0', mac: ep.mac, dst: vtep },
  );
}

/** The store backends pkg/discovery/kv registers that cnmlab accepts: etcd (packaged, emu's real store) and consul. */
const STORE_SCHEMES = ['etcd', 'consul'];

export interface ClusterFlags {
  store?: string;
  advertise?: string;
}

/** `--flag=value` or `--flag value`, as dockerd's pflag takes them; anything else is not modelled. */
export function parseDockerdFlags(args: readonly string[]): ClusterFlags {
  const flags: ClusterFlags = {};
  for (let i = 0; i < args.length; i++) {
    const m = /^--(cluster-store|cluster-advertise)(?:=(.*))?$/.exec(args[i]);
    if (!m) throw new NotModelled(`dockerd ${args[i]} (only --cluster-store and --cluster-advertise are)`);
    const value = m[2] ?? args[++i];
    if (value === undefined) throw new NotModelled(`dockerd --${m[1]} without a value`);
    if (m[1] === 'cluster-store') flags.store = value;
    else flags.advertise = value;
  }
  return flags;
}

/** The store's URL, checked for a backend cnmlab accepts. */
function checkStore(url: string): string {
  const m = /^([a-z]+):\/\/[^/\s]+$/.exec(url);
  if (!m || !STORE_SCHEMES.includes(m[1])) throw new NotModelled(`--cluster-store=${url} (etcd://HOST:PORT and consul://HOST:PORT are)`);
  return url;
}

/** ParseAdvertise: `eth0:PORT` is the host's underlay address and the port; an address and port stay as they are. */
function resolveAdvertise(h: Host, advertise: string): string {
  const m = /^([^:]+):(\d+)$/.exec(advertise);
  if (m && m[1] === 'eth0') return `${h.underlay}:${m[2]}`;
  if (m && /^\d+\.\d+\.\d+\.\d+$/.test(m[1])) return advertise;
  throw new NotModelled(`--cluster-advertise=${advertise} (eth0:PORT and ADDRESS:PORT are)`);
}

/**
 * `dockerd --cluster-store=URL --cluster-advertise=eth0:PORT` on a host: its dockerd is
 * replaced by one with these flags (before any container exists, as flannel's restart is),
 * and goes on in the background.
 */
export function restartDockerWithClusterStore(tx: Tx, host: string, args: readonly string[]): void {
  const flags = parseDockerdFlags(args);
  const h = tx.host(host);
  if (flags.advertise !== undefined && flags.store === undefined) throw new NotModelled('dockerd --cluster-advertise without --cluster-store (dockerd refuses to start)');
  if (Object.keys(h.containers).length > 0) throw new NotModelled('restarting dockerd with containers (it would stop them)');
  if (inSwarm(h.nodeState)) throw new NotModelled('a cluster store on a swarm node');
  const store = flags.store === undefined ? undefined : checkStore(flags.store);
  const advertise = flags.advertise === undefined ? undefined : resolveAdvertise(h, flags.advertise);
  if (store && tx.w.kv && tx.w.kv.store !== store && tx.w.kv.members.some((m) => m !== host)) throw new NotModelled(`hosts on different cluster stores (${tx.w.kv.store} and ${store})`);
  // The dockerd before it leaves the cluster (serf's graceful leave), and takes its copies of the store's networks with it.
  leaveCluster(tx, host);
  // A dockerd started without a flag has no such setting, whatever the one before it had.
  delete h.clusterStore;
  delete h.clusterAdvertise;
  if (store !== undefined) h.clusterStore = store;
  if (advertise !== undefined) h.clusterAdvertise = advertise;
  if (store !== undefined) {
    // dockerd connects to the store as it starts (emu starts the real one then).
    tx.emit({ op: 'kv.start', host, netns: host });
    if (advertise !== undefined) joinCluster(tx, host, store);
  }
}

/** The address a member's peers reach its VTEP at: its advertised address (the driver's advertiseAddress). */
function vtepOf(w: World | Draft<World>, host: string): string {
  return hostOf(w, host).clusterAdvertise!.split(':')[0];
}

function cluster(tx: Tx): Draft<KvCluster> {
  return tx.w.kv!;
}

/** The store's networks, as a member's dockerd holds them (every member holds a copy). */
function storeNetworks(w: World | Draft<World>, host: string): (Network | Draft<Network>)[] {
  return Object.values(hostOf(w, host).localNetworks).filter((n) => isClassic(n));
}

/** A network of the cluster store's overlay (not another driver's global network, Calico's). */
function isClassic(n: Network | Draft<Network>): boolean {
  return n.scope === 'global' && n.driver === 'overlay';
}

/**
 * A dockerd with a store and an advertised address comes up: discovery registers it and
 * tells it of the others, its driver joins serf through the last of them (nodeJoin, once),
 * and each member whose driver had not joined anyone yet joins it in turn and pushes its
 * endpoints (pushLocalDb). The joiner itself has no endpoints yet (a restart with
 * containers is not modelled), and serf gives it no event older than its join.
 */
function joinCluster(tx: Tx, host: string, store: string): void {
  const kv = (tx.w.kv ??= { store, members: [], joined: [], peerDb: {}, nextVni: VXLAN_ID_START });
  kv.store = store;
  const others = kv.members.filter((m) => m !== host);
  // Every dockerd of the cluster sees the store's networks.
  if (others.length > 0) {
    // A restart step makes no network: the world as the step began holds them all.
    for (const n of storeNetworks(tx.before, others[0])) tx.host(host).localNetworks[n.id] = { ...n, host, endpoints: [], instances: [] };
  }
  kv.members.push(host);
  kv.peerDb[host] = {};
  if (others.length === 0) return;
  kv.joined.push(host);
  for (const m of others) {
    if (kv.joined.includes(m)) continue;
    kv.joined.push(m);
    for (const net of storeNetworks(tx.w, m)) {
      for (const ep of endpointsOf(net)) if (ep.host === m && ep.state === 'joined') serfEvent(tx, m, net.id, peerOf(tx, ep), 'join');
    }
  }
}

function leaveCluster(tx: Tx, host: string): void {
  const kv = tx.w.kv;
  if (!kv || !kv.members.includes(host)) return;
  kv.members = kv.members.filter((m) => m !== host);
  kv.joined = kv.joined.filter((m) => m !== host);
  delete kv.peerDb[host];
  const h = tx.host(host);
  for (const n of storeNetworks(tx.w, host)) delete h.localNetworks[n.id];
}

function peerOf(tx: Tx, ep: Endpoint | Draft<Endpoint>): KvPeer {
  return { eid: ep.id, ip: ep.ip, prefixLength: ep.prefixLength, mac: ep.mac, vtep: vtepOf(tx.w, ep.host) };
}

/**
 * A serf user event from `from` about one of its endpoints, as every other member's
 * processEvent takes it: the peer database first, then vxlan0's entries where the
 * network's sandbox exists. A leave takes the entries away (peerDeleteOp).
 */
function serfEvent(tx: Tx, from: string, nid: string, peer: KvPeer, action: 'join' | 'leave'): void {
  const kv = cluster(tx);
  for (const r of kv.members) {
    if (r === from) continue;
    const db = (kv.peerDb[r][nid] ??= []);
    const at = db.findIndex((p) => p.eid === peer.eid);
    if (action === 'join' && at >= 0) continue;
    if (action === 'leave' && at < 0) continue;
    if (action === 'join') db.push(peer);
    else db.splice(at, 1);
    const copy = tx.host(r).localNetworks[nid];
    const inst = copy && instanceOf(copy, r);
    if (inst) emitPeer(tx, action === 'join' ? 'add' : 'del', r, inst.netns, peer, peer.vtep);
  }
}

/** initSandboxPeerDB: the sandbox just made gets every peer the database holds for the network. */
export function replayPeerDb(tx: Tx, net: Draft<Network>, host: string, netns: string): void {
  for (const p of cluster(tx).peerDb[host]?.[net.id] ?? []) emitPeer(tx, 'add', host, netns, p, p.vtep);
}

/** obtainVxlanID: the network's VNI from the store's allocator at its first join anywhere, the same on every member's copy. */
export function obtainVxlanId(tx: Tx, net: Draft<Network>): void {
  if (net.vni !== 0) return;
  const kv = cluster(tx);
  const vni = kv.nextVni++;
  for (const m of kv.members) {
    const copy = tx.host(m).localNetworks[net.id];
    if (copy) copy.vni = vni;
  }
}

/** An endpoint joined or left on its host: the event to the cluster, and the store's address pool as every member reads it. */
export function publishClassic(tx: Tx, net: Draft<Network>, ep: Draft<Endpoint>, action: 'join' | 'leave'): void {
  serfEvent(tx, ep.host, net.id, peerOf(tx, ep), action);
  for (const m of cluster(tx).members) {
    if (m === ep.host) continue;
    const copy = tx.host(m).localNetworks[net.id];
    if (!copy) continue;
    // The pool lives in the store: an address taken on one host is taken for all; a released one is free for all (its own copy releases it as the endpoint goes).
    if (action === 'join') copy.ipam = net.ipam;
    else copy.ipam = release(copy.ipam, ep.ip);
  }
}

/** The subscription watchMiss makes in the namespace it was made for (only when serf runs: always, in this mode). */
export function watchMiss(tx: Tx, net: Draft<Network>, host: string, netns: string): void {
  tx.emit({ op: 'miss.watch', host, netns, dev: 'vxlan0', network: net.id, subnet: net.ipam.subnet });
}

/**
 * resolvePeer: the serf query `host` sends for `ip` on network `nid`, and the first answer,
 * from the members' peer databases (processQuery's peerDbSearch, which finds a member's own
 * endpoints too); undefined when no member knows the address (the query times out after 1 s).
 */
export function peerLookup(w: World, host: string, nid: string, ip: string): PeerAnswer | undefined {
  const kv = w.kv;
  if (!kv || !kv.members.includes(host)) return undefined;
  let known: PeerAnswer | undefined;
  for (const m of kv.members) {
    if (m === host) continue;
    const own = hostOf(w, m).localNetworks[nid];
    const ep = own && endpointsOf(own).find((e) => e.host === m && e.ip === ip && e.state === 'joined');
    if (ep) return answer(ep.mac, ep.prefixLength, vtepOf(w, m), m);
    const p = kv.peerDb[m]?.[nid]?.find((e) => e.ip === ip);
    known ??= p && answer(p.mac, p.prefixLength, p.vtep, m);
  }
  return known;
}

/** An answer, with its payload as processQuery writes it: "MAC MASK VTEP", the mask dotted. */
function answer(mac: string, prefixLength: number, vtep: string, answeredBy: string): PeerAnswer {
  return { mac, prefixLength, vtep, answeredBy, payload: `${mac} ${numberToIpv4(maskOf(prefixLength))} ${vtep}` };
}

/** Every address a query from `host` on `nid` would get answered, with its answer (emu's miss handler reads them). */
export function peerAnswers(w: World, host: string, nid: string): Record<string, PeerAnswer> {
  const out: Record<string, PeerAnswer> = {};
  for (const m of w.kv?.members ?? []) {
    const own = hostOf(w, m).localNetworks[nid];
    for (const ep of own ? endpointsOf(own) : []) {
      if (ep.host !== m) continue;
      const a = peerLookup(w, host, nid, ep.ip);
      if (a) out[ep.ip] = a;
    }
  }
  return out;
}

/** libnetwork's vxlanIDStart: the first VNI of the store's allocator. */
export const VXLAN_ID_START = 256;
/** ipamutils' global-scope default pools: 10.0.0.0/8 in /24s. */
const GLOBAL_POOL = { base: 0x0a000000, prefixLength: 8 };
const GLOBAL_POOL_SIZE = 24;

/**
 * `docker network create -d overlay NAME` on a dockerd with a cluster store: a global-scope
 * network with a 64-hex id, the first free /24 of the global pool, no VNI yet, kept in the
 * store (each member holds a copy).
 */
export function createClassicNetwork(tx: Tx, host: string, spec: NetworkSpec): Network {
  const h = tx.host(host);
  if (!h.clusterAdvertise || !tx.w.kv?.members.includes(host)) throw new NotModelled('overlay networks of a dockerd with a cluster store but no --cluster-advertise (discovery does not start)');
  const kv = cluster(tx);
  const used = kv.members.flatMap((m) => storeNetworks(tx.w, m)).map((n) => parseCidr(n.ipam.subnet)).filter((c) => c !== undefined);
  let subnet = spec.subnet;
  const step = 2 ** (32 - GLOBAL_POOL_SIZE);
  for (let i = 0; !subnet && i < 2 ** (GLOBAL_POOL_SIZE - GLOBAL_POOL.prefixLength); i++) {
    const c = { base: ((GLOBAL_POOL.base & maskOf(GLOBAL_POOL.prefixLength)) >>> 0) + i * step, prefixLength: GLOBAL_POOL_SIZE };
    if (!used.some((u) => overlaps(u, c))) subnet = cidrString(c);
  }
  const net: Network = {
    id: hexId(tx.rng), name: spec.name, driver: 'overlay', scope: 'global', host, attachable: spec.attachable, internal: spec.internal, ingress: false,
    vni: 0, options: spec.options, labels: spec.labels, createdNs: String(tx.now()), state: initialState(networkMachine),
    ipam: newIpam(subnet!, spec.gateway), allocationFailed: false, subnetConfigured: spec.subnet !== undefined, endpoints: [], instances: [],
  };
  for (const m of kv.members) tx.host(m).localNetworks[net.id] = { ...net, host: m };
  return h.localNetworks[net.id];
}

/** `docker info`'s lines for the mode, each only when set (docker/cli fprintlnNonEmpty). */
export function clusterInfoLines(h: Host): string[] {
  return [
    ...(h.clusterStore ? [` Cluster Store: ${h.clusterStore}`] : []),
    ...(h.clusterAdvertise ? [` Cluster Advertise: ${h.clusterAdvertise}`] : []),
  ];
}

/** A dockerd restarted on a cluster store (classic mode) needs the store on a real machine. */
export function classicModeNeeds(commands: string[]): MachineNeeds {
  return { programs: commands.some((c) => /^(sudo\s+)?dockerd\s.*--cluster-store\b/.test(c.trim())) ? CLUSTER_STORE : [], kernel: [] };
}
