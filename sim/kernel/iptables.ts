/**
 * The `iptables` and `iptables-save` programs of Debian 12 (iptables 1.8.9, the nf_tables
 * backend) over a simulated namespace's tables: the commands, their listings byte for byte
 * and their refusals with the real texts and exit codes. Tables filter and nat; the
 * matches and targets ip_tables.ts models. Without -n, iptables asks the resolver for
 * names; here addresses print as numbers (the labs' addresses have no names) except for
 * the networks and services the Debian files name.
 */
import { CommandOutput } from '../backend';
import type { SimNetns } from './objects';
import { topologyChanged } from './objects';
import { netnsTables } from './net/ipv4/netfilter/iptable_hooks';
import { REJECT_CODES } from './net/ipv4/netfilter/iptable_hooks';
import {
  AddrMatch, BUILTIN_CHAINS, Chain, CT_STATES, CtState, markText, natToText, NatTo, NetnsTables, numberToDotted, PortMatch, probabilityText, PROTOCOLS,
  protocolName, Rule, RuleMatch, RuleTarget, ruleSpec, Table, TableName,
} from './net/ipv4/netfilter/ip_tables';
import { isIpv4, ipv4ToNumber } from '../wire/addr';
import { err, Refusal, unmodelledWords } from './iproute_utils';
import { IPTABLES_COMMANDS as COMMANDS, type IptablesCommand as Command, iptablesWords, iptablesWordsNotModelled, readIptablesSave, type ModelledMatch, TABLES_NOT_MODELLED } from '../commands/iptables-commands';

const VERSION = 'iptables v1.8.9 (nf_tables)';
const TRY_HELP = "Try `iptables -h' or 'iptables --help' for more information.\n";

/** A refusal: the text and the exit code iptables gives it. */
const refusal = (stderr: string, exitCode: number) => new Refusal(err(stderr, exitCode));
/** cnmlab's own refusal of words it does not model, exit 2 as iptables' parameter problems. */
const unmodelled = (stderr: string) => new Refusal(unmodelledWords(stderr));

/** xtables_error(PARAMETER_PROBLEM, …): the version, the message and the hint, exit 2. */
const parameterProblem = (message: string) => refusal(`${VERSION}: ${message}\n${TRY_HELP}`, 2);
/** What the kernel's refusal reads as when iptables-nft reports it. */
const kernelRefusal = (message: string, exitCode: number) => refusal(`iptables: ${message}\n`, exitCode);
/** An extension's missing mandatory option: its message is followed by an empty line. */
const mustBeSpecified = (extension: string, option: string) => refusal(`${VERSION}: ${extension}: option "${option}" must be specified\n\n${TRY_HELP}`, 2);
const NO_CHAIN = () => kernelRefusal('No chain/target/match by that name.', 1);
/**
 * Without CAP_NET_ADMIN (a Docker container's default capabilities) nfnetlink refuses the
 * rule set's generation id, the first thing iptables-nft asks once its arguments are read,
 * for a listing as for a change: exit 4 (RESOURCE_PROBLEM).
 */
const noGenerationId = (program: string) => refusal(`${program} v1.8.9 (nf_tables): Could not fetch rule set generation id: Permission denied (you must be root)\n`, 4);

/** Whether the program holds CAP_NET_ADMIN (not in a container run without --cap-add NET_ADMIN). */
export interface NetfilterCaller {
  netAdmin: boolean;
}
const ROOT: NetfilterCaller = { netAdmin: true };

interface Invocation {
  command?: Command;
  table: TableName;
  chain?: string;
  /** A rule number (-I, -D, -R, -L, -S) or a policy (-P). */
  extra?: string;
  verbose: boolean;
  numeric: boolean;
  exact: boolean;
  lineNumbers: boolean;
  rule: Rule;
  /** -j's name, resolved against the table once the command is known. */
  jump?: string;
  /** The target's options, read as they come (after -j). */
  targetOptions: Map<string, string>;
}

const SERVICES: Record<number, string> = { 22: 'ssh', 53: 'domain', 67: 'bootps', 68: 'bootpc', 80: 'http', 123: 'ntp', 443: 'https', 8080: 'http-alt' };
const SERVICE_PORTS: Record<string, number> = Object.fromEntries(Object.entries(SERVICES).map(([p, n]) => [n, Number(p)]));
/** The ICMP types iptables names (iptables -p icmp -h lists them). */
const ICMP_TYPES: Record<string, number> = {
  'echo-reply': 0, 'destination-unreachable': 3, 'source-quench': 4, redirect: 5, 'echo-request': 8, 'router-advertisement': 9,
  'router-solicitation': 10, 'time-exceeded': 11, 'parameter-problem': 12, 'timestamp-request': 13, 'timestamp-reply': 14,
};
const ICMP_TYPE_NAMES: Record<number, string> = Object.fromEntries(Object.entries(ICMP_TYPES).map(([n, t]) => [t, n]));
/** /etc/networks on Debian. */
const NETWORKS: Record<string, string> = { '127.0.0.0': 'loopback', '169.254.0.0': 'link-local' };

