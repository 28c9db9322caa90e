/** `docker network create` and `rm`: swarm overlays through the manager, bridges locally. */
import { WORKER_CANNOT } from './swarm';
import { NetworkSpec } from './drivers/driver';
import { driverNamed, driverOf } from './drivers';
import { advance, networkMachine } from './machines';
import { allNetworksRead, findNetwork, Tx, visibleNetworks } from './tx';
import { DaemonRefusal, NoSuchObject } from './refusal';
import { endpointsOf, Network, shardDelete, swarmNetwork } from './world';
import { ipv4ToNumber, parseCidr } from '../wire/addr';
import { isPreDefinedNetwork } from './network-mode';

export interface CreateRequest extends NetworkSpec {
  driver: string;
}

export function createNetwork(tx: Tx, host: string, req: CreateRequest): Network {
  // The daemon's createNetwork asks first (runconfig.IsPreDefinedNetwork); PredefinedNetworkError ends in a space.
  if (isPreDefinedNetwork(req.name)) throw new DaemonRefusal(`operation is not permitted on predefined ${req.name} network `);
  if (req.subnet && !parseCidr(req.subnet)) throw new DaemonRefusal(`Invalid subnet ${req.subnet} : invalid CIDR address: ${req.subnet}`);
  const driver = driverNamed(req.driver);
  if (!driver?.create) throw new DaemonRefusal(`plugin "${req.driver}" not found`);
  driver.admit?.(tx, host);
  if (allNetworksRead(tx, host).some((n) => n.name === req.name)) throw new DaemonRefusal(`network with name ${req.name} already exists`);
  return driver.create(tx, host, req);
}

export function removeNetwork(tx: Tx, host: string, ref: string): void {
  const h = tx.host(host);
  const net = findNetwork(visibleNetworks(tx.w, host), ref);
  if (!net) throw new NoSuchObject('network', ref);
  if (net.scope === 'global') {
    // Kept in the cluster store: gone from every host at once, once no host has an endpoint on it.
    const copies = tx.w.hostOrder.map((name) => tx.host(name).localNetworks[net.id]).filter(Boolean);
    if (copies.some((c) => endpointsOf(c).length > 0)) throw new DaemonRefusal(`error while removing network: network ${net.name} id ${net.id} has active endpoints`);
    for (const name of tx.w.hostOrder) delete tx.host(name).localNetworks[net.id];
    return;
  }
  if (net.scope === 'local') {
    if (isPreDefinedNetwork(net.name)) throw new DaemonRefusal(`${net.name} is a pre-defined network and cannot be removed`);
    if (net.name === 'docker_gwbridge' || endpointsOf(net).length > 0) throw new DaemonRefusal(`error while removing network: network ${net.name} id ${net.id} has active endpoints`);
    driverOf(net).remove?.(tx, host, net);
    delete h.localNetworks[net.id];
    return;
  }
  if (h.nodeState !== 'manager') throw new DaemonRefusal(WORKER_CANNOT);
  // The first container attached (lowest address) is the task Docker names.
  const inUse = endpointsOf(net).filter((e) => e.kind === 'container').sort((a, b) => ipv4ToNumber(a.ip) - ipv4ToNumber(b.ip))[0];
  if (inUse) throw new DaemonRefusal(`rpc error: code = FailedPrecondition desc = network ${net.id} is in use by task ${inUse.taskId}`);
  if (net.ingress) throw new DaemonRefusal(`rpc error: code = FailedPrecondition desc = ingress network cannot be removed because service ${net.id} depends on it`);
  const live = swarmNetwork(tx.w.swarm, net.id)!;
  live.state = advance(networkMachine, live.state, 'REMOVE');
  shardDelete(tx.w.swarm!.networks, net.id);
}

/**
 * `docker network prune -f`: every network no container uses, as the daemon prunes them
 * (NetworksPrune): on a manager the swarm ones first, in the order the manager's store lists
 * them (by id), then the local ones; never the predefined networks or the ingress. A network
 * whose removal is refused (in use) is kept without a word.
 */
export function pruneNetworks(tx: Tx, host: string): string[] {
  const removed: string[] = [];
  const prunable = visibleNetworks(tx.w, host).filter((n) => !isPreDefinedNetwork(n.name) && !n.ingress);
  const swarm = tx.host(host).nodeState === 'manager' ? prunable.filter((n) => n.scope !== 'local').sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)) : [];
  const candidates = [...swarm, ...prunable.filter((n) => n.scope === 'local')].map((n) => ({ id: n.id, name: n.name }));
  for (const n of candidates) {
    try {
      removeNetwork(tx, host, n.id);
      removed.push(n.name);
    } catch (e) {
      if (!(e instanceof DaemonRefusal)) throw e;
    }
  }
  return removed;
}
