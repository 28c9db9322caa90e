/**
 * The topology over a whole run: every namespace and device that ever existed, each with
 * its lifetime, so each flow is drawn in the lab as it was when its step ran (a lab that
 * ends with `docker rm` still shows the container its pings reached).
 */
import type { Lifetime, Topology } from './types';

type Entry<T> = { value: T; since: number; lastSeen: number };

/** Objects alike in every field are one object; a change of any field starts a new lifetime. */
class Lifetimes<T extends object> {
  private readonly entries: Entry<T>[] = [];
  private readonly open = new Map<string, Entry<T>>();

  observe(step: number, values: T[]): void {
    const seen = new Map<string, Entry<T>>();
    for (const value of values) {
      const key = JSON.stringify(value);
      if (seen.has(key)) continue;
      let e = this.open.get(key);
      if (!e) this.entries.push((e = { value, since: step, lastSeen: step }));
      e.lastSeen = step;
      seen.set(key, e);
    }
    this.open.clear();
    for (const [k, e] of seen) this.open.set(k, e);
  }

  /** Objects with their lifetimes; `until` only for those gone before `lastStep`. */
  result(lastStep: number): (T & Lifetime)[] {
    return this.entries.map((e) => ({ ...e.value, ...(e.since > 0 ? { since: e.since } : {}), ...(e.lastSeen < lastStep ? { until: e.lastSeen } : {}) }));
  }
}

export class TopologyHistory {
  private hosts: Topology['hosts'] = [];
  private readonly namespaces = new Lifetimes<Topology['namespaces'][number]>();
  private readonly links = new Lifetimes<Topology['links'][number]>();
  private lastStep = 0;

  /** The topology after step `step` (0: after the lab booted). */
  observe(step: number, t: Topology): void {
    this.hosts = t.hosts;
    this.namespaces.observe(step, t.namespaces);
    this.links.observe(step, t.links);
    this.lastStep = step;
  }

  topology(): Topology {
    return { hosts: this.hosts, namespaces: this.namespaces.result(this.lastStep), links: this.links.result(this.lastStep) };
  }
}

/** Whether an object existed while step `step` ran: before it began (after step - 1) or when it ended. */
export function existedDuring(o: Lifetime, step: number): boolean {
  return (o.since ?? 0) <= step && (o.until === undefined || o.until >= step - 1);
}

/** The topology a flow of step `step` saw; without a step, the lab as it ended. */
export function topologyDuring(t: Topology, step: number | undefined): Topology {
  const keep = (o: Lifetime) => (step === undefined ? o.until === undefined : existedDuring(o, step));
  return { hosts: t.hosts, namespaces: t.namespaces.filter(keep), links: t.links.filter(keep) };
}
