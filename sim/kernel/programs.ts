/**
 * Programs run inside simulated namespaces: ping (iputils' or BusyBox's texts), bind's
 * nslookup, glibc's getent, hostname. Each
 * runs the event queue until it would have finished, so time is virtual and results are
 * deterministic.
 */
import { CommandOutput, DEFAULT_STEP_BUDGET_NS, ExecContext, LiveIo } from '../backend';
import { Datapath, EchoSocket } from './datapath';
import { SimNetns } from './objects';
import { askServer, nameserversOf, Question, Replies, resolve, ResolverTiming } from './embedded_dns';
import { etcFile } from '../model/etc';
import { containerById, type Container } from '../model/world';
import { isLocal, onLinkRoute, pathMtu } from './net/ipv4/route';
import { droppedByHook } from './net/ipv4/ip_output';
import { driverNamed, packetWay } from '../model/drivers';
import { registeredPath } from '../trace/paths';
import { isIpv4 } from '../wire/addr';
import { unmodelledWords } from './iproute_utils';
import { pingDeviceRefusal, pingUnroutedRefusal } from '../commands/ping-words';
import { DNS_FLAG_AA, dnsRcode, DnsRepr, RCODE_NOERROR, RCODE_NXDOMAIN } from '../wire/dns';
import { IPPROTO_ICMP } from '../wire/ipv4';
import { putBe32 } from '../wire/bytes';
import { ICMP_ECHO_REQUEST, ICMP_HEADER_LEN, writeEchoHeader } from '../wire/icmp';
import { EXIT_OUTPUT_CUT, EXIT_TIMED_OUT } from '../runner/bounds';
import type { Flow } from '../trace/types';

const fail = (stderr: string, exitCode: number, stdout = ''): CommandOutput => ({ stdout, stderr, exitCode });

/** Whose ping prints: iputils' (GNU images, hosts) or BusyBox's (family.ts). */
export type PingFlavour = 'iputils' | 'busybox';

interface PingOptions {
  flavour: PingFlavour;
  count: number;
  intervalNs: number;
  timeoutNs: number;
  size: number;
  pmtu: 'do' | 'want' | 'dont';
  quiet: boolean;
  numeric: boolean;
  target: string;
  /** -f: the next probe goes out as soon as a reply comes back (or after 10 ms). */
  flood: boolean;
  /** -t: the probes' IP TTL. */
  ttl: number;
  /** -I: a source address, or a device to send from. */
  bind?: string;
  /** BusyBox's -w: ping exits this long after its start, whatever it has received. */
  deadlineNs?: number;
}

/** BusyBox's names of the ICMP errors a ping socket can hear (icmp_type_name). */
const BUSYBOX_ICMP_NAMES: Record<number, string> = { 3: 'Destination Unreachable', 11: 'Time Exceeded' };

/** BusyBox ping's wait for replies after its last probe when none came (its -W default, MAXWAIT). */
const BUSYBOX_PING_WAIT_NS = 10e9;

/** BusyBox's ping: its options (the registry lets through only those modelled) and its words for a bad number. */
function parseBusyboxPing(argv: string[]): PingOptions {
  const o: PingOptions = { flavour: 'busybox', count: Infinity, intervalNs: 1e9, timeoutNs: BUSYBOX_PING_WAIT_NS, size: 56, pmtu: 'want', quiet: false, numeric: true, target: '', flood: false, ttl: 64 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => (a.length > 2 ? a.slice(2) : argv[++i] ?? '');
    // xatou and friends: digits only, else "invalid number", exit 1.
    const num = (v: string, max = 0xffffffff) => {
      if (!/^\d+$/.test(v) || Number(v) > max) throw fail(`ping: invalid number '${v}'\n`, 1);
      return Number(v);
    };
    // -i, -W and -w take a fractional or whole number of seconds (parse_duration_str).
    const seconds = (v: string) => {
      if (!/^\d+(\.\d+)?$/.test(v)) throw fail(`ping: invalid number '${v}'\n`, 1);
      return Number(v) * 1e9;
    };
    if (a.startsWith('-c')) o.count = num(val());
    else if (a.startsWith('-i')) o.intervalNs = seconds(val());
    else if (a.startsWith('-W')) o.timeoutNs = seconds(val());
    else if (a.startsWith('-w')) o.deadlineNs = seconds(val());
    else if (a.startsWith('-s')) o.size = num(val(), 65535);
    else if (a.startsWith('-t')) o.ttl = num(val(), 255);
    else if (a.startsWith('-I')) o.bind = val();
    else if (a === '-q') o.quiet = true;
    else o.target = a;
  }
  return o;
}

