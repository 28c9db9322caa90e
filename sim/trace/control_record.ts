/**
 * The trace's record of the control plane that daemons play on the run's clock (dockerd's,
 * sim/kernel/dockerd_cluster.ts; Weave Net's routers', weave_mesh.ts), and that emu reads from
 * its underlay captures after each step (emu/control.ts): their exchanges, one
 * flow each in the order they began, within the trace's bound (sim/trace/types.ts
 * CONTROL_KEPT_PER_STEP: each step's first exchanges of each kind, and in steps that traced
 * none of the commands' flows only until those kept hold CONTROL_KEPT_UNTRACED_HOPS hops);
 * the rest are counted per kind and neither encoded nor played.
 */
import { CONTROL_KEPT_PER_STEP, CONTROL_KEPT_UNTRACED_HOPS, ControlKind, Flow } from './types';

export class ControlRecord {
  /** The exchanges so far, in the order they began (the trace's `control`). */
  readonly flows: Flow[] = [];
  /** The exchanges past the bound, counted by kind since the run began. */
  readonly notKept = new Map<ControlKind, number>();
  private readonly counts = new Map<ControlKind, number>();
  /** What the trace kept of each kind in this step. */
  private readonly keptInStep = new Map<ControlKind, number>();
  /** The flows kept from steps that traced none of the commands' flows, until their hops reach the bound. */
  private keptUntraced: Flow[] | undefined = [];
  /** The hops `keptUntraced` held when last summed, and how many hops the datapath had recorded then. */
  private untracedHops = 0;
  private hopCountAtSum = 0;
  /** How many flows the kernels had traced when the step began. */
  private flowsAtStep = 0;

  /**
   * `dp`: what traces the commands' flows and records the hops (sim's datapath; emu's control
   * reader, over the backend's flows): a step that added none to its `flows` traced none, and
   * `hopCount` grows by at least every hop the kept flows gain.
   */
  constructor(private readonly dp: { readonly flows: readonly unknown[]; readonly hopCount: number }) {}

  /** A new exchange's flow, numbered per kind. */
  flow(control: ControlKind, from: string, to: string): Flow {
    const n = (this.counts.get(control) ?? 0) + 1;
    this.counts.set(control, n);
    // The tracer's shape for a flow (net/tracer.ts newFlow): the flood's hot paths see one.
    const flow: Flow = { id: `${control}-${n}`, kind: 'control-plane', from, to, path: undefined, hostNamespace: undefined, control, hops: [], hopsNotKept: undefined, origin: undefined };
    this.flows.push(flow);
    if (this.dp.flows.length === this.flowsAtStep) this.keptUntraced?.push(flow);
    return flow;
  }

  /** A step begins: the trace keeps each kind's first exchanges of it again. */
  beginStep(): void {
    this.keptInStep.clear();
    this.flowsAtStep = this.dp.flows.length;
  }

  /**
   * Whether the trace keeps an exchange of `kind` that is about to begin, hop by hop; if not,
   * it is counted in `notKept` (as `exchanges` of them) and the caller neither encodes nor
   * plays it: a big swarm sends thousands a second, and their bytes would cost more than
   * everything else a run does. A lab's few hosts stay well inside the bound.
   */
  keeps(kind: ControlKind, exchanges = 1): boolean {
    const inStep = this.keptInStep.get(kind) ?? 0;
    const traced = this.dp.flows.length > this.flowsAtStep;
    if (inStep >= CONTROL_KEPT_PER_STEP || (!traced && !this.untracedRoom())) {
      this.notKept.set(kind, (this.notKept.get(kind) ?? 0) + exchanges);
      return false;
    }
    this.keptInStep.set(kind, inStep + 1);
    return true;
  }

  /**
   * Whether the flows kept from untraced steps hold fewer hops than the bound (once they do,
   * for good: hops only grow). They cannot have gained more hops than the datapath recorded
   * since they were last summed (every hop is counted there, kept or not), so they are summed
   * again only when that many more could reach the bound, not at every exchange.
   */
  private untracedRoom(): boolean {
    if (!this.keptUntraced) return false;
    const hopCount = this.dp.hopCount;
    if (this.untracedHops + (hopCount - this.hopCountAtSum) < CONTROL_KEPT_UNTRACED_HOPS) return true;
    let hops = 0;
    for (const f of this.keptUntraced) hops += f.hops.length;
    this.untracedHops = hops;
    this.hopCountAtSum = hopCount;
    if (hops < CONTROL_KEPT_UNTRACED_HOPS) return true;
    this.keptUntraced = undefined;
    return false;
  }
}
