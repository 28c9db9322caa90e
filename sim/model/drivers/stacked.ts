/**
 * What libnetwork's macvlan and ipvlan drivers (v20.10 drivers/macvlan, drivers/ipvlan) share:
 * a local network on the next free local pool, whose parent is the host's interface named by
 * `-o parent=` (one network of the driver a parent), or, with none, a dummy device the driver
 * makes for it (its prefix and the network's short id, brought up; createDummyLink) and
 * removes with the network. A container on it gets a device of the driver's kind on that
 * parent, named like a veth, which the sandbox moves in and names eth0: the endpoint's other
 * side is the parent itself, no veth and no bridge. Two hosts' networks of the driver on the
 * same parent segment and subnet are one L2 domain. Each driver says its modes and its device.
 */
import { subnetContains } from '../../wire/addr';
import { newIpam } from '../ipam';
import { advance, endpointMachine } from '../machines';
import { DaemonRefusal, NotModelled } from '../refusal';
import { localNetworksRead, Tx } from '../tx';
import { Endpoint, endpointsOf, hostOf, Network, World } from '../world';
import { CaptureSpot, DUMMY_DEVICES, KernelFeature, localNetwork, MachineNeeds, NetworkDriver, NetworkSpec, nextLocalSubnet } from './driver';
import type { RegisteredDrivers } from './index';

/** A stacked driver's name (one that registers itself), and its dummy parent's prefix (`dm-` macvlan's, `di-` ipvlan's). */
export interface StackedKind {
  driver: keyof RegisteredDrivers;
  dummyPrefix: string;
}

/** The network, once the driver has checked its own options (its mode). */
export function createStackedNetwork(tx: Tx, host: string, spec: NetworkSpec, kind: StackedKind): Network {
  const parent = spec.options.parent;
  if (parent === 'lo') throw new DaemonRefusal(`loopback interface is not a valid ${kind.driver} parent link`);
  const h = tx.host(host);
  if (parent !== undefined) {
    if (parent !== 'eth0') throw new NotModelled(`docker network create -d ${kind.driver} -o parent=${parent}: a parent other than the host's eth0 (a VLAN subinterface, another device)`);
    const user = localNetworksRead(tx, host).find((n) => n.driver === kind.driver && n.options.parent === parent);
    if (user) throw new DaemonRefusal(`network ${kind.dummyPrefix}${user.id.slice(0, 12)} is already using parent interface ${parent}`);
  }
  const subnet = spec.subnet ?? nextLocalSubnet(tx, host);
  const net = localNetwork(tx, host, spec.name, kind.driver, subnet, undefined, spec.options);
  net.ipam = newIpam(subnet, spec.gateway);
  net.subnetConfigured = spec.subnet !== undefined;
  net.internal = spec.internal;
  net.labels = spec.labels;
  if (parent === undefined) {
    // The dummy is made as netlink.Dummy{LinkAttrs{Name}}: a TxQLen of 0 goes with it.
    net.createdLink = `${kind.dummyPrefix}${net.id.slice(0, 12)}`;
    tx.emit(
      { op: 'link.add', host, netns: host, name: net.createdLink, kind: { type: 'dummy' }, txqueuelen: 0 },
      { op: 'link.set', host, netns: host, name: net.createdLink, up: true },
    );
  }
  h.localNetworks[net.id] = net;
  return net;
}

/**
 * `parent=…` given to -o or --opt on a `docker network create` line, as pflag reads them: the
 * shorthand's value apart, after = or joined (-oparent=eth0), the long flag's apart or after =.
 */
const NAMES_PARENT = /\s(-o(\s+|=)?|--opt(\s+|=))parent=/;

/**
 * What a stacked driver's scenarios need of a real kernel: its device kind (`feature`) for a
 * network of the driver that a line creates (-d D, -dD, -d=D, --driver D, --driver=D), and dummy
 * devices when such a line names no parent (the driver makes a dummy one).
 */
