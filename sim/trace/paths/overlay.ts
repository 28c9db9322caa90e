/**
 * The overlay driver's path, declared once: the steps a packet takes from one container to
 * another across Docker's VXLAN overlay, what each step is called, and where a sighting of
 * a frame at a device falls on it. The sim tracer, emu's capture classifier and drop
 * attribution, capture replay and the path verdicts all number hops through this file and
 * word their notes with it; no step number is written anywhere else.
 */
import type { HopEvent } from '../types';

/** Where a device sits on the path. */
export type PathRole =
  /** The sandbox's loopback: the embedded DNS server's queries and answers. */
  | 'lo'
  /** A container's own end of its veth (eth0 in the sandbox). */
  | 'container'
  /** The overlay namespace's end of a container's veth, a port of br0. */
  | 'bridge-port'
  /** The vxlan device in the overlay namespace. */
  | 'vxlan'
  /** The host's interface on the underlay. */
  | 'uplink'
  /** The underlay segment between two hosts. */
  | 'segment';

/** What a frame is, as far as the path cares. */
export type FrameKind = 'ip' | 'arp-request' | 'arp-reply' | 'dns-query' | 'dns-answer';

/** A frame seen at a device. */
export interface Sighting {
  role: PathRole;
  /**
   * Which way it goes: 'out' from the sending container toward the wire, 'in' from the wire
   * toward a container (at a container: 'out' is sent by it, 'in' is taken by its stack).
   */
  way: 'out' | 'in';
  frame: FrameKind;
  /** At vxlan going out: br0 flooded the frame (broadcast or unknown destination). */
  flood?: boolean;
  /** At vxlan coming in: an ARP reply vxlan0 made itself from its neighbour table (proxy). */
  proxied?: boolean;
  /** At the uplink: the frame carries VXLAN. */
  encapsulated?: boolean;
}

export interface Placed {
  step: number;
  event: HopEvent;
}

/** Where the path's drops happen. */
export type DropPoint =
  /** The sending socket refuses (a DF datagram over the MTU). */
  | 'socket'
  /** vxlan0's proxy ARP has no neighbour entry (l3miss). */
  | 'arp-reduce'
  /** vxlan0 cannot encapsulate: no FDB entry (l2miss) or no route to the VTEP. */
  | 'encap';

const RESOLVE = 0, SEND = 1, VETH = 2, BRIDGE = 3, ENCAP = 4, UNDERLAY = 5, UDP = 6, DECAP = 7, DELIVER = 8;

/** The steps, numbered as the seed lab's tutorial walks them. */
export const OVERLAY_STEPS: readonly { step: number; name: string; says: string }[] = [
  { step: RESOLVE, name: 'resolve', says: 'the container asks the embedded DNS server (127.0.0.11) for the peer' },
  { step: SEND, name: 'send', says: "the container sends on its eth0 (and resolves the peer's MAC)" },
  { step: VETH, name: 'veth', says: 'the frame crosses the veth into the overlay namespace, a port of br0' },
  { step: BRIDGE, name: 'bridge', says: 'br0 forwards it to vxlan0 (which answers ARP itself, proxy)' },
  { step: ENCAP, name: 'encap', says: "vxlan0 looks the destination MAC up in its FDB and encapsulates it in UDP to the peer's VTEP" },
  { step: UNDERLAY, name: 'underlay', says: 'the UDP datagram crosses the underlay' },
  { step: UDP, name: 'udp-deliver', says: "the peer host's UDP socket for the VXLAN port takes it" },
  { step: DECAP, name: 'decap', says: 'vxlan0 in the peer overlay namespace takes the inner frame off' },
  { step: DELIVER, name: 'deliver', says: 'br0 forwards it through the veth to the container' },
];

/** The steps by name. */
export const OVERLAY_STEP = { resolve: RESOLVE, send: SEND, veth: VETH, bridge: BRIDGE, encap: ENCAP, underlay: UNDERLAY, udpDeliver: UDP, decap: DECAP, deliver: DELIVER } as const;

