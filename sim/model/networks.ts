/** `docker network create` and `rm`: swarm overlays through the manager, bridges locally. */
import { NetworkSpec, localNetwork, createSwarmNetwork, gatewayInSubnet, nextLocalSubnet, NOT_A_MANAGER, WORKER_CANNOT } from './swarm';
import { createBridgeDevice } from './plumbing';
import { newIpam } from './ipam';
import { advance, networkMachine } from './machines';
import { allNetworks, daemonError, DockerError, findNetwork, Tx, visibleNetworks } from './tx';
import { endpointsOf, Network, shardDelete, swarmNetwork } from './world';
import { ipv4ToNumber, parseCidr } from '../wire/addr';

export interface CreateRequest extends NetworkSpec {
  driver: string;
}

const PREDEFINED = new Set(['bridge', 'host', 'none']);

export function createNetwork(tx: Tx, host: string, req: CreateRequest): Network {
  const h = tx.host(host);
  if (req.subnet && !parseCidr(req.subnet)) throw daemonError(`Invalid subnet ${req.subnet} : invalid CIDR address: ${req.subnet}`);
  if (req.gateway && (!req.subnet || !gatewayInSubnet(req.subnet, req.gateway))) throw new DockerError(`no matching subnet for gateway ${req.gateway}`, 1);
  if (req.driver === 'overlay') {
    if (h.nodeState !== 'manager' && h.nodeState !== 'worker') throw daemonError(NOT_A_MANAGER);
    if (h.nodeState === 'worker') throw daemonError('Cannot create a multi-host network from a worker node. Please create the network from a manager node.');
  } else if (req.driver !== 'bridge') {
    throw daemonError(`plugin "${req.driver}" not found`);
  }
  if (allNetworks(tx.w, host).some((n) => n.name === req.name)) throw daemonError(`network with name ${req.name} already exists`);
  if (req.driver === 'overlay') {
    return createSwarmNetwork(tx, { name: req.name, ingress: false, attachable: req.attachable, internal: req.internal, subnet: req.subnet, gateway: req.gateway, options: req.options, labels: req.labels });
  }
  const subnet = req.subnet ?? nextLocalSubnet(tx, host);
  const net = localNetwork(tx, host, req.name, 'bridge', subnet, undefined, req.options);
  net.bridge = `br-${net.id.slice(0, 12)}`;
  net.ipam = newIpam(subnet, req.gateway);
  net.internal = req.internal;
  net.labels = req.labels;
  h.localNetworks[net.id] = net;
  createBridgeDevice(tx, host, net);
  return net;
}

export function removeNetwork(tx: Tx, host: string, ref: string): void {
  const h = tx.host(host);
  const net = findNetwork(visibleNetworks(tx.w, host), ref);
  if (!net) throw new DockerError(`Error: No such network: ${ref}`, 1);
  if (net.scope === 'local') {
    if (PREDEFINED.has(net.name)) throw daemonError(`${net.name} is a pre-defined network and cannot be removed`);
    if (net.name === 'docker_gwbridge' || endpointsOf(net).length > 0) throw daemonError(`error while removing network: network ${net.name} id ${net.id} has active endpoints`);
    tx.emit({ op: 'link.del', host, netns: host, name: net.bridge! });
    delete h.localNetworks[net.id];
    return;
  }
  if (h.nodeState !== 'manager') throw daemonError(WORKER_CANNOT);
  // The first container attached (lowest address) is the task Docker names.
  const inUse = endpointsOf(net).filter((e) => e.kind === 'container').sort((a, b) => ipv4ToNumber(a.ip) - ipv4ToNumber(b.ip))[0];
  if (inUse) throw daemonError(`rpc error: code = FailedPrecondition desc = network ${net.id} is in use by task ${inUse.taskId}`);
  if (net.ingress) throw daemonError(`rpc error: code = FailedPrecondition desc = ingress network cannot be removed because service ${net.id} depends on it`);
  const live = swarmNetwork(tx.w.swarm, net.id)!;
  live.state = advance(networkMachine, live.state, 'REMOVE');
  shardDelete(tx.w.swarm!.networks, net.id);
}
