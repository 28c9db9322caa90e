/**
 * The emu backend: the model's plan on the real kernel, mininet-style. Each scenario host
 * is a network namespace on a shared underlay bridge; Docker's namespaces live beside it
 * under the same run prefix. A step's command runs only when the command registry maps it
 * to a real program, confined to its view (confine.ts); pings are traced from live tcpdump
 * captures into the same trace as sim.
 */
import { missingKernelFeature } from '../sim/commands/kernel-features';
import { modelDeviceDeleteRefusal, typedLinkChange } from '../sim/commands/ip-link-words';
import { CONNECTED_ROUTE_DEL_REFUSAL, typedConnectedRouteDelete } from '../sim/commands/ip-change-words';
import * as fs from 'fs';
import * as path from 'path';
import { Backend, CommandOutput, ExecContext, StepBounds } from '../sim/backend';
import { PlanOp } from '../sim/plan/ops';
import { Scenario } from '../sim/scenario/schema';
import { Container, containerById, containerNetns, Endpoint, hostOf, Network, sharesHostNetns, swarmNetworks, World } from '../sim/model/world';
import { ControlKind, Flow, Hop, MAX_HOPS_PER_FLOW } from '../sim/trace/types';
import { driverNamed, driverOf, packetWay } from '../sim/model/drivers';
import { pingBind, pingDeviceRefusal, pingTarget, pingUnroutedRefusal } from '../sim/commands/ping-words';
import type { CaptureSpot, HostNamespaceWay } from '../sim/model/drivers/driver';
import { answerQuery } from '../sim/model/dns';
import { isIpv4 } from '../sim/wire/addr';
import { checkBusybox, checkEmuPrerequisites } from './prereq';
import { checkScenarioNeeds } from './features';
import { NameMap, newPrefix, safe } from './names';
import { EmuEnvironmentError, NETNS_ETC, refusedStateWrite, RunRecord } from './state';
import { batch, batchEach, NamespaceSetup, restoreTolerant, run, setupEach, Watch } from './exec';
import { dropCounters, grownDrops } from './netfilter';
import { iptablesSendsNatBatch } from './nftables';
import { commandPhases, emuNamer, NsBatch, Phases, restoreScript, toPhases } from './translate';
import { Listeners, TrafficOf } from './listeners';
import { UNDERLAY_BRIDGE, underlayPort, underlaySetup } from '../sim/plan/iproute2';
import { Numbering } from './ifindex';
import { ControlReader } from './control';
import { NetworkDbGossip } from './netdb';
import { ClusterView, clusterView, nodeTraffic, NodeTraffic } from '../sim/model/cluster';
import { MEMBERLIST_PORT } from '../sim/wire/memberlist';
import { ClusterStore } from './etcd';
import { MissWatchers } from './misswatch';
import { Confinement } from './confine';
import { stepBounds } from '../sim/runner/bounds';
import { realProgram } from '../sim/commands/registry';
import { toolFamilyOf } from '../sim/commands/family';
import { EtcView } from '../sim/model/etc';
import { holdsNetAdmin } from '../sim/model/capabilities';
import { pathOf, registeredPath } from '../sim/trace/paths';
import { PathModel, RESOLVE_STEP } from '../sim/trace/paths/path';
import { EmbeddedDns } from './dns';
import { EmuProgram, startPrograms, stepPrograms } from './programs';
import { Capture, captureFile, CapturePoint, ControlCapture, FlowKey, hopsFrom, stepOfRequestAt, Unavailable } from './capture';
import { teardown } from './clean';
import { LinkState, linksIn, OPER_DOWN, useNamespaceWorker } from './nsworker';
import { Progress } from './progress';

/**
 * Who tears the run down when the process is interrupted (bin/ owns signal handling; emu
 * knows no signals). `protect` is called before anything is made; its release once the run
 * is closed.
 */
export interface InterruptGuard {
  protect(teardown: () => Promise<void>): () => void;
}

export interface EmuOptions {
  pcapDir?: string;
  keep?: boolean;
  quiet?: boolean;
  guard?: InterruptGuard;
}

/**
 * A datagram the uplink took in and a PREROUTING or INPUT rule then dropped never reached its
 * socket: the sighting keeps no note of a handover that did not happen (sim's has none either).
 */
function beforeTheSocket(seen: Hop, rule: string): void {
  if (seen.event === 'udp-deliver' && /^(PREROUTING|INPUT)\b/.test(rule)) delete seen.note;
}

export class EmuBackend implements Backend {
  readonly mode = 'emu' as const;
  private readonly flowList: Flow[] = [];
  /** Each swarm node's underlay interface, captured for the whole run (capture.ts ControlCapture)… */
  private readonly controlCapture: ControlCapture;
  /** …read after every step into control-plane flows (control.ts), within the trace's bound as sim keeps them. */
  private readonly controlReader: ControlReader;
  /** The capture points of the swarm's nodes as the last step left them. */
  private controlPoints: Omit<CapturePoint, 'file'>[] = [];
  /** What each swarm node's holder plays now (made when first asked, as the holder makes it)… */
  private readonly playedTraffic = new Map<string, TrafficOf>();
  /** …and every traffic the control reader has seen it play, by host: a frame read after a change was sent with its time's. */
  private readonly sentTraffic = new Map<string, NodeTraffic[]>();
  /** NetworkDB's table events and the gossip rounds they make (netdb.ts). */
  private readonly netdb = new NetworkDbGossip();
  /** The host namespaces of the swarm's nodes, whose holders play their daemons' traffic. */
  private swarmNodes: string[] = [];
  /** Each swarm node's traffic in the last world asked about (trafficOf). */
  private traffic?: { world: World; byHost: Map<string, NodeTraffic | undefined> };
  private readonly startNs = process.hrtime.bigint();
  private readonly epochStartNs: bigint;
  private readonly dns: EmbeddedDns;
  /** dockerd's sockets in the hosts' namespaces, held from the first command on that host (listeners.ts). */
  private readonly listeners: Listeners;
  /** The programs plan ops start (programs.ts), by name. */
  private readonly programs: Map<string, EmuProgram>;
  private readonly releaseGuard: () => void;
  /** Ends the namespace worker (nsworker.ts) once this run no longer needs it. */
  private readonly releaseWorker = useNamespaceWorker();
  /** A scenario ran iptables here: a lost ping asks the rules' counters why. */
  private firewalled = false;
  private closed = false;
  private closing?: Promise<void>;
  private interrupted = false;
  /** The kernel work under way; close() waits for it so nothing is created after teardown. */
  private busy: Promise<unknown> = Promise.resolve();
  /** The control captures' work under way (captureInTurn), which may outlast the step that began it; close() waits for it too. */
  private capturing: Promise<void> = Promise.resolve();
  private readonly progress: Progress;
  private activeCapture?: Capture;
  /** Cancels commands still running inside the namespaces when the run is interrupted. */
  private readonly abort = new AbortController();
  /** Ops of steps that only add, waiting for a command that looks at the kernel (see apply). */
  private deferred: PlanOp[] = [];
  /** The model after each deferred step, in order: the control plane sees them one by one, as sim's daemon does. */
  private deferredWorlds: World[] = [];
  /** The model after the last step, for a kept lab's DNS and its map. */
  private lastWorld?: World;
  /** Every bridge port made so far forwarding (portsForwarding), awaited before a step's program runs. */
  private forwarding: Promise<void> = Promise.resolve();
  /** Where step commands run: confined views of containers and hosts (confine.ts). */
  private readonly confine: Confinement;
  /** The plan's files of each namespace (`file.write`), by real namespace name, then by name: written into a view when one is built (confine.ts), not to disk for every container. */
  private readonly planFiles = new Map<string, Map<string, string>>();
  private bounds: StepBounds = stepBounds('');
  /** The cluster's etcd, started on the first write to it. */
  readonly store: ClusterStore;
  /** dockerd's miss handlers of the classic overlay's namespaces (misswatch.ts). */
  private readonly missWatch: MissWatchers;
  /** The view a command waits to run in while the kernel work before it is done (exec): built as soon as its namespace exists. */
  private viewAhead?: { real: string | undefined; view: EtcView; world: World };
  /** Every device's index as Docker's sequence numbers it, so devices can be made where they end up (ifindex.ts). */
  private readonly numbering = new Numbering();

  private constructor(
    readonly names: NameMap,
    readonly record: RunRecord,
    private readonly opts: EmuOptions,
  ) {
    this.epochStartNs = BigInt(Date.now()) * 1_000_000n;
    this.dns = new EmbeddedDns(record, names);
    this.store = new ClusterStore(record, names);
    this.listeners = new Listeners(record);
    this.missWatch = new MissWatchers(record);
    this.programs = startPrograms(record);
    this.progress = new Progress(!!opts.quiet);
    this.releaseGuard = opts.guard?.protect(() => this.interrupt()) ?? (() => undefined);
    this.confine = new Confinement(path.join(record.dir, 'views'), this.planFiles);
    this.controlReader = new ControlReader(this.epochStartNs, this.flowList);
    this.controlCapture = new ControlCapture(path.join(opts.pcapDir ?? path.join(record.dir, 'captures'), 'control'), record, (pids) => {
      for (const pid of pids) record.forgetPid(pid);
    });
  }