/** Name resolution, before the exchange proper. */
export const RESOLVE_STEP = RESOLVE;
/** The first and last steps of the path. */
export const FIRST_STEP = SEND;
export const LAST_STEP = DELIVER;
/** Across the overlay: every step, in order. */
export const ACROSS_HOSTS: readonly number[] = [SEND, VETH, BRIDGE, ENCAP, UNDERLAY, UDP, DECAP, DELIVER];
/** Between two containers of the overlay on one host: br0 switches the frame between its ports. */
export const WITHIN_HOST: readonly number[] = [SEND, VETH, DELIVER];
/** The steps that only a frame leaving the host takes. */
export const OFF_HOST: readonly number[] = [ENCAP, UNDERLAY, UDP];

export const DROP_STEP: Record<DropPoint, number> = { socket: SEND, 'arp-reduce': BRIDGE, encap: ENCAP };

/** The step after `step` on the way across hosts; undefined after the last. */
export function stepAfter(step: number): number | undefined {
  const i = ACROSS_HOSTS.indexOf(step);
  return i >= 0 ? ACROSS_HOSTS[i + 1] : undefined;
}

// One object per answer: the sim tracer asks for every frame of a flood.
const at = (step: number, event: HopEvent): Placed => Object.freeze({ step, event });
const PLACES = {
  dnsQuery: at(RESOLVE, 'dns-query'), dnsAnswer: at(RESOLVE, 'dns-answer'),
  send: at(SEND, 'send'), sendArpRequest: at(SEND, 'arp-request'), sendArpReply: at(SEND, 'arp-reply'),
  arpAnswered: at(SEND, 'arp-reply'), arpAnsweredAtPort: at(SEND, 'bridge-forward'),
  vethCross: at(VETH, 'veth-cross'),
  bridgeForward: at(BRIDGE, 'bridge-forward'), bridgeFlood: at(BRIDGE, 'bridge-flood'), arpProxy: at(BRIDGE, 'arp-proxy-reply'),
  encap: at(ENCAP, 'encap'), underlay: at(UNDERLAY, 'underlay'), udpDeliver: at(UDP, 'udp-deliver'), decap: at(DECAP, 'decap'),
  toContainer: at(DELIVER, 'bridge-forward'), deliver: at(DELIVER, 'deliver'), arpAsked: at(DELIVER, 'arp-request'),
};

/** The step and event of a sighting; undefined when the frame is not on the path there. */
export function placeOnOverlay(s: Sighting): Placed | undefined {
  switch (s.role) {
    case 'lo':
      return s.frame === 'dns-query' ? PLACES.dnsQuery : s.frame === 'dns-answer' ? PLACES.dnsAnswer : undefined;
    case 'container':
      if (s.way === 'out') return s.frame === 'arp-request' ? PLACES.sendArpRequest : s.frame === 'arp-reply' ? PLACES.sendArpReply : PLACES.send;
      // The answer to the container's own ARP request still belongs to step 1's resolution.
      return s.frame === 'arp-reply' ? PLACES.arpAnswered : s.frame === 'arp-request' ? PLACES.arpAsked : PLACES.deliver;
    case 'bridge-port':
      if (s.way === 'out') return PLACES.vethCross;
      return s.frame === 'arp-reply' ? PLACES.arpAnsweredAtPort : PLACES.toContainer;
    case 'vxlan':
      if (s.way === 'out') return s.flood ? PLACES.bridgeFlood : PLACES.bridgeForward;
      return s.frame === 'arp-reply' && s.proxied ? PLACES.arpProxy : PLACES.decap;
    case 'uplink':
      if (!s.encapsulated) return undefined;
      return s.way === 'out' ? PLACES.encap : PLACES.udpDeliver;
    case 'segment':
      return s.encapsulated ? PLACES.underlay : undefined;
  }
}

/** The hop notes, worded once for sim, emu and replay (each gives what it knows). */
export const overlayNotes = {
  /** Step 3: vxlan0 answered an ARP request from its neighbour table. */
  arpReduce: (device: string, ip: string, mac: string) => `${device} proxy: ${ip} is at ${mac} (static neighbour)`,
  /** Step 4: the FDB entry that sent the frame to a VTEP. */
  encap: (innerDstMac: string, vtep: string) => `FDB ${innerDstMac} -> ${vtep}`,
  /** Step 5: from which host's interface to which. */
  segment: (from: string, to: string) => `${from} → ${to}`,
  /** Step 6: the VXLAN port's socket hands the datagram to the vxlan device of the VNI (in its namespace, when known). */
  udpDeliver: (port: number, device: string, vni: number, netns?: string) => `UDP ${port} → ${device}${netns ? ` in ${netns}` : ''} (VNI ${vni})`,
};