function parsePing(argv: string[]): PingOptions | CommandOutput {
  const o: PingOptions = { flavour: 'iputils', count: Infinity, intervalNs: 1e9, timeoutNs: 10e9, size: 56, pmtu: 'want', quiet: false, numeric: false, target: '', flood: false, ttl: 64 };
  const usage = 'Usage: ping [-aAbBdDfhLnOqrRUvV64] [-c count] [-i interval] [-I interface]\n            [-m mark] [-M pmtudisc_option] [-l preload] [-p pattern] [-Q tos]\n            [-s packetsize] [-S sndbuf] [-t ttl] [-T timestamp_option]\n            [-w deadline] [-W timeout] [hop1 ...] destination\n';
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      const v = a.length > 2 ? a.slice(2) : argv[++i];
      if (v === undefined) throw fail(`ping: option requires an argument -- '${a[1]}'\n${usage}`, 2);
      return v;
    };
    const num = (v: string, what: string) => {
      const n = Number(v);
      if (!Number.isFinite(n) || n < 0) throw fail(`ping: invalid ${what}: '${v}'\n`, 2);
      return n;
    };
    if (a.startsWith('-c')) o.count = num(val(), 'argument');
    else if (a.startsWith('-i')) o.intervalNs = num(val(), 'interval') * 1e9;
    else if (a.startsWith('-W')) o.timeoutNs = num(val(), 'timeout') * 1e9;
    else if (a.startsWith('-w')) o.timeoutNs = num(val(), 'deadline') * 1e9;
    else if (a.startsWith('-s')) o.size = num(val(), 'packet size');
    else if (a.startsWith('-M')) {
      const v = val();
      if (v !== 'do' && v !== 'want' && v !== 'dont') throw fail('ping: invalid -M argument: ' + v + '\n', 2);
      o.pmtu = v;
    } else if (a === '-q') o.quiet = true;
    else if (a === '-f') {
      o.flood = true;
      o.intervalNs = 10e6;
    }
    else if (a === '-n') o.numeric = true;
    else if (a.startsWith('-t')) {
      const v = val();
      const ttl = Number(v);
      if (!/^\d+$/.test(v) || ttl > 255) throw fail(`ping: invalid argument: '${v}': out of range: 0 <= value <= 255\n`, 2);
      o.ttl = ttl;
    } else if (a.startsWith('-I')) o.bind = val();
    else if (a.startsWith('-')) throw fail(`ping: invalid option -- '${a.slice(1)}'\n${usage}`, 2);
    else o.target = a;
  }
  if (!o.target) throw fail(usage, 2);
  if (o.size > 65507) throw fail(`ping: invalid argument: '${o.size}': out of range: 0 <= value <= 65507\n`, 2);
  return o;
}


/** Count, mean, extremes and standard deviation of a stream of values, in constant memory (Welford's update). */
class RunningStats {
  count = 0;
  min = Infinity;
  max = -Infinity;
  mean = 0;
  private m2 = 0;

  add(x: number): void {
    this.count++;
    if (x < this.min) this.min = x;
    if (x > this.max) this.max = x;
    const d = x - this.mean;
    this.mean += d / this.count;
    this.m2 += d * (x - this.mean);
  }

  /** The population deviation, as iputils' mdev. */
  get deviation(): number {
    return this.count ? Math.sqrt(this.m2 / this.count) : 0;
  }
}

/** Lines a program prints, in bounded memory: the first KEPT_HEAD_LINES and the last KEPT_TAIL_LINES, the rest counted. */
class KeptLines {
  private readonly head: string[] = [];
  private tail: string[] = [];
  dropped = 0;

  constructor(private readonly headLines = KEPT_HEAD_LINES) {}

  push(line: string): void {
    if (this.head.length < this.headLines) {
      this.head.push(line);
      return;
    }
    this.tail.push(line);
    if (this.tail.length >= 2 * KEPT_TAIL_LINES) {
      this.dropped += this.tail.length - KEPT_TAIL_LINES;
      this.tail = this.tail.slice(-KEPT_TAIL_LINES);
    }
  }

  lines(): string[] {
    return [...this.head, ...this.tail];
  }
}

/** A flood's marks ('.' sent, '\b \b' answered), in bounded memory: the first KEPT_FLOOD_MARKS, the rest counted. */
class KeptMarks {
  private readonly marks: string[] = [];
  dropped = 0;

  constructor(private readonly limit = KEPT_FLOOD_MARKS) {}

  add(mark: string): void {
    if (this.marks.length < this.limit) this.marks.push(mark);
    else this.dropped++;
  }

  text(): string {
    return this.marks.join('');
  }
}

const KEPT_HEAD_LINES = 10_000;
const KEPT_TAIL_LINES = 1_000;
const KEPT_FLOOD_MARKS = 100_000;

/** Whole µs as iputils prints them in ms: integer part, then three digits. */
function usAsMs(us: number): string {
  return `${Math.floor(us / 1000)}.${String(us % 1000).padStart(3, '0')}`;
}

function rttText(ms: number): string {
  return ms < 1 ? ms.toFixed(3) : ms < 10 ? ms.toFixed(2) : ms < 100 ? ms.toFixed(1) : ms.toFixed(0);
}

/** A ping under way: its probes go out as the clock is advanced; `finish` prints its end. */
interface PingRun {
  header: string;
  /** Runs the clock up to `untilNs` (not past the ping's own deadline); true once the ping is done. */
  advance(untilNs: number): boolean;
  /** Reply and error lines that came since the last call (a ping watched live keeps them). */
  newLines(): string[];
  /** Stops sending and prints the end: at the last reply, at the step's bounds, or at Ctrl-C (SIGINT). */
  finish(): CommandOutput;
}

export function ping(dp: Datapath, ns: SimNetns, argv: string[], ctx: ExecContext, flavour: PingFlavour = 'iputils'): CommandOutput {
  const run = startPing(dp, ns, argv, ctx, false, flavour);
  if ('exitCode' in run) return run;
  run.advance(Infinity);
  return run.finish();
}

/** How often a ping watched at a terminal catches its virtual clock up with real time. */
const LIVE_TICK_MS = 20;

/**
 * A ping at a terminal: virtual time follows real time, so a line comes each second, and
 * Ctrl-C stops it with its statistics, as SIGINT stops iputils. The probes and their trace
 * are those of the same ping run from a file.
 */
