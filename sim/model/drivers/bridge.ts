/** libnetwork's bridge driver as plan ops: the Linux bridge in the host namespace and endpoints' veths on it. */
import { Draft } from 'immer';
import { advance, endpointMachine } from '../machines';
import { plugContainerEnd } from '../sandbox';
import { Tx } from '../tx';
import { Endpoint, Network } from '../world';

export function joinBridge(tx: Tx, net: Draft<Network>, ep: Draft<Endpoint>, defaultRoute: boolean): void {
  const host = ep.host;
  const hostVeth = tx.vethName(), ctrVeth = tx.vethName();
  ep.peerIfname = hostVeth;
  tx.emit(
    { op: 'link.add', host, netns: host, name: hostVeth, kind: { type: 'veth', peer: ctrVeth } },
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

/** A Linux bridge for a bridge-driver network, in the host namespace. */
export function createBridgeDevice(tx: Tx, host: string, net: Network | Draft<Network>): void {
  const prefix = net.ipam.subnet.split('/')[1];
  tx.emit(
    { op: 'link.add', host, netns: host, name: net.bridge!, kind: { type: 'bridge' } },
    { op: 'addr.add', host, netns: host, dev: net.bridge!, address: `${net.ipam.gateway}/${prefix}` },
    { op: 'link.set', host, netns: host, name: net.bridge!, up: true },
  );
}
