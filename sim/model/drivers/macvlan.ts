/**
 * libnetwork's macvlan driver (v20.10 drivers/macvlan): a local network on the next free
 * local pool, whose parent is the host's interface named by `-o parent=`, or, with none, a
 * dummy device the driver makes for it (`dm-` and the network's short id, brought up;
 * createDummyLink) and removes with the network. A container on it gets a macvlan device on
 * that parent (Join: createMacVlan, named like a veth, "veth" and 7 characters, in the
 * network's mode, bridge unless `-o macvlan_mode=`), which the sandbox moves in and names
 * eth0, with its address from the network's IPAM and the network's gateway as its default
 * route (Join sets it whatever the network). Two hosts' networks on the same parent segment
 * and subnet are one L2 domain: their containers reach each other directly.
 */
import { Draft } from 'immer';
import { subnetContains } from '../../wire/addr';
import { newIpam } from '../ipam';
import { advance, endpointMachine } from '../machines';
import { DaemonRefusal, NotModelled } from '../refusal';
import { plugContainerEnd } from '../sandbox';
import { localNetworksRead, Tx } from '../tx';
import { Endpoint, endpointsOf, hostOf, Network, World } from '../world';
import { CaptureSpot, localNetwork, NetworkDriver, NetworkSpec } from './driver';
import { nextLocalSubnet } from './bridge';

const MODES = ['', 'bridge', 'private', 'vepa', 'passthru'];

function createMacvlanNetwork(tx: Tx, host: string, spec: NetworkSpec): Network {
  const mode = spec.options.macvlan_mode ?? '';
  if (!MODES.includes(mode)) throw new DaemonRefusal(`requested macvlan mode '${mode}' is not valid, 'bridge' mode is the macvlan driver default`);
  if (mode === 'passthru') throw new NotModelled('docker network create -d macvlan -o macvlan_mode=passthru: passthru mode (one macvlan that takes its parent over) is not modelled');
  const parent = spec.options.parent;
  if (parent === 'lo') throw new DaemonRefusal('loopback interface is not a valid macvlan parent link');
  const h = tx.host(host);
  if (parent !== undefined) {
    if (parent !== 'eth0') throw new NotModelled(`docker network create -d macvlan -o parent=${parent}: a parent other than the host's eth0 (a VLAN subinterface, another device) is not modelled`);
    const user = localNetworksRead(tx, host).find((n) => n.driver === 'macvlan' && n.options.parent === parent);
    if (user) throw new DaemonRefusal(`network dm-${user.id.slice(0, 12)} is already using parent interface ${parent}`);
  }
  const subnet = spec.subnet ?? nextLocalSubnet(tx, host);
  const net = localNetwork(tx, host, spec.name, 'macvlan', subnet, undefined, spec.options);
  net.ipam = newIpam(subnet, spec.gateway);
  net.internal = spec.internal;
  net.labels = spec.labels;
  if (parent === undefined) {
    // The dummy is made as netlink.Dummy{LinkAttrs{Name}}: a TxQLen of 0 goes with it.
    net.createdLink = `dm-${net.id.slice(0, 12)}`;
    tx.emit(
      { op: 'link.add', host, netns: host, name: net.createdLink, kind: { type: 'dummy' }, txqueuelen: 0 },
      { op: 'link.set', host, netns: host, name: net.createdLink, up: true },
    );
  }
  h.localNetworks[net.id] = net;
  return net;
}

/** The kernel's mode for the network's `macvlan_mode` (bridge unless said); passthru, where the one macvlan takes the parent over, is refused at create. */
const MODE_OF: Record<string, 'bridge' | 'private' | 'vepa' | undefined> = { '': 'bridge', bridge: 'bridge', private: 'private', vepa: 'vepa' };

/** The parent link its containers' macvlan devices sit on: `-o parent=`, or the dummy the driver made. */
function parentOf(net: Network): string {
  return net.options.parent ?? net.createdLink!;
}

/** Join: a macvlan device on the parent in the host namespace, moved into the sandbox as the endpoint's interface. */
function joinMacvlan(tx: Tx, net: Draft<Network>, ep: Draft<Endpoint>, defaultRoute: boolean): void {
  const host = ep.host, parent = parentOf(net);
  const name = tx.vethName();
  // The endpoint's other side is the parent itself: no veth, no bridge.
  ep.peerIfname = parent;
  const mode = MODE_OF[net.options.macvlan_mode ?? '']!;
  // netlink.Macvlan{LinkAttrs{Name, ParentIndex}}: a TxQLen of 0 goes with it, the MTU is the parent's.
  tx.emit({ op: 'link.add', host, netns: host, name, txqueuelen: 0, kind: { type: 'macvlan', parent, mode } });
  plugContainerEnd(tx, ep, name);
  if (defaultRoute) tx.emit({ op: 'route.add', host, netns: ep.sandbox, dst: 'default', via: net.ipam.gateway, dev: ep.ifname });
  ep.state = advance(endpointMachine, ep.state, 'JOIN');
}

/** Networks of this driver on other hosts that share `net`'s L2 domain: the same parent on the hosts' segment (eth0) and the same subnet. */
function sameSegment(world: World, net: Network): Network[] {
  if (net.options.parent === undefined) return [net];
  return world.hostOrder.flatMap((h) => Object.values(hostOf(world, h).localNetworks))
    .filter((n) => n.driver === 'macvlan' && n.options.parent === net.options.parent && n.ipam.subnet === net.ipam.subnet);
}

/**
 * Where emu sees a container's frame past its eth0: its host's eth0, which sends and takes
 * the container's frames as they are (so the container's address tells the way), and the
 * host's port on the segment. A dummy parent carries nothing between containers.
 */
function macvlanCaptureSpots(_world: World, net: Network, ep: Endpoint): CaptureSpot[] {
  if (net.options.parent === undefined) return [];
  const device = net.options.parent;
  return [
    { host: ep.host, netns: ep.host, device, role: 'host', mine: [ep.ip] },
    { host: ep.host, netns: ep.host, device, role: 'underlay', mine: [ep.ip] },
  ];
}

export const macvlanDriver: NetworkDriver = {
  name: 'macvlan',
  create: createMacvlanNetwork,
  // The dummy parent the driver made goes with the network (a parent named by -o parent= stays).
  remove: (tx, host, net) => {
    if (net.createdLink) tx.emit({ op: 'link.del', host, netns: host, name: net.createdLink });
  },
  attaches: true,
  join: joinMacvlan,
  // Leave does nothing of its own: the macvlan goes with the endpoint's interface (or its whole sandbox).
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
  captureSpots: macvlanCaptureSpots,
  networkNamespace: () => undefined,
  // The container's eth0 is a macvlan on the parent, in the host's namespace: no veth, no bridge.
  endpointPeer: (_net, host) => ({ netns: host, stacked: 'macvlan' }),
  path: 'macvlan',
  // What leaves through its gateway takes the same way: out of the parent, to the gateway's MAC on the segment (a router the lab does not have).
  outsidePath: 'macvlan',
};
