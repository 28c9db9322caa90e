/**
 * The tracer: it looks at frames at device points, as a sniffer on each device would, and
 * records the hops of traced flows (and writes captures when asked). The kernel calls it in
 * two ways only. Its packet taps (`DeviceTaps`: `xmit`, `recv`) run where a frame leaves or
 * enters a device (net/dev.ts), as Linux's ptype_all taps do; the tracer, not the driver,
 * works out from the device and the frame what the sighting is. Its tracepoints
 * (`Tracepoints`, net/tracepoints.ts) are the named kernel events that are no frame on a
 * device: a drop and its reason, arp_reduce, a vxlan miss, a socket's delivery. The path
 * model of the frame's flow (sim/trace/paths/, chosen by `flow.path`) gives the step.
 */
import { EventQueue } from '../clock';
import { SimLink, SimNetns, topologyGeneration } from '../objects';
import { HopSite, RawIpHop, SimHop } from '../hop';
import { LINKTYPE_ETHERNET, LINKTYPE_RAW } from '../../wire/dissect';
import { Flow, Hop, HopEvent, MAX_HOPS_PER_FLOW } from '../../trace/types';
import { PcapRecorder } from '../../pcap/record';
import { EPOCH_NS } from '../../model/world';
import { ARP_REPLY, ARP_REQUEST } from '../../wire/arp';
import { be16, be32 } from '../../wire/bytes';
import { DNS_HEADER_LEN } from '../../wire/dns';
import { UDP_HEADER_LEN } from '../../wire/udp';
import { VXLAN_HEADER_LEN } from '../../wire/vxlan';
import { IPPROTO_UDP, ipv4PacketDstString, ipv4PacketHeaderLength } from '../../wire/ipv4';
import { ETHERNET_HEADER_LEN } from '../../wire/ethernet';
import { ipv4ToNumber, macToString } from '../../wire/addr';
import { arpOpcode, Skb } from './skb';
import { overlayNotes } from '../../trace/paths/notes';
import { pathOf } from '../../trace/paths';
import { DropPoint, FrameKind, PathModel, Sighting } from '../../trace/paths/path';
import { isOverlayPort, isVxlanFrame } from './vxlan';
import { isIpipFrame } from './ipv4/ipip';
import type { DeviceTaps, Tracepoints } from './tracepoints';

/** A place on a flow's path, or off it (no step): what a hop records. */
interface Spot {
  readonly step: number | undefined;
  readonly event: HopEvent;
  /** Step and event as one small number, the key of a device's hop sites (see spot). */
  readonly key: number;
}

/** Each event's number in a spot's key (a Record, so a new event cannot be left out). */
const EVENT_INDEX: Record<HopEvent, number> = { 'send': 0, 'arp-request': 1, 'arp-proxy-reply': 2, 'arp-reply': 3, 'veth-cross': 4, 'bridge-forward': 5, 'bridge-flood': 6, 'encap': 7, 'underlay': 8, 'udp-deliver': 9, 'decap': 10, 'forward': 11, 'deliver': 12, 'dns-query': 13, 'dns-answer': 14, 'fragment': 15, 'drop': 16, 'miss': 17, 'peer-query': 18, 'peer-answer': 19, 'peer-programmed': 20 };
const EVENT_COUNT = Object.keys(EVENT_INDEX).length;

/**
 * A spot and its key, computed once: a hop looks its device's site up by the key, and
 * finding an event's index per hop would be a lookup by one of twenty names.
 */
function spot(step: number | undefined, event: HopEvent): Spot {
  return Object.freeze({ step, event, key: ((step ?? -1) + 1) * EVENT_COUNT + EVENT_INDEX[event] });
}

/** Where each kind of frame falls at a device, by kind: [IP, ARP request, ARP reply]. */
type ByKind = readonly [Spot, Spot, Spot];
const KINDS = ['ip', 'arp-request', 'arp-reply'] as const;
/** The frame's kind, as an index into ByKind. */
function kindIndex(arp: number | undefined): 0 | 1 | 2 {
  return arp === ARP_REQUEST ? 1 : arp === ARP_REPLY ? 2 : 0;
}

/** Off the path, a frame is still a hop: what it is, without a step (frozen like the models' places, so a tap sees one shape). */
const OFF_PATH: ByKind = [spot(undefined, 'send'), spot(undefined, 'arp-request'), spot(undefined, 'arp-reply')];

/** A host's uplink taking dockerd's traffic in: delivered to the host, on no path. */
const CONTROL_TAKEN: ByKind = [spot(undefined, 'deliver'), OFF_PATH[1], OFF_PATH[2]];

/**
 * Every sighting the taps make, placed once per path model and kept whole (a flood asks
 * millions of times): what the model does not place is recorded off the path.
 */
