/**
 * net/netfilter/core.c: the five IPv4 hook points, where Linux has them. Tables register a
 * function at each hook they use (see ipv4/netfilter/iptable_hooks.ts); a namespace where
 * no table was made pays one check a hook.
 */
import type { Datapath } from '../datapath';
import type { SimLink, SimNetns } from '../objects';
import type { Skb } from './skb';

export type NfInetHook = 'PREROUTING' | 'INPUT' | 'FORWARD' | 'OUTPUT' | 'POSTROUTING';

/**
 * enum nf_inet_hooks: the numbers the datapath runs a hook by, which index the per-hook
 * arrays (NF_INET_HOOKS names them). A number, not the name: a packet passes a hook at
 * every step of its way, and the name would be looked up each time.
 */
export const NF_INET_PRE_ROUTING = 0;
export const NF_INET_LOCAL_IN = 1;
export const NF_INET_FORWARD = 2;
export const NF_INET_LOCAL_OUT = 3;
export const NF_INET_POST_ROUTING = 4;
export type NfInetHookNum = typeof NF_INET_PRE_ROUTING | typeof NF_INET_LOCAL_IN | typeof NF_INET_FORWARD | typeof NF_INET_LOCAL_OUT | typeof NF_INET_POST_ROUTING;

/**
 * A hook function's verdict on the packet whose IPv4 header starts at `ip` in its frame:
 * undefined lets it continue (NF_ACCEPT), a text drops it (NF_DROP, or NF_STOLEN by
 * REJECT) and says why, in the words the trace shows.
 */
export type NfHookFn = (dp: Datapath, hook: NfInetHookNum, ns: SimNetns, skb: Skb, ip: number, inDev: SimLink | undefined, outDev: SimLink | undefined) => string | undefined;

/** The hooks in enum nf_inet_hooks' order. */
export const NF_INET_HOOKS: readonly NfInetHook[] = ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'];

/** A hook's number in enum nf_inet_hooks, by its name (where tables and functions are registered). */
export function nfHookIndex(hook: NfInetHook): NfInetHookNum {
  switch (hook) {
    case 'PREROUTING':
      return 0;
    case 'INPUT':
      return 1;
    case 'FORWARD':
      return 2;
    case 'OUTPUT':
      return 3;
    case 'POSTROUTING':
      return 4;
  }
}

export class Netfilter {
  private readonly hooks: NfHookFn[][] = NF_INET_HOOKS.map(() => []);

  register(hook: NfInetHook, fn: NfHookFn): void {
    this.hooks[nfHookIndex(hook)].push(fn);
  }

  /**
   * NF_HOOK: undefined when every function registered at the hook accepts the packet, else
   * why one dropped it. Linux registers a table's hooks in a namespace when the table is
   * made there; a namespace without tables has none to run.
   */
  verdict(dp: Datapath, hook: NfInetHookNum, ns: SimNetns, skb: Skb, ip: number, inDev: SimLink | undefined, outDev: SimLink | undefined): string | undefined {
    if (ns.netfilter === undefined) return undefined;
    const fns = this.hooks[hook];
    for (let i = 0; i < fns.length; i++) {
      const dropped = fns[i](dp, hook, ns, skb, ip, inDev, outDev);
      if (dropped !== undefined) return dropped;
    }
    return undefined;
  }
}
