/**
 * net/core/neighbour.c: the next hop's link-layer address. A datagram to a next hop with
 * no usable entry waits in the entry's queue while ARP asks; the answer releases the
 * queue, and a next hop that never answers fails the queued datagrams.
 */
import type { Datapath } from '../datapath';
import type { Neigh, ResolvedRoute, SimLink, SimNetns } from '../objects';
import { emitEthernet, ETHERNET_HEADER_LEN, ETHERTYPE_IPV4, writeEthernetHeader } from '../../wire/ethernet';
import { Skb } from './skb';
import { devXmit } from './dev';
import { arpSolicit } from './ipv4/arp';
import { icmpHostUnreachableToSocket } from './ipv4/icmp';

/** Requests sent before an unanswered entry fails (mcast_solicit's default). */
const NEIGH_SOLICITS = 3;
/** Between requests (retrans_time's default). */
const NEIGH_RETRANS_NS = 1_000_000_000;

/** Datagrams waiting for a next hop's address, by (host, namespace, device, next hop). */
export type NeighQueues = Map<string, { skbs: Skb[]; tries: number }>;

/** The next hop's neighbour entry, when ARP has resolved it. */
export function resolvedNeigh(ns: SimNetns, r: ResolvedRoute): Neigh | undefined {
  const n = ns.neigh.get(r.dev.name, r.nexthop);
  return n?.mac !== undefined && n.state !== 'INCOMPLETE' ? n : undefined;
}

/** neigh_resolve_output: sends with a known address, else queues the datagram and starts resolution. */
export function neighOutput(dp: Datapath, ns: SimNetns, r: ResolvedRoute, skb: Skb): void {
  const { dev, nexthop } = r;
  const n = ns.neigh.get(dev.name, nexthop);
  if (n?.mac && n.state !== 'INCOMPLETE') {
    l2Send(dp, dev, n.mac, skb);
    return;
  }
  const key = queueKey(ns, dev, nexthop);
  let q = dp.neighQueues.get(key);
  if (q) {
    q.skbs.push(skb);
    return;
  }
  q = { skbs: [skb], tries: 0 };
  dp.neighQueues.set(key, q);
  ns.neigh.set({ ip: nexthop, dev: dev.name, state: 'INCOMPLETE' });
  neighProbe(dp, ns, dev, nexthop, skb);
}

/** neigh_timer_handler for an INCOMPLETE entry: another request, or failure after the last. */
function neighProbe(dp: Datapath, ns: SimNetns, dev: SimLink, target: string, cause: Skb): void {
  const key = queueKey(ns, dev, target);
  const q = dp.neighQueues.get(key);
  if (!q) return;
  if (q.tries >= NEIGH_SOLICITS) {
    dp.neighQueues.delete(key);
    ns.neigh.delete(dev.name, target);
    for (const s of q.skbs) icmpHostUnreachableToSocket(dp, ns, s);
    return;
  }
  q.tries++;
  arpSolicit(dp, dev, target, cause, q.tries === 1);
  dp.clock.schedule(NEIGH_RETRANS_NS, () => neighProbe(dp, ns, dev, target, cause));
}

/** neigh_update from an ARP reply: the entry is reachable, and the datagrams that waited leave now, with the reply that freed them. */
export function neighUpdate(dp: Datapath, ns: SimNetns, dev: SimLink, ip: string, mac: string, lag: number): void {
  ns.neigh.set({ ip, dev: dev.name, mac, state: 'REACHABLE' });
  const key = queueKey(ns, dev, ip);
  const q = dp.neighQueues.get(key);
  if (!q) return;
  dp.neighQueues.delete(key);
  for (const s of q.skbs) {
    s.lag = lag;
    l2Send(dp, dev, mac, s);
  }
}

function queueKey(ns: SimNetns, dev: SimLink, ip: string): string {
  return `${ns.host.name}|${ns.name}|${dev.name}|${ip}`;
}

/** A bare datagram behind an Ethernet header to `dstMac`, out of the device. */
function l2Send(dp: Datapath, dev: SimLink, dstMac: string, skb: Skb): void {
  const frame = emitEthernet({ src: dev.mac, dst: dstMac, ethertype: ETHERTYPE_IPV4 }, skb.frame);
  const out = new Skb(frame, skb.flow, skb.dir, skb.note);
  out.lag = skb.lag;
  devXmit(dp, dev, out);
}

/** The Ethernet header toward a next hop, built once while its MAC stays the same (the neighbour's cached header, neigh_hh_output). */
export function l2Header(r: ResolvedRoute, dstMac: string): Buffer {
  if (r.l2Header?.dstMac !== dstMac) {
    const bytes = Buffer.alloc(ETHERNET_HEADER_LEN);
    writeEthernetHeader({ src: r.dev.mac, dst: dstMac, ethertype: ETHERTYPE_IPV4 }, bytes, 0);
    r.l2Header = { dstMac, bytes };
  }
  return r.l2Header.bytes;
}
