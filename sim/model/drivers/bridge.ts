/**
 * libnetwork's bridge driver: a local network on a Linux bridge in the host namespace
 * (docker0, br-<id>, docker_gwbridge), its subnet from the local pools, endpoints' veths
 * plugged into it.
 */
import { Draft } from 'immer';
import { newIpam, prefixLengthOf } from '../ipam';
import { advance, endpointMachine } from '../machines';
import { plugContainerEnd } from '../sandbox';
import { fieldOf, Tx } from '../tx';
import { seedFromName } from '../ids';
import { Endpoint, endpointsOf, hostOf, Network, World } from '../world';
import { CaptureSpot, hostByUnderlay, localNetwork, NetworkDriver, NetworkSpec, nextLocalSubnet, uplinkSpots } from './driver';
import { registerDriver } from './index';
import { bridgeNetworkDown, bridgeNetworkUp } from '../firewall';

/** `docker network create -d bridge`: a br-<id> bridge on the next free local pool. */
function createBridgeNetwork(tx: Tx, host: string, spec: NetworkSpec): Network {
  const subnet = spec.subnet ?? nextLocalSubnet(tx, host);
  const net = localNetwork(tx, host, spec.name, 'bridge', subnet, undefined, spec.options);
  net.bridge = `br-${net.id.slice(0, 12)}`;
  net.ipam = newIpam(subnet, spec.gateway);
  net.subnetConfigured = spec.subnet !== undefined;
  net.internal = spec.internal;
  net.labels = spec.labels;
  const h = tx.host(host);
  h.localNetworks[net.id] = net;
  createBridgeDevice(tx, host, net);
  bridgeNetworkUp(tx, host, net, false);
  return net;
}

export function joinBridge(tx: Tx, net: Draft<Network>, ep: Draft<Endpoint>, defaultRoute: boolean): void {
  const host = ep.host;
  const hostVeth = tx.vethName(), ctrVeth = tx.vethName();
  ep.peerIfname = hostVeth;
  // dockerd's --mtu (the default bridge's com.docker.network.driver.mtu): both ends of the veth take it.
  const mtu = Number(fieldOf(net, 'options')['com.docker.network.driver.mtu'] ?? 1500);
  const custom = mtu !== 1500 ? { mtu } : {};
  tx.emit(
    { op: 'link.add', host, netns: host, name: hostVeth, txqueuelen: 0, kind: { type: 'veth', peer: ctrVeth }, ...custom },
    { op: 'link.set', host, netns: host, name: hostVeth, master: net.bridge!, up: true },
  );
  plugContainerEnd(tx, ep, ctrVeth);
  if (defaultRoute) tx.emit({ op: 'route.add', host, netns: ep.sandbox, dst: 'default', via: net.ipam.gateway, dev: ep.ifname });
  ep.state = advance(endpointMachine, ep.state, 'JOIN');
}

export function leaveBridge(tx: Tx, ep: Draft<Endpoint>, sandboxGoing: boolean): void {
  if (!sandboxGoing) tx.emit({ op: 'link.del', host: ep.host, netns: ep.sandbox, name: ep.ifname });
  ep.state = advance(endpointMachine, ep.state, 'LEAVE');
}

/**
 * The bridge's own MAC: 02:42 and four bytes Docker draws at random; here they come from the
 * network's id, so no draw from the seeded generator shifts the ids made after it.
 */
export function bridgeMac(networkId: string): string {
  const v = seedFromName(`bridge-mac:${networkId}`);
  return ['02', '42', ...[24, 16, 8, 0].map((s) => ((v >>> s) & 0xff).toString(16).padStart(2, '0'))].join(':');
}

/** A Linux bridge for a bridge-driver network, in the host namespace. */
export function createBridgeDevice(tx: Tx, host: string, net: Network | Draft<Network>): void {
  const prefix = net.ipam.subnet.split('/')[1];
  tx.emit(
    // The bridge driver gives the bridge a random 02:42 MAC of its own (setupDevice); a bridge
    // with a set address has no carrier until a port brings one (docker0: NO-CARRIER, linkdown).
    { op: 'link.add', host, netns: host, name: net.bridge!, kind: { type: 'bridge' }, txqueuelen: 0, mac: bridgeMac(net.id) },
    { op: 'addr.add', host, netns: host, dev: net.bridge!, address: `${net.ipam.gateway}/${prefix}` },
    { op: 'link.set', host, netns: host, name: net.bridge!, up: true },
  );
}

/**
 * The outside path's places past the container's veth: the bridge device (frames it takes
 * up to the host's stack and the host sends down through it), the host's uplink, which
 * routes the flow both ways, its port on the underlay, and, when the destination is another
 * scenario host's underlay address, that host's uplink and port.
 */
function bridgeOutsideCaptureSpots(world: World, net: Network, ep: Endpoint, dst: string | undefined): CaptureSpot[] {
  const underlay = hostOf(world, ep.host).underlay;
  const spots: CaptureSpot[] = [{ host: ep.host, netns: ep.host, device: net.bridge!, role: 'bridge', mine: [ep.mac] }, ...uplinkSpots(ep.host, underlay, true)];
  const remote = hostByUnderlay(world, ep.host, dst);
  if (remote) spots.push(...uplinkSpots(remote, dst!));
  return spots;
}

export const bridgeDriver: NetworkDriver = {
  name: 'bridge',
  create: createBridgeNetwork,
  // The bridge goes, and with it the network's rules (a docker0 or docker_gwbridge is never removed: dockerd refuses first).
  remove: (tx, host, net) => {
    tx.emit({ op: 'link.del', host, netns: host, name: net.bridge! });
    bridgeNetworkDown(tx, host, net);
  },
  attaches: true,
  join: joinBridge,
  leave: (tx, _net, ep, sandboxGoing) => leaveBridge(tx, ep, sandboxGoing),
  providesGateway: true,
  publishesPorts: true,
  outsideThroughGwbridge: false,
  // The default bridge has no service records: its containers keep the host's resolver.
  embeddedDns: (net) => net.name !== 'bridge',
  // The destination's endpoint, on the same bridge (a local network lives on one host).
  peersToCapture: (net, dst) => (dst ? endpointsOf(net).filter((e) => e.ip === dst && e.state === 'joined').slice(0, 1) : []),
  captureSpots: (_world, net, ep) => [{ host: ep.host, netns: ep.host, device: ep.peerIfname, role: 'bridge-port', mine: [ep.mac], master: net.bridge! }],
  networkNamespace: () => undefined,
  endpointPeer: (net, host) => ({ netns: host, master: net.bridge! }),
  // Each of its networks' Linux bridge, in the host's namespace, with the gateway's address.
  hostTopology: (world, host) => ({
    devices: Object.values(hostOf(world, host).localNetworks).filter((n) => n.driver === 'bridge' && n.bridge)
      .map((n) => ({ device: n.bridge!, kind: 'bridge', addresses: [`${n.ipam.gateway}/${prefixLengthOf(n.ipam.subnet)}`] })),
    programs: [],
  }),
  path: 'bridge',
  // docker0 and docker_gwbridge carry a container's default route: the host routes what leaves through them.
  outsidePath: 'gwbridge',
  // Flannel beside Docker routes what leaves docker0 for another host's lease (its own path, and more to capture).
  outsideCaptureSpots: bridgeOutsideCaptureSpots,
};

declare module './index' {
  interface RegisteredDrivers {
    bridge: true;
  }
}

registerDriver('bridge', bridgeDriver, { rank: 20 });
