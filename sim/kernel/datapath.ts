/**
 * Moves real frames through the simulated kernels: an IPv4 stack per namespace (routes,
 * ARP, fragmentation and reassembly, ICMP echo), veth pairs, a learning bridge, the vxlan
 * device (proxy ARP, FDB, encapsulation on its UDP socket), and the underlay segment.
 * Every device a traced frame crosses adds a hop, numbered by the seed's eight steps.
 */
import { SimKernel } from './kernel';
import { BridgeFdbEntry, Neigh, ResolvedRoute, SimLink, SimNetns, topologyGeneration, VxlanFdbEntry, VxlanState } from './objects';
import { EventQueue } from './clock';
import { HopSite, SimHop } from './hop';
import { Flow, HopEvent, MAX_HOPS_PER_FLOW } from '../trace/types';
import { BROADCAST_MAC, ipv4ToNumber, ipv4ToString, macToString, ZERO_MAC } from '../wire/addr';
import { emitEthernet, ETHERNET_HEADER_LEN, ETHERTYPE_ARP, ETHERTYPE_IPV4, writeEthernetHeader } from '../wire/ethernet';
import { ARP_REPLY, ARP_REQUEST, emitArp, parseArp } from '../wire/arp';
import {
  emitIpv4, IPPROTO_ICMP, IPPROTO_UDP, Ipv4Header, ipv4HeaderLength, ipv4HeaderProblem, ipv4PacketChecksumOk, ipv4PacketDst, ipv4PacketEnd, ipv4PacketHeaderLength,
  ipv4PacketIsFragment, ipv4PacketSrc, Ipv4Repr, parseIpv4, writeIpv4Header,
} from '../wire/ipv4';
import { emitIcmp, ICMP_ECHO_REPLY, ICMP_ECHO_REQUEST, ICMP_HEADER_LEN, parseIcmp } from '../wire/icmp';
import { internetChecksum } from '../wire/checksum';
import { be16, be32, bufferView, putBe16 } from '../wire/bytes';
import { parseUdp, UDP_HEADER_LEN, writeUdpHeader } from '../wire/udp';
import { VXLAN_FLAG_I, VXLAN_HEADER_LEN, vxlanVni, writeVxlanHeader } from '../wire/vxlan';
import { maskOf } from '../model/ipam';
import { PcapWriter } from '../pcap/writer';
import { EPOCH_NS } from '../model/world';

/**
 * A frame in flight and what it belongs to (like an skb and its mark). A class, so every
 * skb has one shape and the hot paths stay monomorphic.
 */
export class Skb {
  constructor(
    readonly frame: Uint8Array,
    readonly flow: Flow | undefined,
    readonly dir: 'request' | 'reply',
    /** What a hop should say about this frame (step 4's "FDB mac -> vtep"). */
    readonly note?: string,
  ) {}

  /**
   * Processing time spent ahead of the clock: devices Linux runs to completion in one
   * softirq (bridge forwarding, vxlan encapsulation) add their delay here instead of
   * scheduling an event; the next queue (veth backlog, the wire, a gro cell) waits it out.
   */
  lag = 0;
}

/** A change ipSend makes to the payload as it copies it into the frame (the echo reply's type and checksum). */
type PayloadRewrite = (b: Uint8Array, at: number, length: number) => void;

/**
 * Where the datapath's frames live: plain Uint8Array views into 64 KiB slabs, which cost a
 * third of a Buffer each (a flood makes four per echo). Slabs are never reused, since a kept
 * hop holds its frame for the life of the trace; the GC frees a slab with its last frame.
 */
class FrameSlab {
  private slab = new ArrayBuffer(SLAB_BYTES);
  private used = 0;

  alloc(length: number): Uint8Array {
    if (this.used + length > this.slab.byteLength) {
      this.slab = new ArrayBuffer(Math.max(SLAB_BYTES, length));
      this.used = 0;
    }
    const frame = new Uint8Array(this.slab, this.used, length);
    this.used = (this.used + length + 7) & ~7;
    return frame;
  }
}

const SLAB_BYTES = 1 << 16;

/** Default delays; a ping over the overlay takes a few tenths of a millisecond. */
export const DEFAULT_DELAYS = { veth: 2_000, bridge: 3_000, vxlan: 9_000, stack: 6_000, underlay: 45_000, dns: 25_000 };

export interface EchoSocket {
  onReply(seq: number, ttl: number, bytes: number, from: string): void;
  onError(seq: number, message: string): void;
}

const NO_OPTIONS = Buffer.alloc(0);
const NEIGH_RETRIES = 3;
/** The bridge's default ageing_time (300 s; `ip -d link` shows it in centiseconds). */
const BRIDGE_AGEING_NS = 300_000_000_000;
const NEIGH_RETRY_NS = 1_000_000_000;
const REASSEMBLY_TIMEOUT_NS = 30_000_000_000;

export class Datapath {
  readonly clock = new EventQueue();
  readonly flows: Flow[] = [];
  delays = { ...DEFAULT_DELAYS };
  /** Capture writers per capture point, when --pcap-dir is given. */
  pcaps?: Map<string, PcapWriter>;
  /** Hop events recorded (for benchmarks). */
  hopCount = 0;
  /** Open ping sockets per namespace, by ICMP identifier. */
  private readonly echoSockets = new Map<SimNetns, Map<number, EchoSocket>>();
  private readonly pending = new Map<string, { skbs: Skb[]; tries: number; onFail: (skb: Skb) => void }>();
  private readonly fragments = new Map<string, { parts: Map<number, Buffer>; total?: number; header: Ipv4Header; skb: Skb }>();
  private readonly frames = new FrameSlab();
  private ipId = 0x1c46;
  private ephemeralPort = 40000;
  private pingIdent = 0x26;

  constructor(readonly kernel: SimKernel) {}

