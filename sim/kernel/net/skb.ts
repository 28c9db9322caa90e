/** include/linux/skbuff.h: a frame in flight, and the slabs frames are cut from. */
import type { Flow } from '../../trace/types';
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
    /** Changed only by NAT, which puts a rewritten copy here (the frame seen so far stays as it was). */
    public frame: Uint8Array,
    readonly flow: Flow | undefined,
    readonly dir: 'request' | 'reply',
    /**
     * What the sender says of this frame on its hop where it leaves the host: a user-space
     * router's (weave's forwarder: to which peer, how many frames batched) or an Open vSwitch
     * action's (the tunnel it set), which the frame's bytes do not hold.
     */
    readonly note?: string,
    /** The vxlan device that wrapped this frame: it acts at step 4, where the frame leaves eth0. */
    readonly encapsulatedBy?: string,
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

  /** A datagram reassembled from fragments: its first fragment's frame, as a capture on the device saw it arrive. */
  arrivedAs?: Uint8Array;

  /** A datagram reassembled from fragments: the IP length of its largest fragment (IPCB's frag_max_size). */
  fragMaxSize?: number;

  /**
   * skb->_nfct: the namespace whose conntrack placed this packet (a packet entering another
   * namespace is tracked there anew, as skb_scrub_packet forgets it), the connection it
   * placed it in, if any, and its state there. Fields of their own, so tracking a packet
   * allocates nothing.
   */
  nfctNetns: object | undefined = undefined;
  nfct: CtRef | undefined = undefined;
  ctState: CtState = 'UNTRACKED';

  /** What conntrack said of `from` holds for this packet too (a forwarded copy, a fragment). */
  copyNfct(from: Skb): void {
    this.nfctNetns = from.nfctNetns;
    this.nfct = from.nfct;
    this.ctState = from.ctState;
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
    if (this.used + length > this.slab.byteLength) {
      this.slab = new ArrayBuffer(Math.max(SLAB_BYTES, length));
      this.used = 0;
    }
    const frame = new Uint8Array(this.slab, this.used, length);
    this.used = (this.used + length + 7) & ~7;
    return frame;
  }
}

const SLAB_BYTES = 1 << 16;

/** The opcode of an ARP frame (offset 20 of an Ethernet frame), undefined for anything else. */
export function arpOpcode(f: Uint8Array): number | undefined {
  return f.length >= 22 && be16(f, 12) === ETHERTYPE_ARP ? be16(f, 20) : undefined;
}
