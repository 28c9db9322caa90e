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
import { advance, endpointMachine } from '../machines';
import { DaemonRefusal } from '../refusal';
import { plugContainerEnd } from '../sandbox';
import { Tx } from '../tx';
import { Endpoint, Network } from '../world';
import { KernelFeature, NetworkSpec } from './driver';
import { registerDriver } from './index';
import { createStackedNetwork, parentOf, StackedKind, stackedDriver, stackedNeeds } from './stacked';

const IPVLAN: StackedKind = { driver: 'ipvlan', dummyPrefix: 'di-' };

function createIpvlanNetwork(tx: Tx, host: string, spec: NetworkSpec): Network {
  const mode = spec.options.ipvlan_mode ?? '';
  if (!['', 'l2', 'l3'].includes(mode)) throw new DaemonRefusal(`requested ipvlan mode '${mode}' is not valid, 'l2' mode is the ipvlan driver default`);
  return createStackedNetwork(tx, host, spec, IPVLAN);
}

/** Join: an ipvlan device on the parent in the host namespace, moved into the sandbox as the endpoint's interface, its MAC the parent's. */
function joinIpvlan(tx: Tx, net: Draft<Network>, ep: Draft<Endpoint>, defaultRoute: boolean): void {
  const host = ep.host, parent = parentOf(net);
  const mode = net.options.ipvlan_mode === 'l3' ? 'l3' : 'l2';
  const name = tx.vethName();
  // No MAC of its own: the device keeps the parent's.
  ep.peerIfname = parent;
  ep.mac = '';
  // netlink.IPVlan{LinkAttrs{Name, ParentIndex}, Mode}: a TxQLen of 0 goes with it, the MTU is the parent's.
  tx.emit({ op: 'link.add', host, netns: host, name, txqueuelen: 0, kind: { type: 'ipvlan', parent, mode } });
  plugContainerEnd(tx, ep, name);
  // l3: a connected default route, no next hop (the gateway is not used); l2: via the network's gateway.
  if (defaultRoute) tx.emit({ op: 'route.add', host, netns: ep.sandbox, dst: 'default', ...(mode === 'l3' ? {} : { via: net.ipam.gateway }), dev: ep.ifname });
  ep.state = advance(endpointMachine, ep.state, 'JOIN');
}

/** The path model of a packet on the network, by its mode (sim/trace/paths/ipvlan.ts). */
function ipvlanPathOf(net: Network): string {
  return net.options.ipvlan_mode === 'l3' ? 'ipvlan-l3' : 'ipvlan';
}

/** The kernel's ipvlan (CONFIG_IPVLAN), probed as libnetwork makes one: on a lower device (a veth of the probe's own). */
const IPVLAN_FEATURE: KernelFeature = {
  name: 'ipvlan', what: 'ipvlan devices', config: 'CONFIG_IPVLAN',
  probe: [['link', 'add', 'probe1', 'type', 'veth', 'peer', 'name', 'probe2'], ['link', 'add', 'probe0', 'link', 'probe1', 'type', 'ipvlan', 'mode', 'l2']],
};

export const ipvlanDriver = stackedDriver(IPVLAN, {
  create: createIpvlanNetwork,
  join: joinIpvlan,
  // The port's mode decides the path: in l3 the host's namespace routes what no sibling holds, to the segment or beyond.
  pathOn: (_world, net) => ipvlanPathOf(net),
  pathsOn: ['ipvlan', 'ipvlan-l3'],
  outsideWay: (_world, _host, net) => (net.options.ipvlan_mode === 'l3' ? { path: ipvlanPathOf(net), peers: [], spots: [] } : undefined),
  needs: stackedNeeds(IPVLAN, IPVLAN_FEATURE),
});

declare module './index' {
  interface RegisteredDrivers {
    ipvlan: true;
  }
}

registerDriver('ipvlan', ipvlanDriver, { rank: 80 });
