/**
 * Whether two traces of one scenario (sim and emu) tell the same story: the same flows,
 * and for every ICMP echo hop the same step, host, device, note and header fields, except the
 * fields that differ by nature (underlay and vxlan MACs, UDP source port, IP id, ICMP
 * identifier, checksums, timestamps). A ping from a host's own namespace that emu could not
 * capture (off the host path it models) agrees by its ends alone.
 */
import { Layer } from '../wire/layer';
import { Flow, Hop, Trace } from './types';
import { compareControl } from './control';
import { parseCommandLine } from '../commands/cmdline';
import { printsUnordered } from '../commands/registry';

export interface TraceDifference {
  where: string;
  sim: string;
  emu: string;
}

const COMPARED: Record<string, string[]> = {
  eth: ['eth.src', 'eth.dst', 'eth.type'],
  ip: ['ip.src', 'ip.dst', 'ip.ttl', 'ip.proto', 'ip.flags.df', 'ip.flags.mf', 'ip.frag_offset', 'ip.len'],
  udp: ['udp.dstport'],
  vxlan: ['vxlan.vni', 'vxlan.flags'],
  icmp: ['icmp.type', 'icmp.code', 'icmp.seq'],
};

/** The fields that must agree, outermost first; the outer Ethernet header (underlay MACs) is left out. */
export function comparableFields(layers: Layer[]): string {
  const encapsulated = layers.some((l) => l.proto === 'vxlan');
  // Docker derives endpoint MACs from IPs (02:42:…); bridges and host devices get random ones.
  const value = (f: string, v: unknown) => (f.startsWith('eth.') && f !== 'eth.type' && typeof v === 'string' && !v.startsWith('02:42:') ? '"kernel-assigned"' : JSON.stringify(v));
  return layers
    .map((l, i) => (encapsulated && i === 0 ? 'eth' : `${l.proto}{${(COMPARED[l.proto] ?? []).map((f) => `${f}=${value(f, l[f])}`).join(',')}}`))
    .join(' ');
}

function echoHops(flow: Flow): Hop[] {
  return flow.hops.filter((h) => h.step !== undefined && h.event !== 'drop' && h.layers.some((l) => l.proto === 'icmp' && (l['icmp.type'] === 0 || l['icmp.type'] === 8)));
}

function seqOf(h: Hop): number {
  const icmp = h.layers.find((l) => l.proto === 'icmp');
  return (icmp?.['icmp.seq'] as number) ?? 0;
}

/** Where a hop was seen, to order the hops of one step: emu's sightings of one step come from
 * different tcpdumps, whose timestamps a microsecond apart can arrive in either order. */
function siteOf(h: Hop): string {
  return `${h.host}/${h.netns}/${h.device}/${h.event}`;
}

/** Echo hops in a canonical order: by sequence number, request before reply, then step, then site. */
function canonical(flow: Flow): Hop[] {
  return echoHops(flow).map((h, i) => ({ h, i, site: siteOf(h) })).sort((a, b) => seqOf(a.h) - seqOf(b.h) || (a.h.dir === b.h.dir ? 0 : a.h.dir === 'request' ? -1 : 1) || a.h.step! - b.h.step! || (a.site < b.site ? -1 : a.site > b.site ? 1 : a.i - b.i)).map((x) => x.h);
}

function describe(h: Hop | undefined): string {
  return h ? `step ${h.step} ${h.dir} ${h.host}/${h.netns}/${h.actor ? `${h.actor} → ` : ''}${h.device} ${comparableFields(h.layers)}${h.note ? ` — ${h.note}` : ''}` : '(no hop)';
}

/** A drop a random draw decided (xt_statistic's random mode, netem's loss): which probes lose the draw is chance. */
const RANDOM_DROP = /--mode random\b|\bnetem loss\b/;

function lostByChance(flow: Flow): boolean {
  return flow.hops.some((h) => h.event === 'drop' && RANDOM_DROP.test(h.reason ?? ''));
}

/** The distinct ways the flow's probes went: each probe's echo hops, its sequence number left out. */
function probePaths(flow: Flow): Set<string> {
  const bySeq = new Map<number, string[]>();
  for (const h of canonical(flow)) bySeq.set(seqOf(h), [...(bySeq.get(seqOf(h)) ?? []), describe(h).replace(/icmp\.seq=\d+/, 'icmp.seq=*')]);
  return new Set([...bySeq.values()].map((hops) => hops.join('\n')));
}

