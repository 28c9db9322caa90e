/**
 * A scenario host's or container's shell, the same in both modes. A step's line is split
 * into pipelines (`|`) and a list (`;`), and every command is checked against the command
 * registry before anything runs: one unmodelled command refuses the whole line. Then
 * `docker` goes to the model, `ip netns` reads the model's namespaces, the text filters are
 * applied here, and everything else runs in the backend inside the right namespace.
 */
import { Backend, CommandOutput, ExecContext, LiveIo } from '../backend';
import { parseCommandLine } from '../commands/cmdline';
import { runFilter } from '../commands/filters';
import { ipNetnsOption, isTextFilter, lookedUpChangesKernel, Lookup, lookupCommand, notModelled, refusedHoldingNetAdmin, ShellKind, TakenLookup } from '../commands/registry';
import { toolFamilyOf } from '../commands/family';
import { holdsNetAdmin } from '../model/capabilities';
import { Model } from '../model/model';
import { allNetworks, findContainer, Stage } from '../model/tx';
import { PlanOp } from '../plan/ops';
import { driverOf } from '../model/drivers';
import { Container, hostOf, sharesHostNetns, instanceOf, Network, World } from '../model/world';
import { DEFAULT_SANDBOX_FILE } from '../model/sandbox';
import { dockerStep, mainProcessEnded, mainProcessOutput, mainProcessText } from '../docker/session';
import type { ContainerProcesses } from '../docker/cli';
// dockerd's lifecycle (systemctl stop|start docker, dockerd --cluster-store) registers its host commands as it loads.
import './control-plane';
import { DAEMON_NOT_RUNNING } from '../model/dockerd';
import { busyboxChangeModelledHoldingNetAdmin } from '../commands/ip-link-words';
import { hostCommandOf } from './host-commands';

export interface ShellOutput extends CommandOutput {
  /** The command the registry refused (the line ran nothing). */
  unmodelled?: string;
}

export function containerByName(model: Model, name: string): Container | undefined {
  for (const host of model.world.hostOrder) {
    const c = findContainer(hostOf(model.world, host), name);
    if (c) return c;
  }
  return undefined;
}

/** Applies a step's ops stage by stage (Tx.stage), each with the world as it then was, then the rest with `world`. */
async function applyInStages(backend: Backend, ops: PlanOp[], stages: readonly Stage[], world: World): Promise<void> {
  let applied = 0;
  for (const stage of stages) {
    await backend.apply(ops.slice(applied, stage.upTo), stage.world);
    applied = stage.upTo;
  }
  await backend.apply(ops.slice(applied), world);
}

/**
 * `@NETWORK` names the namespace of NETWORK's own on this host (an overlay's: `1-` and the
 * first ten characters of its id), so a lab need not paste seeded ids.
 */
function networkNamespace(model: Model, host: string, ref: string): string | CommandOutput {
  const name = ref.slice(1);
  const net = allNetworks(model.world, host).find((n) => n.name === name) as Network | undefined;
  const own = net ? driverOf(net).networkNamespace(net) : undefined;
  const netns = net && own ? instanceOf(net, host)?.netns : undefined;
  if (netns) return netns;
  const why = !net ? `no network named ${name} on ${host}` : !own ? `${name} is a ${net.driver} network, which has no namespace of its own` : `${name} has no namespace on ${host} yet (no container there uses it)`;
  return { stdout: '', stderr: `cnmlab: ${ref}: ${why}\n`, exitCode: 255 };
}