export async function pingLive(dp: Datapath, ns: SimNetns, argv: string[], ctx: ExecContext, live: LiveIo, flavour: PingFlavour = 'iputils'): Promise<CommandOutput> {
  const run = startPing(dp, ns, argv, ctx, true, flavour);
  if ('exitCode' in run) return run;
  live.write('stdout', run.header + '\n');
  const realStart = Date.now();
  const virtualStart = dp.clock.now;
  for (;;) {
    const done = run.advance(virtualStart + (Date.now() - realStart) * 1e6);
    for (const line of run.newLines()) live.write('stdout', line + '\n');
    if (done || live.interrupt.aborted) return run.finish();
    await new Promise<void>((wake) => {
      const stop = () => {
        clearTimeout(timer);
        wake();
      };
      const timer = setTimeout(() => {
        live.interrupt.removeEventListener('abort', stop);
        wake();
      }, LIVE_TICK_MS);
      live.interrupt.addEventListener('abort', stop, { once: true });
    });
  }
}

function startPing(dp: Datapath, ns: SimNetns, argv: string[], ctx: ExecContext, watched: boolean, flavour: PingFlavour): CommandOutput | PingRun {
  let o: PingOptions;
  const busybox = flavour === 'busybox';
  try {
    const p = busybox ? parseBusyboxPing(argv) : parsePing(argv);
    if ('exitCode' in p) return p;
    o = p;
  } catch (e) {
    return e as CommandOutput;
  }
  // The step's budget counts from the program's start, name lookups included, as for the real one.
  const budgetNs = ctx.stepBudgetNs ?? DEFAULT_STEP_BUDGET_NS;
  const startedAt = dp.clock.now;
  const c = containerById(ctx.world, ctx.container);
  const flow = dp.newFlow('icmp-echo', c?.name ?? ns.name, o.target);
  // A host's command or a --network host container's: sent from the host's own namespace.
  if (ns.name === ns.host.name) flow.hostNamespace = true;
  let dst = o.target;
  if (!isIpv4(dst)) {
    const a = resolve(dp, ns, ctx, o.target, 'A', flow);
    const ip = a?.answers.find((x) => x.type === 'A')?.data;
    if (!ip) {
      dp.flows.splice(dp.flows.indexOf(flow), 1);
      if (busybox) return fail(`ping: bad address '${o.target}'\n`, 1);
      return fail(`ping: ${o.target}: ${a && dnsRcode(a) === RCODE_NXDOMAIN ? 'Name or service not known' : 'Temporary failure in name resolution'}\n`, 2);
    }
    dst = ip;
  }
  // The kernel's route to it, asked once: for the host path's choice and for the probes.
  const routed = dp.route(ns, dst);
  // The path its hops are placed on, as the driver of the network it leaves by names it; from a
  // host's own namespace, the host driver's where it models the way (as emu captures it).
  if (flow.hostNamespace) {
    const host = driverNamed('host');
    const way = host?.hostNamespaceWay?.(ctx.world, ns.host.name, dst);
    // Only where the namespace's route leaves by the way's first device: a step's own route may send it elsewhere.
    const path = way && routed?.dev.name === way.spots[0].device ? registeredPath(host!.path) : undefined;
    if (path) flow.path = path;
  } else if (c) {
    const path = registeredPath(packetWay(ctx.world, c, dst)?.path);
    if (path) flow.path = path;
  }
  let shownName = dst;
  // iputils looks up a name for the replies' source only when the target was a name.
  if (!o.numeric && !isIpv4(o.target)) {
    const ptr = resolve(dp, ns, ctx, dst.split('.').reverse().join('.') + '.in-addr.arpa', 'PTR', flow);
    shownName = ptr?.answers.find((x) => x.type === 'PTR')?.data ?? dst;
  }
  // -I with a device: bound to it (SO_BINDTODEVICE) as the socket is set up, before any route is
  // asked; BusyBox reads a word that names no device as an address (measured: `bad address`).
  const bound = o.bind !== undefined && !isIpv4(o.bind) ? ns.links.get(o.bind) : undefined;
  if (o.bind !== undefined && !isIpv4(o.bind) && !bound) return busybox ? fail(`ping: bad address '${o.bind}'\n`, 1) : fail(`ping: SO_BINDTODEVICE ${o.bind}: No such device\n`, 2);
  // No route at all: a socket bound to an up device sends on its link (route.ts onLinkRoute); a route
  // out of another device, after which the kernel sends on the bound link too, is refused below.
  const onLink = !routed && bound?.up ? bound : undefined;
  if (onLink && (onLink.type === 'loopback' || !onLink.addrs.length)) return unmodelledWords(pingUnroutedRefusal(onLink.name));
  const onLinkWay = onLink && onLinkRoute(onLink, dst);
  const route = onLinkWay ?? routed;
  // BusyBox prints its header, then dies at its first sendto.
  const busyboxHeader = `PING ${o.target} (${dst}): ${o.size} data bytes\n`;
  if (!route) {
    return busybox ? fail('ping: sendto: Network is unreachable\n', 1, busyboxHeader) : fail('ping: connect: Network is unreachable\n', 2);
  }
  let src: string | undefined;
  let from = '';
  if (o.bind !== undefined && isIpv4(o.bind)) {
    if (!isLocal(ns, o.bind)) return fail('ping: bind: Cannot assign requested address\n', busybox ? 1 : 2);
    src = o.bind;
    if (!busybox) from = ` from ${src} `;
  } else if (bound) {
    if (bound !== route.dev) return unmodelledWords(pingDeviceRefusal(bound.name));
    src = route.src;
    // iputils names the bound source and device between the target and the sizes.
    if (!busybox) from = ` from ${src} ${bound.name}`;
  }
  // iputils connects its socket without SO_BROADCAST (no -b): the kernel refuses a broadcast
  // route (the lookup's RTN_BROADCAST) with EACCES, which iputils explains. BusyBox always sets SO_BROADCAST and sends.
  if (!busybox && route.broadcast) return fail('ping: Do you want to ping broadcast? Then -b. If not, check your local firewall rules\n', 2);
  // iputils names the bound source (and device) between the target and the sizes.
  const header = busybox ? busyboxHeader.trimEnd() : `PING ${o.target} (${dst})${from ? `${from}:` : ''} ${o.size}(${o.size + 28}) bytes of data.`;
  // BusyBox numbers its probes from 0, iputils from 1; the count below runs from 1 in both.
  const firstSeq = busybox ? 0 : 1;
  const wireSeq = (n: number) => (n - 1 + firstSeq) & 0xffff;
  const ident = dp.sockets.nextPingIdent();
  // Send times of the probes in flight, by 16-bit sequence number (NaN: none in flight). An
  // array, not a Map: a flood adds and removes one entry per echo, which churns a Map's table.
  const sentAt = new Float64Array(Math.min(o.count + 1, 0x10000)).fill(NaN);
  const rtt = new RunningStats();
  let errors = 0;
  // Reply and error lines, in the order they come (the clock only moves forward).
  // Under an output cap everything is kept: ping stops once it has printed more (as the real
  // one is stopped in emu), which bounds memory; without one, the first and last lines are.
  const output = new KeptLines(ctx.outputCap === undefined ? KEPT_HEAD_LINES : Infinity);
  // The lines not yet shown at a terminal.
  let fresh: string[] = [];
  const say = (line: string): void => {
    output.push(line);
    if (watched) fresh.push(line);
  };
  const localErrors: string[] = [];
  // iputils times a probe only when its data holds a struct timeval (16 bytes), BusyBox when
  // it holds its 4-byte stamp; smaller ones show no time and no rtt line.
  const timing = o.size >= (busybox ? 4 : 16);
  // BusyBox's round trips, in whole µs as it keeps them.
  let busyboxMaxUs = 0;
  let busyboxSumUs = 0;
  let busyboxMinUs = Infinity;
  // BusyBox dies at a failed sendto, with no statistics.
  let sendFailed: string | undefined;
  // A flood shows no reply lines: a dot for each probe sent, erased ("\b \b") when its reply comes.
  const floodMarks = new KeptMarks(ctx.outputCap === undefined ? KEPT_FLOOD_MARKS : Infinity);
  let printed = 0;
  let cut = false;
  const print = (bytes: number) => {
    printed += bytes;
    if (ctx.outputCap !== undefined && printed > ctx.outputCap) cut = true;
  };
  const showMarks = o.flood && !o.quiet;
  // iputils' moving average of the round trip, in µs times 8 (the "ewma" a flood reports),
  // and the most probes ever in flight at once (its "pipe").
  let ewma = 0;
  let pipe = 1;
  const socket: EchoSocket = {
    onReply(wire, ttl, bytes) {
      const t = sentAt[wire];
      if (t === undefined || Number.isNaN(t)) return;
      sentAt[wire] = NaN;
      const seq = (wire + 1 - firstSeq) & 0xffff;
      const ms = (dp.clock.now - t) / 1e6;
      rtt.add(ms);
      if (timing) {
        const tripUs = Math.floor(dp.clock.now / 1e3) - Math.floor(t / 1e3);
        ewma = ewma ? ewma + tripUs - Math.trunc(ewma / 8) : tripUs * 8;
      }
      // As iputils' acknowledge(): how many probes, this one included, were out when it came back.
      const outstanding = (transmitted - seq) & 0xffff;
      if (outstanding <= 0x7fff) pipe = Math.max(pipe, outstanding + 1);
      if (showMarks) {
        floodMarks.add('\b \b');
        print(3);
      }
      if (o.flood && nextSeq <= o.count) sendProbe(nextSeq);
      const us = Math.floor(dp.clock.now / 1e3) - Math.floor(t / 1e3);
      busyboxMaxUs = Math.max(busyboxMaxUs, us);
      busyboxMinUs = Math.min(busyboxMinUs, us);
      busyboxSumUs += us;
      if (!o.quiet && busybox) {
        const line = `${bytes} bytes from ${dst}: seq=${wire} ttl=${ttl}${timing ? ` time=${usAsMs(us)} ms` : ''}`;
        say(line);
        print(line.length + 1);
      } else if (!o.quiet && !o.flood) {
        const line = `${bytes} bytes from ${shownName === dst ? dst : `${shownName} (${dst})`}: icmp_seq=${seq} ttl=${ttl}${timing ? ` time=${rttText(ms)} ms` : ''}`;
        say(line);
        print(line.length + 1);
      }
    },
    onError(wire, message, icmpType) {
      if (sentAt[wire] === undefined || Number.isNaN(sentAt[wire])) return;
      // BusyBox's raw socket reads ICMP errors as packets and only warns; what the stack
      // reports on its error queue it never reads. Either way the probe stays unanswered.
      if (busybox) {
        if (icmpType !== undefined) localErrors.push(`ping: warning: got ICMP ${icmpType} (${BUSYBOX_ICMP_NAMES[icmpType] ?? 'unknown ICMP type'})`);
        return;
      }
      sentAt[wire] = NaN;
      const seq = wire;
      errors++;
      // iputils acknowledges an error's probe as it does a reply's: it counts toward the pipe.
      const outstanding = (transmitted - seq) & 0xffff;
      if (outstanding <= 0x7fff) pipe = Math.max(pipe, outstanding + 1);
      if (!o.quiet && !o.flood) {
        say(message);
        print(message.length + 1);
      }
    },
  };
  const close = dp.sockets.openEcho(ns, ident, socket);
  const start = dp.clock.now;
  let transmitted = 0;
  // One message, rewritten for each probe (ipSend copies it into the frame): iputils' data
  // pattern after a 16-byte timestamp slot.
  const msg = Buffer.alloc(ICMP_HEADER_LEN + o.size);
  const payload = msg.subarray(ICMP_HEADER_LEN);
  for (let i = 16; i < o.size; i++) payload[i] = i & 0xff;
  // The probes' IPv4 header, its id and DF set for each (ipSend reads it before it returns).
  const probeHeader = { dst, src, protocol: IPPROTO_ICMP, ttl: o.ttl, id: 0, tos: 0, dontFragment: false, moreFragments: false, fragmentOffset: 0 };
  // Each probe schedules the next, so the event queue stays short. A flood sends on each
  // reply, or when its one re-armed timer finds `interval` gone since the last probe.
  let nextSeq = 1;
  let lastSendNs = 0;
  let floodTimerArmed = false;
  const armFloodTimer = (delayNs: number): void => {
    if (floodTimerArmed) return;
    floodTimerArmed = true;
    dp.clock.schedule(delayNs, () => {
      floodTimerArmed = false;
      if (nextSeq > o.count || outOfTime || cut) return;
      const due = lastSendNs + o.intervalNs;
      if (dp.clock.now >= due) sendProbe(nextSeq);
      else armFloodTimer(due - dp.clock.now);
    });
  };
  // Past the step's budget or the output cap nothing more is sent, and timers left in the queue do nothing.
  let outOfTime = false;
  // Set once the ping has printed its end (Ctrl-C): a probe still scheduled never goes.
  let stopped = false;
  const sendProbe = (seq: number): void => {
    if (seq !== nextSeq || outOfTime || cut || stopped || sendFailed || dp.clock.now - startedAt >= budgetNs) return;
    nextSeq++;
    lastSendNs = dp.clock.now;
    if (seq < o.count) {
      if (o.flood) armFloodTimer(o.intervalNs);
      else dp.clock.schedule(start + seq * o.intervalNs - dp.clock.now, () => sendProbe(seq + 1));
    }
    {
      transmitted++;
      if (showMarks) {
        floodMarks.add('.');
        print(1);
      }
      if (timing) {
        putBe32(payload, 0, Math.floor(dp.clock.now / 1e9));
        putBe32(payload, 4, Math.floor((dp.clock.now % 1e9) / 1e3));
      }
      // The wire's sequence number is 16 bits and wraps, as iputils' does.
      writeEchoHeader(msg, 0, msg.length, ICMP_ECHO_REQUEST, ident, wireSeq(seq));
      sentAt[wireSeq(seq)] = dp.clock.now;
      // IP_PMTUDISC_WANT: DF while the probe fits the path MTU (a learned one included), else fragments.
      const mtu = pathMtu(ns, dst, route.dev, dp.clock.now);
      const fits = 20 + msg.length <= mtu;
      probeHeader.id = dp.nextIpId();
      probeHeader.dontFragment = o.pmtu === 'do' || (o.pmtu === 'want' && fits);
      const err = onLinkWay ? dp.ipSendOn(ns, onLinkWay, probeHeader, msg, flow, 'request') : dp.ipSend(ns, probeHeader, msg, flow, 'request');
      // A hook's drop (a firewall's EPERM, OUTPUT's NAT to nowhere: ENETUNREACH) is traced where the hook took
      // the probe; BusyBox dies at the failed sendto, iputils says nothing of it (the probe counts as sent, and lost).
      if (err && busybox) {
        sentAt[wireSeq(seq)] = NaN;
        sendFailed = `ping: sendto: ${err.startsWith('message too long') ? 'Message too long' : err}`;
        if (!droppedByHook(err)) dp.recordLocalError(ns, route.dev, mtu, msg, dst, flow, err);
      } else if (err && !droppedByHook(err)) {
        sentAt[wireSeq(seq)] = NaN;
        errors++;
        localErrors.push(`ping: local error: ${err}`);
        dp.recordLocalError(ns, route.dev, mtu, msg, dst, flow, err);
      }
    }
  };
  if (o.count > 0) dp.clock.schedule(0, () => sendProbe(1));
  // iputils' elapsed time runs to its last probe.
  const lastSendBound = () => (o.flood ? lastSendNs : start + (o.count - 1) * o.intervalNs);
  // Like iputils: done once every probe is answered or failed, else after the last probe's timeout.
  // BusyBox: done once every probe is answered (errors are not answers) or at a failed send.
  const finished = () => sendFailed !== undefined || (transmitted === o.count && rtt.count + (busybox ? 0 : errors) === o.count);
  // After its last probe BusyBox waits -W (10 s) when nothing came back, else twice the
  // longest round trip in whole seconds, at least one (µs / 2^19, as it divides).
  const waitAfterLast = () => (busybox && rtt.count ? Math.max(1, Math.floor(busyboxMaxUs / 524_288)) * 1e9 : o.timeoutNs);
  const deadline = () => Math.min(o.flood ? Infinity : lastSendBound() + waitAfterLast(), startedAt + budgetNs, startedAt + (o.deadlineNs ?? Infinity));
  const advance = (untilNs: number): boolean => {
    // The wait after the last probe depends on the replies before it: known once it is sent.
    dp.clock.runUntil(Math.min(untilNs, lastSendBound(), deadline()), () => cut || finished());
    dp.clock.runUntil(Math.min(untilNs, deadline()), () => cut || finished());
    return cut || finished() || dp.clock.now >= deadline();
  };
  const newLines = (): string[] => {
    const taken = fresh;
    fresh = [];
    return taken;
  };
  const finish = (): CommandOutput => {
    stopped = true;
    outOfTime = !cut && !finished() && dp.clock.now >= startedAt + budgetNs;
    const lastSend = transmitted ? lastSendNs : start;
    close();
    const lines = [header, ...output.lines()];
    if (outOfTime || cut) {
      // Stopped as the real one is at the step's timeout or output cap (SIGKILL): what it
      // printed so far, no statistics; the runner's bounds say why (runner/bounds).
      const shown = lines.join('\n') + '\n' + (showMarks ? floodMarks.text() : '');
      const notes = [...localErrors, ...(output.dropped + floodMarks.dropped ? [`cnmlab: ${output.dropped + floodMarks.dropped} ${output.dropped ? 'lines' : 'flood marks'} of ping's output not kept (the first and last are shown)`] : [])];
      return { stdout: shown, stderr: notes.map((l) => l + '\n').join(''), exitCode: outOfTime ? EXIT_TIMED_OUT : EXIT_OUTPUT_CUT, end: outOfTime ? 'timed-out' : 'output-cut' };
    }
    const received = rtt.count;
    if (sendFailed) return { stdout: lines.join('\n') + '\n', stderr: [...localErrors, sendFailed].join('\n') + '\n', exitCode: 1 };
    if (busybox) {
      lines.push('', `--- ${o.target} ping statistics ---`);
      lines.push(`${transmitted} packets transmitted, ${received} packets received, ${transmitted ? Math.floor(((transmitted - received) * 100) / transmitted) : 0}% packet loss`);
      if (received && timing) lines.push(`round-trip min/avg/max = ${usAsMs(busyboxMinUs)}/${usAsMs(Math.floor(busyboxSumUs / received))}/${usAsMs(busyboxMaxUs)} ms`);
      return { stdout: lines.join('\n') + '\n', stderr: localErrors.map((l) => l + '\n').join(''), exitCode: received === 0 ? 1 : 0 };
    }
    const loss = transmitted ? Math.round(((transmitted - received) / transmitted) * 100) : 0;
    // iputils' finish() measures to its last probe, not to the end of its wait for replies.
    const elapsedNs = lastSend - start;
    const elapsedMs = Math.round(elapsedNs / 1e6);
    lines.push(showMarks ? floodMarks.text() : '', `--- ${o.target} ping statistics ---`);
    lines.push(`${transmitted} packets transmitted, ${received} received${errors ? `, +${errors} errors` : ''}, ${loss}% packet loss, time ${elapsedMs}ms`);
    const summary: string[] = [];
    if (received && timing) {
      const { min, max, mean: avg, deviation: mdev } = rtt;
      summary.push(`rtt min/avg/max/mdev = ${min.toFixed(3)}/${avg.toFixed(3)}/${max.toFixed(3)}/${mdev.toFixed(3)} ms`);
    }
    if (pipe > 1) summary.push(`pipe ${pipe}`);
    // Sent back to back (a flood, or -i 0): the mean gap between probes and the moving average.
    if (received && (o.flood || o.intervalNs === 0) && transmitted > 1) {
      const ipgUs = Math.floor(Math.floor(elapsedNs / 1e3) / (transmitted - 1));
      summary.push(`ipg/ewma ${usAsMs(ipgUs)}/${usAsMs(Math.trunc(ewma / 8))} ms`);
    }
    lines.push(summary.join(', '));
    const stderr = [...localErrors];
    const dropped = output.dropped + floodMarks.dropped;
    if (dropped) stderr.push(`cnmlab: ${dropped} ${output.dropped ? 'lines' : 'flood marks'} of ping's output not kept (the first and last are shown)`);
    return { stdout: lines.join('\n') + '\n', stderr: stderr.length ? stderr.join('\n') + '\n' : '', exitCode: received === 0 ? 1 : 0 };
  };
  return { header, advance, newLines, finish };
}

