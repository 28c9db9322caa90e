/**
 * libnetwork's ipvlan driver (v20.10 drivers/ipvlan): a local network on the next free local
 * pool, whose parent is the host's interface named by `-o parent=`, or, with none, a dummy
 * device the driver makes for it (`di-` and the network's short id, brought up;
 * createDummyLink) and removes with the network. `-o ipvlan_mode=` is l2 (the default) or
 * l3. A container on an l2 network gets an ipvlan device on that parent (Join: createIPVlan,
 * named like a veth, "veth" and 7 characters), which the sandbox moves in and names eth0,
 * with its address from the network's IPAM and the network's gateway as its default route
 * (SetGateway). The device keeps its parent's MAC: an ipvlan endpoint has none of its own
 * (CreateEndpoint refuses one), so the sandbox sets none and `docker inspect` shows none.
 * Two hosts' networks on the same parent segment and subnet are one L2 domain.
 *
 * A container on an l3 network gets the same device in l3 mode (NOARP; what it sends past
 * its siblings is routed by the host's namespace) and, instead of the gateway (Join disables
 * the gateway service), a default route `default dev eth0` (ifaceGateway: a connected route,
 * no next hop). libnetwork adds no route on the host: between hosts, each host needs a route
 * to the other's container subnet via the other host (`ip route add SUBNET via HOST`), which
 * the user adds.
 *
 * Not modelled: a parent other than the host's eth0 (a VLAN subinterface libnetwork would make).
 */
import { Draft } from 'immer';
import { subnetContains } from '../../wire/addr';
import { newIpam } from '../ipam';
import { advance, endpointMachine } from '../machines';
import { DaemonRefusal, NotModelled } from '../refusal';
import { localNetworksRead, Tx } from '../tx';
import { Endpoint, endpointsOf, hostOf, Network, World } from '../world';
import { CaptureSpot, KernelFeature, localNetwork, NetworkDriver, NetworkSpec } from './driver';
import { nextLocalSubnet } from './bridge';

function createIpvlanNetwork(tx: Tx, host: string, spec: NetworkSpec): Network {
  const mode = spec.options.ipvlan_mode ?? '';
  if (!['', 'l2', 'l3'].includes(mode)) throw new DaemonRefusal(`requested ipvlan mode '${mode}' is not valid, 'l2' mode is the ipvlan driver default`);
  const parent = spec.options.parent;
  if (parent === 'lo') throw new DaemonRefusal('loopback interface is not a valid ipvlan parent link');
  const h = tx.host(host);
  if (parent !== undefined) {
    if (parent !== 'eth0') throw new NotModelled(`docker network create -d ipvlan -o parent=${parent}: a parent other than the host's eth0 (a VLAN subinterface, another device) is not modelled`);
    const user = localNetworksRead(tx, host).find((n) => n.driver === 'ipvlan' && n.options.parent === parent);
    if (user) throw new DaemonRefusal(`network di-${user.id.slice(0, 12)} is already using parent interface ${parent}`);
  }
  const subnet = spec.subnet ?? nextLocalSubnet(tx, host);
  const net = localNetwork(tx, host, spec.name, 'ipvlan', subnet, undefined, spec.options);
  net.ipam = newIpam(subnet, spec.gateway);
  net.internal = spec.internal;
  net.labels = spec.labels;
  if (parent === undefined) {
    // The dummy is made as netlink.Dummy{LinkAttrs{Name}}: a TxQLen of 0 goes with it.
    net.createdLink = `di-${net.id.slice(0, 12)}`;
    tx.emit(
      { op: 'link.add', host, netns: host, name: net.createdLink, kind: { type: 'dummy' }, txqueuelen: 0 },
      { op: 'link.set', host, netns: host, name: net.createdLink, up: true },
    );
  }
  h.localNetworks[net.id] = net;
  return net;
}

/** The parent link its containers' ipvlan devices sit on: `-o parent=`, or the dummy the driver made. */
function parentOf(net: Network): string {
  return net.options.parent ?? net.createdLink!;
}

