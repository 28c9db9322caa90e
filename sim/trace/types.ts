/** The trace format `cnmlab-trace/1` (DESIGN §5), shared by sim, emu, viz, verify and replay. */
import type { Layer } from '../wire/layer';
import type { PathId } from './paths';

export const TRACE_FORMAT = 'cnmlab-trace/1';

export type HopEvent =
  | 'send' | 'arp-request' | 'arp-proxy-reply' | 'arp-reply' | 'veth-cross' | 'bridge-forward' | 'bridge-flood'
  | 'encap' | 'underlay' | 'udp-deliver' | 'decap' | 'forward' | 'deliver' | 'dns-query' | 'dns-answer' | 'fragment' | 'drop'
  /**
   * The control plane acting for the flow, with no frame of its own (layers empty): a vxlan
   * device's miss notification, the query a daemon sends the cluster for the missing peer,
   * its answer, and the entries it programs (classic overlay mode's watchMiss).
   */
  | 'miss' | 'peer-query' | 'peer-answer' | 'peer-programmed';

export interface Hop {
  /** The step on the flow's path (its path model numbers them, from 0, resolve); absent for hops off the path. */
  step?: number;
  dir: 'request' | 'reply';
  host: string;
  netns: string;
  device: string;
  /**
   * The device that acted and handed the frame to `device`, where that is another device:
   * br0 for a bridge hop (`br0 → vxlan0`), vxlan0 for the encapsulation leaving on eth0.
   */
  actor?: string;
  event: HopEvent;
  timeNs: number;
  layers: Layer[];
  note?: string;
  /** For drops: why. */
  reason?: string;
}

export interface FlowOrigin {
  /** 1-based, as `run` and `verify` number a scenario's steps. */
  step: number;
  /** The host or container the command ran on. */
  on: string;
  command: string;
}

/**
 * What a control-plane flow is (a flow of kind `control-plane`): dockerd's own traffic between
 * swarm nodes, on the underlay, no step of any path. memberlist (NetworkDB) on 7946: a probe
 * (UDP ping and ack), a push/pull (TCP, each side's state), NetworkDB's gossip of a table
 * event (UDP) and its bulk sync (TCP, one way); swarmkit on 2377: a worker's heartbeat to
 * the manager (TLS records over the session's TCP connection). Weave Net's routers on 6783
 * (sim/kernel/weave_mesh.ts): a mesh connection's handshake (TCP, then each end's protocol
 * header, encryption flag and features), topology gossip and TCP heartbeats, and in sleeve
 * mode each forwarder's contact and path MTU checks (UDP 6783 and their answers on TCP).
 */
export type ControlKind = 'memberlist-probe' | 'memberlist-push-pull' | 'networkdb-gossip' | 'networkdb-bulk-sync' | 'swarm-heartbeat'
  | 'weave-handshake' | 'weave-topology-gossip' | 'weave-heartbeat' | 'weave-sleeve-pmtu';

export const CONTROL_KINDS: readonly ControlKind[] = ['memberlist-probe', 'memberlist-push-pull', 'networkdb-gossip', 'networkdb-bulk-sync', 'swarm-heartbeat',
  'weave-handshake', 'weave-topology-gossip', 'weave-heartbeat', 'weave-sleeve-pmtu'];

export interface Flow {
  id: string;
  kind: 'icmp-echo' | 'dns' | 'control-plane' | 'other';
  /** A control-plane flow's kind; its hops carry no step, its from and to are hosts. */
  control?: ControlKind;
  from: string;
  to: string;
  /**
   * The path model its steps are numbered by (sim/trace/paths/): the one of the network
   * driver that carried it, `gwbridge` for a container's packet to the outside, `host` for a
   * ping from a host's own namespace where the host driver models its way. Absent: the
   * overlay's (traces made before flows named their path; a host's own ping elsewhere, as it
   * was placed before the host path).
   */
  path?: PathId;
  /**
   * Sent from a host's own namespace: a host's command, or a container's run with --network
   * host, on the host path. emu captures it where that path models the way (a container on
   * one of the host's bridges, another host on the underlay); elsewhere (a name, another
   * destination) it records the flow alone, and verify compares such a flow by its ends.
   */
  hostNamespace?: boolean;
  hops: Hop[];
  /** The scenario step whose command sent this flow (`step 10 · ubuntu0: ping -c 3 ubuntu1`); absent in replays. */
  origin?: FlowOrigin;
  /** Hops past MAX_HOPS_PER_FLOW (a long flood): they happened and were counted, but not kept. */
  hopsNotKept?: number;
}