/**
 * A flow whose probes sim lost to a random draw agrees with emu's when both took the same
 * set of paths (delivered, or lost at the same place): the draws differ, the kernel's
 * behaviour for each outcome must not.
 */
function compareByChance(a: Flow, b: Flow): TraceDifference | undefined {
  const pa = probePaths(a), pb = probePaths(b);
  const onlySim = [...pa].find((p) => !pb.has(p)), onlyEmu = [...pb].find((p) => !pa.has(p));
  if (onlySim === undefined && onlyEmu === undefined) return undefined;
  return { where: `${a.id} (probes lost by a random draw: the paths they took)`, sim: onlySim?.split('\n').pop() ?? '(every path emu took)', emu: onlyEmu?.split('\n').pop() ?? '(every path sim took)' };
}

/** The echo flows hop by hop, then the control planes (control.ts: what both modes can hold to). */
export function compareTraces(sim: Trace, emu: Trace): TraceDifference | undefined {
  return compareEchoes(sim, emu) ?? compareControl(sim, emu);
}

function compareEchoes(sim: Trace, emu: Trace): TraceDifference | undefined {
  const simFlows = sim.flows.filter((f) => f.kind === 'icmp-echo');
  const emuFlows = emu.flows.filter((f) => f.kind === 'icmp-echo');
  if (simFlows.length !== emuFlows.length) {
    return { where: 'flows', sim: simFlows.map((f) => f.id).join(', ') || '(none)', emu: emuFlows.map((f) => f.id).join(', ') || '(none)' };
  }
  for (let i = 0; i < simFlows.length; i++) {
    const a = simFlows[i], b = emuFlows[i];
    if (a.from !== b.from || a.to !== b.to) return { where: `flow ${i + 1}`, sim: `${a.from} → ${a.to}`, emu: `${b.from} → ${b.to}` };
    if (!a.hostNamespace !== !b.hostNamespace) return { where: `${a.id} (sent from a host's namespace)`, sim: String(!!a.hostNamespace), emu: String(!!b.hostNamespace) };
    // A host's ping emu did not set out to capture (a name, or a destination off the host path): recorded
    // with no path and no hops (Flow.hostNamespace). One emu captured on the host path is compared hop by hop,
    // so a capture that saw nothing fails rather than passing on its ends.
    if (a.hostNamespace && b.hops.length === 0 && b.path === undefined) continue;
    if (lostByChance(a)) {
      const d = compareByChance(a, b);
      if (d) return d;
      continue;
    }
    const ha = canonical(a), hb = canonical(b);
    for (let k = 0; k < Math.max(ha.length, hb.length); k++) {
      const x = ha[k], y = hb[k];
      const same = x && y && x.step === y.step && x.dir === y.dir && x.host === y.host && x.device === y.device && x.actor === y.actor && x.note === y.note && comparableFields(x.layers) === comparableFields(y.layers);
      if (!same) return { where: `${a.id} hop ${k + 1}`, sim: describe(x), emu: describe(y) };
    }
  }
  return undefined;
}