export function iptablesCommand(ns: SimNetns, argv: readonly string[], caller = ROOT): CommandOutput {
  try {
    return run(ns, argv, caller);
  } catch (e) {
    if (e instanceof Refusal) return e.output;
    throw e;
  }
}

/**
 * An engine command for a namespace's tables, run when something first reads them (a packet
 * at a hook, `iptables`, `iptables-save`) rather than now: a container's namespace takes its
 * resolver's chains at start, and in a big swarm almost none of them is ever reached. Until
 * then the tables count as active, so a packet takes the hooks' path, where they are run.
 */
export function deferEngineCommand(ns: SimNetns, args: readonly string[], run: (ns: SimNetns, args: readonly string[]) => void): void {
  const nf = netnsTables(ns);
  if (nf.deferred === undefined) {
    nf.deferred = [];
    nf.runEngineCommand ??= engineCommandRunner(ns, run);
  }
  nf.deferred.push(args);
  nf.active = true;
}

/** One runner per namespace, not a closure per command: a big swarm defers a great many, and each closure kept its plan op alive. */
function engineCommandRunner(ns: SimNetns, run: (ns: SimNetns, args: readonly string[]) => void): (args: readonly string[]) => void {
  return (args) => run(ns, args);
}

/** The namespace's tables with the engine's deferred commands run. */
function settledTables(ns: SimNetns): NetnsTables {
  const nf = netnsTables(ns);
  nf.runDeferred();
  return nf;
}

/**
 * Invocations parsed so far, by their arguments: the engine gives every host the same
 * commands (each node of a swarm the same ones), so most are parsed once. Kept up to
 * PARSED_KEPT texts: a namespace of a container takes rules of its own (its resolver's ports).
 */
const parsed = new Map<string, Invocation>();
const PARSED_KEPT = 1024;

/**
 * The invocation `argv` says, with a rule of its own: its counters and target are the
 * namespace's. Its matches, addresses and options are what parsing made and never change
 * after, so equal commands share them.
 */
function parseOnce(argv: readonly string[]): Invocation {
  const key = argv.join('\0');
  let inv = parsed.get(key);
  if (!inv) {
    inv = parse(argv);
    if (parsed.size < PARSED_KEPT) parsed.set(key, inv);
  }
  return { ...inv, rule: { ...inv.rule } };
}

function run(ns: SimNetns, argv: readonly string[], caller: NetfilterCaller): CommandOutput {
  const inv = parseOnce(argv);
  if (!caller.netAdmin) throw noGenerationId('iptables');
  const nf = settledTables(ns);
  const exists = nf.tables.get(inv.table);
  // Listing a table that was never made shows its empty built-in chains and makes nothing.
  const table = exists ?? (inv.command === 'L' || inv.command === 'S' ? emptyTable(inv.table) : nf.table(inv.table));
  const out = execute(inv, table);
  nf.changed();
  topologyChanged();
  return { stdout: out, stderr: '', exitCode: 0 };
}

function emptyTable(name: TableName): Table {
  const t: Table = { name, chains: new Map() };
  for (const c of BUILTIN_CHAINS[name]) t.chains.set(c, { name: c, policy: 'ACCEPT', policyPackets: 0, policyBytes: 0, rules: [] });
  return t;
}

// ── parsing ──────────────────────────────────────────────────────────────────

