/**
 * The ipvlan driver's path (l2 mode): a container to another on an ipvlan network of the same
 * parent (the hosts' eth0 on one L2 segment). The container's eth0 is an ipvlan device on its
 * host's eth0 and carries that eth0's MAC: what it sends leaves the parent unchanged (no
 * bridge, no routing, no encapsulation), from the host's MAC and the container's own address,
 * crosses the segment to the peer host's MAC, and the peer host's eth0 hands it to the ipvlan
 * that holds the destination address. On one host the port hands a frame for a sibling's
 * address across directly: 1 send, 5 deliver.
 */
import { at, containerSide, DropPoint, pathModel, PathStep, placeByRole, RESOLVE_STEP, RolePlacer } from './path';

const SEND = 1, PARENT = 2, UNDERLAY = 3, PARENT_IN = 4, DELIVER = 5;

const IPVLAN_STEPS: readonly PathStep[] = [
  { step: RESOLVE_STEP, name: 'resolve', says: "the container asks the embedded DNS server (127.0.0.11), which knows only its own host's containers on the network" },
  { step: SEND, name: 'send', says: "the container sends on its eth0, an ipvlan device on the host's eth0 with that eth0's MAC (and resolves the peer's MAC over the wire: the peer host's)" },
  { step: PARENT, name: 'parent', says: "the host's eth0 sends the frame unchanged (a sibling's address on the same parent would be handed across)" },
  { step: UNDERLAY, name: 'underlay', says: "the frame crosses the underlay segment, from one host's MAC to the other's" },
  { step: PARENT_IN, name: 'parent-in', says: "the peer host's eth0 takes it; its ipvlan port hands it to the ipvlan device that holds the destination address" },
  { step: DELIVER, name: 'deliver', says: "the destination container's eth0 (that ipvlan) takes it" },
];

/** The steps by name. */
export const IPVLAN_STEP = { resolve: RESOLVE_STEP, send: SEND, parent: PARENT, underlay: UNDERLAY, parentIn: PARENT_IN, deliver: DELIVER } as const;

const ALONG: readonly number[] = [SEND, PARENT, UNDERLAY, PARENT_IN, DELIVER];

/** A parent carrying a container's frame, out or in: the packet as its ipvlan port passes it, an ARP exchange as itself. */
function parentAt(step: number): RolePlacer {
  const passed = at(step, 'bridge-forward'), request = at(step, 'arp-request'), reply = at(step, 'arp-reply');
  return (s) => (s.frame === 'arp-request' ? request : s.frame === 'arp-reply' ? reply : s.frame === 'ip' ? passed : undefined);
}

const parentOut = parentAt(PARENT), parentIn = parentAt(PARENT_IN), crossing = at(UNDERLAY, 'underlay');

const placeOnIpvlan = placeByRole({
  // The container's eth is no veth: nothing is crossed or bridged between it and the parent.
  ...containerSide({ send: SEND, veth: PARENT, deliver: DELIVER }),
  // Neither tunnelled nor routed: the host's own traffic on its eth0 is off the path.
  uplink: (s) => (s.encapsulated || s.forwarded ? undefined : s.way === 'out' ? parentOut(s) : parentIn(s)),
  segment: (s) => (s.encapsulated ? undefined : crossing),
});

export const ipvlanPath = pathModel({
  id: 'ipvlan',
  says: "a container to another on an ipvlan network (l2), straight over the hosts' shared L2 segment from host MAC to host MAC (or across the parent's port on one host)",
  steps: IPVLAN_STEPS,
  along: ALONG,
  place: placeOnIpvlan,
  drops: { socket: SEND } satisfies Partial<Record<DropPoint, number>>,
  // On one host the packet never reaches the wire (the ARP broadcast still leaves by the parent).
  verdicts: [{ kind: 'ipvlan', steps: ALONG }, { kind: 'local', steps: [SEND, DELIVER], never: [UNDERLAY] }],
});
