/**
 * Flannel as it ran beside Docker: flanneld on each host leases a subnet of the network
 * configured in etcd, writes /run/flannel/subnet.env, and programs the host's kernel so
 * that every other host's subnet is reachable; dockerd, restarted with `--bip` and `--mtu`
 * from that file, puts its containers on docker0 in the leased subnet. Docker sees only its
 * default bridge: flannel is no Docker network driver, so this file is the driver's model
 * side (the store, flanneld, the restart), and the bridge driver plumbs the containers.
 *
 * Facts from flannel-io/flannel: the lease key and value (pkg/subnet/etcd), the subnet file
 * (pkg/subnet WriteSubnetFile), vxlan's device and per-peer entries (pkg/backend/vxlan:
 * flannel.1, VNI 1, the kernel's port 8472, nolearning, MTU − 50, the subnet's .0/32; a
 * permanent neighbour, a `self permanent` FDB entry and an onlink route per remote host),
 * host-gw's routes via the peer's public address (pkg/backend/hostgw).
 */
import { current, Draft } from 'immer';
import { cidrString, ipv4ToNumber, networkAddress, numberToIpv4, parseCidr, subnetContains } from '../../wire/addr';
import { registerUdpPort } from '../../wire/ports';
import { hexId } from '../ids';
import { newIpam } from '../ipam';
import { DaemonRefusal, NotModelled } from '../refusal';
import { Tx } from '../tx';
import { endpointsOf, FlannelNode, hostOf, Network, World } from '../world';
import { CaptureSpot, CLUSTER_STORE, KernelFeature, MachineNeeds, OutsideWay } from './driver';
import { registerHostLevel } from './index';
import { engineRestartWithNewBridge } from '../firewall';

/** The key flanneld reads its network configuration from (`--etcd-prefix` /coreos.com/network). */
export const FLANNEL_PREFIX = '/coreos.com/network';
export const CONFIG_KEY = `${FLANNEL_PREFIX}/config`;
export const SUBNET_FILE = '/run/flannel/subnet.env';
/** The kernel's own VXLAN port: flannel leaves Port 0, which the kernel takes as 8472 (Documentation/backends.md). */
export const FLANNEL_VXLAN_PORT = 8472;
// Decoders take 8472 as VXLAN (Wireshark needs `-d udp.port==8472,vxlan` for it; README).
registerUdpPort(FLANNEL_VXLAN_PORT, 'vxlan');
export const FLANNEL_VNI = 1;
export const FLANNEL_DEVICE = 'flannel.1';
/** What VXLAN adds to a packet (outer IPv4 20, UDP 8, VXLAN 8, inner Ethernet 14): flannel.1's MTU is the interface's less this. */
const VXLAN_ENCAP_OVERHEAD = 50;

export type FlannelBackend = 'vxlan' | 'host-gw';
const BACKENDS: readonly string[] = ['vxlan', 'host-gw'];

/** A failure the command reports (exit 1); a case cnmlab does not model is a NotModelled instead. */
export class FlannelError extends Error {}

interface NetworkConfig {
  network: string;
  subnetLen: number;
  backend: FlannelBackend;
}

/** The cluster store as the model keeps it: etcd's keyspace, one for the whole lab. */
export function storeOf(w: World | Draft<World>): Record<string, string> {
  return w.flannel?.store ?? {};
}

/** A write to the lab's one store by a client on `host` (explain shows it there; emu writes its real etcd). */
function writeStore(tx: Tx, host: string, key: string, value: string): void {
  tx.w.flannel ??= { store: {}, nodes: {} };
  tx.w.flannel.store[key] = value;
  tx.emit({ op: 'kv.put', host, netns: host, key, value });
}

/** `etcdctl put KEY VALUE` (the v3 API): "OK". */
export function etcdPut(tx: Tx, host: string, key: string, value: string): string {
  writeStore(tx, host, key, value);
  return 'OK\n';
}

/** `etcdctl set KEY VALUE` (the v2 API's form of the same write, as flannel's older documents have it): the value. */
export function etcdSet(tx: Tx, host: string, key: string, value: string): string {
  writeStore(tx, host, key, value);
  return `${value}\n`;
}