/**
 * A flow keeps its first hops whole, enough for hundreds of echoes; a 100k-echo flood
 * would otherwise need gigabytes of trace for hops that all look alike.
 */
export const MAX_HOPS_PER_FLOW = 10_000;

/**
 * What a trace keeps of the control plane hop by hop: in each step, the first exchanges of
 * each kind, up to this many (a probe each second per node: a few nodes and a ping that
 * waits out its ten seconds, or a sleep of twenty)...
 */
export const CONTROL_KEPT_PER_STEP = 64;
/**
 * ...and, in the steps that traced none of the commands' flows (a `docker run`, a sleep),
 * only until the run's control flows kept from such steps hold this many hops. The rest
 * happened and are counted per step and kind (`Trace.controlNotKept`): a big swarm sends
 * thousands a second, and a first contact's ARP request crosses every port of its underlay.
 */
export const CONTROL_KEPT_UNTRACED_HOPS = 2048;

/** Exchanges of one kind a step's span carried that the trace counts but does not keep. */
export interface ControlNotKept {
  step: number;
  control: ControlKind;
  exchanges: number;
}

/**
 * When a namespace or device existed, in scenario steps (1-based; 0 is the lab before its
 * first step): it was there after step `since` and, unless `until` is absent (still there
 * at the end), last after step `until`. A flow of step s saw what existed as the step began
 * or as it ended, so a report draws the containers a packet reached even when a later step
 * removed them.
 */
export interface Lifetime {
  since?: number;
  until?: number;
}

export type TopologyNamespace = { host: string; name: string; kind: 'host' | 'overlay' | 'container' | 'lb' | 'ingress'; container?: string; network?: string } & Lifetime;
export type TopologyLink = { host: string; netns: string; device: string; kind: string; peer?: { netns: string; device: string }; master?: string; addresses?: string[]; mac?: string } & Lifetime;

/**
 * A user-space program packets pass through, which is no device: Weave Net's router
 * (weaver) in sleeve mode, which captures frames on one device and sends them from a UDP
 * socket, or in fastdp mode the datapath's controller, which installs its flows on a miss.
 * `devices` are those of its namespace it takes packets from or gives them to.
 */
export type TopologyProgram = { host: string; netns: string; name: string; role: 'router' | 'controller'; devices: string[] } & Lifetime;

/**
 * A running container run with --network host: it has no namespace of its own but its host's
 * (libnetwork's default sandbox), so it is drawn in the host's namespace.
 */
export type TopologyHostModeContainer = { host: string; container: string } & Lifetime;

export interface Topology {
  hosts: { name: string; underlay: string }[];
  namespaces: TopologyNamespace[];
  links: TopologyLink[];
  /** Absent when there are none (every trace before Weave Net had none). */
  programs?: TopologyProgram[];
  /** Absent when there are none (every trace before --network host was modelled had none). */
  hostModeContainers?: TopologyHostModeContainer[];
}

export interface Trace {
  format: typeof TRACE_FORMAT;
  scenario: string;
  mode: 'sim' | 'emu' | 'replay';
  topology: Topology;
  flows: Flow[];
  /**
   * dockerd's own traffic between swarm nodes over the run's clock (kind `control-plane`,
   * each naming its ControlKind): beside the commands' flows, not among them, so a ping's
   * path reads as before. Absent when there was none.
   */
  control?: Flow[];
  /** The control plane's exchanges past what `control` keeps (CONTROL_KEPT_PER_STEP), by step and kind; absent when none were. */
  controlNotKept?: ControlNotKept[];
}
