/**
 * Turns captures taken on a real Docker host into a trace. Each capture is a point on the
 * path (a container's eth0, an overlay namespace, the underlay), given or guessed; frames
 * become hops placed on their flow's path model (the overlay's, whose capture points these
 * are: paths/overlay.ts), and a packet seen in several captures (both hosts, say) is matched
 * across them by its inner IP id and ICMP id/seq.
 */
import { canReadAgain, openCapture, OpenCapture } from '../pcap/reader';
import { CaptureError, frameTimeNs } from '../pcap/frame';
import { dissect, LINKTYPE_ETHERNET } from '../wire/dissect';
import { Layer } from '../wire/layer';
import { DNS_PORT } from '../wire/dns';
import { Flow, Hop, HopEvent, MAX_HOPS_PER_FLOW, Trace, TRACE_FORMAT } from './types';
import { overlayNotes } from './paths/notes';
import { PathId, pathOf } from './paths';
import { FrameKind, Sighting as PathSighting } from './paths/path';

/** The path replayed captures are placed on: their capture points (an overlay namespace, the VXLAN underlay) are the overlay's. */
const REPLAYED_PATH: PathId = 'overlay';

/** The address of Docker's embedded DNS server in every container. */
const EMBEDDED_DNS_IP = '127.0.0.11';

export type CapturePointKind = 'container' | 'overlay' | 'underlay';

const num = (l: Layer | undefined, f: string) => l?.[f] as number | undefined;
const str = (l: Layer | undefined, f: string) => l?.[f] as string | undefined;

function lastOf(layers: Layer[], proto: string): Layer | undefined {
  for (let i = layers.length - 1; i >= 0; i--) if (layers[i].proto === proto) return layers[i];
  return undefined;
}

/** Underlay if it carries VXLAN; an overlay namespace if taken with `-i any` (cooked); else a container. */
export function guessPoint(carriesVxlan: boolean, linktype: number): CapturePointKind {
  if (carriesVxlan) return 'underlay';
  return linktype === LINKTYPE_ETHERNET ? 'container' : 'overlay';
}

/** A key naming one packet wherever it was captured. */
function packetKey(layers: Layer[]): string | undefined {
  const ip = lastOf(layers, 'ip');
  if (!ip) return undefined;
  const icmp = lastOf(layers, 'icmp');
  return `${ip['ip.src']}>${ip['ip.dst']}#${ip['ip.id']}/${ip['ip.frag_offset']}${icmp ? `/${icmp['icmp.ident']}:${icmp['icmp.seq']}` : ''}`;
}

/**
 * Docker's embedded DNS listens on a random port inside each sandbox and NATs 127.0.0.11:53
 * to it (nat chains DOCKER_OUTPUT and DOCKER_POSTROUTING), so a capture there shows queries
 * to 127.0.0.11:<that port> and answers from :53; the note names the port when it is not 53.
 */
function dnsNote(ip: Layer | undefined, udp: Layer | undefined): string {
  const toResolver = str(ip, 'ip.dst') === EMBEDDED_DNS_IP;
  if (!toResolver && str(ip, 'ip.src') !== EMBEDDED_DNS_IP) return 'DNS';
  const port = num(udp, toResolver ? 'udp.dstport' : 'udp.srcport');
  return port === undefined || port === DNS_PORT ? `embedded DNS (${EMBEDDED_DNS_IP})` : `embedded DNS (${EMBEDDED_DNS_IP}:${port}, Docker's NAT of port ${DNS_PORT})`;
}

function label(layers: Layer[]): { event: HopEvent; note?: string; kind: 'icmp' | 'arp' | 'dns' | 'control' | 'other' } {
  const arp = layers.find((l) => l.proto === 'arp');
  // No note of its own, as in sim and emu: the event says what it is (a proxied reply gets the path's note where it is placed).
  if (arp) return { event: num(arp, 'arp.opcode') === 1 ? 'arp-request' : 'arp-reply', kind: 'arp' };
  const dns = layers.find((l) => l.proto === 'dns');
  const ip = lastOf(layers, 'ip');
  const udp = lastOf(layers, 'udp'), tcp = lastOf(layers, 'tcp');
  if (dns) return { event: dns['dns.flags.response'] ? 'dns-answer' : 'dns-query', kind: 'dns', note: dnsNote(ip, udp) };
  const ports = [num(udp, 'udp.srcport'), num(udp, 'udp.dstport'), num(tcp, 'tcp.srcport'), num(tcp, 'tcp.dstport')];
  if (ports.includes(7946)) return { event: 'send', kind: 'control', note: `swarm gossip (memberlist ${udp ? 'UDP' : 'TCP'} 7946)` };
  if (ports.includes(2377)) return { event: 'send', kind: 'control', note: 'swarm control (TCP 2377)' };
  if (lastOf(layers, 'icmp')) return { event: 'send', kind: 'icmp' };
  return { event: 'send', kind: 'other' };
}

