/** include/linux/skbuff.h: a frame in flight, and the slabs frames are cut from. */
import type { Flow } from '../../trace/types';
import type { SimLink } from '../objects';
import type { CtState } from './ipv4/netfilter/ip_tables';
import type { CtRef } from './netfilter/nf_conntrack';
import { be16 } from '../../wire/bytes';
import { ETHERTYPE_ARP } from '../../wire/ethernet';

/**
 * A frame in flight and what it belongs to (like an skb and its mark). A class, so every
 * skb has one shape and the hot paths stay monomorphic.
 */
export class Skb {
  constructor(
    /**
     * Changed by NAT, which puts a rewritten copy here (the frame seen so far stays as it
     * was), and by a tunnel, which wraps or unwraps it (retarget).
     */
    public frame: Uint8Array,
    readonly flow: Flow | undefined,
    readonly dir: 'request' | 'reply',
    /**
     * What the sender says of this frame on its hop where it leaves the host: a user-space
     * router's (weave's forwarder: to which peer, how many frames batched) or an Open vSwitch
     * action's (the tunnel it set), which the frame's bytes do not hold.
     */
    public note?: string,
    /** The vxlan device that wrapped this frame: it acts at step 4, where the frame leaves eth0. */
    public encapsulatedBy?: string,
  ) {}

  /** A copy br_flood made (the bridge's control block): the taps of the port that sends it tell a flood from a forward. */
  flooded = false;

  /**
   * Processing time spent ahead of the clock: devices Linux runs to completion in one
   * softirq (bridge forwarding, vxlan encapsulation) add their delay here instead of
   * scheduling an event; the next queue (veth backlog, the wire, a gro cell) waits it out.
   */
  lag = 0;

  /** The namespace routed this datagram through rather than sending it (IPCB's IPSKB_FORWARDED): it kept it across the neighbour layer. */
  forwarded = false;

  /**
   * The lower device whose packet taps saw this frame before its rx_handler handed it to a
   * stacked device's port (ptype_all runs once, in __netif_receive_skb_core): the lower's
   * own stack taking the same skb is no second sighting there. A clone is another skb, for a
   * receiver whose taps have not seen it.
   */
  tappedBy: SimLink | undefined = undefined;

  /** A datagram reassembled from fragments: its first fragment's frame, as a capture on the device saw it arrive. */
  arrivedAs?: Uint8Array;

  /** A datagram reassembled from fragments: the IP length of its largest fragment (IPCB's frag_max_size). */
  fragMaxSize?: number;

  /**
   * skb->_nfct: the namespace whose conntrack placed this packet (a packet entering another
   * namespace is tracked there anew, as skb_scrub_packet forgets it), the connection it
   * placed it in, if any, its state there, and whether NAT leaves it as it is there
   * (NfctHolder.nfctUnbound). Fields of their own, so tracking a packet allocates nothing.
   */
  nfctNetns: object | undefined = undefined;
  nfct: CtRef | undefined = undefined;
  ctState: CtState = 'UNTRACKED';
  nfctUnbound = false;

  /**
   * The frame whose headroom this skb owns (skb_headroom): ip output reserves NET_SKB_PAD
   * bytes before a frame it builds, and a tunnel wrapping the frame writes its headers there
   * instead of copying the frame (vxlan_xmit's skb_cow_head finds the room). An skb that
   * shares its frame (a bridge's flood copy) owns none, and a frame replaced (NAT's copy) is
   * no longer the one the room precedes.
   */
  head: Uint8Array | undefined = undefined;
  /** The slab `head` and its headroom were cut from (a typed array's `buffer` is a call into the runtime, every frame would pay it). */
  headSlab: ArrayBuffer | undefined = undefined;

  /**
   * The frame a tunnel wrapped in place, inside this skb's frame `innerOf` (skb->inner_mac_header):
   * the receiving end takes it back as it was instead of cutting the bytes anew (innerFrame).
   */
  inner: Uint8Array | undefined = undefined;
  innerOf: Uint8Array | undefined = undefined;
  /**
   * Where `inner` starts in `innerOf`, as the tunnel wrote it there: the receiving end
   * compares this number, not the two views' byteOffset, a getter V8 calls through its
   * generic inline cache where a frame may be a Buffer or a plain Uint8Array.
   */
  innerStart = 0;

