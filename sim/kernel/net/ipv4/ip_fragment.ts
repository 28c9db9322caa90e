/**
 * net/ipv4/ip_fragment.c and ip_output.c's ip_fragment: a datagram over the device MTU
 * leaves in fragments of whole 8-byte units; fragments received are kept until they join
 * into one datagram (ip_defrag), or for the reassembly timeout.
 */
import type { Datapath } from '../../datapath';
import type { ResolvedRoute, SimNetns } from '../../objects';
import { bufferView } from '../../../wire/bytes';
import { ETHERNET_HEADER_LEN } from '../../../wire/ethernet';
import { emitIpv4, Ipv4Header, ipv4HeaderLength, Ipv4Repr, parseIpv4 } from '../../../wire/ipv4';
import { Skb } from '../skb';
import { ipTransmit } from './ip_output';

/** net.ipv4.ipfrag_time's default. */
const REASSEMBLY_TIMEOUT_NS = 30_000_000_000;

/** Datagrams being reassembled, by (namespace, source, destination, id, protocol) as ip_defrag keys them. */
export type ReassemblyQueues = Map<string, { parts: Map<number, Buffer>; total?: number; header: Ipv4Header; skb: Skb; first?: Buffer; largest: number }>;

/**
 * `like`: what each fragment belongs to and says (flow, direction, note, the device that
 * encapsulated), and its lag. `send` takes each bare fragment: a local datagram's pass
 * netfilter's OUTPUT and POSTROUTING each; a forwarded one's passed them whole. A
 * fragment fragmented again keeps its offset and its more-fragments flag.
 */
export function ipFragment(dp: Datapath, ns: SimNetns, r: ResolvedRoute, mtu: number, repr: Ipv4Repr, payload: Uint8Array, like: Skb,
  send: (fragment: Skb) => void = (fragment) => ipTransmit(dp, ns, r, undefined, fragment)): void {
  const chunk = Math.floor((mtu - ipv4HeaderLength(repr)) / 8) * 8;
  for (let off = 0; off < payload.length; off += chunk) {
    const part = payload.subarray(off, Math.min(off + chunk, payload.length));
    const frag = emitIpv4({ ...repr, fragmentOffset: repr.fragmentOffset + off, moreFragments: off + chunk < payload.length || repr.moreFragments }, part);
    const skb = new Skb(frag, like.flow, like.dir, like.note, like.encapsulatedBy);
    skb.lag = like.lag;
    send(skb);
  }
}

/**
 * ip_defrag: the fragments of one datagram are kept until they join into one frame, handed
 * to `done`. Each user keeps its own queues (conntrack's before PREROUTING, local
 * delivery's), as Linux's defrag users do. The joined datagram remembers its largest
 * fragment (IPCB's frag_max_size), to leave in fragments no larger when forwarded.
 */
export function ipDefrag(dp: Datapath, ns: SimNetns, user: 'conntrack' | 'local', skb: Skb, done: (joined: Skb) => void): void {
  const p = parseIpv4(bufferView(skb.frame), ETHERNET_HEADER_LEN);
  if (!p.ok) return;
  const h = p.repr, payload = p.payload;
  const key = `${user}|${ns.host.name}|${ns.name}|${h.src}|${h.dst}|${h.id}|${h.protocol}`;
  let r = dp.fragments.get(key);
  if (!r) {
    dp.fragments.set(key, (r = { parts: new Map(), header: h, skb, largest: 0 }));
    dp.clock.schedule(REASSEMBLY_TIMEOUT_NS, () => dp.fragments.delete(key));
  }
  r.parts.set(h.fragmentOffset, Buffer.from(payload));
  r.largest = Math.max(r.largest, ipv4HeaderLength(h) + payload.length);
  if (h.fragmentOffset === 0) r.first = Buffer.from(skb.arrivedAs ?? skb.frame);
  if (!h.moreFragments) r.total = h.fragmentOffset + payload.length;
  if (r.total === undefined) return;
  let have = 0;
  for (const [off, part] of [...r.parts].sort((a, b) => a[0] - b[0])) {
    if (off !== have) return;
    have += part.length;
  }
  if (have !== r.total) return;
  dp.fragments.delete(key);
  const whole = Buffer.concat([...r.parts].sort((a, b) => a[0] - b[0]).map(([, b]) => b));
  const datagram = emitIpv4({ ...r.header, moreFragments: false, fragmentOffset: 0 }, whole);
  const joined = new Skb(Buffer.concat([skb.frame.subarray(0, ETHERNET_HEADER_LEN), datagram]), skb.flow, skb.dir);
  // A capture on the device saw the fragments: the first one stands for the datagram where it is traced.
  joined.arrivedAs = r.first ?? skb.frame;
  joined.fragMaxSize = r.largest;
  joined.lag = skb.lag;
  done(joined);
}
