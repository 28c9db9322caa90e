/**
 * What every path model provides (one module per path under sim/trace/paths/, registered
 * in ./index.ts): the steps a packet of a flow takes, what each is called, and where a
 * sighting of a frame at a device falls on them. The sim tracer, emu's capture classifier
 * and drop attribution, capture replay and the path verdicts ask the flow's path model;
 * no step number is written anywhere else.
 */
import type { HopEvent } from '../types';

/** Where a device sits on a path, whatever the driver. */
export type PathRole =
  /** The sandbox's loopback: the embedded DNS server's queries and answers. */
  | 'lo'
  /** A container's own end of its veth (eth0 in the sandbox). */
  | 'container'
  /** The other end of a container's veth, a port of a bridge (br0 in an overlay namespace, docker0 or docker_gwbridge in the host's). */
  | 'bridge-port'
  /** The host end of a container's veth in the host namespace, no bridge's port: the host routes what comes in on it (Calico's cali…). */
  | 'host-end'
  /** An IP-in-IP device (tunl0): 'out' the host routes a packet into it, 'in' it unwraps one. */
  | 'tunnel'
  /** A bridge device itself, as the host's IP stack sees it: frames it takes up from its ports ('out'), frames the host sends down through it ('in'). */
  | 'bridge'
  /** The vxlan device in the overlay namespace. */
  | 'vxlan'
  /** A user-space router's capture device (weave's vethwe-pcap): 'out' it captures a frame and sends it to a peer, 'in' it injects one a peer sent. */
  | 'router'
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
  /** At vxlan going out: br0 flooded the frame (broadcast or unknown destination); at router going out: the router floods it to every peer. */
  flood?: boolean;
  /** At vxlan coming in: an ARP reply vxlan0 made itself from its neighbour table (proxy). */
  proxied?: boolean;
  /** At the uplink and the segment: the frame carries VXLAN. */
  encapsulated?: boolean;
  /** At the uplink: the encapsulation is IP in IP (protocol 4), not VXLAN. */
  ipip?: boolean;
  /** At the uplink: the host routed the packet through (ip_forward), it is not the host's own. */
  forwarded?: boolean;
  /** At the uplink: the frame is the request's way or the reply's (on the host path, which host's uplink sees it follows). */
  dir?: 'request' | 'reply';
}

export interface Placed {
  step: number;
  event: HopEvent;
}

/** Where a path's drops happen (a path names the ones it has). */
export type DropPoint =
  /** The sending socket refuses (a DF datagram over the MTU). */
  | 'socket'
  /** vxlan0's proxy ARP has no neighbour entry (l3miss). */
  | 'arp-reduce'
  /** vxlan0 cannot encapsulate: no FDB entry (l2miss) or no route to the VTEP. */
  | 'encap'
  /** The host does not route the packet on (no forwarding, no route, a FORWARD rule), or a rule drops a frame its bridge forwards (br_netfilter). */
  | 'forward';

export interface PathStep {
  step: number;
  name: string;
  says: string;
}

/** A verdict a delivered request earns when its steps come in this order (and none of `never`). */
export interface VerdictRule<K extends string = string> {
  /** The verdict's name, as a scenario's `expect.path` gives it: the registered models' kinds are the names there are (`VerdictKind`). */
  kind: K;
  steps: readonly number[];
  never?: readonly number[];
}

export interface PathModel<K extends string = string> {
  /** The path's id, as a flow names it (`flow.path`) and a network driver asks for it. */
  readonly id: string;
  /** One line: from where to where. */
  readonly says: string;
  /** Every step, from RESOLVE_STEP on, in order. */
  readonly steps: readonly PathStep[];
  /** The first step of the exchange proper (the container sends) and the last (the destination takes it). */
  readonly first: number;
  readonly last: number;
  /** The step and event of a sighting; undefined when the frame is not on the path there. */
  place(s: Sighting): Placed | undefined;
  /** The step of each drop point the path has. */
  readonly drops: Partial<Record<DropPoint, number>>;
  /** The drop point a request last seen at `step` and lost after it is checked against (emu asks the kernel there). */
  dropPointAfter(step: number): DropPoint | undefined;
  /** The step after `step` on the path's longest way; undefined after the last. */
  stepAfter(step: number): number | undefined;
  /** What a delivered request's steps make of it, tried in order. */
  readonly verdicts: readonly VerdictRule<K>[];
}

/**
 * What a path model states; the rest follows. `along` is its longest way, every step of the
 * exchange proper in order: the first and the last, and the step after each, are its. A path
 * with no drop point to check after a step leaves `dropPointAfter` out.
 */
export type PathSpec<K extends string = string> = Omit<PathModel<K>, 'first' | 'last' | 'stepAfter' | 'dropPointAfter'> & {
  readonly along: readonly number[];
  dropPointAfter?: PathModel['dropPointAfter'];
};

export function pathModel<K extends string>(spec: PathSpec<K>): PathModel<K> {
  const { id, says, steps, along, place, drops, dropPointAfter = () => undefined, verdicts } = spec;
  return { id, says, steps, first: along[0], last: along[along.length - 1], place, drops, dropPointAfter, stepAfter: (step) => nextIn(along, step), verdicts };
}

/** Name resolution, before the exchange proper: step 0 on every path (the embedded DNS on lo). */
export const RESOLVE_STEP = 0;

/** One object per answer: the sim tracer asks for every frame of a flood. */
export const at = (step: number, event: HopEvent): Placed => Object.freeze({ step, event });

