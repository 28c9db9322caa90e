/**
 * The overlay driver's path: the steps a packet takes from one container to another across
 * Docker's VXLAN overlay, what each step is called, where a sighting of a frame at a device
 * falls on them, and the hop notes sim, emu and replay word alike.
 */
import { registerPath } from './index';
import { at, containerSide, DropPoint, pathModel, placeByRole, RESOLVE_STEP, udpTunnelUnderlay } from './path';

const RESOLVE = RESOLVE_STEP, SEND = 1, VETH = 2, BRIDGE = 3, ENCAP = 4, UNDERLAY = 5, UDP = 6, DECAP = 7, DELIVER = 8;

/** The steps, numbered as the seed lab's tutorial walks them. */
const OVERLAY_STEPS: readonly { step: number; name: string; says: string }[] = [
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

/** Across the overlay: every step, in order. */
const ACROSS_HOSTS: readonly number[] = [SEND, VETH, BRIDGE, ENCAP, UNDERLAY, UDP, DECAP, DELIVER];
/** Between two containers of the overlay on one host: br0 switches the frame between its ports. */
const WITHIN_HOST: readonly number[] = [SEND, VETH, DELIVER];
/** The steps that only a frame leaving the host takes. */
const OFF_HOST: readonly number[] = [ENCAP, UNDERLAY, UDP];

const DROP_STEP: Partial<Record<DropPoint, number>> = { socket: SEND, 'arp-reduce': BRIDGE, encap: ENCAP };

const PLACES = {
  bridgeForward: at(BRIDGE, 'bridge-forward'), bridgeFlood: at(BRIDGE, 'bridge-flood'), arpProxy: at(BRIDGE, 'arp-proxy-reply'),
  decap: at(DECAP, 'decap'),
  toContainer: at(DELIVER, 'bridge-forward'),
};

/** The step and event of a sighting; undefined when the frame is not on the path there. */
const placeOnOverlay = placeByRole({
  ...containerSide({ send: SEND, veth: VETH, deliver: DELIVER, toContainer: () => PLACES.toContainer }),
  vxlan: (s) => s.way === 'out'
    ? (s.flood ? PLACES.bridgeFlood : PLACES.bridgeForward)
    : (s.frame === 'arp-reply' && s.proxied ? PLACES.arpProxy : PLACES.decap),
  // The host resolving the peer VTEP's MAC (and the peer answering) belongs to the encapsulation that needs it.
  ...udpTunnelUnderlay({ encap: ENCAP, underlay: UNDERLAY, udpDeliver: UDP }),
  // bridge: br0 has no address, so the host's stack never takes an overlay frame up from it.
});

export const overlayPath = pathModel({
  id: 'overlay',
  says: "a container to another across Docker's VXLAN overlay (or on one host through br0)",
  steps: OVERLAY_STEPS,
  along: ACROSS_HOSTS,
  place: placeOnOverlay,
  drops: DROP_STEP,
  // Last seen entering vxlan0 (br0 handed it over): whether vxlan0 could encapsulate it is its FDB's to say.
  dropPointAfter: (step) => (step === BRIDGE ? 'encap' : undefined),
  verdicts: [
    { kind: 'overlay', steps: ACROSS_HOSTS },
    { kind: 'local', steps: WITHIN_HOST, never: OFF_HOST },
  ],
});

declare module './index' {
  interface RegisteredPaths {
    overlay: typeof overlayPath;
  }
}

registerPath('overlay', overlayPath, { rank: 10 });
