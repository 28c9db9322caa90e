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
import { Container, Endpoint, endpointOf, endpointsOf, hostOf, swarmNetwork, World } from '../sim/model/world';
import { Flow, MAX_HOPS_PER_FLOW, Topology } from '../sim/trace/types';
import { topologyFromWorld } from '../sim/trace/topology';
import { overlayNetnsName } from '../sim/model/plumbing';
import { answerQuery } from '../sim/model/dns';
import { contains, ipv4ToNumber, isIpv4, parseCidr } from '../sim/wire/addr';
import { checkEmuPrerequisites } from './prereq';
import { NameMap, newPrefix } from './names';
import { RunRecord } from './state';
import { batch, batchEach, run } from './exec';
import { commandPhases, emuNamer, toPhases } from './translate';
import { underlayPort, underlaySetup } from '../sim/plan/iproute2';
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
  private signalled = false;
  /** The kernel work under way; close() waits for it so nothing is created after teardown. */
  private busy: Promise<unknown> = Promise.resolve();
  private readonly progress: Progress;
  private activeCapture?: Capture;
  /** Cancels commands still running inside the namespaces when the run is interrupted. */
  private readonly abort = new AbortController();
  /** Ops of steps that only add, waiting for a command that looks at the kernel (see apply). */
  private deferred: PlanOp[] = [];
  private deferredWorld?: World;
  private batchCount = 0;

  private constructor(
    readonly names: NameMap,
    readonly record: RunRecord,
    private readonly opts: EmuOptions,
  ) {
    this.epochStartNs = BigInt(Date.now()) * 1_000_000n;
    this.dns = new EmbeddedDns(record, names);
    this.progress = new Progress(!!opts.quiet);
    this.onSignal = (sig) => {
      this.signalled = true;
      void this.close()
        .catch((e) => process.stderr.write(`cnmlab: teardown after ${sig}: ${(e as Error).message}\n`))
        .finally(() => process.exit(sig === 'SIGINT' ? 130 : 143));
    };
    process.on('SIGINT', this.onSignal);
    process.on('SIGTERM', this.onSignal);
  }

  static async create(s: Scenario, opts: EmuOptions): Promise<EmuBackend> {
    checkEmuPrerequisites();
    const names = new NameMap(newPrefix());
    const record = new RunRecord(names.prefix, s.name, !!opts.keep);
    const b = new EmuBackend(names, record, opts);
    try {
      const p = commandPhases(underlaySetup(emuNamer(names)), names);
      record.addNamespaces(p.add);
      await batch('ip', undefined, p.add.map((n) => ['netns', 'add', n]));
      for (const b of p.underlay) await batch('ip', b.netns, b.ip);
    } catch (e) {
      await b.close();
      throw e;
    }
    return b;
  }

  /**
   * Steps that only add (create, configure, program peers) are coalesced: their ops wait
   * until a command looks at the kernel or the run ends, then go in one set of batches. A
   * 50-container lab thus takes a handful of process rounds instead of three per container.
   * A step that deletes anything is a barrier, so deletions and re-creations keep their order.
   */
  async apply(ops: PlanOp[], world: World): Promise<void> {
    if (ops.every((op) => !op.op.endsWith('.del'))) {
      this.deferred.push(...ops);
      this.deferredWorld = world;
      return;
    }
    await this.settle();
    return this.serialized(() => this.applyNow(ops, world));
  }

  /** A fresh folder of batch files for each application of the plan. */
  private batchDir(): string {
    return path.join(this.record.dir, 'batches', String(this.batchCount++));
  }

  async settle(): Promise<void> {
    const ops = this.deferred, world = this.deferredWorld;
    this.deferred = [];
    this.deferredWorld = undefined;
    if (world) await this.serialized(() => this.applyNow(ops, world));
  }

  /** Runs kernel work one piece at a time, and refuses new work once closing has begun. */
  private serialized<T>(work: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new Error('emu run is shutting down'));
    const next = this.busy.then(work);
    this.busy = next.catch(() => undefined);
    return next;
  }

  private async applyNow(ops: PlanOp[], world: World): Promise<void> {
    const p = toPhases(ops, this.names);
    const dir = this.batchDir();
    // Progress counts namespaces configured, the creation of them all as one.
    const tick = (n: number) => this.progress.tick(n);
    this.progress.expect(p.hostBatches.length + p.otherBatches.length + (p.add.length ? 1 : 0));
    if (p.add.length) {
      this.record.addNamespaces(p.add);
      await batch('ip', undefined, p.add.map((n) => ['netns', 'add', n]));
      tick(1);
    }
    for (const b of p.underlay) await batch('ip', b.netns, b.ip);
    await batchEach('ip', p.hostBatches.map((b) => ({ netns: b.netns, lines: b.ip })), dir, { onDone: tick });
    await batchEach('ip', p.otherBatches.map((b) => ({ netns: b.netns, lines: b.ip })), dir, { onDone: tick });
    // A command that may fail (removing what a bridge may never have learned) must not stop the rest of its batch.
    const bridges = [...p.hostBatches, ...p.otherBatches];
    await batchEach('bridge', bridges.filter((b) => !b.bridgeMayFail).map((b) => ({ netns: b.netns, lines: b.bridge })), dir);
    await batchEach('bridge', bridges.filter((b) => b.bridgeMayFail).map((b) => ({ netns: b.netns, lines: b.bridge })), dir, { force: true });
    // Recorded before they exist, so `cnmlab clean` finds them after a crash.
    if (p.files.length) this.record.addFiles(p.files.map((f) => path.join('/etc/netns', f.netns)));
    for (const f of p.files) {
      const dir = path.join('/etc/netns', f.netns);
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
    this.progress.complete();
  }

  async exec(host: string, netns: string, argv: string[], ctx: ExecContext): Promise<CommandOutput> {
    await this.settle();
    return this.serialized(() => this.execNow(host, netns, argv, ctx));
  }

  private async execNow(host: string, netns: string, argv: string[], ctx: ExecContext): Promise<CommandOutput> {
    this.progress.done();
    const real = this.names.netns(host, netns);
    const c = ctx.container ? containerById(ctx.world, ctx.container) : undefined;
    if (c) await this.dns.sync(ctx.world, c.id);
    if (argv[0] === 'ping' && c) return this.tracedPing(c, real, argv, ctx);
    const r = await run('ip', ['netns', 'exec', real, ...argv], undefined, this.abort.signal);
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
    this.activeCapture = capture;
    let out;
    try {
      await capture.start((pid) => this.record.addPid(pid));
      out = await run('ip', ['netns', 'exec', real, ...argv], undefined, this.abort.signal);
      await new Promise((r) => setTimeout(r, 50));
    } finally {
      await capture.stop();
      this.activeCapture = undefined;
      this.record.state.pids = this.record.state.pids.filter((pid) => !capture.pids.includes(pid));
      this.record.save();
    }
    const src = sourceIp(ctx.world, c, dst);
    if (dst && src) {
      flow.hops = await hopsFrom(points, { src, dst }, this.epochStartNs);
      await this.explainLoss(flow, points, out.stderr);
      if (flow.hops.length > MAX_HOPS_PER_FLOW) {
        flow.hopsNotKept = flow.hops.length - MAX_HOPS_PER_FLOW;
        flow.hops.length = MAX_HOPS_PER_FLOW;
      }
      this.flowList.push(flow);
    }
    return { stdout: out.stdout, stderr: out.stderr, exitCode: out.exitCode };
  }

  /**
   * Captures show where a lost request was last seen, not why; ask the kernel there. The
   * drop hop says what the socket or the device's tables tell.
   */
  private async explainLoss(flow: Flow, points: CapturePoint[], stderr: string): Promise<void> {
    const requests = flow.hops.filter((h) => h.dir === 'request' && h.step !== 0 && h.layers.some((l) => l.proto === 'icmp'));
    if (requests.some((h) => h.step === 8 && h.event === 'deliver')) return;
    const local = /local error: (message too long, mtu=(\d+))/.exec(stderr);
    const at = (role: CapturePoint['role']) => points.find((p) => p.role === role);
    const drop = (step: number, p: CapturePoint | undefined, reason: string, layers = requests[requests.length - 1]?.layers ?? []) => {
      if (!p) return;
      const timeNs = requests.length ? requests[requests.length - 1].timeNs : 0;
      const firstReply = flow.hops.findIndex((h) => h.dir === 'reply' && h.step !== 0);
      const hop = { step, dir: 'request' as const, host: p.host, netns: p.netns, device: p.device, event: 'drop' as const, timeNs, layers, reason };
      flow.hops.splice(firstReply < 0 ? flow.hops.length : firstReply, 0, hop);
    };
    if (local) return drop(1, at('container'), `DF set and over the device MTU: ${local[1]}`, []);
    const last = requests[requests.length - 1];
    if (!last) return;
    if (last.step === 3) {
      const mac = last.layers.filter((l) => l.proto === 'eth').pop()?.['eth.dst'] as string;
      const vx = points.find((p) => p.role === 'vxlan' && p.host === last.host);
      const fdb = vx ? (await run('bridge', ['-n', vx.realNetns, 'fdb', 'show', 'dev', 'vxlan0'])).stdout : '';
      const known = fdb.split('\n').some((l) => l.startsWith(`${mac} dst `));
      return drop(4, vx, known ? `lost after vxlan0 (fdb entry for ${mac} exists)` : `no fdb entry for ${mac} (l2miss)`);
    }
    if (last.step !== undefined && last.step < 8) drop(last.step + 1, points.find((p) => p.host === last.host && p.device === last.device) ?? at('container'), `no capture point saw it after step ${last.step}`);
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
    // A kept topology must be whole; one torn down needs none of the deferred work.
    if (this.opts.keep && !this.signalled) await this.settle();
    this.closed = true;
    this.progress.done();
    // While a signal is being handled our listener must stay: execa's exit hook re-raises
    // the signal (killing us mid-teardown) when it finds no other listener.
    if (!this.signalled) {
      process.removeListener('SIGINT', this.onSignal);
      process.removeListener('SIGTERM', this.onSignal);
    }
    this.abort.abort();
    this.activeCapture?.kill();
    await this.busy;
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

/** The address container c sends from toward dst: its endpoint whose subnet holds dst. */
function sourceIp(world: World, c: Container, dst: string | undefined): string | undefined {
  if (!dst) return undefined;
  for (const entry of c.networks) {
    const net = swarmNetwork(world.swarm, entry.networkId) ?? hostOf(world, c.host).localNetworks[entry.networkId];
    const ep = entry.endpointId ? (net ? endpointOf(net, entry.endpointId) : undefined) : undefined;
    if (ep && net && inSubnet(net.ipam.subnet, dst)) return ep.ip;
  }
  // Off every subnet: the default route (docker_gwbridge) carries it.
  const gw = c.gatewayEndpoint ? Object.values(hostOf(world, c.host).localNetworks).map((n) => endpointOf(n, c.gatewayEndpoint!)).find(Boolean) : undefined;
  return gw?.ip;
}

function capturePoints(world: World, c: Container, dst: string | undefined, names: NameMap, dir: string): CapturePoint[] {
  const points: CapturePoint[] = [];
  const seen = new Set<string>();
  const add = (p: Omit<CapturePoint, 'file'>) => {
    const key = `${p.realNetns}/${p.iface}`;
    if (seen.has(key)) return;
    seen.add(key);
    points.push({ ...p, file: captureFile(dir, p) });
  };
  add({ host: c.host, netns: c.sandbox, device: 'lo', realNetns: names.netns(c.host, c.sandbox), iface: 'lo', role: 'lo', mine: [] });
  const sides: Endpoint[] = [];
  for (const entry of c.networks) {
    const net = swarmNetwork(world.swarm, entry.networkId) ?? hostOf(world, c.host).localNetworks[entry.networkId];
    const ep = entry.endpointId ? (net ? endpointOf(net, entry.endpointId) : undefined) : undefined;
    if (!net || !ep) continue;
    sides.push(ep);
    if (net.driver !== 'overlay') continue;
    const peer = dst ? endpointsOf(net).find((e) => e.ip === dst && e.state === 'joined') : undefined;
    if (peer) sides.push(peer);
  }
  const gateway = c.gatewayEndpoint ? Object.values(hostOf(world, c.host).localNetworks).map((n) => endpointOf(n, c.gatewayEndpoint!)).find(Boolean) : undefined;
  if (gateway) sides.push(gateway);
  for (const ep of sides) {
    add({ host: ep.host, netns: ep.sandbox, device: ep.ifname, realNetns: names.netns(ep.host, ep.sandbox), iface: ep.ifname, role: 'container', mine: [ep.mac] });
    const net = swarmNetwork(world.swarm, ep.networkId);
    if (!net) continue;
    const ovl = overlayNetnsName(net.id);
    const local = endpointsOf(net).filter((e) => e.host === ep.host).map((e) => e.mac);
    add({ host: ep.host, netns: ovl, device: ep.peerIfname, realNetns: names.netns(ep.host, ovl), iface: ep.peerIfname, role: 'overlay-veth', mine: [ep.mac] });
    add({ host: ep.host, netns: ovl, device: 'vxlan0', realNetns: names.netns(ep.host, ovl), iface: 'vxlan0', role: 'vxlan', mine: local });
    add({ host: ep.host, netns: ep.host, device: 'eth0', realNetns: names.netns(ep.host, ep.host), iface: 'eth0', role: 'host', mine: [hostOf(world, ep.host).underlay] });
    add({ host: 'underlay', netns: 'underlay', device: underlayPort(ep.host), realNetns: names.underlay, iface: underlayPort(ep.host), role: 'underlay', mine: [hostOf(world, ep.host).underlay] });
  }
  return points;
}

function inSubnet(subnet: string, ip: string): boolean {
  const c = parseCidr(subnet);
  return !!c && contains(c, ipv4ToNumber(ip));
}
