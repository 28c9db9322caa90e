/** Prints plan ops as the iproute2 and bridge commands Docker's libnetwork effectively runs. */
import { PlanOp } from './ops';

function ns(op: { host: string; netns: string }): string[] {
  return op.netns === op.host ? [] : ['-n', op.netns];
}

/** One op as a command line (argv joined by spaces; names never need quoting). */
export function opToCommand(op: PlanOp): string {
  const cmd = (tool: string, ...args: (string | number)[]) => [tool, ...args].join(' ');
  switch (op.op) {
    case 'host.add':
      return `# host ${op.host}: ${op.iface} ${op.address} on the underlay`;
    case 'netns.add':
      return cmd('ip', 'netns', 'add', op.netns);
    case 'netns.del':
      return cmd('ip', 'netns', 'del', op.netns);
    case 'link.add': {
      const k = op.kind;
      const extra = [...(op.mtu ? ['mtu', op.mtu] : []), ...(op.mac ? ['address', op.mac] : [])];
      if (k.type === 'veth') return cmd('ip', ...ns(op), 'link', 'add', op.name, ...extra, 'type', 'veth', 'peer', 'name', k.peer);
      if (k.type === 'bridge') return cmd('ip', ...ns(op), 'link', 'add', op.name, ...extra, 'type', 'bridge');
      const flags = [k.proxy && 'proxy', k.l2miss && 'l2miss', k.l3miss && 'l3miss', k.learning ? 'learning' : 'nolearning'].filter(Boolean) as string[];
      return cmd('ip', ...ns(op), 'link', 'add', op.name, ...extra, 'type', 'vxlan', 'id', k.vni, 'dstport', k.dstport, ...flags, 'ageing', k.ageing);
    }
    case 'link.del':
      return cmd('ip', ...ns(op), 'link', 'del', op.name);
    case 'link.move':
      return cmd('ip', ...ns(op), 'link', 'set', op.name, 'netns', op.to);
    case 'link.rename':
      return cmd('ip', ...ns(op), 'link', 'set', op.name, 'name', op.to);
    case 'link.set': {
      const args: (string | number)[] = [];
      if (op.mac) args.push('address', op.mac);
      if (op.mtu) args.push('mtu', op.mtu);
      if (op.master) args.push('master', op.master);
      if (op.up !== undefined) args.push(op.up ? 'up' : 'down');
      return cmd('ip', ...ns(op), 'link', 'set', op.name, ...args);
    }
    case 'addr.add':
      return cmd('ip', ...ns(op), 'addr', 'add', op.address, 'dev', op.dev);
    case 'route.add':
      return cmd('ip', ...ns(op), 'route', 'add', op.dst, ...(op.via ? ['via', op.via] : []), 'dev', op.dev);
    case 'neigh.add':
      return cmd('ip', ...ns(op), 'neigh', 'add', op.ip, 'lladdr', op.mac, 'dev', op.dev, 'nud', 'permanent');
    case 'neigh.del':
      return cmd('ip', ...ns(op), 'neigh', 'del', op.ip, 'lladdr', op.mac, 'dev', op.dev);
    case 'fdb.add':
      return cmd('bridge', ...ns(op), 'fdb', 'add', op.mac, 'dev', op.dev, 'dst', op.dst, 'self', 'permanent');
    case 'fdb.del':
      return cmd('bridge', ...ns(op), 'fdb', 'del', op.mac, 'dev', op.dev, 'dst', op.dst, 'self');
    case 'file.write':
      return `# ${op.netns}:${op.path} ← ${JSON.stringify(op.content)}`;
  }
}
