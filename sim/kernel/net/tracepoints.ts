/**
 * What the kernel tells the tracer, in two kinds, as Linux does. A frame on a device is
 * seen by the device's packet taps (ptype_all: dev_queue_xmit_nit on transmit, deliver_skb
 * on receive), called only at the device points of net/dev.ts; a driver does not call them.
 * Everything else is a named event, a tracepoint (include/trace/events/): published once
 * where the kernel has it, with what the kernel knows there (the device, the frame, the
 * reason), never a step or a hop's wording, which the tracer works out from the flow's path
 * model (sim/trace/paths/).
 */
import type { Flow, Hop } from '../../trace/types';
import type { SimLink, SimNetns } from '../objects';
import type { Skb } from './skb';

/** The packet taps at every device point: what a sniffer on the device would see. */
export interface DeviceTaps {
  /** The device transmits the frame (dev_hard_start_xmit, past its qdisc). */
  xmit(dev: SimLink, skb: Skb): void;
  /** The device takes the frame in (netif_receive_skb: a bridge port before its bridge, a stack's device once addressed to it). */
  recv(dev: SimLink, skb: Skb): void;
}

/** The named events, by subsystem. */
export interface Tracepoints {
  // skb:kfree_skb, with its reason: where a traced frame dies.
  /** Freed at `dev` for `reason`, at no place of a path's own (a device down, a bad header, a user-space router's refusal). */
  drop(skb: Skb, dev: SimLink, reason: string): void;
  /** ip_forward (or the FORWARD/POSTROUTING hooks of a routed or bridged packet) would not send it on. */
  forwardDrop(skb: Skb, dev: SimLink, reason: string): void;
  /** A netfilter hook dropped it (`ip`: where its IPv4 header starts), coming in or going out of `dev`. */
  netfilterDrop(skb: Skb, dev: SimLink, ip: number, incoming: boolean, reason: string): void;
  /** The device's qdisc dropped it before its driver had it. */
  qdiscDrop(dev: SimLink, skb: Skb, reason: string): void;
  /** It reached a device that is down. */
  recvDown(dev: SimLink, skb: Skb): void;
  /** The bridge would forward it to a port without carrier. */
  portDown(port: SimLink, skb: Skb): void;
  /** A tunnel could not encapsulate it (no FDB entry, no route to the remote end). */
  encapFailed(tunnel: SimLink, skb: Skb, reason: string): void;
  /** A tunnel's encapsulation would not fit the path's MTU and DF forbids fragments. */
  tunnelTooBig(tunnel: SimLink, skb: Skb, reason: string): void;
  /** No route to the VTEP because the underlay device that would carry it is down. */
  uplinkDown(dev: SimLink, skb: Skb): void;
  /** icmp: the sending socket's own "fragmentation needed" (`mtu`): the datagram never leaves it. */
  localError(ns: SimNetns, dev: SimLink, flow: Flow, frame: Uint8Array, mtu: number, reason: string): void;

  // vxlan: arp_reduce (proxy ARP from the device's neighbour table), and the tunnel's own PMTU answer.
  arpReduced(vx: SimLink, reply: Skb, ip: string, mac: string): void;
  /** arp_reduce found no neighbour for `ip` (an l3miss). */
  arpReduceMiss(vx: SimLink, skb: Skb, ip: string): void;
  /** iptunnel_pmtud: the device answers "fragmentation needed" (`mtu`) and receives it as if from the peer. */
  pmtuReply(vx: SimLink, skb: Skb, mtu: number): void;

  // udp: a datagram handed to a tunnel's socket (encap_rcv), seen at the uplink it came by.
  udpDeliver(dev: SimLink, skb: Skb, vx: SimLink, vni?: number): void;
  // ip_rcv: what a host's uplink took in, as it arrived, once the host knows whether it routes it on.
  uplinkRecv(dev: SimLink, skb: Skb, forwarded: boolean): void;
  // A lower device's packet taps (ptype_all, before its rx_handler): a frame its port hands a stacked device.
  stackedLowerRecv(dev: SimLink, skb: Skb): void;
  // The lab's switch: a frame crossing the underlay segment from one host's interface to another's.
  segment(skb: Skb, from: SimLink, to: SimLink): void;

  // openvswitch: a flow matched (`hit`), or the controller decided on a miss.
  odpFlow(datapath: SimLink, skb: Skb, fromTunnel: boolean, hit: boolean): void;
  // A user-space router (weave's): what it captured, took from a peer, injected.
  routerCaptured(dev: SimLink, skb: Skb, flood: boolean): void;
  routerReceived(uplink: SimLink, skb: Skb, note: string): void;
  routerInjected(dev: SimLink, skb: Skb): void;

  /**
   * A vxlan device's miss, as the daemon listening on `host` takes it: vxlan_ip_miss (l3miss)
   * for `ip`, or vxlan_fdb_miss (l2miss) for `mac`, which the daemon reads as `ip`.
   */
  vxlanMiss(vx: SimLink, skb: Skb, ip: string, mac: string | undefined, host: string): void;
  /** A daemon resolving a miss for the flow of the frame that waits (dockerd's watchMiss: its query, the answer, the entries it programs): no frame, placed where the frame waits. */
  missResolution(flow: Flow | undefined, site: Omit<Hop, 'step' | 'timeNs' | 'layers'>, at?: number): void;
}
