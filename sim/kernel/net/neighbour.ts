/**
 * net/core/neighbour.c: the next hop's link-layer address, as a state machine with Linux's
 * NUD states and timers. A datagram to a next hop without a usable address waits in the
 * entry's queue while ARP asks (INCOMPLETE: three broadcasts a second apart, then FAILED,
 * and the queued datagrams' senders hear "Destination Host Unreachable"). An answer makes
 * the entry REACHABLE; after reachable_time without confirmation it goes STALE, and the
 * next use moves it to DELAY, then PROBE (unicast requests), back to REACHABLE on an
 * answer or to FAILED without one. Echo traffic confirms nothing (only ARP answers do here).
 */
import type { Datapath } from '../datapath';
import type { Neigh, NeighState, ResolvedRoute, SimLink, SimNetns } from '../objects';
import { neighbourGeneration } from '../objects';
import { emitEthernet, ETHERNET_HEADER_LEN, ETHERTYPE_IPV4, writeEthernetHeader } from '../../wire/ethernet';
import { Skb } from './skb';
import { devXmit } from './dev';
import { arpSolicit } from './ipv4/arp';
import { icmpHostUnreachableToSocket } from './ipv4/icmp';
import { BROADCAST_MAC } from '../../wire/addr';

/** The defaults of /proc/sys/net/ipv4/neigh/default/. */
const MCAST_SOLICIT = 3;
const UCAST_SOLICIT = 3;
const RETRANS_TIME_NS = 1_000_000_000;
const DELAY_FIRST_PROBE_TIME_NS = 5_000_000_000;
/** base_reachable_time; Linux draws reachable_time from [½, 1½) of it, the sim takes the base (it stays deterministic). */
const REACHABLE_TIME_NS = 30_000_000_000;
/** unres_qlen_bytes: what an unresolved entry queues; past it the oldest datagram is dropped. */
const UNRES_QLEN_BYTES = 212_992;

/** A learned entry (static ones are plain PERMANENT Neigh objects the plan adds). */
class NeighEntry implements Neigh {
  mac?: string;
  /** The kernel's count (NDA_PROBES): resolution starts it at ucast_probes, PROBE at 0; each request adds one. */
  probes = 0;
  /** Datagrams waiting for the address (arp_queue) and their bytes. */
  queue: Skb[] = [];
  queueBytes = 0;
  /** Last confirmation (an ARP answer) and last use, in virtual ns. */
  confirmedNs = 0;
  usedNs = 0;
  /** Bumped whenever the timer is re-armed, so an older timer knows it is stale. */
  timer = 0;

  constructor(readonly ip: string, readonly dev: string, public state: NeighState) {}
}

function isLearned(n: Neigh | undefined): n is NeighEntry {
  return n instanceof NeighEntry;
}

/** The probes the kernel reports for an entry (NDA_PROBES): a static one sent none. */
export function neighProbes(n: Neigh): number {
  return isLearned(n) ? n.probes : 0;
}

/**
 * The next hop's entry when its address may be used now (REACHABLE, STALE, DELAY, PROBE,
 * PERMANENT); a use of a STALE entry starts DELAY, as neigh_event_send does.
 */
export function resolvedNeigh(dp: Datapath, ns: SimNetns, r: ResolvedRoute): Neigh | undefined {
  const noArp = r.dev.type === 'ipip' || r.dev.stacked?.noArp === true;
  if (noArp || r.broadcast) return noArpNeigh(r, noArp);
  const n = routeNeigh(ns, r);
  if (n === undefined || n.mac === undefined) return undefined;
  if (isLearned(n)) {
    n.usedNs = dp.clock.now;
    if (n.state === 'STALE') enter(dp, ns, n, 'DELAY', DELAY_FIRST_PROBE_TIME_NS);
  }
  return n;
}

/**
 * A next hop that needs no address resolved (NUD_NOARP), made once for the route and kept
 * by it (its dst entry's neighbour), not once per packet: a device without ARP (IFF_NOARP:
 * an ipip tunnel, an l3 ipvlan) gives it the device's own address, and a broadcast next hop
 * the device's broadcast address, as arp_constructor does.
 */
