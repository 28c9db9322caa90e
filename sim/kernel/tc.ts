/**
 * iproute2 6.1's `tc qdisc` over a simulated namespace's devices: a root tbf or netem
 * added, changed, replaced, deleted and shown, with tc's own parsing (its units, its
 * rounding through psched ticks, its refusals and exit codes: 1 for what tc itself
 * refuses, 2 for what the kernel answers) and the kernel's answers. Measured against the
 * real tc in namespaces; the registry declares which forms reach here.
 */
import type { CommandOutput } from '../backend';
import type { SimLink, SimNetns } from './objects';
import { topologyChanged } from './objects';
import { qdiscName, txQueues } from './net/sched/sch_generic';
import { Tbf, TbfParams } from './net/sched/sch_tbf';
import { lossPercent, Netem, NetemParams } from './net/sched/sch_netem';
import { printfG } from '../text/printf';
import { err, NOT_PERMITTED, Refusal, unmodelledWords } from './iproute_utils';

/** What tc was given and the time and seed the kernel answers with. */
export interface TcContext {
  nowNs: number;
  /** Seeds each new netem's generator (the kernel's seed for the scenario). */
  kernelSeed: number;
  /** Whether tc holds CAP_NET_ADMIN (not in a container run without --cap-add NET_ADMIN). */
  netAdmin: boolean;
}

const userError = (text: string) => new Refusal(err(text, 1));
const kernelError = (message: string) => new Refusal(err(`Error: ${message}\n`, 2));
const notModelled = (what: string) => new Refusal(unmodelledWords(`cnmlab: tc ${what} is not modelled\n`));
/** NEXT_ARG without a next word: incomplete_command() exits with -1. */
const incomplete = () => new Refusal(err('Command line is not complete. Try option "help"\n', 255));

// ── tc's units (tc_core.c, utils.c, utils_math.c, json_print_math.c) ──

const TIME_UNITS_PER_SEC = 1_000_000;
/** /proc/net/psched's t2us / us2t (1000 / 64) with a microsecond clock resolution: 15.625 ticks a µs. */
const TICK_IN_USEC = 1000 / 64;
const u32 = (x: number) => (x >= 0 ? Math.floor(x) : 0) >>> 0;

/** strtod's reading of a number at the start of a word: the number and the rest. */
function strtod(s: string): { value: number; rest: string } | undefined {
  const m = /^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?/.exec(s);
  if (!m) return undefined;
  return { value: Number(m[0]), rest: s.slice(m[0].length) };
}

const RATE_SUFFIXES: [string, number][] = [
  ['bit', 1], ['kibit', 1024], ['kbit', 1000], ['mibit', 1024 * 1024], ['mbit', 1e6], ['gibit', 1024 ** 3], ['gbit', 1e9], ['tibit', 1024 ** 4], ['tbit', 1e12],
  ['bps', 8], ['kibps', 8 * 1024], ['kbps', 8000], ['mibps', 8 * 1024 * 1024], ['mbps', 8e6], ['gibps', 8 * 1024 ** 3], ['gbps', 8e9], ['tibps', 8 * 1024 ** 4], ['tbps', 8e12],
];

/** get_rate64: bits per second (a bare number too) to bytes per second. */
function getRate64(s: string): number | undefined {
  const n = strtod(s);
  if (!n) return undefined;
  let bps = n.value;
  if (n.rest) {
    const suffix = RATE_SUFFIXES.find(([name]) => name === n.rest.toLowerCase());
    if (!suffix) return undefined;
    bps *= suffix[1];
  }
  return Math.floor(bps / 8);
}

/** get_size: bytes, with tc's k/m/g (binary) and kbit/mbit/gbit suffixes. */
function getSize(s: string): number | undefined {
  const n = strtod(s);
  if (!n) return undefined;
  let sz = n.value;
  const suffix = n.rest.toLowerCase();
  if (suffix) {
    const scale: Record<string, number> = { kb: 1024, k: 1024, gb: 1024 ** 3, g: 1024 ** 3, gbit: 1024 ** 3 / 8, mb: 1024 * 1024, m: 1024 * 1024, mbit: (1024 * 1024) / 8, kbit: 1024 / 8, b: 1 };
    if (!(suffix in scale)) return undefined;
    sz *= scale[suffix];
  }
  if (sz < 0 || sz > 0xffffffff || Math.floor(sz) !== sz) return sz >= 0 && sz <= 0xffffffff ? Math.floor(sz) : undefined;
  return sz;
}

