/**
 * Calico as it ran with Docker: calico/node on each host (Felix programs the host, BIRD
 * speaks BGP in a node-to-node mesh, confd renders BIRD's configuration) and its libnetwork
 * plugin (network driver `calico`, IPAM driver `calico-ipam`). The datastore (etcd) is
 * shared by every host: world.calico.
 *
 * What a workload gets (projectcalico/libnetwork-plugin v1.1.3, driver/network_driver.go):
 * a veth whose host end is `cali` + the first 11 characters of the endpoint id, whose
 * container end (`temp…`, renamed eth0 by libnetwork) carries the fixed MAC
 * EE:EE:EE:EE:EE:EE and the address as a /32 (CreateEndpoint: "Calico always uses /32"),
 * and the gateway 169.254.1.1 with a connected static route to it (Join). Felix then adds
 * the /32 route to the workload through its cali device, a permanent neighbour entry for
 * it, and turns on proxy ARP and forwarding on the cali device (endpoint_mgr.go), so the
 * host answers the container's ARP for 169.254.1.1, an address nobody has.
 *
 * Addresses come from the pool's /26 blocks (libcalico-go IPAM): a node claims a block at
 * its first address, and BIRD announces the block (a blackhole route on the owner, from
 * bird_aggr.cfg's static protocol). How the other nodes reach it depends on the pool:
 * plain routes via the owner's address (`proto bird`), IP-in-IP through tunl0 (onlink via
 * the owner), or VXLAN through vxlan.calico (VNI 4096, UDP 4789: Felix's static neighbour,
 * FDB entry and onlink route per remote VTEP).
 *
 * BGP's timing is kept simple in sim: a route is in every peer's table at the step that
 * made it (a session is established as soon as both nodes run). Emu runs the real BIRD,
 * whose sessions take a few seconds; emu waits for the routes before the next step.
 */
import { Draft } from 'immer';
import { cidrString, ipv4ToNumber, maskOf, numberToIpv4, parseCidr } from '../../wire/addr';
import { seedFromName } from '../ids';
import { advance, endpointMachine } from '../machines';
import { DaemonRefusal, NotModelled } from '../refusal';
import { plugContainerEnd } from '../sandbox';
import { Tx } from '../tx';
import { CalicoNode, CalicoPool, CalicoStore, EncapMode, Endpoint, hostOf, Network, shardValues, World } from '../world';
import { CaptureSpot, KernelFeature, localNetwork, MachineNeeds, MachineProgram, NetworkDriver, NetworkSpec } from './driver';
import { registerDriver } from './index';
import { byteCompare } from '../../text/natural';
import { withGateway } from '../ipam';

export const CALICO_AS = 64512;
export const DEFAULT_POOL_NAME = 'default-ipv4-ippool';
const DEFAULT_POOL_CIDR = '192.168.0.0/16';
const BLOCK_SIZE = 26;
/** Felix's defaults (config_params.go: VXLANVNI, VXLANPort). */
export const CALICO_VXLAN_VNI = 4096;
export const CALICO_VXLAN_PORT = 4789;
export const VXLAN_DEVICE = 'vxlan.calico';
export const IPIP_DEVICE = 'tunl0';
/** The gateway the plugin gives every workload; the host answers ARP for it by proxy. */
export const CALICO_GATEWAY = '169.254.1.1';
/** libnetwork-plugin's fixedMac, for the container's interface. */
export const WORKLOAD_MAC = 'ee:ee:ee:ee:ee:ee';
/** The host end of a workload's veth. */
export function caliName(endpointId: string): string {
  return `cali${endpointId.slice(0, 11)}`;
}

/** What `calicoctl` needs of a `docker network create` (its IPAM plugin). */
const PLUGIN_NOT_FOUND = (name: string) => `plugin "${name}" not found`;

export function calicoStore(tx: Tx): Draft<CalicoStore> {
  return (tx.w.calico ??= { nodes: {}, pools: [], revision: 0 });
}