function noArpNeigh(r: ResolvedRoute, deviceWithoutArp: boolean): Neigh {
  return (r.neigh ??= { ip: r.nexthop, dev: r.dev.name, mac: deviceWithoutArp ? r.dev.mac : BROADCAST_MAC, state: 'PERMANENT' });
}

/** The route's next-hop entry: the one it keeps while no neighbour table changed, else looked up (and kept). */
function routeNeigh(ns: SimNetns, r: ResolvedRoute): Neigh | undefined {
  const generation = neighbourGeneration();
  if (r.neighGeneration === generation) return r.neigh;
  r.neigh = ns.neigh.get(r.dev.name, r.nexthop);
  r.neighGeneration = generation;
  return r.neigh;
}

/** neigh_resolve_output: sends with a usable address, else queues the datagram and starts (or joins) resolution. */
export function neighOutput(dp: Datapath, ns: SimNetns, r: ResolvedRoute, skb: Skb): void {
  const { dev, nexthop } = r;
  const usable = resolvedNeigh(dp, ns, r);
  if (usable) return l2Send(dp, dev, usable.mac!, skb);
  const existing = ns.neigh.get(dev.name, nexthop);
  if (isLearned(existing) && existing.state === 'INCOMPLETE') return enqueue(existing, skb);
  const n = isLearned(existing) ? existing : new NeighEntry(nexthop, dev.name, 'INCOMPLETE');
  if (n !== existing) ns.neigh.set(n);
  n.mac = undefined;
  // __neigh_event_send: resolution counts on from the unicast probes it did not send.
  n.probes = UCAST_SOLICIT;
  enqueue(n, skb);
  enter(dp, ns, n, 'INCOMPLETE', RETRANS_TIME_NS);
  solicit(dp, ns, dev, n, skb);
}

function enqueue(n: NeighEntry, skb: Skb): void {
  n.queue.push(skb);
  n.queueBytes += skb.frame.length;
  while (n.queueBytes > UNRES_QLEN_BYTES && n.queue.length > 1) n.queueBytes -= n.queue.shift()!.frame.length;
}

/** Sets a state and arms the entry's timer (neigh_add_timer). */
function enter(dp: Datapath, ns: SimNetns, n: NeighEntry, state: NeighState, timerNs: number): void {
  n.state = state;
  const id = ++n.timer;
  dp.clock.schedule(timerNs, () => neighTimer(dp, ns, n, id));
}

/** neigh_timer_handler. */
function neighTimer(dp: Datapath, ns: SimNetns, n: NeighEntry, id: number): void {
  if (n.timer !== id || ns.neigh.get(n.dev, n.ip) !== n) return;
  const dev = ns.links.get(n.dev);
  if (!dev) return;
  const now = dp.clock.now;
  switch (n.state) {
    case 'REACHABLE':
      if (now < n.confirmedNs + REACHABLE_TIME_NS) enter(dp, ns, n, 'REACHABLE', n.confirmedNs + REACHABLE_TIME_NS - now);
      else if (now <= n.usedNs + DELAY_FIRST_PROBE_TIME_NS) enter(dp, ns, n, 'DELAY', DELAY_FIRST_PROBE_TIME_NS);
      else n.state = 'STALE';
      return;
    case 'DELAY':
      if (now <= n.confirmedNs + DELAY_FIRST_PROBE_TIME_NS) {
        enter(dp, ns, n, 'REACHABLE', n.confirmedNs + REACHABLE_TIME_NS - now);
        return;
      }
      n.probes = 0;
      enter(dp, ns, n, 'PROBE', RETRANS_TIME_NS);
      solicit(dp, ns, dev, n, undefined);
      return;
    case 'INCOMPLETE':
    case 'PROBE':
      if (n.probes >= (n.state === 'INCOMPLETE' ? UCAST_SOLICIT + MCAST_SOLICIT : UCAST_SOLICIT)) return fail(dp, ns, n);
      enter(dp, ns, n, n.state, RETRANS_TIME_NS);
      solicit(dp, ns, dev, n, retransmitCause(n));
      return;
    default:
  }
}

