/**
 * Flannel's paths beside Docker: from a container on one host's docker0 to a container on
 * another's, both in the flannel network. Each host routes the packet, so it crosses two
 * routers (TTL − 1 twice: the echo arrives with TTL 62). vxlan: the sending host routes it
 * into flannel.1 (an onlink route to the peer subnet's .0, a permanent neighbour: no ARP),
 * which wraps it in UDP 8472 (VNI 1) to the peer's address (its FDB entry); the peer's
 * flannel.1 takes the inner frame off and gives it to its stack, which routes it to docker0.
 * host-gw: the sending host routes it, unencapsulated, to the peer's underlay address; the
 * peer routes it to docker0. docker0 answers its containers' ARP for the gateway itself.
 * Both ends are containers, so the reply walks the same steps from the other side.
 */
import { registerPath } from './index';
import { at, containerSide, DropPoint, nextHopArp, pathModel, PathStep, placeByRole, RESOLVE_STEP, udpTunnelUnderlay } from './path';

const SEND = 1, VETH = 2, ROUTE = 3;

/** The sending side, the same on both backends. */
function sendingSteps(routeSays: string): PathStep[] {
  return [
    { step: RESOLVE_STEP, name: 'resolve', says: "the container asks its resolver (docker0's containers keep the host's: the labs ping an address)" },
    { step: SEND, name: 'send', says: "the container sends on its eth0 to its gateway's MAC (docker0 answers the ARP for its own address: nothing is proxied)" },
    { step: VETH, name: 'veth', says: 'the frame crosses the veth to its host end, a port of docker0, which takes it up to the host\'s IP stack' },
    { step: ROUTE, name: 'route', says: `the host routes it (TTL − 1) ${routeSays}` },
  ];
}

/**
 * Where the containers' own frames fall, the same on both backends: the container sending
 * and its ARP for the gateway at `send`; the frame into docker0 at `veth`; at the far end,
 * docker0 resolving the container (its ARP) and handing it the packet the host routed
 * (`routeIn`), the container taking it (`deliver`).
 */
function containersOn(routeIn: number, deliver: number) {
  const routedIn = at(routeIn, 'forward');
  return containerSide({ send: SEND, veth: VETH, deliver, toContainer: () => routedIn, hostAsksAt: routeIn });
}

// vxlan
const ENCAP = 4, UNDERLAY = 5, UDP = 6, DECAP = 7, ROUTE_IN = 8, DELIVER = 9;

export const FLANNEL_VXLAN_STEPS: readonly PathStep[] = [
  ...sendingSteps("into flannel.1, by the peer subnet's onlink route to its .0 (a permanent neighbour: no ARP)"),
  { step: ENCAP, name: 'encap', says: "flannel.1 finds the peer's VTEP MAC in its FDB and wraps the frame in UDP 8472, VNI 1, to the peer's address" },
  { step: UNDERLAY, name: 'underlay', says: 'the UDP datagram crosses the underlay' },
  { step: UDP, name: 'udp-deliver', says: "the peer host's UDP socket for port 8472 takes it" },
  { step: DECAP, name: 'decap', says: "the peer's flannel.1 takes the inner frame off; addressed to its own MAC, it goes up to the host's stack" },
  { step: ROUTE_IN, name: 'route-in', says: 'the peer host routes it (TTL − 1) to docker0, its connected subnet, which resolves the container and hands it on' },
  { step: DELIVER, name: 'deliver', says: "the veth carries it into the container, whose eth0 takes it" },
];

const VXLAN_ALONG: readonly number[] = [SEND, VETH, ROUTE, ENCAP, UNDERLAY, UDP, DECAP, ROUTE_IN, DELIVER];

const VXLAN_PLACES = { route: at(ROUTE, 'forward'), decap: at(DECAP, 'decap') };

