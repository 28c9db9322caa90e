/**
 * net/netfilter/nf_conntrack_core.c, as far as the state matches and NAT need it: a
 * namespace's connections, each with its original tuple (protocol, addresses, ports or the
 * ICMP echo identifier, as the first packet carried them) and its reply tuple (what an
 * answer will carry: the original inverted, then changed by NAT), both leading to it. The
 * first packet of a tuple is NEW, and so are the ones after it until the other side
 * answers; from then on both directions are ESTABLISHED. An ICMP error about a tracked
 * connection is RELATED to it; anything else conntrack cannot place is INVALID. A protocol
 * with no tracker of its own (IP-in-IP, GRE…) is tracked by its addresses alone
 * (nf_conntrack_proto_generic): its tuple's ports are 0.
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
  /**
   * Both kinds of change were asked for and neither bound: no NAT step changes the
   * connection's packets from now on (kept by nf_nat_core's natSetupInfo).
   */
  natUnbound = false;

  constructor(readonly original: Tuple, public reply: Tuple) {}
}

/** The connection a packet belongs to and its direction (skb->_nfct and ctinfo's direction), with the tuple that direction travels as. */
export interface CtRef {
  conn: Connection;
  reply: boolean;
  tuple: Tuple;
  /**
   * The tuple's addresses as be32 reads them off a header, and its ports (an echo's
   * identifier twice) as the one word be32 reads there: what a tracked packet's header is
   * compared with (recentFor). Signed 32-bit numbers, which V8 keeps as small integers,
   * where an unsigned address above 127.255.255.255 (an underlay's 198.51.100.x) is a double
   * read through a box.
   */
  readonly src32: number;
  readonly dst32: number;
  readonly ports32: number;
}

function ctRef(conn: Connection, reply: boolean, tuple: Tuple): CtRef {
  return { conn, reply, tuple, src32: tuple.src | 0, dst32: tuple.dst | 0, ports32: (tuple.sport << 16) | tuple.dport };
}

/** Whether `ref`'s tuple is the one a header holds (addresses and ports word as be32 reads them). */
function isRef(ref: CtRef, protocol: number, src32: number, dst32: number, ports32: number): boolean {
  return ref.src32 === src32 && ref.dst32 === dst32 && ref.ports32 === ports32 && ref.tuple.protocol === protocol;
}

/** Where conntrack leaves its answer on the packet (the fields of skb->_nfct), so tracking allocates nothing per packet. */
export interface NfctHolder {
  nfct: CtRef | undefined;
  ctState: CtState;
  /**
   * Whether no NAT step changes the packet in this namespace: it is in no connection (nat
   * runs for tracked packets only), or in one whose NAT is settled unbound (Connection.natUnbound)
   * and not as an ICMP error RELATED to it. Settled once, a connection stays so: the hooks
   * after the first in the namespace read this rather than the connection.
   */
  nfctUnbound: boolean;
}

export class Conntrack {
  /** Both directions' tuples lead to the connection; the flag says which direction a tuple is. */
  private readonly tuples = new TupleTable();

  /**
   * nf_conntrack_in: tracks the packet whose IPv4 header starts at `ip` in `f` and leaves its
   * state, and its connection when it has one (an ICMP error's is the one it is RELATED
   * to), on `out`.
   */
  track(f: Uint8Array, ip: number, out: NfctHolder): void {
    // Most packets belong to a connection just seen: found among the last two, that is all.
    const protocol = f[ip + 9];
    const l4 = ip + (f[ip] & 15) * 4;
    const recent = protocol === IPPROTO_UDP || protocol === IPPROTO_TCP || (protocol === IPPROTO_ICMP && (f[l4] === ICMP_ECHO_REQUEST || f[l4] === ICMP_ECHO_REPLY))
      ? this.recentFor(f, ip, protocol, l4) : undefined;
    if (recent !== undefined) return placed(recent, out);
    this.trackAny(f, ip, out);
  }

