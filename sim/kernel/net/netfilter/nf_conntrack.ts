/**
 * net/netfilter/nf_conntrack_core.c, as far as the state matches and NAT need it: a
 * namespace's connections, each with its original tuple (protocol, addresses, ports or the
 * ICMP echo identifier, as the first packet carried them) and its reply tuple (what an
 * answer will carry: the original inverted, then changed by NAT), both leading to it. The
 * first packet of a tuple is NEW, and so are the ones after it until the other side
 * answers; from then on both directions are ESTABLISHED. An ICMP error about a tracked
 * connection is RELATED to it; anything else conntrack cannot place is INVALID.
 * nf_conntrack_in attaches the connection to the packet (skb->_nfct), so the hooks after
 * the first one in the same namespace see the same connection even once NAT rewrote it.
 */
import type { CtState } from '../ipv4/netfilter/ip_tables';
import { ICMP_DEST_UNREACHABLE, ICMP_ECHO_REPLY, ICMP_ECHO_REQUEST, ICMP_TIME_EXCEEDED } from '../../../wire/icmp';
import { IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP } from '../../../wire/ipv4';
import { be16, be32 } from '../../../wire/bytes';

/** A direction's tuple; for ICMP echo the identifier stands in both port places (as Linux keys it by id). */
export interface Tuple {
  protocol: number;
  src: number;
  dst: number;
  sport: number;
  dport: number;
}

export class Connection {
  seenReply = false;
  /** IPS_SRC_NAT and IPS_DST_NAT: a binding changed the source (SNAT, MASQUERADE) or the destination (DNAT). */
  srcNat = false;
  dstNat = false;
  /** nf_nat_initialized: the nat table was asked once for each kind of change (a null binding when no rule said one). */
  srcNatInitialized = false;
  dstNatInitialized = false;

  constructor(readonly original: Tuple, public reply: Tuple) {}
}

/** The connection a packet belongs to and its direction (skb->_nfct and ctinfo's direction). */
export interface CtRef {
  conn: Connection;
  reply: boolean;
}

export class Conntrack {
  /** Both directions' tuples lead to the connection; the flag says which direction a tuple is. */
  private readonly tuples = new TupleTable();

  /**
   * nf_conntrack_in: the state of the packet whose IPv4 header starts at `ip`, tracking it,
   * and its connection when it has one (an ICMP error's is the one it is RELATED to).
   */
  track(f: Uint8Array, ip: number): { state: CtState; ct?: CtRef } {
    const protocol = f[ip + 9];
    const l4 = ip + (f[ip] & 15) * 4;
    if (protocol === IPPROTO_ICMP) {
      const type = f[l4];
      if (type === ICMP_DEST_UNREACHABLE || type === ICMP_TIME_EXCEEDED) {
        // nf_conntrack_inet_error: the quoted datagram went the other way, so its tuple
        // inverted is the one this error travels as (found even once NAT rewrote the quote).
        const quoted = l4 + 8;
        if (f.length < quoted + 28) return { state: 'INVALID' };
        const known = this.tuples.get(invert(packetTuple(f, quoted)));
        return known ? { state: 'RELATED', ct: known } : { state: 'INVALID' };
      }
      if (type !== ICMP_ECHO_REQUEST && type !== ICMP_ECHO_REPLY) return { state: 'INVALID' };
    } else if (protocol !== IPPROTO_UDP && protocol !== IPPROTO_TCP) {
      return { state: 'INVALID' };
    }
    const tuple = packetTuple(f, ip);
    const known = this.tuples.get(tuple);
    if (known) {
      if (known.reply) known.conn.seenReply = true;
      return { state: known.conn.seenReply ? 'ESTABLISHED' : 'NEW', ct: known };
    }
    // An echo reply nobody asked for starts nothing.
    if (protocol === IPPROTO_ICMP && f[l4] === ICMP_ECHO_REPLY) return { state: 'INVALID' };
    const conn = new Connection(tuple, invert(tuple));
    const ct: CtRef = { conn, reply: false };
    this.tuples.set(conn.original, ct);
    this.tuples.set(conn.reply, { conn, reply: true });
    return { state: 'NEW', ct };
  }

  /** Whether a reply tuple is taken by another connection (nf_nat_used_tuple). */
  replyTaken(reply: Tuple, by: Connection): boolean {
    const known = this.tuples.get(reply);
    return known !== undefined && known.conn !== by;
  }

  /** A NAT binding changed the connection's reply tuple: answers are found by the new one. */
  rebind(conn: Connection, reply: Tuple): void {
    this.tuples.delete(conn.reply);
    conn.reply = reply;
    this.tuples.set(reply, { conn, reply: true });
  }
}

/** nf_ct_invert_tuple: addresses and ports swapped. */
export function invert(t: Tuple): Tuple {
  return { protocol: t.protocol, src: t.dst, dst: t.src, sport: t.dport, dport: t.sport };
}

/** The tuple of the datagram whose IPv4 header starts at `ip` (ICMP: the echo identifier as both ports). */
export function packetTuple(f: Uint8Array, ip: number): Tuple {
  const protocol = f[ip + 9];
  const l4 = ip + (f[ip] & 15) * 4;
  const src = be32(f, ip + 12) >>> 0, dst = be32(f, ip + 16) >>> 0;
  if (protocol === IPPROTO_ICMP) {
    const id = be16(f, l4 + 4);
    return { protocol, src, dst, sport: id, dport: id };
  }
  return { protocol, src, dst, sport: be16(f, l4), dport: be16(f, l4 + 2) };
}

/**
 * Tuples to their connections, keyed by numbers (source, then destination, then protocol
 * and ports in one exact integer of 40 bits): every tracked packet looks its tuple up, and
 * a text key would be built and hashed for each.
 */
class TupleTable {
  private readonly bySrc = new Map<number, Map<number, Map<number, CtRef>>>();

  get(t: Tuple): CtRef | undefined {
    return this.bySrc.get(t.src)?.get(t.dst)?.get(rest(t));
  }

  set(t: Tuple, ref: CtRef): void {
    let byDst = this.bySrc.get(t.src);
    if (!byDst) this.bySrc.set(t.src, (byDst = new Map()));
    let byRest = byDst.get(t.dst);
    if (!byRest) byDst.set(t.dst, (byRest = new Map()));
    byRest.set(rest(t), ref);
  }

  delete(t: Tuple): void {
    this.bySrc.get(t.src)?.get(t.dst)?.delete(rest(t));
  }
}

/** Protocol (8 bits) and both ports (16 each) as one integer, exact in a double. */
function rest(t: Tuple): number {
  return t.protocol * 0x100000000 + t.sport * 0x10000 + t.dport;
}
