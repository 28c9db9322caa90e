/**
 * emu's hop order: hops captured in the same microsecond come from different tcpdumps, read
 * in whatever order; their order in the trace must be the path's, whichever was read first.
 */
import { byTimeThenPath } from '../emu/capture';
import type { Hop } from '../sim/trace/types';
import type { Layer } from '../sim/wire/layer';

const eth: Layer = { proto: 'eth' };
const ip: Layer = { proto: 'ip' };
const icmp: Layer = { proto: 'icmp' };
const udp: Layer = { proto: 'udp' };
const vxlan: Layer = { proto: 'vxlan' };

const hop = (name: string, h: Partial<Hop>): Hop => ({ dir: 'request', host: 'r0', netns: 'r0', device: name, event: 'forward', timeNs: 1000, layers: [eth, ip, icmp], ...h });

/** Every order of `xs`. */
function permutations<T>(xs: T[]): T[][] {
  if (xs.length <= 1) return [xs];
  return xs.flatMap((x, i) => permutations([...xs.slice(0, i), ...xs.slice(i + 1)]).map((rest) => [x, ...rest]));
}

test('hops of one microsecond come out in the path order, whatever order the captures were read in', () => {
  const hops = [
    hop('earlier', { step: 9, timeNs: 999 }),
    hop('veth-host-end', { step: 3 }),
    hop('veth-container-end', { step: 2 }),
    hop('eth0-wrapped', { step: 4, layers: [eth, ip, udp, vxlan, eth, ip, icmp] }),
    hop('vxlan0-unwrapped', { step: 4 }),
    hop('off-path', {}),
    hop('reply-at-source', { dir: 'reply', step: 0 }),
    hop('reply-at-dest', { dir: 'reply', step: 0, host: 'r1', netns: 'r1' }),
  ];
  const expected = ['earlier', 'veth-container-end', 'veth-host-end', 'eth0-wrapped', 'vxlan0-unwrapped', 'off-path', 'reply-at-source', 'reply-at-dest'];
  const orders = new Set(permutations(hops).map((p) => [...p].sort(byTimeThenPath).map((h) => h.device).join(' ')));
  expect([...orders]).toEqual([expected.join(' ')]);
});

test('time comes first: a later hop never moves before an earlier one for its step', () => {
  const late = hop('late', { step: 1, timeNs: 2000 });
  const early = hop('early', { step: 7, dir: 'reply', timeNs: 1999 });
  expect([late, early].sort(byTimeThenPath).map((h) => h.device)).toEqual(['early', 'late']);
});