function placesOn(model: PathModel) {
  const sighting = (role: Sighting['role'], way: Sighting['way'], frame: FrameKind, more: Partial<Sighting> = {}): Spot => {
    const at = model.place({ role, way, frame, ...more });
    return at ? spot(at.step, at.event) : OFF_PATH[frame === 'arp-request' ? 1 : frame === 'arp-reply' ? 2 : 0];
  };
  const byKind = (role: Sighting['role'], way: Sighting['way'], more: Partial<Sighting> = {}): ByKind => [sighting(role, way, KINDS[0], more), sighting(role, way, KINDS[1], more), sighting(role, way, KINDS[2], more)];
  return {
    model,
    sent: byKind('container', 'out'),
    taken: byKind('container', 'in'),
    towardContainer: byKind('bridge-port', 'in'),
    intoBridge: byKind('bridge-port', 'out'),
    toVxlan: sighting('vxlan', 'out', 'ip'), toVxlanFlooded: sighting('vxlan', 'out', 'ip', { flood: true }),
    proxyReply: sighting('vxlan', 'in', 'arp-reply', { proxied: true }),
    encap: sighting('uplink', 'out', 'ip', { encapsulated: true }),
    // The host's own (the host path tells the sender's uplink from the other host's by the frame's way: request or reply).
    uplinkSends: byKind('uplink', 'out', { dir: 'request' }), uplinkSendsReply: byKind('uplink', 'out', { dir: 'reply' }),
    // The host routing a packet through (ip_forward): out of its uplink, or in by it (a reply on its way back).
    uplinkForwards: byKind('uplink', 'out', { forwarded: true }),
    uplinkForwardsIn: byKind('uplink', 'in', { forwarded: true }),
    uplinkTakes: byKind('uplink', 'in', { dir: 'request' }), uplinkTakesReply: byKind('uplink', 'in', { dir: 'reply' }),
    // A bridge device taking a frame up to its host's stack, or the host sending one down through it.
    bridgeUp: byKind('bridge', 'out'),
    bridgeDown: byKind('bridge', 'in'),
    segment: sighting('segment', 'out', 'ip', { encapsulated: true }),
    segmentPlain: sighting('segment', 'out', 'ip', { encapsulated: false }),
    fromHostEnd: byKind('host-end', 'out'), towardHostEnd: byKind('host-end', 'in'),
    intoTunnel: sighting('tunnel', 'out', 'ip'), outOfTunnel: sighting('tunnel', 'in', 'ip'),
    ipipEncap: sighting('uplink', 'out', 'ip', { encapsulated: true, ipip: true }),
    ipipDeliver: sighting('uplink', 'in', 'ip', { encapsulated: true, ipip: true }),
    udpDeliver: sighting('uplink', 'in', 'ip', { encapsulated: true }),
    decap: sighting('vxlan', 'in', 'ip'),
    // A user-space router (weave's): what it captures, floods or forwards to a peer; what it injects.
    routerTakes: sighting('router', 'out', 'ip'), routerFloods: sighting('router', 'out', 'ip', { flood: true }),
    routerGives: sighting('router', 'in', 'ip'),
    dnsQuery: sighting('lo', 'out', 'dns-query'), dnsAnswer: sighting('lo', 'in', 'dns-answer'),
  };
}
type Places = ReturnType<typeof placesOn>;

const placesByModel = new Map<PathModel, Places>();
function placesOf(model: PathModel): Places {
  let p = placesByModel.get(model);
  if (!p) placesByModel.set(model, (p = placesOn(model)));
  return p;
}

export class Tracer implements DeviceTaps, Tracepoints {
  readonly flows: Flow[] = [];
  /** Capture writers per capture point, when --pcap-dir is given. */
  pcaps?: Map<string, PcapRecorder>;
  /** Hop events recorded (for benchmarks). */
  hopCount = 0;
  private readonly sites = new Map<string, HopSite>();

  constructor(private readonly clock: EventQueue) {}

  newFlow(kind: Flow['kind'], from: string, to: string): Flow {
    // `path` is named (by the ping, once it knows where it sends) before the hops, as the trace lists it.
    // One shape for every flow a frame carries (dockerd_cluster's control flows too), so the hot paths that read it stay monomorphic.
    const flow: Flow = { id: `${kind === 'icmp-echo' ? 'ping' : kind}-${this.flows.filter((f) => f.kind === kind).length + 1}`, kind, from, to, path: undefined, hostNamespace: undefined, control: undefined, hops: [], hopsNotKept: undefined, origin: undefined };
    this.flows.push(flow);
    return flow;
  }

  // The places of the last flow asked about, and the path it had then (a ping names its path
  // once it has resolved the destination): a flood asks for one flow's millions of times.
  private lastFlow?: Flow;
  private lastPath?: Flow['path'];
  private lastPlaces: Places = placesOf(pathOf({}));

  /** Where the sightings of the skb's flow fall: on its flow's path model. */
  private placesFor(skb: Skb): Places {
    const flow = skb.flow;
    if (!flow || (flow === this.lastFlow && flow.path === this.lastPath)) return this.lastPlaces;
    this.lastFlow = flow;
    this.lastPath = flow.path;
    return (this.lastPlaces = placesOf(pathOf(flow)));
  }