  // ── tracing ────────────────────────────────────────────────────────────────

  /** Where a namespace sits in Docker's layout decides the step numbers of its hops. */
  role(ns: SimNetns): 'host' | 'overlay' | 'sandbox' {
    return ns.role.get();
  }

  private readonly sites = new Map<string, HopSite>();

  private site(step: number | undefined, dir: Skb['dir'], host: string, netns: string, device: string, event: HopEvent): HopSite {
    const key = `${step}|${dir}|${host}|${netns}|${device}|${event}`;
    let s = this.sites.get(key);
    if (!s) this.sites.set(key, (s = { step, dir, host, netns, device, event }));
    return s;
  }

  private linkSite(link: SimLink, step: number | undefined, dir: Skb['dir'], event: HopEvent): HopSite {
    const m = link.hopSites;
    const key = ((step ?? 15) * 2 + (dir === 'reply' ? 1 : 0)) * 64 + eventIndex(event);
    let s = m.get(key);
    // Devices are renamed and moved during setup, never while traffic flows; the name is read once.
    if (!s || s.device !== link.name || s.netns !== link.netns.name) m.set(key, (s = this.site(step, dir, link.netns.host.name, link.netns.name, link.name, event)));
    return s;
  }

  record(skb: Skb, step: number | undefined, link: SimLink, event: HopEvent, note?: string): void {
    const at = this.clock.now + skb.lag;
    if (this.pcaps) this.capture(link, skb.frame, at);
    const flow = skb.flow;
    if (!flow) return;
    if (this.keeps(flow)) this.keep(flow, this.linkSite(link, step, skb.dir, event), skb.frame, note, undefined, at);
    else this.countOnly(flow);
  }

  /** Queues a frame for `task(dev, skb)` after `delayNs` and whatever processing time the frame has run ahead. */
  private later(skb: Skb, delayNs: number, task: (dev: SimLink, skb: Skb) => void, dev: SimLink): void {
    const wait = delayNs + skb.lag;
    skb.lag = 0;
    this.clock.call(wait, task, dev, skb);
  }

  // Queued work, bound once: the event queue calls these with their arguments (no closure per packet).
  private readonly devRecvTask = (dev: SimLink, skb: Skb): void => this.devRecv(dev, skb);
  private readonly localInputTask = (lo: SimLink, skb: Skb): void => this.ipInput(lo.netns, lo, skb);
  private readonly l3InputTask = (dev: SimLink, skb: Skb): void => this.l3Input(dev, skb);
  private readonly vxlanRecvTask = (vx: SimLink, skb: Skb, vtep: string): void => this.vxlanRecv(vx, skb, vtep);
  /** A frame reaches another host's interface; `from` is set when it carries VXLAN (step 5 is recorded). */
  private readonly segmentArriveTask = (skb: Skb, to: SimLink, from: SimLink | undefined): void => {
    if (from) this.recordSegment(skb, from, to);
    this.devRecv(to, skb);
  };

  private countOnly(flow: Flow): void {
    this.hopCount++;
    flow.hopsNotKept = (flow.hopsNotKept ?? 0) + 1;
  }

  private keeps(flow: Flow): boolean {
    return flow.hops.length < MAX_HOPS_PER_FLOW;
  }

  /** Every hop is counted; a flow keeps the first MAX_HOPS_PER_FLOW whole. */
  private keep(flow: Flow, site: HopSite, frame: Uint8Array, note?: string, reason?: string, at = this.clock.now): void {
    if (!this.keeps(flow)) return this.countOnly(flow);
    this.hopCount++;
    flow.hops.push(new SimHop(site, at, frame, note, reason));
  }

  private capture(link: SimLink, frame: Uint8Array, at: number): void {
    if (!this.pcaps || link.type === 'bridge') return;
    const key = `${link.netns.host.name}-${link.netns.name}-${link.name}`;
    let w = this.pcaps.get(key);
    if (!w) this.pcaps.set(key, (w = new PcapWriter('nano')));
    w.add(EPOCH_NS + BigInt(at), frame);
  }

  drop(skb: Skb, step: number | undefined, link: SimLink, reason: string): void {
    if (skb.flow) this.keep(skb.flow, this.site(step, skb.dir, link.netns.host.name, link.netns.name, link.name, 'drop'), skb.frame, undefined, reason, this.clock.now + skb.lag);
  }

  newFlow(kind: Flow['kind'], from: string, to: string): Flow {
    const flow: Flow = { id: `${kind === 'icmp-echo' ? 'ping' : kind}-${this.flows.filter((f) => f.kind === kind).length + 1}`, kind, from, to, hops: [] };
    this.flows.push(flow);
    return flow;
  }

  // ── IPv4 stack ─────────────────────────────────────────────────────────────

  /** Client ports for the stub resolver (from the ephemeral range). */
  nextEphemeralPort(): number {
    this.ephemeralPort = this.ephemeralPort >= 60999 ? 32768 : this.ephemeralPort + 1;
    return this.ephemeralPort;
  }

  /** ICMP echo identifiers, one per ping run (iputils uses its pid). */
  nextPingIdent(): number {
    this.pingIdent = (this.pingIdent + 1) & 0xffff;
    return this.pingIdent;
  }

  nextIpId(): number {
    this.ipId = (this.ipId + 1) & 0xffff;
    return this.ipId;
  }

  isLocal(ns: SimNetns, ip: string): boolean {
    return this.isLocalAddress(ns, ipv4ToNumber(ip) | 0);
  }

  /** An address of one of the namespace's devices, or loopback's 127/8 (`addr` as ipv4PacketDst reads it). */
  private isLocalAddress(ns: SimNetns, addr: number): boolean {
    return addr >>> 24 === 127 || ns.localAddrs.get().has(addr);
  }