/** get_time: microseconds, with s, ms and us suffixes (a bare number is µs). */
function getTime(s: string): number | undefined {
  const n = strtod(s);
  if (!n) return undefined;
  const suffix = n.rest.toLowerCase();
  let t = n.value;
  if (['s', 'sec', 'secs'].includes(suffix)) t *= TIME_UNITS_PER_SEC;
  else if (['ms', 'msec', 'msecs'].includes(suffix)) t *= TIME_UNITS_PER_SEC / 1000;
  else if (['us', 'usec', 'usecs'].includes(suffix)) t *= 1;
  else if (suffix) return undefined;
  return u32(t);
}

const time2tick = (us: number) => u32(u32(us) * TICK_IN_USEC);
const tick2time = (ticks: number) => u32(ticks / TICK_IN_USEC);

/** print_time: µs as tc prints a time (%.3g with s or ms, else whole µs). */
function timeText(us: number): string {
  const t = u32(us);
  if (t >= TIME_UNITS_PER_SEC) return `${printfG(t / TIME_UNITS_PER_SEC, 3)}s`;
  if (t >= TIME_UNITS_PER_SEC / 1000) return `${printfG(t / 1000, 3)}ms`;
  return `${t}us`;
}

/** sprint_size: bytes as Mb or Kb when within a rounding of a whole one, else b. */
function sizeText(bytes: number): string {
  const sz = u32(bytes);
  const kilo = 1024;
  const mega = kilo * kilo;
  if (sz >= mega && Math.abs(mega * Math.round(sz / mega) - sz) < 1024) return `${printfG(Math.round(sz / mega))}Mb`;
  if (sz >= kilo && Math.abs(kilo * Math.round(sz / kilo) - sz) < 16) return `${printfG(Math.round(sz / kilo))}Kb`;
  return `${sz}b`;
}

/** print_rate: bytes per second as bits in K/M/G/T steps of 1000 while they divide evenly (or the value is large). */
function rateText(bytesPerSec: number): string {
  let rate = BigInt(bytesPerSec) << 3n;
  const units = ['', 'K', 'M', 'G', 'T'];
  let i = 0;
  for (; i < units.length - 1; i++) {
    if (rate < 1000n) break;
    if (rate % 1000n !== 0n && rate < 1_000_000n) break;
    rate /= 1000n;
  }
  return `${rate}${units[i]}bit`;
}

/** parse_percent then set_percent: "5%" or "5" to a fraction of 2^32 - 1. */
function getPercent(s: string): number | undefined {
  const n = strtod(s);
  const per = (n?.value ?? 0) / 100;
  if (per > 1 || per < 0) return undefined;
  if (n?.rest && n.rest !== '%') return undefined;
  return Math.round(per * 0xffffffff);
}

/** iproute2's matches(): the word is a non-empty prefix of the keyword. */
const matches = (word: string, keyword: string) => word.length > 0 && keyword.startsWith(word);

// ── tbf (q_tbf.c) ──

const TBF_USAGE = 'Usage: ... tbf limit BYTES burst BYTES[/BYTES] rate KBPS [ mtu BYTES[/BYTES] ]\n\t[ peakrate KBPS ] [ latency TIME ] [ overhead BYTES ] [ linklayer TYPE ]\n';

/** What tbf_parse_opt sends the kernel: the rate, the burst in bytes (TCA_TBF_BURST) and the limit. */
function parseTbf(args: string[]): TbfParams {
  let limit = 0;
  let latency = 0;
  let burst = 0;
  let rate = 0;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const value = (): string => {
      if (i + 1 >= args.length) throw incomplete();
      return args[++i];
    };
    const illegal = (name: string, v: string) => userError(`tbf: illegal value for "${name}": "${v}"\n`);
    if (matches(a, 'limit')) {
      const v = value();
      if (limit) throw userError('tbf: duplicate "limit" specification\n');
      if (latency) throw userError('tbf: specifying both "latency" and "limit" is not allowed\n');
      const size = getSize(v);
      if (size === undefined) throw illegal('limit', v);
      limit = size;
    } else if (matches(a, 'latency')) {
      const v = value();
      if (latency) throw userError('tbf: duplicate "latency" specification\n');
      if (limit) throw userError('tbf: specifying both "limit" and "/latency" is not allowed\n');
      const t = getTime(v);
      if (t === undefined) throw illegal('latency', v);
      latency = t;
    } else if (matches(a, 'burst') || a === 'buffer' || a === 'maxburst') {
      const v = value();
      if (burst) throw userError('tbf: duplicate "buffer/burst/maxburst" specification\n');
      if (v.includes('/')) throw notModelled('tbf burst BYTES/CELL');
      const size = getSize(v);
      if (size === undefined) throw illegal(a, v);
      burst = size;
    } else if (a === 'rate') {
      const v = value();
      if (rate) throw userError('tbf: duplicate "rate" specification\n');
      if (v.includes('%')) throw notModelled('tbf rate as a percentage of the device speed');
      const r = getRate64(v);
      if (r === undefined) throw illegal('rate', v);
      rate = r;
    } else if (['mtu', 'minburst', 'mpu'].includes(a) || matches(a, 'peakrate') || matches(a, 'overhead') || matches(a, 'linklayer')) {
      throw notModelled(`tbf ${a}`);
    } else if (a === 'help') {
      throw userError(TBF_USAGE);
    } else {
      throw userError(`tbf: unknown parameter "${a}"\n${TBF_USAGE}`);
    }
  }
  const missing: string[] = [];
  if (rate === 0) missing.push('tbf: the "rate" parameter is mandatory.\n');
  if (!burst) missing.push('tbf: the "burst" parameter is mandatory.\n');
  if (limit === 0 && latency === 0) missing.push('tbf: either "limit" or "latency" is required.\n');
  if (missing.length) throw userError(missing.join('') + TBF_USAGE);
  if (limit === 0) limit = u32((rate * latency) / TIME_UNITS_PER_SEC + burst);
  return { rate, burst, limit };
}

