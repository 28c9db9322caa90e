/**
 * Where an emu step's program runs: the step's network namespace, and a private mount and
 * UTS namespace of its own "view" (one per container, one per scenario host) in which
 *  - the machine is read-only: every mount of the machine is bound again, read-only and
 *    nosuid, under a root folder in the run's state folder, and the program is chrooted there;
 *  - /etc is the view's own folder: the container's /etc/hosts, /etc/hostname and (from the
 *    plan) /etc/resolv.conf as Docker writes them, or the scenario host's, beside the few
 *    machine files programs need to start (ld.so.cache, passwd, nsswitch.conf …), so
 *    /etc/shadow and the machine's own names are not there;
 *  - /sys is a sysfs mounted from inside the step's network namespace (as `ip netns exec`
 *    does), a host's /proc/sys/net is writable (sysctl -w) and a container's read-only, as
 *    runc mounts /proc/sys; /root, /home and the run's state folder are empty;
 *  - the UTS name is the container's hostname (its short id) or the host's name;
 *  - the program runs as root with only CAP_NET_ADMIN, CAP_NET_RAW, CAP_SETUID and
 *    CAP_SETGID (tcpdump's own drop to its user), no_new_privs, and nothing inheritable; a
 *    container's programs without CAP_NET_ADMIN, as Docker runs them unless the container was
 *    run with --cap-add NET_ADMIN (sim/model/capabilities.ts).
 *
 * Why util-linux unshare/nsenter and not `ip netns exec`: ip netns exec gives a fresh mount
 * namespace per command with the machine's /etc/netns/NS bound over /etc, but cannot make
 * the rest read-only, set a UTS name or drop capabilities, and needs files written into the
 * machine's /etc (so only a kept lab gets those now, for the user's own ip netns exec).
 * Building a view costs one process chain (startHolder), so it is built once per (view, network namespace),
 * on the first step that needs it, and kept by that chain's last process (`sleep infinity` chrooted
 * in it); each step then costs one process chain, as ip netns exec did: nsenter (the
 * namespaces, the holder's root) → setpriv (capabilities) → the program. Holders die with
 * cnmlab (PR_SET_PDEATHSIG), also after kill -9, and are stopped before their network
 * namespace is deleted (their sysfs holds it).
 */