  /** The route to a destination, resolved once per topology generation. */
  route(ns: SimNetns, dst: string): ResolvedRoute | undefined {
    const cache = ns.dstCache.get();
    let r = cache.get(dst);
    if (r === undefined && !cache.has(dst)) cache.set(dst, (r = this.resolveRoute(ns, dst)));
    return r;
  }

  /** Longest-prefix match over connected routes of up links and static routes. */
  private resolveRoute(ns: SimNetns, dst: string): ResolvedRoute | undefined {
    const found = this.longestPrefixMatch(ns, dst);
    if (!found) return undefined;
    const nexthop = found.via ?? dst;
    return { ...found, nexthop };
  }

  private longestPrefixMatch(ns: SimNetns, dst: string): Omit<ResolvedRoute, 'nexthop'> | undefined {
    const lo = ns.links.get('lo')!;
    if (this.isLocal(ns, dst)) return { dev: lo, src: dst.startsWith('127.') ? '127.0.0.1' : dst, local: true };
    const d = ipv4ToNumber(dst);
    let best: Omit<ResolvedRoute, 'nexthop'> | undefined;
    let bestLen = -1;
    for (const l of ns.links.values()) {
      if (!l.up || l.type === 'loopback') continue;
      for (const a of l.addrs) {
        const m = maskOf(a.prefixLength);
        if (a.prefixLength > bestLen && ((ipv4ToNumber(a.ip) & m) >>> 0) === ((d & m) >>> 0)) {
          best = { dev: l, src: a.ip, local: false };
          bestLen = a.prefixLength;
        }
      }
    }
    for (const r of ns.routes) {
      const len = r.dst === 'default' ? 0 : Number(r.dst.split('/')[1]);
      const base = r.dst === 'default' ? 0 : ipv4ToNumber(r.dst.split('/')[0]);
      const m = maskOf(len);
      if (len > bestLen && ((base & m) >>> 0) === ((d & m) >>> 0)) {
        const dev = ns.links.get(r.dev);
        if (!dev?.up) continue;
        best = { dev, via: r.via, src: dev.addrs[0]?.ip ?? '0.0.0.0', local: false };
        bestLen = len;
      }
    }
    return best;
  }

  /**
   * Sends an IPv4 datagram from a namespace: route, fragment to the device MTU, resolve
   * the next hop, transmit. Returns an error text for the sender (as the socket would).
   */
  ipSend(ns: SimNetns, ip: Omit<Ipv4Repr, 'src' | 'options'> & { src?: string }, payload: Uint8Array, flow: Flow | undefined, dir: Skb['dir'], rewrite?: PayloadRewrite, lag = 0): string | undefined {
    const r = this.route(ns, ip.dst);
    if (!r) return 'Network is unreachable';
    // The rewrite happens as the payload is copied into a single frame; otherwise on a copy first.
    if (rewrite && (r.local || 20 + payload.length > r.dev.mtu)) {
      payload = Buffer.from(payload);
      rewrite(payload, 0, payload.length);
      rewrite = undefined;
    }
    const repr: Ipv4Repr = { src: ip.src ?? r.src, dst: ip.dst, protocol: ip.protocol, ttl: ip.ttl, id: ip.id, tos: ip.tos, dontFragment: ip.dontFragment, moreFragments: ip.moreFragments, fragmentOffset: ip.fragmentOffset, options: NO_OPTIONS };
    if (r.local) {
      const frame = emitEthernet({ src: ZERO_MAC, dst: ZERO_MAC, ethertype: ETHERTYPE_IPV4 }, emitIpv4(repr, payload));
      const skb = new Skb(frame, flow, dir);
      skb.lag = lag;
      const dns = dnsDirection(frame);
      this.record(skb, dns ? 0 : undefined, r.dev, dns ?? 'send');
      this.later(skb, this.delays.stack, this.localInputTask, r.dev);
      return undefined;
    }
    const mtu = r.dev.mtu;
    if (20 + payload.length <= mtu) {
      const n = this.resolvedNeigh(ns, r);
      const b = this.newDatagram(r, n, repr, payload.length);
      const at = b.length - payload.length;
      b.set(payload, at);
      rewrite?.(b, at, payload.length);
      const skb = new Skb(b, flow, dir);
      skb.lag = lag;
      this.ipTransmit(ns, r, n, skb);
      return undefined;
    }
    if (repr.dontFragment) return `message too long, mtu=${mtu}`;
    const chunk = Math.floor((mtu - 20) / 8) * 8;
    for (let off = 0; off < payload.length; off += chunk) {
      const part = payload.subarray(off, Math.min(off + chunk, payload.length));
      const frag = emitIpv4({ ...repr, fragmentOffset: off, moreFragments: off + chunk < payload.length }, part);
      const skb = new Skb(frag, flow, dir);
      skb.lag = lag;
      this.neighOutput(ns, r, skb);
    }
    return undefined;
  }

  /** Resolves the next hop's MAC (ARP) and transmits; `skb.frame` holds the IP datagram here. */
  private neighOutput(ns: SimNetns, r: ResolvedRoute, skb: Skb): void {
    const { dev, nexthop } = r;
    const n = ns.neigh.get(dev.name, nexthop);
    if (n?.mac && n.state !== 'INCOMPLETE') {
      this.l2Send(dev, n.mac, ETHERTYPE_IPV4, skb);
      return;
    }
    const pkey = `${ns.host.name}|${ns.name}|${dev.name}|${nexthop}`;
    let p = this.pending.get(pkey);
    if (p) {
      p.skbs.push(skb);
      return;
    }
    p = { skbs: [skb], tries: 0, onFail: (s) => this.neighFailed(ns, dev, s) };
    this.pending.set(pkey, p);
    ns.neigh.set({ ip: nexthop, dev: dev.name, state: 'INCOMPLETE' });
    this.arpSolicit(ns, dev, nexthop, skb);
  }

