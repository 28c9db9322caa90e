/**
 * net/ipv4/netfilter/ip_tables.c and its tables (iptable_filter, iptable_nat): a namespace's
 * rules, chain by chain, and ipt_do_table, which walks a hook's built-in chain, jumps into
 * user chains and returns from them, counts the packets and bytes each rule matched, and
 * answers with the first terminal verdict (or the chain's policy). The rules are held as
 * iptables-nft stores them (one rule, its matches in the order given, one target), so the
 * `iptables` program prints them back as the real one does.
 */
import { NF_INET_HOOKS, NfInetHook } from '../../netfilter';
import { Conntrack } from '../../netfilter/nf_conntrack';

export type TableName = 'filter' | 'nat';

/** Each table's built-in chains, in the order iptables lists them. */
export const BUILTIN_CHAINS: Record<TableName, readonly NfInetHook[]> = {
  filter: ['INPUT', 'FORWARD', 'OUTPUT'],
  nat: ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'],
};

/**
 * The tables each hook runs, in the priority order iptable_filter and iptable_nat register
 * them: nat's destination rewrite (PREROUTING, OUTPUT) before filter, its source rewrite
 * (INPUT, POSTROUTING) after it.
 */
const HOOK_TABLES: Record<NfInetHook, readonly TableName[]> = {
  PREROUTING: ['nat'],
  INPUT: ['filter', 'nat'],
  FORWARD: ['filter'],
  OUTPUT: ['nat', 'filter'],
  POSTROUTING: ['nat'],
};

/** A table's built-in chain that a hook runs. */
export interface HookStep {
  table: Table;
  chain: Chain;
}

/** conntrack's states as the state and conntrack matches name them, in the order iptables prints them. */
export const CT_STATES = ['INVALID', 'NEW', 'RELATED', 'ESTABLISHED', 'UNTRACKED'] as const;
export type CtState = (typeof CT_STATES)[number];

export interface AddrMatch {
  /** The network, as an unsigned 32-bit number (host bits cleared, as iptables stores it). */
  net: number;
  prefixLength: number;
  invert: boolean;
}

export interface IfaceMatch {
  /** A name; one ending in '+' matches every name that starts with what precedes it. */
  name: string;
  invert: boolean;
}

export interface PortMatch {
  from: number;
  to: number;
  invert: boolean;
}

export type RuleMatch =
  | { match: 'tcp' | 'udp'; sport?: PortMatch; dport?: PortMatch }
  /** --icmp-type N: one ICMP type. */
  | { match: 'icmp'; type?: number }
  | { match: 'state' | 'conntrack'; states: CtState[]; invert: boolean }
  /** xt_statistic's random mode: the probability as the kernel holds it, a 31-bit fraction. */
  | { match: 'statistic'; probability: number }
  | { match: 'addrtype'; dstType: 'LOCAL'; invert: boolean }
  /** xt_mark: (skb->mark & mask) == value. No target here sets a mark, so every packet's is 0. */
  | { match: 'mark'; value: number; mask: number; invert: boolean }
  /** xt_comment: matches every packet; the text is for whoever reads the rules (flanneld's "flanneld forward"). */
  | { match: 'comment'; comment?: string };

export interface NatTo {
  ip?: string;
  port?: number;
}

export type RuleTarget =
  | { target: 'ACCEPT' | 'DROP' | 'RETURN' | 'MASQUERADE' }
  | { target: 'REJECT'; rejectWith: string }
  | { target: 'DNAT'; to: NatTo }
  | { target: 'SNAT'; to: NatTo }
  | { target: 'jump'; chain: string };

export interface Rule {
  src?: AddrMatch;
  dst?: AddrMatch;
  inIface?: IfaceMatch;
  outIface?: IfaceMatch;
  /** The protocol number (-p); absent for "all". */
  protocol?: { number: number; invert: boolean };
  matches: RuleMatch[];
  /** A rule may have none: it only counts. */
  target?: RuleTarget;
  packets: number;
  bytes: number;
}

export interface Chain {
  name: string;
  /** Built-in chains have a policy; user chains none. */
  policy?: 'ACCEPT' | 'DROP';
  /**
   * nf_tables keeps a base chain's policy counters only once iptables-nft gave the chain
   * counters, which it does on `-P`; until then -L shows 0 packets, 0 bytes.
   */
  policyCounted?: boolean;
  policyPackets: number;
  policyBytes: number;
  rules: Rule[];
}