/** tbf_print_opt: the rate, the burst read back through ticks, and the latency the limit leaves (or the limit). */
function tbfText(q: Tbf): string {
  const { rate, limit } = q.params;
  const bufferTicks = q.bufferTicks;
  const burst = u32((rate * tick2time(bufferTicks)) / TIME_UNITS_PER_SEC);
  const latency = TIME_UNITS_PER_SEC * (limit / rate) - tick2time(bufferTicks);
  return `rate ${rateText(rate)} burst ${sizeText(burst)} ${latency >= 0 ? `lat ${timeText(latency)} ` : `limit ${sizeText(limit)} `}`;
}

// ── netem (q_netem.c) ──

const NETEM_USAGE = [
  'Usage: ... netem [ limit PACKETS ]',
  '                 [ delay TIME [ JITTER [CORRELATION]]]',
  '                 [ distribution {uniform|normal|pareto|paretonormal} ]',
  '                 [ corrupt PERCENT [CORRELATION]]',
  '                 [ duplicate PERCENT [CORRELATION]]',
  '                 [ loss random PERCENT [CORRELATION]]',
  '                 [ loss state P13 [P31 [P32 [P23 P14]]]',
  '                 [ loss gemodel PERCENT [R [1-H [1-K]]]',
  '                 [ ecn ]',
  '                 [ reorder PERCENT [CORRELATION] [ gap DISTANCE ]]',
  '                 [ rate RATE [PACKETOVERHEAD] [CELLSIZE] [CELLOVERHEAD]]',
  '                 [ slot MIN_DELAY [MAX_DELAY] [packets MAX_PACKETS] [bytes MAX_BYTES]]',
  '                 [ slot distribution {uniform|normal|pareto|paretonormal|custom}',
  '                   DELAY JITTER [packets MAX_PACKETS] [bytes MAX_BYTES]]',
  '',
].join('\n');

function parseNetem(args: string[]): NetemParams {
  const p: NetemParams = { limit: 1000, latencyTicks: 0, jitterTicks: 0, loss: 0 };
  const illegal = (what: string) => userError(`Illegal "${what}"\n`);
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const value = (): string => {
      if (i + 1 >= args.length) throw incomplete();
      return args[++i];
    };
    // NEXT_IS_NUMBER: the next word starts with a digit.
    const nextIsNumber = () => /^\d/.test(args[i + 1] ?? '');
    const ticks = (v: string, what: string): number => {
      const t = getTime(v);
      if (t === undefined) throw illegal(what);
      return time2tick(t);
    };
    if (matches(a, 'limit')) {
      const size = getSize(value());
      if (size === undefined) throw illegal('limit');
      p.limit = size;
    } else if (matches(a, 'latency') || matches(a, 'delay')) {
      p.latencyTicks = ticks(value(), 'latency');
      if (nextIsNumber()) {
        p.jitterTicks = ticks(value(), 'latency');
        if (nextIsNumber()) throw notModelled('netem delay correlation');
      }
    } else if (matches(a, 'loss') || matches(a, 'drop')) {
      if (p.loss > 0) throw illegal('duplicate loss argument\n');
      let v = value();
      if (v === 'random') v = value();
      else if (!/^\d/.test(v)) throw notModelled(`netem loss ${v}`);
      const loss = getPercent(v);
      if (loss === undefined) throw illegal('loss percent');
      p.loss = loss;
      if (nextIsNumber()) throw notModelled('netem loss correlation');
    } else if (a === 'help') {
      throw userError(NETEM_USAGE);
    } else if (['distribution', 'corrupt', 'duplicate', 'ecn', 'reorder', 'gap', 'rate', 'slot'].some((k) => matches(a, k))) {
      throw notModelled(`netem ${a}`);
    } else {
      throw userError(`What is "${a}"?\n${NETEM_USAGE}`);
    }
  }
  return p;
}

