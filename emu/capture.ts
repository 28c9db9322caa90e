/**
 * Live captures for a traced ping: tcpdump at each capture point of the path (container
 * eth0, the overlay's vethN and vxlan0, each host's eth0, the underlay port, and lo for
 * DNS), started and confirmed listening before traffic, stopped with SIGINT, read with the
 * wire layer and turned into hops numbered like sim's.
 */
import * as fs from 'fs';
import * as path from 'path';
import { readCapture } from '../sim/pcap/reader';
import { frameTimeNs } from '../sim/pcap/frame';
import { dissectTraced } from '../sim/wire/dissect';
import { Layer } from '../sim/wire/layer';
import { Hop, HopEvent } from '../sim/trace/types';
import { EmuEnvironmentError, RunRecord } from './state';
import { killQuietly, pollUntil, startWatched, WatchedProgram } from './nsworker';
import { overlayNotes, weaveNotes } from '../sim/trace/paths/notes';
import { FrameKind, PathModel, PathRole } from '../sim/trace/paths/path';
import { ARP_REPLY, ARP_REQUEST } from '../sim/wire/arp';
import { ICMP_DEST_UNREACHABLE, ICMP_ECHO_REPLY, ICMP_ECHO_REQUEST, UNREACH_FRAG_NEEDED, ICMP_TIME_EXCEEDED } from '../sim/wire/icmp';

export interface CapturePoint {
  /** Logical place, as the trace names it. */
  host: string;
  netns: string;
  device: string;
  /** Real namespace and interface to capture on. */
  realNetns: string;
  iface: string;
  role: 'container' | 'bridge-port' | 'bridge' | 'host-end' | 'vxlan' | 'tunnel' | 'router' | 'host' | 'underlay' | 'lo';
  /** container: its MAC; bridge-port and bridge: the MAC of the container behind it; vxlan: local container MACs; host: its underlay IP. */
  mine: string[];
  /** host: the host routes the flow's packets through this interface (ip_forward), both ways. */
  forwards?: boolean;
  /** bridge-port and vxlan: the bridge they are ports of. */
  master?: string;
  /** host: the vxlan device that encapsulates what it sends and takes what it receives (vxlan0 unless named: flannel.1). */
  vtep?: string;
  /** host: the overlay namespace of each VNI on the host (for the notes). */
  overlays?: Record<number, string>;
  file: string;
}

/** The run's record, as a capture uses it: each tcpdump's pid recorded, and its program marked as the run's. */
type CaptureRecord = Pick<RunRecord, 'addPid' | 'marked'>;

/** A capture point tcpdump cannot listen on, and the kernel's reason: a state to trace, not a failure. */
export interface Unavailable {
  point: CapturePoint;
  reason: 'link down' | 'no such device';
}

export class Capture {
  private procs: WatchedProgram[] = [];
  /** Points whose device is down or gone: no frame passes there, so nothing is lost by not listening. */
  readonly unavailable: Unavailable[] = [];

  constructor(readonly points: CapturePoint[]) {}

  /** Starts every capture; `record` records each pid first (addPid) and marks each tcpdump as the run's (marked), so a killed run's tcpdumps can be cleaned. */
  async start(record: CaptureRecord): Promise<void> {
    const started = await Promise.allSettled(this.points.map((p) => startTcpdump(p, record)));
    for (const [i, r] of started.entries()) {
      if (r.status !== 'fulfilled') continue;
      if (typeof r.value === 'string') this.unavailable.push({ point: this.points[i], reason: r.value });
      else this.procs.push(r.value);
    }
    // Every listener that started is in procs, so a failure below leaves none running.
    const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) {
      this.kill();
      throw failed.reason;
    }
  }

  /**
   * Resolves once every tcpdump has taken in what the kernel queued for it: each sleeps in
   * poll(2), which it enters only with its ring empty, and which a frame queued afterwards
   * would have woken it from (SIGINT ends a tcpdump without reading what is left in its
   * ring). Every frame of a ping that has ended was queued before the ping ended, so once
   * all sleep, the captures hold them. Gives up after `withinMs` (a machine so loaded that
   * a tcpdump never got to run): stopped then, it writes what it has read.
   */
  async drained(withinMs = 1000): Promise<void> {
    let waiting = this.procs;
    await pollUntil(() => (waiting = waiting.filter((p) => !p.ended() && !asleepInPoll(p.pid))).length === 0, withinMs);
  }

  async stop(): Promise<void> {
    await stopTcpdumps(this.procs);
  }

  get pids(): number[] {
    return this.procs.map((p) => p.pid);
  }

  kill(): void {
    for (const p of this.procs) signal(p, 'SIGKILL');
  }
}