  /** The step of a drop point on the skb's flow's path (undefined where that path has none). */
  private dropStep(skb: Skb, point: DropPoint): number | undefined {
    return this.placesFor(skb).model.drops[point];
  }

  // ── packet taps: what a sniffer on the device sees, placed on the flow's path ─

  /**
   * A device transmits a frame (dev_hard_start_xmit, after its qdisc): what the sighting is
   * follows from the kind of device and where it sits. A new kind of device is traced by
   * its case here (and its sightings' places in the path models).
   */
  xmit(dev: SimLink, skb: Skb): void {
    // A frame of no flow, with no capture written, is nothing to the tracer: a device point
    // costs this test. The capture is asked first, for every frame: asked only of a frame of no
    // flow, the compiler would have no feedback for it in a long flood, and the first such
    // frame (a neighbour's probe) would throw every device point's optimised code away.
    if (this.pcaps === undefined && skb.flow === undefined) return;
    switch (dev.type) {
      case 'veth': return this.vethXmit(dev, skb);
      case 'underlay': return this.underlayXmit(dev, skb);
      case 'bridge': return this.bridgeDown(dev, skb);
      // A bridge port's frame, from the bridge (forwarded or flooded); a routed one (flannel.1's, vxlan.calico's) from the stack.
      case 'vxlan': return dev.master ? this.bridgeToVxlan(dev, skb) : this.routedToVxlan(dev, skb);
      case 'ipip': return this.intoTunnel(dev, skb);
      case 'loopback': return this.localSend(dev, skb);
      // A container's device stacked on its host's (a macvlan, an ipvlan) sends as a container's veth does.
      default: if (dev.stacked) return this.vethXmit(dev, skb);
    }
  }

  /** A device receives a frame (netif_receive_skb, once the device takes it: for a bridge port, before its bridge). */
  recv(dev: SimLink, skb: Skb): void {
    if (this.pcaps === undefined && skb.flow === undefined) return;
    switch (dev.type) {
      case 'veth': return dev.master ? this.portRecv(dev, skb) : this.stackRecv(dev, skb);
      // A bridge takes a frame up to its host's stack (br_pass_frame_up).
      case 'bridge': return this.bridgeUp(dev, skb);
      // The inner frame vxlan_rcv took off, received on the device.
      case 'vxlan': return this.decap(dev, skb);
      case 'ipip': return this.outOfTunnel(dev, skb);
      // A container's device stacked on its host's takes what is its own as a container's veth does.
      default: if (dev.stacked) return this.stackRecv(dev, skb);
    }
  }

  /** A datagram handed to lo: the embedded DNS's query or answer. */
  private localSend(lo: SimLink, skb: Skb): void {
    const dns = dnsDirection(skb.frame);
    const P = this.placesFor(skb);
    if (dns) this.place(skb, lo, dns === 'dns-query' ? P.dnsQuery : P.dnsAnswer);
    else this.record(skb, OFF_PATH[0], lo);
  }

  /** A veth transmits (or a container's macvlan): a container sending, or a bridge's port (its host or overlay end) handing a frame toward its container. */
  private vethXmit(dev: SimLink, skb: Skb): void {
    // The user-space router's veth pair is seen at the router, where it captures and injects.
    if (routerVeth(dev) || this.counted(skb)) return;
    const arp = arpOpcode(skb.frame);
    const P = this.placesFor(skb);
    if (dev.master) this.place(skb, dev, P.towardContainer[kindIndex(arp)], undefined, dev.master.name);
    else if (dev.netns.role.get() === 'sandbox') this.place(skb, dev, P.sent[kindIndex(arp)]);
    // The host end of a container's veth that is no bridge's port (Calico's cali…): the host sends toward the container.
    else this.place(skb, dev, P.towardHostEnd[kindIndex(arp)]);
  }

  /** A bridge port receives: the other end of a container's veth (in an overlay namespace, or the host's for a local bridge). */
  private portRecv(dev: SimLink, skb: Skb): void {
    if (!routerVeth(dev) && !this.counted(skb)) this.place(skb, dev, this.placesFor(skb).intoBridge[kindIndex(arpOpcode(skb.frame))]);
  }

  /** A frame a device's stack takes (a veth, a container's macvlan): in a sandbox, the container receiving. */
  private stackRecv(dev: SimLink, skb: Skb): void {
    if (this.counted(skb)) return;
    const P = this.placesFor(skb);
    const kind = kindIndex(arpOpcode(skb.frame));
    this.place(skb, dev, dev.netns.role.get() === 'sandbox' ? P.taken[kind] : P.fromHostEnd[kind]);
  }

  /** The host routes a packet into an IP-in-IP tunnel (tunl0). */
  private intoTunnel(dev: SimLink, skb: Skb): void {
    this.place(skb, dev, this.placesFor(skb).intoTunnel);
  }

