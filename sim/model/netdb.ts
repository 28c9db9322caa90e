/**
 * NetworkDB's view of the cluster when a host's underlay link goes down and comes back:
 * which nodes hold which other nodes' table entries, and so the overlay's neighbour and FDB
 * entries on vxlan0. Modelled from libnetwork v20.10 (networkdb/cluster.go, nodemgmt.go,
 * event_delegate.go) over hashicorp/memberlist as moby vendors it (3d8438da, DefaultLANConfig):
 *
 * - A node whose link is down neither answers memberlist's probes nor gets answers. A probe
 *   (one every ProbeInterval, 1 s) that gets no ack by the end of its interval makes the
 *   node suspect; the suspicion times out after SuspicionMult × max(1, log10 n) ×
 *   ProbeInterval = 4 s for fewer than ten nodes (with n - 2 < SuspicionMult - 2 no
 *   confirmations are awaited, so the minimum applies), and the node is dead. With the probe
 *   sent as the link goes down that is DEAD_AFTER_NS, 5 s (up to 6 s when the next probe
 *   tick is a second away).
 * - Dead, it moves to NetworkDB's failed nodes (NotifyLeave → changeNodeState(failed)),
 *   which deletes every table entry it owned (deleteNodeTableEntries); the overlay driver's
 *   peerDelete removes their neighbour and FDB entries from vxlan0. Both sides do it: the
 *   stopped node declares the others dead too and removes theirs.
 * - Back up, reconnectNode (every retryInterval, 1 s) joins a failed node again and
 *   bulk-syncs with it: the entries and the driver's peerAdd come back within a second
 *   (RECONNECT_AFTER_NS, the upper bound).
 * - A link down for less than DEAD_AFTER_NS changes nothing: the suspicion is refuted.
 * - `docker swarm leave` is a graceful leave: clusterLeave sends a node leave event (gossiped
 *   every 200 ms) and the others delete the node's entries at once; swarm.ts does it in the
 *   same step.
 *
 * A transition is applied when the first step after it is due begins, by the run's clock
 * (virtual in sim, real in emu): a program running across one does not see it change, in
 * either mode (a lab crosses one with `sleep`).
 */
import { driverOf } from './drivers';
import { Tx } from './tx';
import { Host, hostOf, HostsWhere, swarmNetworks, World } from './world';

export const DEAD_AFTER_NS = 5_000_000_000;
export const RECONNECT_AFTER_NS = 1_000_000_000;

const GOSSIP_DEAD = new HostsWhere<Host>((h) => !h.gossipAlive);

/**
 * Which of `hosts` hold `host`'s entries and it theirs (NetworkDB on neither declared the
 * other dead), `host` left out: asked for every node of a big swarm's ingress network, so
 * the dead are found once.
 */
export function gossipPeers(w: World, host: string, hosts: string[]): string[] {
  return hosts.filter(gossipsWith(w, host));
}

/** gossipPeers as a test of one host at a time: whether `other` and `host` hold each other's entries. */
export function gossipsWith(w: World, host: string): (other: string) => boolean {
  const dead = GOSSIP_DEAD.of(w.hosts);
  if (dead.includes(host)) return () => false;
  if (dead.length === 0) return (other) => other !== host;
  return (other) => other !== host && !dead.includes(other);
}

/** The host's underlay link went up or down at `nowNs` (`ip link set eth0 up|down` on the host). */
export function underlayChanged(tx: Tx, host: string, up: boolean, nowNs: number): void {
  const h = tx.host(host);
  if (h.underlayUp === up) return;
  h.underlayUp = up;
  h.underlayChangedNs = nowNs;
}

const LINK_DOWN_OR_DEAD = new HostsWhere<Host>((h) => !h.underlayUp || !h.gossipAlive);

/** Whether a verdict may be pending: some node's link is down, or some node is dead. */
export function gossipPending(w: World): boolean {
  const swarm = w.swarm;
  return !!swarm && LINK_DOWN_OR_DEAD.of(w.hosts).some((n) => swarm.nodes.includes(n));
}

/** Memberlist's verdicts due by `nowNs`: nodes declared dead, nodes reconnected, with the driver's entries each way. */
export function gossipTimers(tx: Tx, nowNs: number): void {
  const swarm = tx.w.swarm;
  if (!swarm) return;
  for (const name of tx.before.swarm?.nodes ?? []) {
    const h = hostOf(tx.w, name);
    const since = nowNs - h.underlayChangedNs;
    const dies = !h.underlayUp && h.gossipAlive && since >= DEAD_AFTER_NS;
    const returns = h.underlayUp && !h.gossipAlive && since >= RECONNECT_AFTER_NS;
    if (!dies && !returns) continue;
    for (const other of swarm.nodes) {
      if (other === name || !hostOf(tx.w, other).gossipAlive) continue;
      for (const net of swarmNetworks(swarm)) driverOf(net).gossip?.(tx, net, name, other, returns ? 'add' : 'del');
    }
    tx.host(name).gossipAlive = returns;
  }
}