  static async create(s: Scenario, opts: EmuOptions): Promise<EmuBackend> {
    checkEmuPrerequisites();
    checkScenarioNeeds(s);
    const names = new NameMap(newPrefix());
    const record = new RunRecord(names.prefix, s.name, !!opts.keep);
    const b = new EmuBackend(names, record, opts);
    b.underlayToMake = commandPhases(underlaySetup(emuNamer(names)), names);
    b.numbering.addNamespace(names.underlay);
    b.numbering.make(names.underlay, UNDERLAY_BRIDGE);
    return b;
  }

  /**
   * The underlay segment (its namespace and bridge), not made yet: it goes in with the first
   * step's work, its namespace in the same `ip netns add` batch and its bridge at the head of
   * the same underlay batch as the hosts' cables, rather than in rounds of its own before them.
   */
  private underlayToMake?: Phases;

  /** Takes the underlay's setup ahead of these phases (once): its namespace first among the new ones, its bridge before the cables (an underlay batch runs its ip lines only). */
  private withUnderlay(p: Phases): Phases {
    const u = this.underlayToMake;
    if (!u) return p;
    this.underlayToMake = undefined;
    const [first, ...rest] = p.underlay;
    const underlay = u.underlay.map((b) => (first?.netns === b.netns ? { ...b, ip: [...b.ip, ...first.ip] } : b));
    const merged = first !== undefined && u.underlay.some((b) => b.netns === first.netns);
    return { ...p, add: [...u.add, ...p.add], underlay: [...underlay, ...(merged ? rest : p.underlay)] };
  }

  /** Makes the underlay now, for work that needs it before any step's (the dummy-device probe). */
  private async makeUnderlay(): Promise<void> {
    const u = this.underlayToMake;
    if (!u) return;
    this.underlayToMake = undefined;
    this.record.addNamespaces(u.add);
    await batch('ip', u.add.map((n) => ['netns', 'add', n]));
    for (const b of u.underlay) await batchEach('ip', [{ netns: b.netns, lines: b.ip }]);
  }

  /** Whether this machine's kernel makes dummy devices (probed once, in the run's underlay namespace; the index a probe spends there is counted). */
  private dummyDevices?: Promise<boolean>;

  /**
   * The macvlan and ipvlan drivers' dummy parent and weave launch's vethwedu need CONFIG_DUMMY,
   * which a kernel may lack (this machine's does). Their drivers declare it (checkScenarioNeeds
   * refuses such a scenario before it starts, from its command lines); this answers for a
   * step whose words that reading did not recognise, when it comes to make the device.
   */
  async missingFeature(ops: PlanOp[]): Promise<string | undefined> {
    if (!ops.some((op) => op.op === 'link.add' && op.kind.type === 'dummy')) return undefined;
    this.dummyDevices ??= this.serialized(async () => {
      await this.makeUnderlay();
      const probe = await run('ip', ['-n', this.names.underlay, 'link', 'add', 'cnmprobe', 'type', 'dummy']);
      if (probe.exitCode === 0) {
        this.numbering.spend(this.names.underlay);
        await run('ip', ['-n', this.names.underlay, 'link', 'del', 'cnmprobe']);
      }
      return probe.exitCode === 0;
    });
    return (await this.dummyDevices) ? undefined : 'dummy devices (CONFIG_DUMMY)';
  }

  /**
   * Steps that only add (create, configure, program peers) are coalesced: their ops wait
   * until a command looks at the kernel or the run ends, then go in one set of batches. A
   * 50-container lab thus takes a handful of process rounds instead of three per container.
   * A step that deletes anything is a barrier, so deletions and re-creations keep their
   * order, unless all it deletes is what it made itself in the same namespace (the overlay
   * driver's testvxlan probe): that keeps its order inside the namespace's one batch.
   */
  async apply(ops: PlanOp[], world: World): Promise<void> {
    this.lastWorld = world;
    if (deletesOnlyItsOwn(ops)) {
      this.deferred.push(...ops);
      this.deferredWorlds.push(world);
      return;
    }
    await this.settleThen('after');
    return this.serialized(() => this.applyNow(ops, [world], 'after'));
  }

  /** The deferred ops, applied when the caller needs the kernel whole (the run's end): no holder is started for them. */
  settle(): Promise<void> {
    return this.settleThen('none');
  }

  private async settleThen(holders: HolderStart): Promise<void> {
    const ops = this.deferred, worlds = this.deferredWorlds;
    this.deferred = [];
    this.deferredWorlds = [];
    if (worlds.length) await this.serialized(() => this.applyNow(ops, worlds, holders));
  }