/**
 * What the swarm's daemons say to each other on the underlay: memberlist and NetworkDB on
 * 7946 (UDP and TCP), the swarm API on 2377. The kernel's filter keeps the rest (VXLAN, the
 * commands' own packets) out of the control captures.
 */
const CONTROL_FILTER = ['udp', 'port', '7946', 'or', 'tcp', 'port', '7946', 'or', 'tcp', 'port', '2377'];

/**
 * The control plane's captures: each swarm node's underlay interface, listened on from the
 * step it becomes a node until the run ends, so every step's span is captured (not only a
 * traced ping's). A tcpdump whose device went down (`ip link set eth0 down`) ends; the next
 * `ensure` starts another, in a file of its own, once the device is up again.
 */
export class ControlCapture {
  /** Every file written so far, in the order begun (a host's restarts each add one). */
  readonly points: CapturePoint[] = [];
  private readonly running = new Map<string, WatchedProgram>();
  /** Every point asked for, by namespace: listened on again when its tcpdump ended (restart). */
  private readonly wanted = new Map<string, Omit<CapturePoint, 'file'>>();
  private starts = 0;

  constructor(private readonly dir: string, private readonly record: CaptureRecord, private readonly release: (pids: number[]) => void) {}

  /** Listens on each point's device not listened on yet; resolves once every one that can listens. */
  async ensure(points: Omit<CapturePoint, 'file'>[]): Promise<void> {
    for (const p of points) this.wanted.set(p.realNetns, p);
    const wanted = points.filter((p) => {
      const proc = this.running.get(p.realNetns);
      if (!proc) return true;
      if (!proc.ended()) return false;
      this.running.delete(p.realNetns);
      this.release([proc.pid]);
      return true;
    });
    if (wanted.length === 0) return;
    fs.mkdirSync(this.dir, { recursive: true });
    const started = await Promise.allSettled(wanted.map(async (p) => {
      const point: CapturePoint = { ...p, file: path.join(this.dir, `${p.host}-${p.device}-${++this.starts}.pcap`) };
      const proc = await startTcpdump(point, this.record, { filter: CONTROL_FILTER });
      // A device that is down carries nothing: listened on again once it is up.
      if (typeof proc === 'string') return;
      this.running.set(p.realNetns, proc);
      this.points.push(point);
    }));
    // Those that started are known (stop ends them); the first that could not is the run's error.
    const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }

  /** Listens again where a capture ended (its device went down, and may be up now). */
  restart(): Promise<void> {
    return this.ensure([...this.wanted.values()]);
  }

  /** Stops every capture, its last frames written. */
  async stop(): Promise<void> {
    const procs = [...this.running.values()];
    this.running.clear();
    await stopTcpdumps(procs);
    this.release(procs.map((p) => p.pid));
  }

  kill(): void {
    for (const p of this.running.values()) signal(p, 'SIGKILL');
  }
}

/**
 * Whether a process sleeps in poll(2) (or select, epoll): its state S, and the kernel
 * function it waits in (/proc/PID/wchan) one of the poll family's, or not told (a kernel
 * that shows 0 there: tcpdump sleeps interruptibly nowhere else). A process that ended
 * meanwhile waits for nothing.
 */
