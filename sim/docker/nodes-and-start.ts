/**
 * The tutorial's commands beyond `docker run` and the network ones: `docker start`, the
 * `docker container` forms of ps/stop/rm/start/kill/restart, `docker node ls` (a manager lists the
 * swarm; a worker is refused with the daemon's text) and `docker node rm`.
 */
import { naturalCompare } from '../text/natural';
import { tabwrite } from '../text/tabwriter';
import { startStopped } from '../model/containers';
import { findContainer, Tx } from '../model/tx';
import { DaemonRefusal } from '../model/refusal';
import { notModelledError } from './errors';
import { Container, swarmNetwork } from '../model/world';
import { CommandOutput } from '../commands/registry';
import { managerNodeList, removeNode } from '../model/swarm';

/** The engine a Debian 12 host runs (docker.io), as `docker node ls` and `docker info` name it. */
export const ENGINE_VERSION = '20.10.24+dfsg1';

/**
 * What the model cannot start again, refused as not modelled before anything changes: a
 * container one of whose networks was removed meanwhile, or that holds none (its --network
 * refused when it was run, or a swarm leave detached it): the daemon would attach the
 * network its HostConfig names, which the model does not keep.
 */
export function refuseUnstartable(tx: Tx, host: string, c: Container, command: string, ref: string): void {
  if (c.networks.length === 0) throw notModelledError(`${command} ${ref} (it holds no network: the one it was run with was refused or left with the swarm)`);
  if (c.state === 'running') return;
  if (c.networks.some((n) => !swarmNetwork(tx.w.swarm, n.networkId) && !tx.host(host).localNetworks[n.networkId])) {
    throw notModelledError(`${command} ${ref} (a network it was on has been removed)`);
  }
}

/**
 * `docker start`: each container is started in turn; one that cannot be is reported and the
 * rest still start, then the CLI names every failure in one line (docker/cli's
 * startContainersWithoutAttachments). A running container starts as a no-op.
 */
export function startContainers(tx: Tx, host: string, refs: string[]): CommandOutput {
  let stdout = '';
  const errors: string[] = [];
  const failed: string[] = [];
  // Every name is checked before the first starts: a refusal as not modelled leaves the world as it was.
  for (const ref of refs) {
    const c = findContainer(tx.host(host), ref);
    if (c && c.state !== 'running') refuseUnstartable(tx, host, c, 'docker start', ref);
  }
  for (const ref of refs) {
    const c = findContainer(tx.host(host), ref);
    if (!c) {
      errors.push(`Error response from daemon: No such container: ${ref}`);
      failed.push(ref);
      continue;
    }
    if (c.state !== 'running') {
      // docker/cli starts each container on its own: one that the daemon refuses is named
      // at the end, the others start.
      try {
        startStopped(tx, c);
      } catch (e) {
        if (!(e instanceof DaemonRefusal)) throw e;
        errors.push(`Error response from daemon: ${e.message}`);
        failed.push(ref);
        continue;
      }
    }
    stdout += `${ref}\n`;
  }
  if (failed.length) errors.push(`Error: failed to start containers: ${failed.join(', ')}`);
  return { stdout, stderr: errors.map((e) => e + '\n').join(''), exitCode: failed.length ? 1 : 0 };
}

/**
 * `docker node ls` on a manager: nodes sorted by host name (docker/cli's NaturalLess; nodes
 * of one name, a worker that left and joined again, in the API's order, by id), this node's id
 * marked with ` *`; a node whose heartbeats stopped Down (netdb.ts), a worker that left too; a
 * worker is refused. MANAGER STATUS is the leader's raft view (swarmkit's GetMemberlist,
 * printed by docker/cli's nodeContext): the first manager the Leader, another manager
 * Reachable, or Unreachable once the leader cannot reach it, which the model knows by its
 * heartbeats being down.
 */
export function nodeLs(tx: Tx, host: string, quiet: boolean): CommandOutput {
  const listed = managerNodeList(tx, host);
  const leader = listed.find((n) => n.manager);
  const nodes = listed.map((n) => {
    const managerStatus = !n.manager ? '' : n === leader ? 'Leader' : n.down ? 'Unreachable' : 'Reachable';
    return { ...n, self: n.host === host, managerStatus };
  }).sort((a, b) => naturalCompare(a.hostname, b.hostname) || (a.id < b.id ? -1 : 1));
  if (quiet) return { stdout: nodes.map((n) => `${n.id}\n`).join(''), stderr: '', exitCode: 0 };
  const rows = nodes.map((n) => [`${n.id}${n.self ? ' *' : ''}`, n.hostname, n.down ? 'Down' : 'Ready', 'Active', n.managerStatus, ENGINE_VERSION]);
  return { stdout: tabwrite([['ID', 'HOSTNAME', 'STATUS', 'AVAILABILITY', 'MANAGER STATUS', 'ENGINE VERSION'], ...rows]), stderr: '', exitCode: 0 };
}

/**
 * `docker node rm`: each node removed in turn (swarm.ts removeNode), its reference printed;
 * the daemon's refusals joined after, exit 1 (docker/cli v20.10 cli/command/node/remove.go).
 */
export function nodeRm(tx: Tx, host: string, refs: string[], force: boolean): CommandOutput {
  let stdout = '';
  const errors: string[] = [];
  for (const ref of refs) {
    try {
      removeNode(tx, host, ref, force);
      stdout += `${ref}\n`;
    } catch (e) {
      if (!(e instanceof DaemonRefusal)) throw e;
      errors.push(`Error response from daemon: ${e.message}`);
    }
  }
  return { stdout, stderr: errors.map((e) => `${e}\n`).join(''), exitCode: errors.length ? 1 : 0 };
}

/** `docker container SUB …`: the same commands as their top-level forms. */
export function containerSubcommand(sub: string | undefined): string | undefined {
  if (sub === 'ls' || sub === 'list' || sub === 'ps') return 'ps';
  if (sub === 'stop' || sub === 'rm' || sub === 'start' || sub === 'kill' || sub === 'restart' || sub === 'port') return sub;
  return undefined;
}