  /**
   * Runs kernel work one piece at a time, and refuses new work once closing has begun. A
   * failure that comes from the machine around the run (a namespace deleted from outside, a
   * state folder that refuses writes) is said as such, in one line.
   */
  private serialized<T>(work: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new EmuEnvironmentError(`the emu run ${this.names.prefix} is shutting down`));
    const next = this.busy.then(work).catch((e: unknown) => {
      throw this.lostNamespace() ?? refusedStateWrite(e) ?? e;
    });
    this.busy = next.catch(() => undefined);
    return next;
  }

  /** A namespace this run made and has not deleted, gone: someone deleted it from outside the run. */
  private lostNamespace(): EmuEnvironmentError | undefined {
    const gone = this.record.state.namespaces.find((n) => !fs.existsSync(path.join('/run/netns', n)));
    return gone ? new EmuEnvironmentError(`namespace ${gone} of this run was deleted from outside it (ip netns del?); the run cannot go on`) : undefined;
  }

  /**
   * One step's ops (or several coalesced, with the model after each of them) on the kernel,
   * and when the swarm nodes' listener holders start (HolderStart).
   */
  private async applyNow(ops: PlanOp[], worlds: World[], holders: HolderStart): Promise<void> {
    // The holders an earlier step began to start are running (or starting) before this step changes or deletes them.
    await this.capturing.catch(() => undefined);
    const world = worlds[worlds.length - 1];
    const p = this.withUnderlay(toPhases(ops, this.names, this.numbering));
    // Progress counts namespaces configured, the creation of them all as one.
    const tick = (n: number) => this.progress.tick(n);
    this.progress.expect(p.hostBatches.length + p.otherBatches.length + (p.add.length ? 1 : 0));
    const bridges = [...p.hostBatches, ...p.otherBatches];
    // A namespace's rules name devices but need none to exist: they go in with its sysctls,
    // before its devices, in the same process; rules that delete go by restoreTolerant.
    const deletesRules = (b: NsBatch) => b.iptables.some((c) => c.includes('-D'));
    const setsRules = (b: NsBatch) => b.iptables.length > 0 && !deletesRules(b);
    // Asked (without waiting) once a step has rules to set, while its namespaces are made: their setups need
    // the answer, and a run that never sets a rule (only deletes some) never starts iptables-restore for it.
    if (bridges.some(setsRules)) void iptablesSendsNatBatch();
    if (p.add.length) {
      this.record.addNamespaces(p.add);
      await batch('ip', p.add.map((n) => ['netns', 'add', n]));
      tick(1);
      // The view of the command waiting for this work is built while the rest of it goes on (its sysfs
      // shows the devices that land in the namespace later; its /etc files are written again before each step).
      const ahead = this.viewAhead;
      if (ahead?.real && p.add.includes(ahead.real) && !p.del.includes(ahead.real)) this.confine.prepare(ahead.real, ahead.view, ahead.world).catch(() => undefined);
    }
    // The holders the swarm's nodes will need start now (Listeners.park), told what to hold once the step has made
    // their namespaces' devices: a Node process takes longer to start than most of a step's kernel work.
    if (holders !== 'none') {
      const listening = p.sockets.filter((s) => s.op === 'socket.listen' && !p.del.includes(s.netns)).map((s) => s.netns);
      this.listeners.park([...new Set([...listening, ...this.swarmNodes.filter((n) => !p.del.includes(n))])]);
    }
    const setups = new Map<string, NamespaceSetup>();
    const setupOf = (netns: string) => setups.get(netns) ?? setups.set(netns, { netns, sysctls: [], rules: '' }).get(netns)!;
    // Deleted in the same step, a namespace needs no setting first.
    for (const c of p.setup) if (!p.del.includes(c.netns)) setupOf(c.netns).sysctls.push(c);
    for (const b of bridges) if (setsRules(b)) setupOf(b.netns).rules = restoreScript(b.iptables);
    await setupEach([...setups.values()]);
    // dockerd's sockets and what it sends need the host namespaces only (their addresses, the underlay): the other
    // namespaces' devices go in meanwhile, the kernel making them while Node makes the gossip. A node that leaves the
    // swarm (its 7946 closes) keeps its sockets until its leave has been gossiped, and only then do its containers'
    // and networks' devices and Docker's rules go (moby stops the node's NetworkDB before it removes them).
    const sockets = p.sockets.filter((s) => !p.del.includes(s.netns));
    const leaving = new Set(sockets.filter((s) => s.op === 'socket.close' && s.socket.port === MEMBERLIST_PORT).map((s) => s.netns));
    // Rules that delete need no device either: unless a node leaves, they go in while the devices are made.
    const deleteRules = () => Promise.all(bridges.filter(deletesRules).map((b) => restoreTolerant(b.netns, b.iptables, restoreScript)));
    const ruleDeletions = leaving.size ? undefined : deleteRules();
    // Its failure is the step's, said once the step's other work has ended (below).
    ruleDeletions?.catch(() => undefined);
    try {
      for (const b of p.underlay) await batchEach('ip', [{ netns: b.netns, lines: b.ip }]);
      await batchEach('ip', p.hostBatches.map((b) => ({ netns: b.netns, lines: b.ip })), { onDone: tick });
      const view = clusterView(world);
      // The nodes' underlay captures start now, ahead of the other namespaces' work and while the control plane is worked
      // out: the holders wait for them (warmHolders).
      if (holders === 'early') this.captureInTurn(() => this.controlCapture.ensure(this.controlPointsOf(view, p.del))).catch(() => undefined);
      const others = () => batchEach('ip', p.otherBatches.map((b) => ({ netns: b.netns, lines: b.ip })), { onDone: tick });
      const meanwhile = leaving.size ? undefined : others();
      await allDone([(async () => {
        await this.listeners.apply(sockets.filter((s) => !leaving.has(s.netns)));
        await this.playControlPlane(worlds, view, p.del);
        if (leaving.size) await this.leaveGossiped(sockets.filter((s) => leaving.has(s.netns)));
        // The captures and holders start while the rest of the step's work goes on: a command waits for them (execReady).
        if (holders === 'early') this.warmHolders().catch(() => undefined);
      })(), meanwhile]);
      if (!meanwhile) await others();
      // A command that may fail (removing what a bridge may never have learned) must not stop the rest of its batch.
      await batchEach('bridge', bridges.filter((b) => !b.bridgeMayFail).map((b) => ({ netns: b.netns, lines: b.bridge })));
      await batchEach('bridge', bridges.filter((b) => b.bridgeMayFail).map((b) => ({ netns: b.netns, lines: b.bridge })), { force: true });
      if (p.kvStart) await this.store.start();
      await this.store.put(p.kv);
    } catch (e) {
      // Nothing goes on behind a failure: the rules' work has ended before the step fails, and their own failure is said with it.
      const deletionFailure = await ruleDeletions?.then(() => undefined, (d: unknown) => d);
      if (deletionFailure !== undefined && e instanceof Error) e.message += `\n(and deleting rules failed: ${deletionFailure instanceof Error ? deletionFailure.message : String(deletionFailure)})`;
      throw e;
    }
    await (ruleDeletions ?? deleteRules());
    // A namespace's own files (a container's resolv.conf) are kept here, for the step's
    // confined view to show (confine.ts). Only a kept lab also gets them in /etc/netns, for
    // the `ip netns exec` a user types into it; recorded before they exist, so `cnmlab
    // clean` finds them after a crash.
    for (const f of p.files) this.planFiles.set(f.netns, (this.planFiles.get(f.netns) ?? new Map<string, string>()).set(f.name, f.content));
    if (this.opts.keep && p.files.length) this.record.addFiles(p.files.map((f) => path.join(NETNS_ETC, f.netns)));
    if (this.opts.keep) {
      for (const f of p.files) {
        fs.mkdirSync(path.join(NETNS_ETC, f.netns), { recursive: true });
        fs.writeFileSync(path.join(NETNS_ETC, f.netns, f.name), f.content);
      }
    }
    if (p.del.length) {
      for (const d of p.del) {
        await this.dns.stop(d);
        await this.listeners.stop(d);
        await this.missWatch.stop(d);
        // A view's sysfs holds its namespace: the holder goes first.
        await this.confine.release(d);
      }
      await emptyNamespaces(p.del);
      await batch('ip', p.del.map((n) => ['netns', 'del', n]));
      for (const d of p.del) {
        this.planFiles.delete(d);
        fs.rmSync(path.join(NETNS_ETC, d), { recursive: true, force: true });
      }
      this.record.forgetNamespaces(p.del);
    }
    await stepPrograms(this.programs, p.programs);
    await this.missWatch.start(p.missWatch.filter((w) => !p.del.includes(w.real)), world);
    // The kernel's linkwatch raises the bridge ports on its own time: a step's program waits
    // for it (runStep), so what runs before (DNS servers, captures, views) overlaps it.
    const ports = portsForwarding([...p.underlay, ...p.hostBatches, ...p.otherBatches].filter((b) => b.ip.some((l) => l.includes('master'))).map((b) => b.netns)
      .filter((n) => !p.del.includes(n)));
    this.forwarding = Promise.all([this.forwarding, ports]).then(() => undefined);
    if (holders === 'after') this.warmHolders().catch(() => undefined);
    await this.dns.sync(world);
    this.progress.complete();
  }

  /**
   * What each swarm node's daemon sends on the wire, played by its listener holder: its
   * timers' traffic, and the gossip of the events the steps made, step by step (netdb.ts).
   */
  private async playControlPlane(worlds: World[], view: ClusterView | undefined, deleted: string[]): Promise<void> {
    const world = worlds[worlds.length - 1];
    const gossip = this.netdb.observeSteps(worlds.map((w) => (w === world ? view : clusterView(w))), Date.now());
    // The table clocks moved: traffic is made anew (trafficOf).
    this.traffic = undefined;
    const gone = new Set(deleted);
    const nodes = view?.nodes ?? [];
    const nodeHosts = new Set(nodes.map((n) => n.host));
    // Each host's namespace, where this run made it and the step does not delete it.
    const live = new Map<string, string>();
    const traffic = new Map<string, TrafficOf | undefined>();
    this.swarmNodes = [];
    for (const h of world.hostOrder) {
      const real = this.runNamespace(h, h);
      if (!real || gone.has(real)) continue;
      live.set(h, real);
      if (!nodeHosts.has(h)) {
        // A leaver's holder plays on as it did until its leave is gossiped (leaveGossiped), then goes with its sockets.
        traffic.set(real, this.netdb.departures().has(h) ? this.playedTraffic.get(h) : undefined);
        this.playedTraffic.delete(h);
        continue;
      }
      // A member answers the join syncs of the step as it answers the others'.
      const syncsIn = this.netdb.bulkSyncIn(h);
      const played = () => {
        const t = this.trafficOf(world, h)!;
        return { ...t, bulkSyncIn: [...t.bulkSyncIn, ...syncsIn] };
      };
      traffic.set(real, played);
      this.swarmNodes.push(real);
      this.playedTraffic.set(h, played);
    }
    this.controlPoints = this.controlPointsOf(view, deleted);
    await this.listeners.setTraffic(traffic);
    for (const [h, sends] of gossip) {
      const real = live.get(h);
      if (real) this.listeners.gossip(real, sends);
    }
  }

  /** Where each swarm node's daemon is heard (warmHolders), in the swarm's order: its host namespace's eth0, where this run made it and `deleted` does not take it. */
  private controlPointsOf(view: ClusterView | undefined, deleted: string[]): Omit<CapturePoint, 'file'>[] {
    return (view?.nodes ?? []).flatMap((n) => {
      const real = this.runNamespace(n.host, n.host);
      return real && !deleted.includes(real) ? [{ host: n.host, netns: n.host, device: 'eth0', realNetns: real, iface: 'eth0', role: 'host' as const, mine: [n.address] }] : [];
    });
  }

  /**
   * A swarm leave returns once the node's leave event has gone its rounds (clusterLeave waits
   * for sendNodeEvent): a leaver whose holder runs sends what the player gave it until then,
   * and only then are its sockets closed (`socketOps`). One with no holder running (a lab no
   * command has looked into) sent nothing before, and sends nothing now.
   */
  private async leaveGossiped(socketOps: Parameters<Listeners['apply']>[0]): Promise<void> {
    let closeAt = 0;
    for (const [h, at] of this.netdb.departures()) {
      const real = this.runNamespace(h, h);
      if (real === undefined) continue;
      if (this.listeners.holds(real)) closeAt = Math.max(closeAt, at);
      // Not to be sent by a holder that starts later, from a host no longer in the swarm.
      else this.listeners.gossip(real, []);
    }
    // The last datagram's timer fires at closeAt in the holder: a moment more for it to leave.
    // An interrupted run does not wait for it (teardown waits for this step, and closes the sockets anyway).
    if (closeAt > 0) {
      await new Promise<void>((r) => {
        const timer = setTimeout(r, Math.max(0, closeAt - Date.now()) + LEAVE_SEND_MARGIN_MS);
        this.abort.signal.addEventListener('abort', () => (clearTimeout(timer), r()), { once: true });
      });
    }
    if (this.abort.signal.aborted) return;
    await this.listeners.apply(socketOps);
  }

  /**
   * The swarm's daemons go on the wire (their holders start in the background), each node's
   * underlay interface listened on first (capture.ts ControlCapture), so a step's control
   * traffic is captured from its first packet. A lab that only sets up starts neither.
   */
  private warmHolders(): Promise<void> {
    const points = this.controlPoints, nodes = this.swarmNodes;
    return this.captureInTurn(async () => {
      await this.controlCapture.ensure(points);
      this.listeners.warm(nodes);
    });
  }

  /**
   * Work on the control captures (and the holders' start that waits for them), one piece
   * after another: two ControlCapture.ensure()s at once would each find a device not listened
   * on and each start a tcpdump there, one of them then unknown to stop(). A piece that failed
   * does not stop the next (which tries the captures still missing).
   */
  private captureInTurn(work: () => Promise<void>): Promise<void> {
    const next = this.capturing.catch(() => undefined).then(work);
    this.capturing = next;
    return next;
  }

  /**
   * A swarm node's traffic as the model says (sim/model/cluster.ts nodeTraffic), made once per
   * world and host: the holders and the capture's control flows read the same.
   */
  private trafficOf(world: World, host: string): NodeTraffic | undefined {
    if (this.traffic?.world !== world) this.traffic = { world, byHost: new Map() };
    const byHost = this.traffic.byHost;
    if (!byHost.has(host)) {
      const view = clusterView(world);
      byHost.set(host, view ? nodeTraffic(view, host, this.netdb) : undefined);
    }
    return byHost.get(host);
  }

  setStepBounds(b: StepBounds): void {
    this.bounds = b;
    this.controlReader.record.beginStep();
  }

  /**
   * The control traffic the step's span carried, read from the nodes' captures (what they
   * gained since the last step); a capture whose device went down and came back up listens
   * again. A frame on its way to tcpdump's file as the step ends is the next step's.
   */
  async endStep(): Promise<void> {
    if (this.closed || (this.controlPoints.length === 0 && this.controlCapture.points.length === 0)) return;
    await this.serialized(async () => {
      const world = this.lastWorld;
      const byAddress = new Map(world ? world.hostOrder.map((h) => [hostOf(world, h).underlay, h] as const) : []);
      for (const [h, played] of this.playedTraffic) {
        const t = played(), before = this.sentTraffic.get(h) ?? [];
        if (JSON.stringify(before[before.length - 1]) !== JSON.stringify(t)) this.sentTraffic.set(h, [...before, t]);
      }
      await this.capturing.catch(() => undefined);
      await this.controlReader.read(this.controlCapture.points, { traffic: this.sentTraffic, gossip: this.netdb.lengths, bulkSync: this.netdb.syncLengths }, (ip) => byAddress.get(ip));
      await this.captureInTurn(() => this.controlCapture.restart());
    });
  }

  /**
   * Runs a step's command, as the registry allows: only a command whose entry emu maps to a
   * real program, only in a namespace this run made. The shell asks the registry first; this
   * is the last door before a process starts, so nothing that slips past the shell (or calls
   * a backend directly) reaches a real program or another namespace of the machine.
   */
  async exec(host: string, netns: string, argv: string[], ctx: ExecContext): Promise<CommandOutput> {
    const c = ctx.container ? containerById(ctx.world, ctx.container) : undefined;
    const allowed = realProgram(argv, c ? 'container' : 'host', c?.image);
    if (!allowed.real) return allowed.refusal;
    this.viewAhead = { real: this.realName(host, netns), view: c ? { container: c.id } : { host }, world: ctx.world };
    try {
      await this.settleThen('early');
    } finally {
      this.viewAhead = undefined;
    }
    return this.serialized(() => this.execNow(host, netns, argv, ctx));
  }

  /**
   * A running container's process: the holder of its view (confine.ts), asleep in the
   * container's network, mount and UTS namespaces from the first step that needed them until
   * its sandbox goes, as a container's own process is in Docker's. `nsenter -t PID -n -m -u`
   * enters what a step in the container sees. Built now if no step has run there yet.
   */
  async containerPid(c: Container, world: World): Promise<number | undefined> {
    await this.settleThen('none');
    return this.serialized(async () => {
      const real = this.runNamespace(c.host, containerNetns(c));
      return real ? (await this.confine.prepare(real, { container: c.id }, world)).holder.pid : undefined;
    });
  }

  /** The real name emu gives namespace `netns` of `host` (undefined for a name it cannot give). */
  private realName(host: string, netns: string): string | undefined {
    try {
      return this.names.netns(host, netns);
    } catch {
      return undefined;
    }
  }

  /** The real name of namespace `netns` of `host` when this run made it (and has not deleted it). */
  private runNamespace(host: string, netns: string): string | undefined {
    const real = this.realName(host, netns);
    return real && this.record.state.namespaces.includes(real) ? real : undefined;
  }

  private async execNow(host: string, netns: string, argv: string[], ctx: ExecContext): Promise<CommandOutput> {
    this.progress.done();
    const real = this.runNamespace(host, netns);
    // iproute2's words for a namespace it cannot open, as the shell answers one the model lacks.
    if (!real) return { stdout: '', stderr: `Cannot open network namespace "${netns}": No such file or directory\n`, exitCode: 255 };
    const c = ctx.container ? containerById(ctx.world, ctx.container) : undefined;
    // A host's command in a container's sandbox (ip netns exec) sees the resolver's sockets
    // dockerd opened with the sandbox, so that container's DNS server starts as for its own commands.
    const sandboxOf = c ?? Object.values(hostOf(ctx.world, host).containers).find((x) => x.sandbox === netns && x.state === 'running');
    // The container's DNS server and the step's view are made while the step waits for
    // other things (a ping's socket holders and captures); the program runs once both are ready.
    const view: EtcView = c ? { container: c.id } : { host };
    const ready = Promise.all([sandboxOf ? this.dns.sync(ctx.world, sandboxOf.id) : undefined, this.confine.prepare(real, view, ctx.world)]);
    ready.catch(() => undefined);
    try {
      return await this.execReady(host, real, c, view, argv, ctx, ready);
    } catch (e) {
      // What was being started is started (and known to the run, to stop at its close) before the step fails.
      await ready.catch(() => undefined);
      throw e;
    }
  }

  private async execReady(host: string, real: string, c: Container | undefined, view: EtcView, argv: string[], ctx: ExecContext, ready: Promise<unknown>): Promise<CommandOutput> {
    // The swarm's daemons are on the wire whenever a command runs, as on Docker hosts. A traced
    // ping's captures start while the holders warm (tracedPing waits for both); any other command runs once they have.
    const warming = this.warmHolders();
    // Awaited below or by the traced ping; a failure meanwhile (the route's device is asked first) is not left unhandled.
    warming.catch(() => undefined);
    // A container run with --network host pings from its host's namespace: the host's own ping, on the host path.
    const traced = argv[0] === 'ping' && c !== undefined && !sharesHostNetns(c);
    // A host's ping to an address (or a --network host container's): the same question as a container's (tracedPing asks it once the name is resolved).
    const hostPing = (!c || sharesHostNetns(c)) && (argv[0] === 'ping' || (argv[0] === 'busybox' && argv[1] === 'ping')) ? pingTarget(pingArgs(argv)) : undefined;
    // Captured on the host path where the host driver models its way (to an address: the route's device and the destination's side).
    const modelledWay = hostPing !== undefined && isIpv4(hostPing) && real === this.realName(host, host) ? driverNamed('host')?.hostNamespaceWay?.(ctx.world, host, hostPing) : undefined;
    // Only where the namespace's route leaves by the way's first device, as sim places it: a step's own route may send it elsewhere.
    const hostPingWay = modelledWay && await routeDevice(real, hostPing!) === modelledWay.spots[0].device ? modelledWay : undefined;
    if (!traced && !hostPingWay) await warming;
    // The host's daemons' sockets, for a host's command or one in a container sharing its namespace (--network host).
    if (!c || sharesHostNetns(c)) await this.listeners.sync(real);
    // A miss during this command is answered as the cluster stands now.
    this.missWatch.refresh(ctx.world);
    // A BusyBox image's program is Debian's busybox run as that applet (family.ts).
    const busybox = c !== undefined && toolFamilyOf(c.image) === 'busybox';
    if (busybox || argv[0] === 'busybox') checkBusybox();
    const program = busybox ? ['busybox', ...argv] : argv;
    if (traced) return this.tracedPing(c, real, view, program, ctx, ready, warming);
    const refused = hostPing !== undefined && isIpv4(hostPing) ? await this.pingThroughOtherDevice(real, argv, hostPing) : undefined;
    // The holders warming (not awaited for a traced ping) are started too before a refusal returns.
    if (refused) return refusedOnceReady(refused, hostPingWay ? allDone([ready, warming]) : ready);
    if (hostPingWay) {
      const netAdminHere = c === undefined || holdsNetAdmin(c);
      const r = await this.tracedHostPing(c?.name ?? host, hostPingWay, hostPing!, (opening) => this.runStep(real, view, program, ctx, ready, this.watch(ctx, (text) => this.names.unmap(text, host)), netAdminHere, opening), warming);
      return { ...r, stdout: this.names.unmap(r.stdout, host), stderr: this.names.unmap(r.stderr, host) };
    }
    if (argv[0] === 'iptables' || argv[0] === 'iptables-restore') this.firewalled = true;
    // A container has no CAP_NET_ADMIN unless run with --cap-add NET_ADMIN (Docker's default capabilities,
    // model/capabilities.ts): the real kernel refuses its changes as sim does, and its ip link add|delete counts nothing.
    const netAdmin = c === undefined || holdsNetAdmin(c);
    // A device the step makes is numbered in Docker's sequence, as sim numbers it, and then counted.
    const linkChange = netAdmin ? typedLinkChange(argv) : undefined;
    // Deleting a device the plan made is not modelled (sim's ip refuses it): the plan's devices say so, not the kernel.
    if (linkChange?.verb === 'del' && linkChange.name !== undefined && this.numbering.madeByPlan(real, linkChange.name)) {
      return refusedOnceReady({ stdout: '', stderr: modelDeviceDeleteRefusal(linkChange.name), exitCode: 2, refusedUnmodelled: true }, ready);
    }
    // So is deleting an address's connected route: the namespace's kernel says whether it holds one.
    const routeDel = netAdmin ? typedConnectedRouteDelete(argv) : undefined;
    if (routeDel && await holdsConnectedRoute(real, routeDel)) return refusedOnceReady({ stdout: '', stderr: CONNECTED_ROUTE_DEL_REFUSAL, exitCode: 2, refusedUnmodelled: true }, ready);
    if (linkChange?.verb === 'add') await this.levelCounters([real]);
    const r = await this.runStep(real, view, program, ctx, ready, this.watch(ctx, (text) => this.names.unmap(text, host)), netAdmin);
    // Off the way the host driver models (a name, another destination): the flow's ends alone.
    if (hostPing !== undefined && real === this.realName(host, host)) this.hostPingFlow(c?.name ?? host, hostPing, r.stdout);
    if (linkChange && r.exitCode === 0) {
      if (linkChange.verb === 'add') this.numbering.madeByStep(real, linkChange.name);
      else this.numbering.delete(real, linkChange.name!);
    }
    const unavailable = missingKernelFeature(argv, r);
    return { ...r, stdout: this.names.unmap(r.stdout, host), stderr: this.names.unmap(r.stderr, host), ...(unavailable ? { unavailable } : {}) };
  }

  /** A step's program, confined to its view and bounded by the step's timeout and output cap. */
  private async runStep(real: string, view: EtcView, argv: string[], ctx: ExecContext, ready: Promise<unknown>, watch?: Watch, netAdmin = true, beforeSpawn?: () => void): Promise<CommandOutput> {
    await Promise.all([this.forwarding, ready]);
    const r = await this.confine.run(real, view, ctx.world, argv, this.bounds, this.abort.signal, watch, netAdmin, beforeSpawn);
    // setpriv's own words when the program is not installed here.
    if (r.exitCode === 127 && /^setpriv: failed to execute/.test(r.stderr)) return { stdout: '', stderr: `bash: ${argv[0]}: command not found\n`, exitCode: 127 };
    return r;
  }

  /** A command typed at a terminal streams its output (as its result will show it) and takes Ctrl-C. */
  private watch(ctx: ExecContext, shown: (text: string) => string = (text) => text): Watch | undefined {
    const live = ctx.live;
    if (!live) return undefined;
    return { onOutput: (stream, text) => live.write(stream, shown(text)), interrupt: live.interrupt };
  }

  /** Captures along the path the model says the ping takes, runs the real ping, and traces it. */
  private async tracedPing(c: Container, real: string, view: EtcView, argv: string[], ctx: ExecContext, ready: Promise<unknown>, warming: Promise<void>): Promise<CommandOutput> {
    const target = pingTarget(pingArgs(argv)) ?? '';
    const dst = isIpv4(target) ? target : answerQuery(ctx.world, c, target, 'A')?.answers[0]?.data;
    const refusal = dst && await this.pingThroughOtherDevice(real, argv, dst);
    // The holders warming are started too: nothing the step began is left running into the next.
    if (refusal) return refusedOnceReady(refusal, allDone([ready, warming]));
    const way = dst ? packetWay(ctx.world, c, dst) : undefined;
    const pathId = registeredPath(way?.path);
    const flow: Flow = { id: `ping-${this.flowList.filter((f) => f.kind === 'icmp-echo').length + 1}`, kind: 'icmp-echo', from: c.name, to: target, ...(pathId ? { path: pathId } : {}), hops: [] };
    const dir = this.opts.pcapDir ?? path.join(this.record.dir, 'captures', flow.id);
    fs.mkdirSync(dir, { recursive: true });
    // A name is resolved through the container's lo (the embedded DNS); an address is not looked up at all.
    const points = capturePoints(ctx.world, c, dst, way, this.names, dir, !isIpv4(target));
    const src = way?.ep.ip;
    // On the outside path the host's MASQUERADE makes the source its own underlay address past its uplink; the way may name another.
    const natSrc = way?.natSrc ?? (way && way.path !== driverOf(way.net).path ? hostOf(ctx.world, c.host).underlay : undefined);
    const key = dst && src ? { src, dst, ...(natSrc ? { natSrc } : {}) } : undefined;
    return this.captured(flow, points, key, warming, (opening) => this.runStep(real, view, argv, ctx, ready, this.watch(ctx), true, opening));
  }

  /**
   * A ping from a host's own namespace (a host's command, or a --network host container's) to
   * an address on the host path (the host driver's hostNamespaceWay): captured on the route's device and the
   * destination's side, its hops placed on the host path as sim's.
   */
  private async tracedHostPing(from: string, way: HostNamespaceWay, dst: string, run: RunOpening, warming: Promise<void>): Promise<CommandOutput> {
    const flow: Flow = { id: `ping-${this.flowList.filter((f) => f.kind === 'icmp-echo').length + 1}`, kind: 'icmp-echo', from, to: dst, ...hostPathOf(), hostNamespace: true, hops: [] };
    const dir = this.opts.pcapDir ?? path.join(this.record.dir, 'captures', flow.id);
    fs.mkdirSync(dir, { recursive: true });
    const points = spotsToPoints(way.spots, this.names, dir);
    return this.captured(flow, points, { src: way.src, dst }, warming, run);
  }

  /**
   * Runs a ping with tcpdump at each of its capture points (listening before it sends), then reads its hops, explains its losses and records the flow (once it had both ends).
   * `run` calls `opening` just before it spawns the ping: the window of the ping's frames opens there, not before the forwarding and views it waits for.
   */
  private async captured(flow: Flow, points: CapturePoint[], key: FlowKey | undefined, warming: Promise<void>, run: RunOpening): Promise<CommandOutput> {
    const capture = new Capture(points);
    this.activeCapture = capture;
    let out;
    // With rules in the lab, the dropping rules' counters before and after tell which one took a lost packet.
    const watched = this.firewalled ? [...new Set(points.map((p) => p.realNetns))] : [];
    let dropsByRule = new Map<string, string>();
    // Each tcpdump is a process start, as each holder is: they start side by side. The ping's
    // tcpdumps are this Capture's own processes: one may open the device (a host's eth0) a
    // control capture opens at the same moment, each with its own packet socket, which the
    // kernel allows; what must not run twice at once is ControlCapture's bookkeeping (captureInTurn).
    const started = capture.start(this.record);
    let since = 0n;
    try {
      // Every swarm node's daemon is on the wire while the ping is captured, as on Docker hosts
      // (execReady's warmHolders listens on their underlay interfaces).
      await allDone([started, warming.then(() => this.listeners.startEvery())]);
      // Read once the holders are up: what a rule dropped of their start is not the ping's.
      const countersBefore = await dropCounters(watched);
      if (this.closed) throw new EmuEnvironmentError(`the emu run ${this.names.prefix} is shutting down`);
      // The window opens just before the ping runs: nothing sent before can be a frame of it or one its packets waited on.
      out = await run(() => { since = BigInt(Date.now()) * 1_000_000n; });
      // The ping has ended: its frames are queued to every capture, and its misses answered; taken in, they are complete.
      await Promise.all([capture.drained(), this.missWatch.settled(since)]);
      dropsByRule = grownDrops(countersBefore, await dropCounters(watched));
    } finally {
      await capture.stop();
      this.activeCapture = undefined;
      this.record.state.pids = this.record.state.pids.filter((pid) => !capture.pids.includes(pid));
      this.record.save();
    }
    if (key) {
      flow.hops = await hopsFrom(pathOf(flow), points, key, this.epochStartNs, since);
      this.missHops(flow, since);
      await this.explainLoss(flow, points, out.stderr, capture.unavailable, dropsByRule);
      if (flow.hops.length > MAX_HOPS_PER_FLOW) {
        flow.hopsNotKept = flow.hops.length - MAX_HOPS_PER_FLOW;
        flow.hops.length = MAX_HOPS_PER_FLOW;
      }
      this.flowList.push(flow);
    }
    return out;
  }

  /**
   * A ping from a host's own namespace (a host's, or a --network host container's) that emu
   * does not capture (a name, a destination off the host path the host driver models): its
   * flow is recorded without hops (Flow.hostNamespace), once the ping had an address to send to (sim's ping drops the
   * flow of a name it could not resolve; iputils and BusyBox print the address they resolved
   * in their first line).
   */
  private hostPingFlow(from: string, target: string, stdout: string): void {
    if (!isIpv4(target) && !stdout.startsWith(`PING ${target} (`)) return;
    const n = this.flowList.filter((f) => f.kind === 'icmp-echo').length + 1;
    this.flowList.push({ id: `ping-${n}`, kind: 'icmp-echo', from, to: target, hostNamespace: true, hops: [] });
  }

  /**
   * `ping -I DEVICE` (argv: `ping …` or `busybox ping …`) through a device of namespace `real`
   * other than the one its route to `dst` takes is not modelled (sim's ping refuses it once it
   * has looked the route up): the namespace's kernel says which device that is, as the plan and
   * the steps before (a route added, a device set down) have left it.
   */
  private async pingThroughOtherDevice(real: string, argv: string[], dst: string): Promise<CommandOutput | undefined> {
    const bind = pingBind(pingArgs(argv));
    if (bind === undefined || isIpv4(bind) || !this.numbering.holds(real, bind)) return undefined;
    const dev = await routeDevice(real, dst);
    if (dev !== undefined) return dev !== bind ? { stdout: '', stderr: pingDeviceRefusal(bind), exitCode: 2, refusedUnmodelled: true } : undefined;
    // No route: the kernel sends on the bound device's link, modelled (sim's onLinkRoute) where that device is up with an address of its own, not lo.
    return await sendsUnroutedUnmodelled(real, bind) ? { stdout: '', stderr: pingUnroutedRefusal(bind), exitCode: 2, refusedUnmodelled: true } : undefined;
  }

  /**
   * What the miss handlers did during the ping (misswatch.ts), as the flow's hops where sim
   * has them: the ARP vxlan0 could not answer, its miss, the answer (the model's: emu sends no
   * serf query) and the entries programmed.
   */
  private missHops(flow: Flow, sinceNs: bigint): void {
    const model = pathOf(flow);
    const add = (h: Hop) => {
      const at = flow.hops.findIndex((x) => x.timeNs > h.timeNs);
      flow.hops.splice(at < 0 ? flow.hops.length : at, 0, h);
    };
    for (const { host, netns, dev, e } of this.missWatch.eventsSince(sinceNs)) {
      const timeNs = Number(BigInt(e.t) - this.epochStartNs);
      const lookup = model.drops.encap;
      const base = { dir: 'request' as const, host, timeNs, layers: [] };
      if (e.event === 'miss') {
        const l3 = e.mac === undefined;
        // The request the kernel could not answer: the last ARP for the address seen going into vxlan0.
        const arp = [...flow.hops].reverse().find((h) => h.timeNs <= timeNs && h.device === dev && h.layers.some((l) => l.proto === 'arp' && l['arp.dst.proto_ipv4'] === e.ip));
        const step = model.drops[l3 ? 'arp-reduce' : 'encap'];
        add({ ...base, step, netns, device: dev, event: 'drop', layers: l3 && arp ? arp.layers : [], reason: l3 ? `no neighbour entry for ${e.ip} (l3miss)` : `no fdb entry for ${e.mac} (l2miss)` });
        add({ ...base, step, netns, device: dev, event: 'miss',
          note: l3 ? `${dev} l3miss: no neighbour for ${e.ip}; RTM_GETNEIGH ${e.ip} STALE to dockerd's watchMiss` : `${dev} l2miss: no FDB entry for ${e.mac}; RTM_GETNEIGH lladdr ${e.mac} STALE to dockerd's watchMiss (${e.ip})` });
      } else if (e.event === 'unanswered') {
        add({ ...base, step: lookup, netns: host, device: 'eth0', event: 'drop', reason: `could not resolve peer "${e.ip}": no member knows it (the model's answer; serf's query would time out after 1 s)` });
      } else if (e.event === 'answer') {
        add({ ...base, step: lookup, netns: host, device: 'eth0', event: 'peer-answer', note: `${e.answeredBy}'s answer to peerlookup for ${e.ip}, as the model holds it (emu sends no serf query): "${e.payload}"` });
      } else {
        add({ ...base, step: lookup, netns, device: dev, event: 'peer-programmed', note: `peerAdd: ${e.ip} lladdr ${e.mac} PERMANENT; ${e.mac} dst ${e.vtep} self permanent` });
      }
    }
  }

  /**
   * Captures show where a lost request was last seen, not why; ask the kernel there. The
   * drop hop says what the socket or the device's tables tell.
   */
  private async explainLoss(flow: Flow, points: CapturePoint[], stderr: string, unavailable: Unavailable[], dropsByRule: Map<string, string>): Promise<void> {
    const model = pathOf(flow);
    const requests = flow.hops.filter((h) => h.dir === 'request' && h.step !== RESOLVE_STEP && h.layers.some((l) => l.proto === 'icmp'));
    if (requests.some((h) => h.step === model.last && h.event === 'deliver')) return this.lostByRule(flow, requests, points, dropsByRule);
    const local = /local error: (message too long, mtu=(\d+))/.exec(stderr);
    const sender = senderPoint(model, points);
    const drop = (step: number | undefined, p: CapturePoint | undefined, reason: string, layers = requests[requests.length - 1]?.layers ?? []) => {
      if (!p || step === undefined) return;
      const timeNs = requests.length ? requests[requests.length - 1].timeNs : 0;
      const firstReply = flow.hops.findIndex((h) => h.dir === 'reply' && h.step !== RESOLVE_STEP);
      const hop = { step, dir: 'request' as const, host: p.host, netns: p.netns, device: p.device, event: 'drop' as const, timeNs, layers, reason };
      flow.hops.splice(firstReply < 0 ? flow.hops.length : firstReply, 0, hop);
    };
    if (local) return drop(model.drops.socket, sender, `DF set and over the device MTU: ${local[1]}`, []);
    const last = requests[requests.length - 1];
    // Last seen entering vxlan0 with no FDB entry for its destination: it died there, whatever lies further on.
    const vx = last?.step !== undefined && model.dropPointAfter(last.step) === 'encap' ? points.find((p) => p.role === 'vxlan' && p.host === last.host) : undefined;
    const unknownMac = vx ? await this.fdbLacks(vx, last) : undefined;
    if (unknownMac) return drop(model.drops.encap, vx, `no fdb entry for ${unknownMac} (l2miss)`);
    // A device that is down (or gone) further along the path stopped it: the first such after the last place it was seen.
    const src = sender?.host;
    const stopped = unavailable.flatMap((u) => {
      const step = pathStep(model, u.point, src);
      return step !== undefined && step > (last?.step ?? RESOLVE_STEP) ? [{ ...u, step }] : [];
    }).sort((a, b) => a.step - b.step)[0];
    if (stopped) return drop(stopped.step, stopped.point, stopped.reason === 'link down' ? 'link down' : `no such device ${stopped.point.device}`);
    // A rule took it: in the namespace where it was last seen (it arrived, then a hook dropped it), or further on.
    const ruled = [...dropsByRule].map(([real, rule]) => ({ point: points.find((p) => p.realNetns === real)!, rule }));
    const byRule = ruled.find((d) => last && d.point.host === last.host && d.point.netns === last.netns) ?? ruled[0];
    if (byRule) {
      const p = byRule.point;
      const seenThere = last && p.host === last.host && p.netns === last.netns;
      const where = p.netns === p.host ? p.host : `${p.host}/${p.netns}`;
      // A rule of the hooks a routed packet meets (FORWARD, POSTROUTING) took it where the host routes it on, on a path that has that step.
      const routed = /^(FORWARD|POSTROUTING)\b/.test(byRule.rule) ? model.drops.forward : undefined;
      const step = routed ?? (seenThere ? last.step : pathStep(model, p, src));
      const seenAt = seenThere ? points.find((q) => q.realNetns === p.realNetns && q.device === last.device) ?? p : p;
      // Last seen on a bridge port, a FORWARD rule ran on the bridge (br_netfilter, or the host routing what the bridge took up): the drop is the bridge's, where sim places it.
      const dropAt = /^FORWARD\b/.test(byRule.rule) && seenAt.role === 'bridge-port' && seenAt.master ? { ...seenAt, device: seenAt.master } : seenAt;
      if (step !== undefined) {
        if (seenThere) beforeTheSocket(last, byRule.rule);
        return drop(step, dropAt, `${where} ${byRule.rule}`);
      }
    }
    if (!last) return;
    // Last seen entering vxlan0, with an FDB entry (see above): lost after it.
    if (vx) {
      const mac = last.layers.filter((l) => l.proto === 'eth').pop()?.['eth.dst'] as string;
      return drop(model.drops.encap, vx, `lost after vxlan0 (fdb entry for ${mac} exists)`);
    }
    const next = last.step === undefined ? undefined : model.stepAfter(last.step);
    if (next !== undefined) drop(next, points.find((p) => p.host === last.host && p.device === last.device) ?? sender, `no capture point saw it after step ${last.step}`);
  }

  /**
   * Some probes arrived and some did not (a rule that drops at random): each lost request is
   * shown dropped where it was last seen, when a dropping rule's counter grew in that
   * namespace during the ping; otherwise nothing is claimed.
   */
  private lostByRule(flow: Flow, requests: Hop[], points: CapturePoint[], dropsByRule: Map<string, string>): void {
    const last = pathOf(flow).last;
    const bySeq = new Map<number, Hop[]>();
    for (const h of requests) {
      const seq = h.layers.find((l) => l.proto === 'icmp')?.['icmp.seq'] as number;
      bySeq.set(seq, [...(bySeq.get(seq) ?? []), h]);
    }
    const replied = new Set(flow.hops.filter((h) => h.dir === 'reply').map((h) => h.layers.find((l) => l.proto === 'icmp')?.['icmp.seq']));
    for (const [seq, hops] of bySeq) {
      // Taken in at the last step and never answered: a rule there (INPUT) may have taken it after the capture saw it.
      if (hops.some((h) => h.step === last && h.event === 'deliver') && replied.has(seq)) continue;
      const seen = hops.reduce((a, b) => ((b.step ?? 0) >= (a.step ?? 0) ? b : a));
      const p = points.find((q) => q.host === seen.host && q.netns === seen.netns && dropsByRule.has(q.realNetns));
      if (!p) continue;
      const where = p.netns === p.host ? p.host : `${p.host}/${p.netns}`;
      beforeTheSocket(seen, dropsByRule.get(p.realNetns)!);
      const drop: Hop = { step: seen.step, dir: 'request', host: seen.host, netns: seen.netns, device: seen.device, event: 'drop', timeNs: seen.timeNs, layers: seen.layers, reason: `${where} ${dropsByRule.get(p.realNetns)}` };
      flow.hops.splice(flow.hops.indexOf(seen) + 1, 0, drop);
    }
  }

  /** The destination MAC of a frame last seen entering vxlan0, when vxlan0's FDB has no entry for it. */
  private async fdbLacks(vx: CapturePoint, last: Hop): Promise<string | undefined> {
    const mac = last.layers.filter((l) => l.proto === 'eth').pop()?.['eth.dst'] as string;
    const fdb = (await run('bridge', ['-n', vx.realNetns, 'fdb', 'show', 'dev', 'vxlan0'])).stdout;
    return fdb.split('\n').some((l) => l.startsWith(`${mac} dst `)) ? undefined : mac;
  }

  /** eth0's IFF_UP in the host's namespace, listed by the namespace worker (no program started). */
  async underlayLinkUp(host: string): Promise<boolean | undefined> {
    const real = this.runNamespace(host, host);
    if (!real) return undefined;
    const [links] = await linksIn([real]);
    return links?.find((l) => l.name === 'eth0')?.up;
  }

  flows(): Flow[] {
    return this.flowList;
  }

  controlFlows(): Flow[] {
    return this.controlReader.record.flows;
  }

  controlNotKept(): ReadonlyMap<ControlKind, number> {
    return this.controlReader.record.notKept;
  }

  elapsedNs(): number {
    return Number(process.hrtime.bigint() - this.startNs);
  }

  /** Closes the run once; every caller waits for the same teardown. */
  close(): Promise<void> {
    this.closing ??= this.shutDown();
    return this.closing;
  }

  /** SIGINT or SIGTERM: cancel what runs, tear down (a kept lab stays as far as it got). */
  interrupt(): Promise<void> {
    this.interrupted = true;
    return this.close();
  }

  private async shutDown(): Promise<void> {
    try {
      // A kept topology must be whole; one torn down needs none of the deferred work.
      if (this.opts.keep && !this.interrupted) await this.settle();
    } finally {
      this.closed = true;
      this.progress.done();
      this.abort.abort();
      this.activeCapture?.kill();
      if (this.interrupted) this.controlCapture.kill();
      await this.busy;
      // A capture or holder starting now is known to the run (and stopped with it) once started.
      await this.capturing.catch(() => undefined);
      try {
        if (this.opts.keep) {
          // Views serve steps only: a kept lab is entered with ip netns exec. The captures serve the run's steps: a kept lab is left without them.
          await Promise.all([this.confine.releaseAll(), this.controlCapture.stop()]);
          await this.keepDns();
        } else await this.tearDown();
      } finally {
        this.releaseGuard();
        await this.releaseWorker();
      }
    }
  }

  private async tearDown(): Promise<void> {
    try {
      // Each kind of process stops at once (each waits for its own to exit), the views' holders too: they go before their namespaces.
      const stopped = await Promise.allSettled([this.confine.releaseAll(), this.controlCapture.stop(), this.dns.stopAll(), this.listeners.stopAll(), this.missWatch.stopAll()]);
      for (const program of this.programs.values()) program.stopAll();
      const failed = stopped.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
    } finally {
      // A state folder that refuses writes (full, read-only) fails the stops' bookkeeping,
      // not the teardown: what is still running is stopped by its pid, and the namespaces go.
      // The run's folder (captures, views, DNS views) goes while they do; its record last.
      const folder = fs.promises.rm(this.record.dir, { recursive: true, force: true }).catch(() => undefined);
      await teardown(this.record.state);
      await folder;
      this.record.remove();
    }
  }

  /** Brings the kernel's index counters of these namespaces level with Docker's sequence (Numbering.catchUp), one `ip` each that needs it. */
  private async levelCounters(namespaces: string[]): Promise<void> {
    await batchEach('ip', namespaces.map((netns) => ({ netns, lines: this.numbering.catchUp(netns) })));
  }

  /** A kept lab answers names as the run did: every running container gets its server, and they outlive us until `cnmlab clean`. */
  private async keepDns(): Promise<void> {
    await this.forwarding;
    // A step's program makes no device but a dummy it counts (Numbering.madeByStep); in a kept
    // lab, entered with `ip netns exec`, anything may, and must be numbered as on Docker's host.
    if (!this.interrupted) await this.levelCounters(this.record.state.namespaces);
    if (!this.interrupted) await this.listeners.startEvery();
    const world = this.deferredWorlds[this.deferredWorlds.length - 1] ?? this.lastWorld;
    if (world && !this.interrupted) await this.dns.startEvery(world).catch((e: unknown) => {
      throw this.lostNamespace() ?? refusedStateWrite(e) ?? e;
    });
  }

  /** How to enter a kept lab: each namespace by what it is, the `ip netns exec` line, and how to remove it. */
  keptLab(): string {
    const world = this.lastWorld;
    const rows = this.record.state.namespaces.map((real) => [describeNamespace(real, this.names, world), `ip netns exec ${real} bash`]);
    const width = Math.max(0, ...rows.map((r) => r[0].length));
    return `kept lab ${this.names.prefix} (scenario ${this.record.state.scenario}); enter a namespace with:\n`
      + rows.map(([what, cmd]) => `  ${what.padEnd(width)}  ${cmd}\n`).join('')
      + `list them: ip netns list | grep '^${this.names.prefix}\\.'\nremove the lab (and its DNS servers): cnmlab clean\n`;
  }
}