function asleepInPoll(pid: number): boolean {
  let stat: string, wchan: string;
  try {
    stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    wchan = fs.readFileSync(`/proc/${pid}/wchan`, 'utf8');
  } catch {
    return true;
  }
  // The state follows the command's closing parenthesis (the command may hold spaces and parentheses).
  const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  return state === 'S' && (wchan === '0' || /poll|select/.test(wchan));
}

/** A signal to a tcpdump the worker has not reaped yet (its pid is still its own until then). */
function signal(p: WatchedProgram, sig: NodeJS.Signals): void {
  if (!p.ended()) killQuietly(p.pid, sig);
}

/** SIGINT: each tcpdump writes what it holds and exits. */
async function stopTcpdumps(procs: WatchedProgram[]): Promise<void> {
  for (const p of procs) signal(p, 'SIGINT');
  await Promise.all(procs.map((p) => p.exited));
}

/** tcpdump's words (libpcap's PCAP_ERROR_IFACE_NOT_UP and PCAP_ERROR_NO_SUCH_DEVICE) for a device it cannot open. */
const DEVICE_STATE = [
  { re: /That device is not up/, reason: 'link down' as const },
  { re: /No such device exists/, reason: 'no such device' as const },
];

/** Resolves with the listening tcpdump, or with why the device cannot be captured on. */
async function startTcpdump(p: CapturePoint, record: CaptureRecord, control?: { filter: string[] }): Promise<WatchedProgram | Unavailable['reason']> {
  // On lo, the embedded DNS's datagrams: to 127.0.0.11:53, which Docker's DNAT has sent to the resolver's port by then.
  const filter = control?.filter ?? (p.role === 'lo' ? ['udp', 'and', 'host', '127.0.0.11'] : ['not', 'ip6']);
  // The control plane's traffic is the host's own, sent or addressed to it: its captures listen without making the
  // device promiscuous, which `ip -d link` would show (promiscuity 1) in every step, as no Docker host shows it.
  const promiscuous = control ? ['-p'] : [];
  const where = `${p.host}/${p.netns}/${p.device}`;
  let err = '';
  let listening!: () => void;
  const heard = new Promise<void>((resolve) => (listening = resolve));
  // The namespace worker (nsworker.ts) enters the network namespace only and forks tcpdump
  // there: tcpdump finds its device by ioctl and netlink, and needs none of the mount
  // namespace `ip netns exec` would build for it, nor a fork of cnmlab's Node.
  const proc = await startWatched({ netns: p.realNetns, program: record.marked(['tcpdump', '-i', p.iface, ...promiscuous, '-n', '--immediate-mode', '-U', '-Z', 'root', '-s', '262144', '-w', p.file, ...filter]) }, (text) => {
    err += text;
    if (err.includes('listening on')) listening();
  }).catch((e: Error) => {
    throw new EmuEnvironmentError(`tcpdump on ${where} did not start: ${e.message}`);
  });
  try {
    record.addPid(proc.pid);
  } catch (e) {
    // Unrecorded, it would outlive the run: it goes now.
    signal(proc, 'SIGKILL');
    throw e;
  }
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), 10000)));
  const first = await Promise.race([heard.then(() => 'listening' as const), proc.exited, timedOut]);
  clearTimeout(timer);
  if (first === 'listening' || err.includes('listening on')) return proc;
  if (first === 'timeout') {
    signal(proc, 'SIGKILL');
    throw new EmuEnvironmentError(`tcpdump on ${where} did not start: ${err.trim().split('\n').pop() ?? ''}`);
  }
  const state = DEVICE_STATE.find((s) => s.re.test(err));
  if (state) return state.reason;
  throw new EmuEnvironmentError(`tcpdump on ${where} exited ${first}: ${err.trim().split('\n').pop() ?? ''}`);
}

