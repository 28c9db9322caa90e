/** The trace format `cnmlab-trace/1` (DESIGN §5), shared by sim, emu, viz, verify and replay. */
import type { Layer } from '../wire/layer';

export const TRACE_FORMAT = 'cnmlab-trace/1';

export type HopEvent =
  | 'send' | 'arp-request' | 'arp-proxy-reply' | 'arp-reply' | 'veth-cross' | 'bridge-forward' | 'bridge-flood'
  | 'encap' | 'underlay' | 'udp-deliver' | 'decap' | 'deliver' | 'dns-query' | 'dns-answer' | 'fragment' | 'drop';

export interface Hop {
  /** 0–8 as in DESIGN §2; absent for hops outside the eight steps. */
  step?: number;
  dir: 'request' | 'reply';
  host: string;
  netns: string;
  device: string;
  event: HopEvent;
  timeNs: number;
  layers: Layer[];
  note?: string;
  /** For drops: why. */
  reason?: string;
}

export interface Flow {
  id: string;
  kind: 'icmp-echo' | 'dns' | 'other';
  from: string;
  to: string;
  hops: Hop[];
  /** Hops past MAX_HOPS_PER_FLOW (a long flood): they happened and were counted, but not kept. */
  hopsNotKept?: number;
}

/**
 * A flow keeps its first hops whole, enough for hundreds of echoes; a 100k-echo flood
 * would otherwise need gigabytes of trace for hops that all look alike.
 */
export const MAX_HOPS_PER_FLOW = 10_000;

export interface Topology {
  hosts: { name: string; underlay: string }[];
  namespaces: { host: string; name: string; kind: 'host' | 'overlay' | 'container' | 'lb' | 'ingress'; container?: string; network?: string }[];
  links: { host: string; netns: string; device: string; kind: string; peer?: { netns: string; device: string }; master?: string; addresses?: string[]; mac?: string }[];
}

export interface Trace {
  format: typeof TRACE_FORMAT;
  scenario: string;
  mode: 'sim' | 'emu' | 'replay';
  topology: Topology;
  flows: Flow[];
}
