/**
 * The tracer: it looks at frames at device points, as a sniffer on each device would, and
 * records the hops of traced flows (and writes captures when asked). Each device point
 * calls its tap; the tap says where the device sits and what the frame is, and the
 * overlay's path model (sim/trace/paths/overlay.ts) gives the step.
 */
import { EventQueue } from '../clock';
import { SimLink, SimNetns, topologyGeneration } from '../objects';
import { HopSite, SimHop } from '../hop';
import { Flow, HopEvent, MAX_HOPS_PER_FLOW } from '../../trace/types';
import { PcapRecorder } from '../../pcap/record';
import { EPOCH_NS } from '../../model/world';
import { ARP_REPLY, ARP_REQUEST } from '../../wire/arp';
import { IPPROTO_UDP } from '../../wire/ipv4';
import { be16 } from '../../wire/bytes';
import { DNS_PORT } from '../../wire/dns';
import { ETHERNET_HEADER_LEN } from '../../wire/ethernet';
import { macToString } from '../../wire/addr';
import { arpOpcode, Skb } from './skb';
import { DROP_STEP, FrameKind, OVERLAY_STEP, overlayNotes, Placed, placeOnOverlay, Sighting } from '../../trace/paths/overlay';
import { isVxlanFrame } from './vxlan';

/** Where each kind of frame falls at a device, by kind: [IP, ARP request, ARP reply]. */
type ByKind = readonly [Placed, Placed, Placed];
const KINDS = ['ip', 'arp-request', 'arp-reply'] as const;
/** The frame's kind at a veth, as an index into ByKind. */
function kindIndex(arp: number | undefined): 0 | 1 | 2 {
  return arp === ARP_REQUEST ? 1 : arp === ARP_REPLY ? 2 : 0;
}

/** Off the path, a frame is still a hop: what it is, without a step. */
function offPath(arp: number | undefined): HopEvent {
  return arp === ARP_REQUEST ? 'arp-request' : arp === ARP_REPLY ? 'arp-reply' : 'send';
}

// Sightings the taps make for every frame, kept whole (a flood asks millions of times).
const sighting = (role: Sighting['role'], way: Sighting['way'], frame: FrameKind, more: Partial<Sighting> = {}): Placed => placeOnOverlay({ role, way, frame, ...more })!;
const byKind = (role: Sighting['role'], way: Sighting['way']): ByKind => [sighting(role, way, KINDS[0]), sighting(role, way, KINDS[1]), sighting(role, way, KINDS[2])];
const PLACE = {
  sent: byKind('container', 'out'),
  taken: byKind('container', 'in'),
  towardContainer: byKind('bridge-port', 'in'),
  intoBridge: sighting('bridge-port', 'out', 'ip'),
  toVxlan: sighting('vxlan', 'out', 'ip'), toVxlanFlooded: sighting('vxlan', 'out', 'ip', { flood: true }),
  proxyReply: sighting('vxlan', 'in', 'arp-reply', { proxied: true }),
  encap: sighting('uplink', 'out', 'ip', { encapsulated: true }),
  segment: sighting('segment', 'out', 'ip', { encapsulated: true }),
  udpDeliver: sighting('uplink', 'in', 'ip', { encapsulated: true }),
  decap: sighting('vxlan', 'in', 'ip'),
  dnsQuery: sighting('lo', 'out', 'dns-query'), dnsAnswer: sighting('lo', 'in', 'dns-answer'),
};

export class Tracer {
  readonly flows: Flow[] = [];
  /** Capture writers per capture point, when --pcap-dir is given. */
  pcaps?: Map<string, PcapRecorder>;
  /** Hop events recorded (for benchmarks). */
  hopCount = 0;
  private readonly sites = new Map<string, HopSite>();

  constructor(private readonly clock: EventQueue) {}

  newFlow(kind: Flow['kind'], from: string, to: string): Flow {
    const flow: Flow = { id: `${kind === 'icmp-echo' ? 'ping' : kind}-${this.flows.filter((f) => f.kind === kind).length + 1}`, kind, from, to, hops: [] };
    this.flows.push(flow);
    return flow;
  }

  // ── taps: what each device point sees, placed on the overlay's path ────────