/**
 * When a step's kernel work starts the swarm nodes' listener holders (in the background): as
 * soon as the host namespaces are configured, while the rest goes on, when a step's command
 * runs next ('early'); once the work is done, for the steps after it ('after'); or not at
 * all, where only the kernel is wanted (settle, at the run's end: a lab that only sets up
 * starts none, and a later command starts them).
 */
type HolderStart = 'early' | 'after' | 'none';

/** A traced ping's run: it calls `opening` just before it spawns the ping. */
type RunOpening = (opening: () => void) => Promise<CommandOutput>;

/** How long after a leaver's last gossip round its sockets close: its holder's timer fires then, the datagram a moment later. */
const LEAVE_SEND_MARGIN_MS = 50;

/** What a kept namespace is, in the scenario's words. */
function describeNamespace(real: string, names: NameMap, world: World | undefined): string {
  if (real === names.underlay) return 'underlay segment';
  const [host, ns] = real.slice(names.prefix.length + 1).split(/\.(.*)/s);
  if (ns === undefined) return `host ${host}`;
  const h = world && world.hostOrder.includes(host) ? hostOf(world, host) : undefined;
  const c = h ? Object.values(h.containers).find((x) => x.sandbox === ns) : undefined;
  if (c) return `container ${c.name} on ${host}`;
  // A network's namespace of its own, as its driver names it (a swarm overlay's, or a classic one's copy on this host).
  const net = h ? [...swarmNetworks(world!.swarm), ...Object.values(h.localNetworks)].find((n) => driverOf(n).networkNamespace(n)?.name === ns) : undefined;
  return net ? `${net.driver} ${net.name} on ${host}` : `${ns} on ${host}`;
}

