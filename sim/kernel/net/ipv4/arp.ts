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

export function arpInput(dp: Datapath, ns: SimNetns, dev: SimLink, skb: Skb): void {
  const p = parseArp(bufferView(skb.frame).subarray(ETHERNET_HEADER_LEN));
  if (!p.ok) return;
  const a = p.repr;
  const ours = dev.addrs.some((x) => x.ip === a.targetIp);
  if (a.opcode === ARP_REQUEST && ours) {
    neighLearnFromRequest(dp, ns, dev, a.senderIp, a.senderMac, skb.lag);
    const reply = emitEthernet({ src: dev.mac, dst: a.senderMac, ethertype: ETHERTYPE_ARP },
      emitArp({ opcode: ARP_REPLY, senderMac: dev.mac, senderIp: a.targetIp, targetMac: a.senderMac, targetIp: a.senderIp }));
    const out = new Skb(reply, skb.flow, skb.dir);
    out.lag = skb.lag;
    devXmit(dp, dev, out);
  } else if (a.opcode === ARP_REPLY) {
    neighConfirm(dp, ns, dev, a.senderIp, a.senderMac, skb.lag);
  }
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