export interface ReplayInput {
  file: string;
  point?: CapturePointKind;
}

/**
 * How many recent packets are remembered for matching sightings across captures. A packet
 * is seen again within milliseconds (the other host, the other side of the bridge), so a
 * window of recent ones serves any capture length in bounded memory.
 */
const RECENT_PACKETS = 16_384;
/** Flows kept at most; frames of further flows are counted in a warning. */
export const MAX_REPLAY_FLOWS = 1_000;
/** Hops kept across all flows: with MAX_HOPS_PER_FLOW, what bounds replay's memory. */
export const MAX_REPLAY_HOPS = 4 * MAX_HOPS_PER_FLOW;
const MAX_UNDERLAY_HOSTS = 256;

/**
 * A map that forgets old entries: two generations, the older dropped whole when the newer
 * fills. Constant time per operation, at most twice `limit` entries.
 */
class RecentMap<K, V> {
  private current = new Map<K, V>();
  private previous = new Map<K, V>();

  constructor(private readonly limit: number) {}

  get(key: K): V | undefined {
    return this.current.get(key) ?? this.previous.get(key);
  }

  has(key: K): boolean {
    return this.current.has(key) || this.previous.has(key);
  }

  set(key: K, value: V): void {
    if (this.current.size >= this.limit) {
      this.previous = this.current;
      this.current = new Map();
    }
    this.current.set(key, value);
  }
}

interface Sighting {
  /** Index into the inputs. */
  input: number;
  t: bigint;
  layers: Layer[];
}

/**
 * Every frame of every capture, decoded, merged in time order, one frame per capture in
 * memory. Captures are each in time order as tcpdump writes them.
 */
function* mergedFrames(inputs: ReplayInput[], warnings: string[], linktypes: number[]): Generator<Sighting> {
  const opened: OpenCapture[] = [];
  try {
    const heads: (Sighting | undefined)[] = [];
    const pull = (i: number): Sighting | undefined => {
      const f = opened[i].reader.next();
      return f && { input: i, t: frameTimeNs(f), layers: dissect(f.data, f.linktype) };
    };
    for (const [i, input] of inputs.entries()) {
      opened.push(openCapture(input.file));
      heads.push(pull(i));
    }
    for (;;) {
      let best = -1;
      for (let i = 0; i < heads.length; i++) if (heads[i] && (best < 0 || heads[i]!.t < heads[best]!.t)) best = i;
      if (best < 0) break;
      const s = heads[best]!;
      heads[best] = pull(best);
      yield s;
    }
    for (const [i, o] of opened.entries()) {
      const outcome = o.reader.outcome();
      linktypes[i] = outcome.info.linktype;
      warnings.push(...outcome.warnings.map((w) => `${inputs[i].file}: ${w}`));
    }
  } finally {
    for (const o of opened) o.close();
  }
}

/** What the first pass learns: where each capture was taken, who pings, and whose side each capture is on. */
interface Survey {
  points: CapturePointKind[];
  carriesVxlan: boolean[];
  owner?: string;
  localOf: (string | undefined)[];
  frames: number;
}

function survey(inputs: ReplayInput[]): Survey {
  const carriesVxlan = inputs.map(() => false);
  // Per capture, its first echo request and what it says about the side, in either kind of capture point.
  const firstEcho: ({ src?: string; dst?: string; firstSighting: boolean; beforeTheWire: boolean } | undefined)[] = inputs.map(() => undefined);
  const firstSeen = new RecentMap<string, bigint>(RECENT_PACKETS);
  const encapSeen = new RecentMap<string, bigint>(RECENT_PACKETS);
  const linktypes: number[] = [];
  let owner: string | undefined;
  let frames = 0;
  for (const s of mergedFrames(inputs, [], linktypes)) {
    frames++;
    const vx = s.layers.some((x) => x.proto === 'vxlan');
    if (vx) carriesVxlan[s.input] = true;
    const k = packetKey(s.layers);
    if (k && !firstSeen.has(k)) firstSeen.set(k, s.t);
    if (k && vx && !encapSeen.has(k)) encapSeen.set(k, s.t);
    if (num(lastOf(s.layers, 'icmp'), 'icmp.type') !== 8) continue;
    const ip = lastOf(s.layers, 'ip');
    // Who sends the pings: the source of the first echo request anywhere.
    owner ??= str(ip, 'ip.src');
    if (vx || firstEcho[s.input]) continue;
    // A container is first to see its own request; an overlay namespace sees it before the wire does.
    const encapAt = encapSeen.get(k!);
    firstEcho[s.input] = { src: str(ip, 'ip.src'), dst: str(ip, 'ip.dst'), firstSighting: firstSeen.get(k!) === s.t, beforeTheWire: encapAt === undefined || s.t <= encapAt };
  }
  const points = inputs.map((input, i) => input.point ?? guessPoint(carriesVxlan[i], linktypes[i]));
  const localOf = firstEcho.map((e, i) => {
    if (!e) return undefined;
    const senderSide = points[i] === 'overlay' ? e.beforeTheWire : e.firstSighting;
    return senderSide ? e.src : e.dst;
  });
  return { points, carriesVxlan, owner, localOf, frames };
}