/** Waits for every piece of work to end, then fails with the first that failed: nothing goes on behind a failure. */
async function allDone(work: (Promise<unknown> | undefined)[]): Promise<void> {
  const ended = await Promise.allSettled(work);
  const failed = ended.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}

/** Whether every deletion among these ops removes a device the same ops made earlier in the same namespace. */
export function deletesOnlyItsOwn(ops: PlanOp[]): boolean {
  const made = new Set<string>();
  for (const op of ops) {
    if (op.op === 'link.add') made.add(`${op.host}/${op.netns}/${op.name}`);
    else if (op.op.endsWith('.del') && !(op.op === 'link.del' && made.has(`${op.host}/${op.netns}/${op.name}`))) return false;
  }
  return true;
}

/**
 * Removes every device of namespaces about to be deleted. `ip netns del` only unmounts: the
 * kernel frees the namespace later, on a workqueue, and until then its vxlan0 still holds the
 * VNI in the host namespace (so the next step's vxlan fails "A VXLAN device with the
 * specified VNI already exists") and its veths' peers linger. Deleting a device is
 * synchronous, so the next step finds the kernel as the model left it.
 */
async function emptyNamespaces(namespaces: string[]): Promise<void> {
  const listed = await linksIn(namespaces);
  const batches = namespaces.map((netns, i) => ({ netns, lines: (listed[i] ?? []).filter((l) => l.name !== 'lo').map((l) => ['link', 'del', 'dev', safe(l.name)]) }));
  // A veth whose peer went first (in another of these namespaces) is already gone: -force goes on.
  await batchEach('ip', batches, { force: true });
}

