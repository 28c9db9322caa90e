/**
 * Weave Net 2.8 as it ran with Docker (weaveworks/weave: the `weave` script, prog/weaver,
 * net/bridge.go, plugin/, ipam/). `weave launch [PEER…]` starts the router container
 * (weaver) on a host, with its Docker plugin (network driver and IPAM driver `weavemesh`,
 * whose network `weave` it creates) and its proxy. The router makes the `weave` bridge
 * (its MAC is the router's peer name) and, in sleeve mode (`--no-fastdp`, WEAVE_NO_FASTDP),
 * the veth pair vethwe-bridge/vethwe-pcap on which it captures and injects frames; the
 * bridge's MTU is then 65535 unless WEAVE_MTU says otherwise (bridgeImpl.initPrep, through
 * the temporary dummy vethwedu, since a bridge takes its ports' lowest MTU).
 *
 * Routers connect to the peers they are given, then to every peer gossip tells them of:
 * the mesh is full (TCP 6783). Each peer has a name (a MAC) and a 12-bit short id.
 *
 * IPAM: the range 10.32.0.0/12 is one ring. When the first address is asked for, the
 * peers then connected agree (paxos) and the ring is divided between them in CIDR-aligned
 * halves in the order of their names (ring.ClaimForPeers); a peer that joins later gets half
 * of the largest free run of a peer that has space (Space.Donate). Each peer hands out the
 * lowest free address of its own ranges, never the range's first or last address; every
 * address carries the whole range's mask, /12.
 *
 * `docker run --net=weave`: the plugin's CreateEndpoint makes vethwl<endpoint id[:9]> on
 * the bridge (MTU the bridge's) and vethwg…, whose MAC it reports; Join asks for the name
 * prefix ethwe (libnetwork names it ethwe0). The IPAM driver gives a fake gateway (the
 * network address), so the container's default route is docker_gwbridge's.
 */
import { Draft } from 'immer';
import { numberToIpv4, ipv4ToNumber } from '../../wire/addr';
import { hexId, randomUint32 } from '../ids';
import { advance, endpointMachine } from '../machines';
import { DaemonRefusal, NotModelled } from '../refusal';
import { plugContainerEnd } from '../sandbox';
import { Tx } from '../tx';
import { Endpoint, hostOf, Network, shardValues, WeaveMesh, WeavePeer, World } from '../world';
import { CaptureSpot, DUMMY_DEVICES, HostDevice, HostProgram, KernelFeature, localNetwork, MachineNeeds, NetworkDriver } from './driver';
import { registerDriver } from './index';
import { WeavePeerRef, WeaveRouterConfig } from '../../plan/ops';
import { SLEEVE_PORT } from '../../wire/sleeve';
import { byteCompare } from '../../text/natural';
import { registerUdpPort } from '../../wire/ports';
import { withGateway } from '../ipam';

export const WEAVE_BRIDGE = 'weave';
export const WEAVE_NETWORK = 'weave';
export const BRIDGE_IF = 'vethwe-bridge';
export const PCAP_IF = 'vethwe-pcap';
/** fastdp: the Open vSwitch datapath, the veth end that is its vport, and its VXLAN vport on the router's port + 1. */
export const DATAPATH = 'datapath';
export const DATAPATH_IF = 'vethwe-datapath';
export const FASTDP_PORT = 6784;
export const VXLAN_VPORT = `vxlan-${FASTDP_PORT}`;
// The fast datapath's VXLAN port: its datagrams decode as VXLAN (tshark: -d udp.port==6784,vxlan).
registerUdpPort(FASTDP_PORT, 'vxlan');
/** fastdpImpl.init: GCE's 1460 less VXLAN's 50 and IPsec ESP's 34. */
export const FASTDP_MTU = 1376;
/** The range weave launch gives the router unless --ipalloc-range says otherwise. */
export const IPALLOC_RANGE = '10.32.0.0/12';
const RANGE_START = ipv4ToNumber('10.32.0.0');
const RANGE_END = RANGE_START + 2 ** 20;
const RANGE_PREFIX = 12;
/** sleeve's DefaultMTU, the bridge's MTU in sleeve mode without WEAVE_MTU (bridgeImpl.initPrep). */
export const SLEEVE_BRIDGE_MTU = 65535;
/** The router's control port (TCP: the mesh) and sleeve's UDP port. */
export const WEAVE_PORT = 6783;
/** The router's HTTP API (weave status reads it), on loopback. */
const HTTP_PORT = 6784;
const STATUS_PORT = 6782;

