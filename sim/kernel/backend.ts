/** The sim backend: plan ops into the simulated kernel; commands answered from it. */
import { Backend, CommandOutput, ExecContext, StepBounds } from '../backend';
import { PlanOp } from '../plan/ops';
import type { Scenario } from '../scenario/schema';
import { seedFromName } from '../model/ids';
import { ControlKind, Flow } from '../trace/types';
import { SimKernel } from './kernel';
import { bridgeCommand, ipCommand } from './iproute';
import { SimNetns } from './objects';
import { Datapath } from './datapath';
import { containerCommand, pingLive } from './programs';
import { endedOutput, stepBounds } from '../runner/bounds';
import { viewFile } from '../model/etc';
import { holdsNetAdmin } from '../model/capabilities';
import { ToolFamily, toolFamilyOf } from '../commands/family';
import { BUSYBOX_APPLETS, busyboxCommand } from './busybox';
import { iptablesCommand, iptablesSave } from './iptables';
import { tcCommand } from './tc';
import { sysctlCommand } from './sysctl';
import { ssCommand } from './ss';
import { containerById, EPOCH_NS, World } from '../model/world';
import { resolvePeer } from '../model/drivers';
import { DockerdCluster } from './dockerd_cluster';
import { programControlPlanes, WorldObserver } from './program_registry';
import { ControlRecord } from '../trace/control_record';

/** The tools of where a command runs: its container's image's (family.ts); a host's are GNU. */
function toolFamily(ctx: ExecContext): ToolFamily {
  const c = ctx.container ? containerById(ctx.world, ctx.container) : undefined;
  return c ? toolFamilyOf(c.image) : 'gnu';
}

/**
 * The step's ops, in order, in a loop of its own: a long loop in the async apply is compiled
 * on the stack (OSR) once, early, and V8 keeps that code after it deopts on the code past the
 * loop, which it had no feedback for then; every later step with a long plan entered it and
 * deopted again.
 */
function applyEach(kernel: SimKernel, ops: readonly PlanOp[]): void {
  for (const op of ops) kernel.apply(op);
}

export class SimBackend implements Backend {
  readonly mode = 'sim' as const;
  readonly kernel: SimKernel;
  readonly datapath: Datapath;
  /** The control planes' exchanges the trace keeps, within its bound, in the order they began. */
  readonly controlRecord: ControlRecord;
  /** dockerd's traffic between swarm nodes (memberlist, swarmkit), on the run's clock. */
  readonly cluster: DockerdCluster;
  /** The kernel programs' control planes (weave's mesh on TCP 6783 and sleeve's checks), on the same clock and record. */
  private readonly programPlanes: WorldObserver[];
  private bounds: StepBounds = stepBounds('');

  constructor(seed: number) {
    this.kernel = new SimKernel(seed);
    this.datapath = new Datapath(this.kernel);
    this.controlRecord = new ControlRecord(this.datapath);
    this.cluster = new DockerdCluster(this.datapath, this.kernel, seed, this.controlRecord);
    this.programPlanes = programControlPlanes(this.datapath, this.kernel, seed, this.controlRecord);
  }

  /** The sim of a scenario: its seed (or its name's), its hop delays (given in µs). */
  static forScenario<B extends SimBackend>(this: new (seed: number) => B, s: Pick<Scenario, 'name' | 'seed' | 'delays'>): B {
    const b = new this(s.seed ?? seedFromName(s.name));
    for (const [k, us] of Object.entries(s.delays ?? {})) b.datapath.delays[k as keyof typeof b.datapath.delays] = Math.round(us * 1000);
    return b;
  }

  /** The step's table events are gossiped first: the other hosts program their peers once the gossip reached them. */
  async apply(ops: PlanOp[], world?: World): Promise<void> {
    if (world) this.cluster.observe(world);
    applyEach(this.kernel, ops);
    // A program's control plane acts once the program exists in the kernel (a weave router connects: its sleeve forwarders' MTU comes from these checks).
    if (world) for (const plane of this.programPlanes) plane.observe(world);
    // A daemon's query for a missing peer is answered as the cluster stands after the last step.
    if (world?.kv) this.datapath.peerResolver = (host, network, ip) => resolvePeer(world, host, network, ip);
  }