/** `etcdctl get KEY [--prefix]`: each key and its value on lines of their own, keys in order; nothing for no key. */
export function etcdGet(w: World, key: string, prefix: boolean): string {
  const store = storeOf(w);
  const keys = Object.keys(store).filter((k) => (prefix ? k.startsWith(key) : k === key)).sort();
  return keys.map((k) => `${k}\n${store[k]}\n`).join('');
}

/** Reads and checks the network configuration as flanneld's subnet.ParseConfig does. */
function readConfig(w: World): NetworkConfig {
  const raw = storeOf(w)[CONFIG_KEY];
  // flanneld retries forever on a missing config; the modelled one says so and stops.
  if (raw === undefined) throw new FlannelError(`Couldn't fetch network config: 100: Key not found (${CONFIG_KEY})`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (e) {
    throw new FlannelError(`Couldn't fetch network config: ${(e as Error).message}`);
  }
  const c = (parsed ?? {}) as { Network?: unknown; SubnetLen?: unknown; Backend?: { Type?: unknown } };
  const net = typeof c.Network === 'string' ? parseCidr(c.Network) : undefined;
  if (!net) throw new FlannelError('Couldn\'t fetch network config: please define a correct Network parameter in the flannel config');
  const subnetLen = typeof c.SubnetLen === 'number' ? c.SubnetLen : net.prefixLength < 24 ? 24 : net.prefixLength + 1;
  const type = typeof c.Backend?.Type === 'string' ? c.Backend.Type : 'udp';
  if (!BACKENDS.includes(type)) throw new NotModelled(`flannel's ${JSON.stringify(type)} backend (vxlan and host-gw are)`);
  return { network: cidrString(net), subnetLen, backend: type as FlannelBackend };
}

const leaseKey = (subnet: string) => `${FLANNEL_PREFIX}/subnets/${subnet.replace('/', '-')}`;

/**
 * The host's lease: its old one if it has one, else the lowest subnet no lease holds, from
 * the network's second (SubnetMin). Real flanneld draws one at random among the free ones;
 * the lowest keeps a lab's addresses readable (10.5.1.0/24, 10.5.2.0/24 …) and repeatable.
 */
function chooseSubnet(cfg: NetworkConfig, taken: Set<string>): string {
  const net = parseCidr(cfg.network)!;
  const size = 2 ** (32 - cfg.subnetLen);
  const base = networkAddress(net);
  const count = 2 ** (cfg.subnetLen - net.prefixLength);
  for (let i = 1; i < count; i++) {
    const s = `${numberToIpv4((base + i * size) >>> 0)}/${cfg.subnetLen}`;
    if (!taken.has(s)) return s;
  }
  throw new FlannelError('failed to acquire lease: out of subnets');
}

const firstHost = (subnet: string) => numberToIpv4((ipv4ToNumber(subnet.split('/')[0]) + 1) >>> 0);
const networkOf = (subnet: string) => subnet.split('/')[0];

/** /run/flannel/subnet.env as WriteSubnetFile writes it (IPMASQ: whether flanneld ran with --ip-masq). */
export function subnetFile(n: FlannelNode): string {
  return `FLANNEL_NETWORK=${n.network}\nFLANNEL_SUBNET=${firstHost(n.subnet)}/${n.subnet.split('/')[1]}\nFLANNEL_MTU=${n.mtu}\nFLANNEL_IPMASQ=${n.ipMasq === true}\n`;
}

/** kube-proxy's masquerade mark: flannel leaves what kube-proxy marked to kube-proxy's own rule. */
const KUBE_PROXY_MARK = '0x4000/0x4000';

/**
 * flanneld --ip-masq's chain (v0.20 network/iptables.go MasqRules), in the form flannel
 * writes when iptables lacks --random-fully (the sim's does not model it): traffic inside
 * the flannel network keeps its addresses; from the network to the outside is masqueraded;
 * from outside into this host's subnet is left alone; and from the host into the network
 * is masqueraded so that the replies come back to it.
 */
function masqRules(network: string, subnet: string): string[][] {
  const masq = ['-m', 'comment', '--comment', 'flanneld masq'];
  return [
    ['-t', 'nat', '-N', 'FLANNEL-POSTRTG'],
    ['-t', 'nat', '-I', 'POSTROUTING', ...masq, '-j', 'FLANNEL-POSTRTG'],
    ['-t', 'nat', '-A', 'FLANNEL-POSTRTG', '-m', 'mark', '--mark', KUBE_PROXY_MARK, ...masq, '-j', 'RETURN'],
    ['-t', 'nat', '-A', 'FLANNEL-POSTRTG', '-s', network, '-d', network, ...masq, '-j', 'RETURN'],
    ['-t', 'nat', '-A', 'FLANNEL-POSTRTG', '-s', network, '!', '-d', '224.0.0.0/4', ...masq, '-j', 'MASQUERADE'],
    ['-t', 'nat', '-A', 'FLANNEL-POSTRTG', '!', '-s', network, '-d', subnet, ...masq, '-j', 'RETURN'],
    ['-t', 'nat', '-A', 'FLANNEL-POSTRTG', '!', '-s', network, '-d', network, ...masq, '-j', 'MASQUERADE'],
  ];
}

/**
 * `flanneld` on a host: reads the config, leases a subnet (the lease written to the store),
 * writes the subnet file, brings up the backend and programs every other leased host, and
 * has every other running flanneld program this one (they watch the subnets' keys).
 * Returns flanneld's log lines, as its own.
 */
export function startFlanneld(tx: Tx, host: string, ipMasq = false): string {
  const w = tx.w as World;
  if (w.flannel?.nodes[host]) throw new NotModelled('a second flanneld on a host');
  const cfg = readConfig(w);
  const h = hostOf(w, host);
  const leases = Object.values(w.flannel?.nodes ?? {});
  const subnet = chooseSubnet(cfg, new Set(leases.map((l) => l.subnet)));
  const node: FlannelNode = {
    host, subnet, network: cfg.network, backend: cfg.backend, publicIp: h.underlay,
    mtu: cfg.backend === 'vxlan' ? 1500 - VXLAN_ENCAP_OVERHEAD : 1500,
    ...(cfg.backend === 'vxlan' ? { vtepMac: vtepMac(tx) } : {}),
    ...(ipMasq ? { ipMasq } : {}),
  };
  const backendData = node.vtepMac ? `{"VNI":${FLANNEL_VNI},"VtepMAC":"${node.vtepMac}"}` : 'null';
  writeStore(tx, host, leaseKey(subnet), `{"PublicIP":"${node.publicIp}","PublicIPv6":null,"BackendType":"${cfg.backend}","BackendData":${backendData}}`);
  tx.w.flannel!.nodes[host] = node;
  // flanneld's forward rules (v0.20 network/iptables.go ForwardRules, applied with iptables-restore
  // after ClearChain made the chain): the jump inserted at FORWARD's top, ahead of Docker's, so the
  // flannel network passes FORWARD, whose policy dockerd set to DROP.
  for (const args of [
    ['-t', 'filter', '-N', 'FLANNEL-FWD'],
    ['-t', 'filter', '-I', 'FORWARD', '-m', 'comment', '--comment', 'flanneld forward', '-j', 'FLANNEL-FWD'],
    ['-t', 'filter', '-A', 'FLANNEL-FWD', '-s', cfg.network, '-m', 'comment', '--comment', 'flanneld forward', '-j', 'ACCEPT'],
    ['-t', 'filter', '-A', 'FLANNEL-FWD', '-d', cfg.network, '-m', 'comment', '--comment', 'flanneld forward', '-j', 'ACCEPT'],
  ]) tx.emit({ op: 'iptables', host, netns: host, args });
  if (ipMasq) for (const args of masqRules(cfg.network, subnet)) tx.emit({ op: 'iptables', host, netns: host, args });
  if (node.backend === 'vxlan') {
    tx.emit(
      { op: 'link.add', host, netns: host, name: FLANNEL_DEVICE, mtu: node.mtu, txqueuelen: 0, mac: node.vtepMac,
        kind: { type: 'vxlan', vni: FLANNEL_VNI, dstport: FLANNEL_VXLAN_PORT, proxy: false, l2miss: false, l3miss: false, learning: false, ageing: 300, local: node.publicIp, dev: 'eth0' } },
      { op: 'addr.add', host, netns: host, dev: FLANNEL_DEVICE, address: `${networkOf(subnet)}/32` },
      { op: 'link.set', host, netns: host, name: FLANNEL_DEVICE, up: true },
    );
  }
  for (const peer of leases) {
    if (peer.backend !== node.backend) continue;
    programPeer(tx, node, peer);
    programPeer(tx, peer, node);
  }
  return [
    `Using interface with name eth0 and address ${node.publicIp}`,
    `Defaulting external address to interface address (${node.publicIp})`,
    `Found network config - Backend type: ${cfg.backend}`,
    `Allocated lease (ip: ${subnet} ipv6: ::/0) to current node (${node.publicIp})`,
    `Wrote subnet file to ${SUBNET_FILE}`,
    'Running backend.',
  ].map((l) => `${l}\n`).join('');
}

/** What `on`'s flanneld does when `peer`'s lease appears (vxlan_network.go handleSubnetEvents; hostgw's route). */
function programPeer(tx: Tx, on: FlannelNode, peer: FlannelNode): void {
  const host = on.host;
  if (on.backend === 'vxlan') {
    const gw = networkOf(peer.subnet);
    tx.emit(
      { op: 'neigh.add', host, netns: host, dev: FLANNEL_DEVICE, ip: gw, mac: peer.vtepMac! },
      { op: 'fdb.add', host, netns: host, dev: FLANNEL_DEVICE, mac: peer.vtepMac!, dst: peer.publicIp },
      { op: 'route.add', host, netns: host, dst: peer.subnet, via: gw, dev: FLANNEL_DEVICE, onlink: true },
    );
  } else {
    tx.emit({ op: 'route.add', host, netns: host, dst: peer.subnet, via: peer.publicIp, dev: 'eth0' });
  }
}

/** flannel.1's MAC: flanneld makes a random one (locally administered, unicast) and announces it in its lease. */
function vtepMac(tx: Tx): string {
  const h = hexId(tx.rng, 12);
  const b0 = ((parseInt(h.slice(0, 2), 16) & 0xfe) | 0x02).toString(16).padStart(2, '0');
  return [b0, ...[2, 4, 6, 8, 10].map((i) => h.slice(i, i + 2))].join(':');
}

/** `cat /run/flannel/subnet.env` on a host. */
export function readSubnetFile(w: World, host: string): { stdout: string; stderr: string; exitCode: number } {
  const n = w.flannel?.nodes[host];
  if (!n) return { stdout: '', stderr: `cat: ${SUBNET_FILE}: No such file or directory\n`, exitCode: 1 };
  return { stdout: subnetFile(n), stderr: '', exitCode: 0 };
}

/**
 * `systemctl restart docker` on a host whose docker.service has flannel's drop-in
 * (`EnvironmentFile=/run/flannel/subnet.env`, `ExecStart=… dockerd --bip=${FLANNEL_SUBNET}
 * --mtu=${FLANNEL_MTU}`): dockerd starts again with docker0 at the lease's first address and
 * its containers' MTU the lease's. Without the file systemd does not start it.
 */
export function restartDockerWithFlannel(tx: Tx, host: string): void {
  const w = tx.w as World;
  const node = w.flannel?.nodes[host];
  if (!node) throw new FlannelError('Job for docker.service failed because the control process exited with error code.\nSee "systemctl status docker.service" and "journalctl -xe" for details.');
  const h = tx.host(host);
  if (Object.keys(h.containers).length > 0) throw new NotModelled('systemctl restart docker with containers (it would stop them)');
  const bridge = Object.values(h.localNetworks).find((n) => n.name === 'bridge');
  if (!bridge) throw new DaemonRefusal('no default bridge');
  const before = current(bridge);
  const old = `${bridge.ipam.gateway}/${bridge.ipam.subnet.split('/')[1]}`;
  const gateway = firstHost(node.subnet);
  bridge.ipam = newIpam(node.subnet, gateway);
  bridge.options['com.docker.network.driver.mtu'] = String(node.mtu);
  // dockerd turns forwarding on as it starts (setupIPForwarding): the hosts route flannel's traffic.
  tx.emit({ op: 'sysctl.set', host, netns: host, key: 'net.ipv4.ip_forward', value: '1' });
  // The engine drops the old subnet's rules (its MASQUERADE too) and puts the new one's on top of
  // their chains, above flanneld's FLANNEL-FWD and FLANNEL-POSTRTG: Docker's MASQUERADE for --bip's
  // subnet (! -o docker0) then takes what leaves for another host's containers as well.
  engineRestartWithNewBridge(tx, host, before, bridge, () => tx.emit(
    // setupBridgeIPv4 takes the old address off docker0 and puts --bip's on; the bridge keeps its MAC. --mtu is
    // its veths' (bridge.go's CreateEndpoint): docker0 takes it from the first that joins (the kernel's br_mtu_auto_adjust).
    { op: 'addr.del', host, netns: host, dev: bridge.bridge!, address: old },
    { op: 'addr.add', host, netns: host, dev: bridge.bridge!, address: `${gateway}/${node.subnet.split('/')[1]}` },
  ));
}

/** The default bridge of a host (docker0), where dockerd restarted with --bip puts its containers. */
function defaultBridge(world: World, host: string): Network | undefined {
  return Object.values(hostOf(world, host).localNetworks).find((n) => n.name === 'bridge');
}


/**
 * The way a packet from a container on `net` of `host` to `dst` takes when it is flannel's:
 * the host runs flanneld, `net` is its docker0 and `dst` lies in another host's lease. Its
 * path model (flannel-vxlan, flannel-host-gw), the container it is for (when one has that
 * address), and where emu captures it beyond the sender's own spots: each host's uplink and
 * underlay port (their `mine`: the host's address and its containers', as a host-gw packet
 * leaves with the container's), flannel.1 (its `mine`: the host's VTEP MAC, the inner source
 * of what it sends), and the peer's end of its container's veth.
 */
function flannelWay(world: World, host: string, net: Network, dst: string): OutsideWay | undefined {
  const node = world.flannel?.nodes[host];
  if (!node || defaultBridge(world, host)?.id !== net.id || !subnetContains(node.network, dst) || subnetContains(node.subnet, dst)) return undefined;
  const peer = Object.values(world.flannel!.nodes).find((n) => n.host !== host && n.backend === node.backend && subnetContains(n.subnet, dst));
  if (!peer) return undefined;
  const peerNet = defaultBridge(world, peer.host);
  const ep = peerNet ? endpointsOf(peerNet).find((e) => e.ip === dst && e.state === 'joined') : undefined;
  const spots: CaptureSpot[] = [];
  for (const n of [node, peer]) {
    const bridge = defaultBridge(world, n.host);
    const mine = [n.publicIp, ...(bridge ? endpointsOf(bridge).map((e) => e.ip) : [])];
    const vtep = n.vtepMac ? { vtep: FLANNEL_DEVICE, overlays: { [FLANNEL_VNI]: n.host } } : {};
    spots.push({ host: n.host, netns: n.host, device: 'eth0', role: 'host', mine, ...vtep }, { host: n.host, netns: n.host, device: 'eth0', role: 'underlay', mine });
    if (n.vtepMac) spots.push({ host: n.host, netns: n.host, device: FLANNEL_DEVICE, role: 'vxlan', mine: [n.vtepMac] });
  }
  // Docker's MASQUERADE for docker0's subnet (! -o docker0) takes what leaves for the peer too: the packet goes on
  // from the address of the device it leaves by, flannel.1's (the subnet's .0) or the host's own on eth0.
  const masqueraded = net.options['com.docker.network.bridge.enable_ip_masquerade'] !== 'false';
  const natSrc = masqueraded ? (node.backend === 'vxlan' ? networkOf(node.subnet) : node.publicIp) : undefined;
  return { path: `flannel-${node.backend}`, peers: ep && peerNet ? [{ net: peerNet, ep }] : [], spots, ...(natSrc ? { natSrc } : {}) };
}

declare module './index' {
  interface RegisteredHostLevel {
    flannel: true;
  }
}

/** Its vxlan backend's device (the backend its store's config names). */
const VXLAN: KernelFeature = { name: 'vxlan', what: 'vxlan devices', config: 'CONFIG_VXLAN', probe: [['link', 'add', 'probe0', 'type', 'vxlan', 'id', '1', 'dstport', '8472']] };

/** flanneld and etcdctl connect to the cluster store; a config asking for the vxlan backend needs the kernel's vxlan devices. */
function flannelNeeds(commands: string[]): MachineNeeds {
  return {
    programs: commands.some((c) => /^(sudo\s+)?(etcdctl|flanneld)\b/.test(c.trim())) ? CLUSTER_STORE : [],
    kernel: commands.some((c) => /etcdctl\s+(put|set)\s+\S*\/config\b.*"Type"\s*:\s*"vxlan"/.test(c)) ? [VXLAN] : [],
  };
}

registerHostLevel('flannel', { outsideWay: flannelWay, needs: flannelNeeds });