/** The calico/node running on a scenario host, if any. */
export function nodeOnHost(store: CalicoStore | Draft<CalicoStore> | undefined, host: string): CalicoNode | undefined {
  return store ? Object.values(store.nodes).find((n) => n.host === host) : undefined;
}

export function calicoPool(store: CalicoStore | undefined): CalicoPool | undefined {
  return store?.pools[0];
}

/**
 * `calicoctl node run --name NAME --ip IP` on a host: the Node resource, the default pool
 * when there is none (calico/node's startup: 192.168.0.0/16, blocks of /26, no
 * encapsulation unless CALICO_IPV4POOL_IPIP or _VXLAN say otherwise, natOutgoing), IPv4
 * forwarding on, and the mesh reconfigured on every node.
 */
export function runNode(tx: Tx, host: string, name: string, ip: string): void {
  const store = calicoStore(tx);
  const existing = store.nodes[name];
  store.revision++;
  if (!existing) store.nodes[name] = { name, host, ip, startedNs: tx.now(), blockUsed: [], programmed: [] };
  else Object.assign(existing, { host, ip, startedNs: tx.now() });
  if (store.pools.length === 0) {
    store.revision++;
    store.pools.push({
      name: DEFAULT_POOL_NAME, cidr: DEFAULT_POOL_CIDR, blockSize: BLOCK_SIZE, ipipMode: 'Never', vxlanMode: 'Never', natOutgoing: true,
      createdNs: tx.now(), resourceVersion: store.revision, uid: uuidFrom(`ippool:${tx.w.seed}:${DEFAULT_POOL_NAME}`),
    });
  }
  reconcile(tx);
}

/** An IP pool's encapsulation changed (`calicoctl patch ippool`): Felix and BIRD follow on every node. */
export function setPoolModes(tx: Tx, pool: Draft<CalicoPool>, modes: { ipipMode?: EncapMode; vxlanMode?: EncapMode }): void {
  const store = calicoStore(tx);
  store.revision++;
  if (modes.ipipMode) pool.ipipMode = modes.ipipMode;
  if (modes.vxlanMode) pool.vxlanMode = modes.vxlanMode;
  pool.resourceVersion = store.revision;
  reconcile(tx);
}