/** A `weave …` command the model cannot answer, or the script's own refusal: its text and exit code. */
export class WeaveError extends Error {
  constructor(message: string, readonly exitCode = 1) {
    super(message);
  }
}

function mesh(tx: Tx): Draft<WeaveMesh> {
  return (tx.w.weave ??= { peers: {}, ringClaimed: false, connections: [] });
}

export function weavePeerOn(world: World, host: string): WeavePeer | undefined {
  return world.weave?.peers[host];
}

/** A random MAC, locally administered and unicast, as the kernel (or mesh's random peer name) draws one. */
function randomMac(tx: Tx): string {
  const hex = hexId(tx.rng, 12);
  const first = (parseInt(hex.slice(0, 2), 16) & 0xfe) | 0x02;
  return [first.toString(16).padStart(2, '0'), ...[2, 4, 6, 8, 10].map((i) => hex.slice(i, i + 2))].join(':');
}

/**
 * `weave launch [--no-fastdp] [PEER…]`: the router container, its bridge and devices, its
 * plugin's network, and connections to the peers named (and, through gossip, their peers).
 * Prints the router container's id, as the script does.
 */
export function weaveLaunch(tx: Tx, host: string, args: string[]): string {
  const m = mesh(tx);
  if (m.peers[host]) throw new WeaveError('weave is already running; you can stop it with \'weave stop\'.', 3);
  const fastdp = !args.includes('--no-fastdp');
  const unknown = args.find((a) => a.startsWith('-') && a !== '--no-fastdp');
  if (unknown) throw new NotModelled(`weave launch ${unknown}`);
  const targets = args.filter((a) => !a.startsWith('-')).map((a) => resolvePeer(tx, a));
  const peer: WeavePeer = {
    host, name: randomMac(tx), nickname: host, shortId: randomUint32(tx.rng) & 0xfff, datapath: fastdp ? 'fastdp' : 'sleeve', address: tx.underlayOf(host),
    targets, containerId: hexId(tx.rng), ranges: [], allocated: {}, networkId: '', launchedNs: tx.now(),
  };
  m.peers[host] = peer;
  makeBridge(tx, peer);
  weaveFirewall(tx, host);
  // The new router dials every peer it learns of that it has no connection with yet.
  for (const other of connectedPeers(m, peer)) {
    if (!m.connections.some((c) => (c.from === host && c.to === other.host) || (c.to === host && c.from === other.host))) {
      // The dialling side's source port, from the ephemeral range (ip_local_port_range).
      m.connections.push({ from: host, to: other.host, sourcePort: 32768 + (randomUint32(tx.rng) % (60999 - 32768 + 1)) });
    }
  }
  const net = localNetwork(tx, host, WEAVE_NETWORK, 'weavemesh', IPALLOC_RANGE);
  net.ipamDriver = 'weavemesh';
  net.ipam = withGateway(net.ipam, numberToIpv4(RANGE_START));
  tx.host(host).localNetworks[net.id] = net;
  m.peers[host].networkId = net.id;
  for (const p of Object.values(m.peers)) emitRouter(tx, p);
  return `${peer.containerId}\n`;
}

/** A peer named on weave launch: an address, or a scenario host's name (resolved as DNS would). */
function resolvePeer(tx: Tx, arg: string): string {
  const addr = arg.replace(/:\d+$/, '');
  if (/^\d+\.\d+\.\d+\.\d+$/.test(addr)) return addr;
  if (tx.w.hostOrder.includes(addr)) return tx.underlayOf(addr);
  throw new WeaveError(`weave launch: no address for peer ${arg}`);
}