function field(layers: Layer[], proto: string, name: string, last = true): unknown {
  const all = layers.filter((l) => l.proto === proto);
  return (last ? all[all.length - 1] : all[0])?.[name];
}

/** What the ping's packets have in common: its ICMP identifier and the datagrams (for fragments). */
export interface FlowKey {
  src: string;
  dst: string;
  ident?: number;
  /** The address the source goes by past a NAT on the way (the host's, which MASQUERADE gives it). */
  natSrc?: string;
}

/** Whether an address pair is the flow's, its source seen as itself or as its NAT address. */
function flowPair(a: unknown, b: unknown, key: FlowKey): boolean {
  const pair = [a, b];
  return pair.includes(key.dst) && (pair.includes(key.src) || (key.natSrc !== undefined && pair.includes(key.natSrc)));
}

function belongs(layers: Layer[], key: FlowKey, datagrams: Set<string>): 'icmp' | 'arp' | 'dns' | undefined {
  const arp = layers.find((l) => l.proto === 'arp');
  if (arp) {
    return flowPair(arp['arp.src.proto_ipv4'], arp['arp.dst.proto_ipv4'], key) ? 'arp' : undefined;
  }
  if (layers.some((l) => l.proto === 'dns')) return 'dns';
  const ips = layers.filter((l) => l.proto === 'ip');
  const inner = ips[ips.length - 1];
  if (!inner) return undefined;
  if (!flowPair(inner['ip.src'], inner['ip.dst'], key)) return undefined;
  const icmp = layers.filter((l) => l.proto === 'icmp').pop();
  const dgram = `${inner['ip.src']}>${inner['ip.dst']}#${inner['ip.id']}`;
  if (icmp && (icmp['icmp.type'] === 8 || icmp['icmp.type'] === 0) && (key.ident === undefined || icmp['icmp.ident'] === key.ident)) {
    if (inner['ip.flags.mf']) datagrams.add(dgram);
    return 'icmp';
  }
  return (inner['ip.frag_offset'] as number) > 0 && datagrams.has(dgram) ? 'icmp' : undefined;
}

/** Where the capture point's device sits on a path. */
const ROLE_ON_PATH: Record<CapturePoint['role'], PathRole> = {
  container: 'container', 'bridge-port': 'bridge-port', bridge: 'bridge', 'host-end': 'host-end', vxlan: 'vxlan', tunnel: 'tunnel', router: 'router', host: 'uplink', underlay: 'segment', lo: 'lo',
};

/** The step of an echo request of a flow on `model` seen at a capture point going the given way (undefined where no request passes). */
export function stepOfRequestAt(model: PathModel, p: CapturePoint, way: 'out' | 'in'): number | undefined {
  // On the wire, the path's own packet: encapsulated where the path encapsulates (the overlay's), plain where it does not.
  return model.place({ role: ROLE_ON_PATH[p.role], way, frame: 'ip', dir: 'request', encapsulated: true })?.step
    ?? model.place({ role: ROLE_ON_PATH[p.role], way, frame: 'ip', dir: 'request', encapsulated: false, forwarded: p.forwards })?.step;
}

/**
 * An ICMP error (destination unreachable, time exceeded) quotes the datagram it is about,
 * so its last ICMP layer is the quoted echo's: it goes back toward the pinger (a reply, as
 * sim's icmp_send makes it) when the datagram carrying the error is addressed to it.
 */
function icmpErrorDir(layers: Layer[], key: FlowKey): 'request' | 'reply' | undefined {
  const at = layers.findIndex((l) => l.proto === 'icmp' && (l['icmp.type'] === ICMP_DEST_UNREACHABLE || l['icmp.type'] === ICMP_TIME_EXCEEDED));
  if (at < 1 || layers[at - 1].proto !== 'ip') return undefined;
  const to = layers[at - 1]['ip.dst'];
  return to === key.src || to === key.natSrc ? 'reply' : 'request';
}