async function hostCommand(model: Model, backend: Backend, host: string, argv: string[], live?: LiveIo, terminal = false): Promise<ShellOutput> {
  const h = () => hostOf(model.world, host);
  const ctx = () => ({ world: model.world, namesVisible: h().netnsLinked, live });
  if (argv[0] === 'docker') {
    // Without socket activation (the lab's hosts', sim/model/dockerd.ts) nothing listens on the socket while the daemon is stopped.
    if (h().dockerdStoppedNs !== undefined) return { stdout: '', stderr: `${DAEMON_NOT_RUNNING}\n`, exitCode: 1 };
    const step = dockerStep(model, host, argv.slice(1), await containerProcesses(model, backend, host, argv), { terminal });
    // The step stops the run there: its kernel side cannot be made on this machine.
    const unavailable = await backend.missingFeature?.(step.ops);
    const waited = (out: ShellOutput): ShellOutput => (step.waits ? { ...out, daemonWaits: step.waits } : out);
    if (unavailable) return waited({ ...('exec' in step.outcome ? { stdout: '', stderr: '', exitCode: 0 } : step.outcome), unavailable });
    await applyInStages(backend, step.ops, step.stages ?? [], model.world);
    const o = step.outcome;
    if ('exec' in o) {
      const c = hostOf(model.world, host).containers[o.exec.container];
      if (!o.exec.main) {
        const out = await runInContainer(model, backend, c, o.exec.argv, live, 'exec');
        // Refused once the image was known: in the line typed, as docker exec's early refusal is.
        const typed = argv.join(' ');
        return waited(out.unmodelled === undefined ? out : { ...notModelled(typed), unmodelled: typed });
      }
      // The container's own command: the client attached to it prints its output (-t: through the container's terminal), and its end stops the container.
      const main = o.exec.main;
      // The daemon's warnings, which the CLI printed before it started the container.
      const warnings = o.exec.warnings ?? '';
      if (warnings) live?.write('stderr', warnings);
      // The daemon's clock runs on while the process does: it stops the container when the process ends (State.FinishedAt).
      // runc starts it, as docker exec's program: no shell looks it up. The CLI looked it up in the image already.
      const taken = o.exec.taken;
      const out = await tickingAcross(model, backend, () => runLookedUpInContainer(model, backend, c, o.exec.argv, taken, live && { write: (stream, text) => live.write(main === 'tty' ? 'stdout' : stream, mainProcessText(main, text)), interrupt: live.interrupt }));
      const ended = mainProcessEnded(model, host, c.id, out.exitCode);
      await backend.apply(ended.ops, model.world);
      const printed = mainProcessOutput(main, out);
      return waited(warnings && !live ? { ...printed, stderr: warnings + printed.stderr } : printed);
    }
    return waited(o);
  }
  // A program the model answers that registered itself: a driver's front end's (calicoctl, weave…) or dockerd's lifecycle.
  const own = hostCommandOf(argv);
  if (own) return own(model, backend, host, argv);
  if (argv[0] === 'ln') {
    if (h().netnsLinked) return { stdout: '', stderr: "ln: failed to create symbolic link '/var/run/netns/netns': File exists\n", exitCode: 1 };
    model.linkNetnsDir(host);
    return { stdout: '', stderr: '', exitCode: 0 };
  }
  // `ip -n NS …` runs as `ip netns exec NS ip …` does (iproute2 enters the named namespace).
  if (argv[0] === 'ip') argv = ipNetnsOption(argv.slice(1)) ?? argv;
  if (argv[0] === 'ip' && argv[1] === 'netns') {
    const sub = argv[2] ?? 'list';
    // The directory lists a destroyed namespace's file until the daemon's collector removes it.
    const files = h().netnsLinked ? [...h().netnsFiles].reverse() : [];
    if (sub !== 'exec') {
      // iproute2 asks the kernel for each file's namespace id; for an unmounted one it reports the kernel's refusal, twice.
      const gone = files.filter((n) => n !== DEFAULT_SANDBOX_FILE && !h().namespaces.includes(n));
      return { stdout: files.map((n) => n + '\n').join(''), stderr: gone.map(() => 'Error: Peer netns reference is invalid.\n'.repeat(2)).join(''), exitCode: 0 };
    }
    let ns = argv[3];
    if (ns.startsWith('@')) {
      const resolved = networkNamespace(model, host, ns);
      if (typeof resolved !== 'string') return resolved;
      ns = resolved;
    }
    if (!files.includes(ns)) return { stdout: '', stderr: `Cannot open network namespace "${ns}": No such file or directory\n`, exitCode: 255 };
    // The default sandbox's file is the host's own namespace (--network host).
    if (ns === DEFAULT_SANDBOX_FILE) return runInHostNetns(model, backend, host, argv.slice(4), ctx(), lookupCommand(argv.slice(4), 'host'));
    // An unmounted file is no namespace: setns refuses it.
    if (!h().namespaces.includes(ns)) return { stdout: '', stderr: `setting the network namespace "${ns}" failed: Invalid argument\n`, exitCode: 255 };
    return backend.exec(host, ns, argv.slice(4), ctx());
  }
  return runInHostNetns(model, backend, host, argv, ctx(), lookupCommand(argv, 'host'));
}

/**
 * Runs argv (looked up as `l`) in the host's own namespace (its shell, `ip netns exec default`,
 * a --network host container's program): an underlay link set up or down there is one the
 * engine's NetworkDB notices. After a command that may change the kernel, eth0's state is read
 * from the namespace itself and compared with the model's, so any spelling that took the link
 * down or up (`ip l s eth0 down`, `ip link set dev eth0 mtu 1400 down`, BusyBox's ip) counts, and
 * one that failed or changed something else does not.
 */
async function runInHostNetns(model: Model, backend: Backend, host: string, argv: string[], ctx: ExecContext, l: Lookup): Promise<CommandOutput> {
  const out = await backend.exec(host, host, argv, ctx);
  if (!lookedUpChangesKernel(l, argv.slice(1))) return out;
  const up = await backend.underlayLinkUp(host);
  if (up !== undefined && up !== hostOf(model.world, host).underlayUp) model.underlayChanged(host, up, backend.elapsedNs());
  return out;
}

