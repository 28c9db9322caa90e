/**
 * net/ipv4/tcp_ipv4.c, the part cnmlab has: a segment goes to the connection its four-tuple
 * names (tcp_v4_rcv's established lookup). There is no listening socket, state machine or
 * retransmission: the only TCP cnmlab carries is dockerd's, whose conversations the sender
 * scripts segment by segment (sim/kernel/dockerd_cluster.ts). A segment for no connection is
 * dropped where Linux would answer with a reset.
 */
import type { Datapath } from '../../datapath';
import type { SimNetns } from '../../objects';
import { bufferView } from '../../../wire/bytes';
import { ETHERNET_HEADER_LEN } from '../../../wire/ethernet';
import { parseIpv4 } from '../../../wire/ipv4';
import { parseTcp } from '../../../wire/tcp';
import { Skb } from '../skb';

export function tcpRcv(dp: Datapath, ns: SimNetns, skb: Skb, l4: number, end: number): void {
  const f = bufferView(skb.frame);
  const t = parseTcp(f.subarray(l4, end));
  const h = parseIpv4(f, ETHERNET_HEADER_LEN);
  if (!t.ok || !h.ok) return;
  dp.sockets.tcp(ns, h.repr.dst, t.repr.dstPort, h.repr.src, t.repr.srcPort)?.(t.repr, t.payload, skb);
}