/**
 * bind 9.18's nslookup: the first nameserver sent the query three times 5 s apart, each
 * further one once, then it gives up.
 */
const BIND_NSLOOKUP_TRIES = 3;
const BIND_NSLOOKUP_WAIT_NS = 5_000_000_000;

/**
 * The question asked of each nameserver in turn as bind's nslookup asks it, the reply or why
 * none came: each server's lines (its timeouts, or its socket's refused setup: no route),
 * as dighost prints them, in the order it prints them.
 */
function bindLookup(dp: Datapath, ns: SimNetns, ctx: ExecContext, question: Question, flow: Flow): { reply: DnsRepr; server: string } | { failed: string } {
  const servers = nameserversOf(ns, ctx);
  // None (an empty resolv.conf: a --network host container's copy of a lab host's none): bind
  // asks its defaults, ::1 (three tries) then 127.0.0.1, both on the host's lo, where nothing
  // listens in a lab: each refuses at once (measured in emu with Debian 12's bind9-dnsutils).
  if (!servers.length) return { failed: `;; communications error to ::1#53: connection refused\n`.repeat(BIND_NSLOOKUP_TRIES) + ';; communications error to 127.0.0.1#53: connection refused\n;; no servers could be reached\n\n' };
  let failed = '';
  for (const [i, server] of servers.entries()) {
    const tries = i === 0 ? BIND_NSLOOKUP_TRIES : 1;
    const asked = askServer(dp, ns, ctx, server, [question], flow, { retryNs: BIND_NSLOOKUP_WAIT_NS, totalNs: tries * BIND_NSLOOKUP_WAIT_NS });
    if (asked === 'unreachable') {
      // The name as dighost holds it: a reverse name made fully qualified, a name typed as typed.
      const shown = question.type === 'PTR' ? `${question.name}.` : question.name;
      const setup = `;; UDP setup with ${server}#53(${server}) for ${shown} failed: network unreachable.\n`;
      // Each retry of the first server's lookup reports its own end; the last one's is the lookup's.
      failed += i === 0 ? `${setup};; no servers could be reached\n`.repeat(tries - 1) + setup : setup;
      continue;
    }
    if (asked?.replies.length) return { reply: asked.replies[0], server };
    failed += `;; communications error to ${server}#53: timed out\n`.repeat(tries);
  }
  return { failed: `${failed};; no servers could be reached\n\n` };
}