/**
 * For `docker inspect`, the real process of each running container the line names, where the
 * backend has one (emu): the kernel's pid is the State.Pid a user would nsenter.
 */
async function containerProcesses(model: Model, backend: Backend, host: string, argv: string[]): Promise<ContainerProcesses | undefined> {
  const inspect = argv[1] === 'inspect' || (argv[1] === 'container' && argv[2] === 'inspect');
  if (!inspect || !backend.containerPid) return undefined;
  const pids = new Map<string, number>();
  for (const word of argv.slice(2)) {
    const c = findContainer(hostOf(model.world, host), word);
    if (c?.state !== 'running' || pids.has(c.id)) continue;
    const pid = await backend.containerPid(c, model.world);
    if (pid !== undefined) pids.set(c.id, pid);
  }
  return pids;
}

/**
 * Looks argv up in the container's image and runs it: the container's own command, as its
 * shell would read it (`shell`), or `docker exec`'s program, which no shell looks up (`exec`).
 */
export async function runInContainer(model: Model, backend: Backend, c: Container, argv: string[], live?: LiveIo, via: 'shell' | 'exec' = 'shell'): Promise<ShellOutput> {
  if (c.state !== 'running') return notRunning(c);
  // `docker exec` was checked before the container was known: its image decides which program answers (family.ts).
  // A program the image lacks is runc's refusal for docker exec, whatever the image's shell would say.
  const l = lookupCommand(argv, 'container', c.image, via);
  if (!l.modelled) return { ...l.refusal, unmodelled: argv.join(' ') };
  return runLookedUpInContainer(model, backend, c, argv, l, live);
}

/** Runs argv in the container as already looked up in its image: the lookup's own answer, or the program. */
function runLookedUpInContainer(model: Model, backend: Backend, c: Container, argv: string[], l: TakenLookup, live?: LiveIo): Promise<ShellOutput> {
  if (c.state !== 'running') return Promise.resolve(notRunning(c));
  return l.answer ? Promise.resolve(l.answer) : runTakenInContainer(model, backend, c, argv, l, live);
}

/** Runs argv in the container, a program the registry already took in its image (`l`, a line its shell read, runLine's lookup) with no answer of its own. */
function runTakenInContainer(model: Model, backend: Backend, c: Container, argv: string[], l: Lookup, live?: LiveIo): Promise<ShellOutput> {
  if (c.state !== 'running') return Promise.resolve(notRunning(c));
  // BusyBox's ip changing the kernel holding CAP_NET_ADMIN is modelled for ip link set up|down|mtu only
  // (kernel/busybox_ip_change.ts); any other such change is refused here, before either mode runs it.
  if (holdsNetAdmin(c) && toolFamilyOf(c.image) === 'busybox' && lookedUpChangesKernel(l, argv.slice(1)) && !(argv[0] === 'ip' && busyboxChangeModelledHoldingNetAdmin(argv.slice(1)))) {
    const typed = argv.join(' ');
    return Promise.resolve({ ...notModelled(`${typed}: BusyBox's ip changing the kernel other than ip link set up|down|mtu (in a container with --cap-add NET_ADMIN)`), unmodelled: typed });
  }
  // What the program refuses as not modelled only once the kernel lets it look (iptables-save -t mangle).
  const refused = holdsNetAdmin(c) ? refusedHoldingNetAdmin(l, argv) : undefined;
  if (refused) return Promise.resolve({ ...refused, unmodelled: argv.join(' ') });
  const ctx = { world: model.world, container: c.id, namesVisible: hostOf(model.world, c.host).netnsLinked, live };
  return sharesHostNetns(c) ? runInHostNetns(model, backend, c.host, argv, ctx, l) : backend.exec(c.host, c.sandbox, argv, ctx);
}

function notRunning(c: Container): ShellOutput {
  return { stdout: '', stderr: `Error response from daemon: Container ${c.id} is not running\n`, exitCode: 1 };
}

/**
 * Runs a step's line: each pipeline in turn (`;`), each stage after the first a text filter
 * over the previous stage's stdout. stderr collects every stage's; the exit status is the
 * last stage's of the last pipeline, as sh without pipefail, unless a stage was stopped.
 *
 * At a terminal (`live`) only the line's first command may show its output as it comes:
 * what it writes must be the start of the line's output. Every other stage still stops on
 * Ctrl-C, its output shown when the line is done; after Ctrl-C the rest of the list does
 * not run, as in an interactive shell. `exec` runs a stage the registry took, given its
 * lookup so that it need not look the stage up again.
 */
