/**
 * The tracer: it looks at frames at device points, as a sniffer on each device would, and
 * records the hops of traced flows (and writes captures when asked). The taps below are
 * the only place in the kernel where the overlay's step numbers are written: each device
 * point calls its tap, and the tap decides the step from where the device sits.
 */
import { EventQueue } from '../clock';
import { SimLink, SimNetns, topologyGeneration } from '../objects';
import { HopSite, SimHop } from '../hop';
import { Flow, HopEvent, MAX_HOPS_PER_FLOW } from '../../trace/types';
import { PcapWriter } from '../../pcap/writer';
import { EPOCH_NS } from '../../model/world';
import { ARP_REPLY, ARP_REQUEST } from '../../wire/arp';
import { IPPROTO_UDP } from '../../wire/ipv4';
import { be16 } from '../../wire/bytes';
import { DNS_PORT } from '../../wire/dns';
import { ETHERNET_HEADER_LEN } from '../../wire/ethernet';
import { macToString } from '../../wire/addr';
import { arpOpcode, Skb } from './skb';

export class Tracer {
  readonly flows: Flow[] = [];
  /** Capture writers per capture point, when --pcap-dir is given. */
  pcaps?: Map<string, PcapWriter>;
  /** Hop events recorded (for benchmarks). */
  hopCount = 0;
  private readonly sites = new Map<string, HopSite>();

  constructor(private readonly clock: EventQueue) {}

  newFlow(kind: Flow['kind'], from: string, to: string): Flow {
    const flow: Flow = { id: `${kind === 'icmp-echo' ? 'ping' : kind}-${this.flows.filter((f) => f.kind === kind).length + 1}`, kind, from, to, hops: [] };
    this.flows.push(flow);
    return flow;
  }

  // ── taps: where the overlay's eight steps are seen ─────────────────────────

  /** A datagram handed to lo: the embedded DNS's query and answer are step 0. */
  localSend(lo: SimLink, skb: Skb): void {
    const dns = dnsDirection(skb.frame);
    this.record(skb, dns ? 0 : undefined, lo, dns ?? 'send');
  }

  /** A veth transmits: from a sandbox, step 1 (or its ARP); from the overlay's bridge port toward a container, step 8. */
  vethXmit(dev: SimLink, skb: Skb): void {
    const role = dev.netns.role.get();
    const arp = arpOpcode(skb.frame);
    if (role === 'sandbox') this.record(skb, 1, dev, arp === ARP_REQUEST ? 'arp-request' : arp === ARP_REPLY ? 'arp-reply' : 'send');
    // An ARP reply heading back to the container that asked is still step 1's resolution.
    else if (role === 'overlay') this.record(skb, arp === ARP_REPLY ? 1 : 8, dev, 'bridge-forward', undefined, dev.master?.name);
    else this.record(skb, undefined, dev, 'send');
  }

  /** A bridge port receives: the overlay's end of a container's veth is step 2. */
  portRecv(dev: SimLink, skb: Skb): void {
    if (dev.type === 'veth' && dev.netns.role.get() === 'overlay') this.record(skb, 2, dev, 'veth-cross');
  }

  /** A frame a device's stack takes: in a sandbox, the answer to step 1's ARP or step 8's delivery. */
  stackRecv(dev: SimLink, skb: Skb): void {
    if (dev.type !== 'veth' || dev.netns.role.get() !== 'sandbox') return;
    const arp = arpOpcode(skb.frame);
    this.record(skb, arp === ARP_REPLY ? 1 : 8, dev, arp === ARP_REPLY ? 'arp-reply' : arp === ARP_REQUEST ? 'arp-request' : 'deliver');
  }

  /** The bridge hands a frame to the vxlan device: step 3 (`br0 → vxlan0`). */
  bridgeToVxlan(vx: SimLink, skb: Skb, flood: boolean): void {
    this.record(skb, 3, vx, flood ? 'bridge-flood' : 'bridge-forward', undefined, vx.master?.name);
  }

  /** vxlan's arp_reduce answered a request from its neighbour table: step 3. */
  arpReduced(vx: SimLink, reply: Skb, ip: string, mac: string): void {
    this.record(reply, 3, vx, 'arp-proxy-reply', `${vx.name} proxy: ${ip} is at ${mac} (static neighbour)`);
  }

  /** arp_reduce found no neighbour entry (an l3miss): the request dies at step 3. */
  arpReduceMiss(vx: SimLink, skb: Skb, ip: string): void {
    this.drop(skb, 3, vx, `no neighbour entry for ${ip} (l3miss)`);
  }

  /** vxlan_xmit could not encapsulate (no FDB entry, no route to the VTEP): step 4. */
  encapFailed(vx: SimLink, skb: Skb, reason: string): void {
    this.drop(skb, 4, vx, reason);
  }

  /** What the encapsulated frame's step-4 hop says: which FDB entry sent it where. */
  encapNote(skb: Skb, inner: Uint8Array, vtep: string): string | undefined {
    return skb.flow && this.keeps(skb.flow) ? `FDB ${macToString(inner, 0)} -> ${vtep}` : undefined;
  }

  /** The host's underlay interface transmits: an encapsulated frame is step 4. */
  underlayXmit(dev: SimLink, skb: Skb, encap: boolean): void {
    const arp = arpOpcode(skb.frame);
    this.record(skb, encap ? 4 : undefined, dev, encap ? 'encap' : arp === ARP_REQUEST ? 'arp-request' : arp === ARP_REPLY ? 'arp-reply' : 'send', encap ? skb.note : undefined, encap ? skb.encapsulatedBy : undefined);
  }

  private readonly segmentRequest = this.site(5, 'request', 'underlay', 'underlay', 'segment', 'underlay');
  private readonly segmentReply = this.site(5, 'reply', 'underlay', 'underlay', 'segment', 'underlay');
  private readonly segmentNotes = new Map<SimLink, Map<SimLink, string>>();

  /** Step 5: the underlay segment between two hosts' interfaces (seen as it arrives). */
  segment(skb: Skb, from: SimLink, to: SimLink): void {
    if (!skb.flow) return;
    let notes = this.segmentNotes.get(from);
    if (!notes) this.segmentNotes.set(from, (notes = new Map()));
    let note = notes.get(to);
    if (!note) notes.set(to, (note = `${from.netns.host.name}:${from.name} → ${to.netns.host.name}:${to.name}`));
    this.keep(skb.flow, skb.dir === 'request' ? this.segmentRequest : this.segmentReply, skb.frame, note);
  }

  /** UDP hands a datagram to a vxlan socket: step 6. */
  udpDeliver(dev: SimLink, skb: Skb, vx: SimLink): void {
    this.record(skb, 6, dev, 'udp-deliver', skb.flow && this.keeps(skb.flow) ? this.udpDeliverNote(vx) : undefined);
  }

  /** vxlan_rcv took the inner frame off: step 7. */
  decap(vx: SimLink, skb: Skb): void {
    this.record(skb, 7, vx, 'decap');
  }

  /** The sending socket's own ICMP error (a DF datagram over the MTU): it never leaves step 1. */
  localError(ns: SimNetns, dev: SimLink, flow: Flow, frame: Uint8Array, note: string, reason: string): void {
    this.keep(flow, this.site(1, 'request', ns.host.name, ns.name, dev.name, 'drop'), frame, note, reason);
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
    if (!w) this.pcaps.set(key, (w = new PcapWriter('nano')));
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