/**
 * The bridge and what joins it to the router (net/bridge.go): sleeve's veth pair to
 * vethwe-pcap (bridgeImpl), or fastdp's Open vSwitch datapath `datapath` and the pair to its
 * vport vethwe-datapath (bridgedFastdpImpl: the datapath first, then the bridge). Then the
 * router's sockets; fastdp's router adds the datapath's VXLAN vport, vxlan-6784.
 */
function makeBridge(tx: Tx, p: WeavePeer): void {
  const host = p.host, netns = host;
  const mtu = bridgeMtu(p);
  const other = p.datapath === 'fastdp' ? DATAPATH_IF : PCAP_IF;
  if (p.datapath === 'fastdp') {
    tx.emit(
      { op: 'odp.datapath', host, netns, name: DATAPATH },
      { op: 'link.set', host, netns, name: DATAPATH, mtu },
    );
  }
  tx.emit(
    { op: 'link.add', host, netns, name: WEAVE_BRIDGE, kind: { type: 'bridge' } },
    { op: 'link.set', host, netns, name: WEAVE_BRIDGE, mac: p.name },
    // A bridge takes its ports' lowest MTU: a dummy with the MTU wanted, enslaved and deleted, leaves it there.
    { op: 'link.add', host, netns, name: 'vethwedu', kind: { type: 'dummy' }, mtu },
    { op: 'link.set', host, netns, name: 'vethwedu', master: WEAVE_BRIDGE },
    { op: 'link.del', host, netns, name: 'vethwedu' },
    { op: 'link.add', host, netns, name: BRIDGE_IF, kind: { type: 'veth', peer: other }, mtu },
    { op: 'link.set', host, netns, name: BRIDGE_IF, master: WEAVE_BRIDGE },
    { op: 'link.set', host, netns, name: BRIDGE_IF, up: true },
    { op: 'link.set', host, netns, name: other, up: true },
    ...(p.datapath === 'fastdp' ? [
      { op: 'odp.vport' as const, host, netns, datapath: DATAPATH, vport: { type: 'netdev' as const, dev: DATAPATH_IF } },
      { op: 'link.set' as const, host, netns, name: DATAPATH, up: true },
    ] : []),
    { op: 'link.set', host, netns, name: WEAVE_BRIDGE, up: true },
    { op: 'socket.listen', host, netns, socket: { proto: 'tcp', address: '*', port: WEAVE_PORT, process: 'weaver' } },
    { op: 'socket.listen', host, netns, socket: { proto: 'udp', address: '0.0.0.0', port: SLEEVE_PORT, process: 'weaver' } },
    { op: 'socket.listen', host, netns, socket: { proto: 'tcp', address: '127.0.0.1', port: HTTP_PORT, process: 'weaver' } },
    { op: 'socket.listen', host, netns, socket: { proto: 'tcp', address: '127.0.0.1', port: STATUS_PORT, process: 'weaver' } },
  );
  if (p.datapath === 'fastdp') tx.emit({ op: 'odp.vport', host, netns, datapath: DATAPATH, vport: { type: 'vxlan', name: VXLAN_VPORT, dstport: FASTDP_PORT } });
}

/** The MTU the bridge, its veths and the containers' get without WEAVE_MTU: fastdp's 1376, sleeve's 65535. */
function bridgeMtu(p: WeavePeer | Draft<WeavePeer>): number {
  return p.datapath === 'fastdp' ? FASTDP_MTU : SLEEVE_BRIDGE_MTU;
}

/**
 * ConfigureIPTables (net/bridge.go), as weave launch runs it beside Docker (no network policy
 * controller): INPUT keeps docker0's containers off the router's ports, FORWARD's rules at the
 * top let the bridge's traffic through Docker's DROP policy, WEAVE-EXPOSE and nat's WEAVE wait
 * for weave expose.
 */
