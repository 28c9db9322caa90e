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
import { hostOps, ListeningSocket, opNetns, PlanOp } from '../sim/plan/ops';
import { Command, Namer, opToCommands, UNDERLAY, underlayPort } from '../sim/plan/iproute2';
import { NameMap, safe, safeValue } from './names';
import { programTaking, TakenOp } from './programs';
import './program_index';
import { Numbering, Placement } from './ifindex';

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
  /** A namespace's own sysctls (`ip netns exec NS sysctl -qw KEY=VALUE`), set after it exists and before any device lands in it. */
  setup: { netns: string; key: string; value: string }[];
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
  /** Ops a program carries out (programs.ts: BIRD's configuration and the routes it installs, weave's routers), in plan order: no command is made of them. */
  programs: TakenOp[];
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
  const phases: Phases = { add: [], setup: [], underlay: [], hostBatches: [], otherBatches: [], sockets: [], files: [], del: [], kv: [], programs: [], kvStart: false, missWatch: [] };
  const batches = new Map<string, NsBatch>();
  for (const c of commands) {
    if (c.netns === undefined) {
      // Commands outside a namespace add or delete one, or run a program inside one.
      if (c.argv[1] === 'exec') phases.setup.push(namespaceSysctl(c.argv));
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

/** `netns exec NS sysctl -qw KEY=VALUE` (what opToCommands renders for a namespace's sysctl) as its parts. */
function namespaceSysctl(argv: string[]): { netns: string; key: string; value: string } {
  const [, , netns, program, , setting] = argv;
  const eq = setting?.indexOf('=') ?? -1;
  if (program !== 'sysctl' || eq < 0) throw new Error(`not a namespace sysctl: ${argv.join(' ')}`);
  return { netns, key: setting.slice(0, eq), value: setting.slice(eq + 1) };
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

export function toPhases(plan: PlanOp[], names: NameMap, numbering = new Numbering()): Phases {
  // The real kernel gets every peer's entries one by one, as Docker programs them.
  const ops = hostOps(plan);
  const namer = emuNamer(names);
  // A program's ops (a route BIRD installs itself, learned over its sessions) are its to carry out: no command is made of them.
  const taken = ops.map((op) => programTaking(op));
  const placed = placeDevices(ops, namer, numbering);
  const commands = ops.flatMap((op, i) => {
    if (taken[i] || placed.folded.has(i)) return [];
    const made = placed.made.get(i);
    return made ? [placedLinkAdd(opToCommands(op, namer)[0], made)] : opToCommands(op, namer);
  });
  const phases = commandPhases(commands, names);
  ops.forEach((op, i) => {
    const program = taken[i];
    if (program) phases.programs.push({ program: program.name, netns: names.netns(op.host, opNetns(op)), op });
  });
  // A Linux bridge joins the all-snoopers group (224.0.0.106) when it comes up and reports it
  // twice, each after a random delay of up to a second; the reports flood to its ports. A
  // Docker 20.10 container on an overlay received none of them (RX 4 on eth0 after three
  // pings, the engine's busybox), but emu attaches a container's port within that second,
  // so its counters would show one or two more, at random. In a namespace of its own that
  // holds a bridge (an overlay's), emu has the kernel send no reports for link-local groups:
  // its only difference from the engine's kernel, visible in that sysctl alone.
  for (const op of ops) {
    if (op.op === 'link.add' && op.kind.type === 'bridge' && op.netns !== op.host && phases.add.includes(names.netns(op.host, op.netns))) {
      phases.setup.push({ netns: names.netns(op.host, op.netns), key: 'net.ipv4.igmp_link_local_mcast_reports', value: '0' });
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

/** Where the devices an op list makes go: made in their final namespace, the move each replaces. */
interface Placed {
  /** By op index (a link.add): its own placement and its veth peer's. */
  made: Map<number, { self: Placement; peer?: Placement }>;
  /** Op indexes of the moves a placement made unneeded. */
  folded: Set<number>;
}

/**
 * libnetwork makes a device in the host namespace and moves it (`ip link set X netns NS`);
 * made from the same namespace directly in the one it moves to (`ip link add X netns NS`),
 * it is the same device: the same index (given explicitly, see ifindex.ts), and a vxlan's
 * socket still in the namespace the command runs in (the kernel opens it in the
 * requester's). Only a move that follows the making with nothing in between touching the
 * device is folded, and only into a namespace nothing in this op list deletes from: the
 * deletions run after the creations (their namespaces' batches come later), and an index
 * that one frees must not be taken before.
 */
function placeDevices(ops: PlanOp[], namer: Namer, numbering: Numbering): Placed {
  const placed: Placed = { made: new Map(), folded: new Set() };
  const losing = new Set<string>();
  for (const op of ops) {
    if (op.op === 'link.del' || op.op === 'link.move') losing.add(namer.netns(op.host, op.netns));
    if (op.op === 'netns.del') losing.add(namer.netns(op.host, op.netns));
  }
  const mentions = (op: PlanOp, name: string) =>
    ('name' in op && op.name === name) || ('dev' in op && op.dev === name) || ('to' in op && op.to === name) || ('master' in op && op.master === name)
    || (op.op === 'link.add' && op.kind.type === 'veth' && op.kind.peer === name);
  /** The move that takes device `name` of op i's namespace elsewhere, when nothing touches the device before it. */
  const moveOf = (made: Extract<PlanOp, { op: 'link.add' }>, i: number, name: string): { at: number; to: string } | undefined => {
    for (let j = i + 1; j < ops.length; j++) {
      const op = ops[j];
      if (op.op === 'link.move' && op.host === made.host && op.netns === made.netns && op.name === name) {
        const to = namer.netns(op.host, op.to);
        return losing.has(to) ? undefined : { at: j, to };
      }
      if (mentions(op, name)) return undefined;
    }
    return undefined;
  };
  ops.forEach((op, i) => {
    switch (op.op) {
      case 'host.add': {
        const own = namer.netns(op.host, op.host);
        numbering.addNamespace(own);
        // The underlay's end is made by a command in the underlay, its peer (made first) in the host's namespace.
        const peer = numbering.make(own, namer.name(op.iface)).device;
        numbering.pair(numbering.make(namer.netns(UNDERLAY, UNDERLAY), namer.name(underlayPort(op.host))).device, peer);
        return;
      }
      case 'netns.add':
        return numbering.addNamespace(namer.netns(op.host, op.netns));
      case 'netns.del':
        return numbering.deleteNamespace(namer.netns(op.host, op.netns));
      case 'link.add': {
        const here = namer.netns(op.host, op.netns);
        const peerName = op.kind.type === 'veth' ? op.kind.peer : undefined;
        const peerMove = peerName === undefined ? undefined : moveOf(op, i, peerName);
        const selfMove = moveOf(op, i, op.name);
        const peer = peerName === undefined ? undefined : numbering.make(here, namer.name(peerName), peerMove?.to);
        const self = numbering.make(here, namer.name(op.name), selfMove?.to);
        if (peer) numbering.pair(self.device, peer.device);
        for (const m of [selfMove, peerMove]) if (m) placed.folded.add(m.at);
        if (self.placement.index !== undefined || peer?.placement.index !== undefined) placed.made.set(i, { self: self.placement, ...(peer ? { peer: peer.placement } : {}) });
        return;
      }
      case 'link.move':
        if (!placed.folded.has(i)) numbering.move(namer.netns(op.host, op.netns), namer.name(op.name), namer.netns(op.host, op.to));
        return;
      case 'link.rename':
        return numbering.rename(namer.netns(op.host, op.netns), namer.name(op.name), namer.name(op.to));
      case 'link.del':
        return numbering.delete(namer.netns(op.host, op.netns), namer.name(op.name));
      default:
        return;
    }
  });
  return placed;
}

/** An `ip link add` with where its device (and a veth's peer) is made and numbered: `NAME [netns NS] [index I] … peer name P [netns NS] [index I] …`. */
function placedLinkAdd(c: Command, made: { self: Placement; peer?: Placement }): Command {
  const words = (p: Placement | undefined) => [...(p?.netns ? ['netns', p.netns] : []), ...(p?.index !== undefined ? ['index', String(p.index)] : [])];
  const argv = [...c.argv];
  const peerAt = argv.indexOf('peer');
  if (peerAt >= 0) argv.splice(peerAt + 3, 0, ...words(made.peer));
  // The device's name follows `add` (or `add name`, for a name iproute2 could read as a keyword).
  const nameAt = argv[2] === 'name' ? 3 : 2;
  argv.splice(nameAt + 1, 0, ...words(made.self));
  return { ...c, argv };
}