/**
 * neigh_probe asks again on behalf of the newest datagram waiting (skb_peek_tail of the
 * arp_queue): the request belongs to that datagram's flow, sent now.
 */
function retransmitCause(n: NeighEntry): Skb | undefined {
  const waiting = n.queue[n.queue.length - 1];
  return waiting && new Skb(waiting.frame, waiting.flow, waiting.dir);
}

/** neigh_probe: a broadcast request while INCOMPLETE, a unicast one to the cached address while PROBE. */
function solicit(dp: Datapath, ns: SimNetns, dev: SimLink, n: NeighEntry, cause: Skb | undefined): void {
  n.probes++;
  arpSolicit(dp, dev, n.ip, n.state === 'PROBE' ? n.mac : undefined, cause);
}

/** No answer to the last probe: FAILED, and every queued datagram's sender hears so. */
function fail(dp: Datapath, ns: SimNetns, n: NeighEntry): void {
  n.state = 'FAILED';
  n.mac = undefined;
  n.timer++;
  const queued = n.queue;
  n.queue = [];
  n.queueBytes = 0;
  for (const s of queued) icmpHostUnreachableToSocket(dp, ns, s);
}

/**
 * neigh_update from an ARP answer: the entry is REACHABLE, and the datagrams that waited
 * leave now, with the answer that freed them. An answer nobody asked for creates nothing.
 */
export function neighConfirm(dp: Datapath, ns: SimNetns, dev: SimLink, ip: string, mac: string, lag: number): void {
  const n = ns.neigh.get(dev.name, ip);
  if (!isLearned(n)) return;
  n.mac = mac;
  n.confirmedNs = dp.clock.now;
  enter(dp, ns, n, 'REACHABLE', REACHABLE_TIME_NS);
  flush(dp, dev, n, lag);
}

/**
 * neigh_event_ns from an ARP request addressed to us: the asker's address is learned as
 * STALE; an entry that already holds the same address keeps its state (neigh_update).
 */
export function neighLearnFromRequest(dp: Datapath, ns: SimNetns, dev: SimLink, ip: string, mac: string, lag: number): void {
  const n = ns.neigh.get(dev.name, ip);
  if (n && !isLearned(n)) return;
  if (n?.mac === mac) return;
  const e = n ?? new NeighEntry(ip, dev.name, 'STALE');
  if (!n) ns.neigh.set(e);
  e.mac = mac;
  e.state = 'STALE';
  e.timer++;
  flush(dp, dev, e, lag);
}

function flush(dp: Datapath, dev: SimLink, n: NeighEntry, lag: number): void {
  const queued = n.queue;
  n.queue = [];
  n.queueBytes = 0;
  for (const s of queued) {
    s.lag = lag;
    l2Send(dp, dev, n.mac!, s);
  }
}

/** A bare datagram behind an Ethernet header to `dstMac`, out of the device. */
function l2Send(dp: Datapath, dev: SimLink, dstMac: string, skb: Skb): void {
  const frame = emitEthernet({ src: dev.mac, dst: dstMac, ethertype: ETHERTYPE_IPV4 }, skb.frame);
  const out = new Skb(frame, skb.flow, skb.dir, skb.note, skb.encapsulatedBy);
  out.lag = skb.lag;
  out.forwarded = skb.forwarded;
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

/**
 * neigh_hh_output: the cached header copied to the front of `b`, byte by byte (for 14 bytes
 * a loop costs less than TypedArray.prototype.set's call, and every frame sent pays it).
 */
export function writeL2Header(b: Uint8Array, r: ResolvedRoute, dstMac: string): void {
  const h = l2Header(r, dstMac);
  for (let i = 0; i < ETHERNET_HEADER_LEN; i++) b[i] = h[i];
}
