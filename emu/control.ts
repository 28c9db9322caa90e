/**
 * dockerd's traffic in a traced ping's captures, as control-plane flows (the trace's
 * `control`): the hosts' underlay interfaces and the segment see the listener holders'
 * probes, push/pulls, bulk syncs, gossip and heartbeats (listeners.ts, netdb.ts) that crossed
 * during the capture. Each frame is named by what it must be, the lengths being the encoders'
 * (sim/model/cluster.ts): a UDP datagram 7946 → 7946 as long as a ping starts a probe, the
 * next datagram back as long as an ack ends it, one as long as a gossip round the sender was
 * given is NetworkDB's gossip (one way); a TCP connection to 7946 is a bulk sync when the
 * stream its first data starts (memberlist's encryptMsg header says how long) is as long as
 * one of the sender's, else a push/pull; a TLS application-data record from a worker to 2377
 * as long as a heartbeat request starts a heartbeat, and the connection's packets until the
 * next one belong to it. What fits none (a TLS handshake, a connection begun before the
 * capture) is left out.
 */
import * as fs from 'fs';
import { readCapture } from '../sim/pcap/reader';
import { dissect, LINKTYPE_ETHERNET, LINKTYPE_LINUX_SLL, LINKTYPE_LINUX_SLL2 } from '../sim/wire/dissect';
import { Layer } from '../sim/wire/layer';
import { ControlKind, Flow, Hop, HopEvent } from '../sim/trace/types';
import { NodeTraffic, SWARM_API_PORT } from '../sim/model/cluster';
import { MEMBERLIST_MSG, MEMBERLIST_PORT } from '../sim/wire/memberlist';
import { TLS13_RECORD_OVERHEAD } from '../sim/wire/tls';
import { ETHERNET_HEADER_LEN } from '../sim/wire/ethernet';
import { SLL2_HEADER_LEN, SLL_HEADER_LEN } from '../sim/wire/sll';
import type { CapturePoint } from './capture';

interface Seen {
  p: CapturePoint;
  layers: Layer[];
  frame: Buffer;
  linktype: number;
  t: number;
}

const get = (layers: Layer[], proto: string, field: string): unknown => layers.find((l) => l.proto === proto)?.[field];

/** The host an underlay address belongs to. */
export type HostOfAddress = (ip: string) => string | undefined;

/** What the hosts' daemons were given to send: each one's timers' traffic, and the lengths of the gossip datagrams and join syncs it was handed. */
export interface SentByHosts {
  traffic: Map<string, NodeTraffic>;
  gossip: Map<string, Set<number>>;
  bulkSync?: Map<string, Set<number>>;
}

/** An exchange being read: its hops, and its flow once it is known what it is. */
interface Exchange {
  from: string;
  to: string;
  hops: Hop[];
  flow?: Flow;
}

/** How long the memberlist stream is that a TCP segment's payload starts (its encryptMsg header), if it starts one. */
function streamLength(x: Seen): number | undefined {
  const link = x.linktype === LINKTYPE_ETHERNET ? ETHERNET_HEADER_LEN : x.linktype === LINKTYPE_LINUX_SLL ? SLL_HEADER_LEN : x.linktype === LINKTYPE_LINUX_SLL2 ? SLL2_HEADER_LEN : 0;
  const at = link + Number(get(x.layers, 'ip', 'ip.hdr_len')) + Number(get(x.layers, 'tcp', 'tcp.hdr_len'));
  const end = link + Number(get(x.layers, 'ip', 'ip.len'));
  if (!(end - at >= 5 && x.frame.length >= at + 5) || x.frame[at] !== MEMBERLIST_MSG.encrypt) return undefined;
  return 5 + x.frame.readUInt32BE(at + 1);
}

/**
 * The control-plane flows in the capture points' files (the host and underlay points only),
 * numbered on from `counts`.
 */
