/**
 * Plan ops as the iproute2 and bridge commands that carry them out: the one rendering that
 * `cnmlab explain` prints and emu runs. The forms are those libnetwork's netlink calls amount
 * to: neighbours and FDB entries are set with replace (netlink's NeighSet), addresses get
 * their broadcast (`brd +`, as vishvananda/netlink's AddrAdd computes it), and removing a
 * peer also removes what the bridge learned for its MAC (libnetwork's DeleteNeighbor, which
 * ignores that second call's error).
 *
 * Emu stands each scenario host in for a machine with a namespace, and joins the hosts on a
 * bridge in one more namespace, the underlay; `host.add` is rendered as that wiring.
 */
import { expandPeers, opNetns, PlanOp } from './ops';
import { isStackedKind, stackedArgs } from './links';

/**
 * The namespace that holds the segment the hosts meet on, named like a host of its own; a
 * scenario host's name starts with a letter, so none can take this one.
 */
export const UNDERLAY = '_underlay';
/** The bridge in the underlay namespace. */
export const UNDERLAY_BRIDGE = 'ul0';

export type Tool = 'ip' | 'bridge' | 'etcdctl' | 'iptables';

export interface Command {
  tool: Tool;
  /** The scenario host (or UNDERLAY) the command runs on. */
  host: string;
  /** The namespace on that host it runs in, logically named; undefined: the machine's own, to add or delete namespaces. */
  netns?: string;
  argv: string[];
  /** The command may fail and the failure is ignored, as libnetwork ignores it. */
  mayFail?: true;
}

/** How commands name things: explain prints the plan's names, emu the run's real ones (checked for safety). */
export interface Namer {
  /** A namespace on a host, as `ip netns` and `netns NS` arguments name it. */
  netns(host: string, ns: string): string;
  /** A device name or MAC address. */
  name(s: string): string;
  /** An address, prefix or other value (may hold a slash). */
  value(s: string): string;
}

/** The underlay's own setup: its namespace with a bridge the hosts' cables plug into. */
export function underlaySetup(n: Namer): Command[] {
  return [
    { tool: 'ip', host: UNDERLAY, argv: ['netns', 'add', n.netns(UNDERLAY, UNDERLAY)] },
    { tool: 'ip', host: UNDERLAY, netns: UNDERLAY, argv: ['link', 'set', 'lo', 'up'] },
    { tool: 'ip', host: UNDERLAY, netns: UNDERLAY, argv: ['link', 'add', UNDERLAY_BRIDGE, 'type', 'bridge'] },
    { tool: 'ip', host: UNDERLAY, netns: UNDERLAY, argv: ['link', 'set', UNDERLAY_BRIDGE, 'up'] },
  ];
}

/** The veth that plugs host h into the underlay bridge, named after the host. */
export function underlayPort(host: string): string {
  return `u-${host}`;
}

const num = (v: number) => String(v);

/** A sysctl of one device (net.ipv4.conf.DEV.*, net.ipv4.neigh.DEV.*), not of the namespace or its defaults. */
export function deviceSysctl(key: string): string | undefined {
  const m = /^net\.ipv4\.(?:conf|neigh)\.([^.]+)\./.exec(key);
  return m && m[1] !== 'all' && m[1] !== 'default' ? m[1] : undefined;
}

