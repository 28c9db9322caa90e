/**
 * libnetwork's overlay driver as plan ops: the overlay sandbox (br0 + vxlan0), veth pairs for
 * endpoints, and the peer table's neigh/fdb entries. Functions here change the draft and
 * emit the ops that make the kernel match it.
 */
import { Draft } from 'immer';
import { advance, endpointMachine, networkOnHostMachine } from '../machines';
import { addNamespace, delNamespace, plugContainerEnd } from '../sandbox';
import { Tx } from '../tx';
import { Endpoint, endpointsOf, instanceHosts, instanceOf, Network, OVERLAY_MTU, shardDelete, shardSet, swarmNetwork } from '../world';

export function overlayNetnsName(networkId: string): string {
  return `1-${networkId.slice(0, 10)}`;
}

export function lbSandboxName(networkId: string): string {
  return `lb_${networkId}`.slice(0, 12);
}

/** A peer's static neighbour and FDB entries on vxlan0 (libnetwork peerAdd/peerDelete). */
function emitPeer(tx: Tx, op: 'add' | 'del', host: string, netns: string, ep: Endpoint, vtep: string): void {
  tx.emit(
    { op: op === 'add' ? 'neigh.add' : 'neigh.del', host, netns, dev: 'vxlan0', ip: ep.ip, mac: ep.mac },
    { op: op === 'add' ? 'fdb.add' : 'fdb.del', host, netns, dev: 'vxlan0', mac: ep.mac, dst: vtep },
  );
}

/**
 * Endpoints of other hosts, joined. A step runs on one host and changes only that host's
 * endpoints, so the world as the step began is exact here, and reading it avoids drafts.
 */
function joinedRemoteEndpoints(tx: Tx, net: Draft<Network>, host: string): Endpoint[] {
  const base = swarmNetwork(tx.before.swarm, net.id);
  return base ? endpointsOf(base).filter((e) => e.host !== host && e.state === 'joined') : [];
}

/** Builds the overlay sandbox on a host at its first local join (libnetwork joinSandbox). */
function instantiate(tx: Tx, net: Draft<Network>, host: string): void {
  const netns = overlayNetnsName(net.id);
  shardSet(net.instances, host, { netns, state: advance(networkOnHostMachine, 'absent', 'FIRST_JOIN'), nextVeth: 0, joined: 0, createdNs: String(tx.now()) });
  addNamespace(tx, host, netns);
  const vx = `vx-${net.vni.toString(16).padStart(6, '0')}-${net.id.slice(0, 5)}`;
  const dataPort = tx.w.swarm?.dataPathPort ?? 4789;
  const prefix = net.ipam.subnet.split('/')[1];
  tx.emit(
    { op: 'link.add', host, netns, name: 'br0', kind: { type: 'bridge' }, mtu: OVERLAY_MTU },
    { op: 'addr.add', host, netns, dev: 'br0', address: `${net.ipam.gateway}/${prefix}` },
    { op: 'link.set', host, netns, name: 'br0', up: true },
    // Created in the host namespace, then moved into the overlay sandbox and renamed (createVxlan).
    { op: 'link.add', host, netns: host, name: vx, mtu: OVERLAY_MTU, kind: { type: 'vxlan', vni: net.vni, dstport: dataPort, proxy: true, l2miss: true, l3miss: true, learning: true, ageing: 300 } },
    { op: 'link.move', host, netns: host, name: vx, to: netns },
    { op: 'link.rename', host, netns, name: vx, to: 'vxlan0' },
    { op: 'link.set', host, netns, name: 'vxlan0', master: 'br0', up: true },
  );
  // initSandboxPeerDB: replay the peers gossiped before this host had the sandbox.
  for (const ep of joinedRemoteEndpoints(tx, net, host)) emitPeer(tx, 'add', host, netns, ep, tx.underlayOf(ep.host));
}

function teardown(tx: Tx, net: Draft<Network>, host: string): void {
  const inst = instanceOf(net, host)!;
  advance(networkOnHostMachine, inst.state, 'LAST_LEAVE');
  delNamespace(tx, host, inst.netns);
  shardDelete(net.instances, host);
}

/** Tells every other host where the network lives about an endpoint (NetworkDB overlay_peer_table). */
function publish(tx: Tx, net: Draft<Network>, ep: Draft<Endpoint>, op: 'add' | 'del'): void {
  const vtep = tx.underlayOf(ep.host);
  const netns = overlayNetnsName(net.id);
  // Other hosts' instances do not change in a step run on ep.host: read them without drafts.
  for (const host of instanceHosts(swarmNetwork(tx.before.swarm, net.id) ?? net)) {
    if (host !== ep.host) emitPeer(tx, op, host, netns, ep, vtep);
  }
}

export function joinOverlay(tx: Tx, net: Draft<Network>, ep: Draft<Endpoint>): void {
  if (!instanceOf(net, ep.host)) instantiate(tx, net, ep.host);
  const inst = instanceOf(net, ep.host)!;
  const hostVeth = tx.vethName(), ctrVeth = tx.vethName();
  ep.peerIfname = `veth${inst.nextVeth++}`;
  const host = ep.host;
  tx.emit(
    { op: 'link.add', host, netns: host, name: hostVeth, mtu: OVERLAY_MTU, kind: { type: 'veth', peer: ctrVeth } },
    { op: 'link.move', host, netns: host, name: hostVeth, to: inst.netns },
    { op: 'link.rename', host, netns: inst.netns, name: hostVeth, to: ep.peerIfname },
    { op: 'link.set', host, netns: inst.netns, name: ep.peerIfname, master: 'br0', up: true },
  );
  plugContainerEnd(tx, ep, ctrVeth);
  ep.state = advance(endpointMachine, ep.state, 'JOIN');
  inst.joined++;
  publish(tx, net, ep, 'add');
}

/** Removes an endpoint's interface (unless its whole sandbox is going away) and its peer entries elsewhere. */
export function leaveOverlay(tx: Tx, net: Draft<Network>, ep: Draft<Endpoint>, sandboxGoing: boolean): void {
  if (!sandboxGoing) tx.emit({ op: 'link.del', host: ep.host, netns: ep.sandbox, name: ep.ifname });
  publish(tx, net, ep, 'del');
  ep.state = advance(endpointMachine, ep.state, 'LEAVE');
  const inst = instanceOf(net, ep.host)!;
  inst.joined--;
  if (inst.joined === 0) teardown(tx, net, ep.host);
}

