/** Engines and the swarm: boot, init, join, leave, join tokens, and the ingress network. */
import { Draft } from 'immer';
import { ipv4ToNumber, maskOf, parseCidr } from '../wire/addr';
import { createBridgeDevice } from './drivers/bridge';
import { localNetwork, nextLocalSubnet } from './drivers/driver';
import { createSwarmNetwork } from './drivers/overlay';
import { addNamespace, delNamespace } from './sandbox';
import { createEndpoint, gwbridgeOf, joinEndpoint, removeEndpoint } from './endpoints';
import { advance, swarmNodeMachine } from './machines';
import { Tx } from './tx';
import { bridgeNetworkUp, engineStartFirewall } from './firewall';
import { swarmSocketsClose, swarmSocketsOpen } from './listeners';
import { DaemonRefusal, NotModelled } from './refusal';
import { emptyIpam } from './ipam';
import { base36, hexId, swarmId } from './ids';
import { endpointsOf, GWBRIDGE, hostOf, inSwarm, Network, NodeState, swarmNetwork, swarmNetworks } from './world';

/** What dockerd has on start: docker0 (bridge 172.17.0.0/16), host and none; plus the host's underlay interface. */
export function bootEngine(tx: Tx, host: string): void {
  const h = tx.host(host);
  tx.emit({ op: 'host.add', host, iface: 'eth0', address: `${h.underlay}/${h.underlayPrefix}` });
  const bridge = localNetwork(tx, host, 'bridge', 'bridge', '172.17.0.0/16', 'docker0', {
    'com.docker.network.bridge.default_bridge': 'true', 'com.docker.network.bridge.enable_icc': 'true',
    'com.docker.network.bridge.enable_ip_masquerade': 'true', 'com.docker.network.bridge.host_binding_ipv4': '0.0.0.0',
    'com.docker.network.bridge.name': 'docker0', 'com.docker.network.driver.mtu': '1500',
  });
  h.localNetworks[bridge.id] = bridge;
  engineStartFirewall(tx, host);
  createBridgeDevice(tx, host, bridge);
  bridgeNetworkUp(tx, host, bridge, true);
  for (const [name, driver] of [['host', 'host'], ['none', 'null']] as const) {
    const n = localNetwork(tx, host, name, driver, '0.0.0.0/32');
    n.ipam = emptyIpam();
    h.localNetworks[n.id] = n;
  }
}


export const NOT_A_MANAGER = 'This node is not a swarm manager. Use "docker swarm init" or "docker swarm join" to connect this node to swarm and try again.';
const ALREADY_IN_SWARM = 'This node is already part of a swarm. Use "docker swarm leave" to leave this swarm and join another one.';
export const WORKER_CANNOT = "This node is not a swarm manager. Worker nodes can't be used to view or modify cluster state. Please run this command on a manager node or promote the current node to a manager.";

function token(tx: Tx, secretFrom: string): string {
  return `SWMTKN-1-${secretFrom}-${base36(tx.rng, 25)}`;
}

/** docker_gwbridge, made when first needed (libnetwork's createGWNetwork: a bridge network, no ICC, masqueraded). */
export function ensureGwbridge(tx: Tx, host: string): Draft<Network> {
  const found = gwbridgeOf(tx, host);
  const h = tx.host(host);
  if (found) {
    // One a user made (docker network create docker_gwbridge) is recorded when first used.
    if (h.gwbridgeId !== found.id) h.gwbridgeId = found.id;
    return found;
  }
  const gw = localNetwork(tx, host, GWBRIDGE, 'bridge', nextLocalSubnet(tx, host), GWBRIDGE, {
    'com.docker.network.bridge.enable_icc': 'false', 'com.docker.network.bridge.enable_ip_masquerade': 'true', 'com.docker.network.bridge.name': GWBRIDGE,
  });
  h.localNetworks[gw.id] = gw;
  h.gwbridgeId = gw.id;
  createBridgeDevice(tx, host, gw);
  bridgeNetworkUp(tx, host, gw, false);
  return h.localNetworks[gw.id];
}

