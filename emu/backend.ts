/**
 * The emu backend: the model's plan on the real kernel, mininet-style. Each scenario host
 * is a network namespace on a shared underlay bridge; Docker's namespaces live beside it
 * under the same run prefix. Commands run with `ip netns exec`; pings are traced from live
 * tcpdump captures into the same trace as sim.
 */
import * as fs from 'fs';
import * as path from 'path';
import { Backend, CommandOutput, ExecContext } from '../sim/backend';
import { PlanOp } from '../sim/plan/ops';
import { Scenario } from '../sim/scenario/schema';
import { Container, hostOf, World } from '../sim/model/world';
import { Flow, Topology } from '../sim/trace/types';
import { topologyFromWorld } from '../sim/trace/topology';
import { overlayNetnsName } from '../sim/model/plumbing';
import { answerQuery } from '../sim/model/dns';
import { isIpv4 } from '../sim/wire/addr';
import { checkEmuPrerequisites } from './prereq';
import { NameMap, newPrefix, safe, safeValue } from './names';
import { RunRecord } from './state';
import { batch, must, run } from './exec';
import { toPhases } from './translate';
import { EmbeddedDns } from './dns';
import { Capture, captureFile, CapturePoint, hopsFrom } from './capture';
import { teardown } from './clean';
import { Progress } from './progress';

export interface EmuOptions {
  pcapDir?: string;
  keep?: boolean;
  quiet?: boolean;
}

export class EmuBackend implements Backend {
  readonly mode = 'emu' as const;
  private readonly flowList: Flow[] = [];
  private readonly startNs = process.hrtime.bigint();
  private readonly epochStartNs: bigint;
  private readonly dns: EmbeddedDns;
  private readonly onSignal: (sig: NodeJS.Signals) => void;
  private closed = false;
  private readonly progress: Progress;

  private constructor(
    readonly names: NameMap,
    readonly record: RunRecord,
    private readonly opts: EmuOptions,
  ) {
    this.epochStartNs = BigInt(Date.now()) * 1_000_000n;
    this.dns = new EmbeddedDns(record, names);
    this.progress = new Progress(!!opts.quiet);
    this.onSignal = (sig) => {
      void this.close().finally(() => process.exit(sig === 'SIGINT' ? 130 : 143));
    };
    process.once('SIGINT', this.onSignal);
    process.once('SIGTERM', this.onSignal);
  }

  static async create(s: Scenario, opts: EmuOptions): Promise<EmuBackend> {
    checkEmuPrerequisites();
    const names = new NameMap(newPrefix());
    const record = new RunRecord(names.prefix, s.name, !!opts.keep);
    const b = new EmuBackend(names, record, opts);
    try {
      record.addNamespaces([names.underlay]);
      await batch('ip', undefined, [['netns', 'add', names.underlay]]);
      await batch('ip', names.underlay, [['link', 'set', 'lo', 'up'], ['link', 'add', 'ul0', 'type', 'bridge'], ['link', 'set', 'ul0', 'up']]);
    } catch (e) {
      await b.close();
      throw e;
    }
    return b;
  }

  async apply(ops: PlanOp[], world: World): Promise<void> {
    const p = toPhases(ops, this.names);
    this.progress.expect(p.add.length);
    if (p.add.length) {
      this.record.addNamespaces(p.add);
      await batch('ip', undefined, p.add.map((n) => ['netns', 'add', n]));
    }
    if (p.hosts.length) {
      await batch('ip', this.names.underlay, p.hosts.flatMap((h) => [
        ['link', 'add', safe(`u-${h.host}`), 'type', 'veth', 'peer', 'name', 'eth0', 'netns', h.netns],
        ['link', 'set', safe(`u-${h.host}`), 'master', 'ul0', 'up'],
      ]));
      await Promise.all(p.hosts.map((h) => batch('ip', h.netns, [['link', 'set', 'lo', 'up'], ['addr', 'add', safeValue(h.address), 'brd', '+', 'dev', 'eth0'], ['link', 'set', 'eth0', 'up']])));
    }
    await Promise.all(p.hostBatches.map((b) => batch('ip', b.netns, b.ip)));
    await Promise.all(p.otherBatches.map(async (b) => {
      await batch('ip', b.netns, b.ip);
      if (b.bridge.length) await must('bridge', ['-n', b.netns, '-force', '-batch', '-'], b.bridge.map((l) => l.join(' ')).join('\n') + '\n').catch(() => undefined);
    }));
    for (const f of p.files) {
      const dir = path.join('/etc/netns', f.netns);
      this.record.addFile(dir);
      fs.mkdirSync(dir, { recursive: true });
      fs.writeFileSync(path.join(dir, f.name), f.content);
    }
    if (p.del.length) {
      for (const d of p.del) this.dns.stop(d);
      await batch('ip', undefined, p.del.map((n) => ['netns', 'del', n]));
      for (const d of p.del) fs.rmSync(path.join('/etc/netns', d), { recursive: true, force: true });
      this.record.forgetNamespaces(p.del);
    }
    await this.dns.sync(world);
    this.progress.tick(p.add.length);
  }

