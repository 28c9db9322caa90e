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
 *   same step. `systemctl stop docker` leaves the same way (dockerd.ts), and the node is Down
 *   after the heartbeat grace as below.
 *
 * - A worker's `docker swarm leave` tells the manager nothing (moby's Leave stops the node):
 *   its heartbeats stop, and it is Down after the heartbeat grace (below); its node object stays (Swarm.departed).
 * - swarmkit's dispatcher on the leader (moby v20.10.24, vendor/github.com/docker/swarmkit)
 *   marks a node down when its heartbeats stop: each Heartbeat RPC re-arms the node's timer to
 *   3 × a period drawn in 5 s ± 0.5 s (manager/dispatcher/nodes.go:153-159, period.go:22-25,
 *   dispatcher.go:32-34), and its expiry sets the node DOWN, "heartbeat failure"
 *   (dispatcher.go:574), which `docker node ls` prints as Down. A node's heartbeats stop when
 *   its link or the leader's is down, or its daemon stopped; the last one went less than a period before, so the node
 *   is Down between 2 and 3 periods later: the model takes the bound, NODE_DOWN_AFTER_NS. Back
 *   up, the node's agent opens a new session after a random delay under its backoff, 8 s at
 *   most (agent/agent.go:18-19, 361-363, 388), and register() sets it READY
 *   (dispatcher.go:493): the model takes that bound too, NODE_READY_AFTER_NS. grpc's own
 *   reconnect backoff is not modelled, nor is raft's quorum: with half the managers or more
 *   cut off, the engine's manager-only commands fail (the swarm has no leader); the model
 *   still answers them.
 *
 * A transition is applied when the first step after it is due begins, by the run's clock
 * (virtual in sim, real in emu): a program running across one does not see it change, in
 * either mode (a lab crosses one with `sleep`).
 */
import { driverOf } from './drivers';
import { Tx } from './tx';
import { Host, hostOf, HostsWhere, swarmNetworks, World } from './world';
import { HEARTBEAT_EPSILON_NS, HEARTBEAT_PERIOD_NS } from './cluster';

export const DEAD_AFTER_NS = 5_000_000_000;
export const RECONNECT_AFTER_NS = 1_000_000_000;
/** swarmkit's grace: three heartbeat periods, each at most 5.5 s (defaultGracePeriodMultiplier). */
export const NODE_DOWN_AFTER_NS = 3 * (HEARTBEAT_PERIOD_NS + HEARTBEAT_EPSILON_NS);
/** The agent's longest wait before a new session (maxSessionFailureBackoff). */
export const NODE_READY_AFTER_NS = 8_000_000_000;

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

const LINK_DOWN_OR_DEAD = new HostsWhere<Host>((h) => !h.underlayUp || !h.gossipAlive || !!h.heartbeatDown);

/** Whether a verdict may be pending: some node's link is down, or some node is dead or marked down. */
export function gossipPending(w: World): boolean {
  const swarm = w.swarm;
  return !!swarm && (swarm.departed.some((d) => !d.down) || LINK_DOWN_OR_DEAD.of(w.hosts).some((n) => swarm.nodes.includes(n)));
}

/** Memberlist's verdicts due by `nowNs`: nodes declared dead, nodes reconnected, with the driver's entries each way. */
export function gossipTimers(tx: Tx, nowNs: number): void {
  const swarm = tx.w.swarm;
  if (!swarm) return;
  for (const name of tx.before.swarm?.nodes ?? []) {
    const h = hostOf(tx.w, name);
    const since = nowNs - h.underlayChangedNs;
    const dies = !h.underlayUp && h.gossipAlive && since >= DEAD_AFTER_NS;
    // A stopped daemon's NetworkDB left; it comes back when the daemon starts (dockerd.ts), not by reconnecting.
    const returns = h.underlayUp && !h.gossipAlive && h.dockerdStoppedNs === undefined && since >= RECONNECT_AFTER_NS;
    if (!dies && !returns) continue;
    for (const other of swarm.nodes) {
      if (other === name || !hostOf(tx.w, other).gossipAlive) continue;
      for (const net of swarmNetworks(swarm)) driverOf(net).gossip?.(tx, net, name, other, returns ? 'add' : 'del');
    }
    tx.host(name).gossipAlive = returns;
  }
  heartbeatTimers(tx, nowNs);
}

/**
 * The leader's dispatcher verdicts due by `nowNs`: a node whose heartbeats stopped (its link
 * or the leader's down) NODE_DOWN_AFTER_NS ago is Down; one whose heartbeats can flow again
 * since NODE_READY_AFTER_NS is Ready. The leader is the first manager, as `docker node ls` says.
 */
function heartbeatTimers(tx: Tx, nowNs: number): void {
  const swarm = tx.w.swarm!;
  const leaderName = swarm.nodes.find((n) => hostOf(tx.w, n).nodeState === 'manager');
  if (!leaderName) return;
  const leader = hostOf(tx.w, leaderName);
  // A stopped leader's dispatcher judges no one.
  if (leader.dockerdStoppedNs !== undefined) return;
  for (const name of swarm.nodes) {
    if (name === leaderName) continue;
    const h = hostOf(tx.w, name);
    // Heartbeats stop when the node's link or the leader's goes down, or when the node's daemon stops.
    const stopped = [h, leader].filter((x) => !x.underlayUp).map((x) => x.underlayChangedNs);
    if (h.dockerdStoppedNs !== undefined) stopped.push(h.dockerdStoppedNs);
    if (stopped.length > 0) {
      const since = nowNs - Math.min(...stopped);
      if (!h.heartbeatDown && since >= NODE_DOWN_AFTER_NS) tx.host(name).heartbeatDown = true;
    } else if (h.heartbeatDown && nowNs - Math.max(h.underlayChangedNs, leader.underlayChangedNs) >= NODE_READY_AFTER_NS) {
      tx.host(name).heartbeatDown = false;
    }
  }
  // A worker that left sends no more heartbeats: Down after the grace, as any other.
  for (const d of swarm.departed) {
    if (d.down) continue;
    d.leftNs ??= nowNs;
    if (nowNs - d.leftNs >= NODE_DOWN_AFTER_NS) d.down = true;
  }
}
