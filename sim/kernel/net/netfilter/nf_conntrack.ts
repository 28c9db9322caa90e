/**
 * net/netfilter/nf_conntrack_core.c, as far as the state matches need it: a namespace's
 * connections by tuple (protocol, addresses, ports or the ICMP echo identifier), each
 * known in both directions. The first packet of a tuple is NEW, and so are the ones after
 * it until the other side answers; from then on both directions are ESTABLISHED. An ICMP
 * error about a tracked connection is RELATED to it; anything else conntrack cannot place
 * is INVALID.
 */
import type { CtState } from '../ipv4/netfilter/ip_tables';
import { ICMP_DEST_UNREACHABLE, ICMP_ECHO_REPLY, ICMP_ECHO_REQUEST, ICMP_TIME_EXCEEDED } from '../../../wire/icmp';
import { IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP } from '../../../wire/ipv4';
import { be16, be32 } from '../../../wire/bytes';

interface Connection {
  seenReply: boolean;
}

export class Conntrack {
  /** Both directions' tuples lead to the connection; the flag says which direction a tuple is. */
  private readonly tuples = new Map<string, { conn: Connection; reply: boolean }>();

  /** nf_conntrack_in: the state of the packet whose IPv4 header starts at `ip`, tracking it. */
  track(f: Uint8Array, ip: number): CtState {
    const protocol = f[ip + 9];
    const l4 = ip + (f[ip] & 15) * 4;
    if (protocol === IPPROTO_ICMP) {
      const type = f[l4];
      if (type === ICMP_DEST_UNREACHABLE || type === ICMP_TIME_EXCEEDED) {
        // The quoted datagram went the other way: its own tuple, looked up as it was sent.
        const quoted = l4 + 8;
        if (f.length < quoted + 28) return 'INVALID';
        return this.tuples.has(tupleKey(f, quoted)) ? 'RELATED' : 'INVALID';
      }
      if (type !== ICMP_ECHO_REQUEST && type !== ICMP_ECHO_REPLY) return 'INVALID';
    } else if (protocol !== IPPROTO_UDP && protocol !== IPPROTO_TCP) {
      return 'INVALID';
    }
    const key = tupleKey(f, ip);
    const known = this.tuples.get(key);
    if (known) {
      if (known.reply) known.conn.seenReply = true;
      return known.conn.seenReply ? 'ESTABLISHED' : 'NEW';
    }
    // An echo reply nobody asked for starts nothing.
    if (protocol === IPPROTO_ICMP && f[l4] === ICMP_ECHO_REPLY) return 'INVALID';
    const conn: Connection = { seenReply: false };
    this.tuples.set(key, { conn, reply: false });
    this.tuples.set(replyKey(f, ip), { conn, reply: true });
    return 'NEW';
  }
}

/** protocol|src|dst|(sport, dport) — for ICMP echo the identifier stands for both ports. */
function tupleKey(f: Uint8Array, ip: number): string {
  const protocol = f[ip + 9];
  const l4 = ip + (f[ip] & 15) * 4;
  const src = be32(f, ip + 12) >>> 0, dst = be32(f, ip + 16) >>> 0;
  if (protocol === IPPROTO_ICMP) return `${protocol}|${src}|${dst}|${be16(f, l4 + 4)}`;
  return `${protocol}|${src}|${dst}|${be16(f, l4)}|${be16(f, l4 + 2)}`;
}

/** The tuple the answer will carry: addresses and ports swapped. */
function replyKey(f: Uint8Array, ip: number): string {
  const protocol = f[ip + 9];
  const l4 = ip + (f[ip] & 15) * 4;
  const src = be32(f, ip + 12) >>> 0, dst = be32(f, ip + 16) >>> 0;
  if (protocol === IPPROTO_ICMP) return `${protocol}|${dst}|${src}|${be16(f, l4 + 4)}`;
  return `${protocol}|${dst}|${src}|${be16(f, l4 + 2)}|${be16(f, l4)}`;
}
