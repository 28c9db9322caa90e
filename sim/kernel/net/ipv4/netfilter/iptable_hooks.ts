/**
 * The hook functions iptable_filter and iptable_nat register, in Linux's priority order:
 * connection tracking first, then nat's destination rewrite (PREROUTING, OUTPUT) before
 * filter, and nat's source rewrite (INPUT, POSTROUTING) after it. The nat table sees only
 * a connection's first packet, as in Linux. A namespace with no rule pays one check.
 */
import type { Datapath } from '../../../datapath';
import type { SimLink, SimNetns } from '../../../objects';
import type { NfHookFn, NfInetHook } from '../../netfilter';
import { be16, be32 } from '../../../../wire/bytes';
import { IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP, ipv4PacketEnd } from '../../../../wire/ipv4';
import { ICMP_DEST_UNREACHABLE } from '../../../../wire/icmp';
import { isLocalAddress } from '../route';
import { icmpSend } from '../icmp';
import { doTable, NetnsTables, PacketView, ruleSpec, TableName, Verdict } from './ip_tables';

/** A namespace's tables, made on first use; the seed comes from where it is, so runs repeat. */
export function netnsTables(ns: SimNetns): NetnsTables {
  return (ns.netfilter ??= new NetnsTables(seedOf(`${ns.host.name}/${ns.name}`)));
}

function seedOf(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** The tables each hook consults, in priority order. */
const HOOK_TABLES: Record<NfInetHook, readonly TableName[]> = {
  PREROUTING: ['nat'],
  INPUT: ['filter', 'nat'],
  FORWARD: ['filter'],
  OUTPUT: ['nat', 'filter'],
  POSTROUTING: ['nat'],
};

export const iptablesHook: NfHookFn = (dp, hook, ns, skb, ip, inDev, outDev) => {
  const nf = ns.netfilter;
  if (nf === undefined || !nf.active) return undefined;
  const p = packetView(nf, ns, skb.frame, ip, inDev, outDev);
  for (const name of HOOK_TABLES[hook]) {
    const table = nf.tables.get(name);
    if (!table || (name === 'nat' && p.ctState !== 'NEW')) continue;
    const v = doTable(table, hook, p, nf.random);
    if (v.verdict === 'ACCEPT') continue;
    if (v.verdict === 'DROP' || v.verdict === 'REJECT') {
      if (v.verdict === 'REJECT') icmpSend(dp, ns, skb, ip, ICMP_DEST_UNREACHABLE, REJECT_CODES[v.rejectWith] ?? PORT_UNREACHABLE);
      return dropReason(ns, hook, v);
    }
  }
  return undefined;
};

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

function packetView(nf: NetnsTables, ns: SimNetns, f: Uint8Array, ip: number, inDev: SimLink | undefined, outDev: SimLink | undefined): PacketView {
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
    ctState: nf.conntrack.track(f, ip),
    dstLocal: isLocalAddress(ns, dst | 0),
  };
}

/** Registers the tables' hook functions (the modules loaded at boot). */
export function registerIptables(dp: Datapath): void {
  for (const hook of Object.keys(HOOK_TABLES) as NfInetHook[]) dp.netfilter.register(hook, iptablesHook);
}