/** The commands that carry out one op, in order. file.write and the socket ops are no command (emu writes the file, or holds the socket, itself). */
export function opToCommands(op: PlanOp, n: Namer): Command[] {
  if (op.op === 'peers.add' || op.op === 'peers.del') return expandPeers(op).flatMap((one) => opToCommands(one, n));
  const netns = opNetns(op);
  const ip = (...argv: string[]): Command => ({ tool: 'ip', host: op.host, netns, argv });
  const bridge = (...argv: string[]): Command => ({ ...ip(...argv), tool: 'bridge' });
  switch (op.op) {
    case 'host.add': {
      const own = n.netns(op.host, op.host);
      return [
        { tool: 'ip', host: op.host, argv: ['netns', 'add', own] },
        { tool: 'ip', host: UNDERLAY, netns: UNDERLAY, argv: ['link', 'add', n.name(underlayPort(op.host)), 'type', 'veth', 'peer', 'name', n.name(op.iface), 'netns', own] },
        { tool: 'ip', host: UNDERLAY, netns: UNDERLAY, argv: ['link', 'set', 'dev', n.name(underlayPort(op.host)), 'master', UNDERLAY_BRIDGE, 'up'] },
        ip('link', 'set', 'lo', 'up'),
        ip('addr', 'add', n.value(op.address), 'brd', '+', 'dev', n.name(op.iface)),
        ip('link', 'set', 'dev', n.name(op.iface), 'up'),
      ];
    }
    case 'netns.add':
      return [{ tool: 'ip', host: op.host, argv: ['netns', 'add', n.netns(op.host, op.netns)] }];
    case 'netns.del':
      return [{ tool: 'ip', host: op.host, argv: ['netns', 'del', n.netns(op.host, op.netns)] }];
    case 'link.add': {
      const mtu = op.mtu ? ['mtu', num(op.mtu)] : [];
      const qlen = op.txqueuelen === undefined ? [] : ['txqueuelen', num(op.txqueuelen)];
      const head = ['link', 'add', n.name(op.name), ...mtu, ...qlen, ...(op.mac ? ['address', n.name(op.mac)] : []), 'type'];
      const k = op.kind;
      if (k.type === 'bridge') return [ip(...head, 'bridge')];
      if (k.type === 'dummy') return [ip(...head, 'dummy')];
      if (isStackedKind(k)) return [ip(...head.slice(0, -1), 'link', n.name(k.parent), 'type', ...stackedArgs(k))];
      // The peer takes the MTU too: `ip link add` gives a veth peer 1500 unless told, where libnetwork sets both ends.
      if (k.type === 'veth') return [ip(...head, 'veth', 'peer', 'name', n.name(k.peer), ...mtu, ...qlen)];
      // `name` first: iproute2 would read a device called `t…` as an abbreviated `txqueuelen`.
      if (k.type === 'ipip') return [ip('link', 'add', 'name', ...head.slice(2), 'ipip')];
      return [ip(...head, 'vxlan', 'id', num(k.vni), 'dstport', num(k.dstport), ...(k.proxy ? ['proxy'] : []), ...(k.l2miss ? ['l2miss'] : []),
        ...(k.l3miss ? ['l3miss'] : []), k.learning ? 'learning' : 'nolearning', 'ageing', num(k.ageing),
        ...(k.local ? ['local', n.value(k.local)] : []), ...(k.dev ? ['dev', n.name(k.dev)] : []))];
    }
    case 'link.del':
      return [ip('link', 'del', 'dev', n.name(op.name))];
    case 'link.move':
      return [ip('link', 'set', 'dev', n.name(op.name), 'netns', n.netns(op.host, op.to))];
    case 'link.rename':
      return [ip('link', 'set', 'dev', n.name(op.name), 'name', n.name(op.to))];
    case 'link.set':
      return [ip('link', 'set', 'dev', n.name(op.name), ...(op.mac ? ['address', n.name(op.mac)] : []), ...(op.mtu ? ['mtu', num(op.mtu)] : []),
        ...(op.master ? ['master', n.name(op.master)] : []), ...(op.up === undefined ? [] : [op.up ? 'up' : 'down']))];
    case 'addr.add':
      return [ip('addr', 'add', n.value(op.address), 'brd', '+', 'dev', n.name(op.dev))];
    case 'addr.del':
      return [ip('addr', 'del', n.value(op.address), 'dev', n.name(op.dev))];
    case 'route.add':
      return [ip('route', 'add', n.value(op.dst), ...(op.via ? ['via', n.value(op.via)] : []), 'dev', n.name(op.dev), ...(op.proto ? ['proto', op.proto] : []),
        ...(op.scope ? ['scope', op.scope] : []), ...(op.onlink ? ['onlink'] : []))];
    case 'route.blackhole':
      return [ip('route', 'add', 'blackhole', n.value(op.dst), ...(op.proto ? ['proto', op.proto] : []))];
    case 'kv.put':
      // The store's address is the run's (emu names it); the key and value go as they are, one argv item each.
      return [{ tool: 'etcdctl', host: op.host, netns, argv: ['put', op.key, op.value] }];
    case 'neigh.add':
      return [ip('neigh', 'replace', n.value(op.ip), 'lladdr', n.name(op.mac), 'dev', n.name(op.dev), 'nud', 'permanent')];
    case 'neigh.del':
      return [ip('neigh', 'del', n.value(op.ip), 'dev', n.name(op.dev))];
    case 'fdb.add':
      return [bridge('fdb', 'replace', n.name(op.mac), 'dev', n.name(op.dev), 'dst', n.value(op.dst), 'self', 'permanent')];
    case 'fdb.del':
      return [
        bridge('fdb', 'del', n.name(op.mac), 'dev', n.name(op.dev), 'dst', n.value(op.dst), 'self'),
        { ...bridge('fdb', 'del', n.name(op.mac), 'dev', n.name(op.dev), 'master'), mayFail: true },
      ];
    case 'sysctl.set': {
      // Run from outside the namespace, naming it, so that it can come before any device lands there;
      // a device's own setting, and one written after the devices, waits in the namespace's commands.
      const argv = ['netns', 'exec', n.netns(op.host, op.netns), 'sysctl', '-qw', `${n.value(op.key)}=${n.value(op.value)}`];
      return [{ tool: 'ip', host: op.host, ...(deviceSysctl(op.key) || op.afterDevices ? { netns } : {}), argv }];
    }
    case 'iptables':
      return [{ tool: 'iptables', host: op.host, netns, argv: op.args }];
    case 'file.write':
    case 'bird.config':
    case 'weave.router':
    case 'kv.start':
    case 'miss.watch':
    case 'odp.datapath':
    case 'odp.vport':
    case 'socket.listen':
    case 'socket.close':
      return [];
  }
}