  private arpSolicit(ns: SimNetns, dev: SimLink, target: string, cause: Skb): void {
    const pkey = `${ns.host.name}|${ns.name}|${dev.name}|${target}`;
    const p = this.pending.get(pkey);
    if (!p) return;
    if (p.tries >= NEIGH_RETRIES) {
      this.pending.delete(pkey);
      ns.neigh.delete(dev.name, target);
      for (const s of p.skbs) p.onFail(s);
      return;
    }
    p.tries++;
    const src = dev.addrs[0]?.ip ?? '0.0.0.0';
    const arp = emitArp({ opcode: ARP_REQUEST, senderMac: dev.mac, senderIp: src, targetMac: ZERO_MAC, targetIp: target });
    const frame = emitEthernet({ src: dev.mac, dst: BROADCAST_MAC, ethertype: ETHERTYPE_ARP }, arp);
    const request = new Skb(frame, p.tries === 1 ? cause.flow : undefined, cause.dir);
    if (p.tries === 1) request.lag = cause.lag;
    this.devXmit(dev, request);
    this.clock.schedule(NEIGH_RETRY_NS, () => this.arpSolicit(ns, dev, target, cause));
  }

  /** Queued datagrams whose next hop never answered: the sender hears "Destination Host Unreachable". */
  private neighFailed(ns: SimNetns, dev: SimLink, skb: Skb): void {
    const h = parseIpv4(bufferView(skb.frame));
    if (!h.ok || h.repr.protocol !== IPPROTO_ICMP) return;
    const icmp = parseIcmp(h.payload);
    if (!icmp.ok || icmp.repr.kind !== 'echo') return;
    this.echoSockets.get(ns)?.get(icmp.repr.ident)?.onError(icmp.repr.seq, `From ${h.repr.src} icmp_seq=${icmp.repr.seq} Destination Host Unreachable`);
    void dev;
  }

  private l2Send(dev: SimLink, dstMac: string, ethertype: number, skb: Skb): void {
    const frame = emitEthernet({ src: dev.mac, dst: dstMac, ethertype }, skb.frame);
    const out = new Skb(frame, skb.flow, skb.dir, skb.note);
    out.lag = skb.lag;
    this.devXmit(dev, out);
  }

  // ── devices ────────────────────────────────────────────────────────────────

  /** A frame leaves a device. */
  devXmit(dev: SimLink, skb: Skb): void {
    if (!dev.up) return this.drop(skb, undefined, dev, 'link down');
    if (dev.type === 'veth') {
      const peer = dev.peer!;
      const role = this.role(dev.netns);
      const arp = arpOpcode(skb.frame);
      if (role === 'sandbox') this.record(skb, 1, dev, arp === ARP_REQUEST ? 'arp-request' : arp === ARP_REPLY ? 'arp-reply' : 'send');
      // An ARP reply heading back to the container that asked is still step 1's resolution.
      else if (role === 'overlay') this.record(skb, arp === ARP_REPLY ? 1 : 8, dev, 'bridge-forward');
      else this.record(skb, undefined, dev, 'send');
      this.later(skb, this.delays.veth, this.devRecvTask, peer);
    } else if (dev.type === 'bridge') {
      this.bridgeForward(dev, undefined, skb);
    } else if (dev.type === 'vxlan') {
      this.vxlanXmit(dev, skb);
    } else if (dev.type === 'underlay') {
      const encap = isVxlanFrame(skb.frame, dev.netns);
      const arp = arpOpcode(skb.frame);
      this.record(skb, encap ? 4 : undefined, dev, encap ? 'encap' : arp === ARP_REQUEST ? 'arp-request' : arp === ARP_REPLY ? 'arp-reply' : 'send', encap ? skb.note : undefined);
      this.segmentXmit(dev, skb, encap);
    } else if (dev.type === 'loopback') {
      this.later(skb, this.delays.stack, this.devRecvTask, dev);
    }
  }

  /** A frame arrives on a device. */
  devRecv(dev: SimLink, skb: Skb): void {
    if (!dev.up) return this.drop(skb, undefined, dev, 'link down');
    if (dev.master) {
      if (this.role(dev.netns) === 'overlay' && dev.type === 'veth') this.record(skb, 2, dev, 'veth-cross');
      this.bridgeForward(dev.master, dev, skb);
      return;
    }
    if (!accepts(dev, skb.frame)) return;
    if (this.role(dev.netns) === 'sandbox' && dev.type === 'veth') {
      const arp = arpOpcode(skb.frame);
      this.record(skb, arp === ARP_REPLY ? 1 : 8, dev, arp === ARP_REPLY ? 'arp-reply' : arp === ARP_REQUEST ? 'arp-request' : 'deliver');
    }
    this.l3Input(dev, skb);
  }

  private l3Input(dev: SimLink, skb: Skb): void {
    const ethertype = be16(skb.frame, 12);
    if (ethertype === ETHERTYPE_ARP) this.arpInput(dev.netns, dev, skb);
    else if (ethertype === ETHERTYPE_IPV4) this.ipInput(dev.netns, dev, skb);
  }

  private bridgeForward(br: SimLink, inPort: SimLink | undefined, skb: Skb): void {
    const f = skb.frame;
    const src = macToString(f, 6), dst = macToString(f, 0);
    if (inPort) this.learn(br, src, inPort);
    if (dst === BROADCAST_MAC) {
      this.flood(br, inPort, skb);
      if (inPort) this.clock.schedule(this.delays.bridge + skb.lag, () => this.l3Input(br, new Skb(f, undefined, skb.dir)));
      return;
    }
    if (dst === br.mac && inPort) {
      this.later(skb, this.delays.bridge, this.l3InputTask, br);
      return;
    }
    const e = this.bridgeLookup(br, dst);
    if (e && !e.local) {
      // Forwarding runs to completion (br_forward → dev_queue_xmit): no event, just its time.
      if (e.port !== inPort && e.port.up) {
        skb.lag += this.delays.bridge;
        this.portXmit(e.port, skb, false);
      }
    } else if (!e) {
      this.flood(br, inPort, skb);
    }
  }