  /** A datagram handed to lo: the embedded DNS's query or answer. */
  localSend(lo: SimLink, skb: Skb): void {
    const dns = dnsDirection(skb.frame);
    if (dns) this.place(skb, lo, dns === 'dns-query' ? PLACE.dnsQuery : PLACE.dnsAnswer);
    else this.record(skb, undefined, lo, 'send');
  }

  /** A veth transmits: a container sending, or the overlay's bridge port handing a frame toward its container. */
  vethXmit(dev: SimLink, skb: Skb): void {
    const role = dev.netns.role.get();
    const arp = arpOpcode(skb.frame);
    if (role === 'sandbox') this.place(skb, dev, PLACE.sent[kindIndex(arp)]);
    else if (role === 'overlay') this.place(skb, dev, PLACE.towardContainer[kindIndex(arp)], undefined, dev.master?.name);
    else this.record(skb, undefined, dev, 'send');
  }

  /** A bridge port receives: the overlay's end of a container's veth. */
  portRecv(dev: SimLink, skb: Skb): void {
    if (dev.type === 'veth' && dev.netns.role.get() === 'overlay') this.place(skb, dev, PLACE.intoBridge);
  }

  /** A frame a device's stack takes: in a sandbox, the container receiving. */
  stackRecv(dev: SimLink, skb: Skb): void {
    if (dev.type !== 'veth' || dev.netns.role.get() !== 'sandbox') return;
    this.place(skb, dev, PLACE.taken[kindIndex(arpOpcode(skb.frame))]);
  }

  /** The bridge hands a frame to the vxlan device (`br0 → vxlan0`). */
  bridgeToVxlan(vx: SimLink, skb: Skb, flood: boolean): void {
    this.place(skb, vx, flood ? PLACE.toVxlanFlooded : PLACE.toVxlan, undefined, vx.master?.name);
  }

  /** vxlan's arp_reduce answered a request from its neighbour table. */
  arpReduced(vx: SimLink, reply: Skb, ip: string, mac: string): void {
    this.place(reply, vx, PLACE.proxyReply, overlayNotes.arpReduce(vx.name, ip, mac));
  }

  /** arp_reduce found no neighbour entry (an l3miss): the request dies there. */
  arpReduceMiss(vx: SimLink, skb: Skb, ip: string): void {
    this.drop(skb, DROP_STEP['arp-reduce'], vx, `no neighbour entry for ${ip} (l3miss)`);
  }

  /** vxlan_xmit could not encapsulate (no FDB entry, no route to the VTEP). */
  encapFailed(vx: SimLink, skb: Skb, reason: string): void {
    this.drop(skb, DROP_STEP.encap, vx, reason);
  }

  /** What the encapsulated frame's hop says: which FDB entry sent it where. */
  encapNote(skb: Skb, inner: Uint8Array, vtep: string): string | undefined {
    return skb.flow && this.keeps(skb.flow) ? overlayNotes.encap(macToString(inner, 0), vtep) : undefined;
  }

  /** The host's underlay interface transmits: an encapsulated frame is on the path, anything else is the host's own. */
  underlayXmit(dev: SimLink, skb: Skb, encap: boolean): void {
    if (encap) this.place(skb, dev, PLACE.encap, skb.note, skb.encapsulatedBy);
    else this.record(skb, undefined, dev, offPath(arpOpcode(skb.frame)));
  }

  private readonly segmentRequest = this.site(PLACE.segment.step, 'request', 'underlay', 'underlay', 'segment', PLACE.segment.event);
  private readonly segmentReply = this.site(PLACE.segment.step, 'reply', 'underlay', 'underlay', 'segment', PLACE.segment.event);
  private readonly segmentNotes = new Map<SimLink, Map<SimLink, string>>();

  /** The underlay segment between two hosts' interfaces (seen as it arrives). */
  segment(skb: Skb, from: SimLink, to: SimLink): void {
    if (!skb.flow) return;
    let notes = this.segmentNotes.get(from);
    if (!notes) this.segmentNotes.set(from, (notes = new Map()));
    let note = notes.get(to);
    if (!note) notes.set(to, (note = overlayNotes.segment(`${from.netns.host.name}:${from.name}`, `${to.netns.host.name}:${to.name}`)));
    this.keep(skb.flow, skb.dir === 'request' ? this.segmentRequest : this.segmentReply, skb.frame, note);
  }

