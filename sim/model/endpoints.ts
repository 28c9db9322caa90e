/** Creating, joining and removing endpoints: the CNM's link between a sandbox and a network. */
import { Draft } from 'immer';
import { macFromIpv4 } from '../wire/addr';
import { allocate, claim, prefixLengthOf, release } from './ipam';
import { advance, endpointMachine, initialState } from './machines';
import { driverOf } from './drivers';
import { fieldOf, Tx } from './tx';
import { DaemonRefusal } from './refusal';
import { Endpoint, endpointOf, GWBRIDGE, hostOf, Network, shardDelete, shardSet } from './world';
import { hexId, swarmId } from './ids';

export interface EndpointRequest {
  kind: Endpoint['kind'];
  host: string;
  sandbox: string;
  ifname: string;
  name: string;
  containerId?: string;
  aliases?: string[];
  ip?: string;
}

/** Allocates an address and records the endpoint (state created); nothing in the kernel yet. */
export function createEndpoint(tx: Tx, net: Draft<Network>, req: EndpointRequest): Draft<Endpoint> {
  const id = hexId(tx.rng);
  let ip: string | undefined;
  const own = req.ip ? undefined : driverOf(net).address?.(tx, net, req.host);
  if (own) ip = own.ip;
  else if (req.ip) {
    const claimed = claim(net.ipam, req.ip);
    // libnetwork's ipamapi.ErrIPAlreadyAllocated, met as a container joins a network: at its start, for docker run.
    if (!claimed) throw new DaemonRefusal('Address already in use', 'start');
    net.ipam = claimed;
    ip = req.ip;
  } else {
    // Serial only where the swarm's manager allocates (a swarm network's attachments and load balancers).
    const allocated = allocate(net.ipam, net.scope === 'swarm');
    if (!allocated) throw new DaemonRefusal(`no available IPv4 addresses on this network's address pools: ${net.name} (${net.id})`, 'start');
    net.ipam = allocated.ipam;
    ip = allocated.ip;
  }
  const ep: Endpoint = {
    id, networkId: net.id, host: req.host, kind: req.kind, containerId: req.containerId, name: req.name, ip,
    prefixLength: own?.prefixLength ?? prefixLengthOf(net.ipam.subnet), mac: own?.mac ?? macFromIpv4(ip), state: initialState(endpointMachine),
    // A list of its own: a container drafted in this step hands its aliases in as a draft,
    // which the record, frozen when the step ends (Tx.made), would keep past the step.
    aliases: req.aliases ? [...req.aliases] : [], sandbox: req.sandbox, ifname: req.ifname, peerIfname: '',
    ...(net.scope === 'swarm' && req.kind === 'container' ? { taskId: swarmId(tx.rng) } : {}),
  };
  shardSet(net.endpoints, id, tx.made(ep));
  return endpointOf(net, id)!;
}

export function deleteEndpoint(net: Draft<Network>, ep: Draft<Endpoint>): void {
  ep.state = advance(endpointMachine, ep.state, 'DELETE');
  if (!driverOf(net).address) net.ipam = release(net.ipam, ep.ip);
  shardDelete(net.endpoints, ep.id);
}

/** Joins an endpoint to its network: the driver plumbs it. */
export function joinEndpoint(tx: Tx, net: Draft<Network>, ep: Draft<Endpoint>, defaultRoute = false): void {
  driverOf(net).join(tx, net, ep, defaultRoute);
}

/** Leaves (when joined) and deletes an endpoint. */
export function removeEndpoint(tx: Tx, net: Draft<Network>, ep: Draft<Endpoint>, sandboxGoing: boolean): void {
  if (ep.state === 'joined') driverOf(net).leave(tx, net, ep, sandboxGoing);
  deleteEndpoint(net, ep);
}

/**
 * A host's docker_gwbridge: the one ensureGwbridge recorded (Host.gwbridgeId), else found by
 * name. A host's network names are unique (a second create of a name is refused), so a
 * network of that name under the recorded id is the one.
 */
export function gwbridgeOf(tx: Tx, host: string): Draft<Network> | undefined {
  // Found in the step's base world without drafting every local network; made in this step otherwise.
  const beforeHost = hostOf(tx.before, host);
  const beforeLocals = beforeHost?.localNetworks;
  const recorded = beforeHost?.gwbridgeId === undefined ? undefined : beforeLocals?.[beforeHost.gwbridgeId];
  const before = recorded?.name === GWBRIDGE ? recorded : Object.values(beforeLocals ?? {}).find((n) => n.name === GWBRIDGE);
  const locals = tx.host(host).localNetworks;
  // The others are read, not drafted: only the one found is written.
  const id = before?.id ?? Object.keys(locals).find((k) => fieldOf(locals, k).name === GWBRIDGE);
  return id === undefined ? undefined : locals[id];
}
