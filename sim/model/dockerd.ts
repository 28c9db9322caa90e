/**
 * dockerd stopped and started by systemd (`systemctl stop docker`, `systemctl start docker`),
 * as Docker 20.10 does it with its default settings (no live-restore, restart policy "no").
 * The lab's hosts run dockerd without socket activation (docker.io-style units, or docker-ce's
 * with `systemctl disable --now docker.socket`): stopped, the daemon stays stopped, and the
 * client's next command finds no socket. With docker-ce's default units docker.socket would
 * start dockerd again at that command (systemctl warns that docker.service "can still be
 * activated by: docker.socket"); that is not modelled.
 *
 * - Stop: on a swarm node the daemon first shuts its cluster agent down (moby v20.10.24
 *   cmd/dockerd/daemon.go:250 c.Cleanup before :254 shutdownDaemon): NetworkDB's Close leaves
 *   the cluster gracefully (clusterLeave: its node leave event is gossiped alone,
 *   sim/kernel/dockerd_cluster.ts), and every other node deletes its table entries at once
 *   (handleNodeEvent → deleteNodeTableEntries), so their overlay driver removes its endpoints'
 *   neighbour and FDB entries. Then it stops its running containers (they stay, Exited), each
 *   as `docker stop` would (main-process.ts: a shell as PID 1 is killed after the 10 s stop
 *   timeout, Exited (137), and the stop lasts that long): their deletes and network leaves no
 *   longer go out, as in the model, whose stops come after the others dropped
 *   the node's entries (their kernels' deletes, then the host's teardown). The stopped host's own kernel keeps what it held (no one is left to remove it). Its sockets (7946,
 *   2377) close. The leader's dispatcher marks the node Down after the heartbeat grace, as for
 *   a link that went down (netdb.ts heartbeatTimers). While it is stopped, `docker …` on the
 *   host cannot reach the daemon's socket.
 * - Start: the daemon joins NetworkDB again under a new node name (NetworkDB's is drawn at
 *   each start), sends its node join event, joins its networks again (network events and a
 *   bulk sync with each member, dockerd_cluster.ts), and the others hold its entries and it
 *   theirs; its agent registers with the dispatcher as the daemon starts, so the node is Ready
 *   (while the leader's link is down or its daemon stopped, Down until they are back).
 *   Its containers stay Exited.
 *
 * Not modelled: stopping the leader of a swarm with other managers (raft electing another
 * leader), a stop that leaves half the managers or fewer running (raft losing its quorum), a
 * stop on a node whose link is down and whom the others have not yet declared dead (its leave
 * reaching no one, they would drop its entries at that verdict, the stopped containers' too),
 * a container whose PID 1's handling of its stop signal the model does not know (refused), a restarted daemon's
 * cleanup of the namespaces it left behind (the host keeps the stale neighbour and FDB
 * entries until its networks' sandboxes go), and restart policies.
 */
import { DEFAULT_STOP_TIMEOUT_S } from './main-process';
import { planStops, stopNow } from './stop';
import { driverOf } from './drivers';
import { hexId } from './ids';
import { swarmSocketsClose, swarmSocketsOpen } from './listeners';
import { managerHost } from './swarm';
import { NotModelled } from './refusal';
import { Tx } from './tx';
import { hostOf, inSwarm, swarmNetworks } from './world';

/** What the docker client prints when the daemon's socket does not answer (docker/cli's client connection error). */
export const DAEMON_NOT_RUNNING = 'Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?';

function swarmMember(tx: Tx, host: string): boolean {
  return inSwarm(hostOf(tx.before, host).nodeState) && !!tx.w.swarm?.nodes.includes(host);
}

/** Every other node whose NetworkDB is in the cluster with this one's: they hold each other's entries. */
function gossipingWith(tx: Tx, host: string): string[] {
  return (tx.w.swarm?.nodes ?? []).filter((n) => n !== host && hostOf(tx.w, n).gossipAlive);
}