export async function controlFlowsFrom(points: CapturePoint[], startNs: bigint, sent: SentByHosts, hostOf: HostOfAddress, counts: Map<ControlKind, number>): Promise<Flow[]> {
  const { traffic } = sent;
  const seen: Seen[] = [];
  for (const p of points) {
    if ((p.role !== 'host' && p.role !== 'underlay') || !fs.existsSync(p.file)) continue;
    const cap = await readCapture(p.file);
    for (const f of cap.frames) seen.push({ p, layers: dissect(f.data, f.linktype), frame: f.data, linktype: f.linktype, t: Number(BigInt(f.seconds) * 1_000_000_000n + BigInt(f.nanos) - startNs) });
  }
  seen.sort((a, b) => a.t - b.t);
  const flows: Flow[] = [];
  /** Exchanges by the key their later packets carry. */
  const open = new Map<string, Exchange>();
  const name = (x: Exchange, control: ControlKind): Exchange => {
    const n = (counts.get(control) ?? 0) + 1;
    counts.set(control, n);
    x.flow = { id: `${control}-${n}`, kind: 'control-plane', control, from: x.from, to: x.to, hops: x.hops };
    flows.push(x.flow);
    return x;
  };
  const exchange = (from: string, to: string): Exchange => ({ from, to, hops: [] });
  // Each frame is seen at both hosts' interfaces and on the segment: it is named once, by its first sighting.
  const named = new Map<string, { x: Exchange; dir: Hop['dir'] }>();
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
        const probe = name(exchange(from, to), 'memberlist-probe');
        open.set(`${pair}|${src}`, probe);
        owner = { x: probe, dir: 'request' };
      } else if (waiting && traffic.get(from)?.ack.includes(length)) {
        open.delete(`${pair}|${dst}`);
        owner = { x: waiting, dir: 'reply' };
      } else if (sent.gossip.get(from)?.has(length)) {
        owner = { x: name(exchange(from, to), 'networkdb-gossip'), dir: 'request' };
      }
    } else if (!owner && tcp) {
      const sport = tcp['tcp.srcport'] as number, dport = tcp['tcp.dstport'] as number;
      const toServer = dport === MEMBERLIST_PORT || dport === SWARM_API_PORT;
      const conn = toServer ? `${src}:${sport}>${dst}:${dport}` : `${dst}:${dport}>${src}:${sport}`;
      const dir = toServer ? 'request' : 'reply';
      const syn = ((tcp['tcp.flags'] as number) & 0x12) === 0x02;
      const record = x.layers.find((l) => l.proto === 'tls');
      if (syn && dport === MEMBERLIST_PORT) open.set(conn, exchange(from, to));
      const heartbeat = traffic.get(from)?.heartbeat.request;
      if (toServer && dport === SWARM_API_PORT && record?.['tls.record.content_type'] === 23 && heartbeat !== undefined && record['tls.record.length'] === heartbeat + TLS13_RECORD_OVERHEAD) {
        open.set(conn, name(exchange(from, to), 'swarm-heartbeat'));
      }
      const x7946 = open.get(conn);
      // A connection to 7946 is known by the first stream its client writes: a bulk sync of the sender's, or a push/pull.
      const length = x7946 && !x7946.flow && toServer && dport === MEMBERLIST_PORT ? streamLength(x) : undefined;
      if (x7946 && length !== undefined) {
        const t = traffic.get(from);
        const bulkSync = (t && (t.bulkSync.some((b) => b.stream === length) || t.bulkSyncIn.some((b) => b.answer === length))) || sent.bulkSync?.get(from)?.has(length);
        name(x7946, bulkSync ? 'networkdb-bulk-sync' : 'memberlist-push-pull');
      }
      if (x7946) owner = { x: x7946, dir };
    }
    if (!owner) continue;
    named.set(frameKey, owner);
    const underlay = x.p.role === 'underlay';
    const out = x.p.mine.includes(src);
    // The segment's point sees each frame as it enters; the hosts' each as sent or taken.
    if (underlay && !out) continue;
    const event: HopEvent = underlay ? 'underlay' : out ? 'send' : 'deliver';
    owner.x.hops.push({ dir: owner.dir, host: underlay ? 'underlay' : x.p.host, netns: underlay ? 'underlay' : x.p.netns, device: underlay ? 'segment' : x.p.device, event, timeNs: Math.max(0, x.t), layers: x.layers });
  }
  return flows;
}
