/**
 * drivers/net/macvlan.c: devices that each have a MAC of their own on one lower device (the
 * host's eth0). The lower's port (macvlan_port, its rx_handler's data) lists its macvlans;
 * a frame the lower receives goes to the macvlan whose MAC it is addressed to (a broadcast to
 * every one, and the lower's own stack too). What a macvlan sends leaves through the lower
 * unchanged, except in bridge mode to a sibling's MAC, which the port hands across directly.
 * Nothing sent by the lower itself reaches its macvlans: a container cannot reach its own
 * host's parent address.
 */
import type { Datapath } from '../datapath';
import type { LinkKind } from '../../plan/ops';
import type { SimLink } from '../objects';
import { macToString } from '../../wire/addr';
import { NetDeviceOps, accepts, devRecv, devXmit, later } from './dev';
import { Skb } from './skb';
import { segmentLearn } from './underlay';

export type MacvlanMode = Extract<LinkKind, { type: 'macvlan' }>['mode'];

/** The lower device's side (macvlan_port): the macvlans on it. */
export interface MacvlanPort {
  readonly vlans: Set<SimLink>;
}

/** A macvlan device (macvlan_dev): its lower device and mode. */
export interface MacvlanDev {
  readonly lower: SimLink;
  readonly mode: MacvlanMode;
}

/** macvlan_common_newlink: `dev` becomes a macvlan on `lower`, whose port (made with its first macvlan) lists it. */
export function macvlanLink(dev: SimLink, lower: SimLink, mode: MacvlanMode): SimLink {
  dev.macvlan = { lower, mode };
  (lower.macvlanPort ??= { vlans: new Set() }).vlans.add(dev);
  return dev;
}

/** macvlan_uninit: the device leaves its lower's port; the port goes with its last macvlan. */
export function macvlanUnlink(dev: SimLink): void {
  const lower = dev.macvlan?.lower;
  if (!lower?.macvlanPort) return;
  lower.macvlanPort.vlans.delete(dev);
  if (lower.macvlanPort.vlans.size === 0) lower.macvlanPort = undefined;
}

/** macvlan_hash_lookup: the open macvlan on the port that has this MAC (a stopped one is out of the hash). */
function lookup(port: MacvlanPort, mac: string): SimLink | undefined {
  for (const v of port.vlans) if (v.up && v.mac === mac) return v;
  return undefined;
}

/** Whether a lower device is promiscuous for its macvlans: it has one open with a MAC of its own, and no unicast filter to list it in. */
export function macvlanUcPromisc(lower: SimLink): boolean {
  if (!lower.macvlanPort) return false;
  for (const v of lower.macvlanPort.vlans) if (v.up && v.mac !== lower.mac) return true;
  return false;
}

const isGroup = (f: Uint8Array) => (f[0] & 1) === 1;

export const macvlanOps: NetDeviceOps = {
  // macvlan_queue_xmit: bridge mode hands a frame for a sibling across, and a broadcast to every sibling as well as out.
  xmit(dp, dev, skb) {
    const { lower, mode } = dev.macvlan!;
    const port = lower.macvlanPort!;
    const f = skb.frame;
    if (mode === 'bridge') {
      if (isGroup(f)) {
        for (const v of port.vlans) {
          if (v === dev || !v.up || v.macvlan!.mode !== 'bridge') continue;
          const copy = new Skb(f, accepts(v, f) ? skb.flow : undefined, skb.dir);
          later(dp, copy, dp.delays.veth, dp.devRecvTask, v);
        }
      } else {
        const dest = lookup(port, macToString(f, 0));
        if (dest && dest.macvlan!.mode === 'bridge') return later(dp, skb, dp.delays.veth, dp.devRecvTask, dest);
      }
    }
    // The lab's switch learns the macvlan's MAC behind this host's port, as ul0 (a Linux bridge) does in emu.
    segmentLearn(dp, lower, macToString(f, 6));
    devXmit(dp, lower, skb);
  },
};

/**
 * macvlan_handle_frame, the lower's rx_handler: true when a macvlan took the frame. A
 * unicast frame for a macvlan's MAC is that macvlan's; a broadcast is every macvlan's (each
 * a copy), and the lower's own stack sees it too (RX_HANDLER_PASS).
 */
export function macvlanHandleFrame(dp: Datapath, lower: SimLink, skb: Skb): boolean {
  const port = lower.macvlanPort!;
  const f = skb.frame;
  if (isGroup(f)) {
    // Each copy stays traced only where it will be taken; the lower is seen taking it for the first such.
    let traced = false;
    for (const v of port.vlans) {
      if (!v.up) continue;
      const taken = accepts(v, f);
      if (taken && !traced) {
        dp.trace.uplinkRecv(lower, skb, false);
        traced = true;
      }
      devRecv(dp, v, new Skb(f, taken ? skb.flow : undefined, skb.dir));
    }
    return false;
  }
  const vlan = lookup(port, macToString(f, 0));
  if (!vlan) return false;
  dp.trace.uplinkRecv(lower, skb, false);
  devRecv(dp, vlan, skb);
  return true;
}
