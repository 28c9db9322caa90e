/**
 * net/ipv4/icmp.c: echo requests are answered (icmp_echo), echo replies go to the ping
 * socket that owns their identifier, and errors the stack raises itself (fragmentation
 * needed, host unreachable) reach the sending socket.
 */
import type { Datapath } from '../../datapath';
import type { SimLink, SimNetns } from '../../objects';
import type { Flow } from '../../../trace/types';
import { be16, bufferView, putBe16 } from '../../../wire/bytes';
import { internetChecksum } from '../../../wire/checksum';
import { emitEthernet, ETHERNET_HEADER_LEN, ETHERTYPE_IPV4 } from '../../../wire/ethernet';
import {
  emitIcmp, ICMP_DEST_UNREACHABLE, ICMP_ECHO_REPLY, ICMP_ECHO_REQUEST, ICMP_HEADER_LEN, ICMP_TIME_EXCEEDED, parseIcmp, UNREACH_FRAG_NEEDED,
} from '../../../wire/icmp';
import { emitIpv4, IPPROTO_ICMP, IPV4_MIN_HEADER_LEN, ipv4PacketDst, ipv4PacketDstString, ipv4PacketEnd, ipv4PacketSrc, ipv4PacketTtl, parseIpv4 } from '../../../wire/ipv4';
import { Skb } from '../skb';
import { ipSend, NO_OPTIONS } from './ip_output';
import { isLocalAddress, route, updatePmtu } from './route';

/** The TOS Linux gives its own ICMP errors (IPTOS_PREC_INTERNETCONTROL). */
const TOS_INTERNETCONTROL = 0xc0;
/** An ICMP error quotes the offending datagram's header and first 8 payload bytes (RFC 792). */
const ICMP_QUOTE_LEN = 28;

export function icmpRcv(dp: Datapath, ns: SimNetns, skb: Skb, l4: number, end: number): void {
  const f = skb.frame, ip = ETHERNET_HEADER_LEN;
  // Echo request and reply only; ident and seq follow type, code and checksum (RFC 792).
  if (end - l4 < ICMP_HEADER_LEN) return;
  const type = f[l4];
  if (type === ICMP_ECHO_REQUEST) {
    // icmp_echo answers within the same softirq: the reply leaves after the stack's time, no event.
    // The kernel's ICMP socket does not set DF on echo replies.
    const h = ECHO_REPLY_HEADER;
    h.dst = ipv4PacketSrc(f, ip);
    h.src = ipv4PacketDstString(f, ip);
    h.id = dp.nextIpId();
    ipSend(dp, ns, h, f.subarray(l4, end), skb.flow, 'reply', echoReplyInPlace, skb.lag + dp.delays.stack);
  } else if (type === ICMP_ECHO_REPLY) {
    dp.sockets.echo(ns, be16(f, l4 + 4))?.onReply(be16(f, l4 + 6), ipv4PacketTtl(f, ip), end - l4, ipv4PacketSrc(f, ip));
  } else if (type === ICMP_DEST_UNREACHABLE || type === ICMP_TIME_EXCEEDED) {
    icmpUnreach(dp, ns, f, ip, l4, end);
  }
}

/**
 * An echo reply's IPv4 header, its addresses and id written for each reply: every echo a
 * flood answers passes here, and ipSend only reads the header, before it returns.
 */
const ECHO_REPLY_HEADER = { dst: '', src: '', protocol: IPPROTO_ICMP, ttl: 64, id: 0, tos: 0, dontFragment: false, moreFragments: false, fragmentOffset: 0 };

/** icmp_unreach: an error (apart from icmpRcv, whose echo paths every ping's packet takes). */
function icmpUnreach(dp: Datapath, ns: SimNetns, f: Uint8Array, ip: number, l4: number, end: number): void {
  if (f[l4] === ICMP_DEST_UNREACHABLE && f[l4 + 1] === UNREACH_FRAG_NEEDED) learnPmtu(dp, ns, f, l4, end);
  errorToSocket(dp, ns, f, ip, l4, end);
}

