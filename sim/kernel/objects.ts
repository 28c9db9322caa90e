/**
 * The simulated kernel's objects, each standing for what Linux has: a network namespace
 * with its links, routes and neighbour table; veth pairs; a learning bridge; a vxlan device
 * with its own FDB and UDP socket; the host's underlay interface.
 */
import type { VxlanAttrs } from '../plan/ops';

export type LinkType = 'loopback' | 'veth' | 'bridge' | 'vxlan' | 'underlay';

export interface Address {
  ip: string;
  prefixLength: number;
}

export interface Route {
  /** 'default' or a.b.c.d/n */
  dst: string;
  via?: string;
  dev: string;
}

export type NeighState = 'PERMANENT' | 'REACHABLE' | 'INCOMPLETE' | 'STALE';

export interface Neigh {
  ip: string;
  dev: string;
  mac?: string;
  state: NeighState;
}

export interface BridgeFdbEntry {
  port: SimLink;
  /** The bridge's own ports' addresses, never aged. */
  local: boolean;
  updatedNs: number;
}

export interface VxlanState extends VxlanAttrs {
  /** Remote VTEP per inner MAC ('self' entries: `bridge fdb add … dst X self`). */
  fdb: Map<string, { dst: string; permanent: boolean }>;
  /** The namespace whose UDP socket carries this device's packets (where it was created). */
  linkNetns: SimNetns;
}

export class SimLink {
  master?: SimLink;
  peer?: SimLink;
  up = false;
  readonly addrs: Address[] = [];
  /** Bridges only: ports and the learned/local forwarding table. */
  readonly ports = new Set<SimLink>();
  readonly fdb = new Map<string, BridgeFdbEntry>();
  vxlan?: VxlanState;
  /** An explicitly set MAC; a bridge without one takes its lowest port's. */
  private ownMac: string;
  explicitMac = false;

  constructor(
    readonly ifindex: number,
    public name: string,
    readonly type: LinkType,
    mac: string,
    public mtu: number,
    public netns: SimNetns,
  ) {
    this.ownMac = mac;
  }

  get mac(): string {
    if (this.type !== 'bridge' || this.explicitMac || this.ports.size === 0) return this.ownMac;
    return [...this.ports].map((p) => p.mac).sort()[0];
  }

  set mac(value: string) {
    this.ownMac = value;
    this.explicitMac = true;
  }

  /** Up and, for a veth, its peer up too (LOWER_UP). */
  get carrier(): boolean {
    if (!this.up) return false;
    if (this.type === 'veth') return !!this.peer?.up;
    return true;
  }
}

export class SimNetns {
  readonly links = new Map<string, SimLink>();
  readonly routes: Route[] = [];
  readonly neigh = new Map<string, Neigh>();
  readonly files = new Map<string, string>();

  constructor(readonly name: string, readonly host: SimHost) {}

  linkByIndex(ifindex: number): SimLink | undefined {
    for (const l of this.links.values()) if (l.ifindex === ifindex) return l;
    return undefined;
  }
}

export class SimHost {
  readonly namespaces = new Map<string, SimNetns>();
  /** Interface indexes are per kernel; every namespace's lo is 1. */
  nextIfindex = 2;

  constructor(readonly name: string) {}

  get rootNetns(): SimNetns {
    return this.namespaces.get(this.name)!;
  }
}
