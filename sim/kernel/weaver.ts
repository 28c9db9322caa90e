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
import { RxHandler, SimLink, SimNetns, TunnelKey, UdpEncapRcv } from './objects';
import { programIn, registerProgramOp, setProgram } from './program_registry';
import type { WeaveRouterConfig } from '../plan/ops';
import { BROADCAST_MAC, ipv4ToNumber, macToString } from '../wire/addr';
import { be16, bufferView, putBe16 } from '../wire/bytes';
import { emitEthernet, ETHERNET_HEADER_LEN, ETHERTYPE_IPV4 } from '../wire/ethernet';
import { emitIpv4, IPPROTO_ICMP, IPPROTO_UDP, IPV4_MIN_HEADER_LEN, ipv4PacketDstString, ipv4PacketSrc, Ipv4Repr } from '../wire/ipv4';
import { emitIcmp, ICMP_DEST_UNREACHABLE, UNREACH_FRAG_NEEDED } from '../wire/icmp';
import { internetChecksum, pseudoHeaderSum } from '../wire/checksum';
import { emitUdp, UDP_HEADER_LEN, writeUdpHeader } from '../wire/udp';
import { emitSleeve, parseSleeve, PEER_NAME_LEN, SLEEVE_FRAME_OVERHEAD, SleeveFrame } from '../wire/sleeve';
import { Skb } from './net/skb';
import { devXmit, netdevRxHandlerRegister, netdevRxHandlerUnregister } from './net/dev';
import { pathMtu, route } from './net/ipv4/route';
import { ipFragment } from './net/ipv4/ip_fragment';
import { ipTransmit, newDatagram, NO_OPTIONS } from './net/ipv4/ip_output';
import { resolvedNeigh } from './net/neighbour';
import { weaveNotes } from '../trace/paths/notes';
import { datapathOfVport, OdpAction, OdpDatapath } from './net/openvswitch';

declare module './program_registry' {
  interface RegisteredPrograms {
    /** The Weave Net router `weave launch` started in a host's namespace. */
    weaver: WeaveRouter;
  }
  interface RegisteredProgramOps {
    'weave.router': true;
  }
}

/** STP's group address: the router discards what is sent to it. */
const STP_GROUP = '01:80:c2:00:00:00';

/** sleeve.go's DefaultMTU: a forwarder's MTU until path MTU discovery gives one. */
export const SLEEVE_DEFAULT_MTU = 65535;
/** IPv4's and UDP's headers (sleeve's UDPOverhead). */
export const UDP_OVERHEAD = 28;
/** overheadDF: IP and UDP, the sender's name, a frame's header and its Ethernet header: a forwarder's MTU is the path's less this. */
export const SLEEVE_DF_OVERHEAD = UDP_OVERHEAD + PEER_NAME_LEN + SLEEVE_FRAME_OVERHEAD + ETHERNET_HEADER_LEN;
const MAX_UDP_PACKET_SIZE = 65535;
/** aggregateAndSend gives up after this many frames, so the forwarder's other work is not starved. */
const MAX_BATCH = 100;

interface Queued {
  frame: SleeveFrame;
  cause: Skb;
}

/** A sleeve forwarder to one peer (sleeveForwarder), as its contact and path MTU checks left it (sim/kernel/weave_mesh.ts). */
export interface SleeveForwarder {
  /** The largest IP packet a frame may carry with DF. */
  mtu: number;
  /** The most a DF datagram's UDP payload may hold. */
  maxPayload: number;
  /** The peer's heartbeat was answered: frames may go. */
  contact: boolean;
  /** The fragmentation test came through: the kernel may fragment datagrams without DF. */
  stackFrag: boolean;
  /** Frames waiting for the forwarder, for the DF sender and for the UDP socket. */
  queued?: { df: Queued[]; udp: Queued[] };
}