function parse(typed: readonly string[]): Invocation {
  // One option or value a word, as getopt_long reads them (the registry's check reads the same).
  const argv = iptablesWords(typed);
  // What cnmlab does not model is refused before the line is read, as the registry refuses it.
  const unmodelledLine = iptablesWordsNotModelled(argv);
  if (unmodelledLine) throw unmodelled(unmodelledLine);
  const inv: Invocation = { table: 'filter', verbose: false, numeric: false, exact: false, lineNumbers: false, rule: { matches: [], packets: 0, bytes: 0 }, targetOptions: new Map() };
  let invert = false;
  /** The match whose options come next (-m NAME, or the protocol's implicit one). */
  let current: RuleMatch | undefined;
  const positional: string[] = [];
  const setCommand = (c: Command, i: number) => {
    if (inv.command) throw parameterProblem('Cannot use -' + c + ' with -' + inv.command);
    inv.command = c;
    // A command's chain, then (for some) a number or policy, follow it: xs_has_arg takes no word starting '-' or '!' for one.
    const takes = c === 'A' || c === 'D' || c === 'I' || c === 'R' || c === 'N' || c === 'P' ? 1 : 0;
    let used = 0;
    if (argv[i + 1] !== undefined && !argv[i + 1].startsWith('-')) {
      inv.chain = argv[i + 1];
      used = 1;
      if ((c === 'I' || c === 'D' || c === 'R' || c === 'L' || c === 'S' || c === 'P' || c === 'Z') && argv[i + 2] !== undefined && !/^[-!]/.test(argv[i + 2])) {
        inv.extra = argv[i + 2];
        used = 2;
      }
    } else if (takes) {
      throw parameterProblem(`option "-${c}" requires an argument`);
    }
    return used;
  };
  // Mark matches given their mandatory --mark (its value has no unset state to tell by).
  const marksGiven = new Set<RuleMatch>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = (): string => {
      const v = argv[i + 1];
      if (v === undefined) throw parameterProblem(`option "${a}" requires an argument`);
      i++;
      return v;
    };
    const takeInvert = (): boolean => {
      const was = invert;
      invert = false;
      return was;
    };
    if (a === '!') {
      invert = true;
      continue;
    }
    const command = COMMANDS.get(a);
    if (command) {
      i += setCommand(command, i);
      continue;
    }
    switch (a) {
      case '-t':
      case '--table': {
        const t = value();
        if (t !== 'filter' && t !== 'nat') {
          throw refusal(`${VERSION}: table '${t}' does not exist\nPerhaps iptables or your kernel needs to be upgraded.\n`, 3);
        }
        inv.table = t;
        break;
      }
      case '-v':
      case '--verbose':
        inv.verbose = true;
        break;
      case '-n':
      case '--numeric':
        inv.numeric = true;
        break;
      case '-x':
      case '--exact':
        inv.exact = true;
        break;
      case '--line-numbers':
        inv.lineNumbers = true;
        break;
      case '-p':
      case '--protocol': {
        const p = value().toLowerCase();
        const number = p === 'all' ? 0 : PROTOCOLS[p] ?? (/^\d+$/.test(p) && Number(p) < 256 ? Number(p) : undefined);
        if (number === undefined) throw parameterProblem(`unknown protocol "${p}" specified`);
        const inv2 = takeInvert();
        if (number !== 0 || inv2) inv.rule.protocol = { number, invert: inv2 };
        break;
      }
      case '-s':
      case '--source':
      case '--src':
        inv.rule.src = anyAddress(addrMatch(value(), takeInvert()));
        break;
      case '-d':
      case '--destination':
      case '--dst':
        inv.rule.dst = anyAddress(addrMatch(value(), takeInvert()));
        break;
      case '-i':
      case '--in-interface':
        inv.rule.inIface = { name: value(), invert: takeInvert() };
        break;
      case '-o':
      case '--out-interface':
        inv.rule.outIface = { name: value(), invert: takeInvert() };
        break;
      case '-m':
      case '--match': {
        // iptablesNotModelled has refused any other match.
        current = newMatch(value() as ModelledMatch);
        inv.rule.matches.push(current);
        break;
      }
      case '--dport':
      case '--destination-port':
      case '--sport':
      case '--source-port': {
        const proto = inv.rule.protocol && !inv.rule.protocol.invert ? protocolName(inv.rule.protocol.number) : undefined;
        let m = current?.match === 'tcp' || current?.match === 'udp' ? current : undefined;
        if (!m) {
          if (proto !== 'tcp' && proto !== 'udp') throw parameterProblem(`unknown option "${a}"`);
          // -p tcp loads the tcp match on its first option, as iptables does.
          m = inv.rule.matches.find((x): x is Extract<RuleMatch, { match: 'tcp' | 'udp' }> => x.match === proto);
          if (!m) {
            m = { match: proto };
            inv.rule.matches.push(m);
          }
          current = m;
        }
        const range = portMatch(value(), takeInvert());
        if (a.startsWith('--d')) m.dport = range;
        else m.sport = range;
        break;
      }
      case '--state':
      case '--ctstate': {
        const want = a === '--state' ? 'state' : 'conntrack';
        if (current?.match !== want) throw parameterProblem(`unknown option "${a}"`);
        current.invert = takeInvert();
        current.states = ctStates(value(), a);
        break;
      }
      case '--icmp-type': {
        const proto = inv.rule.protocol && !inv.rule.protocol.invert ? protocolName(inv.rule.protocol.number) : undefined;
        if (current?.match !== 'icmp') {
          if (proto !== 'icmp') throw parameterProblem(`unknown option "${a}"`);
          current = { match: 'icmp' };
          inv.rule.matches.push(current);
        }
        const v = value();
        const type = /^\d+$/.test(v) ? Number(v) : ICMP_TYPES[v];
        if (type === undefined || type > 255) throw parameterProblem(`Invalid ICMP type \`${v}'`);
        current.type = type;
        break;
      }
      case '--mode': {
        if (current?.match !== 'statistic') throw parameterProblem(`unknown option "${a}"`);
        // Random, the one mode modelled (iptablesNotModelled).
        value();
        break;
      }
      case '--probability': {
        if (current?.match !== 'statistic') throw parameterProblem(`unknown option "${a}"`);
        const v = value();
        const p = Number(v);
        if (!/^[0-9.eE+-]+$/.test(v) || !(p >= 0 && p <= 1)) {
          throw refusal(`${VERSION}: statistic: bad value for option "--probability", or out of range (0-1).\n\n${TRY_HELP}`, 2);
        }
        current.probability = Math.round(0x80000000 * p);
        break;
      }
      case '--dst-type': {
        if (current?.match !== 'addrtype') throw parameterProblem(`unknown option "${a}"`);
        // LOCAL, the one type modelled (iptablesNotModelled).
        value();
        current.invert = takeInvert();
        break;
      }
      case '--mark': {
        if (current?.match !== 'mark') throw parameterProblem(`unknown option "${a}"`);
        const v = value();
        const [val, mask] = v.split('/').map(Number);
        if (!/^(0x[0-9a-fA-F]+|\d+)(\/(0x[0-9a-fA-F]+|\d+))?$/.test(v) || val > 0xffffffff || (mask ?? 0) > 0xffffffff) {
          throw refusal(`${VERSION}: mark: bad integer value for option "--mark", or out of range.\n\n${TRY_HELP}`, 2);
        }
        current.invert = takeInvert();
        current.value = val;
        current.mask = mask ?? 0xffffffff;
        marksGiven.add(current);
        break;
      }
      case '--comment': {
        if (current?.match !== 'comment') throw parameterProblem(`unknown option "${a}"`);
        current.comment = value();
        break;
      }
      case '-j':
      case '--jump':
        inv.jump = value();
        current = undefined;
        break;
      case '--reject-with':
      case '--to-destination':
      case '--to-source':
        if (!inv.jump) throw parameterProblem(`unknown option "${a}"`);
        inv.targetOptions.set(a, value());
        break;
      default:
        if (a.startsWith('-') && a !== '-') throw parameterProblem(`unknown option "${a}"`);
        positional.push(a);
    }
  }
  if (!inv.command) throw parameterProblem('no command specified');
  if (positional.length) throw refusal(`Bad argument \`${positional[0]}'\n${TRY_HELP}`, 2);
  const proto = inv.rule.protocol && !inv.rule.protocol.invert ? inv.rule.protocol.number : 0;
  for (const m of inv.rule.matches) {
    if ((m.match === 'tcp' || m.match === 'udp') && proto !== PROTOCOLS[m.match]) throw parameterProblem(`${m.match.toUpperCase()} match requires '-p ${m.match}'`);
    if (m.match === 'icmp' && m.type === undefined) throw mustBeSpecified('icmp', '--icmp-type');
    if (m.match === 'comment' && m.comment === undefined) throw mustBeSpecified('comment', '--comment');
    if (m.match === 'mark' && !marksGiven.has(m)) throw mustBeSpecified('mark', '--mark');
  }
  const to = inv.targetOptions.get('--to-destination') ?? inv.targetOptions.get('--to-source');
  if (to?.includes(':') && proto !== PROTOCOLS.tcp && proto !== PROTOCOLS.udp) throw parameterProblem('Need TCP, UDP, SCTP or DCCP with port specification');
  return inv;
}