  /** A copy to every other port that is up (br_flood). */
  private flood(br: SimLink, inPort: SimLink | undefined, skb: Skb): void {
    const f = skb.frame;
    for (const port of br.ports) {
      if (port === inPort || !port.up) continue;
      // Flooded copies stay traced only where they will be taken: vxlan0, or the port whose container accepts them.
      const traced = port.type === 'vxlan' || (port.peer !== undefined && accepts(port.peer, f));
      const copy = new Skb(f, traced ? skb.flow : undefined, skb.dir);
      this.clock.schedule(this.delays.bridge + skb.lag, () => this.portXmit(port, copy, true));
    }
  }

  /** A learned entry not refreshed for the bridge's ageing time is gone (Linux's br_fdb_cleanup). */
  private bridgeLookup(br: SimLink, mac: string): BridgeFdbEntry | undefined {
    const e = br.fdb.get(mac);
    if (e && !e.local && this.clock.now - e.updatedNs > BRIDGE_AGEING_NS) {
      br.fdb.delete(mac);
      return undefined;
    }
    return e;
  }

  /** The same for vxlan's learned remote entries, after the device's `ageing` seconds. */
  private vxlanLookup(vx: VxlanState, mac: string): VxlanFdbEntry | undefined {
    const e = vx.fdb.get(mac);
    if (e?.updatedNs !== undefined && !e.permanent && this.clock.now - e.updatedNs > vx.ageing * 1e9) {
      vx.fdb.delete(mac);
      return undefined;
    }
    return e;
  }

  /** The bridge learns (or refreshes) where a source MAC lives; its own ports' addresses stay put. */
  private learn(br: SimLink, mac: string, port: SimLink): void {
    const e = br.fdb.get(mac);
    if (e?.local) return;
    if (e?.port === port) e.updatedNs = this.clock.now;
    else br.fdb.set(mac, { port, local: false, updatedNs: this.clock.now });
  }

  private portXmit(port: SimLink, skb: Skb, flood: boolean): void {
    if (port.type === 'vxlan') {
      this.record(skb, 3, port, flood ? 'bridge-flood' : 'bridge-forward');
      this.vxlanXmit(port, skb);
    } else {
      this.devXmit(port, skb);
    }
  }

  private vxlanXmit(vx: SimLink, skb: Skb): void {
    const v = vx.vxlan!;
    const f = skb.frame;
    const ethertype = be16(f, 12);
    const dst = macToString(f, 0);
    if (ethertype === ETHERTYPE_ARP && v.proxy) {
      const arp = parseArp(bufferView(f).subarray(ETHERNET_HEADER_LEN));
      if (!arp.ok || arp.repr.opcode !== ARP_REQUEST) return;
      const n = vx.netns.neigh.get(vx.name, arp.repr.targetIp);
      if (!n?.mac) return this.drop(skb, 3, vx, `no neighbour entry for ${arp.repr.targetIp} (l3miss)`);
      const reply = emitEthernet({ src: n.mac, dst: arp.repr.senderMac, ethertype: ETHERTYPE_ARP },
        emitArp({ opcode: ARP_REPLY, senderMac: n.mac, senderIp: arp.repr.targetIp, targetMac: arp.repr.senderMac, targetIp: arp.repr.senderIp }));
      const r = new Skb(reply, skb.flow, skb.dir);
      this.clock.schedule(this.delays.vxlan + skb.lag, () => {
        this.record(r, 3, vx, 'arp-proxy-reply', `vxlan0 proxy: ${arp.repr.targetIp} is at ${n.mac} (static neighbour)`);
        this.bridgeForward(vx.master!, vx, r);
      });
      return;
    }
    const e = this.vxlanLookup(v, dst) ?? v.fdb.get(ZERO_MAC);
    if (!e) return this.drop(skb, 4, vx, `no fdb entry for ${dst} (l2miss)`);
    // vxlan_xmit encapsulates and hands the packet to the underlay in the same call.
    skb.lag += this.delays.vxlan;
    this.encapsulate(vx, e, f, skb);
  }

  /**
   * Wraps a frame in VXLAN, UDP and IPv4 and sends it from the device's socket namespace
   * (outer DF clear, TTL 64, UDP checksum absent, source port from the inner flow).
   */
  private encapsulate(vx: SimLink, e: VxlanFdbEntry, inner: Uint8Array, skb: Skb): void {
    const v = vx.vxlan!;
    const r = this.route(v.linkNetns, e.dst);
    if (!r || r.local) return this.drop(skb, 4, vx, `no route to ${e.dst}`);
    const outer: Ipv4Repr = { src: r.src, dst: e.dst, protocol: IPPROTO_UDP, ttl: 64, id: this.nextIpId(), tos: 0, dontFragment: false, moreFragments: false, fragmentOffset: 0, options: NO_OPTIONS };
    const udpLength = UDP_HEADER_LEN + VXLAN_HEADER_LEN + inner.length;
    const n = this.resolvedNeigh(v.linkNetns, r);
    const b = this.newDatagram(r, n, outer, udpLength);
    const at = b.length - udpLength;
    writeUdpHeader({ srcPort: vxlanSourcePort(inner), dstPort: v.dstport }, b, at, udpLength - UDP_HEADER_LEN);
    writeVxlanHeader({ flags: VXLAN_FLAG_I, groupPolicyId: 0, vni: v.vni }, b, at + UDP_HEADER_LEN);
    b.set(inner, at + UDP_HEADER_LEN + VXLAN_HEADER_LEN);
    const out = new Skb(b, skb.flow, skb.dir, skb.flow && this.keeps(skb.flow) ? `FDB ${macToString(inner, 0)} -> ${e.dst}` : undefined);
    out.lag = skb.lag;
    this.ipTransmit(v.linkNetns, r, n, out);
  }

