/**
 * Moves real frames through the simulated kernels. The work is done by the subsystems in
 * net/, one file each, named as Linux names them: the device layer and its drivers (veth,
 * bridge, vxlan, loopback, the underlay), IPv4 (route, input, output, fragmentation, ICMP,
 * UDP, ARP), the neighbour layer, netfilter's hooks and sockets. Datapath holds their
 * shared state and is what programs and backends call. The tracer is no subsystem: it
 * subscribes to the device points' packet taps (`taps`) and the kernel's named events
 * (`trace`), net/tracepoints.ts.
 */
import { SimKernel } from './kernel';
import { dummyOps } from './net/dummy';
import { LinkType, ResolvedRoute, SimLink, SimNetns } from './objects';
import { EventQueue } from './clock';
import { Flow } from '../trace/types';
import { Ipv4Repr } from '../wire/ipv4';
import { PcapRecorder } from '../pcap/record';
import { FrameSlab, PayloadRewrite, Skb } from './net/skb';
import { Tracer } from './net/tracer';
import type { DeviceTaps, Tracepoints } from './net/tracepoints';
import { DeviceOpsTable, devRecv, l3Input } from './net/dev';
import { loopbackOps } from './net/loopback';
import { vethOps } from './net/veth';
import { bridgeOps } from './net/bridge/br_forward';
import { vxlanOps, vxlanRecv } from './net/vxlan';
import { underlayOps } from './net/underlay';
import { ipipOps } from './net/ipv4/ipip';
import { moduleLinkOps } from './net/rtnetlink';
import { stackedOps } from './net/stacked';
import { Netfilter } from './net/netfilter';
import { registerIptables } from './net/ipv4/netfilter/iptable_hooks';
import { devHardXmit } from './net/sched/sch_generic';
import { ReassemblyQueues } from './net/ipv4/ip_fragment';
import { ipInput } from './net/ipv4/ip_input';
import { ipSend, ipSendOn } from './net/ipv4/ip_output';
import { icmpFragNeededToSocket } from './net/ipv4/icmp';
import { route } from './net/ipv4/route';
import { Sockets } from './net/sockets';
import type { PeerResolver } from './watchmiss';

export type { EchoSocket } from './net/sockets';

/** Default delays; a ping over the overlay takes a few tenths of a millisecond. */
const DEFAULT_DELAYS = { veth: 2_000, bridge: 3_000, vxlan: 9_000, stack: 6_000, underlay: 45_000, dns: 25_000 };

export class Datapath {
  readonly clock = new EventQueue();
  private readonly tracer = new Tracer(this.clock);
  /** The packet taps every device point calls (net/dev.ts): the tracer's. */
  readonly taps: DeviceTaps = this.tracer;
  /** The kernel's named events (a drop and its reason, arp_reduce, a socket's delivery…), which the tracer subscribes to. */
  readonly trace: Tracepoints = this.tracer;
  delays = { ...DEFAULT_DELAYS };
  readonly sockets = new Sockets();
  readonly netfilter = new Netfilter();
  readonly frames = new FrameSlab();
  readonly fragments: ReassemblyQueues = new Map();
  /** Who answers a daemon's query for a missing peer (classic overlay mode's serf): the model's, set by the backend. */
  peerResolver?: PeerResolver;
  /** Each device type's transmit, as its driver registers it. */
  readonly deviceOps: DeviceOpsTable = { loopback: loopbackOps, veth: vethOps, bridge: bridgeOps, vxlan: vxlanOps, underlay: underlayOps, dummy: dummyOps, ipip: ipipOps, ...moduleLinkOps(), ...stackedOps() } satisfies Record<LinkType, unknown>;
  private ipId = 0x1c46;

  constructor(readonly kernel: SimKernel) {
    kernel.clock = this.clock;
    registerIptables(this);
  }

  // Queued work, bound once: the event queue calls these with their arguments (no closure per packet).
  readonly devRecvTask = (dev: SimLink, skb: Skb): void => devRecv(this, dev, skb);
  readonly localInputTask = (lo: SimLink, skb: Skb): void => ipInput(this, lo.netns, lo, skb);
  readonly l3InputTask = (dev: SimLink, skb: Skb): void => l3Input(this, dev, skb);
  /** A frame a qdisc held leaves for the driver. */
  readonly hardXmitTask = (dev: SimLink, skb: Skb): void => devHardXmit(this, dev, skb);
  readonly vxlanRecvTask = (vx: SimLink, skb: Skb, outer: Uint8Array): void => vxlanRecv(this, vx, skb, outer);
  /** A frame reaches another host's interface from `from` (the tracer sees it cross the segment). */
  readonly segmentArriveTask = (skb: Skb, to: SimLink, from: SimLink): void => {
    this.trace.segment(skb, from, to);
    devRecv(this, to, skb);
  };

  get flows(): Flow[] {
    return this.tracer.flows;
  }

  get pcaps(): Map<string, PcapRecorder> | undefined {
    return this.tracer.pcaps;
  }

  set pcaps(writers: Map<string, PcapRecorder> | undefined) {
    this.tracer.pcaps = writers;
  }

  /** Hop events recorded (for benchmarks). */
  get hopCount(): number {
    return this.tracer.hopCount;
  }

  newFlow(kind: Flow['kind'], from: string, to: string): Flow {
    return this.tracer.newFlow(kind, from, to);
  }

  nextIpId(): number {
    this.ipId = (this.ipId + 1) & 0xffff;
    return this.ipId;
  }

  /** The IP id last given out (the datagram a socket error quotes carried it). */
  get lastIpId(): number {
    return this.ipId;
  }


  route(ns: SimNetns, dst: string): ResolvedRoute | undefined {
    return route(ns, dst);
  }

  /** See ip_output's ipSend. */
  ipSend(ns: SimNetns, ip: Omit<Ipv4Repr, 'src' | 'options'> & { src?: string }, payload: Uint8Array, flow: Flow | undefined, dir: Skb['dir'], rewrite?: PayloadRewrite, lag = 0): string | undefined {
    return ipSend(this, ns, ip, payload, flow, dir, rewrite, lag);
  }

  /** See ip_output's ipSendOn. */
  ipSendOn(ns: SimNetns, r: ResolvedRoute, ip: Omit<Ipv4Repr, 'src' | 'options'> & { src?: string }, payload: Uint8Array, flow: Flow | undefined, dir: Skb['dir']): string | undefined {
    return ipSendOn(this, ns, r, ip, payload, flow, dir);
  }

  /** See icmp's icmpFragNeededToSocket. */
  recordLocalError(ns: SimNetns, dev: SimLink, mtu: number, payload: Buffer, dst: string, flow: Flow, reason: string): void {
    icmpFragNeededToSocket(this, ns, dev, mtu, payload, dst, flow, reason);
  }
}
