/**
 * libnetwork's macvlan driver (v20.10 drivers/macvlan), as far as cnmlab models it: a local
 * network on the next free local pool, whose parent is the host's interface named by
 * `-o parent=`, or, with none, a dummy device the driver makes for it (`dm-` and the
 * network's short id, brought up; createDummyLink) and removes with the network. Containers
 * on it are not modelled: each would get a macvlan device on that parent.
 */
import { newIpam } from '../ipam';
import { DaemonRefusal, NotModelled } from '../refusal';
import { localNetworksRead, Tx } from '../tx';
import { Network } from '../world';
import { localNetwork, NetworkDriver, NetworkSpec } from './driver';
import { nextLocalSubnet } from './bridge';

const MODES = ['', 'bridge', 'private', 'vepa', 'passthru'];

function createMacvlanNetwork(tx: Tx, host: string, spec: NetworkSpec): Network {
  const mode = spec.options.macvlan_mode ?? '';
  if (!MODES.includes(mode)) throw new DaemonRefusal(`requested macvlan mode '${mode}' is not valid, 'bridge' mode is the macvlan driver default`);
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

const CONTAINERS = 'a container on a macvlan network is not modelled (the network and its parent link are)';

export const macvlanDriver: NetworkDriver = {
  name: 'macvlan',
  create: createMacvlanNetwork,
  // The dummy parent the driver made goes with the network (a parent named by -o parent= stays).
  remove: (tx, host, net) => {
    if (net.createdLink) tx.emit({ op: 'link.del', host, netns: host, name: net.createdLink });
  },
  attaches: true,
  containersNotModelled: CONTAINERS,
  join: () => {
    throw new NotModelled(CONTAINERS);
  },
  leave: () => {
    throw new NotModelled(CONTAINERS);
  },
  providesGateway: true,
  outsideThroughGwbridge: false,
  embeddedDns: () => true,
  peersToCapture: () => [],
  captureSpots: () => [],
  networkNamespace: () => undefined,
  endpointPeer: (net, host) => ({ netns: host, master: net.createdLink ?? '' }),
};