/** iputils' words for the destination-unreachable codes. */
const UNREACHABLE_TEXT: Record<number, string> = {
  0: 'Destination Net Unreachable',
  1: 'Destination Host Unreachable',
  2: 'Destination Protocol Unreachable',
  3: 'Destination Port Unreachable',
  9: 'Destination Net Prohibited',
  10: 'Destination Host Prohibited',
  13: 'Packet filtered',
};

/** iputils' words for the time-exceeded codes. */
const TIME_EXCEEDED_TEXT: Record<number, string> = {
  0: 'Time to live exceeded',
  1: 'Frag reassembly time exceeded',
};

/** icmp_unreach: an error quoting one of our echo requests reaches the ping socket that sent it. */
function errorToSocket(dp: Datapath, ns: SimNetns, f: Uint8Array, ip: number, l4: number, end: number): void {
  const quoted = l4 + ICMP_HEADER_LEN;
  if (end - quoted < 28 || f[quoted + 9] !== IPPROTO_ICMP) return;
  const inner = quoted + (f[quoted] & 15) * 4;
  if (end - inner < ICMP_HEADER_LEN || f[inner] !== ICMP_ECHO_REQUEST) return;
  const code = f[l4 + 1];
  const text = f[l4] === ICMP_TIME_EXCEEDED ? TIME_EXCEEDED_TEXT[code] ?? `Time exceeded, Bad Code: ${code}`
    : code === UNREACH_FRAG_NEEDED ? `Frag needed and DF set (mtu = ${be16(f, l4 + 6)})` : UNREACHABLE_TEXT[code] ?? `Dest Unreachable, Bad Code: ${code}`;
  dp.sockets.echo(ns, be16(f, inner + 4))?.onError(be16(f, inner + 6), `From ${ipv4PacketSrc(f, ip)} icmp_seq=${be16(f, inner + 6)} ${text}`, f[l4]);
}

/** icmp_send's room: the error fits in 576 bytes, quoting as much of the datagram as does. */
const ICMP_ERROR_MAX_QUOTE = 576 - 20 - ICMP_HEADER_LEN;

/**
 * icmp_send: an ICMP error about the datagram whose IPv4 header starts at `ip`, back to its
 * source: destination unreachable (netfilter's REJECT, a forwarded datagram with no route
 * or too big for its DF), time exceeded (a forwarded datagram whose TTL ran out). It comes
 * from the address the datagram was sent to when that is ours, else from the address that
 * routes to the source (icmp_send's saddr = 0). No error answers an ICMP error or a later
 * fragment. `info` is the next-hop MTU of "fragmentation needed".
 */
export function icmpSend(dp: Datapath, ns: SimNetns, skb: Skb, ip: number, type: typeof ICMP_DEST_UNREACHABLE | typeof ICMP_TIME_EXCEEDED, code: number, info = 0): void {
  const f = skb.frame;
  if ((be16(f, ip + 6) & 0x1fff) !== 0) return;
  const l4 = ip + (f[ip] & 15) * 4;
  if (f[ip + 9] === IPPROTO_ICMP && f[l4] !== ICMP_ECHO_REQUEST && f[l4] !== ICMP_ECHO_REPLY) return;
  const end = ipv4PacketEnd(f, ip);
  const quoted = Buffer.from(f.subarray(ip, Math.min(end, ip + ICMP_ERROR_MAX_QUOTE)));
  const to = ipv4PacketSrc(f, ip);
  const from = isLocalAddress(ns, ipv4PacketDst(f, ip)) ? ipv4PacketDstString(f, ip) : undefined;
  const icmp = emitIcmp(type === ICMP_TIME_EXCEEDED ? { kind: 'time-exceeded', type, code, quoted } : { kind: 'unreachable', type, code, mtu: info, quoted });
  ipSend(dp, ns, { dst: to, src: from, protocol: IPPROTO_ICMP, ttl: 64, id: dp.nextIpId(), tos: TOS_INTERNETCONTROL, dontFragment: false, moreFragments: false, fragmentOffset: 0 },
    icmp, skb.flow, skb.dir === 'request' ? 'reply' : 'request', undefined, skb.lag + dp.delays.stack);
}

