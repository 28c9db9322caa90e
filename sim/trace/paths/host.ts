/**
 * The host network's path: a ping from a host's own namespace (a host's command, or a
 * container run with --network host, which shares it). No container's veth begins it: the
 * host's IP stack sends on the device its route names (ip_output), down through a bridge it
 * holds the gateway's address on (docker0, docker_gwbridge, a user bridge) or out of its
 * uplink; the bridge forwards the frame to the destination's port, or the underlay carries
 * it to the other host; the destination's namespace takes it and replies. The reply walks the
 * same places back, so its hops carry the same step numbers in the other order.
 */
import { registerPath } from './index';
import { at, DropPoint, nextHopArp, pathModel, placeByRole, placeResolution, RESOLVE_STEP, RolePlacer } from './path';

const RESOLVE = RESOLVE_STEP, SEND = 1, CARRY = 2, RECEIVE = 3;

const HOST_STEPS: readonly { step: number; name: string; says: string }[] = [
  { step: RESOLVE, name: 'resolve', says: "the host's resolver looks the name up" },
  { step: SEND, name: 'send', says: "the host's stack sends on the device its route names (ip_output): down through its bridge (docker0, docker_gwbridge) or out of its uplink (eth0), resolving the next hop's MAC there" },
  { step: CARRY, name: 'carry', says: "the bridge forwards the frame to the destination's port, or the underlay carries it to the other host" },
  { step: RECEIVE, name: 'receive', says: "the destination's namespace takes it (a container's eth0, the other host's uplink) and sends its reply from there" },
];

/** The steps by name. */
export const HOST_STEP = { resolve: RESOLVE, send: SEND, carry: CARRY, receive: RECEIVE } as const;

const ALONG: readonly number[] = [SEND, CARRY, RECEIVE];

const PLACES = {
  sent: at(SEND, 'send'), taken: at(SEND, 'deliver'), sendArpRequest: at(SEND, 'arp-request'), sendArpReply: at(SEND, 'arp-reply'),
  forwarded: at(CARRY, 'bridge-forward'), flooded: at(CARRY, 'bridge-flood'), vethCross: at(CARRY, 'veth-cross'), underlay: at(CARRY, 'underlay'),
  received: at(RECEIVE, 'deliver'), replied: at(RECEIVE, 'send'), receiveArpRequest: at(RECEIVE, 'arp-request'), receiveArpReply: at(RECEIVE, 'arp-reply'),
};

/** The host's ARP for its next hop, and the answer, belong to its sending (the destination's side answers the host's question). */
const bySender = (s: Parameters<RolePlacer>[0]) => (s.frame === 'arp-request' ? PLACES.sendArpRequest : s.frame === 'arp-reply' ? PLACES.sendArpReply : undefined);

const nextHop = nextHopArp(SEND);

const placeOnHost = placeByRole({
  lo: placeResolution,
  // The host's bridge: what the host sends down through it ('in'), what it takes up from its ports ('out').
  bridge: (s) => bySender(s) ?? (s.way === 'in' ? PLACES.sent : PLACES.taken),
  // The destination container's port: the bridge hands it the request ('in'); the reply comes in from the container ('out').
  'bridge-port': (s) => (s.way === 'out' ? PLACES.vethCross : s.frame === 'arp-request' ? PLACES.flooded : PLACES.forwarded),
  container: (s) => (s.frame === 'arp-request' ? PLACES.receiveArpRequest : s.frame === 'arp-reply' ? PLACES.receiveArpReply : s.way === 'in' ? PLACES.received : PLACES.replied),
  uplink: (s) => {
    if (s.encapsulated) return undefined;
    if (s.frame === 'arp-request' || s.frame === 'arp-reply') return nextHop(s);
    // The sender's uplink sends the request and takes the reply; the other host's takes the request and sends the reply.
    const atSender = (s.dir === 'reply') === (s.way === 'in');
    return atSender ? (s.way === 'out' ? PLACES.sent : PLACES.taken) : s.way === 'in' ? PLACES.received : PLACES.replied;
  },
  segment: (s) => (s.encapsulated ? undefined : PLACES.underlay),
});

const DROP_STEP: Partial<Record<DropPoint, number>> = { socket: SEND };

export const hostPath = pathModel({
  id: 'host',
  says: "a host's own namespace (a host's command, a --network host container) to a container on its bridge or another host on the underlay",
  steps: HOST_STEPS,
  along: ALONG,
  place: placeOnHost,
  drops: DROP_STEP,
  verdicts: [{ kind: 'host', steps: ALONG }],
});

declare module './index' {
  interface RegisteredPaths {
    host: typeof hostPath;
  }
}

registerPath('host', hostPath, { rank: 35 });