function newMatch(name: ModelledMatch): RuleMatch {
  switch (name) {
    case 'tcp':
    case 'udp':
      return { match: name };
    case 'icmp':
      return { match: 'icmp' };
    case 'state':
    case 'conntrack':
      return { match: name, states: [], invert: false };
    case 'statistic':
      return { match: 'statistic', probability: 0 };
    case 'addrtype':
      return { match: 'addrtype', dstType: 'LOCAL', invert: false };
    case 'mark':
      return { match: 'mark', value: 0, mask: 0xffffffff, invert: false };
    case 'comment':
      return { match: 'comment' };
  }
}

/**
 * xtables' numeric address: one to four dotted parts, those left out zero (`0/0`, which
 * libnetwork writes for any address, and `10/8` are 0.0.0.0/0 and 10.0.0.0/8).
 */
function numericAddress(text: string): string | undefined {
  const parts = text.split('.');
  if (parts.length > 4 || !parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255)) return undefined;
  return [...parts.map(Number), 0, 0, 0].slice(0, 4).join('.');
}

/** Any address (0/0, not inverted) is no match at all: iptables keeps none, and iptables-save shows none. */
function anyAddress(m: AddrMatch): AddrMatch | undefined {
  return m.prefixLength === 0 && !m.invert ? undefined : m;
}

function addrMatch(text: string, invert: boolean): AddrMatch {
  const [typed, len] = text.split('/');
  const prefixLength = len === undefined ? 32 : Number(len);
  const ip = isIpv4(typed) ? typed : numericAddress(typed);
  if (ip === undefined || !/^\d+$/.test(len ?? '32') || prefixLength > 32) throw parameterProblem(`host/network \`${typed}' not found`);
  const mask = prefixLength === 0 ? 0 : (0xffffffff << (32 - prefixLength)) >>> 0;
  return { net: (ipv4ToNumber(ip) & mask) >>> 0, prefixLength, invert };
}

