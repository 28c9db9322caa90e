/**
 * dockerd's traffic in the hosts' underlay captures, as control-plane flows (the trace's
 * `control`): each swarm node's eth0 is captured from the step it joins until the run ends
 * (capture.ts ControlCapture), and read after every step, so each step's span holds the
 * listener holders' probes, push/pulls, bulk syncs, gossip and heartbeats (listeners.ts,
 * netdb.ts) that crossed in it. Each frame is named by what it must be, the lengths being the encoders'
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
import { CaptureError, streamCapture } from '../sim/pcap/reader';
import { frameTimeNs } from '../sim/pcap/frame';
import { ControlRecord } from '../sim/trace/control_record';
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

/**
 * What the hosts' daemons were given to send: each one's timers' traffic as it stood after
 * each change so far (a frame read late was sent with the traffic of its time, a bulk sync as
 * long as the network's entries were then), and the lengths of the gossip datagrams and join
 * syncs it was handed.
 */
export interface SentByHosts {
  traffic: Map<string, NodeTraffic[]>;
  gossip: Map<string, Set<number>>;
  bulkSync?: Map<string, Set<number>>;
}

/** An exchange being read: its hops, and its flow once it is known what it is and the trace keeps it. */
interface Exchange {
  from: string;
  to: string;
  hops: Hop[];
  flow?: Flow;
  /** Named, but past the trace's bound: its packets are its own, and go unrecorded. */
  notKept?: boolean;
}

/** How long the memberlist stream is that a TCP segment's payload starts (its encryptMsg header), if it starts one. */
function streamLength(x: Seen): number | undefined {
  const link = x.linktype === LINKTYPE_ETHERNET ? ETHERNET_HEADER_LEN : x.linktype === LINKTYPE_LINUX_SLL ? SLL_HEADER_LEN : x.linktype === LINKTYPE_LINUX_SLL2 ? SLL2_HEADER_LEN : 0;
  const at = link + Number(get(x.layers, 'ip', 'ip.hdr_len')) + Number(get(x.layers, 'tcp', 'tcp.hdr_len'));
  const end = link + Number(get(x.layers, 'ip', 'ip.len'));
  if (!(end - at >= 5 && x.frame.length >= at + 5) || x.frame[at] !== MEMBERLIST_MSG.encrypt) return undefined;
  return 5 + x.frame.readUInt32BE(at + 1);
}

/** How long a frame's key stays known (seen at the sender, then at the receiver): well past the underlay's latency, well short of IP ids' wrap. */
const SIGHTING_WINDOW_NS = 2_000_000_000;

/**
 * The control-plane flows in the capture points' files (the host and underlay points only),
 * read step by step: each read takes the frames the files gained since the last one, names
 * new exchanges as the trace's record allows (ControlRecord: each step's first exchanges of
 * each kind, the rest counted), and adds later packets to exchanges begun in earlier steps
 * (an exchange belongs to the step it began in, as in sim).
 */
export class ControlReader {
  /** Exchanges by the key their later packets carry. */
  private readonly open = new Map<string, Exchange>();
  /** Each frame is seen at both hosts' interfaces (and on the segment): it is named once, by its first sighting. */
  private readonly named = new Map<string, { x: Exchange; dir: Hop['dir']; t: number }>();
  /** Per capture file, the frames already read. */
  private readonly framesRead = new Map<string, number>();
  /** Every hop placed so far (the record's bound counts them). */
  private hopsRead = 0;
  /** The exchanges kept, within the trace's bound, and those counted past it. */
  readonly record: ControlRecord;

  /** `traced`: the commands' flows (a step that traced none keeps fewer of its exchanges). */
  constructor(private readonly startNs: bigint, traced: readonly unknown[]) {
    const reader = this;
    this.record = new ControlRecord({ flows: traced, get hopCount() { return reader.hopsRead; } });
  }

  async read(points: CapturePoint[], sent: SentByHosts, hostOf: HostOfAddress): Promise<void> {
    const seen: Seen[] = [];
    for (const p of points) {
      if ((p.role !== 'host' && p.role !== 'underlay') || !fs.existsSync(p.file)) continue;
      const done = this.framesRead.get(p.file) ?? 0;
      let n = 0;
      try {
        // A live capture: its last record may be half written (the reader leaves it out, to be read next time).
        await streamCapture(p.file, (f) => {
          if (n++ >= done) seen.push({ p, layers: dissect(f.data, f.linktype), frame: f.data, linktype: f.linktype, t: Number(frameTimeNs(f) - this.startNs) });
        });
      } catch (e) {
        // A tcpdump that has not yet written its file header: nothing to read yet.
        if (!(e instanceof CaptureError)) throw e;
      }
      this.framesRead.set(p.file, Math.max(done, n));
    }
    seen.sort((a, b) => a.t - b.t);
    for (const x of seen) this.take(x, sent, hostOf);
    const latest = seen.length ? seen[seen.length - 1].t : undefined;
    if (latest !== undefined) for (const [key, o] of this.named) if (o.t < latest - SIGHTING_WINDOW_NS) this.named.delete(key);
  }

