/** What path a flow's first echo request took, in the terms of a scenario's `expect.path`. */
import { Flow, Hop } from './types';

export interface PathVerdict {
  kind: 'overlay' | 'local' | 'none' | 'unknown';
  /** The step at which the request was dropped. */
  dropAt?: number;
  steps: number[];
}

/** The hops of the flow's first exchange after name resolution (step 0): up to the end of the first reply. */
export function firstExchange(flow: Flow): Hop[] {
  const hops = flow.hops.filter((h) => h.step !== 0);
  const firstReply = hops.findIndex((h) => h.dir === 'reply');
  if (firstReply < 0) return hops;
  let end = firstReply;
  while (end < hops.length && hops[end].dir === 'reply') end++;
  return hops.slice(0, end);
}

/** The request hops of the first exchange. */
export function firstRequestHops(flow: Flow): Hop[] {
  const hops = flow.hops.filter((h) => h.step !== 0);
  const end = hops.findIndex((h) => h.dir === 'reply');
  return (end < 0 ? hops : hops.slice(0, end)).filter((h) => h.dir === 'request');
}

function inOrder(steps: number[], wanted: number[]): boolean {
  let i = 0;
  for (const s of steps) if (s === wanted[i]) i++;
  return i === wanted.length;
}

export function classifyPath(flow: Flow | undefined): PathVerdict {
  if (!flow) return { kind: 'unknown', steps: [] };
  const hops = firstRequestHops(flow);
  const steps = hops.filter((h) => h.step !== undefined && h.event !== 'drop').map((h) => h.step!);
  // A flooded copy may be dropped (vxlan0 has no neighbour for a local container) while another copy gets through.
  const delivered = hops.some((h) => h.step === 8 && h.event === 'deliver');
  const drop = hops.find((h) => h.event === 'drop');
  if (drop && !delivered) return { kind: 'none', dropAt: drop.step, steps };
  if (inOrder(steps, [1, 2, 3, 4, 5, 6, 7, 8])) return { kind: 'overlay', steps };
  if (inOrder(steps, [1, 2, 8]) && !steps.some((s) => s >= 4 && s <= 6)) return { kind: 'local', steps };
  return { kind: 'unknown', steps };
}
