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
import { advance, endpointMachine } from '../machines';
import { DaemonRefusal, NotModelled } from '../refusal';
import { plugContainerEnd } from '../sandbox';
import { Tx } from '../tx';
import { Endpoint, Network } from '../world';
import { KernelFeature, NetworkSpec } from './driver';
import { registerDriver } from './index';
import { createStackedNetwork, parentOf, StackedKind, stackedDriver, stackedNeeds } from './stacked';

const MACVLAN: StackedKind = { driver: 'macvlan', dummyPrefix: 'dm-' };

const MODES = ['', 'bridge', 'private', 'vepa', 'passthru'];

function createMacvlanNetwork(tx: Tx, host: string, spec: NetworkSpec): Network {
  const mode = spec.options.macvlan_mode ?? '';
  if (!MODES.includes(mode)) throw new DaemonRefusal(`requested macvlan mode '${mode}' is not valid, 'bridge' mode is the macvlan driver default`);
  if (mode === 'passthru') throw new NotModelled('docker network create -d macvlan -o macvlan_mode=passthru: passthru mode (one macvlan that takes its parent over)');
  return createStackedNetwork(tx, host, spec, MACVLAN);
}

/** The kernel's mode for the network's `macvlan_mode` (bridge unless said); passthru, where the one macvlan takes the parent over, is refused at create. */
const MODE_OF: Record<string, 'bridge' | 'private' | 'vepa' | undefined> = { '': 'bridge', bridge: 'bridge', private: 'private', vepa: 'vepa' };

/** Join: a macvlan device on the parent in the host namespace, moved into the sandbox as the endpoint's interface. */
function joinMacvlan(tx: Tx, net: Draft<Network>, ep: Draft<Endpoint>, defaultRoute: boolean): void {
  const host = ep.host, parent = parentOf(net);
  const name = tx.vethName();
  ep.peerIfname = parent;
  const mode = MODE_OF[net.options.macvlan_mode ?? '']!;
  // netlink.Macvlan{LinkAttrs{Name, ParentIndex}}: a TxQLen of 0 goes with it, the MTU is the parent's.
  tx.emit({ op: 'link.add', host, netns: host, name, txqueuelen: 0, kind: { type: 'macvlan', parent, mode } });
  plugContainerEnd(tx, ep, name);
  if (defaultRoute) tx.emit({ op: 'route.add', host, netns: ep.sandbox, dst: 'default', via: net.ipam.gateway, dev: ep.ifname });
  ep.state = advance(endpointMachine, ep.state, 'JOIN');
}

/** The kernel's macvlan (CONFIG_MACVLAN), probed as libnetwork makes one: on a lower device (a veth of the probe's own). */
const MACVLAN_FEATURE: KernelFeature = {
  name: 'macvlan', what: 'macvlan devices', config: 'CONFIG_MACVLAN',
  probe: [['link', 'add', 'probe1', 'type', 'veth', 'peer', 'name', 'probe2'], ['link', 'add', 'probe0', 'link', 'probe1', 'type', 'macvlan', 'mode', 'bridge']],
};

export const macvlanDriver = stackedDriver(MACVLAN, { create: createMacvlanNetwork, join: joinMacvlan, needs: stackedNeeds(MACVLAN, MACVLAN_FEATURE) });

declare module './index' {
  interface RegisteredDrivers {
    macvlan: true;
  }
}

registerDriver('macvlan', macvlanDriver, { rank: 70 });