  /** An IP-in-IP tunnel unwrapped a packet. */
  private outOfTunnel(dev: SimLink, skb: Skb): void {
    this.place(skb, dev, this.placesFor(skb).outOfTunnel);
  }

  /** The host's stack routes a frame into a vxlan device that is no bridge port (flannel.1, vxlan.calico). */
  private routedToVxlan(vx: SimLink, skb: Skb): void {
    this.place(skb, vx, this.placesFor(skb).toVxlan);
  }

  /** The bridge hands a frame to the vxlan device (`br0 → vxlan0`). */
  private bridgeToVxlan(vx: SimLink, skb: Skb): void {
    if (this.counted(skb)) return;
    const P = this.placesFor(skb);
    this.place(skb, vx, skb.flooded ? P.toVxlanFlooded : P.toVxlan, undefined, vx.master?.name);
  }

  /** vxlan's arp_reduce answered a request from its neighbour table. */
  arpReduced(vx: SimLink, reply: Skb, ip: string, mac: string): void {
    this.place(reply, vx, this.placesFor(reply).proxyReply, overlayNotes.arpReduce(vx.name, ip, mac));
  }

  /** arp_reduce found no neighbour entry (an l3miss): the request dies there. */
  arpReduceMiss(vx: SimLink, skb: Skb, ip: string): void {
    this.dropAt(skb, this.dropStep(skb, 'arp-reduce'), vx, `no neighbour entry for ${ip} (l3miss)`);
  }

  /** vxlan_xmit could not encapsulate (no FDB entry, no route to the VTEP). */
  encapFailed(vx: SimLink, skb: Skb, reason: string): void {
    this.dropAt(skb, this.dropStep(skb, 'encap'), vx, reason);
  }

  /**
   * What the hop of a frame a vxlan device encapsulated says: which FDB entry sent it where
   * (the inner destination MAC, the VTEP), read off the datagram.
   */
  private encapNote(skb: Skb): string | undefined {
    if (skb.encapsulatedBy === undefined || !skb.flow || !this.keeps(skb.flow)) return undefined;
    const f = skb.frame, ip = ETHERNET_HEADER_LEN;
    return overlayNotes.encap(macToString(f, ip + ipv4PacketHeaderLength(f, ip) + UDP_HEADER_LEN + VXLAN_HEADER_LEN), ipv4PacketDstString(f, ip));
  }

  /** The host's underlay interface transmits: an encapsulated frame, or one of the host's own (its ARP, say), each where the flow's path puts it. */
  private underlayXmit(dev: SimLink, skb: Skb): void {
    if (this.counted(skb)) return;
    const P = this.placesFor(skb);
    // dockerd's and weave's own traffic (and the ARP it needs): sent by the host, on no path (weave's to the sleeve port too).
    if (skb.flow?.kind === 'control-plane') this.place(skb, dev, OFF_PATH[kindIndex(arpOpcode(skb.frame))]);
    else if (isVxlanFrame(skb.frame, dev.netns)) this.place(skb, dev, P.encap, skb.note ?? this.encapNote(skb), skb.encapsulatedBy);
    else if (isIpipFrame(skb.frame)) this.ipipSend(dev, skb, P);
    else this.place(skb, dev, (skb.forwarded ? P.uplinkForwards : skb.dir === 'reply' ? P.uplinkSendsReply : P.uplinkSends)[kindIndex(arpOpcode(skb.frame))]);
  }

  /** Wrapped by the namespace's ipip device (tunl0), which sent it from the host's own stack. */
  private ipipSend(dev: SimLink, skb: Skb, P: Places): void {
    this.place(skb, dev, P.ipipEncap, undefined, [...dev.netns.links.values()].find((l) => l.type === 'ipip')?.name);
  }

  /**
   * A host's uplink took a datagram in, as it arrived (before any NAT): one for the host
   * itself, or one it routes on (`forwarded`). Recorded where the flow's path places it.
   */
  uplinkRecv(dev: SimLink, skb: Skb, forwarded: boolean): void {
    if (skb.flow?.kind === 'control-plane') return this.place(skb, dev, CONTROL_TAKEN[kindIndex(arpOpcode(skb.frame))]);
    // A group frame a stacked device took as well was seen by this lower's taps already (ptype_all runs once, before the rx_handler passes it on).
    if (skb.tappedBy === dev) {
      skb.tappedBy = undefined;
      return;
    }
    const P = this.placesFor(skb);
    if (isIpipFrame(skb.frame)) return this.placeIfOnPath(skb, dev, P.ipipDeliver);
    this.placeIfOnPath(skb, dev, (forwarded ? P.uplinkForwardsIn : skb.dir === 'reply' ? P.uplinkTakesReply : P.uplinkTakes)[kindIndex(arpOpcode(skb.frame))]);
  }

