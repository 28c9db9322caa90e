/**
 * Weave Net's paths, sleeve and fastdp. Sleeve: from a container on one host's weave bridge to one on another's,
 * through the two hosts' routers (weaver). Weave is one Ethernet segment across the mesh:
 * nothing routes the packet (it arrives with the TTL it was sent with) and nothing answers
 * ARP on anyone's behalf; the request is flooded to every peer and the remote container
 * answers it itself. The bridge switches what leaves a container to vethwe-bridge, whose
 * other end the router captures on (vethwe-pcap); the router sends the frame behind its
 * sleeve header in UDP 6783 to the peer its MAC cache names (or to every peer), whose
 * router injects it on its own vethwe-pcap for its bridge to switch to the container.
 * On one host the bridge switches the frame between two ports: send, veth, deliver.
 */
import { registerPath } from './index';
import { at, containerSide, DropPoint, PathModel, pathModel, PathStep, placeByRole, RESOLVE_STEP, udpTunnelUnderlay } from './path';

const SEND = 1, VETH = 2, CAPTURE = 3, ENCAP = 4, UNDERLAY = 5, UDP = 6, INJECT = 7, DELIVER = 8;

/** The steps both datapaths share: the container's side and the underlay are the same. */
const RESOLVES_STEP: PathStep = { step: RESOLVE_STEP, name: 'resolve', says: 'the container asks the embedded DNS server (127.0.0.11) for the peer (the labs ping an address)' };
const SENDS_STEP: PathStep = { step: SEND, name: 'send', says: "the container sends on its ethwe0 to the peer's own MAC, after an ARP request the peer itself answers (the whole mesh is one Ethernet segment)" };
const CROSSES_VETH_STEP: PathStep = { step: VETH, name: 'veth', says: 'the frame crosses the veth to its host end, a port of the weave bridge' };
const UNDERLAY_CROSSING_STEP: PathStep = { step: UNDERLAY, name: 'underlay', says: 'the UDP datagram crosses the underlay' };
const DELIVERS_STEP: PathStep = { step: DELIVER, name: 'deliver', says: 'the bridge forwards it through the veth to the container, whose ethwe0 takes it' };

const FASTDP_STEPS: readonly PathStep[] = [
  RESOLVES_STEP,
  SENDS_STEP,
  CROSSES_VETH_STEP,
  { step: CAPTURE, name: 'datapath', says: "the bridge switches it to vethwe-bridge; the Open vSwitch datapath takes it in on vethwe-datapath and runs its flow's actions; the first frame misses and goes up to the router, which learns the source MAC as local and installs the flow: set_tunnel (the two peers' short ids) and output to vxlan-6784, for every peer when the destination is unknown" },
  { step: ENCAP, name: 'encap', says: "vxlan-6784 wraps it in UDP 6784 to the peer, the VNI made of the two peers' short ids (this peer's, the other's shifted by 12), DF set, no UDP checksum" },
  UNDERLAY_CROSSING_STEP,
  { step: UDP, name: 'udp-deliver', says: "the peer's vxlan-6784 socket (UDP 6784) takes it, the VNI kept as the tunnel's id" },
  { step: INJECT, name: 'datapath-in', says: "the peer's datapath runs the tunnel's flow (a miss goes to its router: the id names the sending peer, at which it learns the source MAC) and outputs it to vethwe-datapath; the bridge takes it in on vethwe-bridge" },
  DELIVERS_STEP,
];

const SLEEVE_STEPS: readonly PathStep[] = [
  RESOLVES_STEP,
  SENDS_STEP,
  CROSSES_VETH_STEP,
  { step: CAPTURE, name: 'capture', says: "the bridge switches it to vethwe-bridge; the router captures it on vethwe-pcap, learns the source MAC as local and looks the destination up: a MAC seen at a peer goes to that peer, anything else to every peer" },
  { step: ENCAP, name: 'encap', says: "the router sends it in UDP 6783 to the peer's router, behind its sleeve header (its own name; the frame's source and destination peers and length)" },
  UNDERLAY_CROSSING_STEP,
  { step: UDP, name: 'udp-deliver', says: "the peer's router reads it on its UDP 6783 socket and learns the frame's source MAC at the sending peer" },
  { step: INJECT, name: 'inject', says: 'the router injects the frame on its vethwe-pcap; the bridge takes it in on vethwe-bridge' },
  DELIVERS_STEP,
];

const ACROSS_HOSTS: readonly number[] = [SEND, VETH, CAPTURE, ENCAP, UNDERLAY, UDP, INJECT, DELIVER];
const WITHIN_HOST: readonly number[] = [SEND, VETH, DELIVER];
const OFF_HOST: readonly number[] = [CAPTURE, ENCAP, UNDERLAY, UDP, INJECT];

const PLACES = {
  captured: at(CAPTURE, 'forward'), flooded: at(CAPTURE, 'bridge-flood'),
  injected: at(INJECT, 'decap'),
  toContainer: at(DELIVER, 'bridge-forward'),
};

/**
 * Where a sighting falls, the same on both datapaths (the router's device or the datapath's, then the wire).
 * The weave bridge has no address unless exposed: what reaches its own stack is off this path.
 */
const placeOnWeave = placeByRole({
  ...containerSide({ send: SEND, veth: VETH, deliver: DELIVER, toContainer: () => PLACES.toContainer }),
  router: (s) => (s.way === 'out' ? (s.flood ? PLACES.flooded : PLACES.captured) : PLACES.injected),
  // The host resolving the peer router's MAC (and the peer answering) belongs to the sending that needs it.
  ...udpTunnelUnderlay({ encap: ENCAP, underlay: UNDERLAY, udpDeliver: UDP }),
});

/** Both datapaths share the places and verdicts; they differ in their steps and where a frame that cannot leave dies. */
function weavePath(id: PathModel['id'], says: string, steps: readonly PathStep[], encapDrop: number): PathModel<'weave' | 'local'> {
  return pathModel({
    id,
    says,
    steps,
    along: ACROSS_HOSTS,
    place: placeOnWeave,
    drops: { socket: SEND, encap: encapDrop } satisfies Partial<Record<DropPoint, number>>,
    verdicts: [
      { kind: 'weave', steps: ACROSS_HOSTS },
      { kind: 'local', steps: WITHIN_HOST, never: OFF_HOST },
    ],
  });
}

export const weaveFastdpPath = weavePath('weave-fastdp',
  "a container to another across Weave Net's mesh, through each host's Open vSwitch datapath and its VXLAN vport (UDP 6784, the VNI made of the peers' short ids), or on one host through the weave bridge",
  FASTDP_STEPS, ENCAP);

export const weaveSleevePath = weavePath('weave-sleeve',
  "a container to another across Weave Net's mesh, its routers relaying frames in UDP 6783 (sleeve), or on one host through the weave bridge",
  SLEEVE_STEPS, CAPTURE);

declare module './index' {
  interface RegisteredPaths {
    'weave-sleeve': typeof weaveSleevePath;
    'weave-fastdp': typeof weaveFastdpPath;
  }
}

registerPath('weave-sleeve', weaveSleevePath, { rank: 70 });
registerPath('weave-fastdp', weaveFastdpPath, { rank: 80 });
