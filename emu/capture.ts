/**
 * Live captures for a traced ping: tcpdump at each capture point of the path (container
 * eth0, the overlay's vethN and vxlan0, each host's eth0, the underlay port, and lo for
 * DNS), started and confirmed listening before traffic, stopped with SIGINT, read with the
 * wire layer and turned into hops numbered like sim's.
 */
import { ChildProcess, spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { readCapture } from '../sim/pcap/reader';
import { dissect } from '../sim/wire/dissect';
import { Layer } from '../sim/wire/layer';
import { Hop, HopEvent } from '../sim/trace/types';
import { EmuEnvironmentError } from './state';

export interface CapturePoint {
  /** Logical place, as the trace names it. */
  host: string;
  netns: string;
  device: string;
  /** Real namespace and interface to capture on. */
  realNetns: string;
  iface: string;
  role: 'container' | 'overlay-veth' | 'vxlan' | 'host' | 'underlay' | 'lo';
  /** container: its MAC; overlay-veth: the MAC of the container behind it; vxlan: local container MACs; host: its underlay IP. */
  mine: string[];
  file: string;
}

/** A capture point tcpdump cannot listen on, and the kernel's reason: a state to trace, not a failure. */
export interface Unavailable {
  point: CapturePoint;
  reason: 'link down' | 'no such device';
}

export class Capture {
  private procs: ChildProcess[] = [];
  /** Points whose device is down or gone: no frame passes there, so nothing is lost by not listening. */
  readonly unavailable: Unavailable[] = [];

  constructor(readonly points: CapturePoint[]) {}

  /** Starts every capture; `record` learns each pid first, so a killed run's tcpdumps can be cleaned. */
  async start(record: (pid: number) => void): Promise<void> {
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

  async stop(): Promise<void> {
    await Promise.all(this.procs.map((p) => new Promise<void>((resolve) => {
      if (p.exitCode !== null || p.signalCode !== null) return resolve();
      p.once('exit', () => resolve());
      p.kill('SIGINT');
    })));
  }

  get pids(): number[] {
    return this.procs.map((p) => p.pid!).filter(Boolean);
  }

  kill(): void {
    for (const p of this.procs) if (p.exitCode === null) p.kill('SIGKILL');
  }
}

/** tcpdump's words (libpcap's PCAP_ERROR_IFACE_NOT_UP and PCAP_ERROR_NO_SUCH_DEVICE) for a device it cannot open. */
const DEVICE_STATE = [
  { re: /That device is not up/, reason: 'link down' as const },
  { re: /No such device exists/, reason: 'no such device' as const },
];

/** Resolves with the listening tcpdump, or with why the device cannot be captured on. */
function startTcpdump(p: CapturePoint, record: (pid: number) => void): Promise<ChildProcess | Unavailable['reason']> {
  const filter = p.role === 'lo' ? ['udp', 'port', '53'] : ['not', 'ip6'];
  const child = spawn('ip', ['netns', 'exec', p.realNetns, 'tcpdump', '-i', p.iface, '-n', '--immediate-mode', '-U', '-Z', 'root', '-s', '262144', '-w', p.file, ...filter],
    { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, PATH: `${process.env.PATH ?? ''}:/usr/sbin:/sbin` } });
  // `ip netns exec` execs tcpdump in place: the child's pid is tcpdump's.
  if (child.pid) record(child.pid);
  const where = `${p.host}/${p.netns}/${p.device}`;
  return new Promise((resolve, reject) => {
    let err = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new EmuEnvironmentError(`tcpdump on ${where} did not start: ${err.trim().split('\n').pop() ?? ''}`));
    }, 10000);
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      if (err.includes('listening on')) {
        clearTimeout(timer);
        resolve(child);
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (err.includes('listening on')) return;
      const state = DEVICE_STATE.find((s) => s.re.test(err));
      if (state) resolve(state.reason);
      else reject(new EmuEnvironmentError(`tcpdump on ${where} exited ${code}: ${err.trim().split('\n').pop() ?? ''}`));
    });
  });
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
}

function belongs(layers: Layer[], key: FlowKey, datagrams: Set<string>): 'icmp' | 'arp' | 'dns' | undefined {
  const arp = layers.find((l) => l.proto === 'arp');
  if (arp) {
    const ips = [arp['arp.src.proto_ipv4'], arp['arp.dst.proto_ipv4']];
    return ips.includes(key.src) && ips.includes(key.dst) ? 'arp' : undefined;
  }
  if (layers.some((l) => l.proto === 'dns')) return 'dns';
  const ips = layers.filter((l) => l.proto === 'ip');
  const inner = ips[ips.length - 1];
  if (!inner) return undefined;
  const pair = [inner['ip.src'], inner['ip.dst']];
  if (!pair.includes(key.src) || !pair.includes(key.dst)) return undefined;
  const icmp = layers.filter((l) => l.proto === 'icmp').pop();
  const dgram = `${inner['ip.src']}>${inner['ip.dst']}#${inner['ip.id']}`;
  if (icmp && (icmp['icmp.type'] === 8 || icmp['icmp.type'] === 0) && (key.ident === undefined || icmp['icmp.ident'] === key.ident)) {
    if (inner['ip.flags.mf']) datagrams.add(dgram);
    return 'icmp';
  }
  return (inner['ip.frag_offset'] as number) > 0 && datagrams.has(dgram) ? 'icmp' : undefined;
}

