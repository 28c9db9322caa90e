/**
 * dockerd's watchMiss (libnetwork v20.10 drivers/overlay/ov_network.go, classic overlay mode)
 * as a program over the sim kernel. The kernel side is vxlan's: with `l3miss`, an ARP
 * request vxlan0 cannot answer (vxlan_ip_miss), with `l2miss`, a unicast frame whose MAC has
 * no FDB entry (vxlan_fdb_miss), each an RTM_GETNEIGH notification in state STALE to the
 * namespace's RTNLGRP_NEIGH listeners (`ip monitor neigh` prints them as `miss …`). The
 * daemon's side: a miss for an address of the network's subnet (an l2miss's address is
 * the MAC's last four bytes, Docker's MACs being 02:42 + the address) becomes a serf query
 * `peerlookup` to the cluster (resolvePeer); the first answer is programmed as a permanent
 * neighbour and FDB entry on vxlan0 (peerAdd). Who answers is the model's to say (the
 * backend's resolver reads the members' peer databases).
 *
 * Timing, from hashicorp/serf and memberlist as libnetwork configures them: a query is
 * broadcast with the next gossip round (GossipInterval, 200 ms; the sim's rounds fall on
 * multiples of 200 ms of its clock); a member answers straight back over UDP, so the answer
 * arrives two underlay crossings later; with no answer resolvePeer gives up after 1 s. The
 * container's neighbour code sends its ARP again after a second (retrans_time), which vxlan0
 * then answers: the first echo takes about a second, the next ones none of it.
 */
import type { Datapath } from './datapath';
import type { SimLink } from './objects';
import { Skb } from './net/skb';
import { contains, ipv4ToNumber, parseCidr } from '../wire/addr';
import type { PeerAnswer } from '../model/drivers/driver';

/** memberlist's GossipInterval for a LAN (DefaultLANConfig), the round a serf query leaves with. */
export const GOSSIP_INTERVAL_NS = 200_000_000;
/** resolvePeer's wait for an answer (time.After(time.Second)). */
export const QUERY_TIMEOUT_NS = 1_000_000_000;

/** The subscription, as the plan's miss.watch op makes it. */
export interface MissWatch {
  host: string;
  dev: string;
  network: string;
  subnet: string;
}


/** The cluster's answer to `host`'s query for `ip` on `network` (undefined: nobody knows it). */
export type PeerResolver = (host: string, network: string, ip: string) => PeerAnswer | undefined;

/** watchMiss reads an l2miss's address from the MAC (net.IP(mac[2:])). */
function ipOfMac(mac: string): string {
  return mac.split(':').slice(2).map((b) => parseInt(b, 16)).join('.');
}

/**
 * A vxlan device reported a miss: the daemon subscribed in its namespace (if any) resolves
 * it. Called only on a miss, so a frame that finds its entries costs nothing here.
 */
export function vxlanMissNotify(dp: Datapath, vx: SimLink, skb: Skb, miss: { ip: string } | { mac: string }): void {
  const watch = vx.netns.missWatch;
  if (!watch || watch.dev !== vx.name) return;
  const l3 = 'ip' in miss;
  const ip = l3 ? miss.ip : ipOfMac(miss.mac);
  const subnet = parseCidr(watch.subnet);
  // Not any of the network's subnets: ignored.
  if (!subnet || !contains(subnet, ipv4ToNumber(ip))) return;
  const flow = skb.flow;
  const host = watch.host, netns = vx.netns.name;
  const ns = vx.netns;
  // The query and its answer cross the host's underlay interface (serf binds the advertised address).
  const uplink = 'eth0';
  const t0 = dp.clock.now + skb.lag;
  const trace = dp.trace;
  const dir = skb.dir;
  trace.vxlanMiss(vx, skb, ip, l3 ? undefined : miss.mac, host);
  const sent = (Math.floor(t0 / GOSSIP_INTERVAL_NS) + 1) * GOSSIP_INTERVAL_NS;
  const query = `peerlookup for ${ip} on ${watch.network.slice(0, 12)}`;
  dp.clock.schedule(sent - dp.clock.now, () => {
    trace.missResolution(flow, { dir, host, netns: host, device: uplink, event: 'peer-query',
      note: `serf query ${query} to the cluster, with its gossip round (UDP 7946)` });
    const answer = dp.peerResolver?.(host, watch.network, ip);
    if (!answer) {
      dp.clock.schedule(t0 + QUERY_TIMEOUT_NS - dp.clock.now, () => trace.missResolution(flow, { dir, host, netns: host, device: uplink, event: 'drop',
        reason: `could not resolve peer "${ip}": timed out resolving peer by querying the cluster` }));
      return;
    }
    dp.clock.schedule(2 * dp.delays.underlay, () => {
      trace.missResolution(flow, { dir, host, netns: host, device: uplink, event: 'peer-answer',
        note: `${answer.answeredBy} answers ${query}: "${answer.payload}"` });
      if (ns.deleted || !ns.links.has(vx.name)) return;
      dp.kernel.apply({ op: 'neigh.add', host, netns, dev: vx.name, ip, mac: answer.mac });
      dp.kernel.apply({ op: 'fdb.add', host, netns, dev: vx.name, mac: answer.mac, dst: answer.vtep });
      trace.missResolution(flow, { dir, host, netns, device: vx.name, event: 'peer-programmed',
        note: `peerAdd: ${ip} lladdr ${answer.mac} PERMANENT; ${answer.mac} dst ${answer.vtep} self permanent` });
    });
  });
}