/** docker_gwbridge and the ingress sandbox: what every node gets on init or join. */
function joinNodeNetworks(tx: Tx, host: string): void {
  const h = tx.host(host);
  h.nodeId = swarmId(tx.rng);
  h.gossipName = hexId(tx.rng, 12);
  // docker_gwbridge is a local network: it outlives `swarm leave` and is reused on the next join.
  const gw = ensureGwbridge(tx, host);
  // Found in the step's base world unless this step made it (swarm init); then its draft.
  const ingressId = (swarmNetworks(tx.before.swarm).find((n) => n.ingress) ?? swarmNetworks(tx.w.swarm).find((n) => n.ingress))!.id;
  const ingress = swarmNetwork(tx.w.swarm, ingressId)!;
  addNamespace(tx, host, 'ingress_sbox');
  const ep = createEndpoint(tx, ingress, { kind: 'ingress', host, sandbox: 'ingress_sbox', ifname: 'eth0', name: 'ingress-endpoint' });
  joinEndpoint(tx, ingress, ep);
  const gwNet = h.localNetworks[gw.id];
  const gep = createEndpoint(tx, gwNet, { kind: 'gateway', host, sandbox: 'ingress_sbox', ifname: 'eth1', name: 'gateway_ingress-sbox' });
  // The ingress sandbox leaves by docker_gwbridge, as a container does: its default route is there.
  joinEndpoint(tx, gwNet, gep, true);
  tx.w.swarm!.nodes.push(host);
}

export interface SwarmInitOptions {
  advertiseAddr?: string;
  dataPathPort?: number;
  defaultAddrPool?: string;
  defaultAddrPoolMaskLength?: number;
}

export function swarmInit(tx: Tx, host: string, opts: SwarmInitOptions): string {
  const h = tx.host(host);
  if (inSwarm(h.nodeState)) throw new DaemonRefusal(ALREADY_IN_SWARM);
  // The engine makes a second, separate swarm here; the world holds one.
  if (tx.w.swarm && tx.w.swarm.nodes.length > 0) {
    throw new NotModelled(`docker swarm init on ${host}, outside the swarm of ${tx.w.swarm.nodes.join(', ')}: a second swarm (cnmlab models one)`);
  }
  if (opts.advertiseAddr && opts.advertiseAddr.split(':')[0] !== h.underlay) {
    throw new DaemonRefusal(`must specify a listening address because the address to advertise is not recognized as a system address, and a system's IP address to use could not be uniquely identified`);
  }
  const pool = opts.defaultAddrPool ?? '10.0.0.0/8';
  const secret = base36(tx.rng, 50);
  tx.w.swarm = {
    id: swarmId(tx.rng), createdNs: String(tx.now()), workerToken: token(tx, secret), managerToken: token(tx, secret),
    dataPathPort: opts.dataPathPort ?? 4789, addrPool: pool, addrPoolMaskLength: opts.defaultAddrPoolMaskLength ?? 24,
    nextVni: 4096, networks: [], nodes: [], departed: [],
  };
  h.nodeState = advance(swarmNodeMachine, h.nodeState, 'INIT') as NodeState;
  swarmSocketsOpen(tx, host, true);
  createSwarmNetwork(tx, { name: 'ingress', ingress: true, attachable: false, internal: false, options: {}, labels: {} });
  joinNodeNetworks(tx, host);
  return [
    `Swarm initialized: current node (${h.nodeId}) is now a manager.`,
    '',
    'To add a worker to this swarm, run the following command:',
    '',
    `    docker swarm join --token ${tx.w.swarm.workerToken} ${h.underlay}:2377`,
    '',
    "To add a manager to this swarm, run 'docker swarm join-token manager' and follow the instructions.",
    '',
    '',
  ].join('\n');
}

export function managerHost(tx: Tx): string | undefined {
  return tx.w.swarm?.nodes.find((n) => tx.host(n).nodeState === 'manager');
}

/** A join token carries the CA's SHA-256 digest in base 36 (50 characters); swarmkit prints it back in hex. */
function tokenDigestHex(base36Digest: string): string {
  let v = 0n;
  for (const ch of base36Digest) v = v * 36n + BigInt(parseInt(ch, 36));
  return v.toString(16).padStart(64, '0');
}

export function swarmJoin(tx: Tx, host: string, tokenArg: string, remote: string): string {
  const h = tx.host(host);
  if (inSwarm(h.nodeState)) throw new DaemonRefusal(ALREADY_IN_SWARM);
  const swarm = tx.w.swarm;
  const manager = managerHost(tx);
  const placeholder = /^<.*>$/.test(tokenArg);
  if (!placeholder && tokenArg !== '' && !/^SWMTKN-1-[0-9a-z]{50}-[0-9a-z]{25}$/.test(tokenArg)) throw new DaemonRefusal('invalid join token');
  const managerAddr = manager ? tx.host(manager).underlay : undefined;
  if (!swarm || !manager || remote.replace(/:\d+$/, '') !== managerAddr) {
    throw new DaemonRefusal('Timeout was reached before node joined. The attempt to join the swarm will continue in the background. Use the "docker info" command to see the current swarm status of your node.');
  }
  const asManager = tokenArg === swarm.managerToken;
  // The node first fetches the manager's CA and checks it against the token's digest (a
  // token from another cluster names another CA); then the CA server checks the secret.
  const tokenCa = tokenArg.split('-')[2];
  if (!placeholder && tokenArg !== '' && tokenCa !== swarm.workerToken.split('-')[2]) {
    throw new DaemonRefusal(`remote CA does not match fingerprint. Expected: ${tokenDigestHex(tokenCa)}`);
  }
  if (!placeholder && !asManager && tokenArg !== swarm.workerToken) {
    throw new DaemonRefusal('rpc error: code = InvalidArgument desc = A valid join token is necessary to join this cluster');
  }
  h.nodeState = advance(swarmNodeMachine, h.nodeState, asManager ? 'INIT' : 'JOIN') as NodeState;
  swarmSocketsOpen(tx, host, asManager);
  joinNodeNetworks(tx, host);
  return `This node joined a swarm as a ${asManager ? 'manager' : 'worker'}.\n`;
}