  /**
   * One of the last two tuples found, when the packet's tuple is one of them. Both are
   * asked as they are, in no order of their own: a connection's two directions alternate,
   * and reordering them would be two stores a packet.
   */
  private recentFor(f: Uint8Array, ip: number, protocol: number, l4: number): CtRef | undefined {
    const src = be32(f, ip + 12), dst = be32(f, ip + 16);
    // ICMP echo: the identifier in both port places (as ctRef keys it).
    const ports = protocol === IPPROTO_ICMP ? echoPorts(be16(f, l4 + 4)) : be32(f, l4);
    const a = this.recent;
    if (a !== undefined && isRef(a, protocol, src, dst, ports)) return a;
    const b = this.before;
    if (b !== undefined && isRef(b, protocol, src, dst, ports)) return b;
    return undefined;
  }

  private trackAny(f: Uint8Array, ip: number, out: NfctHolder): void {
    const protocol = f[ip + 9];
    const l4 = ip + (f[ip] & 15) * 4;
    out.nfct = undefined;
    if (protocol === IPPROTO_ICMP) {
      const type = f[l4];
      if (type === ICMP_DEST_UNREACHABLE || type === ICMP_TIME_EXCEEDED) {
        // nf_conntrack_inet_error: the quoted datagram went the other way, so its tuple
        // inverted is the one this error travels as (found even once NAT rewrote the quote).
        const quoted = l4 + 8;
        const known = f.length < quoted + 28 ? undefined : this.tuples.get(invert(packetTuple(f, quoted)));
        out.nfct = known;
        out.ctState = known ? 'RELATED' : 'INVALID';
        out.nfctUnbound = known === undefined;
        return;
      }
      if (type !== ICMP_ECHO_REQUEST && type !== ICMP_ECHO_REPLY) {
        out.ctState = 'INVALID';
        out.nfctUnbound = true;
        return;
      }
    }
    const src = be32(f, ip + 12) >>> 0, dst = be32(f, ip + 16) >>> 0;
    // ICMP echo: the identifier stands in both port places; the generic tracker has none.
    const ported = protocol === IPPROTO_UDP || protocol === IPPROTO_TCP;
    const sport = protocol === IPPROTO_ICMP ? be16(f, l4 + 4) : ported ? be16(f, l4) : 0;
    const dport = protocol === IPPROTO_ICMP ? sport : ported ? be16(f, l4 + 2) : 0;
    const known = this.lookup(protocol, src, dst, sport, dport);
    if (known) return placed(known, out);
    // An echo reply nobody asked for starts nothing.
    if (protocol === IPPROTO_ICMP && f[l4] === ICMP_ECHO_REPLY) {
      out.ctState = 'INVALID';
      out.nfctUnbound = true;
      return;
    }
    const tuple: Tuple = { protocol, src, dst, sport, dport };
    const conn = new Connection(tuple, invert(tuple));
    const ct = ctRef(conn, false, conn.original);
    // Adding may take the place of an entry with the same tuple: the last-found ones are forgotten.
    this.recent = this.before = undefined;
    this.tuples.set(ct);
    this.tuples.set(ctRef(conn, true, conn.reply));
    out.nfct = ct;
    out.ctState = 'NEW';
    out.nfctUnbound = false;
  }

  // The last two tuples found: a connection's packets come in runs, and its two directions
  // alternate (a ping's requests and replies), so most packets are one of them.
  private recent: CtRef | undefined = undefined;
  private before: CtRef | undefined = undefined;

  /** The table's entry for a tuple, remembered as the last found. */
  private lookup(protocol: number, src: number, dst: number, sport: number, dport: number): CtRef | undefined {
    const found = this.tuples.find(protocol, src, dst, sport, dport);
    if (found !== undefined) {
      this.before = this.recent;
      this.recent = found;
    }
    return found;
  }

  /** Whether a reply tuple is taken by another connection (nf_nat_used_tuple). */
  replyTaken(reply: Tuple, by: Connection): boolean {
    const known = this.tuples.get(reply);
    return known !== undefined && known.conn !== by;
  }

  /** A NAT binding changed the connection's reply tuple: answers are found by the new one. */
  rebind(conn: Connection, reply: Tuple): void {
    // The entry for the old reply tuple goes: neither last-found one may still be it.
    this.recent = this.before = undefined;
    this.tuples.delete(conn.reply);
    conn.reply = reply;
    this.tuples.set(ctRef(conn, true, reply));
  }
}