  /** An exchange that begins: numbered and kept when the record keeps it; one not kept still owns its packets, unrecorded. */
  private name(x: Exchange, control: ControlKind): Exchange {
    if (this.record.keeps(control)) {
      x.flow = this.record.flow(control, x.from, x.to);
      x.flow.hops.push(...x.hops);
      x.hops = x.flow.hops;
    } else {
      x.notKept = true;
    }
    return x;
  }

  private take(x: Seen, sent: SentByHosts, hostOf: HostOfAddress): void {
    const given = (host: string) => sent.traffic.get(host) ?? [];
    const { open, named } = this;
    const exchange = (from: string, to: string): Exchange => ({ from, to, hops: [] });
    const src = get(x.layers, 'ip', 'ip.src') as string | undefined, dst = get(x.layers, 'ip', 'ip.dst') as string | undefined;
    if (!src || !dst || x.layers.some((l) => l.proto === 'vxlan' || l.proto === 'icmp')) return;
    const from = hostOf(src), to = hostOf(dst);
    if (!from || !to) return;
    const udp = x.layers.find((l) => l.proto === 'udp'), tcp = x.layers.find((l) => l.proto === 'tcp');
    const frameKey = `${src}>${dst}#${get(x.layers, 'ip', 'ip.id')}#${get(x.layers, 'ip', 'ip.len')}`;
    let owner: { x: Exchange; dir: Hop['dir'] } | undefined = named.get(frameKey);
    if (!owner && udp && udp['udp.srcport'] === MEMBERLIST_PORT && udp['udp.dstport'] === MEMBERLIST_PORT) {
      const length = (udp['udp.length'] as number) - 8;
      const pair = `probe|${[src, dst].sort().join('|')}`;
      const waiting = open.get(`${pair}|${dst}`);
      if (given(from).some((t) => t.ping.includes(length))) {
        const probe = this.name(exchange(from, to), 'memberlist-probe');
        open.set(`${pair}|${src}`, probe);
        owner = { x: probe, dir: 'request' };
      } else if (waiting && given(from).some((t) => t.ack.includes(length))) {
        open.delete(`${pair}|${dst}`);
        owner = { x: waiting, dir: 'reply' };
      } else if (sent.gossip.get(from)?.has(length)) {
        owner = { x: this.name(exchange(from, to), 'networkdb-gossip'), dir: 'request' };
      }
    } else if (!owner && tcp) {
      const sport = tcp['tcp.srcport'] as number, dport = tcp['tcp.dstport'] as number;
      const toServer = dport === MEMBERLIST_PORT || dport === SWARM_API_PORT;
      const conn = toServer ? `${src}:${sport}>${dst}:${dport}` : `${dst}:${dport}>${src}:${sport}`;
      const dir = toServer ? 'request' : 'reply';
      const syn = ((tcp['tcp.flags'] as number) & 0x12) === 0x02;
      const record = x.layers.find((l) => l.proto === 'tls');
      if (syn && dport === MEMBERLIST_PORT) open.set(conn, exchange(from, to));
      const heartbeat = (t: NodeTraffic) => record?.['tls.record.length'] === t.heartbeat.request + TLS13_RECORD_OVERHEAD;
      if (toServer && dport === SWARM_API_PORT && record?.['tls.record.content_type'] === 23 && given(from).some(heartbeat)) {
        open.set(conn, this.name(exchange(from, to), 'swarm-heartbeat'));
      }
      const x7946 = open.get(conn);
      // A connection to 7946 is known by the first stream its client writes: a bulk sync of the sender's, or a push/pull.
      const length = x7946 && !x7946.flow && !x7946.notKept && toServer && dport === MEMBERLIST_PORT ? streamLength(x) : undefined;
      if (x7946 && length !== undefined) {
        const bulkSync = given(from).some((t) => t.bulkSync.some((b) => b.stream === length) || t.bulkSyncIn.some((b) => b.answer === length)) || sent.bulkSync?.get(from)?.has(length);
        this.name(x7946, bulkSync ? 'networkdb-bulk-sync' : 'memberlist-push-pull');
      }
      if (x7946) owner = { x: x7946, dir };
    }
    if (!owner) return;
    named.set(frameKey, { ...owner, t: x.t });
    const underlay = x.p.role === 'underlay';
    const out = x.p.mine.includes(src);
    // The segment's point sees each frame as it enters; the hosts' each as sent or taken.
    if ((underlay && !out) || owner.x.notKept) return;
    const event: HopEvent = underlay ? 'underlay' : out ? 'send' : 'deliver';
    this.hopsRead++;
    owner.x.hops.push({ dir: owner.dir, host: underlay ? 'underlay' : x.p.host, netns: underlay ? 'underlay' : x.p.netns, device: underlay ? 'segment' : x.p.device, event, timeNs: Math.max(0, x.t), layers: x.layers });
  }
}