  /**
   * A lower device took in a frame its port hands a stacked device (a macvlan, an ipvlan),
   * seen by its taps before the port (ptype_all before rx_handler): its capture has the
   * frame whatever the flow's path, as `tcpdump -i eth0` on the parent does; a hop where
   * the path places it.
   */
  stackedLowerRecv(dev: SimLink, skb: Skb): void {
    if (this.counted(skb)) return;
    const at = this.placesFor(skb).uplinkTakes[kindIndex(arpOpcode(skb.frame))];
    if (at.step !== undefined) this.record(skb, at, dev);
    else if (this.pcaps) this.capture(dev, skb.frame, this.clock.now + skb.lag);
  }

  /** A bridge device takes a frame addressed to it up to its host's stack. */
  private bridgeUp(br: SimLink, skb: Skb): void {
    this.placeIfOnPath(skb, br, this.placesFor(skb).bridgeUp[kindIndex(arpOpcode(skb.frame))]);
  }

  /** The host sends a frame down through a bridge device, to one of its ports. */
  private bridgeDown(br: SimLink, skb: Skb): void {
    this.placeIfOnPath(skb, br, this.placesFor(skb).bridgeDown[kindIndex(arpOpcode(skb.frame))]);
  }

  /** The host would not route a datagram on (forwarding off, no route, TTL, MTU, a FORWARD or POSTROUTING rule): it dies at the path's forwarding step. */
  forwardDrop(skb: Skb, dev: SimLink, reason: string): void {
    this.dropAt(skb, this.dropStep(skb, 'forward'), dev, reason);
  }

  private readonly segmentSites = new Map<Spot, { request: HopSite; reply: HopSite }>();
  private readonly segmentNotes = new Map<SimLink, Map<SimLink, string>>();

  /** The underlay segment between two hosts' interfaces (seen as it arrives): VXLAN, or an IP datagram on a path that crosses it plain. */
  segment(skb: Skb, from: SimLink, to: SimLink): void {
    if (!skb.flow) return;
    if (skb.flow.kind === 'control-plane') return this.controlSegment(skb, from, to);
    const encap = isVxlanFrame(skb.frame, from.netns);
    const spot = encap ? this.placesFor(skb).segment : this.placesFor(skb).segmentPlain;
    if (spot.step === undefined || (!encap && arpOpcode(skb.frame) !== undefined)) return;
    // Past the hops a flow keeps, the hop is only counted: no note or site to look up.
    if (!this.keeps(skb.flow)) return this.countOnly(skb.flow);
    let notes = this.segmentNotes.get(from);
    if (!notes) this.segmentNotes.set(from, (notes = new Map()));
    let note = notes.get(to);
    if (!note) notes.set(to, (note = overlayNotes.segment(`${from.netns.host.name}:${from.name}`, `${to.netns.host.name}:${to.name}`)));
    let sites = this.segmentSites.get(spot);
    if (!sites) this.segmentSites.set(spot, (sites = { request: this.site(spot.step, 'request', 'underlay', 'underlay', 'segment', spot.event), reply: this.site(spot.step, 'reply', 'underlay', 'underlay', 'segment', spot.event) }));
    this.keep(skb.flow, skb.dir === 'request' ? sites.request : sites.reply, skb.frame, note);
  }

  /** dockerd's datagram or segment (or the ARP before it) crossing the underlay: on no path, so no step. */
  private controlSegment(skb: Skb, from: SimLink, to: SimLink): void {
    const arp = arpOpcode(skb.frame);
    const note = overlayNotes.segment(`${from.netns.host.name}:${from.name}`, `${to.netns.host.name}:${to.name}`);
    this.keep(skb.flow!, this.site(undefined, skb.dir, 'underlay', 'underlay', 'segment', arp === undefined ? 'underlay' : OFF_PATH[kindIndex(arp)].event), skb.frame, note);
  }

  /** UDP hands a datagram to a vxlan socket (seen as its first fragment when it came in pieces). */
  udpDeliver(dev: SimLink, skb: Skb, vx: SimLink, vni = vx.vxlan!.vni): void {
    if (this.counted(skb)) return;
    if (skb.arrivedAs) skb = new Skb(skb.arrivedAs, skb.flow, skb.dir);
    const kept = skb.flow && this.keeps(skb.flow);
    // An external device's VNI is each packet's own.
    const note = !kept ? undefined : vx.vxlan!.external ? overlayNotes.udpDeliver(vx.vxlan!.dstport, vx.name, vni) : this.udpDeliverNote(vx);
    this.place(skb, dev, this.placesFor(skb).udpDeliver, note);
  }

  /** An Open vSwitch datapath matched a frame (or its controller decided on a miss): taken from the bridge's side ('out') or from a tunnel ('in'). */
  odpFlow(datapath: SimLink, skb: Skb, fromTunnel: boolean, hit: boolean): void {
    const P = this.placesFor(skb);
    const flood = !fromTunnel && macToString(skb.frame, 0) === 'ff:ff:ff:ff:ff:ff';
    const note = !skb.flow || !this.keeps(skb.flow) ? undefined : hit ? 'flow hit: the kernel runs its actions' : 'flow miss: up to the router, which installs a flow';
    this.place(skb, datapath, fromTunnel ? P.routerGives : flood ? P.routerFloods : P.routerTakes, note);
  }