  /** The next hop's neighbour entry, when ARP has resolved it. */
  private resolvedNeigh(ns: SimNetns, r: ResolvedRoute): Neigh | undefined {
    const n = ns.neigh.get(r.dev.name, r.nexthop);
    return n?.mac !== undefined && n.state !== 'INCOMPLETE' ? n : undefined;
  }

  /**
   * A datagram that fits the device, built whole in one buffer: with the next hop's MAC
   * known, behind its Ethernet header (the frame leaves at once); otherwise bare, to wait
   * for ARP. The caller writes the payload into the buffer's last `payloadLength` bytes.
   */
  private newDatagram(r: ResolvedRoute, n: Neigh | undefined, ip: Ipv4Repr, payloadLength: number): Uint8Array {
    const l2 = n ? ETHERNET_HEADER_LEN : 0;
    const b = this.frames.alloc(l2 + ipv4HeaderLength(ip) + payloadLength);
    if (n) b.set(this.l2Header(r, n.mac!), 0);
    writeIpv4Header(ip, b, l2, payloadLength);
    return b;
  }

  private ipTransmit(ns: SimNetns, r: ResolvedRoute, n: Neigh | undefined, skb: Skb): void {
    if (n) this.devXmit(r.dev, skb);
    else this.neighOutput(ns, r, skb);
  }

  private l2Header(r: ResolvedRoute, dstMac: string): Buffer {
    if (r.l2Header?.dstMac !== dstMac) {
      const bytes = Buffer.alloc(ETHERNET_HEADER_LEN);
      writeEthernetHeader({ src: r.dev.mac, dst: dstMac, ethertype: ETHERTYPE_IPV4 }, bytes, 0);
      r.l2Header = { dstMac, bytes };
    }
    return r.l2Header.bytes;
  }

  private segmentXmit(dev: SimLink, skb: Skb, encap: boolean): void {
    const dst = macToString(skb.frame, 0);
    const wait = this.delays.underlay + skb.lag;
    skb.lag = 0;
    const from = encap ? dev : undefined;
    if (dst !== BROADCAST_MAC) {
      const to = this.kernel.underlayByMac.get().get(dst);
      if (to && to !== dev) this.clock.call(wait, this.segmentArriveTask, skb, to, from);
      return;
    }
    for (const other of this.kernel.underlay.values()) {
      if (other !== dev) this.clock.call(wait, this.segmentArriveTask, skb, other, from);
    }
  }

  private readonly segmentRequest = this.site(5, 'request', 'underlay', 'underlay', 'segment', 'underlay');
  private readonly segmentReply = this.site(5, 'reply', 'underlay', 'underlay', 'segment', 'underlay');
  private readonly segmentNotes = new Map<SimLink, Map<SimLink, string>>();

  /** Step 5: the underlay segment between two hosts' interfaces. */
  private recordSegment(skb: Skb, from: SimLink, to: SimLink): void {
    if (!skb.flow) return;
    let notes = this.segmentNotes.get(from);
    if (!notes) this.segmentNotes.set(from, (notes = new Map()));
    let note = notes.get(to);
    if (!note) notes.set(to, (note = `${from.netns.host.name}:${from.name} → ${to.netns.host.name}:${to.name}`));
    this.keep(skb.flow, skb.dir === 'request' ? this.segmentRequest : this.segmentReply, skb.frame, note);
  }

  // ── input ──────────────────────────────────────────────────────────────────

  private arpInput(ns: SimNetns, dev: SimLink, skb: Skb): void {
    const p = parseArp(bufferView(skb.frame).subarray(ETHERNET_HEADER_LEN));
    if (!p.ok) return;
    const a = p.repr;
    const ours = dev.addrs.some((x) => x.ip === a.targetIp);
    if (a.opcode === ARP_REQUEST && ours) {
      ns.neigh.set({ ip: a.senderIp, dev: dev.name, mac: a.senderMac, state: 'REACHABLE' });
      const reply = emitEthernet({ src: dev.mac, dst: a.senderMac, ethertype: ETHERTYPE_ARP },
        emitArp({ opcode: ARP_REPLY, senderMac: dev.mac, senderIp: a.targetIp, targetMac: a.senderMac, targetIp: a.senderIp }));
      const out = new Skb(reply, skb.flow, skb.dir);
      out.lag = skb.lag;
      this.devXmit(dev, out);
    } else if (a.opcode === ARP_REPLY) {
      ns.neigh.set({ ip: a.senderIp, dev: dev.name, mac: a.senderMac, state: 'REACHABLE' });
      const pkey = `${ns.host.name}|${ns.name}|${dev.name}|${a.senderIp}`;
      const p2 = this.pending.get(pkey);
      if (p2) {
        this.pending.delete(pkey);
        for (const s of p2.skbs) {
          // They leave now, with the reply that freed them.
          s.lag = skb.lag;
          this.l2Send(dev, a.senderMac, ETHERTYPE_IPV4, s);
        }
      }
    }
  }

  /** ip_rcv and ip_local_deliver: the header is read in place, as routers do, not parsed into a representation. */
  ipInput(ns: SimNetns, dev: SimLink, skb: Skb): void {
    const f = skb.frame, ip = ETHERNET_HEADER_LEN;
    if (ipv4HeaderProblem(f, ip) !== undefined || !ipv4PacketChecksumOk(f, ip)) return this.drop(skb, undefined, dev, 'bad IPv4 header');
    if (!this.isLocalAddress(ns, ipv4PacketDst(f, ip))) return this.drop(skb, undefined, dev, 'not for this namespace (ip_forward is 0)');
    if (ipv4PacketIsFragment(f, ip)) return this.reassemble(ns, dev, skb);
    this.deliver(ns, dev, skb, ip + ipv4PacketHeaderLength(f, ip), ipv4PacketEnd(f, ip));
  }

