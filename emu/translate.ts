/**
 * Plan ops as iproute2 batches, ordered so that one step takes few processes: namespaces
 * first, then the underlay's cabling, then each host namespace's commands (they create and
 * move devices), then each other namespace's `ip` and `bridge` commands in plan order, and
 * deletions last. Within one namespace the plan's order is kept; across namespaces these
 * phases respect every dependency the plan has (a device is made and moved in the host
 * namespace before the namespace it lands in configures it). The commands themselves are
 * sim/plan/iproute2.ts's, the ones `cnmlab explain` prints; this file only names and
 * batches them.
 */
import { ListeningSocket, PlanOp, WeaveRouterConfig } from '../sim/plan/ops';
import { Command, Namer, opToCommands, UNDERLAY } from '../sim/plan/iproute2';
import { NameMap, safe, safeValue } from './names';
import { BirdRoute } from './bird';

export interface NsBatch {
  netns: string;
  ip: string[][];
  bridge: string[][];
  /** iptables commands (their arguments), in plan order: one `iptables-restore --noflush` (restoreScript). */
  iptables: string[][];
  /** A bridge command here may fail without harm (see Command.mayFail): the batch runs with -force. */
  bridgeMayFail: boolean;
}

export interface Phases {
  /** Real names of namespaces to create. */
  add: string[];
  /** `ip netns exec NS …` lines, run after the namespaces exist and before any device is made or moved (sysctls). */
  setup: string[][];
  /** Batches in the underlay namespace: the hosts' cables. */
  underlay: NsBatch[];
  /** Batches in each host's own namespace. */
  hostBatches: NsBatch[];
  /** Batches in every other namespace. */
  otherBatches: NsBatch[];
  /**
   * Sockets dockerd opens or closes in a host's namespace (listeners.ts holds them). Those of
   * a sandbox (the embedded DNS resolver's) are its responder's to hold (dns.ts).
   */
  sockets: { netns: string; op: 'socket.listen' | 'socket.close'; socket: ListeningSocket }[];
  /** Files to write: real path, content, namespace. */
  files: { netns: string; name: string; content: string }[];
  /** Real names of namespaces to delete. */
  del: string[];
  /** Writes to the cluster's key-value store (etcdctl argv after the program), from the real namespace named. */
  kv: { netns: string; argv: string[] }[];
  /** BIRD's configuration per namespace (real name), for emu/bird.ts. */
  bird: { netns: string; config: string }[];
  /** Routes BIRD installs (`proto bird`): no command makes them; emu waits for them. */
  birdRoutes: BirdRoute[];
  /** Weave Net's routers to start or restart, per namespace (real name), for emu/weaver.ts. */
  weave: { netns: string; router: WeaveRouterConfig }[];
  /** A dockerd of the step uses the cluster store: it must be running. */
  kvStart: boolean;
  /** Namespaces whose neighbour misses dockerd handles (miss.watch; misswatch.ts), by real name. */
  missWatch: { real: string; host: string; netns: string; dev: string; network: string; subnet: string }[];
}

/** A namespace's real name; the underlay's is the run's own. */
function realNetns(names: NameMap, host: string, ns: string): string {
  return host === UNDERLAY ? names.underlay : names.netns(host, ns);
}

/** The run's real names, every one checked before it reaches a command line. */
export function emuNamer(names: NameMap): Namer {
  return { netns: (host, ns) => realNetns(names, host, ns), name: safe, value: safeValue };
}

/** Commands sorted into phases and per-namespace batches. */
export function commandPhases(commands: Command[], names: NameMap): Phases {
  const phases: Phases = { add: [], setup: [], underlay: [], hostBatches: [], otherBatches: [], sockets: [], files: [], del: [], kv: [], bird: [], birdRoutes: [], weave: [], kvStart: false, missWatch: [] };
  const batches = new Map<string, NsBatch>();
  for (const c of commands) {
    if (c.netns === undefined) {
      // Commands outside a namespace add or delete one, or run a program inside one.
      if (c.argv[1] === 'exec') phases.setup.push(c.argv);
      else (c.argv[1] === 'add' ? phases.add : phases.del).push(c.argv[2]);
      continue;
    }
    const real = realNetns(names, c.host, c.netns);
    if (c.tool === 'etcdctl') {
      phases.kv.push({ netns: real, argv: c.argv });
      continue;
    }
    let b = batches.get(real);
    if (!b) {
      b = { netns: real, ip: [], bridge: [], iptables: [], bridgeMayFail: false };
      batches.set(real, b);
      (c.host === UNDERLAY ? phases.underlay : c.netns === c.host ? phases.hostBatches : phases.otherBatches).push(b);
    }
    if (c.tool === 'ip') b.ip.push(c.argv);
    else if (c.tool === 'iptables') b.iptables.push(c.argv);
    else {
      b.bridge.push(c.argv);
      if (c.mayFail) b.bridgeMayFail = true;
    }
  }
  return phases;
}