/** Join: an ipvlan device on the parent in the host namespace, moved into the sandbox as the endpoint's interface, its MAC the parent's. */
function joinIpvlan(tx: Tx, net: Draft<Network>, ep: Draft<Endpoint>, defaultRoute: boolean): void {
  const { host, sandbox } = ep, parent = parentOf(net);
  const mode = net.options.ipvlan_mode === 'l3' ? 'l3' : 'l2';
  const name = tx.vethName();
  // The endpoint's other side is the parent itself: no veth, no bridge; and no MAC of its own.
  ep.peerIfname = parent;
  ep.mac = '';
  // netlink.IPVlan{LinkAttrs{Name, ParentIndex}, Mode}: a TxQLen of 0 goes with it, the MTU is the parent's.
  tx.emit(
    { op: 'link.add', host, netns: host, name, txqueuelen: 0, kind: { type: 'ipvlan', parent, mode } },
    { op: 'link.move', host, netns: host, name, to: sandbox },
    { op: 'link.rename', host, netns: sandbox, name, to: ep.ifname },
    { op: 'addr.add', host, netns: sandbox, dev: ep.ifname, address: `${ep.ip}/${ep.prefixLength}` },
    { op: 'link.set', host, netns: sandbox, name: ep.ifname, up: true },
  );
  // l3: a connected default route, no next hop (the gateway is not used); l2: via the network's gateway.
  if (defaultRoute) tx.emit({ op: 'route.add', host, netns: sandbox, dst: 'default', ...(mode === 'l3' ? {} : { via: net.ipam.gateway }), dev: ep.ifname });
  ep.state = advance(endpointMachine, ep.state, 'JOIN');
}

/** Networks of this driver on other hosts that share `net`'s L2 domain: the same parent on the hosts' segment (eth0) and the same subnet. */
function sameSegment(world: World, net: Network): Network[] {
  if (net.options.parent === undefined) return [net];
  return world.hostOrder.flatMap((h) => Object.values(hostOf(world, h).localNetworks))
    .filter((n) => n.driver === 'ipvlan' && n.options.parent === net.options.parent && n.ipam.subnet === net.ipam.subnet);
}

/** Where emu would see a container's frame past its eth0: its host's eth0, and the host's port on the segment. A dummy parent carries nothing between hosts. */
function ipvlanCaptureSpots(_world: World, net: Network, ep: Endpoint): CaptureSpot[] {
  if (net.options.parent === undefined) return [];
  const device = net.options.parent;
  return [
    { host: ep.host, netns: ep.host, device, role: 'host', mine: [ep.ip] },
    { host: ep.host, netns: ep.host, device, role: 'underlay', mine: [ep.ip] },
  ];
}

/** The kernel's ipvlan (CONFIG_IPVLAN), probed as libnetwork makes one: on a lower device (a veth of the probe's own). */
const IPVLAN: KernelFeature = {
  name: 'ipvlan', what: 'ipvlan devices', config: 'CONFIG_IPVLAN',
  probe: [['link', 'add', 'probe1', 'type', 'veth', 'peer', 'name', 'probe2'], ['link', 'add', 'probe0', 'link', 'probe1', 'type', 'ipvlan', 'mode', 'l2']],
};

/** `docker network create` with the ipvlan driver (-d ipvlan, --driver ipvlan, --driver=ipvlan). */
const CREATES_IPVLAN = /^docker\s+network\s+create\s.*(-d|--driver)(\s+|=)ipvlan\b/;

export const ipvlanDriver: NetworkDriver = {
  name: 'ipvlan',
  create: createIpvlanNetwork,
  // The dummy parent the driver made goes with the network (a parent named by -o parent= stays).
  remove: (tx, host, net) => {
    if (net.createdLink) tx.emit({ op: 'link.del', host, netns: host, name: net.createdLink });
  },
  attaches: true,
  join: joinIpvlan,
  // Leave does nothing of its own: the ipvlan goes with the endpoint's interface (or its whole sandbox).
  leave: (tx, _net, ep, sandboxGoing) => {
    if (!sandboxGoing) tx.emit({ op: 'link.del', host: ep.host, netns: ep.sandbox, name: ep.ifname });
    ep.state = advance(endpointMachine, ep.state, 'LEAVE');
  },
  providesGateway: true,
  outsideThroughGwbridge: false,
  // A user-defined local network: the embedded DNS answers for its containers on the same host.
  embeddedDns: () => true,
  // The destination's endpoint, on this host's network or on another host's that shares its segment.
  peersToCapture: (net, dst, world) => {
    if (!dst || !subnetContains(net.ipam.subnet, dst)) return [];
    return (world ? sameSegment(world, net) : [net]).flatMap((n) => endpointsOf(n)).filter((e) => e.ip === dst && e.state === 'joined').slice(0, 1);
  },
  captureSpots: ipvlanCaptureSpots,
  networkNamespace: () => undefined,
  // The container's eth0 is an ipvlan on the parent, in the host's namespace: no veth, no bridge.
  endpointPeer: (_net, host) => ({ netns: host, stacked: 'ipvlan' }),
  path: 'ipvlan',
  // What leaves through its gateway takes the same way: out of the parent, to the gateway on the segment (a router the lab does not have).
  outsidePath: 'ipvlan',
  needs: (commands) => ({ programs: [], kernel: commands.some((c) => CREATES_IPVLAN.test(c.trim())) ? [IPVLAN] : [] }),
};