  /** ip_defrag: the fragments of one datagram are kept until they join into one frame, which is delivered. */
  private reassemble(ns: SimNetns, dev: SimLink, skb: Skb): void {
    const p = parseIpv4(bufferView(skb.frame), ETHERNET_HEADER_LEN);
    if (!p.ok) return;
    const h = p.repr, payload = p.payload;
    const key = `${ns.host.name}|${ns.name}|${h.src}|${h.dst}|${h.id}|${h.protocol}`;
    let r = this.fragments.get(key);
    if (!r) {
      this.fragments.set(key, (r = { parts: new Map(), header: h, skb }));
      this.clock.schedule(REASSEMBLY_TIMEOUT_NS, () => this.fragments.delete(key));
    }
    r.parts.set(h.fragmentOffset, Buffer.from(payload));
    if (!h.moreFragments) r.total = h.fragmentOffset + payload.length;
    if (r.total === undefined) return;
    let have = 0;
    for (const [off, part] of [...r.parts].sort((a, b) => a[0] - b[0])) {
      if (off !== have) return;
      have += part.length;
    }
    if (have !== r.total) return;
    this.fragments.delete(key);
    const whole = Buffer.concat([...r.parts].sort((a, b) => a[0] - b[0]).map(([, b]) => b));
    const datagram = emitIpv4({ ...r.header, moreFragments: false, fragmentOffset: 0 }, whole);
    const joined = new Skb(Buffer.concat([skb.frame.subarray(0, ETHERNET_HEADER_LEN), datagram]), skb.flow, skb.dir);
    joined.lag = skb.lag;
    this.deliver(ns, dev, joined, ETHERNET_HEADER_LEN + ipv4PacketHeaderLength(datagram, 0), joined.frame.length);
  }

  /** The transport layer of a datagram for this namespace; its header sits at the frame's offset 14, its payload at [l4, end). */
  private deliver(ns: SimNetns, dev: SimLink, skb: Skb, l4: number, end: number): void {
    const f = skb.frame, ip = ETHERNET_HEADER_LEN;
    const protocol = f[ip + 9];
    if (protocol === IPPROTO_ICMP) {
      // Echo request and reply only; ident and seq follow type, code and checksum (RFC 792).
      if (end - l4 < ICMP_HEADER_LEN) return;
      const type = f[l4];
      if (type === ICMP_ECHO_REQUEST) {
        // icmp_echo answers within the same softirq: the reply leaves after the stack's time, no event.
        // The kernel's ICMP socket does not set DF on echo replies.
        this.ipSend(ns, { dst: ipv4PacketSrc(f, ip), src: ipv4ToString(f, ip + 16), protocol: IPPROTO_ICMP, ttl: 64, id: this.nextIpId(), tos: 0, dontFragment: false, moreFragments: false, fragmentOffset: 0 },
          f.subarray(l4, end), skb.flow, 'reply', echoReplyInPlace, skb.lag + this.delays.stack);
      } else if (type === ICMP_ECHO_REPLY) {
        this.echoSockets.get(ns)?.get(be16(f, l4 + 4))?.onReply(be16(f, l4 + 6), f[ip + 8], end - l4, ipv4PacketSrc(f, ip));
      }
      return;
    }
    if (protocol === IPPROTO_UDP) {
      if (end - l4 < UDP_HEADER_LEN) return;
      // The datagram ends where its length field says (never past the IP payload).
      const udpEnd = l4 + Math.min(be16(f, l4 + 4), end - l4);
      const vxlans = udpEnd - l4 >= UDP_HEADER_LEN + VXLAN_HEADER_LEN ? ns.vxlanSockets.get().get(be16(f, l4 + 2)) : undefined;
      for (const vx of vxlans ?? []) {
        if (!vx.up || vxlanVni(f, l4 + UDP_HEADER_LEN) !== vx.vxlan!.vni) continue;
        this.record(skb, 6, dev, 'udp-deliver', skb.flow && this.keeps(skb.flow) ? this.udpDeliverNote(vx) : undefined);
        const inner = new Skb(f.subarray(l4 + UDP_HEADER_LEN + VXLAN_HEADER_LEN, udpEnd), skb.flow, skb.dir);
        const vtep = ipv4PacketSrc(f, ip);
        this.clock.call(this.delays.vxlan + skb.lag, this.vxlanRecvTask, vx, inner, vtep);
        return;
      }
      const u = parseUdp(bufferView(f).subarray(l4, end));
      const h = parseIpv4(bufferView(f), ip);
      if (!u.ok || !h.ok) return;
      this.udpHandlers.get(`${ns.host.name}|${ns.name}|${h.repr.dst}|${u.repr.dstPort}`)?.(h.repr, u.repr.srcPort, u.payload, skb);
    }
  }

  private readonly udpNotes = new Map<SimLink, { generation: number; note: string }>();

  private udpDeliverNote(vx: SimLink): string {
    const generation = topologyGeneration();
    let n = this.udpNotes.get(vx);
    if (n?.generation !== generation) {
      const v = vx.vxlan!;
      this.udpNotes.set(vx, (n = { generation, note: `UDP ${v.dstport} → ${vx.name} in ${vx.netns.name} (VNI ${v.vni})` }));
    }
    return n.note;
  }

  private vxlanRecv(vx: SimLink, skb: Skb, vtep: string): void {
    const v = vx.vxlan!;
    if (v.learning) {
      const src = macToString(skb.frame, 6);
      const e = v.fdb.get(src);
      if (e && !e.permanent && e.dst === vtep) e.updatedNs = this.clock.now;
      else if (!e?.permanent) v.fdb.set(src, { dst: vtep, permanent: false, updatedNs: this.clock.now });
    }
    this.record(skb, 7, vx, 'decap');
    this.bridgeForward(vx.master!, vx, skb);
  }