/** What only a manager answers (the join tokens, the node list): a node not in a swarm and a worker are refused with the daemon's texts. */
function requireManager(tx: Tx, host: string) {
  const h = tx.host(host);
  if (!inSwarm(h.nodeState)) throw new DaemonRefusal(NOT_A_MANAGER);
  if (h.nodeState !== 'manager') throw new DaemonRefusal(WORKER_CANNOT);
  return h;
}

export function swarmJoinToken(tx: Tx, host: string, role: string, quiet: boolean): string {
  const h = requireManager(tx, host);
  const t = role === 'worker' ? tx.w.swarm!.workerToken : tx.w.swarm!.managerToken;
  if (quiet) return `${t}\n`;
  return `To add a ${role} to this swarm, run the following command:\n\n    docker swarm join --token ${t} ${h.underlay}:2377\n\n`;
}

/**
 * moby v20.10 daemon/cluster/swarm.go Leave's refusal for a manager without --force, counted as
 * its managerStats counts the leader's node list: a manager Reachable or Unreachable (nodeLs's
 * MANAGER STATUS), the leaving node active when it is itself reachable. Losing quorum is
 * removingManagerCausesLossOfQuorum (reachable-2 <= unreachable); the last manager is
 * isLastManager (one reachable, none unreachable). moby's texts end in a space the client's
 * checkResponseErr trims (strings.TrimSpace), so the printed line has none.
 */
function managerLeaveRefusal(tx: Tx, host: string): string {
  const managers = tx.w.swarm!.nodes.map((n) => tx.host(n)).filter((n) => n.nodeState === 'manager');
  const leader = managers[0];
  const unreachable = managers.filter((n) => n !== leader && n.heartbeatDown).length;
  const reachable = managers.length - unreachable;
  const active = !tx.host(host).heartbeatDown || tx.host(host) === leader;
  let msg = 'You are attempting to leave the swarm on a node that is participating as a manager. ';
  if (active && reachable - 2 <= unreachable) {
    if (reachable === 1 && unreachable === 0) return `${msg}Removing the last manager erases all current state of the swarm. Use \`--force\` to ignore this message.`;
    msg += `Removing this node leaves ${reachable - 1} managers out of ${reachable + unreachable}. Without a Raft quorum your swarm will be inaccessible. `;
  }
  return `${msg}The only way to restore a swarm that has lost consensus is to reinitialize it with \`--force-new-cluster\`. Use \`--force\` to suppress this message.`;
}

/**
 * `docker swarm leave`, as moby v20.10 daemon/cluster/swarm.go Leave orders it: the node
 * stops first (its NetworkDB sends its node leave alone, sim/kernel/dockerd_cluster.ts), then
 * DaemonLeavesCluster disconnects the running containers from the swarm networks
 * (`detachContainers`, containers.ts) and releases ingress (its sandbox and docker_gwbridge
 * endpoint). The model makes it all in one step; the others' kernels end the same.
 */
