/**
 * iproute2 6.1's `tc qdisc` over a simulated namespace's devices: a root tbf or netem
 * added, changed, replaced, deleted and shown, with tc's own parsing (its units, its
 * rounding through psched ticks, its refusals and exit codes: 1 for what tc itself
 * refuses, 2 for what the kernel answers; its reading of a qdisc's options is
 * commands/tc-words.ts, which the registry shares) and the kernel's answers. Measured against the
 * real tc in namespaces; the registry declares which forms reach here.
 */
import type { CommandOutput } from '../backend';
import type { SimLink, SimNetns } from './objects';
import { topologyChanged } from './objects';
import { qdiscName, txQueues } from './net/sched/sch_generic';
import { Tbf } from './net/sched/sch_tbf';
import { lossPercent, Netem } from './net/sched/sch_netem';
import { qdiscRequest, TcWordsRefusal, tick2time, TIME_UNITS_PER_SEC, u32 } from '../commands/tc-words';
import { LISTING_VERBS, selectWord, TC_OBJECTS, TC_VERBS } from '../commands/iproute2-words';
import { TC_QDISC_USAGE } from './iproute_help';
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

// ── tc's units as it prints them (json_print_math.c, tc_core.c; its reading of them is tc-words.ts) ──

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

// ── tbf (q_tbf.c) ──

/** tbf_print_opt: the rate, the burst read back through ticks, and the latency the limit leaves (or the limit). */
function tbfText(q: Tbf): string {
  const { rate, limit } = q.params;
  const bufferTicks = q.bufferTicks;
  const burst = u32((rate * tick2time(bufferTicks)) / TIME_UNITS_PER_SEC);
  const latency = TIME_UNITS_PER_SEC * (limit / rate) - tick2time(bufferTicks);
  return `rate ${rateText(rate)} burst ${sizeText(burst)} ${latency >= 0 ? `lat ${timeText(latency)} ` : `limit ${sizeText(limit)} `}`;
}

// ── netem (q_netem.c) ──

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

const VERBS: Record<string, Verb> = { add: 'add', change: 'change', replace: 'replace', delete: 'delete' };

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
  const request = qdiscRequest(kind, options);
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
    const [object, typedVerb, ...args] = argv;
    if (selectWord(TC_OBJECTS, object) !== 'qdisc') throw notModelled(argv.join(' '));
    // The verb as do_qdisc's table selects it (iproute2-words.ts): `l` is link, `ls` list.
    const verb = typedVerb === undefined ? 'show' : selectWord(TC_VERBS.qdisc, typedVerb);
    if (verb === 'help') return { stdout: '', stderr: TC_QDISC_USAGE, exitCode: 0 };
    if (verb !== undefined && LISTING_VERBS.includes(verb)) return show(ns, args);
    const v = verb === undefined ? undefined : VERBS[verb];
    if (!v) throw notModelled(`qdisc ${typedVerb}`);
    return modify(ns, v, args, ctx);
  } catch (e) {
    if (e instanceof Refusal) return e.output;
    if (e instanceof TcWordsRefusal) return e.unmodelled ? unmodelledWords(e.stderr) : err(e.stderr, e.exitCode);
    throw e;
  }
}