/** Which way an IP packet of the flow goes: the echo request (and what is about it) or the reply. */
function packetDir(layers: Layer[], key: FlowKey): 'request' | 'reply' {
  const icmpType = field(layers, 'icmp', 'icmp.type');
  const innerSrcIp = field(layers, 'ip', 'ip.src') as string;
  return icmpErrorDir(layers, key) ?? (icmpType === ICMP_ECHO_REPLY ? 'reply' : icmpType === ICMP_ECHO_REQUEST ? 'request' : innerSrcIp === key.src || innerSrcIp === key.natSrc ? 'request' : 'reply');
}

/** An ARP exchange between the two ends of the flow: the asker's, or the answer to it. */
function arpDirBetweenEnds(layers: Layer[], key: FlowKey): 'request' | 'reply' {
  const arpOp = field(layers, 'arp', 'arp.opcode');
  const arpSender = field(layers, 'arp', 'arp.src.proto_ipv4');
  const fromSource = arpSender === key.src || (key.natSrc !== undefined && arpSender === key.natSrc);
  return (fromSource && arpOp === ARP_REQUEST) || (arpSender === key.dst && arpOp === ARP_REPLY) ? 'request' : 'reply';
}

interface Sighted {
  p: CapturePoint;
  layers: Layer[];
  t: number;
}

/** The MAC addresses of every Ethernet header of a frame (outer and inner). */
function macsOf(layers: Layer[]): string[] {
  return layers.filter((l) => l.proto === 'eth').flatMap((l) => [l['eth.src'] as string, l['eth.dst'] as string]);
}

/**
 * The ARP exchanges the flow's packets needed on the way (a container asking for its
 * gateway or its peer, a host for the next hop on the underlay, the far gateway for the
 * container it delivers to), each with the way it serves: an answer belongs to the flow
 * when the next packet of the flow at the same capture point carries the MAC it gave, and
 * goes the way of that packet; the question belongs with its answer. This is what the
 * kernel does: a packet waits in the neighbour's queue until the answer comes, then leaves
 * with its MAC. A packet waits only on a question asked before the flow's first packet that
 * way at that point (later, the entry is there: a DELAY entry's unicast probe in a long ping
 * holds no packet back), and only on one asked in the window (`all`): an answer whose
 * question is not there (one a holder asked before the ping ran) is no step of the flow.
 */
function neighbourExchanges(all: Sighted[], kinds: (ReturnType<typeof belongs>)[], key: FlowKey): Map<number, 'request' | 'reply'> {
  const dirs = new Map<number, 'request' | 'reply'>();
  // The time of the flow's first packet each way at each point (by its file), before which a packet waited on a question.
  const firstWay = new Map<string, number>();
  for (const [i, x] of all.entries()) {
    if (kinds[i] !== 'icmp') continue;
    const at = `${x.p.file}\0${packetDir(x.layers, key)}`;
    if (!firstWay.has(at)) firstWay.set(at, x.t);
  }
  // Each exchange taken: its question and answer's addresses, and from its question to its answer.
  const answered: { asker: string; asked: string; dir: 'request' | 'reply'; from: number; to: number }[] = [];
  for (const [i, x] of all.entries()) {
    const arp = x.layers.find((l) => l.proto === 'arp');
    if (!arp || arp['arp.opcode'] !== ARP_REPLY) continue;
    const mac = arp['arp.src.hw_mac'] as string;
    const asker = arp['arp.dst.proto_ipv4'] as string, asked = arp['arp.src.proto_ipv4'] as string;
    let next = i + 1;
    while (next < all.length && !(kinds[next] === 'icmp' && all[next].p === x.p && macsOf(all[next].layers).includes(mac))) next++;
    if (next === all.length) continue;
    const dir = packetDir(all[next].layers, key);
    const firstThatWay = firstWay.get(`${x.p.file}\0${dir}`)!;
    let question = -1;
    for (let j = i - 1; j >= 0 && question < 0; j--) {
      const q = all[j].layers.find((l) => l.proto === 'arp');
      if (all[j].p === x.p && q?.['arp.opcode'] === ARP_REQUEST && q['arp.src.proto_ipv4'] === asker && q['arp.dst.proto_ipv4'] === asked) question = j;
    }
    if (question < 0 || all[question].t > firstThatWay) continue;
    dirs.set(i, dir);
    answered.push({ asker, asked, dir, from: all[question].t, to: x.t });
  }
  for (const [i, x] of all.entries()) {
    const arp = x.layers.find((l) => l.proto === 'arp');
    if (!arp || arp['arp.opcode'] !== ARP_REQUEST) continue;
    // The question's copies at the other points (flooded to the bridge's ports, the segment) are seen between it and its answer.
    const answer = answered.find((a) => a.asker === arp['arp.src.proto_ipv4'] && a.asked === arp['arp.dst.proto_ipv4'] && x.t >= a.from && x.t <= a.to);
    if (answer) dirs.set(i, answer.dir);
  }
  return dirs;
}