/**
 * A word of an iptables-restore line: nothing its parser would split or read as a comment;
 * a word with spaces (a --comment's text) in the double quotes restore reads it from.
 */
function restoreWord(w: string): string {
  if (/^[A-Za-z0-9_.:/+,!-]+$/.test(w)) return w;
  if (/^[A-Za-z0-9_.:/+,!-][A-Za-z0-9_.:/+,! -]*$/.test(w)) return `"${w}"`;
  throw new Error(`refusing unsafe iptables word ${JSON.stringify(w)}`);
}

/**
 * A namespace's iptables commands as one iptables-restore --noflush input: each run of
 * commands on one table in a `*table` … `COMMIT` block, the commands in plan order (restore
 * takes -N, -P, -A, -I and -D lines as iptables takes them), so one process applies them all.
 */
export function restoreScript(commands: string[][]): string {
  let text = '';
  let open: string | undefined;
  for (const argv of commands) {
    const at = argv.findIndex((w) => w === '-t' || w === '--table');
    const table = at < 0 ? 'filter' : argv[at + 1];
    const rest = at < 0 ? argv : [...argv.slice(0, at), ...argv.slice(at + 2)];
    if (table !== open) {
      if (open) text += 'COMMIT\n';
      text += `*${restoreWord(table)}\n`;
      open = table;
    }
    text += rest.map(restoreWord).join(' ') + '\n';
  }
  return open ? text + 'COMMIT\n' : text;
}

export function toPhases(ops: PlanOp[], names: NameMap): Phases {
  // Devices are made where the plan makes them and moved as it moves them, as libnetwork
  // does: the kernel numbers a device from the counter of the namespace it is made in and
  // keeps that index when it moves, so a container's eth0 shows the host's numbering
  // (eth0@if15), and a vxlan device keeps its UDP socket in the host namespace. Each move
  // costs the kernel a grace period (about 17 ms here); being made in place would be
  // cheaper but would number the devices as Docker's never are.
  const namer = emuNamer(names);
  // BIRD installs its own routes, learned over its sessions: they are waited for, not made.
  const byBird = (op: PlanOp) => (op.op === 'route.add' || op.op === 'route.blackhole') && op.proto === 'bird';
  const commands = ops.flatMap((op) => (byBird(op) ? [] : opToCommands(op, namer)));
  const phases = commandPhases(commands, names);
  for (const op of ops) {
    if (op.op === 'bird.config') phases.bird.push({ netns: names.netns(op.host, op.netns), config: op.config });
    else if (op.op === 'weave.router') phases.weave.push({ netns: names.netns(op.host, op.netns), router: op.router });
    else if ((op.op === 'route.add' || op.op === 'route.blackhole') && byBird(op)) phases.birdRoutes.push({ netns: names.netns(op.host, op.netns), dst: op.dst.replace(/\/32$/, '') });
  }
  // A Linux bridge joins the all-snoopers group (224.0.0.106) when it comes up and reports it
  // twice, each after a random delay of up to a second; the reports flood to its ports. A
  // Docker 20.10 container on an overlay received none of them (RX 4 on eth0 after three
  // pings, the engine's busybox), but emu attaches a container's port within that second,
  // so its counters would show one or two more, at random. In a namespace of its own that
  // holds a bridge (an overlay's), emu has the kernel send no reports for link-local groups:
  // its only difference from the engine's kernel, visible in that sysctl alone.
  for (const op of ops) {
    if (op.op === 'link.add' && op.kind.type === 'bridge' && op.netns !== op.host && phases.add.includes(names.netns(op.host, op.netns))) {
      phases.setup.push(['netns', 'exec', names.netns(op.host, op.netns), 'sysctl', '-qw', 'net.ipv4.igmp_link_local_mcast_reports=0']);
    }
  }
  for (const op of ops) {
    if (op.op === 'file.write') phases.files.push({ netns: names.netns(op.host, op.netns), name: op.path.replace(/^\/etc\//, ''), content: op.content });
    if ((op.op === 'socket.listen' || op.op === 'socket.close') && op.netns === op.host) phases.sockets.push({ netns: names.netns(op.host, op.netns), op: op.op, socket: op.socket });
    if (op.op === 'kv.start') phases.kvStart = true;
    if (op.op === 'miss.watch') phases.missWatch.push({ real: names.netns(op.host, op.netns), host: op.host, netns: op.netns, dev: op.dev, network: op.network, subnet: op.subnet });
  }
  // Namespaces deleted in this step need no configuration first.
  phases.otherBatches = phases.otherBatches.filter((b) => !phases.del.includes(b.netns) || phases.add.includes(b.netns));
  return phases;
}