/** Bind's words for a name it will not put in a query. */
function illegalName(name: string): string | undefined {
  const labels = name.replace(/\.$/, '').split('.');
  if (labels.some((l) => l.length > 63)) return 'label too long';
  if (name.length > 253) return 'name too long';
  return undefined;
}

/** bind 9.18's nslookup (Debian 12's bind9-dnsutils), as GNU images carry it. */
export function nslookup(dp: Datapath, ns: SimNetns, argv: string[], ctx: ExecContext): CommandOutput {
  const name = argv.find((a) => !a.startsWith('-'));
  if (!name) return fail('Usage: nslookup [-opt ...] host\n', 1);
  const illegal = illegalName(name);
  // dighost's fatal(): exit 10.
  if (illegal) return fail(`nslookup: '${name}' is not a legal name (${illegal})\n`, 10);
  const c = containerById(ctx.world, ctx.container);
  const flow = dp.newFlow('dns', c?.name ?? ns.name, name);
  const ptrQuery = isIpv4(name);
  const qname = ptrQuery ? name.split('.').reverse().join('.') + '.in-addr.arpa' : name;
  const looked = bindLookup(dp, ns, ctx, { name: qname, type: ptrQuery ? 'PTR' : 'A' }, flow);
  if ('failed' in looked) return fail('', 1, looked.failed);
  const { reply: a, server } = looked;
  // printmessage() heads only an A lookup's reply (and says it is not authoritative) when nslookup chose the types itself.
  const head = ptrQuery ? '' : `Server:\t\t${server}\nAddress:\t${server}#53\n\n`;
  if (dnsRcode(a) === RCODE_NXDOMAIN) return fail('', 1, `${head}** server can't find ${qname}: NXDOMAIN\n\n`);
  const authoritative = (a.flags & DNS_FLAG_AA) !== 0;
  // A reply to any other type than A and AAAA that is not authoritative is followed by where the authoritative answers are (none here).
  if (ptrQuery) return { stdout: `${qname}\tname = ${a.answers[0]?.data}.\n${authoritative ? '' : '\nAuthoritative answers can be found from:\n'}\n`, stderr: '', exitCode: 0 };
  bindLookup(dp, ns, ctx, { name, type: 'AAAA' }, flow);
  const body = a.answers.filter((x) => x.type === 'A').map((x) => `Name:\t${name}\nAddress: ${x.data}\n`).join('');
  return { stdout: `${head}${authoritative ? '' : 'Non-authoritative answer:\n'}${body}\n`, stderr: '', exitCode: 0 };
}