function classify(p: CapturePoint, layers: Layer[], kind: 'icmp' | 'arp' | 'dns', key: FlowKey): { step?: number; event: HopEvent; dir: 'request' | 'reply'; note?: string; actor?: string } | undefined {
  const innerSrcMac = field(layers, 'eth', 'eth.src') as string;
  const icmpType = field(layers, 'icmp', 'icmp.type');
  const innerSrcIp = field(layers, 'ip', 'ip.src') as string;
  const arpOp = field(layers, 'arp', 'arp.opcode');
  const arpSender = field(layers, 'arp', 'arp.src.proto_ipv4');
  const dir: 'request' | 'reply' = kind === 'arp' ? (arpSender === key.src && arpOp === 1) || (arpSender === key.dst && arpOp === 2) ? 'request' : 'reply'
    : kind === 'dns' ? (field(layers, 'dns', 'dns.flags.response') ? 'reply' : 'request')
    : icmpType === 0 ? 'reply' : icmpType === 8 ? 'request' : innerSrcIp === key.src ? 'request' : 'reply';
  if (kind === 'dns') return p.role === 'lo' ? { step: 0, event: dir === 'request' ? 'dns-query' : 'dns-answer', dir } : undefined;
  const arpEvent: HopEvent = arpOp === 1 ? 'arp-request' : 'arp-reply';
  switch (p.role) {
    case 'container': {
      const out = p.mine.includes(innerSrcMac);
      if (kind === 'arp') return { step: out && arpOp === 1 ? 1 : arpOp === 2 && !out ? 1 : 8, event: arpEvent, dir };
      return out ? { step: 1, event: 'send', dir } : { step: 8, event: 'deliver', dir };
    }
    case 'overlay-veth': {
      const fromContainer = p.mine.includes(innerSrcMac);
      // The overlay's bridge is br0 (DESIGN §2): it hands frames for the container to this veth.
      if (kind === 'arp') return fromContainer ? { step: 2, event: 'veth-cross', dir } : { step: arpOp === 2 ? 1 : 8, event: 'bridge-forward', dir, actor: 'br0' };
      return fromContainer ? { step: 2, event: 'veth-cross', dir } : { step: 8, event: 'bridge-forward', dir, actor: 'br0' };
    }
    case 'vxlan': {
      const out = p.mine.includes(innerSrcMac);
      if (kind === 'arp') return arpOp === 1 ? { step: 3, event: 'bridge-flood', dir, actor: 'br0' } : { step: 3, event: 'arp-proxy-reply', dir };
      return out ? { step: 3, event: 'bridge-forward', dir, actor: 'br0' } : { step: 7, event: 'decap', dir };
    }
    case 'host': {
      if (!layers.some((l) => l.proto === 'vxlan')) return undefined;
      const outer = layers.find((l) => l.proto === 'ip')!;
      return p.mine.includes(outer['ip.src'] as string)
        ? { step: 4, event: 'encap', dir, actor: 'vxlan0', note: `FDB ${field(layers, 'eth', 'eth.dst')} -> ${outer['ip.dst']}` }
        : { step: 6, event: 'udp-deliver', dir, note: `UDP ${field(layers, 'udp', 'udp.dstport', false)} → vxlan0 (VNI ${field(layers, 'vxlan', 'vxlan.vni')})` };
    }
    case 'underlay': {
      // Each host's port sees every frame between them; step 5 is where the frame enters the segment.
      const outer = layers.find((l) => l.proto === 'ip');
      return layers.some((l) => l.proto === 'vxlan') && p.mine.includes(outer?.['ip.src'] as string) ? { step: 5, event: 'underlay', dir } : undefined;
    }
    default:
      return undefined;
  }
}

/** Reads every capture point and returns the flow's hops in time order. */
export async function hopsFrom(points: CapturePoint[], key: FlowKey, startNs: bigint): Promise<Hop[]> {
  const hops: Hop[] = [];
  const datagrams = new Set<string>();
  const all: { p: CapturePoint; layers: Layer[]; t: number }[] = [];
  for (const p of points) {
    if (!fs.existsSync(p.file)) continue;
    const cap = await readCapture(p.file);
    for (const f of cap.frames) {
      const t = Number(BigInt(f.seconds) * 1_000_000_000n + BigInt(f.nanos) - startNs);
      all.push({ p, layers: dissect(f.data, f.linktype), t });
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
  for (const x of all) {
    const kind = belongs(x.layers, key, datagrams);
    if (!kind) continue;
    const c = classify(x.p, x.layers, kind, key);
    if (!c) continue;
    const underlay = x.p.role === 'underlay';
    hops.push({
      ...(c.step !== undefined ? { step: c.step } : {}), dir: c.dir, host: underlay ? 'underlay' : x.p.host, netns: underlay ? 'underlay' : x.p.netns,
      device: underlay ? 'segment' : x.p.device, ...(c.actor ? { actor: c.actor } : {}), event: c.event, timeNs: Math.max(0, x.t), layers: x.layers, ...(c.note ? { note: c.note } : {}),
    });
  }
  return hops;
}

export function captureFile(dir: string, p: { host: string; netns: string; device: string }): string {
  return path.join(dir, `${p.host}-${p.netns}-${p.device}.pcap`);
}
