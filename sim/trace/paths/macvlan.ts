/**
 * The macvlan driver's path: a container to another on a macvlan network of the same parent
 * (the hosts' eth0 on one L2 segment). The container's eth0 is a macvlan device on its host's
 * eth0: what it sends leaves the parent unchanged, with the container's own MAC and address
 * (no bridge, no routing, no encapsulation), crosses the segment, and the peer host's eth0
 * hands it to the macvlan with the destination MAC. On one host (bridge mode) the parent's
 * port hands a frame for a sibling across directly: 1 send, 5 deliver.
 */
import { at, containerSide, DropPoint, pathModel, PathStep, placeByRole, RESOLVE_STEP, RolePlacer } from './path';

const SEND = 1, PARENT = 2, UNDERLAY = 3, PARENT_IN = 4, DELIVER = 5;

const MACVLAN_STEPS: readonly PathStep[] = [
  { step: RESOLVE_STEP, name: 'resolve', says: "the container asks the embedded DNS server (127.0.0.11), which knows only its own host's containers on the network" },
  { step: SEND, name: 'send', says: "the container sends on its eth0, a macvlan device on the host's eth0 (and resolves the peer's MAC over the wire)" },
  { step: PARENT, name: 'parent', says: "the host's eth0 sends the frame unchanged, from the container's own MAC (a sibling's MAC on the same parent would be handed across in bridge mode)" },
  { step: UNDERLAY, name: 'underlay', says: 'the frame crosses the underlay segment, whose switch knows the container\'s MAC behind its host\'s port' },
  { step: PARENT_IN, name: 'parent-in', says: "the peer host's eth0 takes it; its macvlan port hands it to the macvlan device with the destination MAC" },
  { step: DELIVER, name: 'deliver', says: "the destination container's eth0 (that macvlan) takes it" },
];

/** The steps by name. */
export const MACVLAN_STEP = { resolve: RESOLVE_STEP, send: SEND, parent: PARENT, underlay: UNDERLAY, parentIn: PARENT_IN, deliver: DELIVER } as const;

const ALONG: readonly number[] = [SEND, PARENT, UNDERLAY, PARENT_IN, DELIVER];

/** A parent carrying a container's frame, out or in: the packet as its macvlan port passes it, an ARP exchange as itself. */
function parentAt(step: number): RolePlacer {
  const passed = at(step, 'bridge-forward'), request = at(step, 'arp-request'), reply = at(step, 'arp-reply');
  return (s) => (s.frame === 'arp-request' ? request : s.frame === 'arp-reply' ? reply : s.frame === 'ip' ? passed : undefined);
}

const parentOut = parentAt(PARENT), parentIn = parentAt(PARENT_IN), crossing = at(UNDERLAY, 'underlay');

const placeOnMacvlan = placeByRole({
  // The container's eth is no veth: nothing is crossed or bridged between it and the parent.
  ...containerSide({ send: SEND, veth: PARENT, deliver: DELIVER }),
  // Neither tunnelled nor routed: the host's own traffic on its eth0 is off the path.
  uplink: (s) => (s.encapsulated || s.forwarded ? undefined : s.way === 'out' ? parentOut(s) : parentIn(s)),
  segment: (s) => (s.encapsulated ? undefined : crossing),
});

export const macvlanPath = pathModel({
  id: 'macvlan',
  says: "a container to another on a macvlan network, straight over the hosts' shared L2 segment (or across the parent's port on one host)",
  steps: MACVLAN_STEPS,
  along: ALONG,
  place: placeOnMacvlan,
  drops: { socket: SEND } satisfies Partial<Record<DropPoint, number>>,
  // On one host the packet never reaches the wire (the ARP broadcast still leaves by the parent, as bridge mode sends it both ways).
  verdicts: [{ kind: 'macvlan', steps: ALONG }, { kind: 'local', steps: [SEND, DELIVER], never: [UNDERLAY] }],
});