function weaveFirewall(tx: Tx, host: string): void {
  const netns = host;
  const dockerBridgeIp = '172.17.0.1';
  const rules: string[][] = [
    ...[['tcp', WEAVE_PORT], ['udp', WEAVE_PORT], ['udp', WEAVE_PORT + 1]].map(([proto, port]) => ['-t', 'filter', '-A', 'INPUT', '-i', 'docker0', '-p', String(proto), '--dst', dockerBridgeIp, '--dport', String(port), '-j', 'DROP']),
    ['-t', 'filter', '-A', 'INPUT', '-i', 'docker0', '-p', 'udp', '--dport', '53', '-j', 'ACCEPT'],
    ['-t', 'filter', '-A', 'INPUT', '-i', 'docker0', '-p', 'tcp', '--dport', '53', '-j', 'ACCEPT'],
    ['-t', 'filter', '-N', 'WEAVE-EXPOSE'],
    ...[
      ['-i', 'docker0', '-o', WEAVE_BRIDGE, '-j', 'DROP'],
      ['-i', WEAVE_BRIDGE, '-o', WEAVE_BRIDGE, '-j', 'ACCEPT'],
      ['-o', WEAVE_BRIDGE, '-j', 'WEAVE-EXPOSE'],
      ['-i', WEAVE_BRIDGE, '!', '-o', WEAVE_BRIDGE, '-j', 'ACCEPT'],
      ['-o', WEAVE_BRIDGE, '-m', 'conntrack', '--ctstate', 'RELATED,ESTABLISHED', '-j', 'ACCEPT'],
    ].map((rule, i) => ['-t', 'filter', '-I', 'FORWARD', String(i + 1), ...rule]),
    ['-t', 'nat', '-N', 'WEAVE'],
    ['-t', 'nat', '-A', 'POSTROUTING', '-j', 'WEAVE'],
  ];
  tx.emit(...rules.map((args) => ({ op: 'iptables' as const, host, netns, args })));
}

/**
 * `weave expose`: an address for weave:expose from the ring, on the bridge (the host joins
 * the weave network), masqueraded between the network and the rest, accepted by FORWARD.
 * Prints the address, as show_addrs does.
 */
export function weaveExpose(tx: Tx, host: string): string {
  const p = mesh(tx).peers[host];
  if (p.exposed) return p.exposed;
  const ip = numberToIpv4(allocateAddress(tx, host, 'weave:expose'));
  p.exposed = ip;
  const cidr = `${ip}/${RANGE_PREFIX}`;
  const netns = host;
  tx.emit(
    { op: 'addr.add', host, netns, dev: WEAVE_BRIDGE, address: cidr },
    // exposeNAT, then the FORWARD exception (iptables keeps the CIDR's network: 10.32.0.0/12).
    ...[['-s', cidr, '-d', '224.0.0.0/4', '-j', 'RETURN'], ['-d', cidr, '!', '-s', cidr, '-j', 'MASQUERADE'], ['-s', cidr, '!', '-d', cidr, '-j', 'MASQUERADE']]
      .map((rule) => ({ op: 'iptables' as const, host, netns, args: ['-t', 'nat', '-A', 'WEAVE', ...rule] })),
    { op: 'iptables', host, netns, args: ['-t', 'filter', '-A', 'WEAVE-EXPOSE', '-d', cidr, '-j', 'ACCEPT'] },
  );
  return ip;
}

/**
 * The peers connected to `p`: those it named or that named it, and, by gossip, theirs
 * (routers connect to every peer they learn of). mesh reports its peers from a Go map, in no
 * order of its own; cnmlab lists them in Go's string order of their hosts, one that repeats.
 */
export function connectedPeers(w: { peers: Record<string, WeavePeer> } | undefined, p: WeavePeer): WeavePeer[] {
  if (!w) return [];
  const all = Object.values(w.peers);
  const linked = (a: WeavePeer, b: WeavePeer) => a.targets.includes(b.address) || b.targets.includes(a.address);
  const seen = new Set([p.host]);
  const queue = [p];
  while (queue.length) {
    const a = queue.shift()!;
    for (const b of all) if (!seen.has(b.host) && linked(a, b)) (seen.add(b.host), queue.push(b));
  }
  return all.filter((b) => b.host !== p.host && seen.has(b.host)).sort((a, b) => byteCompare(a.host, b.host));
}

function peerRef(p: WeavePeer): WeavePeerRef {
  return { name: p.name, nickname: p.nickname, shortId: p.shortId, address: p.address };
}