function portMatch(text: string, invert: boolean): PortMatch {
  const one = (s: string): number => {
    if (/^\d+$/.test(s)) return Number(s) & 0xffff;
    const named = SERVICE_PORTS[s];
    if (named === undefined) throw parameterProblem(`invalid port/service \`${s}' specified`);
    return named;
  };
  const [from, to] = text.split(':');
  return { from: one(from), to: to === undefined ? one(from) : one(to), invert };
}

function ctStates(text: string, option: string): CtState[] {
  const given = text.split(',');
  for (const s of given) if (!(CT_STATES as readonly string[]).includes(s)) throw parameterProblem(`Bad ${option === '--state' ? 'state' : 'ctstate'} "${s}"`);
  return CT_STATES.filter((s) => given.includes(s));
}

/** -j's target, checked against the table (nat refuses filtering targets, filter refuses translation). */
function resolveTarget(inv: Invocation, table: Table, chain: string): RuleTarget | undefined {
  const name = inv.jump;
  if (name === undefined) return undefined;
  const opt = inv.targetOptions;
  const nat = (to: string | undefined, option: string): NatTo => {
    if (to === undefined) throw mustBeSpecified(name!, option);
    const [ip, port] = to.split(':');
    if (ip && !isIpv4(ip)) throw parameterProblem(`Bad IP address "${ip}"`);
    return { ip: ip || undefined, port: port === undefined ? undefined : Number(port) };
  };
  let t: RuleTarget;
  switch (name) {
    case 'ACCEPT':
    case 'DROP':
    case 'RETURN':
    case 'MASQUERADE':
      t = { target: name };
      break;
    case 'REJECT': {
      const w = opt.get('--reject-with') ?? 'icmp-port-unreachable';
      if (w === 'tcp-reset') throw kernelAppendRefusal(inv, chain);
      if (REJECT_CODES[w] === undefined) throw parameterProblem(`unknown reject type "${w}"`);
      t = { target: 'REJECT', rejectWith: w };
      break;
    }
    case 'DNAT':
      t = { target: 'DNAT', to: nat(opt.get('--to-destination'), '--to-destination') };
      break;
    case 'SNAT':
      t = { target: 'SNAT', to: nat(opt.get('--to-source'), '--to-source') };
      break;
    default:
      if (!table.chains.has(name) || BUILTIN_CHAINS[table.name].includes(name as never)) {
        if (/^[A-Z-]+$/.test(name) && !table.chains.has(name)) throw parameterProblem(`Chain '${name}' does not exist`);
        throw parameterProblem(`Chain '${name}' does not exist`);
      }
      return { target: 'jump', chain: name };
  }
  if (table.name === 'nat' && (t.target === 'DROP' || t.target === 'REJECT')) {
    throw refusal(`${VERSION}: \nThe "nat" table is not intended for filtering, the use of ${t.target} is therefore inhibited.\n\n\n${TRY_HELP}`, 2);
  }
  // The kernel takes translation targets only in the nat table, and each only at its hooks.
  const dnatHooks = ['PREROUTING', 'OUTPUT'], snatHooks = ['POSTROUTING', 'INPUT'];
  const builtin = BUILTIN_CHAINS[table.name].includes(chain as never);
  if ((t.target === 'DNAT' || t.target === 'SNAT' || t.target === 'MASQUERADE') &&
    (table.name !== 'nat' || (builtin && !(t.target === 'DNAT' ? dnatHooks : t.target === 'SNAT' ? snatHooks : ['POSTROUTING']).includes(chain)))) {
    throw kernelAppendRefusal(inv, chain);
  }
  return t;
}

function kernelAppendRefusal(inv: Invocation, chain: string): Refusal {
  const op = inv.command === 'I' ? 'RULE_INSERT' : inv.command === 'R' ? 'RULE_REPLACE' : 'RULE_APPEND';
  return refusal(`${VERSION}:  ${op} failed (Invalid argument): rule in chain ${chain}\n`, 4);
}

// ── commands ─────────────────────────────────────────────────────────────────

