/** What path a flow's first echo request took, in the terms of a scenario's `expect.path`. */
import { Flow, Hop } from './types';
import { ACROSS_HOSTS, LAST_STEP, OFF_HOST, RESOLVE_STEP, WITHIN_HOST } from './paths/overlay';

export interface PathVerdict {
  kind: 'overlay' | 'local' | 'none' | 'unknown';
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
  const hops = firstRequestHops(flow);
  const steps = hops.filter((h) => h.step !== undefined && h.event !== 'drop').map((h) => h.step!);
  // A flooded copy may be dropped (vxlan0 has no neighbour for a local container) while another copy gets through.
  const delivered = hops.some((h) => h.step === LAST_STEP && h.event === 'deliver');
  const drop = hops.find((h) => h.event === 'drop');
  if (drop && !delivered) return { kind: 'none', dropAt: drop.step, steps };
  if (inOrder(steps, ACROSS_HOSTS)) return { kind: 'overlay', steps };
  if (inOrder(steps, WITHIN_HOST) && !steps.some((s) => OFF_HOST.includes(s))) return { kind: 'local', steps };
  return { kind: 'unknown', steps };
}