export class WeaveRouter {
  /** MacCache: each MAC the router has seen, at the peer (by name) it was seen at. */
  readonly macs = new Map<string, string>();
  /** Sleeve's forwarders, by peer name. */
  readonly forwarders = new Map<string, SleeveForwarder>();
  /** Its UDP socket's receiver: one function for the router's life, so a new configuration sets up the same socket again. */
  readonly encapRcv: UdpEncapRcv = (dp, dev, skb, l4, end) => weaverReceive(dp, this, dev, skb, l4, end);
  /** Who handles weave's own frames (zero MACs: heartbeats, tests) that arrive at UDP 6783 from a peer, by its name: the forwarder's checks (weave_mesh.ts). */
  readonly onSpecial = new Map<string, (frame: Buffer) => void>();

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

/** The Weave Net router running in `ns`, if `weave launch` started one there. */
export function weaveRouterIn(ns: SimNetns): WeaveRouter | undefined {
  return programIn(ns, 'weaver');
}

/**
 * sleeve's pcap on its capture device (vethwe-pcap): the router's packet socket takes every
 * frame the device receives, and nothing on the device does after it (it has no address).
 */
class SleeveCapture implements RxHandler {
  readonly takesAll = true;

  constructor(readonly router: WeaveRouter) {}

  rx(dp: Datapath, dev: SimLink, skb: Skb): boolean {
    weaverCapture(dp, this.router, dev, skb);
    return true;
  }