function execute(inv: Invocation, table: Table): string {
  const chainOf = (name: string | undefined): Chain => {
    const c = name === undefined ? undefined : table.chains.get(name);
    if (!c) throw NO_CHAIN();
    return c;
  };
  const ruleNumber = (text: string | undefined, what: string, max: number): number => {
    const n = Number(text);
    if (!/^\d+$/.test(text ?? '') || n < 1) throw parameterProblem(`Invalid rule number \`${text}'`);
    if (n > max) throw kernelRefusal(`Index of ${what} too big.`, 1);
    return n;
  };
  // The command's one rule: this use's own copy of the parse cache's (parseOnce), with its target now known.
  const newRule = (chain: Chain): Rule => {
    const rule = inv.rule;
    rule.target = resolveTarget(inv, table, chain.name);
    return rule;
  };
  switch (inv.command!) {
    case 'A': {
      const c = chainOf(inv.chain);
      c.rules.push(newRule(c));
      return '';
    }
    case 'I': {
      const c = chainOf(inv.chain);
      const at = inv.extra === undefined ? 1 : ruleNumber(inv.extra, 'insertion', c.rules.length + 1);
      c.rules.splice(at - 1, 0, newRule(c));
      return '';
    }
    case 'R': {
      const c = chainOf(inv.chain);
      const at = ruleNumber(inv.extra, 'replacement', c.rules.length);
      c.rules[at - 1] = newRule(c);
      return '';
    }
    case 'D': {
      const c = chainOf(inv.chain);
      if (inv.extra !== undefined) {
        const at = ruleNumber(inv.extra, 'deletion', c.rules.length);
        c.rules.splice(at - 1, 1);
        return '';
      }
      const spec = ruleSpec(newRule(c));
      const at = c.rules.findIndex((r) => ruleSpec(r) === spec);
      if (at < 0) throw kernelRefusal('Bad rule (does a matching rule exist in that chain?).', 1);
      c.rules.splice(at, 1);
      return '';
    }
    case 'F': {
      for (const c of inv.chain === undefined ? table.chains.values() : [chainOf(inv.chain)]) c.rules.length = 0;
      return '';
    }
    case 'Z': {
      for (const c of inv.chain === undefined ? table.chains.values() : [chainOf(inv.chain)]) {
        c.policyPackets = c.policyBytes = 0;
        for (const r of c.rules) r.packets = r.bytes = 0;
      }
      return '';
    }
    case 'N': {
      if (table.chains.has(inv.chain!)) throw kernelRefusal('Chain already exists.', 1);
      table.chains.set(inv.chain!, { name: inv.chain!, policyPackets: 0, policyBytes: 0, rules: [] });
      return '';
    }
    case 'X': {
      const victims = inv.chain === undefined ? [...table.chains.values()].filter((c) => !c.policy) : [chainOf(inv.chain)];
      // nf_tables deletes a chain only when it is a user chain, empty and not jumped to; one refusal stops them all.
      for (const c of victims) {
        if (c.policy || c.rules.length > 0 || references(table, c.name) > 0) throw refusal(`${VERSION}:  CHAIN_DEL failed (Device or resource busy): chain ${c.name}\n`, 4);
      }
      for (const c of victims) table.chains.delete(c.name);
      return '';
    }
    case 'P': {
      const c = table.chains.get(inv.chain!);
      if (!c?.policy) throw kernelRefusal('Bad built-in chain name.', 1);
      if (inv.extra !== 'ACCEPT' && inv.extra !== 'DROP') throw kernelRefusal("Bad policy name. Run `dmesg' for more information.", 1);
      c.policy = inv.extra;
      c.policyCounted = true;
      return '';
    }
    case 'S':
      return listRules(inv, table);
    case 'L':
      return listTable(inv, table);
  }
}

function references(table: Table, chain: string): number {
  let n = 0;
  for (const c of table.chains.values()) for (const r of c.rules) if (r.target?.target === 'jump' && r.target.chain === chain) n++;
  return n;
}

function incompatible(inv: Invocation, table: Table): Refusal {
  return refusal(`${VERSION}: chain \`${inv.chain}' in table \`${table.name}' is incompatible, use 'nft' tool.\n`, 1);
}

/** A table's chains as iptables-nft lists them: the built-in ones first, then the user's by name (its cache sorts them), not in the order they were made. */
function listedChains(table: Table): Chain[] {
  const all = [...table.chains.values()];
  return [...all.filter((c) => c.policy), ...all.filter((c) => !c.policy).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))];
}

/** -S [CHAIN [N]]: the policies, the user chains, then every rule, as commands. */
function listRules(inv: Invocation, table: Table): string {
  const counters = (packets: number, bytes: number) => (inv.verbose ? `-c ${packets} ${bytes}` : '');
  const chains = inv.chain === undefined ? listedChains(table) : [table.chains.get(inv.chain)];
  if (chains.some((c) => !c)) throw incompatible(inv, table);
  const lines: string[] = [];
  if (inv.extra !== undefined) {
    const c = chains[0]!;
    const n = Number(inv.extra);
    const r = c.rules[n - 1];
    if (!r) throw kernelRefusal('Index of deletion too big.', 1);
    return `-A ${c.name} ${ruleSpec(r, counters(r.packets, r.bytes))}\n`;
  }
  for (const c of chains) lines.push(c!.policy ? `-P ${c!.name} ${c!.policy}${inv.verbose ? ' ' : ''}${counters(c!.policyPackets, c!.policyBytes)}` : `-N ${c!.name}`);
  for (const c of chains) {
    for (const r of c!.rules) {
      const spec = ruleSpec(r, counters(r.packets, r.bytes));
      lines.push(`-A ${c!.name}${spec ? ' ' : ''}${spec}`);
    }
  }
  return lines.map((l) => l + '\n').join('');
}

