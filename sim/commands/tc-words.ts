/**
 * iproute2 6.1's tc reading a root qdisc's options (q_tbf.c, q_netem.c) and its units
 * (tc_core.c, utils.c, utils_math.c): from the words alone, before any device is looked up.
 * sim's tc (kernel/tc.ts) hands the kernel what they say; the registry refuses, before either
 * mode runs, a line whose options tc refuses as not modelled (tcOptionsNotModelled), so emu
 * never runs the real tc on them.
 */

/** What tc hands the kernel for a tbf (struct tc_tbf_qopt, TCA_TBF_RATE64, TCA_TBF_BURST; sch_tbf.ts). */
export interface TbfParams {
  /** Bytes per second. */
  rate: number;
  /** The bucket in bytes: the largest frame it passes (max_size). */
  burst: number;
  /** The FIFO's limit in bytes. */
  limit: number;
}

/** What tc hands the kernel for a netem (struct tc_netem_qopt, sch_netem.ts): times in psched ticks, the loss as a fraction of 2^32 - 1. */
export interface NetemParams {
  /** Packets the queue holds. */
  limit: number;
  latencyTicks: number;
  jitterTicks: number;
  loss: number;
}

/** tc's refusal of its words: its text and exit code, or cnmlab's of words it does not model (`unmodelled`, exit 2). */
export class TcWordsRefusal {
  constructor(readonly stderr: string, readonly exitCode: number, readonly unmodelled = false) {}
}

const userError = (text: string) => new TcWordsRefusal(text, 1);
const notModelled = (what: string) => new TcWordsRefusal(`cnmlab: tc ${what} is not modelled\n`, 2, true);
/** NEXT_ARG without a next word: incomplete_command() exits with -1. */
const incomplete = () => new TcWordsRefusal('Command line is not complete. Try option "help"\n', 255);

// ── tc's units ──

export const TIME_UNITS_PER_SEC = 1_000_000;
/** /proc/net/psched's t2us / us2t (1000 / 64) with a microsecond clock resolution: 15.625 ticks a µs. */
const TICK_IN_USEC = 1000 / 64;
export const u32 = (x: number) => (x >= 0 ? Math.floor(x) : 0) >>> 0;

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
export const tick2time = (ticks: number) => u32(ticks / TICK_IN_USEC);

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

/**
 * A root qdisc's kind and options as tc reads them (`tc qdisc VERB dev DEV root [KIND
 * [OPTIONS]]`): what it hands the kernel; throws tc's refusal (TcWordsRefusal).
 */
export function qdiscRequest(kind: string | undefined, options: string[]): { kind: 'tbf'; tbf: TbfParams; netem?: undefined } | { kind: 'netem'; netem: NetemParams; tbf?: undefined } | undefined {
  return kind === 'tbf' ? { kind, tbf: parseTbf(options) } : kind === 'netem' ? { kind, netem: parseNetem(options) } : undefined;
}

/** Whether tc refuses a `qdisc VERB dev DEV root KIND OPTIONS` line's options as not modelled (its words alone decide: they are read first). */
export function tcOptionsNotModelled(args: readonly string[]): boolean {
  if (args[0] !== 'qdisc') return false;
  const [, , , , , kind, ...options] = args;
  try {
    qdiscRequest(kind, options);
    return false;
  } catch (e) {
    if (e instanceof TcWordsRefusal) return e.unmodelled;
    throw e;
  }
}
