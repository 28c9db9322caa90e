/**
 * What dockerd's control plane knows of the swarm, read off the world: the nodes memberlist
 * gossips with (NetworkDB's members), the networks each node is in (it has the network's
 * sandbox), and the table entries each node owns (the overlay driver's peer entries and
 * the service records of named containers). The sim's traffic (sim/kernel/dockerd_cluster.ts)
 * and emu's listener processes (emu/listeners.ts) send what this describes.
 */
import { endpointsOf, hostOf, instanceHosts, swarmNetworks, World } from './world';

export interface ClusterNode {
  host: string;
  /** The address memberlist advertises and swarmkit's agent dials from: the underlay's. */
  address: string;
  /** NetworkDB's node name. */
  gossipName: string;
  manager: boolean;
  /** Not declared dead by the others (netdb.ts). */
  alive: boolean;
}

export interface ClusterTableEntry {
  table: 'overlay_peer_table' | 'endpoint_table';
  networkId: string;
  /** The endpoint id. */
  key: string;
  /** The host that owns (created) it. */
  owner: string;
  endpoint: { ip: string; prefixLength: number; mac: string; name: string; aliases: string[]; container: boolean };
}

export interface ClusterNetwork {
  id: string;
  /** Nodes with the network's sandbox: NetworkDB's members of it. */
  hosts: string[];
}

export interface ClusterView {
  nodes: ClusterNode[];
  networks: ClusterNetwork[];
  entries: ClusterTableEntry[];
}

/** The swarm's control plane as it stands; undefined outside swarm mode. */
export function clusterView(w: World): ClusterView | undefined {
  const swarm = w.swarm;
  if (!swarm) return undefined;
  const nodes = swarm.nodes.map((name) => hostOf(w, name)).filter((h) => h.nodeState === 'manager' || h.nodeState === 'worker')
    .map((h): ClusterNode => ({ host: h.name, address: h.underlay, gossipName: h.gossipName, manager: h.nodeState === 'manager', alive: h.gossipAlive }));
  const networks: ClusterNetwork[] = [];
  const entries: ClusterTableEntry[] = [];
  for (const net of swarmNetworks(swarm)) {
    const hosts = instanceHosts(net);
    if (hosts.length === 0) continue;
    networks.push({ id: net.id, hosts });
    for (const ep of endpointsOf(net)) {
      if (ep.state !== 'joined' || !hosts.includes(ep.host)) continue;
      const endpoint = { ip: ep.ip, prefixLength: ep.prefixLength, mac: ep.mac, name: ep.name, aliases: ep.aliases, container: ep.kind === 'container' };
      entries.push({ table: 'overlay_peer_table', networkId: net.id, key: ep.id, owner: ep.host, endpoint });
      // addServiceInfoToCluster: a named container's record for service discovery (an lb endpoint is anonymous).
      if (ep.kind === 'container') entries.push({ table: 'endpoint_table', networkId: net.id, key: ep.id, owner: ep.host, endpoint });
    }
  }
  return { nodes, networks, entries };
}