  /** The skb owns the headroom before `frame`, which `slab` holds (see head). */
  ownHeadroom(frame: Uint8Array, slab: ArrayBuffer): void {
    this.head = frame;
    this.headSlab = slab;
  }

  /**
   * The same skb carries a tunnel's wrapping of its frame, or the frame unwrapped, as Linux
   * pushes and pulls headers on one sk_buff; skb_scrub_packet forgets what was said of the
   * packet in the namespace it leaves (its conntrack entry, its forwarding, its marks), so
   * it is, field for field, what a new skb of that frame would be.
   */
  retarget(frame: Uint8Array, encapsulatedBy: string | undefined, inner: Uint8Array | undefined, innerStart = 0): void {
    this.frame = frame;
    this.note = undefined;
    this.encapsulatedBy = encapsulatedBy;
    this.inner = inner;
    this.innerOf = inner === undefined ? undefined : frame;
    this.innerStart = innerStart;
    this.head = undefined;
    this.headSlab = undefined;
    this.flooded = false;
    this.forwarded = false;
    this.tappedBy = undefined;
    this.arrivedAs = undefined;
    this.fragMaxSize = undefined;
    this.nfctNetns = undefined;
    this.nfct = undefined;
    this.ctState = 'UNTRACKED';
    this.nfctUnbound = false;
  }

  /**
   * skb_clone: another skb of the same frame saying the same of it, for a receiver of its
   * own (each host on a segment a broadcast reaches). It owns no headroom: the bytes are shared.
   */
  clone(): Skb {
    const c = new Skb(this.frame, this.flow, this.dir, this.note, this.encapsulatedBy);
    c.flooded = this.flooded;
    c.lag = this.lag;
    c.forwarded = this.forwarded;
    c.arrivedAs = this.arrivedAs;
    c.fragMaxSize = this.fragMaxSize;
    c.inner = this.inner;
    c.innerOf = this.innerOf;
    c.innerStart = this.innerStart;
    c.copyNfct(this);
    return c;
  }

  /** What conntrack said of `from` holds for this packet too (a forwarded copy, a fragment). */
  copyNfct(from: Skb): void {
    this.nfctNetns = from.nfctNetns;
    this.nfct = from.nfct;
    this.ctState = from.ctState;
    this.nfctUnbound = from.nfctUnbound;
  }
}

/** A change ip output makes to the payload as it copies it into the frame (the echo reply's type and checksum). */
export type PayloadRewrite = (b: Uint8Array, at: number, length: number) => void;

/**
 * Where the datapath's frames live: plain Uint8Array views into 64 KiB slabs, cheaper than
 * a Buffer each (a flood makes four per echo). Slabs are never reused, since a kept hop holds its
 * frame for the life of the trace; the GC frees a slab with its last frame.
 */
export class FrameSlab {
  private slab = new ArrayBuffer(SLAB_BYTES);
  private used = 0;

  alloc(length: number): Uint8Array {
    return this.cut(length, 0);
  }

  /** A frame with NET_SKB_PAD bytes of headroom before it in its slab, for the skb that owns it to push headers into (Skb.head). */
  allocWithHeadroom(length: number): Uint8Array {
    return this.cut(length, NET_SKB_PAD);
  }

  /** The slab the last frame was cut from. */
  get current(): ArrayBuffer {
    return this.slab;
  }

  private cut(length: number, headroom: number): Uint8Array {
    const size = headroom + length;
    if (this.used + size > this.slab.byteLength) {
      this.slab = new ArrayBuffer(Math.max(SLAB_BYTES, size));
      this.used = 0;
    }
    const frame = new Uint8Array(this.slab, this.used + headroom, length);
    this.used = (this.used + size + 7) & ~7;
    return frame;
  }
}

/**
 * The headroom Linux's alloc_skb leaves before a frame (NET_SKB_PAD, a cache line on x86):
 * room for vxlan's outer Ethernet, IPv4, UDP and VXLAN headers (50 bytes).
 */
export const NET_SKB_PAD = 64;

const SLAB_BYTES = 1 << 16;

/** The opcode of an ARP frame (offset 20 of an Ethernet frame), undefined for anything else. */
export function arpOpcode(f: Uint8Array): number | undefined {
  return f.length >= 22 && be16(f, 12) === ETHERTYPE_ARP ? be16(f, 20) : undefined;
}