  async exec(host: string, netns: string, argv: string[], ctx: ExecContext): Promise<CommandOutput> {
    this.progress.done();
    const real = this.names.netns(host, netns);
    const c = ctx.container ? containerById(ctx.world, ctx.container) : undefined;
    if (argv[0] === 'ping' && c) return this.tracedPing(c, real, argv, ctx);
    const r = await run('ip', ['netns', 'exec', real, ...argv]);
    if (r.exitCode === 255 && /exec of ".*" failed/.test(r.stderr)) return { stdout: '', stderr: `bash: ${argv[0]}: command not found\n`, exitCode: 127 };
    return { stdout: this.names.unmap(r.stdout, host), stderr: this.names.unmap(r.stderr, host), exitCode: r.exitCode };
  }

  /** Captures along the path the model says the ping takes, runs the real ping, and traces it. */
  private async tracedPing(c: Container, real: string, argv: string[], ctx: ExecContext): Promise<CommandOutput> {
    const target = argv.slice(1).filter((a, i, all) => !a.startsWith('-') && !/^-[ciWwsMIit]$/.test(all[i - 1] ?? '')).pop() ?? '';
    const dst = isIpv4(target) ? target : answerQuery(ctx.world, c, target, 'A').answers[0]?.data;
    const flow: Flow = { id: `ping-${this.flowList.filter((f) => f.kind === 'icmp-echo').length + 1}`, kind: 'icmp-echo', from: c.name, to: target, hops: [] };
    const dir = this.opts.pcapDir ?? path.join(this.record.dir, 'captures', flow.id);
    fs.mkdirSync(dir, { recursive: true });
    const points = capturePoints(ctx.world, c, dst, this.names, dir);
    const capture = new Capture(points);
    let out;
    try {
      await capture.start();
      out = await run('ip', ['netns', 'exec', real, ...argv]);
      await new Promise((r) => setTimeout(r, 50));
    } finally {
      await capture.stop();
    }
    const src = ctx.world.swarm ? endpointIp(ctx.world, c, dst) : undefined;
    if (dst && src) {
      flow.hops = await hopsFrom(points, { src, dst }, this.epochStartNs);
      this.flowList.push(flow);
    }
    return { stdout: out.stdout, stderr: out.stderr, exitCode: out.exitCode };
  }

  flows(): Flow[] {
    return this.flowList;
  }

  topology(world: World): Topology {
    return topologyFromWorld(world);
  }

  elapsedNs(): number {
    return Number(process.hrtime.bigint() - this.startNs);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.progress.done();
    process.removeListener('SIGINT', this.onSignal);
    process.removeListener('SIGTERM', this.onSignal);
    this.dns.stopAll();
    if (this.opts.keep) return;
    await teardown(this.record.state);
    this.record.remove();
  }
}

function containerById(world: World, id: string): Container | undefined {
  for (const h of world.hostOrder) {
    const c = hostOf(world, h).containers[id];
    if (c) return c;
  }
  return undefined;
}

/** The address container c uses toward dst: its endpoint on the network holding dst. */
function endpointIp(world: World, c: Container, dst: string | undefined): string | undefined {
  for (const entry of c.networks) {
    const net = world.swarm?.networks[entry.networkId] ?? hostOf(world, c.host).localNetworks[entry.networkId];
    const ep = entry.endpointId ? net?.endpoints[entry.endpointId] : undefined;
    if (ep && dst && Object.values(net!.endpoints).some((e) => e.ip === dst)) return ep.ip;
  }
  return undefined;
}

function capturePoints(world: World, c: Container, dst: string | undefined, names: NameMap, dir: string): CapturePoint[] {
  const points: CapturePoint[] = [];
  const add = (p: Omit<CapturePoint, 'file'>) => points.push({ ...p, file: captureFile(dir, p) });
  add({ host: c.host, netns: c.sandbox, device: 'lo', realNetns: names.netns(c.host, c.sandbox), iface: 'lo', role: 'lo', mine: [] });
  if (!dst) return points;
  for (const entry of c.networks) {
    const net = world.swarm?.networks[entry.networkId];
    const ep = entry.endpointId ? net?.endpoints[entry.endpointId] : undefined;
    const peer = net && Object.values(net.endpoints).find((e) => e.ip === dst && e.state === 'joined');
    if (!net || !ep || !peer) continue;
    const ovl = overlayNetnsName(net.id);
    const local = (host: string) => Object.values(net.endpoints).filter((e) => e.host === host).map((e) => e.mac);
    for (const e of peer.host === ep.host ? [ep, peer] : [ep, peer]) {
      add({ host: e.host, netns: e.sandbox, device: e.ifname, realNetns: names.netns(e.host, e.sandbox), iface: e.ifname, role: 'container', mine: [e.mac] });
      add({ host: e.host, netns: ovl, device: e.peerIfname, realNetns: names.netns(e.host, ovl), iface: e.peerIfname, role: 'overlay-veth', mine: [e.mac] });
    }
    if (peer.host !== ep.host) {
      for (const host of [ep.host, peer.host]) {
        add({ host, netns: ovl, device: 'vxlan0', realNetns: names.netns(host, ovl), iface: 'vxlan0', role: 'vxlan', mine: local(host) });
        add({ host, netns: host, device: 'eth0', realNetns: names.netns(host, host), iface: 'eth0', role: 'host', mine: [hostOf(world, host).underlay] });
      }
      add({ host: 'underlay', netns: 'underlay', device: `u-${ep.host}`, realNetns: names.underlay, iface: `u-${ep.host}`, role: 'underlay', mine: [] });
    }
    break;
  }
  return points;
}