/**
 * Waits until every device just brought up with a carrier is operationally up. The kernel
 * sets operstate later, on its linkwatch work, and a bridge enables a port only then: a
 * veth whose ifindex equals its peer's counts as a non-urgent event there, delayed up to a
 * second, and a ping in that window is lost at br0 (after `docker network connect`, say).
 */
async function portsForwarding(namespaces: string[]): Promise<void> {
  const deadline = Date.now() + 3000;
  let pending = namespaces;
  while (pending.length && Date.now() < deadline) {
    const listed = await linksIn(pending);
    pending = pending.filter((_, i) => listed[i]?.some(waitingForCarrier));
    if (pending.length) await new Promise((r) => setTimeout(r, 20));
  }
}

/** A device up with a carrier that the kernel has not yet made operational. */
function waitingForCarrier(l: LinkState): boolean {
  return l.up && l.lowerUp && l.operstate === OPER_DOWN;
}

/** The step at which the request would have been seen at a capture point: going out on the sender's host, coming in elsewhere. */
function pathStep(model: PathModel, p: CapturePoint, src: string | undefined): number | undefined {
  return stepOfRequestAt(model, p, p.host === src ? 'out' : 'in');
}

/**
 * Where the path model has the sender send: the first capture point it places a request at
 * on its first step (a container's eth0; on the host path, the host's bridge or its uplink).
 * The points are added sender first, so a peer's like point comes after.
 */
