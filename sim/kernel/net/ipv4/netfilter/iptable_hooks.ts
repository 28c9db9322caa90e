/**
 * The hook functions iptable_filter and iptable_nat register, in Linux's priority order:
 * connection tracking first, then nat's destination rewrite (PREROUTING, OUTPUT) before
 * filter, and nat's source rewrite (INPUT, POSTROUTING) after it. The nat table sees only
 * a connection's first packet, as in Linux; the binding it makes rewrites every packet of
 * the connection both ways (nf_nat_core.ts). A namespace with no rule pays one check.
 */
import type { Datapath } from '../../../datapath';
import type { SimLink, SimNetns } from '../../../objects';
import { NF_INET_HOOKS } from '../../netfilter';
import type { NfHookFn, NfInetHook } from '../../netfilter';
import { be16, be32 } from '../../../../wire/bytes';
import { IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP, ipv4PacketDstString, ipv4PacketEnd } from '../../../../wire/ipv4';
import { ICMP_DEST_UNREACHABLE } from '../../../../wire/icmp';
import { isLocalAddress, route } from '../route';
import { icmpSend } from '../icmp';
import { Chain, doTable, NetnsTables, PacketView, policyVerdict, ruleSpec, Table, Verdict } from './ip_tables';
import { natIcmpReplyTranslation, NatRange, natInitialized, natPacket, natSetupInfo } from '../../netfilter/nf_nat_core';
import type { Skb } from '../../skb';
import type { CtRef } from '../../netfilter/nf_conntrack';
import { ipv4ToNumber, maskOf } from '../../../../wire/addr';

/** A namespace's tables, made on first use; the seed comes from where it is, so runs repeat. */
export function netnsTables(ns: SimNetns): NetnsTables {
  return (ns.netfilter ??= new NetnsTables(seedOf(`${ns.host.name}/${ns.name}`)));
}