export function swarmLeave(tx: Tx, host: string, force: boolean, detachContainers: (net: Draft<Network>) => void): string {
  const h = tx.host(host);
  if (!inSwarm(h.nodeState)) throw new DaemonRefusal('This node is not part of a swarm');
  if (h.nodeState === 'manager' && !force) throw new DaemonRefusal(managerLeaveRefusal(tx, host));
  const swarm = tx.w.swarm!;
  const others = swarm.nodes.filter((n) => n !== host);
  if (h.nodeState === 'manager' && others.some((n) => hostOf(tx.w, n).nodeState === 'manager')) {
    throw new NotModelled('docker swarm leave --force on a manager of a swarm with other managers (raft keeps it a member, Down and Unreachable, until it is demoted)');
  }
  // The others would stay workers of a swarm no manager runs (joined to it, its networks theirs): the world has no such swarm.
  if (h.nodeState === 'manager' && others.length > 0) {
    throw new NotModelled(`docker swarm leave --force on ${host}, the last manager, with ${others.join(', ')} still in the swarm (they stay in a swarm no manager runs)`);
  }
  for (const net of swarmNetworks(swarm)) {
    detachContainers(net);
    for (const ep of endpointsOf(net).filter((e) => e.host === host)) removeEndpoint(tx, net, ep, ep.kind === 'ingress');
  }
  const gw = gwbridgeOf(tx, host);
  if (gw) {
    for (const ep of endpointsOf(gw).filter((e) => e.kind === 'gateway' && e.sandbox === 'ingress_sbox')) removeEndpoint(tx, gw, ep, true);
  }
  if (h.namespaces.includes('ingress_sbox')) delNamespace(tx, host, 'ingress_sbox');
  const worker = h.nodeState === 'worker';
  swarmSocketsClose(tx, host, !worker);
  h.nodeState = advance(swarmNodeMachine, h.nodeState, 'LEAVE') as NodeState;
  swarm.nodes = others;
  // The leave tells the manager nothing (moby's Leave stops the node and clears its state):
  // its node object stays, Down once its heartbeats have stopped for the grace.
  if (worker) swarm.departed.push({ nodeId: h.nodeId, hostname: host, down: false });
  if (!others.length) tx.w.swarm = null;
  return 'Node left the swarm.\n';
}

/** A node as the manager's store lists it: a member (host set) or a worker that left. */
export interface SwarmNodeEntry {
  id: string;
  hostname: string;
  /** The member's host; undefined for a worker that left (Swarm.departed). */
  host: string | undefined;
  /** The dispatcher marked it down: a member's heartbeats stopped, or a departed worker's grace ran out. */
  down: boolean;
  /** A member that is a manager (a departed node never is). */
  manager: boolean;
}

/**
 * The swarm's nodes as a manager on `host` lists them (`docker node ls`, `docker node rm`'s
 * lookup): the members in join order, then the workers that left. A node not in a swarm and a
 * worker are refused with the daemon's texts.
 */
export function managerNodeList(tx: Tx, host: string): SwarmNodeEntry[] {
  requireManager(tx, host);
  const swarm = tx.w.swarm!;
  return [
    ...swarm.nodes.map((n) => {
      const node = hostOf(tx.w, n);
      return { id: node.nodeId, hostname: n, host: n, down: !!node.heartbeatDown, manager: node.nodeState === 'manager' };
    }),
    ...swarm.departed.map((d) => ({ id: d.nodeId, hostname: d.hostname, host: undefined, down: d.down, manager: false })),
  ];
}

/**
 * `docker node rm REF`, as moby v20.10 RemoveNode does it (daemon/cluster/nodes.go, getNode
 * in helpers.go): REF is a node's full id, else its host name, else an id prefix; then
 * swarmkit's controlapi RemoveNode refuses a manager in the raft cluster and, without
 * force, a node whose status is Ready. Only a worker that left (Swarm.departed) is removed:
 * a node whose daemon still holds its swarm state would learn it was removed when it next
 * reaches the manager, which is not modelled. Returns nothing; refusals are thrown.
 */
export function removeNode(tx: Tx, host: string, ref: string, force: boolean): void {
  const nodes = managerNodeList(tx, host);
  const byId = nodes.filter((n) => n.id === ref);
  const byName = nodes.filter((n) => n.hostname === ref);
  const matches = byId.length ? byId : byName.length ? byName : nodes.filter((n) => n.id.startsWith(ref));
  if (matches.length === 0) throw new DaemonRefusal(`node ${ref} not found`);
  if (matches.length > 1) throw new DaemonRefusal(`node ${ref} is ambiguous (${matches.length} matches found)`);
  const [node] = matches;
  const precondition = (why: string) => new DaemonRefusal(`rpc error: code = FailedPrecondition desc = node ${node.id} ${why}`);
  if (node.manager) {
    throw precondition('is a cluster manager and is a member of the raft cluster. It must be demoted to worker before removal');
  }
  if (!node.down && !force) throw precondition("is not down and can't be removed");
  if (node.host !== undefined) throw new NotModelled(`docker node rm ${ref}: a node still in the swarm (its daemon would find itself removed when it next reaches the manager)`);
  tx.w.swarm!.departed = tx.w.swarm!.departed.filter((d) => d.nodeId !== node.id);
}

export function gatewayInSubnet(subnet: string, gateway: string): boolean {
  const c = parseCidr(subnet)!;
  const m = maskOf(c.prefixLength);
  return ((ipv4ToNumber(gateway) & m) >>> 0) === ((c.base & m) >>> 0);
}