export interface Table {
  name: TableName;
  /** Built-in chains first in their order, then user chains in the order they were made (iptables-nft lists them so). */
  chains: Map<string, Chain>;
}

/** A namespace's tables; a table exists once something used it (as the nft table is made on first use). */
export class NetnsTables {
  readonly tables = new Map<TableName, Table>();
  /** Whether any table exists: until one is made every hook accepts at once (no counters to keep). */
  active = false;
  /**
   * Each hook's chains in priority order, by nf_inet_hooks' number: found once when a
   * table is made (built-in chains stay the same objects; their rules change in place), not
   * looked up by name for every packet.
   */
  hookSteps: HookStep[][] = NF_INET_HOOKS.map(() => []);
  /**
   * The hooks (a bit each, by nf_inet_hooks' number) a packet of a connection no NAT binding
   * changes passes untouched: those whose chains other than nat's have no rule and accept
   * by a policy that keeps no counters (nat's chains see only a connection's first packet).
   * Such a packet skips the hook's chains, as their walk would change nothing. One number,
   * so a hook it passes costs a packet one test.
   */
  unboundHooks = ALL_HOOKS;
  /** How many tables there were when `hookSteps` was made. */
  private tablesStepped = 0;
  /**
   * The engine's commands for these tables not run yet, by their iptables arguments
   * (sim/kernel/iptables.ts deferEngineCommand), in order; whatever reads the tables runs
   * them first (runDeferred), with runEngineCommand.
   */
  deferred: (readonly string[])[] | undefined = undefined;
  runEngineCommand: ((args: readonly string[]) => void) | undefined = undefined;
  readonly conntrack = new Conntrack();
  private seed: number;

  /** `seed` makes the statistic match's draws the same on every run of a scenario. */
  constructor(seed: number) {
    this.seed = seed >>> 0;
  }

  /** A uniform draw in [0, 1) (mulberry32), the kernel's get_random_u32 made repeatable. */
  readonly random = (): number => {
    this.seed = (this.seed + 0x6d2b79f5) >>> 0;
    let t = this.seed;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };

  /**
   * The deferred commands, run in order: the tables are then as if each had run when given.
   * One that throws leaves those after it waiting, for the next reader to meet the same way.
   */
  runDeferred(): void {
    const commands = this.deferred;
    if (commands === undefined) return;
    this.deferred = undefined;
    for (let i = 0; i < commands.length; i++) {
      try {
        this.runEngineCommand!(commands[i]);
      } catch (e) {
        if (i + 1 < commands.length) this.deferred = commands.slice(i + 1);
        throw e;
      }
    }
  }

  table(name: TableName): Table {
    let t = this.tables.get(name);
    if (!t) {
      t = { name, chains: new Map() };
      for (const c of BUILTIN_CHAINS[name]) t.chains.set(c, { name: c, policy: 'ACCEPT', policyPackets: 0, policyBytes: 0, rules: [] });
      this.tables.set(name, t);
    }
    return t;
  }

  /**
   * Called after every change: the hooks stay free while no table exists. The hooks' chains
   * are found again only when a table was made since (built-in chains are never replaced); a
   * big swarm's containers take thousands of rules, one command each.
   */
  changed(): void {
    this.active = this.tables.size > 0;
    if (this.tables.size !== this.tablesStepped) {
      this.tablesStepped = this.tables.size;
      this.hookSteps = NF_INET_HOOKS.map((hook) => HOOK_TABLES[hook].flatMap((name) => {
        const table = this.tables.get(name);
        const chain = table?.chains.get(hook);
        return table && chain ? [{ table, chain }] : [];
      }));
    }
    let unbound = 0;
    for (let h = 0; h < this.hookSteps.length; h++) if (passesUnbound(this.hookSteps[h])) unbound |= 1 << h;
    this.unboundHooks = unbound;
  }
}

/** Every hook's bit in NetnsTables.unboundHooks. */
const ALL_HOOKS = (1 << NF_INET_HOOKS.length) - 1;

/** Whether a hook's chains other than nat's have no rule and accept by a policy that keeps no counters (NetnsTables.unboundHooks). */
function passesUnbound(steps: readonly HookStep[]): boolean {
  for (const { table, chain } of steps) {
    if (table.name !== 'nat' && (chain.rules.length > 0 || chain.policy === 'DROP' || chain.policyCounted)) return false;
  }
  return true;
}