/**
 * Reads each capture twice, streaming: once to learn where it was taken and who pings, once
 * to turn frames into hops. Memory stays bounded whatever the captures' size: a frame per
 * capture, a window of recent packets, and at most MAX_REPLAY_HOPS hops (the rest counted).
 */
export async function replayCaptures(inputs: ReplayInput[], name = 'replay'): Promise<{ trace: Trace; warnings: string[] }> {
  for (const { file } of inputs) if (!canReadAgain(file)) throw new CaptureError('replay reads each capture twice: save it to a file first');
  const { points, carriesVxlan, owner, localOf, frames } = survey(inputs);
  if (frames === 0) throw new CaptureError('no frames to replay');
  const warnings: string[] = [];
  const hostOf = inputs.map((input) => input.file.split('/').pop()!.replace(/\.(pcap|pcapng)$/, ''));
  const vxlanFiles = carriesVxlan.filter(Boolean).length;
  const sightings = new RecentMap<string, number>(RECENT_PACKETS);
  const flows = new Map<string, Flow>();
  const flowsOfKind = new Map<Flow['kind'], number>();
  let hopsKept = 0;
  let framesOfFlowsNotKept = 0;
  const flowFor = (kind: Flow['kind'], from: string, to: string, key: string): Flow | undefined => {
    let f = flows.get(key);
    if (!f) {
      if (flows.size >= MAX_REPLAY_FLOWS) return undefined;
      const n = (flowsOfKind.get(kind) ?? 0) + 1;
      flowsOfKind.set(kind, n);
      flows.set(key, (f = { id: `${kind === 'icmp-echo' ? 'ping' : kind}-${n}`, kind, from, to, ...(kind === 'icmp-echo' ? { path: REPLAYED_PATH } : {}), hops: [] }));
    }
    return f;
  };
  // In Docker's overlay the bridge is br0 and the VXLAN device vxlan0 (DESIGN §2).
  const actorOf = (event: HopEvent) => (event === 'bridge-forward' || event === 'bridge-flood' ? { actor: 'br0' } : event === 'encap' ? { actor: 'vxlan0' } : {});
  const underlayHosts = new Set<string>();
  let t0: bigint | undefined;
  for (const fr of mergedFrames(inputs, warnings, [])) {
    t0 ??= fr.t;
    const point = points[fr.input];
    const l = label(fr.layers);
    const vx = fr.layers.find((x) => x.proto === 'vxlan');
    const inner = lastOf(fr.layers, 'ip');
    const icmp = lastOf(fr.layers, 'icmp');
    const type = num(icmp, 'icmp.type');
    const src = str(inner, 'ip.src') ?? str(fr.layers.find((x) => x.proto === 'arp'), 'arp.src.proto_ipv4') ?? '?';
    const dst = str(inner, 'ip.dst') ?? str(fr.layers.find((x) => x.proto === 'arp'), 'arp.dst.proto_ipv4') ?? '?';
    const dir: Hop['dir'] = l.kind === 'dns' ? (l.event === 'dns-answer' ? 'reply' : 'request')
      : type === 0 || (type !== 8 && src !== owner && owner !== undefined) ? 'reply' : 'request';
    if (vx && underlayHosts.size < MAX_UNDERLAY_HOSTS) {
      const outer = fr.layers.find((x) => x.proto === 'ip');
      if (outer) underlayHosts.add(outer['ip.src'] as string).add(outer['ip.dst'] as string);
    }
    let step: number | undefined;
    let event: HopEvent = l.event;
    let note = l.note;
    const placed = (s: PathSighting) => {
      const at = pathOf({ path: REPLAYED_PATH }).place(s);
      step = at?.step;
      if (at) event = at.event;
    };
    if (l.kind === 'dns') placed({ role: 'lo', way: event === 'dns-query' ? 'out' : 'in', frame: event === 'dns-query' ? 'dns-query' : 'dns-answer' });
    else if (l.kind === 'icmp' || l.kind === 'arp') {
      const frame: FrameKind = l.kind === 'icmp' ? 'ip' : event === 'arp-request' ? 'arp-request' : 'arp-reply';
      // An ARP frame has no IP id: the same question or answer asked again is the same key, so its sightings are
      // counted in pairs (each is seen twice, the second sighting the copy further along).
      const packet = packetKey(fr.layers) ?? `arp|${event}|${src}>${dst}`;
      // Encapsulated sightings count across captures; inner ones within one capture (in, then out).
      const key = vx ? `vxlan|${packet}` : `${fr.input}|${packet}`;
      const count = (sightings.get(key) ?? 0) + 1;
      sightings.set(key, count);
      const seen = l.kind === 'arp' ? ((count - 1) % 2) + 1 : count;
      const local = localOf[fr.input];
      if (vx) {
        // One capture of the wire is the segment; with captures on both hosts, the first sighting is the
        // sender's uplink (encapsulation) and the second the receiver's (UDP delivery).
        const outer = fr.layers.find((x) => x.proto === 'ip');
        const vni = num(vx, 'vxlan.vni') ?? 0;
        if (vxlanFiles > 1) {
          placed({ role: 'uplink', way: seen === 1 ? 'out' : 'in', frame, encapsulated: true });
          // Docker names the overlay's vxlan device vxlan0; which namespace holds it a capture does not say.
          note = seen === 1 ? overlayNotes.encap(str(lastOf(fr.layers, 'eth'), 'eth.dst') ?? '?', str(outer, 'ip.dst') ?? '?')
            : overlayNotes.udpDeliver(num(fr.layers.find((x) => x.proto === 'udp'), 'udp.dstport') ?? 0, 'vxlan0', vni);
        } else {
          placed({ role: 'segment', way: 'out', frame, encapsulated: true });
          note = overlayNotes.segment(str(outer, 'ip.src') ?? '?', str(outer, 'ip.dst') ?? '?');
        }
      } else if (point === 'container') {
        placed({ role: 'container', way: src === local ? 'out' : 'in', frame });
      } else if (point === 'overlay') {
        // In an overlay namespace (-i any) a frame shows twice: from the local container through
        // its veth, then into vxlan0; from the wire off vxlan0, then through the veth.
        const fromLocal = src === local;
        if (fromLocal) placed(seen === 1 ? { role: 'bridge-port', way: 'out', frame } : { role: 'vxlan', way: 'out', frame, flood: frame === 'arp-request' });
        else placed(seen === 1 ? { role: 'vxlan', way: 'in', frame, proxied: frame === 'arp-reply' } : { role: 'bridge-port', way: 'in', frame });
        // vxlan0 answered from its neighbour table (arp_reduce): worded as sim and emu word it (Docker names the device vxlan0).
        const arp = fr.layers.find((x) => x.proto === 'arp');
        if (event === 'arp-proxy-reply' && arp) note = overlayNotes.arpReduce('vxlan0', str(arp, 'arp.src.proto_ipv4') ?? '?', str(arp, 'arp.src.hw_mac') ?? '?');
      }
    }
    const kind: Flow['kind'] = l.kind === 'icmp' || l.kind === 'arp' ? 'icmp-echo' : l.kind === 'dns' ? 'dns' : 'other';
    const pair = src < dst ? `${src}|${dst}` : `${dst}|${src}`;
    const flow = kind === 'icmp-echo' ? flowFor(kind, owner ?? src, owner === dst ? src : dst, `icmp|${pair}`)
      : kind === 'dns' ? flowFor(kind, src, EMBEDDED_DNS_IP, 'dns') : flowFor(kind, 'swarm', 'swarm', `other|${l.note ?? 'other'}`);
    if (!flow) {
      framesOfFlowsNotKept++;
      continue;
    }
    if (flow.hops.length >= MAX_HOPS_PER_FLOW || hopsKept >= MAX_REPLAY_HOPS) {
      flow.hopsNotKept = (flow.hopsNotKept ?? 0) + 1;
      continue;
    }
    hopsKept++;
    flow.hops.push({
      ...(step !== undefined ? { step } : {}), dir, host: point === 'underlay' ? 'underlay' : hostOf[fr.input],
      netns: point, device: point === 'underlay' ? 'segment' : point === 'overlay' ? 'any' : 'eth0', ...actorOf(event), event, timeNs: Number(fr.t - t0), layers: fr.layers, ...(note ? { note } : {}),
    });
  }
  if (framesOfFlowsNotKept) warnings.push(`${framesOfFlowsNotKept} frames of flows past the first ${MAX_REPLAY_FLOWS} were not kept`);
  const trace: Trace = {
    format: TRACE_FORMAT, scenario: name, mode: 'replay',
    topology: { hosts: [...underlayHosts].sort().map((ip) => ({ name: ip, underlay: ip })), namespaces: [], links: [] },
    flows: [...flows.values()],
  };
  return { trace, warnings };
}
