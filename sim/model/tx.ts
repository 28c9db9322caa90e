/** One scenario step's change to the world: the immer draft and the plan ops it emits. */
import { current, Draft, isDraft, original } from 'immer';
import { PlanOp } from '../plan/ops';
import { Container, Host, hostOf, inSwarm, instanceOf, Network, swarmNetwork, swarmNetworks, World } from './world';
import { hexId, Rng } from './ids';

/**
 * A wait of the daemon's own that the model decides (dockerd's 20 s for a swarm attachment
 * the manager cannot allocate). Neither mode sleeps it: sim's kernel has nothing to do
 * meanwhile, and emu runs no dockerd to wait for; the step's duration counts it, and the
 * step says it was modelled (runner/session.ts). The time dockerd takes over work it does
 * (a swarm network's attachment and start, containers.ts) moves the model's clock only: that
 * is the engine's pace, which emu's own run shows as it is, not a wait to report.
 */
export interface DaemonWait {
  ns: number;
  /** What the daemon waited for, in a few words. */
  why: string;
}

/** The first `upTo` ops of a step, and the world they make the kernel match (Tx.stage). */
export interface Stage {
  upTo: number;
  world: World;
}

/** Each run's underlay addresses by host name (Tx.underlayOf), keyed by the run's host list. */
const underlaysOfRun = new WeakMap<readonly string[], Map<string, string>>();

export class Tx {
  readonly ops: PlanOp[] = [];

  constructor(readonly w: Draft<World>) {}

  emit(...ops: PlanOp[]): void {
    for (const op of ops) this.ops.push(op);
  }

  /**
   * Where the ops so far must reach the kernel, with the world as it then was, before the
   * rest (stage): a backend that orders one op list its own way (emu makes a step's
   * namespaces before it deletes any) would otherwise delete what the step made again.
   */
  readonly stages: Stage[] = [];

  /** The daemon finished one piece of work whose kernel changes come first (a restart's stop, before its start). */
  stage(): void {
    this.stages.push({ upTo: this.ops.length, world: current(this.w) as World });
  }

  /** What the daemon spent waiting in this step (DaemonWait), in order. */
  readonly waits: DaemonWait[] = [];

  /**
   * The daemon waits `ns` before it goes on (for the manager, say): its clock runs on, and the
   * step that ran the command lasts that much longer in both modes.
   */
  daemonWaits(ns: number, why: string): void {
    this.w.clockNs += ns;
    this.waits.push({ ns, why });
  }

  private beforeWorld?: World;

  /** The world as it was when this step began: for lookups that need no draft (drafts cost a copy per read). */
  get before(): World {
    return (this.beforeWorld ??= (isDraft(this.w) ? original(this.w) : this.w) as World);
  }

  /** A host's underlay address (fixed for the whole scenario), read without drafting the host. */
  underlayOf(name: string): string {
    // Asked once per peer entry a step emits (a node joining a big swarm's ingress asks for every
    // other node's): kept by host name beside the scenario's host list, which no step replaces.
    const hosts = this.before.hostOrder;
    let underlays = underlaysOfRun.get(hosts);
    if (!underlays) underlaysOfRun.set(hosts, (underlays = new Map()));
    let underlay = underlays.get(name);
    if (underlay === undefined) {
      underlay = (hostOf(this.before, name) ?? this.host(name)).underlay;
      underlays.set(name, underlay);
    }
    return underlay;
  }

  private rngState?: Rng;

  /** The seeded generator, kept outside the draft while the step runs (a draft write per number is slow). */
  get rng(): Rng {
    return (this.rngState ??= { rng: this.w.rng });
  }

  /** Records this step made whole and put into the world (see made). */
  private readonly madeRecords: object[] = [];

  /**
   * A record (or list) the step made and put into the world, still written in this step,
   * frozen when the step ends: immer walks every new record it finds in a draft, key by key
   * and into its arrays, looking for drafts inside it, unless the record is frozen. A new
   * record holds no draft (it is made of the request's values), and a later step drafts it,
   * copying, like any other. The record is returned.
   */
  made<T extends object>(record: T): T {
    this.madeRecords.push(record);
    return record;
  }

  /** Ends the step: the generator's state goes back into the world, and the records it made are frozen. */
  commit(): void {
    if (this.rngState && this.rngState.rng !== this.w.rng) this.w.rng = this.rngState.rng;
    for (const record of this.madeRecords) Object.freeze(record);
  }

  private readonly hostDrafts = new Map<string, Draft<Host>>();

  host(name: string): Draft<Host> {
    let h = this.hostDrafts.get(name);
    if (!h) {
      h = hostOf(this.w, name);
      if (!h) throw new Error(`unknown host ${name}`);
      this.hostDrafts.set(name, h);
    }
    return h;
  }

  now(): number {
    return this.w.clockNs;
  }

  /** A host-side veth name as libnetwork makes them: "veth" + 7 hex characters. */
  vethName(): string {
    return `veth${hexId(this.rng, 7)}`;
  }
}

/**
 * A field of a draft as it stands, for reading only: a read through immer's draft drafts the
 * value read (a proxy, and a copy of its holder at the end of the step), which a step that only
 * reads wastes. The value is the step's own draft where the step drafted it already, its new
 * value where the step replaced it, the original otherwise: never write through it.
 */