/** print_num: a counter in its column, shortened to K, M, G… unless -x. */
function counter(n: number, inv: Invocation): string {
  if (inv.exact) return String(n).padStart(8) + ' ';
  if (n <= 99999) return String(n).padStart(5) + ' ';
  for (const unit of ['K', 'M', 'G', 'T']) {
    n = Math.floor((n + 500) / 1000);
    if (n <= 9999 || unit === 'T') return String(n).padStart(4) + unit + ' ';
  }
  return '';
}

function header(inv: Invocation): string {
  let h = '';
  if (inv.lineNumbers) h += 'num  ';
  if (inv.verbose) h += inv.exact ? '    pkts      bytes ' : ' pkts bytes ';
  h += 'target     prot opt';
  if (inv.verbose) h += ' in     out    ';
  return h + ' source               destination         \n';
}

function addressColumn(m: AddrMatch | undefined, numeric: boolean): string {
  if (!m) return ' ' + (numeric ? '0.0.0.0/0' : 'anywhere').padEnd(19) + ' ';
  const ip = numberToDotted(m.net);
  const shown = m.prefixLength === 0 ? (numeric ? '0.0.0.0/0' : 'anywhere')
    : m.prefixLength === 32 ? ip
    : `${!numeric && NETWORKS[ip] ? NETWORKS[ip] : ip}/${m.prefixLength}`;
  return (m.invert ? '!' : ' ') + shown.padEnd(19) + ' ';
}

function portText(name: string, p: PortMatch, numeric: boolean): string {
  const show = (n: number) => (numeric ? String(n) : SERVICES[n] ?? String(n));
  const inv = p.invert ? '!' : '';
  return p.from === p.to ? ` ${name}:${inv}${show(p.from)}` : ` ${name}s:${inv}${show(p.from)}:${show(p.to)}`;
}

/** What -L prints after the addresses: each match, then the target's options. */
function ruleDetails(r: Rule, numeric: boolean): string {
  let s = '';
  for (const m of r.matches) {
    switch (m.match) {
      case 'tcp':
      case 'udp':
        s += ` ${m.match}`;
        if (m.sport) s += portText('spt', m.sport, numeric);
        if (m.dport) s += portText('dpt', m.dport, numeric);
        break;
      case 'icmp':
        s += numeric || ICMP_TYPE_NAMES[m.type!] === undefined ? ` icmptype ${m.type}` : ` icmp ${ICMP_TYPE_NAMES[m.type!]}`;
        break;
      case 'state':
        s += ` ${m.invert ? '! ' : ''}state ${m.states.join(',')}`;
        break;
      case 'conntrack':
        s += ` ${m.invert ? '! ' : ''}ctstate ${m.states.join(',')}`;
        break;
      case 'statistic':
        s += ` statistic mode random probability ${probabilityText(m.probability)}`;
        break;
      case 'addrtype':
        s += ` ADDRTYPE match dst-type ${m.invert ? '!' : ''}${m.dstType}`;
        break;
      case 'mark':
        s += ` mark match ${m.invert ? '! ' : ''}${markText(m)}`;
        break;
      case 'comment':
        s += ` /* ${m.comment} */`;
        break;
    }
  }
  const t = r.target;
  if (t?.target === 'REJECT') s += ` reject-with ${t.rejectWith}`;
  else if (t?.target === 'DNAT' || t?.target === 'SNAT') s += ` to:${natToText(t.to)}`;
  return s;
}

