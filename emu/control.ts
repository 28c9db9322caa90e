/**
 * dockerd's traffic in a traced ping's captures, as control-plane flows (the trace's
 * `control`): the hosts' underlay interfaces and the segment see the listener holders'
 * probes, push/pulls and heartbeats (listeners.ts) that crossed during the capture. Each
 * frame is named by what it must be, the lengths being the encoders' (sim/model/cluster.ts):
 * a UDP datagram 7946 → 7946 as long as a ping starts a probe, the next datagram back as
 * long as an ack ends it; a TCP connection to 7946 is a push/pull; a TLS application-data
 * record from a worker to 2377 as long as a heartbeat request starts a heartbeat, and the
 * connection's packets until the next one belong to it. What fits none (a TLS handshake, a
 * connection begun before the capture) is left out.
 */
import * as fs from 'fs';
import { readCapture } from '../sim/pcap/reader';
import { dissect } from '../sim/wire/dissect';
import { Layer } from '../sim/wire/layer';
import { ControlKind, Flow, Hop, HopEvent } from '../sim/trace/types';
import { NodeTraffic, SWARM_API_PORT } from '../sim/model/cluster';
import { MEMBERLIST_PORT } from '../sim/wire/memberlist';
import { TLS13_RECORD_OVERHEAD } from '../sim/wire/tls';
import type { CapturePoint } from './capture';

interface Seen {
  p: CapturePoint;
  layers: Layer[];
  t: number;
}

const get = (layers: Layer[], proto: string, field: string): unknown => layers.find((l) => l.proto === proto)?.[field];

/** The host an underlay address belongs to. */
export type HostOfAddress = (ip: string) => string | undefined;

/**
 * The control-plane flows in the capture points' files (the host and underlay points only),
 * numbered on from `counts`; `traffic` is each host's NodeTraffic by name.
 */
export async function controlFlowsFrom(points: CapturePoint[], startNs: bigint, traffic: Map<string, NodeTraffic>, hostOf: HostOfAddress, counts: Map<ControlKind, number>): Promise<Flow[]> {
  const seen: Seen[] = [];
  for (const p of points) {
    if ((p.role !== 'host' && p.role !== 'underlay') || !fs.existsSync(p.file)) continue;
    const cap = await readCapture(p.file);
    for (const f of cap.frames) seen.push({ p, layers: dissect(f.data, f.linktype), t: Number(BigInt(f.seconds) * 1_000_000_000n + BigInt(f.nanos) - startNs) });
  }
  seen.sort((a, b) => a.t - b.t);
  const flows: Flow[] = [];
  /** Flows by the key their later packets carry. */
  const open = new Map<string, Flow>();
  const newFlow = (control: ControlKind, from: string, to: string): Flow => {
    const n = (counts.get(control) ?? 0) + 1;
    counts.set(control, n);
    const flow: Flow = { id: `${control}-${n}`, kind: 'control-plane', control, from, to, hops: [] };
    flows.push(flow);
    return flow;
  };
  // Each frame is seen at both hosts' interfaces and on the segment: it is named once, by its first sighting.
  const named = new Map<string, { flow: Flow; dir: Hop['dir'] }>();
  for (const x of seen) {
    const src = get(x.layers, 'ip', 'ip.src') as string | undefined, dst = get(x.layers, 'ip', 'ip.dst') as string | undefined;
    if (!src || !dst || x.layers.some((l) => l.proto === 'vxlan' || l.proto === 'icmp')) continue;
    const from = hostOf(src), to = hostOf(dst);
    if (!from || !to) continue;
    const udp = x.layers.find((l) => l.proto === 'udp'), tcp = x.layers.find((l) => l.proto === 'tcp');
    const frameKey = `${src}>${dst}#${get(x.layers, 'ip', 'ip.id')}#${get(x.layers, 'ip', 'ip.len')}`;
    let owner = named.get(frameKey);
    if (!owner && udp && udp['udp.srcport'] === MEMBERLIST_PORT && udp['udp.dstport'] === MEMBERLIST_PORT) {
      const length = (udp['udp.length'] as number) - 8;
      const pair = `probe|${[src, dst].sort().join('|')}`;
      const waiting = open.get(`${pair}|${dst}`);
      if (traffic.get(from)?.ping.includes(length)) {
        const flow = newFlow('memberlist-probe', from, to);
        open.set(`${pair}|${src}`, flow);
        owner = { flow, dir: 'request' };
      } else if (waiting && traffic.get(from)?.ack.includes(length)) {
        open.delete(`${pair}|${dst}`);
        owner = { flow: waiting, dir: 'reply' };
      }
    } else if (!owner && tcp) {
      const sport = tcp['tcp.srcport'] as number, dport = tcp['tcp.dstport'] as number;
      const toServer = dport === MEMBERLIST_PORT || dport === SWARM_API_PORT;
      const conn = toServer ? `${src}:${sport}>${dst}:${dport}` : `${dst}:${dport}>${src}:${sport}`;
      const dir = toServer ? 'request' : 'reply';
      const syn = ((tcp['tcp.flags'] as number) & 0x12) === 0x02;
      const record = x.layers.find((l) => l.proto === 'tls');
      if (syn && dport === MEMBERLIST_PORT) open.set(conn, newFlow('memberlist-push-pull', from, to));
      const heartbeat = traffic.get(from)?.heartbeat.request;
      if (toServer && dport === SWARM_API_PORT && record?.['tls.record.content_type'] === 23 && heartbeat !== undefined && record['tls.record.length'] === heartbeat + TLS13_RECORD_OVERHEAD) {
        open.set(conn, newFlow('swarm-heartbeat', from, to));
      }
      const flow = open.get(conn);
      if (flow) owner = { flow, dir };
    }
    if (!owner) continue;
    named.set(frameKey, owner);
    const underlay = x.p.role === 'underlay';
    const out = x.p.mine.includes(src);
    // The segment's point sees each frame as it enters; the hosts' each as sent or taken.
    if (underlay && !out) continue;
    const event: HopEvent = underlay ? 'underlay' : out ? 'send' : 'deliver';
    owner.flow.hops.push({ dir: owner.dir, host: underlay ? 'underlay' : x.p.host, netns: underlay ? 'underlay' : x.p.netns, device: underlay ? 'segment' : x.p.device, event, timeNs: Math.max(0, x.t), layers: x.layers });
  }
  return flows;
}