/**
 * BusyBox's nslookup asks A and AAAA at once (PTR for an address), sends the unanswered
 * again after 2.5 s and gives up at 5 s (its default timeout, two tries).
 */
const BUSYBOX_NSLOOKUP: ResolverTiming = { retryNs: 2_500_000_000, totalNs: 5_000_000_000 };
const RCODE_NAMES = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED'];

/** BusyBox's nslookup: each reply printed as it comes, after the server's lines. */
export function busyboxNslookup(dp: Datapath, ns: SimNetns, argv: string[], ctx: ExecContext): CommandOutput {
  const name = argv[0];
  const timedOut = ';; connection timed out; no servers could be reached\n\n';
  const c = containerById(ctx.world, ctx.container);
  const flow = dp.newFlow('dns', c?.name ?? ns.name, name);
  const ptrQuery = isIpv4(name);
  const questions = ptrQuery ? [{ name: name.split('.').reverse().join('.') + '.in-addr.arpa', type: 'PTR' }] : [{ name, type: 'A' }, { name, type: 'AAAA' }];
  const servers = nameserversOf(ns, ctx);
  // None (an empty resolv.conf: a --network host container's copy of a lab host's none): BusyBox
  // asks 127.0.0.1, where nothing listens in a lab; the port unreachable fails its socket's next
  // write, and it gives up at once (measured: Debian 12's busybox 1.35 in a fresh namespace).
  if (!servers.length) return fail("nslookup: write to '127.0.0.1': Connection refused\n", 1, timedOut);
  // Each nameserver in turn, until one replies at all.
  let writeErrors = '';
  for (const server of servers) {
    // Its socket is connected to the server first (xconnect): no route ends the program.
    if (!dp.route(ns, server)) return fail(`nslookup: can't connect to remote host (${server}): Network is unreachable\n`, 1);
    // A label over 63 bytes makes no query; the write of the failed one is refused.
    if (illegalName(name)) {
      writeErrors += `nslookup: write to '${server}': Message too long\n`;
      continue;
    }
    const r = askServer(dp, ns, ctx, server, questions, flow, BUSYBOX_NSLOOKUP);
    if (r && r !== 'unreachable' && r.replies.length) return busyboxReplies(name, server, r);
  }
  return fail(writeErrors, 1, timedOut);
}