function senderPoint(model: PathModel, points: CapturePoint[]): CapturePoint | undefined {
  return points.find((p) => p.role !== 'lo' && (stepOfRequestAt(model, p, 'out') === model.first || stepOfRequestAt(model, p, 'in') === model.first));
}

/** Where a ping from container c is seen: its lo (DNS) when it resolves a name, and along its way out (the network the model says it takes, the peer's side too). */
function capturePoints(world: World, c: Container, dst: string | undefined, way: ReturnType<typeof packetWay>, names: NameMap, dir: string, resolves: boolean): CapturePoint[] {
  const { points, add, addSpot } = pointCollector(names, dir);
  if (resolves) add({ host: c.host, netns: c.sandbox, device: 'lo', realNetns: names.netns(c.host, c.sandbox), iface: 'lo', role: 'lo', mine: [] });
  const sides: { net: Network; ep: Endpoint }[] = way ? [{ net: way.net, ep: way.ep }, ...driverOf(way.net).peersToCapture(way.net, dst, world).map((ep) => ({ net: way.net, ep })), ...(way.peers ?? [])] : [];
  for (const { net, ep } of sides) {
    add({ host: ep.host, netns: ep.sandbox, device: ep.ifname, realNetns: names.netns(ep.host, ep.sandbox), iface: ep.ifname, role: 'container', mine: [ep.mac] });
    for (const spot of driverOf(net).captureSpots(world, net, ep)) addSpot(spot);
  }
  // Off all its networks, the packet goes on past the bridge of its default route (the outside path).
  const driver = way && driverOf(way.net);
  if (way && driver && way.path !== driver.path && !way.spots) for (const spot of driver.outsideCaptureSpots?.(world, way.net, way.ep, dst) ?? []) addSpot(spot);
  // A host-level driver's own places (flannel's uplinks, underlay ports and flannel.1).
  for (const spot of way?.spots ?? []) addSpot(spot);
  return points;
}

