/**
 * net/netfilter/nf_nat_proto.c: rewriting a datagram to a NAT target tuple. A source
 * change writes the source address (and the source port, or the ICMP echo identifier), a
 * destination change the destination's; the checksums are updated for each changed field
 * (inet_proto_csum_replace: RFC 1624's incremental update, so a datagram's later fragments,
 * whose transport header travels in the first, need nothing more than their IP header).
 */
import { be16, be32, putBe16 } from '../../../wire/bytes';
import { IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP } from '../../../wire/ipv4';
import type { Tuple } from './nf_conntrack';

export type ManipType = 'src' | 'dst';

/** Where each protocol keeps its checksum in its header. */
const CHECKSUM_AT: Record<number, number> = { [IPPROTO_TCP]: 16, [IPPROTO_UDP]: 6, [IPPROTO_ICMP]: 2 };

/**
 * nf_nat_ipv4_manip_pkt: the datagram whose IPv4 header starts at `ip`, changed in place to
 * `target`'s source or destination; `addressOnly` leaves the transport header alone (the
 * outer header of an ICMP error, whose own checksum the caller makes anew).
 */
export function manipPacket(f: Uint8Array, ip: number, target: Tuple, manip: ManipType, addressOnly = false): void {
  const protocol = f[ip + 9];
  const l4 = ip + (f[ip] & 15) * 4;
  const firstFragment = !addressOnly && (be16(f, ip + 6) & 0x1fff) === 0;
  const csum = CHECKSUM_AT[protocol];
  // UDP's checksum 0 means none: it stays so (udp_manip_pkt).
  const l4Sum = firstFragment && csum !== undefined && !(protocol === IPPROTO_UDP && be16(f, l4 + csum) === 0) ? l4 + csum : undefined;
  const addrAt = ip + (manip === 'src' ? 12 : 16);
  const addr = manip === 'src' ? target.src : target.dst;
  const old = be32(f, addrAt) >>> 0;
  if (old !== addr) {
    replace16(f, ip + 10, old >>> 16, addr >>> 16);
    replace16(f, ip + 10, old & 0xffff, addr & 0xffff);
    // TCP's and UDP's checksums cover the addresses (the pseudo-header); ICMP's does not.
    if (l4Sum !== undefined && protocol !== IPPROTO_ICMP) {
      replace16(f, l4Sum, old >>> 16, addr >>> 16);
      replace16(f, l4Sum, old & 0xffff, addr & 0xffff);
    }
    f[addrAt] = addr >>> 24;
    f[addrAt + 1] = addr >>> 16;
    f[addrAt + 2] = addr >>> 8;
    f[addrAt + 3] = addr;
  }
  // icmp_manip_pkt sets the echo identifier whichever side changes; TCP and UDP their side's port.
  if (firstFragment && (protocol === IPPROTO_ICMP || protocol === IPPROTO_TCP || protocol === IPPROTO_UDP)) {
    const portAt = protocol === IPPROTO_ICMP ? l4 + 4 : manip === 'src' ? l4 : l4 + 2;
    const port = manip === 'src' ? target.sport : target.dport;
    const oldPort = be16(f, portAt);
    if (oldPort !== port) {
      if (l4Sum !== undefined) replace16(f, l4Sum, oldPort, port);
      putBe16(f, portAt, port);
    }
  }
  // A UDP checksum that comes out as 0 is sent as its other form, 0xffff (CSUM_MANGLED_0).
  if (protocol === IPPROTO_UDP && l4Sum !== undefined && be16(f, l4Sum) === 0) putBe16(f, l4Sum, 0xffff);
}

/** RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m'), for one 16-bit field changing from `from` to `to`. */
function replace16(f: Uint8Array, at: number, from: number, to: number): void {
  let sum = (~be16(f, at) & 0xffff) + (~from & 0xffff) + (to & 0xffff);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  putBe16(f, at, ~sum & 0xffff);
}