export function fieldOf<T extends object, K extends keyof T & (string | number)>(o: T, key: K): T[K] {
  return isDraft(o) ? (Reflect.getOwnPropertyDescriptor(o, key)?.value as T[K]) : o[key];
}

/**
 * A host's local networks, to read what a network keeps for life (name, subnet): as the step
 * began (reading a draft copies it), or as made in this step. Keys come from the draft, so
 * networks made or removed in this step count.
 */
export function localNetworksRead(tx: Tx, host: string): Network[] {
  const before = hostOf(tx.before, host)?.localNetworks ?? {};
  const locals = tx.host(host).localNetworks;
  return Object.keys(locals).map((id) => before[id] ?? (locals[id] as Network));
}

/** The swarm's networks, to read what a network keeps for life (subnet, VNI), as localNetworksRead reads a host's. */
export function swarmNetworksRead(tx: Tx): Network[] {
  const swarm = fieldOf(tx.w, 'swarm');
  const shards = swarm ? fieldOf(swarm, 'networks') : [];
  const before = tx.before.swarm?.networks;
  const all: Network[] = [];
  for (let i = 0; i < shards.length; i++) {
    const shard = fieldOf(shards, i);
    if (shard) for (const id in shard) all.push((before && swarmNetwork({ networks: before }, id)) || (fieldOf(shard, id) as Network));
  }
  return all;
}

/** allNetworks as the step stands, to read what a network keeps for life (its name, its subnet): nothing drafted. */
export function allNetworksRead(tx: Tx, host: string): Network[] {
  const state = tx.host(host).nodeState;
  return [...localNetworksRead(tx, host), ...(state !== 'inactive' && state !== 'left' ? swarmNetworksRead(tx) : [])];
}

/** Every network a host can see: its local ones and the swarm's. */
export function allNetworks(w: World | Draft<World>, host: string): (Network | Draft<Network>)[] {
  const h = hostOf(w, host);
  return [...Object.values(h.localNetworks), ...(w.swarm && inSwarm(h.nodeState) ? swarmNetworks(w.swarm) : [])];
}

/** The networks `docker network ls|inspect|rm` see: a worker sees a swarm network only while it is instantiated there. */
export function visibleNetworks(w: World | Draft<World>, host: string): (Network | Draft<Network>)[] {
  const h = hostOf(w, host);
  const swarm = w.swarm && inSwarm(h.nodeState) ? swarmNetworks(w.swarm) : [];
  const shown = h.nodeState === 'manager' ? swarm : swarm.filter((n) => n.ingress || instanceOf(n, host));
  return [...Object.values(h.localNetworks), ...shown];
}

/**
 * findNetwork(allNetworks(w, host), ref) without listing every network: a `docker run` looks
 * its network up among a big swarm's hundreds, once per container.
 */
export function lookUpNetwork(w: World, host: string, ref: string): Network | undefined {
  const h = hostOf(w, host);
  const locals = Object.values(h.localNetworks);
  const swarm = w.swarm && inSwarm(h.nodeState) ? w.swarm.networks : [];
  const byId = locals.find((n) => n.id === ref) ?? swarmNetwork({ networks: swarm }, ref);
  // A key of the shard's prototype (constructor, toString) is no network.
  if (byId?.id === ref) return byId;
  const named = locals.find((n) => n.name === ref);
  if (named) return named;
  for (const shard of swarm) {
    const n = shard && networksByName(shard).get(ref);
    if (n) return n;
  }
  let prefixed: Network | undefined, count = 0;
  for (const n of locals) if (n.id.startsWith(ref) && count++ === 0) prefixed = n;
  for (const shard of swarm) if (shard) for (const k in shard) if (k.startsWith(ref) && count++ === 0) prefixed = shard[k];
  return count === 1 ? prefixed : undefined;
}

/** A shard's networks by name (the first of a name, in the shard's order), once per version of the shard: a step changes one. */
const namesOfNetworkShard = new WeakMap<Record<string, Network>, Map<string, Network>>();

function networksByName(shard: Record<string, Network>): Map<string, Network> {
  let byName = namesOfNetworkShard.get(shard);
  if (!byName) {
    byName = new Map();
    for (const k in shard) if (!byName.has(shard[k].name)) byName.set(shard[k].name, shard[k]);
    namesOfNetworkShard.set(shard, byName);
  }
  return byName;
}

/** Docker's lookup order: full id, then exact name, then unique id prefix. */
export function findNetwork<N extends Network | Draft<Network>>(candidates: N[], ref: string): N | undefined {
  return candidates.find((n) => n.id === ref) ?? candidates.find((n) => n.name === ref) ?? (() => {
    const byPrefix = candidates.filter((n) => n.id.startsWith(ref));
    return byPrefix.length === 1 ? byPrefix[0] : undefined;
  })();
}

export function findContainer<C extends Container | Draft<Container>>(h: { containers: Record<string, C> }, ref: string): C | undefined {
  const all = Object.values(h.containers);
  const name = ref.replace(/^\//, '');
  return all.find((c) => c.id === ref) ?? all.find((c) => c.name === name) ?? (() => {
    const byPrefix = all.filter((c) => c.id.startsWith(ref));
    return byPrefix.length === 1 ? byPrefix[0] : undefined;
  })();
}
