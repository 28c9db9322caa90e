/**
 * net/netfilter/nf_nat_core.c: NAT bindings on connections, and the packets rewritten by
 * them. The nat table is asked once per connection for each kind of change (the source
 * at POSTROUTING or INPUT, the destination at PREROUTING or OUTPUT); what it answers
 * (DNAT, SNAT, MASQUERADE, or nothing: a null binding) becomes the connection's binding
 * (nf_nat_setup_info), which changes its reply tuple so answers are recognised. Every
 * packet of the connection is then rewritten at those hooks (nf_nat_packet): the original
 * direction to the binding, the reply direction back, so the answer reaches the sender
 * from the address it asked.
 */
import { IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP } from '../../../wire/ipv4';
import { ICMP_HEADER_LEN } from '../../../wire/icmp';
import { be16, putBe16 } from '../../../wire/bytes';
import { internetChecksum } from '../../../wire/checksum';
import { Connection, Conntrack, CtRef, invert, Tuple } from './nf_conntrack';
import { ManipType, manipPacket } from './nf_nat_proto';
import type { Skb } from '../skb';

/** What a NAT target asks for: an address, a port, or both (a part left out stays as it is). */
export interface NatRange {
  ip?: number;
  port?: number;
}

/** nf_nat_initialized: whether the nat table has answered for this kind of change. */
export function natInitialized(conn: Connection, manip: ManipType): boolean {
  return manip === 'src' ? conn.srcNatInitialized : conn.dstNatInitialized;
}

/**
 * nf_nat_setup_info: binds the connection's `manip` side to `range` (undefined: the null
 * binding, nothing changes). The reply tuple follows; when another connection already
 * answers to it, another port (or ICMP identifier) is taken (get_unique_tuple).
 */
export function natSetupInfo(ct: Conntrack, conn: Connection, manip: ManipType, range: NatRange | undefined): void {
  if (manip === 'src') conn.srcNatInitialized = true;
  else conn.dstNatInitialized = true;
  if (!range) {
    conn.natUnbound = conn.srcNatInitialized && conn.dstNatInitialized && !conn.srcNat && !conn.dstNat;
    return;
  }
  const icmp = conn.original.protocol === IPPROTO_ICMP;
  // A protocol without ports or an identifier has nothing to make unique (nf_nat_l4proto_unique_tuple leaves it).
  const unique = icmp || conn.original.protocol === IPPROTO_TCP || conn.original.protocol === IPPROTO_UDP;
  // The reply's destination is the original's source, its source the original's destination.
  const reply: Tuple = { ...conn.reply };
  if (manip === 'src') {
    if (range.ip !== undefined) reply.dst = range.ip;
    if (range.port !== undefined && unique && !icmp) reply.dport = range.port;
  } else {
    if (range.ip !== undefined) reply.src = range.ip;
    if (range.port !== undefined && unique && !icmp) reply.sport = range.port;
  }
  for (let tries = 0; unique && ct.replyTaken(reply, conn) && tries < 65536; tries++) nextUnique(reply, manip, icmp);
  ct.rebind(conn, reply);
  if (manip === 'src') conn.srcNat = true;
  else conn.dstNat = true;
}

/**
 * nf_nat_l4proto_unique_tuple, deterministically: the next identifier for ICMP; for TCP and
 * UDP the next port in the same class (below 512, 512-1023, or 1024 and above).
 */
function nextUnique(reply: Tuple, manip: ManipType, icmp: boolean): void {
  if (icmp) {
    reply.sport = reply.dport = (reply.sport + 1) & 0xffff;
    return;
  }
  const key = manip === 'src' ? 'dport' : 'sport';
  const p = reply[key];
  const [lo, hi] = p < 512 ? [1, 511] : p < 1024 ? [600, 1023] : [1024, 65535];
  reply[key] = p >= hi ? lo : p + 1;
}

/**
 * nf_nat_packet: rewrites the packet (whose IPv4 header starts at `ip`) for its connection's
 * binding at a hook that changes `manip`; true when it changed. The original direction is
 * changed by a binding of that kind; the reply direction by one of the other kind, undone
 * (the reply to a source NAT gets its destination back). The datagram is changed on a copy
 * (skb_ensure_writable): the frame as it was seen so far stays as it was.
 */
export function natPacket(skb: Skb, ip: number, ref: CtRef, manip: ManipType): boolean {
  const c = ref.conn;
  const bound = manip === 'src' ? (ref.reply ? c.dstNat : c.srcNat) : (ref.reply ? c.srcNat : c.dstNat);
  if (!bound) return false;
  const target = invert(ref.reply ? c.original : c.reply);
  const copy = new Uint8Array(skb.frame.length);
  copy.set(skb.frame);
  manipPacket(copy, ip, target, manip);
  skb.frame = copy;
  return true;
}

/**
 * nf_nat_icmp_reply_translation: an ICMP error RELATED to a connection NAT changed is
 * changed to match: the datagram it quotes back to how its sender sent it, and its own
 * header to what an answer to that sender carries. True when it changed.
 */
export function natIcmpReplyTranslation(skb: Skb, ip: number, ref: CtRef, manip: ManipType): boolean {
  const c = ref.conn;
  const bound = manip === 'src' ? (ref.reply ? c.dstNat : c.srcNat) : (ref.reply ? c.srcNat : c.dstNat);
  if (!bound) return false;
  const other = ref.reply ? c.original : c.reply;
  const copy = new Uint8Array(skb.frame.length);
  copy.set(skb.frame);
  const l4 = ip + (copy[ip] & 15) * 4;
  const end = ip + be16(copy, ip + 2);
  manipPacket(copy, l4 + ICMP_HEADER_LEN, other, manip === 'src' ? 'dst' : 'src');
  putBe16(copy, l4 + 2, 0);
  putBe16(copy, l4 + 2, internetChecksum(copy, l4, Math.min(end, copy.length)));
  manipPacket(copy, ip, invert(other), manip, true);
  skb.frame = copy;
  return true;
}