  /** A user-space router captured a frame on its device and sends it to a peer (or, `flood`, to every peer). */
  routerCaptured(dev: SimLink, skb: Skb, flood: boolean): void {
    const P = this.placesFor(skb);
    this.place(skb, dev, flood ? P.routerFloods : P.routerTakes);
  }

  /** A user-space router's socket took a datagram from a peer in (seen at the uplink it arrived by). */
  routerReceived(uplink: SimLink, skb: Skb, note: string): void {
    if (skb.arrivedAs) skb = new Skb(skb.arrivedAs, skb.flow, skb.dir);
    // Weave's own frames (a sleeve forwarder's heartbeat and tests) are control-plane traffic the router takes, on no path.
    if (skb.flow?.kind === 'control-plane') return this.place(skb, uplink, CONTROL_TAKEN[kindIndex(undefined)]);
    this.place(skb, uplink, this.placesFor(skb).udpDeliver, skb.flow && this.keeps(skb.flow) ? note : undefined);
  }

  /** A user-space router injects a frame a peer sent it on its device. */
  routerInjected(dev: SimLink, skb: Skb): void {
    this.place(skb, dev, this.placesFor(skb).routerGives);
  }

  /** vxlan_rcv took the inner frame off. */
  private decap(vx: SimLink, skb: Skb): void {
    if (this.counted(skb)) return;
    this.place(skb, vx, this.placesFor(skb).decap);
  }

  /**
   * A netfilter hook dropped the packet (`ip`: where its IPv4 header starts), at the place
   * on the path where the hook ran: a host's uplink taking VXLAN in (a sniffer there saw it
   * arrive first) or sending it out, a host's uplink taking or sending its own datagram, a container taking a packet in or sending it.
   */
  netfilterDrop(skb: Skb, dev: SimLink, ip: number, incoming: boolean, reason: string): void {
    const f = skb.frame;
    const P = this.placesFor(skb);
    let placed: Spot | undefined;
    if (dev.type === 'underlay') {
      const port = be16(f, ip + ipv4PacketHeaderLength(f, ip) + 2);
      const vxlan = f[ip + 9] === IPPROTO_UDP && isOverlayPort(dev.netns, port);
      if (vxlan && incoming) this.place(skb, dev, P.udpDeliver);
      if (vxlan) placed = incoming ? P.udpDeliver : P.encap;
      // A host's own datagram (the host path's), where its path places the uplink's sighting of it.
      else if (!skb.forwarded) placed = (incoming ? (skb.dir === 'reply' ? P.uplinkTakesReply : P.uplinkTakes) : skb.dir === 'reply' ? P.uplinkSendsReply : P.uplinkSends)[0];
    } else if (dev.type === 'veth' && dev.netns.role.get() === 'sandbox') {
      placed = incoming ? P.taken[0] : P.sent[0];
    }
    // Dropped at OUTPUT while waiting for its next hop's address, the datagram has no Ethernet header yet.
    this.dropAt(skb, placed?.step, dev, reason, ip === 0);
  }

  /**
   * The device's qdisc dropped the frame (netem's loss, tbf's full queue) before the driver
   * had it, so no sniffer on the device saw it: placed where it was leaving, a host's
   * uplink sending VXLAN (the overlay's step 4) or a container sending (step 1).
   */
  qdiscDrop(dev: SimLink, skb: Skb, reason: string): void {
    const P = this.placesFor(skb);
    let placed: Spot | undefined;
    if (dev.type === 'underlay') placed = isVxlanFrame(skb.frame, dev.netns) ? P.encap : undefined;
    else if (dev.type === 'veth' && dev.netns.role.get() === 'sandbox') placed = P.sent[kindIndex(arpOpcode(skb.frame))];
    this.dropAt(skb, placed?.step, dev, reason);
  }

  /**
   * A frame reaches a device that is down, placed where a sniffer on it would have seen the
   * frame: the receiving host's underlay interface taking VXLAN, a container's eth0 taking
   * it, a bridge's end of a veth taking it from its container (where emu finds the capture
   * point down).
   */
  recvDown(dev: SimLink, skb: Skb): void {
    const P = this.placesFor(skb);
    const at = dev.type === 'underlay' ? (isVxlanFrame(skb.frame, dev.netns) ? P.udpDeliver : undefined)
      : dev.type !== 'veth' ? undefined
      : dev.master ? P.intoBridge[0] : dev.netns.role.get() === 'sandbox' ? P.taken[0] : undefined;
    this.dropAt(skb, at?.step, dev, 'link down');
  }

