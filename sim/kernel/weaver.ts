/**
 * Weave Net's router (weaveworks/weave prog/weaver, router/), the user-space program a
 * host's `weave launch` starts, as its packets see it. It is an Ethernet switch spread over
 * the mesh: it learns which peer each MAC is at from the frames themselves (MacCache: a
 * frame it captures makes its source local; a frame a peer forwards puts its source at
 * that peer), sends a frame for a known MAC to its peer and floods anything else to every
 * peer it is connected to (relayBroadcast; in a full mesh each peer is its own next hop).
 *
 * sleeve (router/sleeve.go): the router captures on vethwe-pcap, the far end of the weave
 * bridge's port vethwe-bridge (pcap, inbound only), and sends each frame to the peer's UDP
 * port 6783 behind the sleeve header (sim/wire/sleeve.ts). A frame whose IP header has DF
 * goes through the forwarder's raw socket (udpSenderDF: outer DF set, no UDP checksum);
 * anything else (ARP) through its UDP socket (IP_PMTUDISC_DONT: DF clear, checksummed). The
 * receiving router injects the frame on its own vethwe-pcap, which the bridge then switches.
 */
import type { Datapath } from './datapath';
import type { SimLink, SimNetns } from './objects';
import type { WeaveRouterConfig } from '../plan/ops';
import { BROADCAST_MAC, ipv4ToNumber, macToString } from '../wire/addr';
import { be16, bufferView, putBe16 } from '../wire/bytes';
import { ETHERNET_HEADER_LEN, ETHERTYPE_IPV4 } from '../wire/ethernet';
import { IPPROTO_UDP, IPV4_MIN_HEADER_LEN, ipv4PacketSrc, Ipv4Repr } from '../wire/ipv4';
import { internetChecksum, pseudoHeaderSum } from '../wire/checksum';
import { UDP_HEADER_LEN, writeUdpHeader } from '../wire/udp';
import { emitSleeve, parseSleeve, SleeveFrame } from '../wire/sleeve';
import { Skb } from './net/skb';
import { countRx, devXmit } from './net/dev';
import { route } from './net/ipv4/route';
import { ipTransmit, newDatagram, NO_OPTIONS } from './net/ipv4/ip_output';
import { resolvedNeigh } from './net/neighbour';
import { weaveNotes } from '../trace/paths/weave';
import type { OdpAction, OdpDatapath, TunnelKey } from './net/openvswitch';

/** STP's group address: the router discards what is sent to it. */
const STP_GROUP = '01:80:c2:00:00:00';

export class WeaveRouter {
  /** MacCache: each MAC the router has seen, at the peer (by name) it was seen at. */
  readonly macs = new Map<string, string>();

  constructor(
    public config: WeaveRouterConfig,
    readonly ns: SimNetns,
  ) {}

  /** The UDP port its overlay's packets arrive at: sleeve's 6783. */
  get port(): number {
    return this.config.port;
  }

  /** The device it captures on and injects into (vethwe-pcap). */
  device(): SimLink | undefined {
    return this.ns.links.get(this.config.device);
  }
}

/**
 * The fast datapath's controller (fastdp.go's Miss, then the router's handlers and the
 * forwarder's Forward): the actions for a frame the datapath had no flow for. From the
 * bridge: its source is local, and it goes to the peer its destination was seen at, or to
 * every peer, each through a set_tunnel (id: this peer's short id, the other's shifted
 * by 12; TTL 64, DF, no checksum) and the VXLAN vport. From a tunnel: the id names the
 * sending peer (extractPeers), whose MAC the source is; a frame for this peer goes to the
 * bridge. No actions: the frame and its like are dropped.
 */
export function weaverUpcall(_dp: Datapath, odp: OdpDatapath, _inPort: SimLink, skb: Skb, tunnel: TunnelKey | undefined): OdpAction[] | undefined {
  const router = odp.dev.netns.weaveRouter;
  if (!router?.config.vxlanVport) return undefined;
  const c = router.config;
  const f = skb.frame;
  const src = macToString(f, 6), dst = macToString(f, 0);
  if (tunnel) {
    const sender = c.peers.find((p) => p.shortId === (tunnel.id & 0xfff));
    if (!sender || ((tunnel.id >>> 12) & 0xfff) !== c.shortId) return [];
    router.macs.set(src, sender.name);
    return [{ type: 'output', port: c.device }];
  }
  const seenAt = router.macs.get(src);
  if (seenAt !== undefined && seenAt !== c.name) return [];
  router.macs.set(src, c.name);
  if (dst === STP_GROUP) return [];
  const dstPeer = dst === BROADCAST_MAC ? undefined : router.macs.get(dst);
  if (dstPeer === c.name) return [];
  const to = c.peers.filter((p) => dstPeer === undefined || p.name === dstPeer);
  return to.flatMap((p): OdpAction[] => [
    { type: 'set_tunnel', id: c.shortId | (p.shortId << 12), src: c.address, dst: p.address, ttl: 64, df: true, csum: false },
    { type: 'output', port: c.vxlanVport! },
  ]);
}

/** The router's time to take a frame through user space (a pcap read or a socket read, its lookup, a write). */
const USERSPACE_NS = 40_000;