/** Each host's underlay address and the interface it holds it on, as a segment's note names them (`r0:eth0`). */
type Uplinks = Map<string, string>;

function uplinksOf(points: CapturePoint[]): Uplinks {
  return new Map(points.filter((p) => p.role === 'host').flatMap((p) => p.mine.map((ip) => [ip, `${p.host}:${p.device}`] as const)));
}

/** An ICMP "fragmentation needed" a frame carries, named by its own IPv4 header (the one before it), or undefined. */
function fragNeededKey(layers: Layer[]): string | undefined {
  const at = layers.findIndex((l) => l.proto === 'icmp' && l['icmp.type'] === ICMP_DEST_UNREACHABLE && l['icmp.code'] === UNREACH_FRAG_NEEDED);
  const ip = at > 0 ? layers[at - 1] : undefined;
  return ip?.proto === 'ip' ? `${ip['ip.src']}>${ip['ip.dst']}#${ip['ip.id']}` : undefined;
}

/** What a sighting's note needs beyond the sighting: the hosts' uplinks, and the "fragmentation needed" messages that crossed the underlay. */
interface NoteContext {
  uplinks: Uplinks;
  tunnelledFragNeeded: Set<string>;
}

function classify(model: PathModel, p: CapturePoint, layers: Layer[], kind: 'icmp' | 'arp' | 'dns', dir: 'request' | 'reply', key: FlowKey, ctx: NoteContext): { step?: number; event: HopEvent; dir: 'request' | 'reply'; note?: string; actor?: string } | undefined {
  const innerSrcMac = field(layers, 'eth', 'eth.src') as string;
  const arpOp = field(layers, 'arp', 'arp.opcode');
  const frame: FrameKind = kind === 'dns' ? (dir === 'request' ? 'dns-query' : 'dns-answer') : kind === 'arp' ? (arpOp === ARP_REQUEST ? 'arp-request' : 'arp-reply') : 'ip';
  // VXLAN, or IP in IP (a second IPv4 header within the first).
  const ipip = layers.filter((l) => l.proto === 'ip').length > 1 && !layers.some((l) => l.proto === 'vxlan');
  const sleeve = layers.find((l) => l.proto === 'sleeve');
  const encapsulated = ipip || !!sleeve || layers.some((l) => l.proto === 'vxlan');
  const outer = layers.find((l) => l.proto === 'ip');
  // Which way the frame goes: at the container side, by whose MAC it carries; on the wire, by whose address sent it (an ARP's sender).
  const sender = outer?.['ip.src'] ?? field(layers, 'arp', 'arp.src.proto_ipv4');
  const mine = p.role === 'host' || p.role === 'underlay' ? p.mine.includes(sender as string) : p.mine.includes(innerSrcMac);
  // Each host's underlay port sees every frame between them; the segment is where the frame enters it. The hosts'
  // ARP exchange is traced where each host sends its part (its eth0), as sim's segment traces only packets.
  if (p.role === 'underlay' && (!mine || kind === 'arp')) return undefined;
  // The veth's overlay end: a frame from the container goes into the bridge ('out'); the rest toward the container.
  const way = mine ? 'out' : 'in';
  if ((p.role === 'lo') !== (kind === 'dns')) return undefined;
  const at = model.place({ role: ROLE_ON_PATH[p.role], way, frame, dir, encapsulated, ...(ipip ? { ipip } : {}), flood: frame === 'arp-request', proxied: frame === 'arp-reply', forwarded: p.forwards });
  if (!at) return undefined;
  const note = p.role === 'host' && sleeve
    ? way === 'out' ? weaveNotes.sleeveOut(sleeve['sleeve.dst_peer'] as string, outer!['ip.dst'] as string, field(layers, 'udp', 'udp.dstport', false) as number)
      : weaveNotes.sleeveIn(sleeve['sleeve.sender'] as string, outer!['ip.src'] as string, field(layers, 'udp', 'udp.srcport', false) as number)
    : p.role === 'host' && encapsulated && !ipip
    ? way === 'out' ? overlayNotes.encap(field(layers, 'eth', 'eth.dst') as string, outer!['ip.dst'] as string)
      : overlayNotes.udpDeliver(field(layers, 'udp', 'udp.dstport', false) as number, p.vtep ?? 'vxlan0', field(layers, 'vxlan', 'vxlan.vni') as number, p.overlays?.[field(layers, 'vxlan', 'vxlan.vni') as number])
    : p.role === 'vxlan' && at.event === 'arp-proxy-reply'
    ? overlayNotes.arpReduce(p.device, field(layers, 'arp', 'arp.src.proto_ipv4') as string, field(layers, 'arp', 'arp.src.hw_mac') as string)
    : p.role === 'underlay'
    ? segmentNote(ctx.uplinks, outer)
    // A "fragmentation needed" taken off vxlan0 that never crossed the underlay is the vxlan device's own answer.
    : p.role === 'vxlan' && at.event === 'decap' && fragNeededKey(layers) !== undefined && !ctx.tunnelledFragNeeded.has(fragNeededKey(layers)!)
    ? overlayNotes.pmtuReply(p.device, field(layers, 'icmp', 'icmp.mtu', false) as number)
    : undefined;
  // The device that acted: the bridge hands frames to a port (br0 to vxlan0 too); the vxlan device encapsulates.
  const actor = (p.role === 'bridge-port' && way === 'in') || (p.role === 'vxlan' && way === 'out') ? p.master : p.role === 'host' && encapsulated && way === 'out' ? p.vtep ?? 'vxlan0' : undefined;
  return { step: at.step, event: at.event, dir, ...(note ? { note } : {}), ...(actor ? { actor } : {}) };
}