  /** UDP hands a datagram to a vxlan socket (seen as its first fragment when it came in pieces). */
  udpDeliver(dev: SimLink, skb: Skb, vx: SimLink): void {
    if (skb.arrivedAs) skb = new Skb(skb.arrivedAs, skb.flow, skb.dir);
    this.place(skb, dev, PLACE.udpDeliver, skb.flow && this.keeps(skb.flow) ? this.udpDeliverNote(vx) : undefined);
  }

  /** vxlan_rcv took the inner frame off. */
  decap(vx: SimLink, skb: Skb): void {
    this.place(skb, vx, PLACE.decap);
  }

  /**
   * A netfilter hook dropped the packet (`ip`: where its IPv4 header starts), at the place
   * on the path where the hook ran: a host's uplink taking VXLAN in (a sniffer there saw it
   * arrive first) or sending it out, a container taking a packet in or sending it.
   */
  netfilterDrop(skb: Skb, dev: SimLink, ip: number, incoming: boolean, reason: string): void {
    const f = skb.frame;
    let placed: Placed | undefined;
    if (dev.type === 'underlay') {
      const vxlan = f[ip + 9] === IPPROTO_UDP && dev.netns.vxlanSockets.get().has(be16(f, ip + (f[ip] & 15) * 4 + 2));
      if (vxlan && incoming) this.place(skb, dev, PLACE.udpDeliver);
      if (vxlan) placed = incoming ? PLACE.udpDeliver : PLACE.encap;
    } else if (dev.type === 'veth' && dev.netns.role.get() === 'sandbox') {
      placed = incoming ? PLACE.taken[0] : PLACE.sent[0];
    }
    this.drop(skb, placed?.step, dev, reason);
  }

  /**
   * The device's qdisc dropped the frame (netem's loss, tbf's full queue) before the driver
   * had it, so no sniffer on the device saw it: placed where it was leaving, a host's
   * uplink sending VXLAN (step 4) or a container sending (step 1).
   */
  qdiscDrop(dev: SimLink, skb: Skb, reason: string): void {
    let placed: Placed | undefined;
    if (dev.type === 'underlay') placed = isVxlanFrame(skb.frame, dev.netns) ? PLACE.encap : undefined;
    else if (dev.type === 'veth' && dev.netns.role.get() === 'sandbox') placed = PLACE.sent[kindIndex(arpOpcode(skb.frame))];
    this.drop(skb, placed?.step, dev, reason);
  }

  /**
   * A frame reaches a device that is down: the underlay interface of the receiving host at
   * step 6, a container's eth0 at step 8, the overlay's end of its veth at step 2 (where
   * emu finds the capture point down).
   */
  recvDown(dev: SimLink, skb: Skb): void {
    const role = dev.netns.role.get();
    const step = dev.type === 'underlay' ? (isVxlanFrame(skb.frame, dev.netns) ? OVERLAY_STEP.udpDeliver : undefined) : role === 'sandbox' ? OVERLAY_STEP.deliver : role === 'overlay' && dev.type === 'veth' ? OVERLAY_STEP.veth : undefined;
    this.drop(skb, step, dev, 'link down');
  }

  /** vxlan0 would not fit the packet into the underlay's MTU and its DF forbids fragments: it dies at the encapsulation. */
  tunnelTooBig(vx: SimLink, skb: Skb, reason: string): void {
    this.drop(skb, DROP_STEP.encap, vx, reason);
  }

  /** vxlan0's own ICMP "fragmentation needed", received on the device as if the peer had sent it (seen where a decapsulated frame is). */
  pmtuReply(vx: SimLink, skb: Skb, mtu: number): void {
    this.place(skb, vx, PLACE.decap, `${vx.name} answers for the destination: fragmentation needed (mtu ${mtu})`);
  }

  /** vxlan0 found no route out because the underlay device that would carry it is down. */
  uplinkDown(dev: SimLink, skb: Skb): void {
    this.drop(skb, DROP_STEP.encap, dev, 'link down');
  }

  /**
   * The bridge would forward to a port without carrier (the port is down, or the container
   * end of its veth is): br_forward skips a disabled port, so the frame dies there, shown
   * at the device that is down (a container's eth0 is step 8).
   */
  portDown(port: SimLink, skb: Skb): void {
    const down = port.up ? port.peer ?? port : port;
    const role = down.netns.role.get();
    this.drop(skb, role === 'sandbox' || role === 'overlay' ? OVERLAY_STEP.deliver : undefined, down, 'link down');
  }

