/**
 * net/bridge/br_netfilter_hooks.c: with net.bridge.bridge-nf-call-iptables set in the
 * bridge's namespace, an IPv4 frame the bridge forwards from one port to another goes
 * through iptables as if routed: PREROUTING as it enters, then FORWARD and POSTROUTING as
 * it leaves, with the bridge as the device in and out (`-i docker0 -o docker0`; the port
 * itself is what `-m physdev` would match, which the sim's iptables does not take). So
 * Docker's FORWARD chain decides container-to-container traffic on a bridge: the ACCEPT of
 * inter-container communication, the DROP of a network made with enable_icc=false, a
 * user's DOCKER-USER rule. A frame for the bridge's own address is not bridged: the IP
 * stack above the bridge runs its hooks once (ip_sabotage_in keeps them from running
 * twice). IPv4 broadcast frames, which br_netfilter also passes through, are not run
 * through them here; nor is the re-routing a DNAT of a bridged frame would start.
 */
import type { Datapath } from '../../datapath';
import type { SimLink } from '../../objects';
import { NF_INET_FORWARD, NF_INET_POST_ROUTING, NF_INET_PRE_ROUTING, NfInetHookNum } from '../netfilter';
import type { Skb } from '../skb';
import { be16 } from '../../../wire/bytes';
import { ETHERNET_HEADER_LEN, ETHERTYPE_IPV4 } from '../../../wire/ethernet';

/** Whether a frame `br` bridges goes through iptables: IPv4, in a namespace with tables and the sysctl set. */
export function brNfCallsIptables(br: SimLink, skb: Skb): boolean {
  const ns = br.netns;
  return ns.bridgeNfCallIptables !== 0 && ns.netfilter?.active === true && be16(skb.frame, 12) === ETHERTYPE_IPV4;
}

/** br_nf_pre_routing: the frame entering the bridge, before its FDB decides where it goes. */
export function brNfPreRouting(dp: Datapath, br: SimLink, skb: Skb): boolean {
  return accepted(dp, NF_INET_PRE_ROUTING, br, skb, br, undefined);
}

/** br_nf_forward_ip, then br_nf_post_routing: the frame leaving the bridge by a port. */
export function brNfForward(dp: Datapath, br: SimLink, skb: Skb): boolean {
  return accepted(dp, NF_INET_FORWARD, br, skb, br, br) && accepted(dp, NF_INET_POST_ROUTING, br, skb, undefined, br);
}

function accepted(dp: Datapath, hook: NfInetHookNum, br: SimLink, skb: Skb, inDev: SimLink | undefined, outDev: SimLink | undefined): boolean {
  const dropped = dp.netfilter.verdict(dp, hook, br.netns, skb, ETHERNET_HEADER_LEN, inDev, outDev);
  if (dropped === undefined) return true;
  dp.trace.forwardDrop(skb, br, dropped);
  return false;
}