/** handleCapturedPacket: a frame the router read off its capture device. */
export function weaverCapture(dp: Datapath, dev: SimLink, skb: Skb): void {
  const router = dev.netns.weaveRouter;
  if (!router) return;
  countRx(dev, skb);
  const f = skb.frame;
  const src = macToString(f, 6), dst = macToString(f, 0);
  const me = router.config.name;
  const seenAt = router.macs.get(src);
  // A frame from a MAC known at another peer is one the router injected itself: discarded.
  if (seenAt !== undefined && seenAt !== me) return;
  router.macs.set(src, me);
  if (dst === STP_GROUP) return;
  const dstPeer = dst === BROADCAST_MAC ? undefined : router.macs.get(dst);
  // A frame for a local MAC the bridge should have switched itself.
  if (dstPeer === me) return;
  const to = dstPeer === undefined ? router.config.peers.map((p) => p.name) : [dstPeer];
  dp.tracer.routerCaptured(dev, skb, dstPeer === undefined);
  for (const peer of to) forward(dp, router, { srcPeer: me, dstPeer: peer, frame: Buffer.from(f) }, skb);
}

/** A sleeve forwarder sends one frame to its peer's port 6783 (the aggregator sends it alone: nothing else is queued). */
function forward(dp: Datapath, router: WeaveRouter, frame: SleeveFrame, cause: Skb): void {
  const peer = router.config.peers.find((p) => p.name === frame.dstPeer);
  if (!peer) return;
  const payload = emitSleeve({ sender: router.config.name, frames: [frame] });
  const ns = router.ns;
  const r = route(ns, peer.address);
  if (!r || r.local) return dp.tracer.drop(cause, undefined, router.device() ?? r?.dev ?? [...ns.links.values()][0], `no route to peer ${peer.address}`);
  const df = dontFragment(frame.frame);
  const udpLength = UDP_HEADER_LEN + payload.length;
  const outer: Ipv4Repr = { src: r.src, dst: peer.address, protocol: IPPROTO_UDP, ttl: 64, id: dp.nextIpId(), tos: 0, dontFragment: df, moreFragments: false, fragmentOffset: 0, options: NO_OPTIONS };
  const n = resolvedNeigh(dp, ns, r);
  const b = newDatagram(dp, r, n, outer, udpLength);
  const at = b.length - udpLength;
  writeUdpHeader({ srcPort: router.port, dstPort: router.port }, b, at, payload.length);
  b.set(payload, at + UDP_HEADER_LEN);
  // The UDP socket's datagrams carry a checksum; the raw socket's DF ones are built without (gopacket, ComputeChecksums false).
  if (!df) putBe16(b, at + 6, internetChecksum(b, at, at + udpLength, pseudoHeaderSum(addrBytes(r.src), addrBytes(peer.address), IPPROTO_UDP, udpLength)) || 0xffff);
  const note = weaveNotes.sleeveOut(peer.name, peer.address, router.port);
  const out = new Skb(b, cause.flow, cause.dir, note, 'weaver');
  out.lag = cause.lag + USERSPACE_NS;
  ipTransmit(dp, ns, r, n, out);
}

/**
 * sleeve's readUDP and handleForwardedPacket: a datagram at the router's port 6783. Each
 * frame's source MAC is put at the peer that captured it, and the frame is injected on the
 * capture device; a broadcast would be relayed on along the broadcast tree, which in a full
 * mesh gives the receiving peer no next hop.
 */
export function weaverReceive(dp: Datapath, router: WeaveRouter, uplink: SimLink, skb: Skb, l4: number, udpEnd: number): void {
  const p = parseSleeve(bufferView(skb.frame).subarray(l4 + UDP_HEADER_LEN, udpEnd));
  if (!p.ok) return dp.tracer.drop(skb, undefined, uplink, p.error);
  const known = router.config.peers.find((peer) => peer.name === p.repr.sender);
  if (!known) return dp.tracer.drop(skb, undefined, uplink, `sleeve: a datagram from ${p.repr.sender}, no peer of this router`);
  dp.tracer.routerReceived(uplink, skb, weaveNotes.sleeveIn(known.name, ipv4PacketSrc(skb.frame, ETHERNET_HEADER_LEN), be16(skb.frame, l4)));
  for (const f of p.repr.frames) {
    if (f.dstPeer !== router.config.name) continue;
    router.macs.set(macToString(f.frame, 6), f.srcPeer);
    const dev = router.device();
    if (!dev) continue;
    const inject = new Skb(Buffer.from(f.frame), skb.flow, skb.dir);
    dp.clock.call(USERSPACE_NS + skb.lag, injectTask, dp, dev, inject);
  }
}

function injectTask(dp: Datapath, dev: SimLink, skb: Skb): void {
  dp.tracer.routerInjected(dev, skb);
  devXmit(dp, dev, skb);
}

/** The frame is IPv4 with DF set (the ethernet decoder's DF()). */
function dontFragment(f: Uint8Array): boolean {
  return f.length >= ETHERNET_HEADER_LEN + IPV4_MIN_HEADER_LEN && be16(f, 12) === ETHERTYPE_IPV4 && (f[ETHERNET_HEADER_LEN + 6] & 0x40) !== 0;
}

function addrBytes(ip: string): Uint8Array {
  const n = ipv4ToNumber(ip);
  return Uint8Array.of(n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
}