/** What a packet looks like to the matches (read once from its headers at a hook). */
export interface PacketView {
  src: number;
  dst: number;
  protocol: number;
  /** The ICMP type, for ICMP (else -1). */
  icmpType: number;
  /** Ports for TCP and UDP, else 0. */
  sport: number;
  dport: number;
  length: number;
  inIface?: string;
  outIface?: string;
  ctState: CtState;
  /** Whether the destination is one of the namespace's addresses (addrtype's LOCAL). */
  dstLocal: boolean;
}

export type Verdict =
  | { verdict: 'ACCEPT' }
  | { verdict: 'DROP'; chain: string; rule?: Rule }
  | { verdict: 'REJECT'; chain: string; rule: Rule; rejectWith: string }
  | { verdict: 'DNAT' | 'SNAT' | 'MASQUERADE'; chain: string; rule: Rule; to: NatTo };

const ACCEPT: Verdict = { verdict: 'ACCEPT' };

/** A built-in chain's policy, for a packet of `length` bytes that reached its end. */
export function policyVerdict(chain: Chain, length: number): Verdict {
  if (chain.policyCounted) {
    chain.policyPackets++;
    chain.policyBytes += length;
  }
  return chain.policy === 'DROP' ? { verdict: 'DROP', chain: chain.name } : ACCEPT;
}

/** ipt_do_table: the verdict of a table's chain for a hook; `random` draws for the statistic match. */
export function doTable(table: Table, hook: NfInetHook, p: PacketView, random: () => number): Verdict {
  const builtin = table.chains.get(hook);
  if (!builtin) return ACCEPT;
  // The chains left by jumps, with where to resume in each.
  const stack: { chain: Chain; next: number }[] = [];
  let chain = builtin;
  let i = 0;
  for (;;) {
    if (i >= chain.rules.length) {
      const back = stack.pop();
      if (!back) return policyVerdict(chain, p.length);
      chain = back.chain;
      i = back.next;
      continue;
    }
    const rule = chain.rules[i++];
    if (!ruleMatches(rule, p, random)) continue;
    rule.packets++;
    rule.bytes += p.length;
    const t = rule.target;
    if (!t) continue;
    switch (t.target) {
      case 'ACCEPT':
        return ACCEPT;
      case 'DROP':
        return { verdict: 'DROP', chain: chain.name, rule };
      case 'REJECT':
        return { verdict: 'REJECT', chain: chain.name, rule, rejectWith: t.rejectWith };
      case 'DNAT':
      case 'SNAT':
        return { verdict: t.target, chain: chain.name, rule, to: t.to };
      case 'MASQUERADE':
        return { verdict: 'MASQUERADE', chain: chain.name, rule, to: {} };
      case 'RETURN': {
        const back = stack.pop();
        if (!back) {
          // RETURN in a built-in chain: the policy decides.
          i = chain.rules.length;
          continue;
        }
        chain = back.chain;
        i = back.next;
        continue;
      }
      case 'jump': {
        const to = table.chains.get(t.chain);
        if (!to) continue;
        stack.push({ chain, next: i });
        chain = to;
        i = 0;
        continue;
      }
    }
  }
}

function addrMatches(m: AddrMatch, addr: number): boolean {
  const mask = m.prefixLength === 0 ? 0 : (0xffffffff << (32 - m.prefixLength)) >>> 0;
  return (((addr & mask) >>> 0) === m.net) !== m.invert;
}

function ifaceMatches(m: IfaceMatch, name: string | undefined): boolean {
  if (name === undefined) return m.invert;
  const hit = m.name.endsWith('+') ? name.startsWith(m.name.slice(0, -1)) : name === m.name;
  return hit !== m.invert;
}

function portMatches(m: PortMatch | undefined, port: number): boolean {
  return m === undefined || ((port >= m.from && port <= m.to) !== m.invert);
}

/** A mark match as iptables prints it: the value, and the mask unless it is all ones. */
export function markText(m: { value: number; mask: number }): string {
  const hex = (n: number) => `0x${n.toString(16)}`;
  return m.mask === 0xffffffff ? hex(m.value) : `${hex(m.value)}/${hex(m.mask)}`;
}