  /** The sending socket's own ICMP error (a DF datagram over the MTU): it never leaves the socket. */
  localError(ns: SimNetns, dev: SimLink, flow: Flow, frame: Uint8Array, note: string, reason: string): void {
    this.keep(flow, this.site(DROP_STEP.socket, 'request', ns.host.name, ns.name, dev.name, 'drop'), frame, note, reason);
  }

  private readonly udpNotes = new Map<SimLink, { generation: number; note: string }>();

  private udpDeliverNote(vx: SimLink): string {
    const generation = topologyGeneration();
    let n = this.udpNotes.get(vx);
    if (n?.generation !== generation) {
      const v = vx.vxlan!;
      this.udpNotes.set(vx, (n = { generation, note: overlayNotes.udpDeliver(v.dstport, vx.name, v.vni, vx.netns.name) }));
    }
    return n.note;
  }

  // ── recording ──────────────────────────────────────────────────────────────

  private site(step: number | undefined, dir: Skb['dir'], host: string, netns: string, device: string, event: HopEvent, actor?: string): HopSite {
    const key = `${step}|${dir}|${host}|${netns}|${device}|${event}|${actor ?? ''}`;
    let s = this.sites.get(key);
    if (!s) this.sites.set(key, (s = { step, dir, host, netns, device, event, ...(actor ? { actor } : {}) }));
    return s;
  }

  private linkSite(link: SimLink, step: number | undefined, dir: Skb['dir'], event: HopEvent, actor?: string): HopSite {
    const m = link.hopSites;
    const key = ((step ?? 15) * 2 + (dir === 'reply' ? 1 : 0)) * 64 + EVENT_INDEX[event];
    let s = m.get(key);
    // Devices are renamed and moved during setup, never while traffic flows; the name is read once.
    if (!s || s.device !== link.name || s.netns !== link.netns.name || s.actor !== actor) m.set(key, (s = this.site(step, dir, link.netns.host.name, link.netns.name, link.name, event, actor)));
    return s;
  }

  private place(skb: Skb, link: SimLink, at: Placed, note?: string, actor?: string): void {
    this.record(skb, at.step, link, at.event, note, actor);
  }

  /** `actor`: the device that acted and handed the frame to `link` (the bridge; the vxlan device that encapsulated). */
  private record(skb: Skb, step: number | undefined, link: SimLink, event: HopEvent, note?: string, actor?: string): void {
    const at = this.clock.now + skb.lag;
    if (this.pcaps) this.capture(link, skb.frame, at);
    const flow = skb.flow;
    if (!flow) return;
    if (this.keeps(flow)) this.keep(flow, this.linkSite(link, step, skb.dir, event, actor), skb.frame, note, undefined, at);
    else this.countOnly(flow);
  }

  /** A traced frame that goes no further, and why. */
  drop(skb: Skb, step: number | undefined, link: SimLink, reason: string): void {
    if (skb.flow) this.keep(skb.flow, this.site(step, skb.dir, link.netns.host.name, link.netns.name, link.name, 'drop'), skb.frame, undefined, reason, this.clock.now + skb.lag);
  }

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
    if (!w) this.pcaps.set(key, (w = new PcapRecorder('nano')));
    w.add(EPOCH_NS + BigInt(at), frame);
  }
}

const EVENTS: HopEvent[] = ['send', 'arp-request', 'arp-proxy-reply', 'arp-reply', 'veth-cross', 'bridge-forward', 'bridge-flood', 'encap', 'underlay', 'udp-deliver', 'decap', 'deliver', 'dns-query', 'dns-answer', 'fragment', 'drop'];
const EVENT_INDEX = Object.fromEntries(EVENTS.map((e, i) => [e, i])) as Record<HopEvent, number>;

/** UDP to the DNS port is a query, from it an answer. */
function dnsDirection(f: Uint8Array): 'dns-query' | 'dns-answer' | undefined {
  const ip = ETHERNET_HEADER_LEN;
  if (f[ip + 9] !== IPPROTO_UDP) return undefined;
  const udp = ip + (f[ip] & 15) * 4;
  if (be16(f, udp + 2) === DNS_PORT) return 'dns-query';
  if (be16(f, udp) === DNS_PORT) return 'dns-answer';
  return undefined;
}