function emitRouter(tx: Tx, p: WeavePeer): void {
  const router: WeaveRouterConfig = {
    name: p.name, nickname: p.nickname, shortId: p.shortId, datapath: p.datapath, address: p.address, port: SLEEVE_PORT,
    ...(p.datapath === 'fastdp' ? { device: DATAPATH_IF, vxlanVport: VXLAN_VPORT } : { device: PCAP_IF }),
    peers: connectedPeers(tx.w.weave, p).map(peerRef),
  };
  tx.emit({ op: 'weave.router', host: p.host, netns: p.host, router });
}

// ── IPAM ─────────────────────────────────────────────────────────────────────

/** ring.subdivide: [from, to) split in CIDR-aligned halves between the peers, in order. */
function subdivide(from: number, to: number, peers: Draft<WeavePeer>[]): void {
  const share = to - from;
  if (share === 0) return;
  if (share === 1 || peers.length === 1) {
    peers[0].ranges.push([from, to]);
    return;
  }
  const mid = from + Math.floor(share / 2);
  subdivide(from, mid, peers.slice(0, Math.floor(peers.length / 2)));
  subdivide(mid + (share % 2), to, peers.slice(Math.floor(peers.length / 2)));
}

function freeRuns(p: WeavePeer | Draft<WeavePeer>): [number, number][] {
  const runs: [number, number][] = [];
  for (const [start, end] of p.ranges) {
    let at = start;
    const used = Object.keys(p.allocated).map(Number).filter((a) => a >= start && a < end).sort((a, b) => a - b);
    for (const u of used) {
      if (u > at) runs.push([at, u]);
      at = u + 1;
    }
    if (end > at) runs.push([at, end]);
  }
  return runs;
}

/** Space.Donate: the largest free run, or its upper half when it is more than half of what is free. */
function donate(from: Draft<WeavePeer>): [number, number] | undefined {
  const runs = freeRuns(from);
  if (runs.length === 0) return undefined;
  const total = runs.reduce((n, [s, e]) => n + e - s, 0);
  const biggest = runs.reduce((a, b) => (b[1] - b[0] > a[1] - a[0] ? b : a));
  let [start] = biggest;
  const end = biggest[1];
  if (end - start > Math.floor(total / 2)) start += Math.floor((end - start) / 2);
  from.ranges = from.ranges.flatMap(([s, e]): [number, number][] => (start >= e || end <= s ? [[s, e]] : [...(s < start ? [[s, start] as [number, number]] : []), ...(end < e ? [[end, e] as [number, number]] : [])]));
  return [start, end];
}

/** The lowest free address of the peer's ranges inside the range's host addresses (AllocateIPInSubnet on HostRange). */
function allocateAddress(tx: Tx, host: string, holder: string): number {
  const m = mesh(tx);
  const p = m.peers[host];
  if (!m.ringClaimed) {
    m.ringClaimed = true;
    const members = [p, ...connectedPeers(m, p).map((q) => m.peers[q.host])].sort((a, b) => byteCompare(a.name, b.name));
    subdivide(RANGE_START, RANGE_END, members);
  }
  const pick = () => freeRuns(p).map(([s, e]): [number, number] => [Math.max(s, RANGE_START + 1), Math.min(e, RANGE_END - 1)]).find(([s, e]) => s < e)?.[0];
  let addr = pick();
  if (addr === undefined) {
    const donor = connectedPeers(m, p).map((q) => m.peers[q.host]).sort((a, b) => freeCount(b) - freeCount(a))[0];
    const got = donor && donate(donor);
    if (got) p.ranges = [...p.ranges, got].sort((a, b) => a[0] - b[0]);
    addr = pick();
  }
  if (addr === undefined) throw new DaemonRefusal('IpamDriver.RequestAddress: no free address in the ring for this peer');
  p.allocated[addr] = holder;
  return addr;
}

function freeCount(p: WeavePeer | Draft<WeavePeer>): number {
  return freeRuns(p).reduce((n, [s, e]) => n + e - s, 0);
}

function releaseAddress(tx: Tx, host: string, ip: string): void {
  const p = mesh(tx).peers[host];
  if (p) delete p.allocated[ipv4ToNumber(ip)];
}

