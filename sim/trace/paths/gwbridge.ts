/**
 * The path from a container to the outside through the host bridge that carries its
 * default route: docker_gwbridge for a container on an overlay (or internal-less swarm)
 * network, docker0 for one on the default bridge. The container's interface on that bridge
 * (eth1 beside an overlay's eth0) sends to the gateway, the bridge's own address; the veth
 * carries the frame to the bridge, which hands it up to the host's IP stack; the host
 * routes it out of its uplink (ip_forward), Docker's MASQUERADE rule giving it the host's
 * address; it crosses the underlay to the remote host, which takes it. The reply walks the
 * same places back, so its hops carry the same step numbers in the other order.
 */
import { at, containerSide, DropPoint, nextHopArp, pathModel, placeByRole, RESOLVE_STEP } from './path';

const RESOLVE = RESOLVE_STEP, SEND = 1, VETH = 2, BRIDGE = 3, FORWARD = 4, UNDERLAY = 5, REMOTE = 6;

const GWBRIDGE_STEPS: readonly { step: number; name: string; says: string }[] = [
  { step: RESOLVE, name: 'resolve', says: 'the container asks its resolver for the name' },
  { step: SEND, name: 'send', says: "the container sends on its interface on the gateway's bridge (eth1 on docker_gwbridge), to the gateway's MAC" },
  { step: VETH, name: 'veth', says: 'the frame crosses the veth to its host end, a port of the bridge' },
  { step: BRIDGE, name: 'bridge', says: "the bridge takes the frame for its own address up to the host's IP stack" },
  { step: FORWARD, name: 'forward', says: "the host routes it out of its uplink (ip_forward), masqueraded as the host's own address" },
  { step: UNDERLAY, name: 'underlay', says: 'the packet crosses the underlay' },
  { step: REMOTE, name: 'remote', says: 'the remote host takes it (and sends its reply from there)' },
];

/** The steps by name. */
export const GWBRIDGE_STEP = { resolve: RESOLVE, send: SEND, veth: VETH, bridge: BRIDGE, forward: FORWARD, underlay: UNDERLAY, remote: REMOTE } as const;

const ALONG: readonly number[] = [SEND, VETH, BRIDGE, FORWARD, UNDERLAY, REMOTE];

const PLACES = {
  vethCross: at(VETH, 'veth-cross'),
  bridge: at(BRIDGE, 'bridge-forward'), bridgeArpRequest: at(BRIDGE, 'arp-request'), bridgeArpReply: at(BRIDGE, 'arp-reply'),
  forward: at(FORWARD, 'forward'),
  underlay: at(UNDERLAY, 'underlay'),
  remoteTakes: at(REMOTE, 'deliver'), remoteAnswers: at(REMOTE, 'send'),
};

// Resolving the next hop's MAC (and the remote answering) belongs to the forwarding that needs it.
const nextHop = nextHopArp(FORWARD);

const placeOnGwbridge = placeByRole({
  // The reply comes back to the container that sent the request: it takes it where it sent.
  ...containerSide({ send: SEND, veth: VETH, deliver: SEND, toContainer: () => PLACES.vethCross }),
  bridge: (s) => (s.frame === 'arp-request' ? PLACES.bridgeArpRequest : s.frame === 'arp-reply' ? PLACES.bridgeArpReply : PLACES.bridge),
  uplink: (s) => {
    if (s.encapsulated) return undefined;
    if (s.frame === 'arp-request' || s.frame === 'arp-reply') return nextHop(s);
    if (s.forwarded) return PLACES.forward;
    // Not routed through: the remote host's own, the request it takes or the reply it sends.
    return s.way === 'in' ? PLACES.remoteTakes : PLACES.remoteAnswers;
  },
  segment: (s) => (s.encapsulated ? undefined : PLACES.underlay),
});

const DROP_STEP: Partial<Record<DropPoint, number>> = { socket: SEND, forward: FORWARD };

export const gwbridgePath = pathModel({
  id: 'gwbridge',
  says: "a container to the outside through the bridge of its default route (docker_gwbridge, docker0) and the host's routing",
  steps: GWBRIDGE_STEPS,
  along: ALONG,
  place: placeOnGwbridge,
  drops: DROP_STEP,
  // Last seen going up into the host's stack and lost: routing, ip_forward or a FORWARD rule stopped it.
  dropPointAfter: (step) => (step === BRIDGE ? 'forward' : undefined),
  verdicts: [{ kind: 'outside', steps: ALONG }],
});