const DNS_QUERY = at(RESOLVE_STEP, 'dns-query'), DNS_ANSWER = at(RESOLVE_STEP, 'dns-answer');

/** lo's sightings, the same on every path: the embedded DNS's query and answer. */
export function placeResolution(s: Sighting): Placed | undefined {
  return s.frame === 'dns-query' ? DNS_QUERY : s.frame === 'dns-answer' ? DNS_ANSWER : undefined;
}

/** Where one role's sightings fall on a path; undefined when the frame is not on the path there. */
export type RolePlacer = (s: Sighting) => Placed | undefined;

/** A path's place() from its placers by role: a role the path does not list is off it. */
export function placeByRole(roles: Partial<Record<PathRole, RolePlacer>>): (s: Sighting) => Placed | undefined {
  return (s) => roles[s.role]?.(s);
}

/** The steps of a container's side of a path, and what differs there from path to path. */
export interface ContainerSideSteps {
  /** The container sends (and resolves its next hop's MAC). */
  send: number;
  /** The frame crosses the container's veth to its other end. */
  veth: number;
  /** The container takes what is for it. */
  deliver: number;
  /**
   * What the bridge port hands the container, an ARP reply aside (that answers the sender:
   * bridge-forward at `send`). Absent: the veth ends at no bridge's port (Calico's cali…).
   */
  toContainer?: (s: Sighting) => Placed;
  /**
   * The host routes the packet to the container and resolves the container's MAC itself
   * (docker0 under Flannel): the step of that exchange, whose frames also leave the container
   * and its bridge port. Absent: only the sending container asks (the answer is its sending's),
   * and whatever leaves a bridge port crosses the veth.
   */
  hostAsksAt?: number;
}

/**
 * A container's side of a path, the same on every path but for the steps: lo (the embedded
 * DNS), the container's own eth, where every path begins and ends, and the bridge port its
 * veth ends at. At the container, going out it sends: its ARP request, the packet, at `send`;
 * its answer to an ARP request where the asker's exchange is. Coming in, the answer to its own
 * ARP request still belongs to that sending; a request for its address is the asker's, the
 * packet itself is at `deliver`.
 */
export function containerSide(side: ContainerSideSteps): Partial<Record<'lo' | 'container' | 'bridge-port', RolePlacer>> {
  const { send, veth, deliver, toContainer, hostAsksAt } = side;
  const askedAt = hostAsksAt ?? deliver, answeredAt = hostAsksAt ?? send;
  const sent = at(send, 'send'), arpRequested = at(send, 'arp-request'), arpAnswered = at(send, 'arp-reply');
  const asked = at(askedAt, 'arp-request'), answers = at(answeredAt, 'arp-reply'), delivered = at(deliver, 'deliver');
  const container: RolePlacer = (s) => s.way === 'out'
    ? (s.frame === 'arp-request' ? arpRequested : s.frame === 'arp-reply' ? answers : sent)
    : (s.frame === 'arp-reply' ? arpAnswered : s.frame === 'arp-request' ? asked : delivered);
  if (!toContainer) return { lo: placeResolution, container };
  const vethCross = at(veth, 'veth-cross'), answerForwarded = at(send, 'bridge-forward');
  const intoBridge: RolePlacer = hostAsksAt === undefined
    ? () => vethCross
    : (s) => (s.frame === 'arp-reply' ? answers : s.frame === 'arp-request' ? arpRequested : vethCross);
  const bridgePort: RolePlacer = (s) => s.way === 'out'
    ? intoBridge(s)
    : s.frame === 'arp-reply' ? answerForwarded : hostAsksAt !== undefined && s.frame === 'arp-request' ? asked : toContainer(s);
  return { lo: placeResolution, container, 'bridge-port': bridgePort };
}

/**
 * A host resolving its next hop on the underlay (and the next hop answering), as its uplink
 * sends them: the step whose sending needs the MAC. Nothing that comes in is on the path.
 */
export function nextHopArp(step: number): RolePlacer {
  const request = at(step, 'arp-request'), reply = at(step, 'arp-reply');
  return (s) => (s.way !== 'out' ? undefined : s.frame === 'arp-request' ? request : s.frame === 'arp-reply' ? reply : undefined);
}

/**
 * The underlay of a path that wraps frames in UDP between hosts (VXLAN, weave's sleeve): the
 * host resolving the peer's address (its ARP) and the wrapped frame leaving its uplink at
 * `encap`, crossing the wire at `underlay`, taken by the peer's socket at `udpDeliver`.
 * Nothing unwrapped is on the path there but that ARP.
 */
export function udpTunnelUnderlay(steps: { encap: number; underlay: number; udpDeliver: number }): Record<'uplink' | 'segment', RolePlacer> {
  const peerArp = nextHopArp(steps.encap);
  const wrapped = at(steps.encap, 'encap'), crossing = at(steps.underlay, 'underlay'), taken = at(steps.udpDeliver, 'udp-deliver');
  return {
    uplink: (s) => (!s.encapsulated ? peerArp(s) : s.way === 'out' ? wrapped : taken),
    segment: (s) => (s.encapsulated ? crossing : undefined),
  };
}

/** The step after `step` in `order`; undefined after the last or off it. */
export function nextIn(order: readonly number[], step: number): number | undefined {
  const i = order.indexOf(step);
  return i >= 0 ? order[i + 1] : undefined;
}