  /** The sim applies every op at once; nothing waits. */
  async settle(): Promise<void> {}

  setStepBounds(b: StepBounds): void {
    this.bounds = b;
    this.controlRecord.beginStep();
  }

  async exec(host: string, netns: string, argv: string[], ctx: ExecContext): Promise<CommandOutput> {
    const bounded = { ...ctx, stepBudgetNs: this.bounds.timeoutNs, outputCap: this.bounds.outputCap };
    // `busybox APPLET …` (a host's) is BusyBox's applet, as a BusyBox image's shell runs it.
    const [flavour, program] = argv[0] === 'busybox' ? ['busybox' as const, argv.slice(1)] : [toolFamily(ctx) === 'busybox' ? 'busybox' as const : 'iputils' as const, argv];
    const out = ctx.live && program[0] === 'ping' ? await pingLive(this.datapath, this.kernel.netns(host, netns), program.slice(1), bounded, ctx.live, flavour) : this.execSync(host, netns, argv, bounded);
    return endedOutput(out, this.bounds, out.end);
  }

  execSync(host: string, netns: string, argv: string[], ctx: ExecContext): CommandOutput {
    const ns: SimNetns = this.kernel.netns(host, netns);
    const container = ctx.container === undefined ? undefined : containerById(ctx.world, ctx.container);
    const netAdmin = container === undefined || holdsNetAdmin(container);
    const opts = { namesVisible: ctx.namesVisible, inContainer: ctx.container !== undefined, netAdmin, nowNs: this.datapath.clock.now };
    const [cmd, ...args] = argv;
    if (cmd === 'busybox') return busyboxCommand(this.datapath, ns, args, ctx);
    if (toolFamily(ctx) === 'busybox' && BUSYBOX_APPLETS.has(cmd)) return busyboxCommand(this.datapath, ns, argv, ctx);
    switch (cmd) {
      case 'ip':
        return ipCommand(ns, args, opts, this.kernel);
      case 'bridge':
        return bridgeCommand(ns, args, opts);
      case 'iptables':
        return iptablesCommand(ns, args, { netAdmin });
      case 'tc':
        return tcCommand(ns, args, { nowNs: this.datapath.clock.now, kernelSeed: this.kernel.seed, netAdmin });
      case 'sysctl':
        // runc mounts a container's /proc/sys read-only (Docker's ReadonlyPaths; --privileged, which would not, is not modelled).
        return sysctlCommand(ns, args, opts.inContainer);
      case 'ss':
        return ssCommand(ns, args);
      case 'iptables-save':
        // Dated by the scenario's clock, the one Docker's Created and StartedAt read (the datapath's runs only with packets and sleeps).
        return iptablesSave(ns, args, new Date(Number(EPOCH_NS / 1_000_000n) + Math.floor(ctx.world.clockNs / 1e6)), { netAdmin });
      case 'cat': {
        // The namespace's own files (the plan's), then /etc/hosts and /etc/hostname of the container or host the step runs on.
        const content = (f: string) => viewFile(ctx.world, ns.files, ctx.container ? { container: ctx.container } : { host }, f);
        const found = args.map((f) => [f, content(f)] as const);
        // BusyBox's cat says it as its open_or_warn does; coreutils' as error() does.
        const missingText = toolFamily(ctx) === 'busybox' ? (f: string) => `cat: can't open '${f}': No such file or directory\n` : (f: string) => `cat: ${f}: No such file or directory\n`;
        const missing = found.filter(([, c]) => c === undefined).map(([f]) => missingText(f));
        return { stdout: found.map(([, c]) => c ?? '').join(''), stderr: missing.join(''), exitCode: missing.length ? 1 : 0 };
      }
      default:
        return containerCommand(this.datapath, ns, argv, ctx);
    }
  }

  async underlayLinkUp(host: string): Promise<boolean | undefined> {
    return this.kernel.netns(host, host).links.get('eth0')?.up;
  }

  flows(): Flow[] {
    return this.datapath.flows;
  }

  controlFlows(): Flow[] {
    return this.controlRecord.flows;
  }

  controlNotKept(): ReadonlyMap<ControlKind, number> {
    return this.controlRecord.notKept;
  }

  elapsedNs(): number {
    return this.datapath.clock.now;
  }

  async close(): Promise<void> {}
}