/** ip_rt_min_pmtu: a reported MTU below it is taken as this (net.ipv4.route.min_pmtu). */
const MIN_PMTU = 552;

/** icmp_unreach for "fragmentation needed": the path MTU to the quoted datagram's destination is learned (ipv4_update_pmtu). */
function learnPmtu(dp: Datapath, ns: SimNetns, f: Uint8Array, l4: number, end: number): void {
  const quoted = l4 + ICMP_HEADER_LEN;
  if (end - quoted < IPV4_MIN_HEADER_LEN) return;
  const reported = be16(f, l4 + 6);
  const dst = ipv4PacketDstString(f, quoted);
  const r = route(ns, dst);
  if (r && !r.local) updatePmtu(ns, dst, reported < MIN_PMTU ? Math.min(r.dev.mtu, MIN_PMTU) : reported, dp.clock.now);
}

/** Turns a copy of an ICMP echo request into its reply: type 0, checksum over the message anew. */
function echoReplyInPlace(b: Uint8Array, at: number, length: number): void {
  b[at] = ICMP_ECHO_REPLY;
  b[at + 1] = 0;
  putBe16(b, at + 2, 0);
  putBe16(b, at + 2, internetChecksum(b, at, at + length));
}

/**
 * A DF datagram over the device MTU never leaves: the kernel reports ICMP fragmentation
 * needed to the sending socket. The drop hop carries that ICMP message, quoting the
 * datagram's header and first 8 payload bytes.
 */
export function icmpFragNeededToSocket(dp: Datapath, ns: SimNetns, dev: SimLink, mtu: number, payload: Buffer, dst: string, flow: Flow, reason: string): void {
  const src = dev.addrs[0]?.ip ?? '0.0.0.0';
  const datagram = emitIpv4({ src, dst, protocol: IPPROTO_ICMP, ttl: 64, id: dp.lastIpId, tos: 0, dontFragment: true, moreFragments: false, fragmentOffset: 0, options: NO_OPTIONS }, payload);
  const icmp = emitIcmp({ kind: 'unreachable', type: ICMP_DEST_UNREACHABLE, code: UNREACH_FRAG_NEEDED, mtu, quoted: datagram.subarray(0, ICMP_QUOTE_LEN) });
  const frame = emitEthernet({ src: dev.mac, dst: dev.mac, ethertype: ETHERTYPE_IPV4 },
    emitIpv4({ src, dst: src, protocol: IPPROTO_ICMP, ttl: 64, id: dp.nextIpId(), tos: TOS_INTERNETCONTROL, dontFragment: false, moreFragments: false, fragmentOffset: 0, options: NO_OPTIONS }, icmp));
  dp.trace.localError(ns, dev, flow, frame, mtu, `MTU ${mtu} < ${datagram.length}, DF set: ${reason}`);
}

/** A queued echo request whose next hop never answered ARP: its socket hears "Destination Host Unreachable". */
export function icmpHostUnreachableToSocket(dp: Datapath, ns: SimNetns, skb: Skb): void {
  const h = parseIpv4(bufferView(skb.frame));
  if (!h.ok || h.repr.protocol !== IPPROTO_ICMP) return;
  const icmp = parseIcmp(h.payload);
  if (!icmp.ok || icmp.repr.kind !== 'echo') return;
  dp.sockets.echo(ns, icmp.repr.ident)?.onError(icmp.repr.seq, `From ${h.repr.src} icmp_seq=${icmp.repr.seq} Destination Host Unreachable`);
}