// ── the plugin ───────────────────────────────────────────────────────────────

/** The plugin's IPAM driver (weavemesh): the router's next address, with the range's mask; the veth's MAC is the kernel's. */
function weaveAddress(tx: Tx, _net: Draft<Network>, host: string): { ip: string; prefixLength: number; mac: string } {
  if (!tx.w.weave?.peers[host]) throw new DaemonRefusal('plugin "weavemesh" not found');
  return { ip: numberToIpv4(allocateAddress(tx, host, 'container')), prefixLength: RANGE_PREFIX, mac: randomMac(tx) };
}

export function hostEndName(endpointId: string): string {
  return `vethwl${endpointId.slice(0, 9)}`;
}

function joinWeave(tx: Tx, _net: Draft<Network>, ep: Draft<Endpoint>): void {
  const host = ep.host, netns = host;
  const hostEnd = hostEndName(ep.id), ctrEnd = `vethwg${ep.id.slice(0, 9)}`;
  ep.peerIfname = hostEnd;
  const p = tx.w.weave!.peers[host];
  const mtu = bridgeMtu(p);
  if (ep.containerId) p.allocated[ipv4ToNumber(ep.ip)] = ep.containerId;
  // CreateAndAttachVeth: both ends with the bridge's MTU, the host end on the bridge and up.
  tx.emit(
    { op: 'link.add', host, netns, name: hostEnd, kind: { type: 'veth', peer: ctrEnd }, mtu },
    { op: 'link.set', host, netns, name: hostEnd, master: WEAVE_BRIDGE },
    { op: 'link.set', host, netns, name: hostEnd, up: true },
  );
  plugContainerEnd(tx, ep, ctrEnd);
  ep.state = advance(endpointMachine, ep.state, 'JOIN');
}

function leaveWeave(tx: Tx, _net: Draft<Network>, ep: Draft<Endpoint>): void {
  tx.emit({ op: 'link.del', host: ep.host, netns: ep.host, name: hostEndName(ep.id) });
  releaseAddress(tx, ep.host, ep.ip);
  ep.state = advance(endpointMachine, ep.state, 'LEAVE');
}

/** Every container endpoint on a weave network, on every host (each host's plugin keeps its own network record). */
export function weaveEndpoints(world: World): { ep: Endpoint; net: Network }[] {
  return world.hostOrder.flatMap((h) => Object.values(hostOf(world, h).localNetworks)
    .filter((net) => net.driver === 'weavemesh')
    .flatMap((net) => shardValues(net.endpoints).filter((ep) => ep.host === h && ep.kind === 'container' && ep.state === 'joined').map((ep) => ({ ep, net }))));
}

/** The bridge's end of the container's veth, the router's capture device, and the host's way onto the underlay. */
function weaveCaptureSpots(world: World, _net: Network, ep: Endpoint): CaptureSpot[] {
  const underlay = hostOf(world, ep.host).underlay;
  const local = weaveEndpoints(world).filter((w) => w.ep.host === ep.host).map((w) => w.ep.mac);
  return [
    { host: ep.host, netns: ep.host, device: ep.peerIfname, role: 'bridge-port', mine: [ep.mac], master: WEAVE_BRIDGE },
    { host: ep.host, netns: ep.host, device: weavePeerOn(world, ep.host)?.datapath === 'fastdp' ? DATAPATH : PCAP_IF, role: 'router', mine: local },
    { host: ep.host, netns: ep.host, device: 'eth0', role: 'host', mine: [underlay], vtep: 'weaver' },
    { host: ep.host, netns: ep.host, device: 'eth0', role: 'underlay', mine: [underlay] },
  ];
}

