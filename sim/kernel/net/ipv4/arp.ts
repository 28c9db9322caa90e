/**
 * net/ipv4/arp.c: requests for one of the device's addresses are answered (and teach the
 * asker's address), replies confirm the neighbour entry; arpSolicit sends the requests
 * the neighbour layer asks for.
 */
import type { Datapath } from '../../datapath';
import type { SimLink, SimNetns } from '../../objects';
import { BROADCAST_MAC, ZERO_MAC } from '../../../wire/addr';
import { ARP_REPLY, ARP_REQUEST, emitArp, parseArp } from '../../../wire/arp';
import { bufferView } from '../../../wire/bytes';
import { emitEthernet, ETHERNET_HEADER_LEN, ETHERTYPE_ARP } from '../../../wire/ethernet';
import { Skb } from '../skb';
import { devXmit } from '../dev';
import { neighConfirm, neighLearnFromRequest } from '../neighbour';
import { route } from './route';
import { devForwards } from './devinet';

export function arpInput(dp: Datapath, ns: SimNetns, dev: SimLink, skb: Skb): void {
  // arp_rcv: a device without ARP (IFF_NOARP) takes no request and no reply.
  if (dev.stacked?.noArp) return dp.trace.drop(skb, dev, `${dev.name} is NOARP: arp_rcv drops the ARP packet`);
  const p = parseArp(bufferView(skb.frame).subarray(ETHERNET_HEADER_LEN));
  if (!p.ok) return;
  const a = p.repr;
  const ours = dev.addrs.some((x) => x.ip === a.targetIp);
  if (a.opcode === ARP_REQUEST && ours) {
    neighLearnFromRequest(dp, ns, dev, a.senderIp, a.senderMac, skb.lag);
    arpReply(dp, dev, a.targetIp, a.senderMac, a.senderIp, skb);
  } else if (a.opcode === ARP_REQUEST && proxies(ns, dev, a.targetIp)) {
    neighLearnFromRequest(dp, ns, dev, a.senderIp, a.senderMac, skb.lag);
    // proxy_delay 0 answers at once; otherwise Linux holds the request a random part of it (pneigh_enqueue): half, here.
    if (dev.proxyDelay === 0) arpReply(dp, dev, a.targetIp, a.senderMac, a.senderIp, skb);
    else dp.clock.schedule(dev.proxyDelay * 5_000_000, () => arpReply(dp, dev, a.targetIp, a.senderMac, a.senderIp, skb));
  } else if (a.opcode === ARP_REPLY) {
    neighConfirm(dp, ns, dev, a.senderIp, a.senderMac, skb.lag);
  }
}

/**
 * arp_process's proxy branch: the device proxies (proxy_arp) and forwards, and the target
 * is reached by a unicast route out of another device (arp_fwd_proxy), so the device
 * answers with its own address for it.
 */
function proxies(ns: SimNetns, dev: SimLink, target: string): boolean {
  if (!dev.proxyArp || !devForwards(dev)) return false;
  const r = route(ns, target);
  return !!r && !r.local && !r.blackhole && r.dev !== dev;
}

function arpReply(dp: Datapath, dev: SimLink, ip: string, toMac: string, toIp: string, cause: Skb): void {
  const reply = emitEthernet({ src: dev.mac, dst: toMac, ethertype: ETHERTYPE_ARP },
    emitArp({ opcode: ARP_REPLY, senderMac: dev.mac, senderIp: ip, targetMac: toMac, targetIp: toIp }));
  const out = new Skb(reply, cause.flow, cause.dir);
  out.lag = cause.lag;
  devXmit(dp, dev, out);
}

/**
 * A request for `target` from the device's first address: broadcast, or unicast to the
 * address a PROBE entry still holds. `cause` is the datagram that started resolution; its
 * first request belongs to its flow, later ones are not traced.
 */
export function arpSolicit(dp: Datapath, dev: SimLink, target: string, unicastMac: string | undefined, cause: Skb | undefined): void {
  const src = dev.addrs[0]?.ip ?? '0.0.0.0';
  const arp = emitArp({ opcode: ARP_REQUEST, senderMac: dev.mac, senderIp: src, targetMac: ZERO_MAC, targetIp: target });
  const frame = emitEthernet({ src: dev.mac, dst: unicastMac ?? BROADCAST_MAC, ethertype: ETHERTYPE_ARP }, arp);
  const request = new Skb(frame, cause?.flow, cause?.dir ?? 'request');
  if (cause) request.lag = cause.lag;
  devXmit(dp, dev, request);
}