/** BusyBox's nslookup's lines for the replies `server` gave, each as it came, then the questions it left unanswered. */
function busyboxReplies(name: string, server: string, r: Replies): CommandOutput {
  let out = `Server:\t\t${server}\nAddress:\t${server}:53\n\n`;
  for (const reply of r.replies) {
    const q = reply.questions[0];
    const rcode = dnsRcode(reply);
    if (rcode !== RCODE_NOERROR) {
      out += `** server can't find ${q?.name ?? name}: ${RCODE_NAMES[rcode] ?? rcode}\n\n`;
      continue;
    }
    if (!(reply.flags & DNS_FLAG_AA)) out += 'Non-authoritative answer:\n';
    for (const x of reply.answers) out += x.type === 'PTR' ? `${x.name}\tname = ${x.data}\n` : `Name:\t${x.name}\nAddress: ${x.data}\n`;
    out += '\n';
  }
  for (const q of r.unanswered) out += `*** Can't find ${q.name}: No answer\n\n`;
  return { stdout: out, stderr: '', exitCode: r.replies.some((x) => dnsRcode(x) === RCODE_NOERROR) ? 0 : 1 };
}

export function getent(dp: Datapath, ns: SimNetns, argv: string[], ctx: ExecContext): CommandOutput {
  const [db, name] = argv;
  if (db !== 'hosts' && db !== 'ahosts') return fail(`Unknown database: ${db ?? ''}\nTry \`getent --help' or \`getent --usage' for more information.\n`, 1);
  if (!name) return fail('', 1);
  const c = containerById(ctx.world, ctx.container);
  const flow = dp.newFlow('dns', c?.name ?? ns.name, name);
  // getent hosts asks for an IPv6 address first (gethostbyname2 AF_INET6), then IPv4: a name
  // nobody answers costs it glibc's wait twice (20 s). Docker never has an AAAA to give.
  if (db === 'hosts') resolve(dp, ns, ctx, name, 'AAAA', flow);
  const a = resolve(dp, ns, ctx, name, 'A', flow);
  const ips = a?.answers.filter((x) => x.type === 'A').map((x) => x.data) ?? [];
  if (!ips.length) return fail('', 2);
  return { stdout: ips.map((ip) => `${ip.padEnd(15)} ${name}\n`).join(''), stderr: '', exitCode: 0 };
}