/** What a step printed, as verify compares it between sim and emu. */
export interface StepOutput {
  index: number;
  on: string;
  command: string;
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** Docker's endpoint MACs (02:42:…) follow from addresses; every other MAC is the kernel's random pick. */
const MAC = /\b(?:[0-9a-f]{2}:){5}[0-9a-f]{2}\b/g;
/** Linux's default ephemeral range (net.ipv4.ip_local_port_range): ports the kernel picks. */
const EPHEMERAL = (port: number) => port >= 32768 && port <= 60999;

/**
 * A step's output with what differs by nature replaced by a placeholder: times and round
 * trips, ids Docker and swarm generate (hex ids, base-36 node, service and network ids, join
 * tokens), a container's pid, MACs the kernel picks (outside 02:42:), ephemeral ports, a learned route's
 * remaining lifetime, a qdisc's handle and the refcnt its queues give it, a listener's accept queue. What is left is what the program says, which must agree.
 * A random MAC begins 02:42: 1 time in 16,384: given `dockerMacs`, only those count as Docker's.
 */
export function normaliseOutput(text: string, dockerMacs?: ReadonlySet<string>): string {
  return text
    .replace(/\btime=\d+(?:\.\d+)? ms\b/g, 'time=<t> ms')
    .replace(/\btime \d+ms\b/g, 'time <t>ms')
    .replace(/= [\d.]+\/[\d.]+\/[\d.]+\/[\d.]+ ms/g, '= <rtt> ms')
    // BusyBox's ping summary has no mdev.
    .replace(/round-trip min\/avg\/max = [\d.]+\/[\d.]+\/[\d.]+ ms/g, 'round-trip min/avg/max = <rtt> ms')
    .replace(/ipg\/ewma [\d.]+\/[\d.]+ ms/g, 'ipg/ewma <t> ms')
    .replace(/\bexpires \d+sec\b/g, 'expires <t>sec')
    // A bridge's timers run down in real time (hello, tcn, topology change and FDB gc; a port's hold, message age and forward delay).
    .replace(/\b(\w+)_timer +\d+\.\d\d\b/g, '$1_timer <t>')
    // emu plays a host's NIC with a veth into the namespace of its segment (UNDERLAY): the wire's far end is not the host's to
    // show, nor (with -d) its kind; the NIC's attributes follow on the link-layer line, as a device without a kind prints them.
    .replace(/^(\d+: eth0)@if\d+(: .*)\n(\s+link\/ether \S+ brd \S+) link-netns _underlay((?: .*)?)(?:\n {4}veth (?=addrgenmode ))?/gm, '$1$2\n$3$4')
    // A qdisc's handle comes from one counter for the whole kernel (emu shares it with the machine), and a
    // multiqueue device's refcnt from the machine's possible CPUs.
    .replace(/^(qdisc \S+ )(?!0:)[0-9a-f]+:/gm, '$1<handle>:')
    .replace(/^(qdisc \S+ \S+ (?:dev \S+ )?root refcnt )\d+/gm, '$1<n>')
    // A rule that matches at random counts what the draw gave it, in each mode its own.
    .replace(/^ *\S+ +\S+ (?=.*\bstatistic mode random\b)/gm, '<pkts> <bytes> ')
    .replace(/^\[\d+:\d+\](?= .*--mode random\b)/gm, '[<pkts>:<bytes>]')
    // A listener's Recv-Q is its accept queue: a peer's connection (a push/pull, a bulk sync) the daemon has not yet
    // accepted when ss looks, which timing alone decides.
    .replace(/^((?:tcp +)?LISTEN +)\d+/gm, '$1<queued>')
    // A container's process is the kernel's to number (emu's is a real one, sim's the model's), as each run of Docker's is.
    .replace(/"Pid": \d+/g, '"Pid": <pid>')
    .replace(/SWMTKN-1-[0-9a-z]+-[0-9a-z]+/g, '<token>')
    .replace(/\b[0-9a-f]{64}\b/g, '<id>')
    .replace(/\b[0-9a-f]{12}\b/g, '<id>')
    .replace(/\b(?=[0-9a-z]*[0-9])(?=[0-9a-z]*[a-z])[0-9a-z]{25}\b/g, '<id>')
    // A bridge id prints its MAC's bytes unpadded (8000.2:42:a:0:1:1): padded, the MAC reads as one.
    .replace(/\b8000\.((?:[0-9a-f]{1,2}:){5}[0-9a-f]{1,2})\b/g, (_, mac: string) => `8000.${mac.split(':').map((b) => b.padStart(2, '0')).join(':')}`)
    .replace(MAC, (m) => (m.startsWith('02:42:') && (!dockerMacs || dockerMacs.has(m)) ? m : '<mac>'))
    .replace(/([:#])(\d{5})\b/g, (m, sep: string, port: string) => (EPHEMERAL(Number(port)) ? `${sep}<port>` : m));
}

/** The steps (numbered from 1) whose flows sim lost to a random draw: what they print (which probes came back) is chance. */
export function stepsLostByChance(trace: Trace): Set<number> {
  return new Set(trace.flows.filter((f) => f.origin && lostByChance(f)).map((f) => f.origin!.step));
}

/** A peer's namespace as iproute2 names it: `link-netnsid N`, or `link-netns NAME` where it finds the namespace's name. */
const NETNS_BY_ID = /\blink-netnsid \d+\b/g;
const NETNS_BY_NAME = /\blink-netns \S+/g;
const ANY_NETNS = /\blink-netns(?:id)? \S+/g;

/** The peer namespaces one output's lines paired so far: sim's id to emu's name, and back. */
interface NetnsPairs {
  nameOfId: Map<string, string>;
  idOfName: Map<string, string>;
}

/**
 * Whether a sim line and an emu line say the same. iproute2 names a peer's namespace when
 * /run/netns holds a name for it: a Docker host keeps its own in /var/run/docker/netns, so sim
 * prints Docker's `link-netnsid N`, where emu, whose namespaces are all named, prints
 * `link-netns NAME`. That pair is the same where it names the same peer: which namespace an
 * id is, the comparison is not told, so within one output (`pairs`) each id must go with one
 * name and each name with one id. An id in emu where sim names one is no pair. (`ip -j`
 * prints the id, link_netnsid, in either mode: its lines compare as they are.)
 */
function sameLine(simLine: string, emuLine: string, pairs: NetnsPairs): boolean {
  if (simLine === emuLine) return true;
  if (!simLine.includes('link-netnsid ') || !emuLine.includes('link-netns ')) return false;
  if (simLine.replace(NETNS_BY_ID, 'link-netns <ns>') !== emuLine.replace(NETNS_BY_NAME, 'link-netns <ns>')) return false;
  const ids = simLine.match(NETNS_BY_ID)!.map((m) => m.slice('link-netnsid '.length));
  const names = emuLine.match(NETNS_BY_NAME)!.map((m) => m.slice('link-netns '.length));
  return ids.every((id, k) => {
    const name = names[k];
    if ((pairs.nameOfId.get(id) ?? name) !== name || (pairs.idOfName.get(name) ?? id) !== id) return false;
    pairs.nameOfId.set(id, name);
    pairs.idOfName.set(name, id);
    return true;
  });
}

/**
 * The first step whose exit code or normalised output differs between sim and emu. A step
 * in `byChance` (stepsLostByChance) is judged by its exit code: its trace is compared as
 * the paths its probes took (compareTraces).
 */
export function compareOutputs(sim: StepOutput[], emu: StepOutput[], byChance: Set<number> = new Set()): TraceDifference | undefined {
  for (let i = 0; i < Math.min(sim.length, emu.length); i++) {
    const a = sim[i], b = emu[i];
    const where = `step ${a.index + 1} ${a.on}: ${a.command}`;
    if (a.exitCode !== b.exitCode) return { where: `${where} (exit code)`, sim: String(a.exitCode), emu: String(b.exitCode) };
    if (byChance.has(a.index + 1)) continue;
    // A dump of a kernel hash table (bridge fdb, ss, ip neigh, arp: the registry's unorderedOutput forms), in any stage: the entries count, not their order.
    const line = parseCommandLine(a.command);
    const unordered = line.ok && line.list.some((pipeline) => pipeline.some(printsUnordered));
    // A template that prints State.Pid prints a number the kernel picked: every number it prints is taken as one.
    const pids = /\.State\.Pid\b/.test(a.command) ? (text: string) => text.replace(/\b\d+\b/g, '<pid>') : (text: string) => text;
    // Sorted with the peer namespace's reference left out, so sim's id and emu's name sort alike (sameLine).
    const byEntry = (x: string, y: string) => {
      const a = x.replace(ANY_NETNS, ''), b = y.replace(ANY_NETNS, '');
      return a < b ? -1 : a > b ? 1 : 0;
    };
    const lines = (text: string, dockerMacs: ReadonlySet<string>) => {
      const out = normaliseOutput(pids(text), dockerMacs).split('\n');
      return unordered ? out.sort(byEntry) : out;
    };
    for (const stream of ['stdout', 'stderr'] as const) {
      // Docker's MACs follow from the plan, so both print them; a 02:42 MAC in one output alone is the kernel's random draw.
      const inSim = new Set(a[stream].match(MAC)), dockerMacs = new Set((b[stream].match(MAC) ?? []).filter((m) => inSim.has(m)));
      const x = lines(a[stream], dockerMacs), y = lines(b[stream], dockerMacs);
      const pairs: NetnsPairs = { nameOfId: new Map(), idOfName: new Map() };
      const line = x.findIndex((l, k) => y[k] === undefined || !sameLine(l, y[k], pairs));
      const at = line >= 0 ? line : x.length < y.length ? x.length : -1;
      if (at >= 0) return { where: `${where} (${stream} line ${at + 1})`, sim: JSON.stringify(x[at] ?? '(end)'), emu: JSON.stringify(y[at] ?? '(end)') };
    }
  }
  if (sim.length !== emu.length) return { where: 'steps', sim: `${sim.length} steps`, emu: `${emu.length} steps` };
  return undefined;
}
