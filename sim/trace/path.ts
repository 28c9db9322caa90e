/** What path a flow's first echo request took, in the terms of a scenario's `expect.path`, by the flow's own path model. */
import { Flow, Hop } from './types';
import { pathOf, VerdictKind } from './paths';
import { RESOLVE_STEP } from './paths/path';

export interface PathVerdict {
  kind: VerdictKind | 'none' | 'unknown';
  /** The step at which the request was dropped. */
  dropAt?: number;
  steps: number[];
}

/** The hops of the flow's first exchange after name resolution: up to the end of the first reply. */
export function firstExchange(flow: Flow): Hop[] {
  const hops = flow.hops.filter((h) => h.step !== RESOLVE_STEP);
  const firstReply = hops.findIndex((h) => h.dir === 'reply');
  if (firstReply < 0) return hops;
  let end = firstReply;
  while (end < hops.length && hops[end].dir === 'reply') end++;
  return hops.slice(0, end);
}

/** The request hops of the first exchange. */
export function firstRequestHops(flow: Flow): Hop[] {
  const hops = flow.hops.filter((h) => h.step !== RESOLVE_STEP);
  const end = hops.findIndex((h) => h.dir === 'reply');
  return (end < 0 ? hops : hops.slice(0, end)).filter((h) => h.dir === 'request');
}

function inOrder(steps: number[], wanted: readonly number[]): boolean {
  let i = 0;
  for (const s of steps) if (s === wanted[i]) i++;
  return i === wanted.length;
}

export function classifyPath(flow: Flow | undefined): PathVerdict {
  if (!flow) return { kind: 'unknown', steps: [] };
  const model = pathOf(flow);
  const hops = firstRequestHops(flow);
  const steps = hops.filter((h) => h.step !== undefined && h.event !== 'drop').map((h) => h.step!);
  // A flooded copy may be dropped (vxlan0 has no neighbour for a local container) while another copy gets through.
  const delivered = hops.some((h) => h.step === model.last && h.event === 'deliver');
  const drop = hops.find((h) => h.event === 'drop');
  if (drop && !delivered) return { kind: 'none', dropAt: drop.step, steps };
  const rule = model.verdicts.find((r) => inOrder(steps, r.steps) && !steps.some((s) => r.never?.includes(s)));
  return rule ? { kind: rule.kind, steps } : { kind: 'unknown', steps };
}