const SLEEP_UNITS: Record<string, number> = { '': 1, s: 1, m: 60, h: 3600, d: 86400 };

/** GNU sleep: a number of seconds (a fraction, an s, m, h or d suffix) of the run's clock; a step's timeout stops it. */
export function sleep(dp: Datapath, args: string[], ctx: ExecContext): CommandOutput {
  const m = /^(\d+(?:\.\d*)?|\.\d+)([smhd]?)$/.exec(args[0] ?? '');
  if (!m) return fail(`sleep: ${args[0] === undefined ? 'missing operand' : `invalid time interval '${args[0]}'`}\nTry 'sleep --help' for more information.\n`, 1);
  const ns = Number(m[1]) * SLEEP_UNITS[m[2]] * 1e9;
  const budget = ctx.stepBudgetNs ?? DEFAULT_STEP_BUDGET_NS;
  dp.clock.runUntil(dp.clock.now + Math.min(ns, budget));
  return ns > budget ? { stdout: '', stderr: '', exitCode: EXIT_TIMED_OUT, end: 'timed-out' } : { stdout: '', stderr: '', exitCode: 0 };
}

export function containerCommand(dp: Datapath, ns: SimNetns, argv: string[], ctx: ExecContext): CommandOutput {
  const [cmd, ...args] = argv;
  switch (cmd) {
    case 'ping':
      return ping(dp, ns, args, ctx);
    case 'nslookup':
      return nslookup(dp, ns, args, ctx);
    case 'getent':
      return getent(dp, ns, args, ctx);
    case 'hostname': {
      const c = containerById(ctx.world, ctx.container);
      if (args[0] === '-i') return hostnameAddresses(ctx, ns, c);
      if (args[0] === '-I') {
        const ips = [...ns.links.values()].filter((l) => l.type !== 'loopback').flatMap((l) => l.addrs.map((a) => a.ip));
        return { stdout: ips.join(' ') + ' \n', stderr: '', exitCode: 0 };
      }
      return { stdout: `${c?.hostname ?? ns.host.name}\n`, stderr: '', exitCode: 0 };
    }
    case 'true':
      return { stdout: '', stderr: '', exitCode: 0 };
    case 'sleep':
      return sleep(dp, args, ctx);
    case 'echo':
      return { stdout: args.join(' ') + '\n', stderr: '', exitCode: 0 };
    default:
      return fail(`bash: ${cmd}: command not found\n`, 127);
  }
}

/**
 * The addresses /etc/hosts gives `name`, in file order, as the container (else the host) the
 * command runs in sees the file: glibc's files lookup, every line naming it, comments
 * skipped. GNU hostname -i prints them all, BusyBox's the first IPv4 one.
 */
export function hostsAddresses(ctx: ExecContext, ns: SimNetns, c: Container | undefined, name: string): string[] {
  const hosts = etcFile(ctx.world, c ? { container: c.id } : { host: ns.host.name }, '/etc/hosts') ?? '';
  return hosts.split('\n').map((l) => l.split(/\s+/)).filter((w) => !w[0].startsWith('#') && w.slice(1).includes(name)).map((w) => w[0]);
}

/**
 * GNU hostname -i (Debian's hostname 3.23): getaddrinfo of the host name, which glibc answers
 * from /etc/hosts, every line naming it (host.conf's multi on), the addresses joined by a
 * space with none after the last (unlike -I's list of interface addresses).
 */
function hostnameAddresses(ctx: ExecContext, ns: SimNetns, c: Container | undefined): CommandOutput {
  const ips = hostsAddresses(ctx, ns, c, c?.hostname ?? ns.host.name);
  if (!ips.length) {
    // glibc then asks the nameserver: with no device but loopback (--network none) the query cannot be sent (EAI_AGAIN); one that answers does not know the name.
    const routed = [...ns.links.values()].some((l) => l.type !== 'loopback' && l.up && l.addrs.length > 0);
    return fail(routed ? 'hostname: Name or service not known\n' : 'hostname: Temporary failure in name resolution\n', 1);
  }
  return { stdout: `${ips.join(' ')}\n`, stderr: '', exitCode: 0 };
}