async function runLine(line: string, shell: ShellKind, image: string | undefined, exec: (argv: string[], l: Lookup, live?: LiveIo) => Promise<ShellOutput>, live?: LiveIo): Promise<ShellOutput> {
  const parsed = parseCommandLine(line);
  if (!parsed.ok) {
    if (parsed.kind === 'syntax') return { stdout: '', stderr: `cnmlab: cannot read the command line: ${parsed.message}\n`, exitCode: 2 };
    return { ...notModelled(line), unmodelled: line };
  }
  // sudo is accepted and dropped: steps run as root in both modes.
  const list = parsed.list.map((p) => p.map((argv) => (argv[0] === 'sudo' ? argv.slice(1) : argv)));
  const plans: { argv: string[]; lookup: Lookup; answer?: CommandOutput; filter: boolean }[][] = [];
  for (const pipeline of list) {
    const stages = [];
    for (const [i, argv] of pipeline.entries()) {
      const l = lookupCommand(argv, shell, image);
      if (!l.modelled) return { ...l.refusal, unmodelled: argv.join(' ') };
      // Only a text filter reads a pipe: another program after `|` would ignore its input.
      if (i > 0 && !isTextFilter(l.entry)) {
        const text = argv.join(' ');
        return { ...notModelled(`${pipeline[i - 1].join(' ')} | ${text}`), unmodelled: text };
      }
      stages.push({ argv, lookup: l, answer: l.answer, filter: isTextFilter(l.entry) });
    }
    plans.push(stages);
  }
  const unshown: LiveIo | undefined = live && { write: () => {}, interrupt: live.interrupt };
  const out: ShellOutput = { stdout: '', stderr: '', exitCode: 0 };
  for (const [p, stages] of plans.entries()) {
    if (live?.interrupt.aborted) break;
    let last: ShellOutput = { stdout: '', stderr: '', exitCode: 0 };
    let stopped: CommandOutput | undefined;
    for (const [i, stage] of stages.entries()) {
      const input = i > 0 ? last.stdout : '';
      const shown = p === 0 && i === 0 && stages.length === 1 ? live : unshown;
      last = stage.answer ?? (stage.filter ? runFilter(stage.argv, input) : await exec(stage.argv, stage.lookup, shown));
      // What the model found it cannot model only as it ran (a second swarm, an image's own
      // command), and a program's refusal of words it does not model, are as unmodelled as
      // what the registry refused.
      if (last.refusedUnmodelled) out.unmodelled ??= stage.argv.join(' ');
      out.stderr += last.stderr;
      if (last.end) stopped ??= last;
      if (last.unavailable) out.unavailable ??= last.unavailable;
      // A program refused only once its container's image was known (docker exec's).
      if (last.unmodelled !== undefined) out.unmodelled ??= last.unmodelled;
      if (last.daemonWaits) out.daemonWaits = [...(out.daemonWaits ?? []), ...last.daemonWaits];
    }
    out.stdout += last.stdout;
    // A stage cnmlab had to stop (timeout, output cap) stops the step: the filters after it
    // read what it printed, but the line ends with its exit (124, 141) and runs nothing more,
    // as a step killed whole would.
    out.exitCode = stopped?.exitCode ?? last.exitCode;
    if (stopped) {
      out.end = stopped.end;
      break;
    }
  }
  return out;
}

/**
 * The time a `sleep` spent passes for the model too (the daemon's timers, such as its
 * namespace collector's): virtual time in sim, the time the real sleep took in emu.
 */
async function passingTime(model: Model, backend: Backend, argv: string[], run: () => Promise<ShellOutput>): Promise<ShellOutput> {
  return argv[0] === 'sleep' ? tickingAcross(model, backend, run) : run();
}

/** Runs `run` and moves the model's clock on by the time it took (virtual in sim, real in emu). */
async function tickingAcross(model: Model, backend: Backend, run: () => Promise<CommandOutput>): Promise<CommandOutput> {
  const t0 = backend.elapsedNs();
  const out = await run();
  model.tick(Math.max(0, backend.elapsedNs() - t0));
  return out;
}

/** `terminal`: the line was typed at a terminal (the lab), which `docker run -it` attaches to. */
export async function hostShell(model: Model, backend: Backend, host: string, line: string, live?: LiveIo, terminal = false): Promise<ShellOutput> {
  return runLine(line, 'host', undefined, (argv, _lookup, shown) => passingTime(model, backend, argv, () => hostCommand(model, backend, host, argv, shown, terminal)), live);
}

export async function containerShell(model: Model, backend: Backend, name: string, line: string, live?: LiveIo): Promise<ShellOutput> {
  const c = containerByName(model, name);
  if (!c) return { stdout: '', stderr: `Error: No such container: ${name}\n`, exitCode: 1 };
  // runLine has looked each command up in the container's image, as its shell: it is not looked up again.
  return runLine(line, 'container', c.image, (argv, l, shown) => passingTime(model, backend, argv, () => runTakenInContainer(model, backend, c, argv, l, shown)), live);
}
