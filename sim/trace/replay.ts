/**
 * Turns captures taken on a real Docker host into a trace. Each capture is a point on the
 * path (a container's eth0, an overlay namespace, the underlay), given or guessed; frames
 * become hops numbered by the eight steps, and a packet seen in several captures (both
 * hosts, say) is matched across them by its inner IP id and ICMP id/seq.
 */
import { readCapture } from '../pcap/reader';
import { CaptureError } from '../pcap/frame';
import { dissect, LINKTYPE_ETHERNET } from '../wire/dissect';
import { Layer } from '../wire/layer';
import { DNS_PORT } from '../wire/dns';
import { Flow, Hop, HopEvent, Trace, TRACE_FORMAT } from './types';

/** The address of Docker's embedded DNS server in every container. */
const EMBEDDED_DNS_IP = '127.0.0.11';

export type CapturePointKind = 'container' | 'overlay' | 'underlay';

interface Frame {
  file: string;
  point: CapturePointKind;
  t: bigint;
  layers: Layer[];
  /** SLL packet type: 0 to us, 4 sent by us. */
  pktType?: number;
}

const num = (l: Layer | undefined, f: string) => l?.[f] as number | undefined;
const str = (l: Layer | undefined, f: string) => l?.[f] as string | undefined;

function lastOf(layers: Layer[], proto: string): Layer | undefined {
  for (let i = layers.length - 1; i >= 0; i--) if (layers[i].proto === proto) return layers[i];
  return undefined;
}