/** The capture points of a model's spots, in order. */
function spotsToPoints(spots: readonly CaptureSpot[], names: NameMap, dir: string): CapturePoint[] {
  const { points, addSpot } = pointCollector(names, dir);
  for (const spot of spots) addSpot(spot);
  return points;
}

/** Capture points in the order they are added, each real device once, with its capture file under `dir`. */
function pointCollector(names: NameMap, dir: string) {
  const points: CapturePoint[] = [];
  const seen = new Set<string>();
  const add = (p: Omit<CapturePoint, 'file'>) => {
    const key = `${p.realNetns}/${p.iface}`;
    if (seen.has(key)) return;
    seen.add(key);
    points.push({ ...p, file: captureFile(dir, p) });
  };
  const addSpot = (spot: CaptureSpot): void => {
    // The host's port on the underlay segment, which only emu builds.
    if (spot.role === 'underlay') add({ ...spot, host: 'underlay', netns: 'underlay', device: underlayPort(spot.host), realNetns: names.underlay, iface: underlayPort(spot.host) });
    else add({ ...spot, realNetns: names.netns(spot.host, spot.netns), iface: spot.device });
  };
  return { points, add, addSpot };
}

/**
 * cnmlab's refusal of a step's command (what it does not model), returned once the view the
 * step was being given is made, as a program's output is: nothing the step began is left starting.
 */
async function refusedOnceReady(refusal: CommandOutput, ready: Promise<unknown>): Promise<CommandOutput> {
  await ready.catch(() => undefined);
  return refusal;
}

/** The path of what a host's own namespace sends, as the host driver names it. */
function hostPathOf(): Pick<Flow, 'path'> {
  const path = registeredPath(driverNamed('host')?.path);
  return path ? { path } : {};
}

/** A ping's words after the program: `ping …`, or `busybox ping …` (a BusyBox image's, or a host's applet). */
function pingArgs(argv: readonly string[]): string[] {
  return argv.slice(argv[0] === 'busybox' ? 2 : 1);
}

/**
 * The device namespace `real`'s route to `dst` takes, as `ip route get` resolves it (lo for its
 * own addresses and 127.0.0.0/8); a blackhole's lookup fails with EINVAL, and sim's route
 * takes lo for it; undefined without a route.
 */
async function routeDevice(real: string, dst: string): Promise<string | undefined> {
  const r = await run('ip', ['-n', real, '-j', 'route', 'get', dst]);
  if (r.exitCode !== 0) return /Invalid argument/.test(r.stderr) ? 'lo' : undefined;
  return (JSON.parse(r.stdout) as { dev?: string }[])[0]?.dev;
}

/** Whether device `dev` of namespace `real` is up and lo or without an IPv4 address: where sim does not model a ping bound to it with no route. */
async function sendsUnroutedUnmodelled(real: string, dev: string): Promise<boolean> {
  const r = await run('ip', ['-n', real, '-j', '-4', 'addr', 'show', 'dev', dev]);
  const link = r.exitCode === 0 ? (JSON.parse(r.stdout || '[]') as { flags?: string[]; addr_info?: unknown[] }[])[0] : undefined;
  return link?.flags?.includes('UP') === true && (link.flags.includes('LOOPBACK') || !link.addr_info?.length);
}

/**
 * Whether namespace `real` holds an address's connected route of `dst`/`prefixLength` (on
 * `dev`, when named): in the main table, proto kernel, with the address as its source
 * (fib_add_ifaddr's; a route a step added names no source, sim's ip refusing `src`).
 */
async function holdsConnectedRoute(real: string, { dst, prefixLength, dev }: { dst: string; prefixLength: number; dev?: string }): Promise<boolean> {
  const r = await run('ip', ['-n', real, '-j', 'route', 'show', 'exact', `${dst}/${prefixLength}`, 'proto', 'kernel', ...(dev === undefined ? [] : ['dev', dev])]);
  return r.exitCode === 0 && (JSON.parse(r.stdout || '[]') as { prefsrc?: string }[]).some((route) => route.prefsrc !== undefined);
}
