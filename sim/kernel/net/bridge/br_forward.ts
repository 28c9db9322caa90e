/**
 * net/bridge/br_input.c and br_forward.c: a frame on a bridge port (or from the bridge
 * itself) is learned, delivered to the bridge's own stack, forwarded to one port or
 * flooded to all; br_device.c's transmit starts the same walk.
 */
import type { Datapath } from '../../datapath';
import type { SimLink } from '../../objects';
import type { NetDeviceOps } from '../dev';
import { accepts, countRx, devXmit, later, recvTaps } from '../dev';
import { BROADCAST_MAC, macToString } from '../../../wire/addr';
import { Skb } from '../skb';
import { bridgeLookup, learn } from './br_fdb';
import { brNfCallsIptables, brNfForward, brNfPreRouting } from './br_netfilter';

/** br_dev_xmit: what the bridge device itself sends goes the way of a frame from no port. */
export const bridgeOps: NetDeviceOps = {
  xmit(dp, dev, skb) {
    bridgeForward(dp, dev, undefined, skb);
  },
};

/** br_handle_frame_finish: learn the source, then deliver locally, forward or flood. */
export function bridgeForward(dp: Datapath, br: SimLink, inPort: SimLink | undefined, skb: Skb): void {
  const f = skb.frame;
  const src = macToString(f, 6), dst = macToString(f, 0);
  if (inPort) learn(dp, br, src, inPort);
  if (dst === BROADCAST_MAC) return broadcast(dp, br, inPort, skb);
  if (dst === br.mac && inPort) return passFrameUp(dp, br, skb, dp.delays.bridge);
  const e = bridgeLookup(dp, br, dst);
  // br_netfilter: a frame bridged from one port toward others meets iptables
  // (br_netfilter.ts): PREROUTING as it enters, FORWARD and POSTROUTING as it leaves by a port.
  const filtered = inPort !== undefined && (e === undefined || (!e.local && e.port !== inPort)) && brNfCallsIptables(br, skb);
  if (filtered && !brNfPreRouting(dp, br, skb)) return;
  if (e && !e.local) {
    // Forwarding runs to completion (br_forward → dev_queue_xmit): no event, just its time.
    if (e.port === inPort) return;
    if (!e.port.carrier) return dp.trace.portDown(e.port, skb);
    if (filtered && !brNfForward(dp, br, skb)) return;
    skb.lag += dp.delays.bridge;
    portXmit(dp, e.port, skb, false);
  } else if (!e) {
    flood(dp, br, inPort, skb, filtered);
  }
}

/** A broadcast goes to every other port, and up to the bridge's own stack when it came in by a port. */
function broadcast(dp: Datapath, br: SimLink, inPort: SimLink | undefined, skb: Skb): void {
  flood(dp, br, inPort, skb);
  if (!inPort) return;
  // The bridge's own stack takes a copy (br_pass_frame_up: a sniffer on the bridge sees it): its answer (an ARP reply for its address) belongs to the flow.
  passFrameUp(dp, br, new Skb(skb.frame, skb.flow, skb.dir), dp.delays.bridge + skb.lag);
}

/** br_pass_frame_up: the bridge device receives the frame for its own stack (netif_receive_skb, where its taps see it). */
function passFrameUp(dp: Datapath, br: SimLink, skb: Skb, delayNs: number): void {
  countRx(br, skb);
  recvTaps(dp, br, skb);
  later(dp, skb, delayNs, dp.l3InputTask, br);
}

/**
 * br_flood: a copy to every other port with carrier. A port without it (down, or its
 * container's end down) gets none; when that container is the one the frame is for, the
 * traced frame dies there.
 */
function flood(dp: Datapath, br: SimLink, inPort: SimLink | undefined, skb: Skb, filtered = false): void {
  const f = skb.frame;
  for (const port of br.ports) {
    if (port === inPort) continue;
    if (!port.carrier) {
      if (port.peer && macToString(f, 0) === port.peer.mac) dp.trace.portDown(port, skb);
      continue;
    }
    // Flooded copies stay traced only where they will be taken: vxlan0, a device whose rx_handler takes every frame (weave's vethwe-pcap, a datapath's vport), or the port whose container accepts them.
    const peer = port.peer;
    const traced = port.type === 'vxlan' || (peer !== undefined && (peer.rxHandler?.takesAll === true || accepts(peer, f)));
    const copy = new Skb(f, traced ? skb.flow : undefined, skb.dir);
    copy.copyNfct(skb);
    // Each copy leaves through FORWARD and POSTROUTING on its own, as br_flood clones it before br_forward_finish.
    if (filtered && !brNfForward(dp, br, copy)) continue;
    dp.clock.schedule(dp.delays.bridge + skb.lag, () => portXmit(dp, port, copy, true));
  }
}

/** br_forward's hand-off to a port, which sends the frame (its taps see whether the bridge flooded it). */
function portXmit(dp: Datapath, port: SimLink, skb: Skb, flooded: boolean): void {
  skb.flooded = flooded;
  devXmit(dp, port, skb);
}