/** The segment between the hosts' interfaces that hold the datagram's addresses (no note where one is not a host's: sim's names both ends). */
function segmentNote(uplinks: Uplinks, outer: Layer | undefined): string | undefined {
  const from = uplinks.get(outer?.['ip.src'] as string), to = uplinks.get(outer?.['ip.dst'] as string);
  return from && to ? overlayNotes.segment(from, to) : undefined;
}

/**
 * Reads every capture point and returns the flow's hops in time order, placed on the flow's
 * path model. Only frames from `sinceNs` (ns since the epoch, taken just before the ping was
 * spawned) can be the flow's: the captures listen before it, while the swarm's holders start, and what those
 * send first (a worker's session to its manager, the gossip due before they held) resolves the
 * hosts' underlay neighbours. That ARP exchange is not one the ping's packets waited on, though
 * the ping's next packet at the same eth0 carries the MAC it gave (neighbourExchanges).
 */
export async function hopsFrom(model: PathModel, points: CapturePoint[], key: FlowKey, startNs: bigint, sinceNs: bigint): Promise<Hop[]> {
  const hops: Hop[] = [];
  const datagrams = new Set<string>();
  const all: Sighted[] = [];
  for (const p of points) {
    if (!fs.existsSync(p.file)) continue;
    const cap = await readCapture(p.file);
    for (const f of cap.frames) {
      const at = frameTimeNs(f);
      if (at < sinceNs) continue;
      const t = Number(at - startNs);
      all.push({ p, layers: dissectTraced(f.data, f.linktype), t });
    }
  }
  all.sort((a, b) => a.t - b.t);
  // Learn the ping's identifier from its first echo request at the source.
  for (const x of all) {
    const icmp = x.layers.filter((l) => l.proto === 'icmp').pop();
    const ip = x.layers.filter((l) => l.proto === 'ip').pop();
    if (icmp?.['icmp.type'] === 8 && ip?.['ip.src'] === key.src && ip?.['ip.dst'] === key.dst) {
      key.ident = icmp['icmp.ident'] as number;
      break;
    }
  }
  const kinds = all.map((x) => belongs(x.layers, key, datagrams));
  const ctx: NoteContext = {
    uplinks: uplinksOf(points),
    tunnelledFragNeeded: new Set(all.flatMap((x) => (x.layers.some((l) => l.proto === 'vxlan') ? [fragNeededKey(x.layers)] : []).filter((k): k is string => k !== undefined))),
  };
  const neighbours = neighbourExchanges(all, kinds, key);
  for (const [i, x] of all.entries()) {
    const kind = kinds[i] ?? (neighbours.has(i) ? 'arp' : undefined);
    if (!kind) continue;
    const dir = kind === 'dns' ? (field(x.layers, 'dns', 'dns.flags.response') ? 'reply' : 'request')
      : kind === 'icmp' ? packetDir(x.layers, key) : neighbours.get(i) ?? arpDirBetweenEnds(x.layers, key);
    const c = classify(model, x.p, x.layers, kind, dir, key, ctx);
    if (!c) continue;
    const underlay = x.p.role === 'underlay';
    hops.push({
      ...(c.step !== undefined ? { step: c.step } : {}), dir: c.dir, host: underlay ? 'underlay' : x.p.host, netns: underlay ? 'underlay' : x.p.netns,
      device: underlay ? 'segment' : x.p.device, ...(c.actor ? { actor: c.actor } : {}), event: c.event, timeNs: Math.max(0, x.t), layers: x.layers, ...(c.note ? { note: c.note } : {}),
    });
  }
  return hops.sort(byTimeThenPath);
}

