/**
 * The bridge driver's path: a container to another on the same Linux bridge in the host
 * namespace (docker0, a user bridge br-<id>). The frame leaves the container's eth0,
 * crosses its veth to the host end, a port of the bridge; the bridge forwards it (or floods
 * it, unknown or broadcast) to the destination's port, whose veth carries it into the other
 * container. No routing, no encapsulation: the host's IP stack never sees it.
 */
import { gwbridgePath } from './gwbridge';
import { registerPath } from './index';
import { at, containerSide, DropPoint, pathModel, placeByRole, RESOLVE_STEP } from './path';

const RESOLVE = RESOLVE_STEP, SEND = 1, VETH = 2, BRIDGE = 3, DELIVER = 4;

const BRIDGE_STEPS: readonly { step: number; name: string; says: string }[] = [
  { step: RESOLVE, name: 'resolve', says: 'the container asks the embedded DNS server (127.0.0.11) for the peer (a user bridge; docker0 has none)' },
  { step: SEND, name: 'send', says: "the container sends on its eth0 (and resolves the peer's MAC)" },
  { step: VETH, name: 'veth', says: 'the frame crosses the veth to its host end, a port of the bridge in the host namespace' },
  { step: BRIDGE, name: 'bridge', says: "the bridge forwards it by its FDB (or floods it) out of the destination's port" },
  { step: DELIVER, name: 'deliver', says: "the destination's veth carries it into the container, whose eth0 takes it" },
];

/** The steps by name. */
export const BRIDGE_STEP = { resolve: RESOLVE, send: SEND, veth: VETH, bridge: BRIDGE, deliver: DELIVER } as const;

const ALONG: readonly number[] = [SEND, VETH, BRIDGE, DELIVER];

const toPort = at(BRIDGE, 'bridge-forward'), floodedToPort = at(BRIDGE, 'bridge-flood');

/**
 * Only the containers' side: the bridge's own address, vxlan, the uplink and the wire are not
 * on the way between two of its ports.
 */
const placeOnBridge = placeByRole(containerSide({
  send: SEND, veth: VETH, deliver: DELIVER,
  // An ARP request is broadcast: the bridge floods it to every port but the one it came in on.
  toContainer: (s) => (s.frame === 'arp-request' ? floodedToPort : toPort),
}));

// With bridge-nf-call-iptables, the host's FORWARD chain sees the frame as the bridge forwards it.
const DROP_STEP: Partial<Record<DropPoint, number>> = { socket: SEND, forward: BRIDGE };

export const bridgePath = pathModel({
  id: 'bridge',
  says: 'a container to another on one Linux bridge in the host namespace (docker0, a user bridge)',
  steps: BRIDGE_STEPS,
  along: ALONG,
  place: placeOnBridge,
  drops: DROP_STEP,
  verdicts: [{ kind: 'local', steps: ALONG }],
});

declare module './index' {
  interface RegisteredPaths {
    bridge: typeof bridgePath;
    gwbridge: typeof gwbridgePath;
  }
}

registerPath('bridge', bridgePath, { rank: 20 });
// The bridge driver's outside path (its `outsidePath`): docker_gwbridge is a bridge network,
// so what leaves a container through it is the bridge driver's to name and register.
registerPath('gwbridge', gwbridgePath, { rank: 30 });