/** -L [CHAIN [N]] with -v, -n, -x and --line-numbers, column for column as print_firewall. */
function listTable(inv: Invocation, table: Table): string {
  const numeric = inv.numeric;
  const row = (r: Rule, n: number): string => {
    let s = '';
    if (inv.lineNumbers) s += String(n).padEnd(4) + ' ';
    if (inv.verbose) s += counter(r.packets, inv) + counter(r.bytes, inv);
    const t = r.target;
    s += (t ? (t.target === 'jump' ? t.chain : t.target) : '').padEnd(9) + ' ';
    s += r.protocol?.invert ? '!' : ' ';
    const proto = r.protocol?.number ?? 0;
    s += (numeric ? String(proto) : proto === 0 ? 'all' : protocolName(proto)).padEnd(4) + ' ';
    s += '-- ';
    if (inv.verbose) {
      const iface = (m: Rule['inIface']) => ((m?.invert ? '!' : '') + (m ? m.name : numeric ? '*' : 'any')).padEnd(6) + ' ';
      s += ' ' + iface(r.inIface) + iface(r.outIface);
    }
    s += addressColumn(r.src, numeric) + addressColumn(r.dst, numeric);
    return s + ruleDetails(r, numeric) + '\n';
  };
  const chains = inv.chain === undefined ? listedChains(table) : [table.chains.get(inv.chain)];
  if (chains.some((c) => !c)) throw incompatible(inv, table);
  if (inv.extra !== undefined) {
    const c = chains[0]!;
    const r = c.rules[Number(inv.extra) - 1];
    return r ? row(r, Number(inv.extra)) : '';
  }
  return chains.map((c) => {
    const title = c!.policy
      ? `Chain ${c!.name} (policy ${c!.policy}${inv.verbose ? ` ${countText(c!.policyPackets, inv)} packets, ${countText(c!.policyBytes, inv)} bytes` : ''})`
      : `Chain ${c!.name} (${references(table, c!.name)} references)`;
    return `${title}\n${header(inv)}${c!.rules.map((r, i) => row(r, i + 1)).join('')}`;
  }).join('\n');
}

/** The policy counters in a chain's title: shortened as the columns are, without their padding. */
function countText(n: number, inv: Invocation): string {
  return counter(n, inv).trim();
}

/** iptables-save: every table that exists, its chains with counters, its rules; dated by `now`. Its options as 1.8.9 reads them (readIptablesSave). */
export function iptablesSave(ns: SimNetns, typed: string[], now: Date, caller = ROOT): CommandOutput {
  const line = readIptablesSave(typed);
  if (line.ends === 'error') return { stdout: '', stderr: line.stderr, exitCode: 1 };
  if (line.ends === 'version') return { stdout: 'iptables-save v1.8.9 (nf_tables)\n', stderr: line.stderr, exitCode: 0 };
  if (line.ends === 'file') return unmodelledWords('cnmlab: iptables-save -f (--file): writing the dump to a file is not modelled\n');
  const { table, stderr } = line;
  // The generation id is asked before the table is looked up.
  if (!caller.netAdmin) {
    const refused = noGenerationId('iptables-save').output;
    return { ...refused, stderr: stderr + refused.stderr };
  }
  if (table !== undefined && table !== 'filter' && table !== 'nat') {
    if (TABLES_NOT_MODELLED.includes(table)) return unmodelledWords(`cnmlab: iptables-save -t ${table} is not modelled (tables filter and nat are)\n`);
    // -d (--dump) exits 0 whatever the dump returned.
    return { stdout: '', stderr: `${stderr}Table \`${table}' does not exist\n`, exitCode: line.dump ? 0 : 1 };
  }
  ns.netfilter?.runDeferred();
  return { stdout: savedTables(ns, table, line.counters, ctime(now)), stderr, exitCode: 0 };
}

/**
 * The namespace's tables as iptables-save prints them (`only` one, or every table that
 * exists), read as they stand: the engine's deferred commands are not run, so reading has
 * no effect. `stamp` dates the dump.
 */
export function savedTables(ns: SimNetns, only: TableName | undefined, withCounters: boolean, stamp: string): string {
  // Every table that exists, filter first; a table asked for by name is shown even when it was never made.
  const tables = only ? [ns.netfilter?.tables.get(only) ?? emptyTable(only)]
    : (['filter', 'nat'] as const).map((n) => ns.netfilter?.tables.get(n)).filter((t): t is Table => !!t);
  const out = tables.map((t) => {
    const lines = [`# Generated by iptables-save v1.8.9 (nf_tables) on ${stamp}`, `*${t.name}`];
    const chains = listedChains(t);
    for (const c of chains) lines.push(`:${c.name} ${c.policy ?? '-'} [${c.policy ? `${c.policyPackets}:${c.policyBytes}` : '0:0'}]`);
    for (const c of chains) {
      for (const r of c.rules) lines.push(`${withCounters ? `[${r.packets}:${r.bytes}] ` : ''}-A ${c.name}${ruleSpec(r) ? ' ' : ''}${ruleSpec(r)}`);
    }
    lines.push('COMMIT', `# Completed on ${stamp}`);
    return lines.map((l) => l + '\n').join('');
  });
  return out.join('');
}

/**
 * Runs the engine's deferred commands for the namespace's tables, as an iptables command
 * does before it reads them; false when one is refused (the command would have failed on it).
 */
export function settleTables(ns: SimNetns): boolean {
  try {
    ns.netfilter?.runDeferred();
    return true;
  } catch (e) {
    if (e instanceof Refusal) return false;
    throw e;
  }
}

/** C's ctime() without its newline: "Mon Nov 30 01:12:42 2026" (UTC). */
function ctime(d: Date): string {
  const days = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const p = (n: number) => String(n).padStart(2, '0');
  return `${days[d.getUTCDay()]} ${months[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2, ' ')} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} ${d.getUTCFullYear()}`;
}
