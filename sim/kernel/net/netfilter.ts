/**
 * net/netfilter: the five IPv4 hook points, where Linux has them. No table registers a
 * hook yet (the lab models no firewall rules), so every packet is accepted; a rule table
 * registers here, and the datapath already asks at each point.
 */
import type { SimNetns } from '../objects';
import type { Skb } from './skb';

export type NfInetHook = 'PREROUTING' | 'INPUT' | 'FORWARD' | 'OUTPUT' | 'POSTROUTING';

/** A hook's verdict on a packet: true lets it continue (NF_ACCEPT), false drops it (NF_DROP). */
export type NfHookFn = (ns: SimNetns, skb: Skb) => boolean;

export class Netfilter {
  private readonly hooks: Record<NfInetHook, NfHookFn[]> = { PREROUTING: [], INPUT: [], FORWARD: [], OUTPUT: [], POSTROUTING: [] };

  /** Whether any hook is registered: with none (the lab's case), the datapath skips the hook points at one test each. */
  active = false;

  register(hook: NfInetHook, fn: NfHookFn): void {
    this.hooks[hook].push(fn);
    this.active = true;
  }

  /** NF_HOOK: whether every function registered at the hook accepts the packet. */
  accepts(hook: NfInetHook, ns: SimNetns, skb: Skb): boolean {
    if (!this.active) return true;
    const fns = this.hooks[hook];
    for (let i = 0; i < fns.length; i++) if (!fns[i](ns, skb)) return false;
    return true;
  }
}