function ruleMatches(r: Rule, p: PacketView, random: () => number): boolean {
  if (r.src && !addrMatches(r.src, p.src)) return false;
  if (r.dst && !addrMatches(r.dst, p.dst)) return false;
  if (r.inIface && !ifaceMatches(r.inIface, p.inIface)) return false;
  if (r.outIface && !ifaceMatches(r.outIface, p.outIface)) return false;
  if (r.protocol && (r.protocol.number === p.protocol) === r.protocol.invert) return false;
  for (const m of r.matches) {
    switch (m.match) {
      case 'tcp':
      case 'udp':
        if (!portMatches(m.sport, p.sport) || !portMatches(m.dport, p.dport)) return false;
        break;
      case 'icmp':
        if (m.type !== undefined && p.icmpType !== m.type) return false;
        break;
      case 'state':
      case 'conntrack':
        if (m.states.includes(p.ctState) === m.invert) return false;
        break;
      case 'statistic':
        // xt_statistic: (get_random_u32() & 0x7FFFFFFF) < probability.
        if (Math.floor(random() * 0x80000000) >= m.probability) return false;
        break;
      case 'addrtype':
        if (p.dstLocal === m.invert) return false;
        break;
      case 'mark':
        if (((0 & m.mask) === m.value) === m.invert) return false;
        break;
      case 'comment':
        break;
    }
  }
  return true;
}

/**
 * A rule as `iptables -S` prints it after `-A CHAIN ` (iptables-nft's order: addresses,
 * interfaces, protocol, matches, target); `counters` (-S -v's "-c P B") go before the target.
 */
export function ruleSpec(r: Rule, counters?: string): string {
  const w: string[] = [];
  const neg = (invert: boolean) => (invert ? ['!'] : []);
  const addr = (m: AddrMatch) => `${numberToDotted(m.net)}/${m.prefixLength}`;
  if (r.src) w.push(...neg(r.src.invert), '-s', addr(r.src));
  if (r.dst) w.push(...neg(r.dst.invert), '-d', addr(r.dst));
  if (r.inIface) w.push(...neg(r.inIface.invert), '-i', r.inIface.name);
  if (r.outIface) w.push(...neg(r.outIface.invert), '-o', r.outIface.name);
  if (r.protocol) w.push(...neg(r.protocol.invert), '-p', protocolName(r.protocol.number));
  for (const m of r.matches) {
    w.push('-m', m.match);
    switch (m.match) {
      case 'tcp':
      case 'udp':
        if (m.sport) w.push(...neg(m.sport.invert), '--sport', portRange(m.sport));
        if (m.dport) w.push(...neg(m.dport.invert), '--dport', portRange(m.dport));
        break;
      case 'icmp':
        if (m.type !== undefined) w.push('--icmp-type', String(m.type));
        break;
      case 'state':
        w.push(...neg(m.invert), '--state', m.states.join(','));
        break;
      case 'conntrack':
        w.push(...neg(m.invert), '--ctstate', m.states.join(','));
        break;
      case 'statistic':
        w.push('--mode', 'random', '--probability', probabilityText(m.probability));
        break;
      case 'addrtype':
        w.push(...neg(m.invert), '--dst-type', m.dstType);
        break;
      case 'mark':
        w.push(...neg(m.invert), '--mark', markText(m));
        break;
      case 'comment':
        w.push('--comment', savedString(m.comment ?? ''));
        break;
    }
  }
  if (counters) w.push(counters);
  const t = r.target;
  if (t) {
    w.push('-j', t.target === 'jump' ? t.chain : t.target);
    if (t.target === 'REJECT') w.push('--reject-with', t.rejectWith);
    else if (t.target === 'DNAT') w.push('--to-destination', natToText(t.to));
    else if (t.target === 'SNAT') w.push('--to-source', natToText(t.to));
  }
  return w.join(' ');
}

/** xtables_save_string: a word as it is, or in double quotes (with \\ and " escaped) when it holds a space or a quote. */
function savedString(s: string): string {
  return /[\s"'\\]/.test(s) ? `"${s.replace(/["\\]/g, (c) => `\\${c}`)}"` : s;
}

export function natToText(to: NatTo): string {
  return `${to.ip ?? ''}${to.port !== undefined ? `:${to.port}` : ''}`;
}

export function portRange(p: PortMatch): string {
  return p.from === p.to ? String(p.from) : `${p.from}:${p.to}`;
}

/** The probability xt_statistic holds, printed as iptables prints it (%.11f of the 31-bit fraction). */
export function probabilityText(p: number): string {
  return (p / 0x80000000).toFixed(11);
}

export const PROTOCOLS: Record<string, number> = { tcp: 6, udp: 17, icmp: 1 };

export function protocolName(n: number): string {
  return Object.keys(PROTOCOLS).find((k) => PROTOCOLS[k] === n) ?? String(n);
}

export function numberToDotted(n: number): string {
  return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}