export const weaveDriver: NetworkDriver = {
  name: 'weavemesh',
  admit: () => {
    throw new NotModelled('docker network create -d weavemesh (weave launch makes the network weave)');
  },
  address: weaveAddress,
  attaches: true,
  interfacePrefix: 'ethwe',
  join: joinWeave,
  leave: leaveWeave,
  providesGateway: false,
  outsideThroughGwbridge: true,
  embeddedDns: () => true,
  peersToCapture: (_net, dst, world) => (dst && world ? weaveEndpoints(world).filter((w) => w.ep.ip === dst).map((w) => w.ep).slice(0, 1) : []),
  captureSpots: weaveCaptureSpots,
  networkNamespace: () => undefined,
  endpointPeer: (_net, host) => ({ netns: host, master: WEAVE_BRIDGE }),
  hostTopology: (world, host) => {
    const peer = world.weave?.peers[host];
    return peer ? { devices: routerDevices(peer), programs: [router(peer)] } : { devices: [], programs: [] };
  },
  // A host's router draws its devices and itself from the mesh's record of it (weave expose changes only that).
  hostsRedrawn: (before, after) => {
    const was = before?.weave?.peers, is = after.weave?.peers;
    if (was === is) return [];
    return [...new Set([...Object.keys(was ?? {}), ...Object.keys(is ?? {})])].filter((h) => was?.[h] !== is?.[h]);
  },
  path: 'weave-sleeve',
  // The datapath of the sending host's router (both ends of a lab launch alike).
  pathOn: (world, net) => (net.host && world.weave?.peers[net.host]?.datapath === 'fastdp' ? 'weave-fastdp' : 'weave-sleeve'),
  pathsOn: ['weave-sleeve', 'weave-fastdp'],
  needs: weaveNeeds,
};

/** Weave's fast datapath: an Open vSwitch kernel datapath, made over generic netlink (ovs_datapath). */
const OPENVSWITCH: KernelFeature = { name: 'openvswitch', what: 'Open vSwitch datapath', config: 'CONFIG_OPENVSWITCH', genlFamily: 'ovs_datapath' };

/**
 * weave launch makes the dummy vethwedu to set the bridge's MTU (either datapath: makeBridge),
 * and fastdp (without --no-fastdp) needs the kernel's Open vSwitch datapath.
 */
function weaveNeeds(commands: string[]): MachineNeeds {
  const launches = commands.filter((c) => /^weave\s+launch\b/.test(c.trim()));
  const fastdp = launches.some((c) => !/\s--no-fastdp\b/.test(c));
  return { programs: [], kernel: [...(fastdp ? [OPENVSWITCH] : []), ...(launches.length ? [DUMMY_DEVICES] : [])] };
}

/**
 * The devices `weave launch` made in the host's namespace: the weave bridge (its MAC the
 * router's peer name, weave expose's address), vethwe-bridge on it, and at the other end
 * the router's capture device (sleeve) or the Open vSwitch datapath's vport, with the
 * datapath and its VXLAN vport (fastdp).
 */
function routerDevices(p: WeavePeer): HostDevice[] {
  const netns = p.host;
  const bridge: HostDevice = { device: WEAVE_BRIDGE, kind: 'bridge', mac: p.name, ...(p.exposed ? { addresses: [`${p.exposed}/${RANGE_PREFIX}`] } : {}) };
  if (p.datapath === 'sleeve') {
    return [bridge,
      { device: BRIDGE_IF, kind: 'veth', master: WEAVE_BRIDGE, peer: { netns, device: PCAP_IF } },
      { device: PCAP_IF, kind: 'veth', peer: { netns, device: BRIDGE_IF } }];
  }
  return [bridge,
    { device: BRIDGE_IF, kind: 'veth', master: WEAVE_BRIDGE, peer: { netns, device: DATAPATH_IF } },
    { device: DATAPATH, kind: 'openvswitch' },
    { device: DATAPATH_IF, kind: 'veth', master: DATAPATH, peer: { netns, device: BRIDGE_IF } },
    { device: VXLAN_VPORT, kind: 'vxlan', master: DATAPATH }];
}

/** The router: in sleeve mode between its capture device and the uplink its socket sends from; in fastdp mode the datapath's controller. */
function router(p: WeavePeer): HostProgram {
  return p.datapath === 'sleeve'
    ? { name: 'weaver', role: 'router', devices: [PCAP_IF, 'eth0'] }
    : { name: 'weaver', role: 'controller', devices: [DATAPATH] };
}

declare module './index' {
  interface RegisteredDrivers {
    weavemesh: true;
  }
}

registerDriver('weavemesh', weaveDriver, { rank: 60 });