// docker0 itself (role bridge) taking the packet up to the host's stack is off the path: the host routing it is.
const placeOnFlannelVxlan = placeByRole({
  ...containersOn(ROUTE_IN, DELIVER),
  vxlan: (s) => (s.frame !== 'ip' ? undefined : s.way === 'out' ? VXLAN_PLACES.route : VXLAN_PLACES.decap),
  // The host resolving the peer's VTEP on the underlay belongs to the encapsulation that needs it.
  ...udpTunnelUnderlay({ encap: ENCAP, underlay: UNDERLAY, udpDeliver: UDP }),
});

export const flannelVxlanPath = pathModel({
  id: 'flannel-vxlan',
  says: "a container on one host's docker0 to one on another's, routed by each host through flannel.1 (VXLAN, UDP 8472)",
  steps: FLANNEL_VXLAN_STEPS,
  along: VXLAN_ALONG,
  place: placeOnFlannelVxlan,
  drops: { socket: SEND, forward: ROUTE, encap: ENCAP } satisfies Partial<Record<DropPoint, number>>,
  dropPointAfter: (step) => (step === VETH ? 'forward' : step === ROUTE ? 'encap' : undefined),
  verdicts: [{ kind: 'flannel-vxlan', steps: VXLAN_ALONG }],
});

// host-gw
const HG_UNDERLAY = 4, HG_ROUTE_IN = 5, HG_DELIVER = 6;

export const FLANNEL_HOST_GW_STEPS: readonly PathStep[] = [
  ...sendingSteps("out of eth0, by the peer subnet's route via the peer's underlay address"),
  { step: HG_UNDERLAY, name: 'underlay', says: "the packet crosses the underlay unencapsulated (the hosts must share a link), from the host's address that Docker's MASQUERADE gave it" },
  { step: HG_ROUTE_IN, name: 'route-in', says: 'the peer host takes it on eth0 and routes it (TTL − 1) to docker0, which resolves the container and hands it on' },
  { step: HG_DELIVER, name: 'deliver', says: 'the veth carries it into the container, whose eth0 takes it' },
];

const HOST_GW_ALONG: readonly number[] = [SEND, VETH, ROUTE, HG_UNDERLAY, HG_ROUTE_IN, HG_DELIVER];

const HOST_GW_PLACES = { route: at(ROUTE, 'forward'), routeIn: at(HG_ROUTE_IN, 'forward'), underlay: at(HG_UNDERLAY, 'underlay') };

// The host resolving the peer's underlay address belongs to the routing that needs it.
const gatewayArp = nextHopArp(ROUTE);

const placeOnFlannelHostGw = placeByRole({
  ...containersOn(HG_ROUTE_IN, HG_DELIVER),
  uplink: (s) => (s.encapsulated ? undefined : s.frame !== 'ip' ? gatewayArp(s) : s.way === 'out' ? HOST_GW_PLACES.route : HOST_GW_PLACES.routeIn),
  segment: (s) => (s.encapsulated ? undefined : HOST_GW_PLACES.underlay),
});

export const flannelHostGwPath = pathModel({
  id: 'flannel-host-gw',
  says: "a container on one host's docker0 to one on another's, routed by each host straight over the underlay (no tunnel)",
  steps: FLANNEL_HOST_GW_STEPS,
  along: HOST_GW_ALONG,
  place: placeOnFlannelHostGw,
  drops: { socket: SEND, forward: ROUTE } satisfies Partial<Record<DropPoint, number>>,
  dropPointAfter: (step) => (step === VETH ? 'forward' : undefined),
  verdicts: [{ kind: 'flannel-host-gw', steps: HOST_GW_ALONG }],
});

declare module './index' {
  interface RegisteredPaths {
    'flannel-vxlan': typeof flannelVxlanPath;
    'flannel-host-gw': typeof flannelHostGwPath;
  }
}

registerPath('flannel-vxlan', flannelVxlanPath, { rank: 40 });
registerPath('flannel-host-gw', flannelHostGwPath, { rank: 50 });