/** An RFC 4122 version 4 layout drawn from a name (etcd's uids are random; here they repeat with the seed). */
function uuidFrom(key: string): string {
  const hex = [0, 1, 2, 3].map((i) => seedFromName(`${key}:${i}`).toString(16).padStart(8, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/**
 * A free block of the pool for a node, by IPAM's random block generator: it starts at a
 * block drawn from the node's name (here its hash, so no draw shifts later ids) and takes
 * the first one no node holds.
 */
function claimBlock(store: Draft<CalicoStore>, node: Draft<CalicoNode>): string {
  const pool = store.pools[0];
  const p = parseCidr(pool.cidr)!;
  const count = 2 ** (pool.blockSize - p.prefixLength);
  const taken = new Set(Object.values(store.nodes).map((n) => n.block).filter(Boolean));
  const start = seedFromName(`calico-block:${node.name}`) % count;
  for (let i = 0; i < count; i++) {
    const block = cidrString({ base: p.base + ((start + i) % count) * 2 ** (32 - pool.blockSize), prefixLength: pool.blockSize });
    if (!taken.has(block)) {
      node.block = block;
      return block;
    }
  }
  throw new DaemonRefusal('IP assignment error: no more free affine blocks');
}

/** The lowest free address of the node's block (claimed first if need be), as IPAM's AutoAssign gives it. */
function assignAddress(store: Draft<CalicoStore>, node: Draft<CalicoNode>): string {
  const block = parseCidr(node.block ?? claimBlock(store, node))!;
  const size = 2 ** (32 - block.prefixLength);
  for (let i = 0; i < size; i++) {
    if (!node.blockUsed.includes(i)) {
      node.blockUsed.push(i);
      return numberToIpv4(block.base + i);
    }
  }
  throw new DaemonRefusal('IP assignment error: the block is full');
}

function releaseAddress(node: Draft<CalicoNode>, ip: string): void {
  const block = parseCidr(node.block!)!;
  node.blockUsed = node.blockUsed.filter((i) => i !== ipv4ToNumber(ip) - block.base);
}

const encapsulates = (m: EncapMode): boolean => m !== 'Never';

/** The VXLAN tunnel MAC Felix gives the node (VXLANTunnelMACAddr): locally administered, from the node's name. */
function vtepMac(name: string): string {
  const v = seedFromName(`vxlan-mac:${name}`), w = seedFromName(`vxlan-mac2:${name}`);
  return ['66', ...[24, 16, 8, 0].map((s) => ((v >>> s) & 0xff).toString(16).padStart(2, '0')), (w & 0xff).toString(16).padStart(2, '0')].join(':');
}

/**
 * Makes every node's kernel match the datastore: the tunnel addresses the pool's modes
 * call for (calico-node's allocateip), then on each node BIRD's configuration, its own
 * block's blackhole, the tunnel device and a route (and for VXLAN a neighbour and an FDB
 * entry) for every other node's block. Only what is new is emitted: a node remembers what
 * has been programmed on its host.
 */
function reconcile(tx: Tx): void {
  const store = calicoStore(tx);
  const pool = store.pools[0];
  // In confd's order (node names as memkv sorts them), which is also the order of BIRD's mesh protocols.
  const nodes = Object.values(store.nodes).sort((a, b) => byteCompare(a.name, b.name));
  for (const n of nodes) {
    if (encapsulates(pool.ipipMode) && !n.ipipTunnelAddr) n.ipipTunnelAddr = assignAddress(store, n);
    if (encapsulates(pool.vxlanMode) && !n.vxlanTunnelAddr) {
      n.vxlanTunnelAddr = assignAddress(store, n);
      n.vxlanTunnelMac = vtepMac(n.name);
    }
  }
  for (const n of nodes) programNode(tx, n, nodes, pool);
}

function programNode(tx: Tx, n: Draft<CalicoNode>, nodes: Draft<CalicoNode>[], pool: CalicoPool): void {
  const host = n.host, netns = host;
  const once = (key: string, ...emit: Parameters<Tx['emit']>) => {
    if (n.programmed.includes(key)) return;
    n.programmed.push(key);
    tx.emit(...emit);
  };
  once('ip_forward', { op: 'sysctl.set', host, netns, key: 'net.ipv4.ip_forward', value: '1' });
  // Felix's forward chain, inserted ahead of Docker's (whose FORWARD policy is DROP): what comes
  // from or goes to a workload's cali device passes (Felix's cali-FORWARD, its policy chains left out).
  once('cali-FORWARD', ...[
    ['-t', 'filter', '-N', 'cali-FORWARD'],
    ['-t', 'filter', '-I', 'FORWARD', '1', '-m', 'comment', '--comment', 'cali:wUHhoiAYhphO9Mso', '-j', 'cali-FORWARD'],
    ['-t', 'filter', '-A', 'cali-FORWARD', '-i', 'cali+', '-m', 'comment', '--comment', 'cali:from-workloads', '-j', 'ACCEPT'],
    ['-t', 'filter', '-A', 'cali-FORWARD', '-o', 'cali+', '-m', 'comment', '--comment', 'cali:to-workloads', '-j', 'ACCEPT'],
  ].map((args) => ({ op: 'iptables' as const, host, netns, args })));
  // A Calico host, like any server, has a default route; the kernel's proxy ARP for
  // 169.254.1.1 depends on it (arp_process answers only for a unicast route out of another
  // device). A scenario host has none, so calico/node's host gets its LAN's gateway here.
  once('default route', { op: 'route.add', host, netns, dst: 'default', via: lanGateway(tx, host), dev: 'eth0' });
  // BGP runs in every mode (the node's backend is bird); in VXLAN mode BIRD is told to leave the pool's routes to Felix.
  const config = birdConfig(n, nodes, pool);
  if (config !== n.birdConfig) {
    n.birdConfig = config;
    tx.emit({ op: 'bird.config', host, netns, config });
  }
  if (n.block) once(`blackhole ${n.block}`, { op: 'route.blackhole', host, netns, dst: n.block, proto: 'bird' });
  const underlay = 'eth0';
  if (n.ipipTunnelAddr) {
    once('tunl0', { op: 'link.add', host, netns, name: IPIP_DEVICE, kind: { type: 'ipip' }, mtu: 1500 - 20 },
      { op: 'addr.add', host, netns, dev: IPIP_DEVICE, address: `${n.ipipTunnelAddr}/32` },
      { op: 'link.set', host, netns, name: IPIP_DEVICE, up: true });
  }
  if (n.vxlanTunnelAddr) {
    once(VXLAN_DEVICE,
      { op: 'link.add', host, netns, name: VXLAN_DEVICE, mtu: 1500 - 50, mac: n.vxlanTunnelMac, kind: {
        type: 'vxlan', vni: CALICO_VXLAN_VNI, dstport: CALICO_VXLAN_PORT, local: n.ip, dev: underlay, proxy: false, l2miss: false, l3miss: false, learning: false, ageing: 300,
      } },
      { op: 'addr.add', host, netns, dev: VXLAN_DEVICE, address: `${n.vxlanTunnelAddr}/32` },
      { op: 'link.set', host, netns, name: VXLAN_DEVICE, up: true });
  }
  for (const peer of nodes) {
    if (peer === n || !peer.block) continue;
    if (encapsulates(pool.vxlanMode) && peer.vxlanTunnelAddr && n.vxlanTunnelAddr) {
      // Felix (vxlan_fdb.go): the peer's VTEP, then the route through it.
      once(`vtep ${peer.name}`,
        { op: 'neigh.add', host, netns, dev: VXLAN_DEVICE, ip: peer.vxlanTunnelAddr, mac: peer.vxlanTunnelMac! },
        { op: 'fdb.add', host, netns, dev: VXLAN_DEVICE, mac: peer.vxlanTunnelMac!, dst: peer.ip });
      once(`route ${peer.block}`, { op: 'route.add', host, netns, dst: peer.block, via: peer.vxlanTunnelAddr, dev: VXLAN_DEVICE, onlink: true });
    } else if (encapsulates(pool.ipipMode) && n.ipipTunnelAddr) {
      // BIRD's route, sent through tunl0 (calico's BIRD: krt_tunnel), onlink since no address of tunl0 covers the peer.
      once(`route ${peer.block}`, { op: 'route.add', host, netns, dst: peer.block, via: peer.ip, dev: IPIP_DEVICE, proto: 'bird', onlink: true });
    } else if (!encapsulates(pool.vxlanMode) && !encapsulates(pool.ipipMode)) {
      once(`route ${peer.block}`, { op: 'route.add', host, netns, dst: peer.block, via: peer.ip, dev: underlay, proto: 'bird' });
    }
  }
}

/** The first address of the host's underlay subnet that no scenario host has (the LAN's router, which is not modelled). */
function lanGateway(tx: Tx, host: string): string {
  const h = hostOf(tx.before, host) ?? tx.host(host);
  const net = parseCidr(`${h.underlay}/${h.underlayPrefix}`)!;
  const taken = new Set(tx.w.hostOrder.map((n) => tx.underlayOf(n)));
  const base = net.base & maskOf(net.prefixLength);
  for (let i = 1; i < 2 ** (32 - net.prefixLength) - 1; i++) if (!taken.has(numberToIpv4(base + i))) return numberToIpv4(base + i);
  return numberToIpv4(base + 1);
}

/** A node's mesh peer's protocol name, as confd names it: Mesh_ and the address with underscores. */
export function meshProtocol(ip: string): string {
  return `Mesh_${ip.split('.').join('_')}`;
}

/**
 * BIRD's configuration as calico's confd renders bird.cfg and bird_aggr.cfg (the node's
 * router id, its block as a static blackhole, the kernel and device protocols, and one BGP
 * session per other node, AS 64512, the peer with the higher address connecting), written
 * in BIRD 2's syntax (channels) for Debian's bird2; calico/node's own BIRD is a 1.6 fork.
 * In VXLAN mode BIRD programs none of the pool's routes (Felix does).
 */
function birdConfig(n: CalicoNode, nodes: CalicoNode[], pool: CalicoPool): string {
  const vxlan = encapsulates(pool.vxlanMode);
  const lines = [
    `# calico/node ${n.name}: BIRD's configuration as confd renders it (in BIRD 2's syntax)`,
    `router id ${n.ip};`,
    '',
    'protocol device { scan time 2; }',
    '',
    '# bird_aggr.cfg: the node\'s own block, announced and blackholed',
    'protocol static static_aggr {',
    '  ipv4;',
    ...(n.block ? [`  route ${n.block} blackhole;`] : []),
    '}',
    '',
    'filter calico_export_to_bgp_peers {',
    '  if ( proto = "static_aggr" ) then accept;',
    '  reject;',
    '}',
    '',
    'filter calico_kernel_programming {',
    ...(vxlan ? [`  if ( net ~ ${pool.cidr} && proto != "static_aggr" ) then reject;`] : []),
    `  if ( net ~ ${pool.cidr} ) then accept;`,
    '  reject;',
    '}',
    '',
    'protocol kernel {',
    '  ipv4 { import none; export filter calico_kernel_programming; };',
    '  scan time 2;',
    '  metric 0;',
    '  graceful restart;',
    '}',
    '',
    'protocol direct {',
    '  ipv4;',
    '  interface -"cali*", -"tunl0", -"vxlan.calico", "*";',
    '}',
    '',
    'template bgp bgp_template {',
    `  local as ${CALICO_AS};`,
    '  multihop;',
    '  ipv4 { gateway recursive; import all; export filter calico_export_to_bgp_peers; };',
    '  graceful restart;',
    '  connect delay time 2;',
    '  connect retry time 5;',
    '  error wait time 5,30;',
    '}',
  ];
  for (const peer of nodes) {
    if (peer.name === n.name) continue;
    lines.push('', `protocol bgp ${meshProtocol(peer.ip)} from bgp_template {`, `  neighbor ${peer.ip} as ${CALICO_AS};`, `  source address ${n.ip};`);
    // confd: the mesh is unidirectional; the node with the higher address waits for the other.
    if (ipv4ToNumber(n.ip) > ipv4ToNumber(peer.ip)) lines.push('  passive on;');
    lines.push('}');
  }
  return lines.join('\n') + '\n';
}

/** Every workload endpoint of Calico networks, with the node it is on. */
export function workloadEndpoints(world: World): { ep: Endpoint; net: Network; node: string }[] {
  const out: { ep: Endpoint; net: Network; node: string }[] = [];
  for (const h of world.hostOrder) {
    const node = nodeOnHost(world.calico, h)?.name ?? h;
    for (const net of Object.values(hostOf(world, h).localNetworks)) {
      if (net.driver !== 'calico') continue;
      for (const ep of shardValues(net.endpoints)) if (ep.host === h && ep.kind === 'container') out.push({ ep, net, node });
    }
  }
  return out;
}

/** `docker network create -d calico`: the plugin lives in calico/node, so the host must run it. */
function admitCalico(tx: Tx, host: string): void {
  if (!nodeOnHost(tx.w.calico, host)) throw new DaemonRefusal(PLUGIN_NOT_FOUND('calico'));
}

/**
 * A global-scope network (the plugin's capability): kept in the cluster store, so every
 * host's dockerd sees it. calico-ipam's pool is 0.0.0.0/0 with the gateway 0.0.0.0/0
 * (ipam_driver.go RequestPool): the plugin's mark that Calico IPAM is used.
 */
function createCalicoNetwork(tx: Tx, host: string, spec: NetworkSpec): Network {
  if (spec.ipamDriver !== 'calico-ipam') throw new DaemonRefusal('NetworkDriver.CreateNetwork: Non-Calico IPAM driver is used. Note: Docker before 1.12.3 is unsupported');
  if (spec.subnet) throw new NotModelled('a Calico network with --subnet (a pool of its own)');
  const net = localNetwork(tx, host, spec.name, 'calico', '0.0.0.0/0', undefined, spec.options);
  net.scope = 'global';
  net.ipam = withGateway(net.ipam, '0.0.0.0/0');
  net.labels = spec.labels;
  net.ipamDriver = spec.ipamDriver;
  for (const h of tx.w.hostOrder) tx.host(h).localNetworks[net.id] = { ...net, host: h };
  return tx.host(host).localNetworks[net.id];
}

/** calico-ipam's RequestAddress: the next address of the host's block, as a /32. */
function calicoAddress(tx: Tx, _net: Draft<Network>, host: string): { ip: string; prefixLength: number; mac: string } {
  const store = calicoStore(tx);
  const node = nodeOnHost(store, host) as Draft<CalicoNode> | undefined;
  if (!node) throw new DaemonRefusal(PLUGIN_NOT_FOUND('calico-ipam'));
  const ip = assignAddress(store, node);
  reconcile(tx);
  return { ip, prefixLength: 32, mac: WORKLOAD_MAC };
}

function joinCalico(tx: Tx, _net: Draft<Network>, ep: Draft<Endpoint>, defaultRoute: boolean): void {
  const host = ep.host, netns = host;
  const cali = caliName(ep.id), temp = `temp${ep.id.slice(0, 11)}`;
  ep.peerIfname = cali;
  // The plugin's Join: a veth with both ends up; libnetwork moves and renames the temp end
  // (the move takes it down again, so its first `up` leaves no trace and is left out).
  tx.emit(
    { op: 'link.add', host, netns, name: cali, kind: { type: 'veth', peer: temp } },
    { op: 'link.set', host, netns, name: cali, up: true },
  );
  plugContainerEnd(tx, ep, temp);
  tx.emit(
    { op: 'route.add', host, netns: ep.sandbox, dst: `${CALICO_GATEWAY}/32`, dev: ep.ifname, scope: 'link' },
    // The gateway becomes the default route only on the endpoint that carries the sandbox's (libnetwork's needDefaultGW).
    ...(defaultRoute ? [{ op: 'route.add' as const, host, netns: ep.sandbox, dst: 'default', via: CALICO_GATEWAY, dev: ep.ifname }] : []),
    // Felix: the device's settings, the route to the workload and its static neighbour entry.
    { op: 'sysctl.set', host, netns, key: `net.ipv4.conf.${cali}.forwarding`, value: '1' },
    { op: 'sysctl.set', host, netns, key: `net.ipv4.conf.${cali}.proxy_arp`, value: '1' },
    { op: 'sysctl.set', host, netns, key: `net.ipv4.neigh.${cali}.proxy_delay`, value: '0' },
    { op: 'route.add', host, netns, dst: `${ep.ip}/32`, dev: cali, scope: 'link' },
    { op: 'neigh.add', host, netns, dev: cali, ip: ep.ip, mac: ep.mac },
  );
  ep.state = advance(endpointMachine, ep.state, 'JOIN');
}

function leaveCalico(tx: Tx, _net: Draft<Network>, ep: Draft<Endpoint>): void {
  // The plugin's Leave deletes the cali end, whether or not the sandbox goes: the container's end, its routes and neighbour go with it.
  tx.emit({ op: 'link.del', host: ep.host, netns: ep.host, name: caliName(ep.id) });
  const node = nodeOnHost(calicoStore(tx), ep.host) as Draft<CalicoNode> | undefined;
  if (node?.block) releaseAddress(node, ep.ip);
  ep.state = advance(endpointMachine, ep.state, 'LEAVE');
}

/**
 * The cali end of the endpoint, the tunnel device the pool's mode uses, and the host's way
 * onto the underlay. What a host sends there carries its own address (wrapped) or one of
 * its containers' (routed as it is), so both are its own.
 */
function calicoCaptureSpots(world: World, _net: Network, ep: Endpoint): CaptureSpot[] {
  const node = nodeOnHost(world.calico, ep.host);
  const underlay = hostOf(world, ep.host).underlay;
  const pool = calicoPool(world.calico);
  const vxlan = !!pool && encapsulates(pool.vxlanMode) && !!node?.vxlanTunnelMac;
  const ipip = !!pool && encapsulates(pool.ipipMode) && !!node?.ipipTunnelAddr;
  const sent = [underlay, ...workloadEndpoints(world).filter((w) => w.ep.host === ep.host).map((w) => w.ep.ip)];
  const encapsulator = vxlan ? VXLAN_DEVICE : ipip ? IPIP_DEVICE : undefined;
  return [
    { host: ep.host, netns: ep.host, device: caliName(ep.id), role: 'host-end', mine: [ep.mac] },
    ...(vxlan ? [{ host: ep.host, netns: ep.host, device: VXLAN_DEVICE, role: 'vxlan' as const, mine: [node!.vxlanTunnelMac!] }] : []),
    ...(ipip ? [{ host: ep.host, netns: ep.host, device: IPIP_DEVICE, role: 'tunnel' as const, mine: [] }] : []),
    // vxlan.calico is in the host's namespace (the hop notes name it, as sim's do).
    { host: ep.host, netns: ep.host, device: 'eth0', role: 'host', mine: sent, ...(encapsulator ? { vtep: encapsulator } : {}), ...(vxlan ? { overlays: { [CALICO_VXLAN_VNI]: ep.host } } : {}) },
    { host: ep.host, netns: ep.host, device: 'eth0', role: 'underlay', mine: sent },
  ];
}

export const calicoDriver: NetworkDriver = {
  name: 'calico',
  admit: admitCalico,
  create: createCalicoNetwork,
  address: calicoAddress,
  attaches: true,
  join: joinCalico,
  leave: leaveCalico,
  providesGateway: true,
  outsideThroughGwbridge: false,
  embeddedDns: () => true,
  peersToCapture: (_net, dst, world) => (dst && world ? workloadEndpoints(world).filter((w) => w.ep.ip === dst).map((w) => w.ep).slice(0, 1) : []),
  path: 'calico',
  // Off the pool, the host routes a container's packet on as it is (its default route): the same places, minus the peer's.
  outsidePath: 'calico',
  captureSpots: calicoCaptureSpots,
  needs: calicoNeeds,
  networkNamespace: () => undefined,
  // The cali end stays in the host's namespace, no bridge's port.
  endpointPeer: (_net, host) => ({ netns: host }),
};

/**
 * What a scenario's commands need of a real machine: BIRD (and birdc) where calico/node
 * runs, and IP-in-IP in the kernel when a pool is patched to use it.
 */
const IPIP: KernelFeature = { name: 'ipip', what: 'ipip devices', config: 'CONFIG_NET_IPIP', probe: [['link', 'add', 'probe0', 'type', 'ipip']] };

/** BIRD's daemon and its client, both in Debian's bird2. */
const BIRD: MachineProgram[] = [{ name: 'bird', debianPackage: 'bird2' }, { name: 'birdc', debianPackage: 'bird2' }];

function calicoNeeds(commands: string[]): MachineNeeds {
  const lines = commands.map((c) => c.trim());
  return {
    programs: lines.some((c) => /^calicoctl\s+node\s+run\b/.test(c)) ? BIRD : [],
    kernel: lines.some((c) => /^calicoctl\s+patch\s/.test(c) && /"ipipMode"\s*:\s*"(Always|CrossSubnet)"/.test(c)) ? [IPIP] : [],
  };
}

declare module './index' {
  interface RegisteredDrivers {
    calico: true;
  }
}

registerDriver('calico', calicoDriver, { rank: 50 });