/**
 * The order of a flow's hops: by time, and hops captured in the same microsecond (a veth's
 * two ends, read from different tcpdumps in whatever order) by where they are on the path,
 * so that the order never depends on which capture was read first: a request before a reply
 * (the reply answers it), then the path's step, a hop off the path after those on it; at one
 * step the encapsulated sighting first (a received packet keeps its timestamp as a tunnel
 * takes its outer headers off: vxlan_rcv reuses the skb, so at Calico's arrive the wrapped
 * frame is the earlier); at last the place it was seen.
 */
export function byTimeThenPath(a: Hop, b: Hop): number {
  return a.timeNs - b.timeNs || DIR_RANK[a.dir] - DIR_RANK[b.dir] || stepRank(a) - stepRank(b) || b.layers.length - a.layers.length || compareText(siteOf(a), siteOf(b));
}

const DIR_RANK: Record<Hop['dir'], number> = { request: 0, reply: 1 };

function stepRank(h: Hop): number {
  return h.step ?? Number.MAX_SAFE_INTEGER;
}

function siteOf(h: Hop): string {
  return `${h.host}/${h.netns}/${h.actor ?? ''}/${h.device}/${h.event}`;
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function captureFile(dir: string, p: { host: string; netns: string; device: string }): string {
  return path.join(dir, `${p.host}-${p.netns}-${p.device}.pcap`);
}
