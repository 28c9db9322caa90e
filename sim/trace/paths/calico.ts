/**
 * Calico's path: a container to another on a Calico network, on another host. Calico never
 * bridges: the container sends to its gateway 169.254.1.1 (the host end of its veth, cali…,
 * answers the ARP by proxy), the host routes the packet (TTL − 1) by the route BGP or Felix
 * gave it for the remote block: out of eth0 as it is (BGP), into tunl0 (IP-in-IP) or into
 * vxlan.calico (VXLAN), whose tunnel wraps it; the peer host takes it (its tunnel unwraps
 * it) and routes it (TTL − 1) by the workload's /32 out of its cali device, with a static
 * neighbour entry, into the container. The echo arrives with TTL 62. The reply walks the
 * same kinds of places, so its hops carry the same step numbers.
 */
import { registerPath } from './index';
import { at, containerSide, DropPoint, nextHopArp, pathModel, placeByRole, RESOLVE_STEP, Sighting } from './path';

const RESOLVE = RESOLVE_STEP, SEND = 1, VETH = 2, ROUTE = 3, ENCAP = 4, UNDERLAY = 5, ARRIVE = 6, PEER_ROUTE = 7, DELIVER = 8;

export const CALICO_STEPS: readonly { step: number; name: string; says: string }[] = [
  { step: RESOLVE, name: 'resolve', says: 'the container asks the embedded DNS server (127.0.0.11) for the peer' },
  { step: SEND, name: 'send', says: 'the container sends on its eth0 to its gateway 169.254.1.1, whose ARP the host end of its veth (cali…) answers by proxy' },
  { step: VETH, name: 'veth', says: "the frame crosses the veth to cali…, and the host's IP stack takes it" },
  { step: ROUTE, name: 'route', says: 'the host routes it (TTL − 1) by the remote block\'s route: out of eth0 as it is (BGP), into tunl0 (IP-in-IP) or vxlan.calico (VXLAN)' },
  { step: ENCAP, name: 'encap', says: 'the tunnel wraps it (IP protocol 4, or VXLAN on UDP 4789, VNI 4096) and it leaves eth0' },
  { step: UNDERLAY, name: 'underlay', says: 'the packet crosses the underlay' },
  { step: ARRIVE, name: 'arrive', says: 'the peer host takes it on eth0 (and its tunnel device unwraps it)' },
  { step: PEER_ROUTE, name: 'peer-route', says: "the peer routes it (TTL − 1) by the workload's /32 out of its cali… device, with a static neighbour entry" },
  { step: DELIVER, name: 'deliver', says: "the veth carries it into the container, whose eth0 takes it" },
];

/** The steps by name. */
export const CALICO_STEP = { resolve: RESOLVE, send: SEND, veth: VETH, route: ROUTE, encap: ENCAP, underlay: UNDERLAY, arrive: ARRIVE, peerRoute: PEER_ROUTE, deliver: DELIVER } as const;

const ALONG: readonly number[] = [SEND, VETH, ROUTE, ENCAP, UNDERLAY, ARRIVE, PEER_ROUTE, DELIVER];

const PLACES = {
  proxyAnswer: at(SEND, 'arp-proxy-reply'), arpAtHostEnd: at(SEND, 'arp-request'),
  vethCross: at(VETH, 'veth-cross'),
  route: at(ROUTE, 'forward'),
  encap: at(ENCAP, 'encap'),
  underlay: at(UNDERLAY, 'underlay'),
  arrive: at(ARRIVE, 'forward'), udpDeliver: at(ARRIVE, 'udp-deliver'), ipipDeliver: at(ARRIVE, 'decap'), decap: at(ARRIVE, 'decap'),
  peerRoute: at(PEER_ROUTE, 'forward'),
};

// Resolving the next hop on the underlay (the peer's address, or its VTEP's) belongs to the packet leaving.
const nextHop = nextHopArp(ENCAP);

// vxlan.calico and tunl0: the host routes the packet into it; it comes out unwrapped on the peer.
const tunnel = (s: Sighting) => (s.frame !== 'ip' ? undefined : s.way === 'out' ? PLACES.route : PLACES.decap);

const placeOnCalico = placeByRole({
  // The veth ends at no bridge: the host end is Calico's own.
  ...containerSide({ send: SEND, veth: VETH, deliver: DELIVER }),
  'host-end': (s) => s.way === 'out'
    ? (s.frame === 'arp-request' ? PLACES.arpAtHostEnd : s.frame === 'ip' ? PLACES.vethCross : undefined)
    // Toward the container: the proxy's answer, or the packet the host routed out of it.
    : (s.frame === 'arp-reply' ? PLACES.proxyAnswer : s.frame === 'ip' ? PLACES.peerRoute : undefined),
  tunnel,
  vxlan: tunnel,
  uplink: (s) => {
    if (s.frame === 'arp-request' || s.frame === 'arp-reply') return nextHop(s);
    if (s.frame !== 'ip') return undefined;
    if (s.way === 'out') return s.encapsulated ? PLACES.encap : PLACES.route;
    return !s.encapsulated ? PLACES.arrive : s.ipip ? PLACES.ipipDeliver : PLACES.udpDeliver;
  },
  segment: (s) => (s.frame === 'ip' ? PLACES.underlay : undefined),
});

const DROP_STEP: Partial<Record<DropPoint, number>> = { socket: SEND, forward: ROUTE, encap: ENCAP };

export const calicoPath = pathModel({
  id: 'calico',
  says: 'a container to another on a Calico network on another host: proxy ARP, routed by both hosts (BGP, IP-in-IP or VXLAN between them)',
  steps: CALICO_STEPS,
  along: ALONG,
  place: placeOnCalico,
  drops: DROP_STEP,
  // Last seen crossing into the host and lost: its routing (a route, forwarding, a FORWARD rule) stopped it.
  dropPointAfter: (step) => (step === VETH ? 'forward' : undefined),
  // Through a tunnel every step; without one (BGP) there is nothing to wrap.
  verdicts: [{ kind: 'calico', steps: ALONG }, { kind: 'calico', steps: ALONG.filter((s) => s !== ENCAP) }],
});

declare module './index' {
  interface RegisteredPaths {
    calico: typeof calicoPath;
  }
}

registerPath('calico', calicoPath, { rank: 60 });
