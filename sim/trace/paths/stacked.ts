/**
 * The path of a container whose eth0 is a device stacked on its host's eth0 (macvlan,
 * ipvlan): what it sends leaves the parent unchanged (no bridge, no routing, no
 * encapsulation), crosses the segment, and the peer host's eth0 hands it to the device the
 * frame is for. On one host the parent's port hands a frame for a sibling across directly:
 * 1 send, 5 deliver. Each kind says in its own words what its device does at each step.
 */
import { at, containerSide, DropPoint, pathModel, PathModel, PathStep, placeByRole, RESOLVE_STEP, RolePlacer } from './path';

const SEND = 1, PARENT = 2, UNDERLAY = 3, PARENT_IN = 4, DELIVER = 5;

/** The steps by name. */
export const STACKED_STEP = { resolve: RESOLVE_STEP, send: SEND, parent: PARENT, underlay: UNDERLAY, parentIn: PARENT_IN, deliver: DELIVER } as const;

const ALONG: readonly number[] = [SEND, PARENT, UNDERLAY, PARENT_IN, DELIVER];

/** A parent carrying a container's frame, out or in: the packet as its port passes it, an ARP exchange as itself. */
function parentAt(step: number): RolePlacer {
  const passed = at(step, 'bridge-forward'), request = at(step, 'arp-request'), reply = at(step, 'arp-reply');
  return (s) => (s.frame === 'arp-request' ? request : s.frame === 'arp-reply' ? reply : s.frame === 'ip' ? passed : undefined);
}

const parentOut = parentAt(PARENT), parentIn = parentAt(PARENT_IN), crossing = at(UNDERLAY, 'underlay');

const placeOnStacked = placeByRole({
  // The container's eth is no veth: nothing is crossed or bridged between it and the parent.
  ...containerSide({ send: SEND, veth: PARENT, deliver: DELIVER }),
  // Neither tunnelled nor routed: the host's own traffic on its eth0 is off the path.
  uplink: (s) => (s.encapsulated || s.forwarded ? undefined : s.way === 'out' ? parentOut(s) : parentIn(s)),
  segment: (s) => (s.encapsulated ? undefined : crossing),
});

/** What a stacked kind's device does at each step, in its words. */
export interface StackedPathWords {
  send: string;
  parent: string;
  underlay: string;
  parentIn: string;
  deliver: string;
}

/** A stacked kind's path model: its id (also its verdict's name), its one line and its steps' words. */
export function stackedPath<K extends string>(id: K, says: string, words: StackedPathWords): PathModel<K | 'local'> {
  const steps: readonly PathStep[] = [
    { step: RESOLVE_STEP, name: 'resolve', says: "the container asks the embedded DNS server (127.0.0.11), which knows only its own host's containers on the network" },
    { step: SEND, name: 'send', says: words.send },
    { step: PARENT, name: 'parent', says: words.parent },
    { step: UNDERLAY, name: 'underlay', says: words.underlay },
    { step: PARENT_IN, name: 'parent-in', says: words.parentIn },
    { step: DELIVER, name: 'deliver', says: words.deliver },
  ];
  return pathModel<K | 'local'>({
    id,
    says,
    steps,
    along: ALONG,
    place: placeOnStacked,
    drops: { socket: SEND } satisfies Partial<Record<DropPoint, number>>,
    // On one host the packet never reaches the wire (an ARP broadcast still leaves by the parent).
    verdicts: [{ kind: id, steps: ALONG }, { kind: 'local', steps: [SEND, DELIVER], never: [UNDERLAY] }],
  });
}