/** netem_print_opt: the limit, the delay and jitter (two spaces between), the loss. */
function netemText(q: Netem): string {
  const { limit, latencyTicks, jitterTicks, loss } = q.params;
  let text = `limit ${limit}`;
  if (latencyTicks) {
    text += ` delay ${timeText(tick2time(latencyTicks))}`;
    if (jitterTicks) text += `  ${timeText(tick2time(jitterTicks))}`;
  }
  if (loss) text += ` loss ${printfG(lossPercent(loss))}%`;
  return text;
}

// ── the command ──

type Verb = 'add' | 'change' | 'replace' | 'delete';

const VERBS: Record<string, Verb> = { add: 'add', change: 'change', replace: 'replace', del: 'delete', delete: 'delete' };

/** A device's qdisc line as `tc qdisc show` prints it; a device still on noop shows none. */
export function qdiscLine(dev: SimLink, named: boolean): string | undefined {
  const kind = qdiscName(dev);
  if (kind === 'noop') return undefined;
  const where = `${named ? `dev ${dev.name} ` : ''}root`;
  const q = dev.qdisc;
  if (!q) return `qdisc ${kind} 0: ${where} refcnt 2 \n`;
  const options = q instanceof Tbf ? tbfText(q) : q instanceof Netem ? netemText(q) : '';
  return `qdisc ${kind} ${q.handle.toString(16)}: ${where} refcnt ${txQueues(dev) + 1} ${options}\n`;
}

function show(ns: SimNetns, args: string[]): CommandOutput {
  const at = args.indexOf('dev');
  if (at >= 0) {
    const dev = ns.links.get(args[at + 1]);
    if (!dev) throw userError(`Cannot find device "${args[at + 1]}"\n`);
    return { stdout: qdiscLine(dev, false) ?? '', stderr: '', exitCode: 0 };
  }
  const lines = [...ns.links.values()].sort((a, b) => a.ifindex - b.ifindex).map((l) => qdiscLine(l, true) ?? '');
  return { stdout: lines.join(''), stderr: '', exitCode: 0 };
}

/** `tc qdisc VERB dev DEV root [KIND [OPTIONS]]`: tc parses the kind's options first, then finds the device, then asks the kernel. */
function modify(ns: SimNetns, verb: Verb, args: string[], ctx: TcContext): CommandOutput {
  const [, devName, , kind, ...options] = args;
  const request = kind === 'tbf' ? { kind, tbf: parseTbf(options) } : kind === 'netem' ? { kind, netem: parseNetem(options) } : undefined;
  const dev = ns.links.get(devName);
  if (!dev) throw userError(`Cannot find device "${devName}"\n`);
  if (!ctx.netAdmin) return NOT_PERMITTED();
  const q = dev.qdisc;
  const ok: CommandOutput = { stdout: '', stderr: '', exitCode: 0 };
  if (verb === 'delete') {
    if (!q) throw kernelError('Cannot delete qdisc with handle of zero.');
    if (kind && kind !== q.kind) throw kernelError('Invalid qdisc name: must match existing qdisc.');
    dev.qdisc = undefined;
    topologyChanged();
    return ok;
  }
  if (!request) throw kernelError('Specified qdisc kind is unknown.');
  if (q && verb === 'add') throw kernelError('Exclusivity flag on, cannot modify.');
  if (!q && verb === 'change') throw kernelError('Qdisc not found. To create specify NLM_F_CREATE flag.');
  if (q && q.kind !== request.kind && verb === 'change') throw kernelError('Invalid qdisc name: must match existing qdisc.');
  if (q && q.kind === request.kind) {
    if (q instanceof Tbf && request.tbf) q.change(request.tbf, ctx.nowNs);
    else if (q instanceof Netem && request.netem) q.change(request.netem);
    return ok;
  }
  const handle = ns.host.nextQdiscHandle++;
  dev.qdisc = request.tbf
    ? new Tbf(handle, request.tbf, ctx.nowNs)
    : new Netem(handle, request.netem!, { rng: (ctx.kernelSeed ^ Math.imul(handle, 0x9e3779b1) ^ Math.imul(dev.ifindex, 0x85ebca6b)) >>> 0 });
  topologyChanged();
  return ok;
}

/** `tc qdisc …` in namespace `ns`. */
export function tcCommand(ns: SimNetns, argv: string[], ctx: TcContext): CommandOutput {
  try {
    const [object, verb, ...args] = argv;
    if (object !== 'qdisc') throw notModelled(argv.join(' '));
    if (verb === undefined || verb === 'show' || verb === 'list' || verb === 'ls') return show(ns, args);
    const v = VERBS[verb];
    if (!v) throw notModelled(`qdisc ${verb}`);
    return modify(ns, v, args, ctx);
  } catch (e) {
    if (e instanceof Refusal) return e.output;
    throw e;
  }
}