/** Underlay if it carries VXLAN; an overlay namespace if taken with `-i any` (cooked); else a container. */
export function guessPoint(frames: Layer[][], linktype: number): CapturePointKind {
  if (frames.some((l) => l.some((x) => x.proto === 'vxlan'))) return 'underlay';
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
  if (arp) return { event: num(arp, 'arp.opcode') === 1 ? 'arp-request' : 'arp-reply', kind: 'arp', note: 'ARP' };
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

export async function replayCaptures(inputs: ReplayInput[], name = 'replay'): Promise<{ trace: Trace; warnings: string[] }> {
  const frames: Frame[] = [];
  const warnings: string[] = [];
  for (const input of inputs) {
    const cap = await readCapture(input.file);
    warnings.push(...cap.warnings.map((w) => `${input.file}: ${w}`));
    const decoded = cap.frames.map((f) => ({ f, layers: dissect(f.data, f.linktype) }));
    const point = input.point ?? guessPoint(decoded.map((d) => d.layers), cap.info.linktype);
    for (const { f, layers } of decoded) {
      const sll = layers.find((l) => l.proto === 'sll');
      frames.push({ file: input.file, point, t: BigInt(f.seconds) * 1_000_000_000n + BigInt(f.nanos), layers, pktType: num(sll, 'sll.pkttype') });
    }
  }
  if (frames.length === 0) throw new CaptureError('no frames to replay');
  frames.sort((a, b) => (a.t < b.t ? -1 : a.t > b.t ? 1 : 0));
  const t0 = frames[0].t;
  // Who sends the pings: the source of the first echo request anywhere.
  const firstEcho = frames.find((f) => num(lastOf(f.layers, 'icmp'), 'icmp.type') === 8);
  const owner = str(lastOf(firstEcho?.layers ?? [], 'ip'), 'ip.src');
  // Whose side each capture is on: a capture that saw the first echo request before anyone
  // else is the sender's; otherwise it is the receiver's.
  const firstSeen = new Map<string, bigint>();
  for (const f of frames) {
    const k = packetKey(f.layers);
    if (k && !firstSeen.has(k)) firstSeen.set(k, f.t);
  }
  const encapSeen = new Map<string, bigint>();
  for (const f of frames) {
    const k = f.layers.some((x) => x.proto === 'vxlan') ? packetKey(f.layers) : undefined;
    if (k && !encapSeen.has(k)) encapSeen.set(k, f.t);
  }
  const localOf = new Map<string, string | undefined>();
  for (const f of frames) {
    if (localOf.has(f.file) || num(lastOf(f.layers, 'icmp'), 'icmp.type') !== 8 || f.layers.some((x) => x.proto === 'vxlan')) continue;
    const ip = lastOf(f.layers, 'ip');
    const k = packetKey(f.layers)!;
    // A container is first to see its own request; an overlay namespace sees it before the wire does.
    const senderSide = f.point === 'overlay' ? !encapSeen.has(k) || f.t <= encapSeen.get(k)! : firstSeen.get(k) === f.t;
    localOf.set(f.file, senderSide ? str(ip, 'ip.src') : str(ip, 'ip.dst'));
  }
  const vxlanFiles = new Set(frames.filter((f) => f.layers.some((x) => x.proto === 'vxlan')).map((f) => f.file));
  const sightings = new Map<string, number>();
  const flows = new Map<string, Flow>();
  const flowFor = (kind: Flow['kind'], from: string, to: string, key: string): Flow => {
    let f = flows.get(key);
    if (!f) flows.set(key, (f = { id: `${kind === 'icmp-echo' ? 'ping' : kind}-${[...flows.values()].filter((x) => x.kind === kind).length + 1}`, kind, from, to, hops: [] }));
    return f;
  };
  // In Docker's overlay the bridge is br0 and the VXLAN device vxlan0 (DESIGN §2).
  const actorOf = (event: HopEvent) => (event === 'bridge-forward' || event === 'bridge-flood' ? { actor: 'br0' } : event === 'encap' ? { actor: 'vxlan0' } : {});
  for (const fr of frames) {
    const l = label(fr.layers);
    const vx = fr.layers.find((x) => x.proto === 'vxlan');
    const inner = lastOf(fr.layers, 'ip');
    const icmp = lastOf(fr.layers, 'icmp');
    const type = num(icmp, 'icmp.type');
    const src = str(inner, 'ip.src') ?? str(fr.layers.find((x) => x.proto === 'arp'), 'arp.src.proto_ipv4') ?? '?';
    const dst = str(inner, 'ip.dst') ?? str(fr.layers.find((x) => x.proto === 'arp'), 'arp.dst.proto_ipv4') ?? '?';
    const dir: Hop['dir'] = l.kind === 'dns' ? (l.event === 'dns-answer' ? 'reply' : 'request')
      : type === 0 || (type !== 8 && src !== owner && owner !== undefined) ? 'reply' : 'request';
    let step: number | undefined;
    let event: HopEvent = l.event;
    let note = l.note;
    if (l.kind === 'dns') step = 0;
    else if (l.kind === 'icmp' || l.kind === 'arp') {
      const packet = packetKey(fr.layers) ?? `${src}>${dst}@${fr.t}`;
      // Encapsulated sightings count across captures; inner ones within one capture (in, then out).
      const key = vx ? `vxlan|${packet}` : `${fr.file}|${packet}`;
      const seen = (sightings.get(key) ?? 0) + 1;
      sightings.set(key, seen);
      const local = localOf.get(fr.file);
      if (vx) {
        // One capture of the wire is step 5; with captures on both hosts, sender's 4 and receiver's 6.
        step = vxlanFiles.size > 1 ? (seen === 1 ? 4 : 6) : 5;
        event = step === 4 ? 'encap' : step === 5 ? 'underlay' : 'udp-deliver';
        const outer = fr.layers.find((x) => x.proto === 'ip');
        note = `VNI ${vx['vxlan.vni']}: ${outer?.['ip.src']} → ${outer?.['ip.dst']} carries ${src} → ${dst}`;
      } else if (fr.point === 'container') {
        const sent = src === local;
        step = l.kind === 'arp' ? 1 : sent ? 1 : 8;
        event = l.kind === 'arp' ? l.event : sent ? 'send' : 'deliver';
      } else if (fr.point === 'overlay') {
        const fromLocal = src === local;
        step = fromLocal ? (seen === 1 ? 2 : 3) : seen === 1 ? 7 : 8;
        event = step === 2 ? 'veth-cross' : step === 3 ? 'bridge-forward' : step === 7 ? 'decap' : 'bridge-forward';
        if (l.kind === 'arp') event = l.event;
      }
    }
    const kind: Flow['kind'] = l.kind === 'icmp' || l.kind === 'arp' ? 'icmp-echo' : l.kind === 'dns' ? 'dns' : 'other';
    const pair = [src, dst].sort().join('|');
    const flow = kind === 'icmp-echo' ? flowFor(kind, owner ?? src, owner === dst ? src : dst, `icmp|${pair}`)
      : kind === 'dns' ? flowFor(kind, src, EMBEDDED_DNS_IP, 'dns') : flowFor(kind, 'swarm', 'swarm', `other|${l.note ?? 'other'}`);
    flow.hops.push({
      ...(step !== undefined ? { step } : {}), dir, host: fr.point === 'underlay' ? 'underlay' : fr.file.split('/').pop()!.replace(/\.(pcap|pcapng)$/, ''),
      netns: fr.point, device: fr.point === 'underlay' ? 'segment' : fr.point === 'overlay' ? 'any' : 'eth0', ...actorOf(event), event, timeNs: Number(fr.t - t0), layers: fr.layers, ...(note ? { note } : {}),
    });
  }
  const underlayHosts = new Set<string>();
  for (const fr of frames) if (fr.layers.some((x) => x.proto === 'vxlan')) {
    const outer = fr.layers.find((x) => x.proto === 'ip');
    if (outer) underlayHosts.add(outer['ip.src'] as string).add(outer['ip.dst'] as string);
  }
  const trace: Trace = {
    format: TRACE_FORMAT, scenario: name, mode: 'replay',
    topology: { hosts: [...underlayHosts].sort().map((ip) => ({ name: ip, underlay: ip })), namespaces: [], links: [] },
    flows: [...flows.values()],
  };
  return { trace, warnings };
}