/** A packet of a known connection: a reply direction's packet marks it answered; answered, it is ESTABLISHED. */
function placed(known: CtRef, out: NfctHolder): void {
  if (known.reply && !known.conn.seenReply) known.conn.seenReply = true;
  out.nfct = known;
  out.ctState = known.conn.seenReply ? 'ESTABLISHED' : 'NEW';
  out.nfctUnbound = known.conn.natUnbound;
}

/** An echo identifier in both port places, as the one word ctRef makes of a tuple's ports. */
function echoPorts(id: number): number {
  return (id << 16) | id;
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
 * Tuples to their connections, as nf_conntrack_hash holds them: an array of buckets indexed
 * by the tuple's hash (doubled as it fills), each bucket's entries compared field by field.
 * Every tracked packet looks its tuple up, read straight from the header: no key is built,
 * nothing is allocated, no Map is asked.
 */
class TupleTable {
  private buckets: (CtRef[] | undefined)[] = new Array<CtRef[] | undefined>(64).fill(undefined);
  private mask = 63;
  private count = 0;

  find(protocol: number, src: number, dst: number, sport: number, dport: number): CtRef | undefined {
    const bucket = this.buckets[tupleHash(protocol, src, dst, sport, dport) & this.mask];
    if (bucket === undefined) return undefined;
    for (let i = 0; i < bucket.length; i++) {
      const t = bucket[i].tuple;
      if (isTuple(t, protocol, src, dst, sport, dport)) return bucket[i];
    }
    return undefined;
  }

  get(t: Tuple): CtRef | undefined {
    return this.find(t.protocol, t.src, t.dst, t.sport, t.dport);
  }

  /** Adds `ref` under its tuple, in place of an entry with the same tuple. */
  set(ref: CtRef): void {
    const at = hashOf(ref.tuple) & this.mask;
    const bucket = (this.buckets[at] ??= []);
    const same = bucket.findIndex((r) => sameTuple(r.tuple, ref.tuple));
    if (same >= 0) return void (bucket[same] = ref);
    bucket.push(ref);
    if (++this.count > 2 * this.buckets.length) this.grow();
  }

  delete(t: Tuple): void {
    const bucket = this.buckets[hashOf(t) & this.mask];
    if (bucket === undefined) return;
    const same = bucket.findIndex((r) => sameTuple(r.tuple, t));
    if (same < 0) return;
    bucket.splice(same, 1);
    this.count--;
  }

  /** nf_conntrack_hash_resize: twice the buckets, every entry placed anew. */
  private grow(): void {
    const entries = this.buckets.flatMap((b) => b ?? []);
    this.buckets = new Array<CtRef[] | undefined>(this.buckets.length * 2).fill(undefined);
    this.mask = this.buckets.length - 1;
    for (const ref of entries) (this.buckets[hashOf(ref.tuple) & this.mask] ??= []).push(ref);
  }
}

function isTuple(t: Tuple, protocol: number, src: number, dst: number, sport: number, dport: number): boolean {
  return t.src === src && t.dst === dst && t.sport === sport && t.dport === dport && t.protocol === protocol;
}

function sameTuple(a: Tuple, b: Tuple): boolean {
  return a.src === b.src && a.dst === b.dst && a.sport === b.sport && a.dport === b.dport && a.protocol === b.protocol;
}

function hashOf(t: Tuple): number {
  return tupleHash(t.protocol, t.src, t.dst, t.sport, t.dport);
}

/** The tuple's numbers mixed into 30 bits, small enough for V8 to keep the key unboxed. */
function tupleHash(protocol: number, src: number, dst: number, sport: number, dport: number): number {
  let h = Math.imul(src ^ 0x9e3779b9, 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 15) ^ dst, 0xc2b2ae35);
  h = Math.imul(h ^ (h >>> 13) ^ ((sport << 16) | dport), 0x85ebca6b);
  h ^= protocol;
  return (h ^ (h >>> 16)) & 0x3fffffff;
}