  /** vxlan0 would not fit the packet into the underlay's MTU and its DF forbids fragments: it dies at the encapsulation. */
  tunnelTooBig(vx: SimLink, skb: Skb, reason: string): void {
    this.dropAt(skb, this.dropStep(skb, 'encap'), vx, reason);
  }

  /** vxlan0's own ICMP "fragmentation needed", received on the device as if the peer had sent it (seen where a decapsulated frame is). */
  pmtuReply(vx: SimLink, skb: Skb, mtu: number): void {
    this.place(skb, vx, this.placesFor(skb).decap, overlayNotes.pmtuReply(vx.name, mtu));
  }

  /** vxlan0 found no route out because the underlay device that would carry it is down. */
  uplinkDown(dev: SimLink, skb: Skb): void {
    this.dropAt(skb, this.dropStep(skb, 'encap'), dev, 'link down');
  }

  /**
   * The bridge would forward to a port without carrier (the port is down, or the container
   * end of its veth is): br_forward skips a disabled port, so the frame dies there, shown
   * at the device that is down, where the frame would have gone toward its container.
   */
  portDown(port: SimLink, skb: Skb): void {
    const down = port.up ? port.peer ?? port : port;
    const P = this.placesFor(skb);
    const at = down === port ? P.towardContainer[0] : down.netns.role.get() === 'sandbox' ? P.taken[0] : undefined;
    this.dropAt(skb, at?.step, down, 'link down');
  }

  /** The sending socket's own ICMP error (a DF datagram over the MTU): it never leaves the socket. */
  localError(ns: SimNetns, dev: SimLink, flow: Flow, frame: Uint8Array, mtu: number, reason: string): void {
    this.keep(flow, this.site(pathOf(flow).drops.socket, 'request', ns.host.name, ns.name, dev.name, 'drop'), frame, `ICMP fragmentation needed (mtu ${mtu}) to the sending socket`, reason);
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
    // One shape whether or not a device acted (actor undefined), so the code reading sites sees one.
    if (!s) this.sites.set(key, (s = { step, dir, host, netns, device, event, actor: actor || undefined }));
    return s;
  }

  private linkSite(link: SimLink, at: Spot, dir: Skb['dir'], actor: string | undefined): HopSite {
    const m = link.hopSites;
    const key = at.key * 2 + (dir === 'reply' ? 1 : 0);
    let s = m.get(key);
    // Devices are renamed and moved during setup, never while traffic flows; the name is read once.
    if (!s || s.device !== link.name || s.netns !== link.netns.name || s.actor !== actor) m.set(key, (s = this.site(at.step, dir, link.netns.host.name, link.netns.name, link.name, at.event, actor)));
    return s;
  }

  /** Records a sighting only where the flow's path has a step for it (the places other paths never had a hop stay without one). */
  private placeIfOnPath(skb: Skb, link: SimLink, at: Spot): void {
    if (at.step !== undefined) this.record(skb, at, link);
  }

  private place(skb: Skb, link: SimLink, at: Spot, note?: string, actor?: string): void {
    this.record(skb, at, link, note, actor);
  }

  /** `actor`: the device that acted and handed the frame to `link` (the bridge; the vxlan device that encapsulated). */
  private record(skb: Skb, spot: Spot, link: SimLink, note?: string, actor?: string): void {
    // Past the hops its flow keeps, with no capture written, a hop is only counted. This
    // test stays small and the rest lives in keepHop, which a long flood seldom calls: the
    // taps are inlined into every device's hot path, and their size is what the compiler
    // spends its inlining budget on.
    const flow = skb.flow;
    if (this.pcaps === undefined && (flow === undefined || !this.keeps(flow))) {
      if (flow !== undefined) this.countOnly(flow);
      return;
    }
    this.keepHop(skb, spot, link, note, actor);
  }

  private keepHop(skb: Skb, spot: Spot, link: SimLink, note: string | undefined, actor: string | undefined): void {
    const at = this.clock.now + skb.lag;
    // An ipip device has no link layer: what it carries is the IP packet, behind the datapath's blank Ethernet header.
    const raw = link.type === 'ipip';
    const frame = raw ? skb.frame.subarray(ETHERNET_HEADER_LEN) : skb.frame;
    if (this.pcaps) this.capture(link, frame, at);
    const flow = skb.flow;
    if (!flow) return;
    if (this.keeps(flow)) this.keep(flow, this.linkSite(link, spot, skb.dir, actor), frame, note, undefined, at, raw);
    else this.countOnly(flow);
  }

  /** A traced frame freed at a device for a reason of no place on a path (kfree_skb). */
  drop(skb: Skb, dev: SimLink, reason: string): void {
    this.dropAt(skb, undefined, dev, reason);
  }

  /** A traced frame that goes no further, and why: at `step` of its path, or none. */
  private dropAt(skb: Skb, step: number | undefined, link: SimLink, reason: string, raw = false): void {
    if (skb.flow) this.keep(skb.flow, this.site(step, skb.dir, link.netns.host.name, link.netns.name, link.name, 'drop'), skb.frame, undefined, reason, this.clock.now + skb.lag, raw);
  }