/**
 * The shutdown's stop of every running container, all at once (moby v20.10 daemon.Shutdown:
 * shutdownContainer, containerStop with each one's stop timeout and stop signal): those whose
 * PID 1 ignores its stop signal (SIGTERM, SIGQUIT for nginx) are killed after the timeout (137),
 * and systemctl waits that long for the daemon to exit. A PID 1 whose handling of it the model
 * does not know is refused before anything changes.
 */
function stopRunningContainers(tx: Tx, host: string): void {
  const running = Object.values(tx.host(host).containers).filter((c) => c.state === 'running').map((c) => ({ c, ref: c.name }));
  const planned = planStops(running, DEFAULT_STOP_TIMEOUT_S, ({ c }, why) => new NotModelled(`systemctl stop docker with ${c.name} running: ${why}`));
  stopNow(tx, planned, 'the stop timeout of its containers');
}

/** `systemctl stop docker` on `host` at `nowNs`; stopping a stopped daemon does nothing. */
export function stopDockerd(tx: Tx, host: string, nowNs: number): void {
  const h = tx.host(host);
  if (h.dockerdStoppedNs !== undefined) return;
  const member = swarmMember(tx, host);
  if (member && h.nodeState === 'manager') {
    // Read in the world as the step began (reading drafts copies them): the stop changes no other node.
    const managers = tx.w.swarm!.nodes.filter((n) => hostOf(tx.before, n).nodeState === 'manager');
    if (managers[0] === host && managers.length > 1) throw new NotModelled('systemctl stop docker on the leader of a swarm with other managers (raft electing a new leader)');
    // Raft needs a majority of the managers running; without it the engine's manager-only commands fail (the swarm has no leader).
    const running = managers.filter((n) => n !== host && hostOf(tx.before, n).dockerdStoppedNs === undefined).length;
    if (managers.length > 1 && 2 * running <= managers.length) throw new NotModelled('systemctl stop docker leaving half the swarm\'s managers or fewer running (raft losing its quorum)');
  }
  // Its node leave would reach no one: the others would drop its entries when they declare it dead, those of the
  // containers the stop removes too, which the model no longer holds by then.
  if (member && h.gossipAlive && !h.underlayUp) throw new NotModelled('systemctl stop docker on a swarm node whose link is down (its NetworkDB leave reaching no one)');
  // Its cluster agent leaves before the daemon stops its containers (c.Cleanup, then shutdownDaemon's wait).
  if (member) {
    if (h.gossipAlive) {
      for (const other of gossipingWith(tx, host)) {
        for (const net of swarmNetworks(tx.w.swarm)) driverOf(net).gossip?.(tx, net, host, other, 'del', other);
      }
    }
    tx.host(host).gossipAlive = false;
    swarmSocketsClose(tx, host, h.nodeState === 'manager');
  }
  stopRunningContainers(tx, host);
  tx.host(host).dockerdStoppedNs = nowNs;
}

/** `systemctl start docker` on `host`; starting a running daemon does nothing. */
export function startDockerd(tx: Tx, host: string): void {
  const h = tx.host(host);
  if (h.dockerdStoppedNs === undefined) return;
  h.dockerdStoppedNs = undefined;
  if (!swarmMember(tx, host)) return;
  swarmSocketsOpen(tx, host, h.nodeState === 'manager');
  h.gossipName = hexId(tx.rng, 12);
  // With its link down, memberlist cannot reach anyone: the node stays dead until the link returns (netdb.ts).
  if (!h.underlayUp) return;
  for (const other of gossipingWith(tx, host)) {
    for (const net of swarmNetworks(tx.w.swarm)) driverOf(net).gossip?.(tx, net, host, other, 'add');
  }
  // Its agent registers with the leader's dispatcher: with the leader's link down or its daemon stopped, the node stays Down until they are back (netdb.ts heartbeatTimers).
  const leader = managerHost(tx);
  const leaderHost = leader === undefined ? undefined : hostOf(tx.w, leader);
  if (leader === host || (leaderHost !== undefined && leaderHost.underlayUp && leaderHost.dockerdStoppedNs === undefined)) h.heartbeatDown = false;
  h.gossipAlive = true;
}
