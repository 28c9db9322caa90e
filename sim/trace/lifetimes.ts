/**
 * The topology over a whole run: every namespace and device that ever existed, each with
 * its lifetime, so each flow is drawn in the lab as it was when its step ran (a lab that
 * ends with `docker rm` still shows the container its pings reached).
 */
import type { Lifetime, Topology } from './types';

type Entry<T> = { value: T; since: number; until?: number };

/** One host's part of the topology. */
export interface HostTopology {
  host: string;
  namespaces: Topology['namespaces'];
  links: Topology['links'];
  programs: NonNullable<Topology['programs']>;
  hostModeContainers: NonNullable<Topology['hostModeContainers']>;
}

/**
 * An object's identity for its lifetime: its every field. Objects are never changed once
 * observed, so an object handed over again (a host redrawn with its unchanged parts reused)
 * keeps the key it was given the first time.
 */
const keys = new WeakMap<object, string>();

/**
 * Objects alike in every field are one object; a change of any field starts a new lifetime.
 * Objects are observed a group (a host) at a time: a group not observed again is unchanged.
 */
class Lifetimes<T extends object> {
  private readonly entries: Entry<T>[] = [];
  private readonly open = new Map<string, Map<string, Entry<T>>>();
  /** Objects serialised for their key so far (each once). */
  serialised = 0;

  private keyOf(value: object): string {
    let key = keys.get(value);
    if (key === undefined) {
      keys.set(value, (key = JSON.stringify(value)));
      this.serialised++;
    }
    return key;
  }

  /** `values` are all of `group`'s objects after step `step`; `previous` is the step observed before it. */
  observe(group: string, step: number, previous: number, values: T[]): void {
    const was = this.open.get(group);
    const now = new Map<string, Entry<T>>();
    for (const value of values) {
      const key = this.keyOf(value);
      if (now.has(key)) continue;
      let e = was?.get(key);
      if (!e) this.entries.push((e = { value, since: step }));
      now.set(key, e);
    }
    if (was) for (const [k, e] of was) if (!now.has(k)) e.until = previous;
    this.open.set(group, now);
  }

  /** Objects with their lifetimes; `until` only for those gone before the last observation. */
  result(): (T & Lifetime)[] {
    return this.entries.map((e) => {
      // Set field by field: a spread of each optional part would make and copy an object apiece.
      const o: T & Lifetime = { ...e.value };
      if (e.since > 0) o.since = e.since;
      if (e.until !== undefined) o.until = e.until;
      return o;
    });
  }
}

export class TopologyHistory {
  private readonly namespaces = new Lifetimes<Topology['namespaces'][number]>();
  private readonly links = new Lifetimes<Topology['links'][number]>();
  private readonly programs = new Lifetimes<NonNullable<Topology['programs']>[number]>();
  private readonly hostModeContainers = new Lifetimes<NonNullable<Topology['hostModeContainers']>[number]>();
  private lastStep = 0;
  private hosts: Topology['hosts'] = [];
  private readonly groups = new Set<string>();

  /** The whole topology after step `step` (0: after the lab booted). */
  observe(step: number, t: Topology): void {
    const parts = new Map<string, HostTopology>();
    const part = (host: string) => parts.get(host) ?? parts.set(host, { host, namespaces: [], links: [], programs: [], hostModeContainers: [] }).get(host)!;
    for (const h of t.hosts) part(h.name);
    for (const n of t.namespaces) part(n.host).namespaces.push(n);
    for (const l of t.links) part(l.host).links.push(l);
    for (const p of t.programs ?? []) part(p.host).programs.push(p);
    for (const c of t.hostModeContainers ?? []) part(c.host).hostModeContainers.push(c);
    // A host that was and is no more: all of its objects end.
    for (const g of this.groups) part(g);
    this.hosts = t.hosts;
    this.observeHosts(step, [...parts.values()]);
  }

  /** After step `step`, the hosts in `changed` (in host order); every other host is as it was. */
  observeHosts(step: number, changed: HostTopology[]): void {
    for (const p of changed) {
      this.namespaces.observe(p.host, step, this.lastStep, p.namespaces);
      this.links.observe(p.host, step, this.lastStep, p.links);
      this.programs.observe(p.host, step, this.lastStep, p.programs);
      this.hostModeContainers.observe(p.host, step, this.lastStep, p.hostModeContainers);
      this.groups.add(p.host);
    }
    this.lastStep = step;
  }

  /** Objects serialised to be told apart so far: what observations cost. */
  get serialised(): number {
    return this.namespaces.serialised + this.links.serialised + this.programs.serialised + this.hostModeContainers.serialised;
  }

  /** The topology so far; `hosts` the lab's hosts when observed a host at a time. */
  topology(hosts: Topology['hosts'] = this.hosts): Topology {
    const programs = this.programs.result(), hostModeContainers = this.hostModeContainers.result();
    return { hosts, namespaces: this.namespaces.result(), links: this.links.result(), ...(programs.length ? { programs } : {}), ...(hostModeContainers.length ? { hostModeContainers } : {}) };
  }
}

/** Whether an object existed while step `step` ran: before it began (after step - 1) or when it ended. */
export function existedDuring(o: Lifetime, step: number): boolean {
  return (o.since ?? 0) <= step && (o.until === undefined || o.until >= step - 1);
}

/** The topology a flow of step `step` saw; without a step, the lab as it ended. */
export function topologyDuring(t: Topology, step: number | undefined): Topology {
  const keep = (o: Lifetime) => (step === undefined ? o.until === undefined : existedDuring(o, step));
  const programs = t.programs?.filter(keep), hostModeContainers = t.hostModeContainers?.filter(keep);
  return { hosts: t.hosts, namespaces: t.namespaces.filter(keep), links: t.links.filter(keep), ...(programs?.length ? { programs } : {}), ...(hostModeContainers?.length ? { hostModeContainers } : {}) };
}