  /** A vxlan device's miss, taken by the daemon listening in its namespace: the frame waits where the device could not send it (arp_reduce, or the encapsulation). */
  vxlanMiss(vx: SimLink, skb: Skb, ip: string, mac: string | undefined, host: string): void {
    const flow = skb.flow;
    if (!flow) return;
    const note = mac === undefined ? `${vx.name} l3miss: no neighbour for ${ip}; RTM_GETNEIGH ${ip} STALE to dockerd's watchMiss`
      : `${vx.name} l2miss: no FDB entry for ${mac}; RTM_GETNEIGH lladdr ${mac} STALE to dockerd's watchMiss (${ip})`;
    this.controlEvent(flow, { step: pathOf(flow).drops[mac === undefined ? 'arp-reduce' : 'encap'], dir: skb.dir, host, netns: vx.netns.name, device: vx.name, event: 'miss', note }, this.clock.now + skb.lag);
  }

  /** The daemon's work on a miss, placed at the waiting frame's encapsulation (the step its frame goes on from once the entries are in). */
  missResolution(flow: Flow | undefined, site: Omit<Hop, 'step' | 'timeNs' | 'layers'>, at = this.clock.now): void {
    if (flow) this.controlEvent(flow, { step: pathOf(flow).drops.encap, ...site }, at);
  }

  /** A hop with no frame: a daemon acting for a flow. */
  private controlEvent(flow: Flow, site: Omit<Hop, 'timeNs' | 'layers'>, at: number): void {
    if (!this.keeps(flow)) return this.countOnly(flow);
    this.hopCount++;
    flow.hops.push({ ...site, timeNs: at, layers: [] });
  }

  /**
   * Past the hops its flow keeps, with no capture written, a hop is only counted: true when
   * it was. The taps of a packet's common path ask first, so a long flood's hops cost a
   * count, not the placing of a hop nobody keeps. (A tap asks only where it records a hop
   * whatever the place, so what is counted is what would have been.)
   */
  private counted(skb: Skb): boolean {
    const flow = skb.flow;
    if (this.pcaps !== undefined || flow === undefined || this.keeps(flow)) return false;
    this.countOnly(flow);
    return true;
  }

  private countOnly(flow: Flow): void {
    this.hopCount++;
    flow.hopsNotKept = (flow.hopsNotKept ?? 0) + 1;
  }

  private keeps(flow: Flow): boolean {
    return flow.hops.length < MAX_HOPS_PER_FLOW;
  }

  /** Every hop is counted; a flow keeps the first MAX_HOPS_PER_FLOW whole. */
  private keep(flow: Flow, site: HopSite, frame: Uint8Array, note?: string, reason?: string, at = this.clock.now, raw = false): void {
    if (!this.keeps(flow)) return this.countOnly(flow);
    this.hopCount++;
    flow.hops.push(raw ? new RawIpHop(site, at, frame, note, reason) : new SimHop(site, at, frame, note, reason));
  }

  private capture(link: SimLink, frame: Uint8Array, at: number): void {
    if (!this.pcaps || link.type === 'bridge') return;
    const key = `${link.netns.host.name}-${link.netns.name}-${link.name}`;
    let w = this.pcaps.get(key);
    if (!w) this.pcaps.set(key, (w = new PcapRecorder('nano', link.type === 'ipip' ? LINKTYPE_RAW : LINKTYPE_ETHERNET)));
    w.add(EPOCH_NS + BigInt(at), frame);
  }
}

/** Either end of the veth pair whose one end's rx_handler takes every frame: a user-space router's capture or datapath port (weave's vethwe-bridge and vethwe-pcap or vethwe-datapath). */
function routerVeth(dev: SimLink): boolean {
  return dev.rxHandler?.takesAll === true || dev.peer?.rxHandler?.takesAll === true;
}


/**
 * A datagram to or from the embedded DNS (127.0.0.11) is a query or an answer as its DNS
 * header's QR bit says, as emu's capture reads it: the port alone cannot tell, since
 * Docker's DNAT sends queries to the resolver's own port and answers come from 53.
 */
function dnsDirection(f: Uint8Array): 'dns-query' | 'dns-answer' | undefined {
  const ip = ETHERNET_HEADER_LEN;
  if (f[ip + 9] !== IPPROTO_UDP || (be32(f, ip + 12) !== EMBEDDED_DNS && be32(f, ip + 16) !== EMBEDDED_DNS)) return undefined;
  const dns = ip + ipv4PacketHeaderLength(f, ip) + UDP_HEADER_LEN;
  if (f.length < dns + DNS_HEADER_LEN) return undefined;
  return f[dns + 2] & 0x80 ? 'dns-answer' : 'dns-query';
}

/** 127.0.0.11, as the 32-bit word be32 reads. */
const EMBEDDED_DNS = ipv4ToNumber('127.0.0.11') | 0;