import { ChildProcess, spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import type { CommandOutput } from '../sim/backend';
import type { StepBounds } from '../sim/backend';
import { EtcView, ETC_OWN_FILES, etcFile, viewHostname } from '../sim/model/etc';
import { containerById, type World } from '../sim/model/world';
import { CommandFailed, runBounded, Watch } from './exec';
import { STATE_DIR } from './state';

/** Machine files under /etc that the modelled programs need to start and to name things: copied (they are small)… */
const MACHINE_ETC_FILES = ['passwd', 'group', 'nsswitch.conf', 'ld.so.cache', 'ld.so.conf', 'services', 'protocols', 'ethertypes', 'host.conf', 'gai.conf', 'localtime'];
/** … and folders, bound read-only (alternatives holds hundreds of links). */
const MACHINE_ETC_DIRS = ['alternatives', 'iproute2', 'ld.so.conf.d'];

/** Folders of private files; the view shows them empty. */
const MASKED = ['/root', '/home', STATE_DIR];
/**
 * Where `ip netns` names namespaces. The view sees it read-only and follows it (a slave
 * mount): iproute2 and bridge print a peer's namespace by its name (`link-netns r0`) from
 * it, also for namespaces made after the view. Entering one needs CAP_SYS_ADMIN, which a step lacks.
 */
const NETNS_DIR = '/run/netns';

const PROC_SYS_NET = '/proc/sys/net';

/** A step's capabilities: what ping, tcpdump, ip, bridge, tc and iptables need, and nothing else. */
const STEP_CAPS = '+net_admin,+net_raw,+setuid,+setgid';
const DROP = ['setpriv', '--no-new-privs', '--inh-caps=-all', `--bounding-set=-all,${STEP_CAPS}`, '--'];
/** The same without CAP_NET_ADMIN, as Docker runs a container's programs (unless --cap-add NET_ADMIN): the kernel's refusals are its own. */
const DROP_NET_ADMIN = ['setpriv', '--no-new-privs', '--inh-caps=-all', `--bounding-set=-all,${STEP_CAPS},-net_admin`, '--'];

interface View {
  holder: ChildProcess;
  etcDir: string;
  netns: string;
}

/** A path as mount(8) reads it in an fstab field (as /proc/self/mountinfo writes it). */
function fstabPath(p: string): string {
  return p.replace(/[\\ \t\n]/g, (c) => `\\${c.charCodeAt(0).toString(8).padStart(3, '0')}`);
}

function unescapeMountinfo(p: string): string {
  return p.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

function under(p: string, dir: string): boolean {
  return p === dir || p.startsWith(dir.endsWith('/') ? dir : dir + '/');
}

/** The machine's mount points, parents before children, each once. */
function machineMounts(): string[] {
  const points = fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter(Boolean).map((l) => unescapeMountinfo(l.split(' ')[4]));
  const unique = [...new Set(points)];
  const depth = (p: string) => (p === '/' ? 0 : p.split('/').length);
  return unique.map((p, i) => ({ p, i })).sort((a, b) => depth(a.p) - depth(b.p) || a.i - b.i).map((x) => x.p);
}

/** The fstab that builds a view under `root`: the machine read-only, then sysfs, /etc and the masks. */
export function viewFstab(mounts: string[], root: string, etcDir: string, emptyDir: string, container = false): string {
  const skip = (p: string) => under(p, '/sys') || under(p, '/etc') || under(p, NETNS_DIR) || MASKED.some((m) => under(p, m));
  const line = (src: string, target: string, type: string, opts: string) => `${fstabPath(src)} ${fstabPath(target === '/' ? root : path.join(root, target))} ${type} ${opts} 0 0`;
  // Private: the view is built in a slave namespace, but nothing mounted on the machine later may appear in it, except under NETNS_DIR.
  const lines = mounts.filter((p) => !skip(p)).map((p) => line(p, p, 'none', 'bind,ro,nosuid,private'));
  // A container sees no namespace names (a Docker host keeps its own in /var/run/docker/netns,
  // out of a container's mounts): iproute2 there prints a peer as `link-netnsid N`, as on the engine.
  if (mounts.includes(NETNS_DIR)) lines.push(container ? line(emptyDir, NETNS_DIR, 'none', 'bind,ro,nosuid,nodev,private') : line(NETNS_DIR, NETNS_DIR, 'none', 'rbind,ro,nosuid,nodev'));
  lines.push(line('sysfs', '/sys', 'sysfs', 'ro,nosuid,nodev,noexec,private'));
  // A host's /proc/sys/net writable, so `sysctl -w` works: the kernel resolves a net sysctl in
  // the network namespace of the process that opens it, which is always one the run made. A
  // container's stays read-only, as runc mounts /proc/sys (Docker's ReadonlyPaths): a write fails with EROFS.
  if (mounts.includes('/proc') && !container) lines.push(line(PROC_SYS_NET, PROC_SYS_NET, 'none', 'bind,rw,nosuid,nodev,noexec,private'));
  lines.push(line(etcDir, '/etc', 'none', 'bind,ro,nosuid,nodev,private'));
  for (const d of MACHINE_ETC_DIRS) if (fs.existsSync(path.join(etcDir, d))) lines.push(line(path.join('/etc', d), path.join('/etc', d), 'none', 'bind,ro,nosuid,nodev,private'));
  for (const m of MASKED) {
    // Only real folders: a path through a symlink (/var/run → /run) would lead out of the
    // view, and its target is masked on its own; a missing folder needs nothing.
    let real: string | undefined;
    try {
      real = fs.realpathSync(m);
    } catch {
      real = undefined;
    }
    if (real === m && fs.statSync(m).isDirectory()) lines.push(line(emptyDir, m, 'none', 'bind,ro,nosuid,nodev,private'));
  }
  return lines.join('\n') + '\n';
}

function readlink(p: string): string | undefined {
  try {
    return fs.readlinkSync(p);
  } catch {
    return undefined;
  }
}

/**
 * The view's holder, built by one process chain: in the step's network namespace (its sysfs
 * is that namespace's), dying with cnmlab from its first exec on (setpriv's parent-death
 * signal outlives the execs after it), a mount and UTS namespace of its own where a shell
 * mounts the fstab and names the host, then chrooted into the view, asleep. The shell gets
 * the paths and the name as arguments, never as code.
 */
function startHolder(netns: string, fstab: string, hostname: string, root: string): ChildProcess {
  const build = 'mount --all --fstab "$1" && hostname "$2" && exec unshare --root="$3" -- sleep infinity';
  const p = spawn('nsenter', [`--net=/run/netns/${netns}`, '--', 'setpriv', '--pdeathsig', 'KILL', '--', 'unshare', '--mount', '--uts', '--propagation', 'slave', '--', 'sh', '-c', build, 'view', fstab, hostname, root],
    { stdio: ['ignore', 'ignore', 'pipe'], env: { PATH: `${process.env.PATH ?? ''}:/usr/sbin:/sbin`, LC_ALL: 'C' } });
  p.on('error', () => undefined);
  p.unref();
  return p;
}

/** Resolves once the holder sits in the view's root; rejects with its words if it ends before. */
async function holding(holder: ChildProcess, root: string): Promise<void> {
  let said = '';
  holder.stderr!.on('data', (d: Buffer) => (said += d.toString()));
  (holder.stderr as unknown as { unref?: () => void }).unref?.();
  const deadline = Date.now() + 10000;
  while (Date.now() < deadline) {
    if (readlink(`/proc/${holder.pid}/root`) === root) return;
    if (holder.exitCode !== null || holder.signalCode !== null) throw new CommandFailed(`building the view in ${root}: ${said.trim() || `exit ${holder.exitCode ?? holder.signalCode}`}`);
    await new Promise((r) => setTimeout(r, 1));
  }
  holder.kill('SIGKILL');
  throw new Error(`confinement: the view in ${root} was not built within 10 s`);
}

export class Confinement {
  private readonly views = new Map<string, Promise<View>>();
  private count = 0;

  /**
   * `dir`: a folder of the run's state, where views are built; `planFiles`: the files the plan
   * wrote for each namespace, by name (a container's resolv.conf), kept by the run.
   */
  constructor(private readonly dir: string, private readonly planFiles: ReadonlyMap<string, ReadonlyMap<string, string>>) {}

  /**
   * Runs argv (a command the registry models) in network namespace `netns` (its real name),
   * in the view of a container or scenario host, bounded by `bounds`; `netAdmin` false runs
   * it without CAP_NET_ADMIN.
   */
  async run(netns: string, view: EtcView, world: World, argv: string[], bounds: StepBounds, cancel?: AbortSignal, watch?: Watch, netAdmin = true, beforeSpawn?: () => void): Promise<CommandOutput> {
    const built = await this.prepare(netns, view, world);
    this.writeOwnFiles(built.etcDir, netns, view, world);
    beforeSpawn?.();
    return runBounded('nsenter', ['-t', String(built.holder.pid), '-m', '-u', `--net=/run/netns/${netns}`, '--root', '--wd', '--', ...(netAdmin ? DROP : DROP_NET_ADMIN), ...argv], bounds, cancel, watch);
  }

  /**
   * The view of `netns` for `view`, built on first asking (a step may ask before it runs, so
   * that building overlaps what else the step waits for).
   */
  prepare(netns: string, view: EtcView, world: World): Promise<View> {
    // A container's view is its sandbox's: one run with --network host starts again in the
    // same (its host's) namespace, but as a new process, whose view replaces the last one.
    const owner = `${netns}\0${'container' in view ? `c:${view.container}\0` : `h:${view.host}`}`;
    const key = 'container' in view ? `${owner}${containerById(world, view.container)?.sandboxId ?? ''}` : owner;
    let v = this.views.get(key);
    if (!v) {
      if ('container' in view) void this.releaseWhere((k) => k.startsWith(owner));
      v = this.build(netns, view, world);
      this.views.set(key, v);
      v.catch(() => this.views.delete(key));
    }
    return v;
  }

  /** The view's own /etc files, rewritten before each step (a container's addresses change with connect/disconnect). */
  private writeOwnFiles(etcDir: string, netns: string, view: EtcView, world: World): void {
    for (const f of ETC_OWN_FILES) {
      const content = etcFile(world, view, f);
      if (content !== undefined) writeIfChanged(path.join(etcDir, path.basename(f)), content);
    }
    // Files the plan wrote for this namespace (a container's resolv.conf).
    for (const [name, content] of this.planFiles.get(netns) ?? []) writeIfChanged(path.join(etcDir, name), content);
  }

  private async build(netns: string, view: EtcView, world: World): Promise<View> {
    const base = path.join(this.dir, String(this.count++));
    const root = path.join(base, 'root');
    const etcDir = path.join(base, 'etc');
    const emptyDir = path.join(base, 'empty');
    for (const d of [root, etcDir, emptyDir]) fs.mkdirSync(d, { recursive: true });
    for (const f of MACHINE_ETC_FILES) {
      const src = path.join('/etc', f);
      const st = lstat(src);
      if (st?.isSymbolicLink()) fs.symlinkSync(fs.readlinkSync(src), path.join(etcDir, f));
      else if (st?.isFile()) fs.copyFileSync(src, path.join(etcDir, f));
    }
    // Mount points for the folders bound from the machine.
    for (const d of MACHINE_ETC_DIRS) if (lstat(path.join('/etc', d))?.isDirectory()) fs.mkdirSync(path.join(etcDir, d));
    this.writeOwnFiles(etcDir, netns, view, world);
    const fstab = path.join(base, 'fstab');
    fs.writeFileSync(fstab, viewFstab(machineMounts(), root, etcDir, emptyDir, 'container' in view));
    const holder = startHolder(netns, fstab, viewHostname(world, view), root);
    await holding(holder, root);
    return { holder, etcDir, netns };
  }

  /** Stops the holders of views in `netns` (about to be deleted: their sysfs would keep it alive). */
  async release(netns: string): Promise<void> {
    await this.releaseWhere((key) => key.startsWith(`${netns}\0`));
  }

  private async releaseWhere(keyed: (key: string) => boolean): Promise<void> {
    for (const [key, v] of [...this.views]) {
      if (!keyed(key)) continue;
      this.views.delete(key);
      await stop(v);
    }
  }

  async releaseAll(): Promise<void> {
    const all = [...this.views.values()];
    this.views.clear();
    await Promise.all(all.map(stop));
  }
}

async function stop(v: Promise<View>): Promise<void> {
  let view: View;
  try {
    view = await v;
  } catch {
    return;
  }
  const p = view.holder;
  if (p.exitCode !== null || p.signalCode !== null) return;
  // Held (ref) while we wait: an unref'd child alone would let Node exit mid-teardown.
  p.ref();
  await new Promise<void>((resolve) => {
    p.once('exit', () => resolve());
    p.kill('SIGKILL');
  });
}

function lstat(p: string): fs.Stats | undefined {
  try {
    return fs.lstatSync(p);
  } catch {
    return undefined;
  }
}

function writeIfChanged(file: string, content: string): void {
  try {
    if (fs.readFileSync(file, 'utf8') === content) return;
  } catch {
    // not written yet
  }
  fs.writeFileSync(file, content, { mode: 0o644 });
}