function seedOf(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

export const iptablesHook: NfHookFn = (dp, hook, ns, skb, ip, inDev, outDev) => {
  const nf = ns.netfilter;
  if (nf === undefined || !nf.active) return undefined;
  if (nf.deferred !== undefined) nf.runDeferred();
  // nf_conntrack_in, once per packet and namespace: the packet keeps its connection for the
  // hooks after this one. Written here, not called: every hook of every packet asks.
  if (skb.nfctNetns !== ns) {
    nf.conntrack.track(skb.frame, ip, skb);
    skb.nfctNetns = ns;
  }
  // A packet no NAT step changes here (conntrack said so as it placed it) passes a hook whose
  // chains pass such packets (unboundHooks) untouched: their walk would change nothing.
  if (skb.nfctUnbound && (nf.unboundHooks & (1 << hook)) !== 0) return undefined;
  return walkHook(dp, nf, hook, NF_INET_HOOKS[hook], ns, skb, ip, inDev, outDev);
};

/** The hook's chains in priority order: nat for a connection's first packets and its bindings, the others' rules and policies. */
function walkHook(dp: Datapath, nf: NetnsTables, h: number, hook: NfInetHook, ns: SimNetns, skb: Skb, ip: number, inDev: SimLink | undefined, outDev: SimLink | undefined): string | undefined {
  // What the matches read, taken from the headers once a chain with rules is walked: a
  // hook whose chains are empty never needs it.
  let p: PacketView | undefined;
  const steps = nf.hookSteps[h];
  for (let i = 0; i < steps.length; i++) {
    const { table, chain } = steps[i];
    if (table.name === 'nat') {
      // The tables after nat at this hook see the datagram as nat left it.
      const ct = skb.nfct;
      if (ct !== undefined && natHook(nf, table, chain, hook, ns, skb, ip, ct, inDev, outDev)) p = undefined;
      continue;
    }
    // A built-in chain without rules is its policy (as nf_tables runs no rule for a base chain that has none).
    const v = chain.rules.length === 0 ? policyVerdict(chain, ipv4PacketEnd(skb.frame, ip) - ip) : doTable(table, hook, (p ??= packetView(ns, skb, ip, inDev, outDev)), nf.random);
    if (v.verdict === 'ACCEPT') continue;
    if (v.verdict === 'DROP' || v.verdict === 'REJECT') {
      if (v.verdict === 'REJECT') icmpSend(dp, ns, skb, ip, ICMP_DEST_UNREACHABLE, REJECT_CODES[v.rejectWith] ?? PORT_UNREACHABLE);
      return dropReason(ns, hook, v);
    }
  }
  return undefined;
}

/**
 * nf_nat_inet_fn: a connection's first packet asks the nat table for each kind of change
 * (the destination at PREROUTING and OUTPUT, the source at INPUT and POSTROUTING); every
 * packet is then rewritten by the binding. True when the packet changed.
 */
function natHook(nf: NetnsTables, table: Table, chain: Chain, hook: NfInetHook, ns: SimNetns, skb: Skb, ip: number, ct: CtRef, inDev: SimLink | undefined, outDev: SimLink | undefined): boolean {
  const manip = hook === 'PREROUTING' || hook === 'OUTPUT' ? 'dst' : 'src';
  if (skb.ctState === 'RELATED') return skb.frame[ip + 9] === IPPROTO_ICMP && natIcmpReplyTranslation(skb, ip, ct, manip);
  if (skb.ctState === 'NEW' && !ct.reply && !natInitialized(ct.conn, manip)) {
    const v = chain.rules.length === 0 ? policyVerdict(chain, ipv4PacketEnd(skb.frame, ip) - ip) : doTable(table, hook, packetView(ns, skb, ip, inDev, outDev), nf.random);
    natSetupInfo(nf.conntrack, ct.conn, manip, v && natRange(v, ns, skb, ip, outDev));
  }
  return natPacket(skb, ip, ct, manip);
}

/** The binding a nat table's verdict asks for; MASQUERADE takes the outgoing device's address toward the next hop. */
function natRange(v: Verdict, ns: SimNetns, skb: Skb, ip: number, outDev: SimLink | undefined): NatRange | undefined {
  if (v.verdict === 'DNAT' || v.verdict === 'SNAT') return { ip: v.to.ip !== undefined ? ipv4ToNumber(v.to.ip) >>> 0 : undefined, port: v.to.port };
  if (v.verdict !== 'MASQUERADE' || !outDev) return undefined;
  const r = route(ns, ipv4PacketDstString(skb.frame, ip));
  const src = masqueradeSource(outDev, r?.dev === outDev ? r.nexthop : undefined);
  return src === undefined ? undefined : { ip: ipv4ToNumber(src) >>> 0 };
}

/** nf_nat_masquerade_ipv4's inet_select_addr: the device's address on the next hop's subnet, else its first. */
function masqueradeSource(dev: SimLink, nexthop: string | undefined): string | undefined {
  if (nexthop !== undefined) {
    const nh = ipv4ToNumber(nexthop);
    const onLink = dev.addrs.find((a) => ((ipv4ToNumber(a.ip) ^ nh) & maskOf(a.prefixLength)) === 0);
    if (onLink) return onLink.ip;
  }
  return dev.addrs[0]?.ip;
}

/** What ipt_REJECT's --reject-with names, as ICMP destination-unreachable codes. */
export const REJECT_CODES: Record<string, number> = {
  'icmp-net-unreachable': 0,
  'icmp-host-unreachable': 1,
  'icmp-proto-unreachable': 2,
  'icmp-port-unreachable': 3,
  'icmp-net-prohibited': 9,
  'icmp-host-prohibited': 10,
  'icmp-admin-prohibited': 13,
};
const PORT_UNREACHABLE = 3;

/** "r1 INPUT: -p udp -m udp --dport 4789 -j DROP": where, which hook (and chain), which rule. */
function dropReason(ns: SimNetns, hook: NfInetHook, v: Exclude<Verdict, { verdict: 'ACCEPT' }>): string {
  const where = ns.name === ns.host.name ? ns.host.name : `${ns.host.name}/${ns.name}`;
  const chain = v.chain === hook ? hook : `${hook} → ${v.chain}`;
  return `${where} ${chain}: ${v.rule ? ruleSpec(v.rule) : 'policy DROP'}`;
}

function packetView(ns: SimNetns, skb: Skb, ip: number, inDev: SimLink | undefined, outDev: SimLink | undefined): PacketView {
  const f = skb.frame;
  const protocol = f[ip + 9];
  const l4 = ip + (f[ip] & 15) * 4;
  // Ports are read from a datagram's first fragment only.
  const firstFragment = (be16(f, ip + 6) & 0x1fff) === 0;
  const ported = firstFragment && (protocol === IPPROTO_UDP || protocol === IPPROTO_TCP);
  const dst = be32(f, ip + 16);
  return {
    src: be32(f, ip + 12) >>> 0,
    dst: dst >>> 0,
    protocol,
    icmpType: firstFragment && protocol === IPPROTO_ICMP ? f[l4] : -1,
    sport: ported ? be16(f, l4) : 0,
    dport: ported ? be16(f, l4 + 2) : 0,
    length: ipv4PacketEnd(f, ip) - ip,
    inIface: inDev?.name,
    outIface: outDev?.name,
    ctState: skb.ctState,
    dstLocal: isLocalAddress(ns, dst | 0),
  };
}

/** Registers the tables' hook functions (the modules loaded at boot). */
export function registerIptables(dp: Datapath): void {
  for (const hook of NF_INET_HOOKS) dp.netfilter.register(hook, iptablesHook);
}

