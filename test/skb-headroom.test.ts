/**
 * One skb across a tunnel, as Linux keeps one sk_buff: ip output leaves NET_SKB_PAD bytes of
 * headroom before a frame it builds, vxlan writes its outer headers there instead of copying
 * the frame, and the receiving vxlan takes the very inner frame back. The captures must not
 * notice: a frame a hop kept keeps its bytes, and an skb handed on is what a new one would be.
 */
import { runLab } from './helpers/run';
import { Flow, Hop } from '../sim/trace/types';
import { FrameSlab, NET_SKB_PAD, Skb } from '../sim/kernel/net/skb';
import { VXLAN_OVERHEAD } from '../sim/kernel/net/dev';
import { containerNamed } from './helpers/world';

/** The bytes a kept hop holds (SimHop keeps its frame to decode it when asked). */
function frameOf(h: Hop): Uint8Array {
  return (h as unknown as { frame: Uint8Array }).frame;
}

/** Two echoes: the second's outer next hop is known when it is wrapped (the first waits for ARP, and is copied into a frame built after). */
async function pingTwice(): Promise<Flow> {
  const { backend, model } = await runLab('overlay-standalone');
  const c = containerNamed(model.world, 'r0', 'ubuntu0');
  backend.datapath.pcaps = new Map();
  const out = backend.execSync('r0', c.sandbox, ['ping', '-c', '2', '10.0.1.4'], { world: model.world, container: c.id, namesVisible: false });
  expect(out.stdout).toContain('2 received');
  return backend.datapath.flows[backend.datapath.flows.length - 1];
}

const hopAt = (flow: Flow, host: string, device: string, event: Hop['event']): Hop => {
  const h = [...flow.hops].reverse().find((x) => x.dir === 'request' && x.host === host && x.device === device && x.event === event);
  if (!h) throw new Error(`no ${event} hop on ${host} ${device}`);
  return h;
};

test('vxlan wraps the echo request in the headroom before it: the outer frame shares its bytes, and the inner hop kept them', async () => {
  const flow = await pingTwice();
  const inner = frameOf(hopAt(flow, 'r0', 'vxlan0', 'bridge-forward'));
  const outer = frameOf(hopAt(flow, 'r0', 'eth0', 'encap'));
  expect(outer.buffer).toBe(inner.buffer);
  expect(outer.byteOffset + VXLAN_OVERHEAD).toBe(inner.byteOffset);
  expect(outer.length).toBe(inner.length + VXLAN_OVERHEAD);
  // The headers written before it left the frame as the hop at vxlan0 captured it: a
  // valid Ethernet frame carrying the ICMP echo.
  expect(Buffer.from(outer.subarray(VXLAN_OVERHEAD)).equals(Buffer.from(inner))).toBe(true);
  expect(hopAt(flow, 'r0', 'vxlan0', 'bridge-forward').layers.map((l) => l.proto)).toEqual(['eth', 'ip', 'icmp']);
  // The receiving vxlan takes that very frame back, as it arrived.
  expect(frameOf(hopAt(flow, 'r1', 'vxlan0', 'decap'))).toBe(inner);
}, 30_000);

test('an skb retargeted by a tunnel is, field for field, what a new skb of its frame would be', () => {
  const slab = new FrameSlab();
  const flow = undefined;
  const used = new Skb(slab.allocWithHeadroom(60), flow, 'request', 'a note', 'vxlan0');
  used.lag = 5;
  used.flooded = true;
  used.forwarded = true;
  used.arrivedAs = slab.alloc(60);
  used.fragMaxSize = 1400;
  used.nfctNetns = {};
  used.ctState = 'ESTABLISHED';
  used.ownHeadroom(used.frame, slab.current);
  const frame = slab.alloc(98);
  used.retarget(frame, 'vxlan1', undefined);
  used.lag = 0;
  expect({ ...used }).toEqual({ ...new Skb(frame, flow, 'request', undefined, 'vxlan1') });
});

test('a clone shares its frame and what is said of it, but owns no headroom (a segment broadcast gives each host its own)', () => {
  const slab = new FrameSlab();
  const skb = new Skb(slab.allocWithHeadroom(42), undefined, 'request', undefined, 'vxlan0');
  skb.ownHeadroom(skb.frame, slab.current);
  skb.lag = 7;
  const copy = skb.clone();
  expect(copy).not.toBe(skb);
  expect(copy.frame).toBe(skb.frame);
  expect(copy.head).toBeUndefined();
  expect(copy.headSlab).toBeUndefined();
  expect({ ...copy, head: skb.head, headSlab: skb.headSlab }).toEqual({ ...skb });
});

test('the headroom before a frame is its own: the next frame cut from the slab starts after it', () => {
  const slab = new FrameSlab();
  const a = slab.allocWithHeadroom(100);
  const b = slab.alloc(10);
  expect(a.byteOffset).toBe(NET_SKB_PAD);
  expect(b.byteOffset).toBeGreaterThanOrEqual(a.byteOffset + a.length);
  const c = slab.allocWithHeadroom(10);
  expect(c.byteOffset - NET_SKB_PAD).toBeGreaterThanOrEqual(b.byteOffset + b.length);
});