  ucPromisc(): boolean {
    return false;
  }
}

/**
 * The router started (or told its new configuration): in sleeve mode it captures on its
 * device and holds its UDP port (6783) as a tunnel socket; in fastdp mode it is the
 * datapath's controller, taking its misses.
 */
registerProgramOp('weave.router', (kernel, op) => {
  const ns = kernel.netns(op.host, op.netns);
  // One router per namespace: a SleeveCapture there is this router's.
  const capture = op.router.vxlanVport ? undefined : ns.links.get(op.router.device);
  const running = weaveRouterIn(ns);
  const router = running ?? new WeaveRouter(op.router, ns);
  // Its pcap on the device (EBUSY when another's rx_handler holds it), then its socket (a port
  // another's socket holds): either refused, nothing has changed.
  const sleeve = capture && !(capture.rxHandler instanceof SleeveCapture) ? { dev: capture, handler: new SleeveCapture(router) } : undefined;
  if (sleeve) netdevRxHandlerRegister(sleeve.dev, sleeve.handler);
  try {
    ns.setupUdpTunnelSock(op.router.port, router.encapRcv);
  } catch (e) {
    if (sleeve) netdevRxHandlerUnregister(sleeve.dev, sleeve.handler);
    throw e;
  }
  if (running) {
    // Reconfigured to capture elsewhere, or to the fast datapath: its pcap on the old device
    // is closed, and the device's frames go to its own stack again.
    const captured = running.config.vxlanVport ? undefined : running.device();
    const old = captured?.rxHandler;
    if (captured && captured !== capture && old instanceof SleeveCapture) netdevRxHandlerUnregister(captured, old);
    if (running.config.port !== op.router.port) ns.releaseUdpTunnelSock(running.config.port);
    running.config = op.router;
  } else setProgram(ns, 'weaver', router);
  const vport = op.router.vxlanVport ? ns.links.get(op.router.vxlanVport) : undefined;
  const odp = vport && datapathOfVport(vport);
  if (odp) odp.upcall = weaverUpcall;
});

/**
 * The fast datapath's controller (fastdp.go's Miss, then the router's handlers and the
 * forwarder's Forward): the actions for a frame the datapath had no flow for. From the
 * bridge: its source is local, and it goes to the peer its destination was seen at, or to
 * every peer, each through a set_tunnel (id: this peer's short id, the other's shifted
 * by 12; TTL 64, DF, no checksum) and the VXLAN vport. From a tunnel: the id names the
 * sending peer (extractPeers), whose MAC the source is; a frame for this peer goes to the
 * bridge. No actions: the frame and its like are dropped.
 */
function weaverUpcall(_dp: Datapath, odp: OdpDatapath, _inPort: SimLink, skb: Skb, tunnel: TunnelKey | undefined): OdpAction[] | undefined {
  const router = weaveRouterIn(odp.dev.netns);
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
function weaverCapture(dp: Datapath, router: WeaveRouter, dev: SimLink, skb: Skb): void {
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
  dp.trace.routerCaptured(dev, skb, dstPeer === undefined);
  for (const peer of to) process(dp, router, { srcPeer: me, dstPeer: peer, frame: Buffer.from(f) }, skb, dstPeer === undefined);
}

/**
 * curriedForward.Process: what the forwarder to a peer does with a frame. With DF: it goes
 * if it fits the forwarder's MTU; too big, a flooded one is dropped and any other answered
 * with ICMP "fragmentation needed" (the MTU as the forwarder knows it) from its destination,
 * as if the destination had sent it. Without DF: through the UDP socket, which the kernel
 * fragments (the fragmentation test showed the path passes fragments).
 */
function process(dp: Datapath, router: WeaveRouter, frame: SleeveFrame, cause: Skb, broadcast: boolean): void {
  const fwd = forwarderTo(router, frame.dstPeer);
  const dev = router.device() ?? [...router.ns.links.values()][0];
  if (!fwd.contact) return dp.trace.drop(cause, dev, `sleeve: cannot forward frame yet - awaiting contact with ${frame.dstPeer}`);
  const tooBig = frame.frame.length > fwd.mtu + ETHERNET_HEADER_LEN;
  if (dontFragment(frame.frame)) {
    if (!tooBig) return aggregate(dp, router, fwd, 'df', frame, cause);
    if (broadcast) return dp.trace.tunnelTooBig(dev, cause, `sleeve: dropping too big DF broadcast frame: len ${frame.frame.length}: MTU=${fwd.mtu}`);
    return fragNeeded(dp, router, frame.frame, fwd.mtu, cause);
  }
  if (fwd.stackFrag || !isIpv4(frame.frame)) return aggregate(dp, router, fwd, 'udp', frame, cause);
  if (!tooBig) return aggregate(dp, router, fwd, 'df', frame, cause);
  dp.trace.drop(cause, dev, 'sleeve: fragmenting in user space (before the fragmentation test is acknowledged) is not modelled');
}

/** The router's forwarder to a peer; one the mesh's checks have not set up (a router given its peers directly) has contact, the default MTU and trusts the stack. */
function forwarderTo(router: WeaveRouter, peer: string): SleeveForwarder {
  let fwd = router.forwarders.get(peer);
  if (!fwd) router.forwarders.set(peer, (fwd = { mtu: SLEEVE_DEFAULT_MTU, maxPayload: SLEEVE_DEFAULT_MTU - UDP_OVERHEAD, contact: true, stackFrag: true }));
  return fwd;
}

/**
 * The aggregator: frames queue while the forwarder is busy; when it runs it puts as many in
 * one datagram as fit the forwarder's payload (up to 100), each behind its frame header,
 * and sends the rest in the next ones.
 */
function aggregate(dp: Datapath, router: WeaveRouter, fwd: SleeveForwarder, sender: 'df' | 'udp', frame: SleeveFrame, cause: Skb): void {
  const queue = fwd.queued ??= { df: [], udp: [] };
  queue[sender].push({ frame, cause });
  if (queue[sender].length > 1) return;
  dp.clock.call(USERSPACE_NS + cause.lag, aggregateAndSend, dp, router, { fwd, sender });
}

function aggregateAndSend(dp: Datapath, router: WeaveRouter, job: { fwd: SleeveForwarder; sender: 'df' | 'udp' }): void {
  const { fwd, sender } = job;
  const queued = fwd.queued![sender];
  fwd.queued![sender] = [];
  const limit = sender === 'df' ? fwd.maxPayload : MAX_UDP_PACKET_SIZE - UDP_OVERHEAD;
  let batch: Queued[] = [], total = PEER_NAME_LEN;
  const flush = () => {
    if (batch.length) forward(dp, router, batch, sender === 'df');
    batch = [];
    total = PEER_NAME_LEN;
  };
  for (const q of queued) {
    const size = SLEEVE_FRAME_OVERHEAD + q.frame.frame.length;
    // A frame joins the datagram while it fits the path; else the datagram goes and the frame starts the next one.
    if (batch.length > 0 && (batch.length >= MAX_BATCH || total + size > fwd.maxPayload)) flush();
    if (batch.length === 0 && total + size > limit) {
      dp.trace.tunnelTooBig(router.device() ?? [...router.ns.links.values()][0], q.cause, `sleeve: dropping too big frame during forwarding: frame len ${q.frame.frame.length}, limit ${limit}`);
      continue;
    }
    batch.push(q);
    total += size;
  }
  flush();
}

/** One datagram to the peer's port 6783: this router's name, then the frames. */
function forward(dp: Datapath, router: WeaveRouter, batch: Queued[], df: boolean): void {
  const first = batch[0];
  const peer = router.config.peers.find((p) => p.name === first.frame.dstPeer);
  if (!peer) return;
  const payload = emitSleeve({ sender: router.config.name, frames: batch.map((q) => q.frame) });
  const ns = router.ns;
  const cause = first.cause;
  const r = route(ns, peer.address);
  if (!r || r.local) return dp.trace.drop(cause, router.device() ?? r?.dev ?? [...ns.links.values()][0], `no route to peer ${peer.address}`);
  const udpLength = UDP_HEADER_LEN + payload.length;
  const outer: Ipv4Repr = { src: r.src, dst: peer.address, protocol: IPPROTO_UDP, ttl: 64, id: dp.nextIpId(), tos: 0, dontFragment: df, moreFragments: false, fragmentOffset: 0, options: NO_OPTIONS };
  const note = weaveNotes.sleeveOut(peer.name, peer.address, router.port, batch.length);
  const mtu = pathMtu(ns, peer.address, r.dev, dp.clock.now);
  if (IPV4_MIN_HEADER_LEN + udpLength > mtu) {
    // The UDP socket (IP_PMTUDISC_DONT) leaves a datagram over the route's MTU in fragments; the DF sender's never gets here (maxPayload).
    const datagram = emitUdp({ srcPort: router.port, dstPort: router.port }, payload, { src: r.src, dst: peer.address });
    // The forwarder runs after the frame's lag was waited out (aggregate's clock event): its datagrams start with none.
    return ipFragment(dp, ns, r, mtu, outer, datagram, new Skb(first.frame.frame, cause.flow, cause.dir, note, 'weaver'));
  }
  const n = resolvedNeigh(dp, ns, r);
  const b = newDatagram(dp, r, n, outer, udpLength);
  const at = b.length - udpLength;
  writeUdpHeader({ srcPort: router.port, dstPort: router.port }, b, at, payload.length);
  b.set(payload, at + UDP_HEADER_LEN);
  // The UDP socket's datagrams carry a checksum; the raw socket's DF ones are built without (gopacket, ComputeChecksums false).
  if (!df) putBe16(b, at + 6, internetChecksum(b, at, at + udpLength, pseudoHeaderSum(addrBytes(r.src), addrBytes(peer.address), IPPROTO_UDP, udpLength)) || 0xffff);
  ipTransmit(dp, ns, r, n, new Skb(b, cause.flow, cause.dir, note, 'weaver'));
}

/**
 * makeICMPFragNeeded: from the frame's destination to its source, "fragmentation needed"
 * with the forwarder's MTU, quoting the IP header and 8 bytes (id 0, no DF, TTL 64), given
 * to the router's own consumer, which injects it toward the sender's container.
 */
function fragNeeded(dp: Datapath, router: WeaveRouter, frame: Buffer, mtu: number, cause: Skb): void {
  const ip = ETHERNET_HEADER_LEN;
  const quoted = Buffer.from(frame.subarray(ip, ip + (frame[ip] & 0x0f) * 4 + 8));
  const icmp = emitIcmp({ kind: 'unreachable', type: ICMP_DEST_UNREACHABLE, code: UNREACH_FRAG_NEEDED, mtu, quoted });
  const reply = emitEthernet({ src: macToString(frame, 0), dst: macToString(frame, 6), ethertype: ETHERTYPE_IPV4 },
    emitIpv4({ src: ipv4PacketDstString(frame, ip), dst: ipv4PacketSrc(frame, ip), protocol: IPPROTO_ICMP, ttl: 64, id: 0, tos: frame[ip + 1], dontFragment: false, moreFragments: false, fragmentOffset: 0, options: NO_OPTIONS }, icmp));
  const dev = router.device();
  if (!dev) return;
  dp.trace.tunnelTooBig(dev, cause, `sleeve: frame of ${frame.length} bytes over the forwarder's MTU ${mtu} + 14, DF set: ICMP fragmentation needed sent back`);
  const back = new Skb(reply, cause.flow, cause.dir === 'request' ? 'reply' : 'request');
  dp.clock.call(USERSPACE_NS + cause.lag, injectTask, dp, dev, back);
}

/**
 * sleeve's readUDP and handleForwardedPacket: a datagram at the router's port 6783. Each
 * frame's source MAC is put at the peer that captured it, and the frame is injected on the
 * capture device; a broadcast would be relayed on along the broadcast tree, which in a full
 * mesh gives the receiving peer no next hop.
 */
function weaverReceive(dp: Datapath, router: WeaveRouter, uplink: SimLink, skb: Skb, l4: number, udpEnd: number): void {
  const p = parseSleeve(bufferView(skb.frame).subarray(l4 + UDP_HEADER_LEN, udpEnd));
  if (!p.ok) return dp.trace.drop(skb, uplink, p.error);
  const known = router.config.peers.find((peer) => peer.name === p.repr.sender);
  if (!known) return dp.trace.drop(skb, uplink, `sleeve: a datagram from ${p.repr.sender}, no peer of this router`);
  dp.trace.routerReceived(uplink, skb, weaveNotes.sleeveIn(known.name, ipv4PacketSrc(skb.frame, ETHERNET_HEADER_LEN), be16(skb.frame, l4)));
  for (const f of p.repr.frames) {
    if (f.dstPeer !== router.config.name) continue;
    if (isSpecial(f.frame)) {
      router.onSpecial.get(p.repr.sender)?.(Buffer.from(f.frame));
      continue;
    }
    router.macs.set(macToString(f.frame, 6), f.srcPeer);
    const dev = router.device();
    if (!dev) continue;
    const inject = new Skb(Buffer.from(f.frame), skb.flow, skb.dir);
    dp.clock.call(USERSPACE_NS + skb.lag, injectTask, dp, dev, inject);
  }
}

function injectTask(dp: Datapath, dev: SimLink, skb: Skb): void {
  dp.trace.routerInjected(dev, skb);
  devXmit(dp, dev, skb);
}

/** IsSpecial: both MACs zero and a zero length in the type field, as weave writes its own frames. */
function isSpecial(f: Uint8Array): boolean {
  for (let i = 0; i < ETHERNET_HEADER_LEN; i++) if (f[i] !== 0) return false;
  return true;
}

function isIpv4(f: Uint8Array): boolean {
  return f.length >= ETHERNET_HEADER_LEN + IPV4_MIN_HEADER_LEN && be16(f, 12) === ETHERTYPE_IPV4;
}

/** The frame is IPv4 with DF set (the ethernet decoder's DF()). */
function dontFragment(f: Uint8Array): boolean {
  return f.length >= ETHERNET_HEADER_LEN + IPV4_MIN_HEADER_LEN && be16(f, 12) === ETHERTYPE_IPV4 && (f[ETHERNET_HEADER_LEN + 6] & 0x40) !== 0;
}

function addrBytes(ip: string): Uint8Array {
  const n = ipv4ToNumber(ip);
  return Uint8Array.of(n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
}
