/**
 * The CNM model: one immer world, advanced one scenario step at a time. Each step yields a
 * new immutable snapshot (`world`; earlier ones stay valid for whoever holds them) and the
 * plan ops that make kernels match it.
 */
import { produce, setAutoFreeze } from 'immer';
import { PlanOp } from '../plan/ops';
import { bootEngine } from './swarm';
import { Tx } from './tx';
import { gossipPending, gossipTimers, underlayChanged } from './netdb';
import { emptyHost, hostOf, shardsOf, World } from './world';
import { netnsGc, netnsGcDue, netnsGcWaiting } from './sandbox';

// Freezing walks every changed record again on each step; with thousands of steps on
// records of hundreds of keys that is a third of the model's time. Snapshots stay immutable
// by construction (every change goes through produce), so deep freezing is left off.
setAutoFreeze(false);

export class Model {
  world: World;

  constructor(hosts: { name: string; underlay: string; underlayPrefix?: number }[], seed: number) {
    this.world = {
      seed, rng: seed, clockNs: 0, hostOrder: hosts.map((h) => h.name),
      hosts: shardsOf(hosts.map((h) => [h.name, emptyHost(h.name, h.underlay, h.underlayPrefix)])), swarm: null,
    };
  }

  /** Runs one step's change in a transaction: the new world, and the ops it emitted. */
  change(recipe: (tx: Tx) => void): PlanOp[] {
    let ops: PlanOp[] = [];
    this.world = produce(this.world, (draft) => {
      const tx = new Tx(draft);
      try {
        recipe(tx);
      } finally {
        tx.commit();
      }
      ops = tx.ops;
    });
    return ops;
  }

  /** Starts dockerd on every host: underlay interface, docker0, host and none. */
  boot(): PlanOp[] {
    return this.change((tx) => {
      for (const h of tx.w.hostOrder) bootEngine(tx, h);
    });
  }

  /** Advances the virtual clock (Created times, `Up N seconds`, the namespace garbage collector's ticks). */
  tick(ns: number): void {
    const from = this.world.clockNs, to = from + ns;
    // Hosts are read undrafted: a swarm of thousands would otherwise copy each one per step.
    const due = netnsGcWaiting(this.world).filter((name) => netnsGcDue(hostOf(this.world, name), from, to));
    // Most ticks move the clock alone: a new root beside the same children is what produce would make of it.
    if (!due.length) {
      this.world = { ...this.world, clockNs: to };
      return;
    }
    this.world = produce(this.world, (draft) => {
      draft.clockNs = to;
      for (const name of due) netnsGc(hostOf(draft, name));
    });
  }

  /** `ip link set eth0 up|down` on a host, at `nowNs` on the run's clock (netdb.ts). */
  underlayChanged(host: string, up: boolean, nowNs: number): void {
    this.change((tx) => underlayChanged(tx, host, up, nowNs));
  }

  /** NetworkDB's verdicts due by `nowNs` on the run's clock, and the plan ops they make (netdb.ts). */
  gossipTimers(nowNs: number): PlanOp[] {
    return gossipPending(this.world) ? this.change((tx) => gossipTimers(tx, nowNs)) : [];
  }

  /** `ln -s /var/run/docker/netns /var/run/netns` on a host. */
  linkNetnsDir(host: string): void {
    this.change((tx) => {
      tx.host(host).netnsLinked = true;
    });
  }
}