export function stackedNeeds(kind: StackedKind, feature: KernelFeature): (commands: string[]) => MachineNeeds {
  const creates = new RegExp(`^docker\\s+network\\s+create\\s.*(-d(\\s+|=)?|--driver(\\s+|=))${kind.driver}\\b`);
  return (commands) => {
    const lines = commands.map((c) => c.trim()).filter((c) => creates.test(c));
    return { programs: [], kernel: [...(lines.length ? [feature] : []), ...(lines.some((c) => !NAMES_PARENT.test(c)) ? [DUMMY_DEVICES] : [])] };
  };
}

/** The parent link its containers' devices sit on: `-o parent=`, or the dummy the driver made. */
export function parentOf(net: Network): string {
  return net.options.parent ?? net.createdLink!;
}

/** Networks of the driver on other hosts that share `net`'s L2 domain: the same parent on the hosts' segment (eth0) and the same subnet. */
function sameSegment(world: World, net: Network): Network[] {
  if (net.options.parent === undefined) return [net];
  return world.hostOrder.flatMap((h) => Object.values(hostOf(world, h).localNetworks))
    .filter((n) => n.driver === net.driver && n.options.parent === net.options.parent && n.ipam.subnet === net.ipam.subnet);
}

/**
 * Where emu sees a container's frame past its eth0: its host's eth0, which sends and takes
 * the container's frames as they are (so the container's address tells the way), and the
 * host's port on the segment. A dummy parent carries nothing between hosts.
 */
function stackedCaptureSpots(_world: World, net: Network, ep: Endpoint): CaptureSpot[] {
  if (net.options.parent === undefined) return [];
  const device = net.options.parent;
  return [
    { host: ep.host, netns: ep.host, device, role: 'host', mine: [ep.ip] },
    { host: ep.host, netns: ep.host, device, role: 'underlay', mine: [ep.ip] },
  ];
}

/**
 * A lower device takes one kind of stacked device at a time: its rx_handler is one port's
 * (macvlan_port_create's netdev_rx_handler_register, ipvlan_link_new's
 * netdev_is_rx_handler_busy: EBUSY). Networks of both drivers on one parent are made
 * alike; the first container of the second kind fails to start while a container of the
 * other kind is on the parent, with libnetwork's words for the failed LinkAdd
 * (createMacVlan, createIPVlan).
 */
function refuseBusyParent(tx: Tx, net: Network, host: string, kind: StackedKind, joinedBefore: readonly Network[]): void {
  const parent = net.options.parent;
  if (parent === undefined) return;
  const otherKind = (n: Network) => n.driver !== kind.driver && STACKED_DRIVERS.has(n.driver) && n.options.parent === parent;
  // The step's own world (a container started earlier in this step holds the parent too),
  // and the networks this container's start joins before this one.
  const busy = Object.values(tx.host(host).localNetworks).some((n) => otherKind(n) && endpointsOf(n).some((e) => e.state === 'joined'))
    || joinedBefore.some(otherKind);
  if (busy) throw new DaemonRefusal(`failed to create the ${kind.driver} port: device or resource busy`, 'start');
}

const STACKED_DRIVERS = new Set<string>(['macvlan', 'ipvlan'] satisfies StackedKind['driver'][]);

/** A stacked driver: its own create (its modes) and join (its device), and what every stacked driver does alike. */
export function stackedDriver(kind: StackedKind, own: Pick<NetworkDriver, 'create' | 'join'> & Partial<NetworkDriver>): NetworkDriver {
  return {
    name: kind.driver,
    // The dummy parent the driver made goes with the network (a parent named by -o parent= stays).
    remove: (tx, host, net) => {
      if (net.createdLink) tx.emit({ op: 'link.del', host, netns: host, name: net.createdLink });
    },
    attaches: true,
    // The device goes with the endpoint's interface, deleted here unless its whole sandbox goes.
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
    captureSpots: stackedCaptureSpots,
    networkNamespace: () => undefined,
    // The container's eth0 is the driver's device on the parent, in the host's namespace: no veth, no bridge.
    endpointPeer: (_net, host) => ({ netns: host, stacked: kind.driver }),
    path: kind.driver,
    // What leaves through its gateway takes the same way: out of the parent, to the gateway on the segment (a router the lab does not have).
    outsidePath: kind.driver,
    refuseJoin: (tx, net, host, joinedBefore) => refuseBusyParent(tx, net, host, kind, joinedBefore),
    ...own,
  };
}
