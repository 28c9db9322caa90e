/**
 * The sockets dockerd holds, as plan ops (`ss` lists them): on a swarm node memberlist's
 * gossip port 7946 (NetworkDB, TCP and UDP, on every address: Go listens on [::] for both
 * families) and, on a manager, the swarm API's TCP 2377; in a sandbox with the embedded
 * DNS, the resolver's UDP and TCP sockets on 127.0.0.11 at the ports the kernel picked.
 * (A published port's docker-proxy sockets: ports.ts.)
 */
import type { ListeningSocket } from '../plan/ops';
import { RESOLVER_IP } from './firewall';
import { Tx } from './tx';
import { inSwarm, NodeState } from './world';

const DOCKERD = 'dockerd';
const GOSSIP_PORT = 7946;
const SWARM_API_PORT = 2377;

/**
 * In ss's order: the kernel walks its listening hash, whose buckets depend on the namespace,
 * so no order is the kernel's rule; a 20.10 manager and this repository's emu both listed
 * TCP 7946 before 2377, and sim follows them.
 */
function swarmSockets(manager: boolean): ListeningSocket[] {
  return [
    { proto: 'tcp', address: '*', port: GOSSIP_PORT, process: DOCKERD },
    ...(manager ? [{ proto: 'tcp' as const, address: '*', port: SWARM_API_PORT, process: DOCKERD }] : []),
    { proto: 'udp', address: '*', port: GOSSIP_PORT, process: DOCKERD },
  ];
}

/** The sockets dockerd holds in its host's namespace on a node in that state (none outside a swarm). */
export function daemonSockets(nodeState: NodeState): ListeningSocket[] {
  return inSwarm(nodeState) ? swarmSockets(nodeState === 'manager') : [];
}

/** swarm init or join: the node's agent starts (the API's listener on a manager) and NetworkDB joins the gossip. */
export function swarmSocketsOpen(tx: Tx, host: string, manager: boolean): void {
  for (const socket of swarmSockets(manager)) tx.emit({ op: 'socket.listen', host, netns: host, socket });
}

/** swarm leave: the node's agent and NetworkDB stop. */
export function swarmSocketsClose(tx: Tx, host: string, manager: boolean): void {
  for (const socket of swarmSockets(manager)) tx.emit({ op: 'socket.close', host, netns: host, socket });
}

/** The embedded DNS's resolver starts in a sandbox (SetupFunc(0): the kernel gives each socket a port). */
export function resolverSocketsOpen(tx: Tx, host: string, sandbox: string, ports: { udp: number; tcp: number }): void {
  for (const proto of ['udp', 'tcp'] as const) {
    tx.emit({ op: 'socket.listen', host, netns: sandbox, socket: { proto, address: RESOLVER_IP, port: ports[proto], process: DOCKERD } });
  }
}
