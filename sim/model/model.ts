/**
 * The CNM model: one immer world, advanced one scenario step at a time. Each step yields a
 * new immutable snapshot (`world`; earlier ones stay valid for whoever holds them) and the
 * plan ops that make kernels match it.
 */
import { produce, setAutoFreeze } from 'immer';
import { PlanOp } from '../plan/ops';
import { dockerCommand, DockerOutcome } from '../docker/cli';
import { bootEngine } from './swarm';
import { DockerError, Tx } from './tx';
import { emptyHost, shardsOf, World } from './world';

// Freezing walks every changed record again on each step; with thousands of steps on
// records of hundreds of keys that is a third of the model's time. Snapshots stay immutable
// by construction (every change goes through produce), so deep freezing is left off.
setAutoFreeze(false);

export interface ModelStep {
  outcome: DockerOutcome;
  ops: PlanOp[];
}

export class Model {
  world: World;

  constructor(hosts: { name: string; underlay: string; underlayPrefix?: number }[], seed: number) {
    this.world = {
      seed, rng: seed, clockNs: 0, hostOrder: hosts.map((h) => h.name),
      hosts: shardsOf(hosts.map((h) => [h.name, emptyHost(h.name, h.underlay, h.underlayPrefix)])), swarm: null,
    };
  }

  private change(recipe: (tx: Tx) => void): PlanOp[] {
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

  /** Advances the virtual clock (Created times, `Up N seconds`). */
  tick(ns: number): void {
    this.world = produce(this.world, (draft) => {
      draft.clockNs += ns;
    });
  }

  /** `ln -s /var/run/docker/netns /var/run/netns` on a host. */
  linkNetnsDir(host: string): void {
    this.change((tx) => {
      tx.host(host).netnsLinked = true;
    });
  }

  docker(host: string, argv: string[]): ModelStep {
    let outcome: DockerOutcome = { stdout: '', stderr: '', exitCode: 0 };
    const ops = this.change((tx) => {
      try {
        outcome = dockerCommand(tx, host, argv);
      } catch (e) {
        if (!(e instanceof DockerError)) throw e;
        // Refusals are checked before changes, except those Docker itself leaves half done.
        outcome = { stdout: e.stdout, stderr: e.stderr.endsWith('\n') ? e.stderr : e.stderr + '\n', exitCode: e.exitCode };
      }
    });
    return { outcome, ops };
  }
}