  /**
   * A DF datagram over the device MTU never leaves: the kernel reports ICMP fragmentation
   * needed to the sending socket. The drop hop carries that ICMP message, quoting the
   * datagram's header and first 8 payload bytes.
   */
  recordLocalError(ns: SimNetns, dev: SimLink, payload: Buffer, dst: string, flow: Flow, reason: string): void {
    const src = dev.addrs[0]?.ip ?? '0.0.0.0';
    const datagram = emitIpv4({ src, dst, protocol: IPPROTO_ICMP, ttl: 64, id: this.ipId, tos: 0, dontFragment: true, moreFragments: false, fragmentOffset: 0, options: NO_OPTIONS }, payload);
    const icmp = emitIcmp({ kind: 'unreachable', type: 3, code: 4, mtu: dev.mtu, quoted: datagram.subarray(0, 28) });
    const frame = emitEthernet({ src: dev.mac, dst: dev.mac, ethertype: ETHERTYPE_IPV4 },
      emitIpv4({ src, dst: src, protocol: IPPROTO_ICMP, ttl: 64, id: this.nextIpId(), tos: 0xc0, dontFragment: false, moreFragments: false, fragmentOffset: 0, options: NO_OPTIONS }, icmp));
    this.keep(flow, this.site(1, 'request', ns.host.name, ns.name, dev.name, 'drop'), frame,
      `ICMP fragmentation needed (mtu ${dev.mtu}) to the sending socket`, `DF set and ${datagram.length} bytes > mtu ${dev.mtu}: ${reason}`);
  }

  // ── sockets ────────────────────────────────────────────────────────────────

  readonly udpHandlers = new Map<string, (h: Ipv4Header, srcPort: number, payload: Buffer, skb: Skb) => void>();

  openEcho(ns: SimNetns, ident: number, socket: EchoSocket): () => void {
    let sockets = this.echoSockets.get(ns);
    if (!sockets) this.echoSockets.set(ns, (sockets = new Map()));
    sockets.set(ident, socket);
    return () => sockets.delete(ident);
  }
}

const EVENTS: HopEvent[] = ['send', 'arp-request', 'arp-proxy-reply', 'arp-reply', 'veth-cross', 'bridge-forward', 'bridge-flood', 'encap', 'underlay', 'udp-deliver', 'decap', 'deliver', 'dns-query', 'dns-answer', 'fragment', 'drop'];
const EVENT_INDEX = Object.fromEntries(EVENTS.map((e, i) => [e, i])) as Record<HopEvent, number>;

function eventIndex(e: HopEvent): number {
  return EVENT_INDEX[e];
}

/** Turns a copy of an ICMP echo request into its reply: type 0, checksum over the message anew. */
function echoReplyInPlace(b: Uint8Array, at: number, length: number): void {
  b[at] = ICMP_ECHO_REPLY;
  b[at + 1] = 0;
  putBe16(b, at + 2, 0);
  putBe16(b, at + 2, internetChecksum(b, at, at + length));
}

/** UDP to port 53 is a query, from port 53 an answer (step 0, on lo). */
function dnsDirection(f: Uint8Array): 'dns-query' | 'dns-answer' | undefined {
  if (f[14 + 9] !== IPPROTO_UDP) return undefined;
  const udp = 14 + (f[14] & 15) * 4;
  if (be16(f, udp + 2) === 53) return 'dns-query';
  if (be16(f, udp) === 53) return 'dns-answer';
  return undefined;
}

function arpOpcode(f: Uint8Array): number | undefined {
  return f.length >= 22 && be16(f, 12) === ETHERTYPE_ARP ? be16(f, 20) : undefined;
}

/** Whether a device's stack takes a frame: addressed to it, or an ARP request for one of its addresses. */
function accepts(dev: SimLink, f: Uint8Array): boolean {
  if (dev.type === 'loopback') return true;
  const dst = macToString(f, 0);
  if (dst === dev.mac) return true;
  if (dst !== BROADCAST_MAC) return false;
  if (arpOpcode(f) !== ARP_REQUEST) return true;
  const target = `${f[38]}.${f[39]}.${f[40]}.${f[41]}`;
  return dev.addrs.some((a) => a.ip === target);
}

/** An Ethernet frame carrying UDP to one of the host's vxlan ports. */
function isVxlanFrame(f: Uint8Array, ns: SimNetns): boolean {
  if (f.length < 14 + 20 + 8 || be16(f, 12) !== ETHERTYPE_IPV4 || f[14 + 9] !== IPPROTO_UDP) return false;
  return ns.vxlanSockets.get().has(be16(f, 14 + (f[14] & 15) * 4 + 2));
}

/**
 * The outer UDP source port: a hash of the inner flow folded into the ephemeral range, as
 * Linux's udp_flow_src_port does. The hash is symmetric, so both directions use one port.
 */
export function vxlanSourcePort(inner: Uint8Array): number {
  let a = 0, b = 0, proto = 0;
  if (inner.length >= 34 && be16(inner, 12) === ETHERTYPE_IPV4) {
    a = be32(inner, 26) >>> 0;
    b = be32(inner, 30) >>> 0;
    proto = inner[23];
  } else {
    a = be32(inner, 0) >>> 0;
    b = be32(inner, 6) >>> 0;
  }
  const lo = Math.min(a, b), hi = Math.max(a, b);
  let h = Math.imul(lo ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(hi ^ 0xc2b2ae35, 0x27d4eb2f) ^ proto;
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d) >>> 0;
  return 32768 + (h % (60999 - 32768 + 1));
}
