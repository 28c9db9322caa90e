/**
 * Plan ops as iproute2 batches, ordered so that one step takes few processes: namespaces
 * first, then each host namespace's commands (they create and move devices), then each
 * other namespace's `ip` and `bridge` commands in plan order, and deletions last. Within
 * one namespace the plan's order is kept; across namespaces these phases respect every
 * dependency the plan has (a device is made and moved in the host namespace before the
 * namespace it lands in configures it).
 */
import { PlanOp } from '../sim/plan/ops';
import { NameMap, safe, safeValue } from './names';

export interface NsBatch {
  netns: string;
  ip: string[][];
  bridge: string[][];
}

export interface Phases {
  /** Real names of namespaces to create. */
  add: string[];
  /** Hosts to attach to the underlay: [host, real netns, address]. */
  hosts: { host: string; netns: string; address: string }[];
  /** Batches in each host's own namespace. */
  hostBatches: NsBatch[];
  /** Batches in every other namespace. */
  otherBatches: NsBatch[];
  /** Files to write: real path, content, namespace. */
  files: { netns: string; name: string; content: string }[];
  /** Real names of namespaces to delete. */
  del: string[];
}

/** Where a new device (or veth end) is moved after creation, by host/netns/name: the kernel can put it there at birth instead. */
type Placement = Map<string, string>;

function linkAdd(op: Extract<PlanOp, { op: 'link.add' }>, place: Placement): string[] {
  const at = (name: string) => {
    const to = place.get(`${op.host}/${op.netns}/${name}`);
    return to ? ['netns', to] : [];
  };
  const base = ['link', 'add', safe(op.name), ...(op.mtu ? ['mtu', String(op.mtu)] : []), ...(op.mac ? ['address', safe(op.mac)] : [])];
  const k = op.kind;
  if (k.type === 'bridge') return [...base, ...at(op.name), 'type', 'bridge'];
  if (k.type === 'veth') return [...base, ...at(op.name), 'type', 'veth', 'peer', 'name', safe(k.peer), ...(op.mtu ? ['mtu', String(op.mtu)] : []), ...at(k.peer)];
  return [...base, ...at(op.name), 'type', 'vxlan', 'id', String(k.vni), 'dstport', String(k.dstport), ...(k.proxy ? ['proxy'] : []), ...(k.l2miss ? ['l2miss'] : []),
    ...(k.l3miss ? ['l3miss'] : []), k.learning ? 'learning' : 'nolearning', 'ageing', String(k.ageing)];
}

export function toPhases(ops: PlanOp[], names: NameMap): Phases {
  const phases: Phases = { add: [], hosts: [], hostBatches: [], otherBatches: [], files: [], del: [] };
  // Moving a device between namespaces waits for an RCU grace period in the kernel (about
  // 20 ms); a device the plan moves after creating it is created in place instead. The
  // request still comes from the creating namespace, so a vxlan device keeps its UDP socket
  // there (`link-netns` is the host namespace either way, as with Docker's create-and-move).
  const place: Placement = new Map();
  const fused = new Set<PlanOp>();
  // Each device created in this plan and not yet moved, by host/netns/name.
  const created = new Map<string, true>();
  for (const op of ops) {
    if (op.op === 'link.add') {
      for (const end of op.kind.type === 'veth' ? [op.name, op.kind.peer] : [op.name]) created.set(`${op.host}/${op.netns}/${end}`, true);
    } else if (op.op === 'link.move' && created.delete(`${op.host}/${op.netns}/${op.name}`)) {
      place.set(`${op.host}/${op.netns}/${op.name}`, names.netns(op.host, op.to));
      fused.add(op);
    }
  }
  const batches = new Map<string, NsBatch>();
  const batchOf = (host: string, netns: string): NsBatch => {
    const real = names.netns(host, netns);
    let b = batches.get(real);
    if (!b) {
      b = { netns: real, ip: [], bridge: [] };
      batches.set(real, b);
      (netns === host ? phases.hostBatches : phases.otherBatches).push(b);
    }
    return b;
  };
  for (const op of ops) {
    if (fused.has(op)) continue;
    switch (op.op) {
      case 'host.add':
        phases.add.push(names.netns(op.host, op.host));
        phases.hosts.push({ host: op.host, netns: names.netns(op.host, op.host), address: op.address });
        break;
      case 'netns.add':
        phases.add.push(names.netns(op.host, op.netns));
        break;
      case 'netns.del':
        phases.del.push(names.netns(op.host, op.netns));
        break;
      case 'link.add':
        batchOf(op.host, op.netns).ip.push(linkAdd(op, place));
        break;
      case 'link.del':
        batchOf(op.host, op.netns).ip.push(['link', 'del', safe(op.name)]);
        break;
      case 'link.move':
        batchOf(op.host, op.netns).ip.push(['link', 'set', 'dev', safe(op.name), 'netns', names.netns(op.host, op.to)]);
        break;
      case 'link.rename':
        batchOf(op.host, op.netns).ip.push(['link', 'set', 'dev', safe(op.name), 'name', safe(op.to)]);
        break;
      case 'link.set':
        batchOf(op.host, op.netns).ip.push(['link', 'set', 'dev', safe(op.name), ...(op.mac ? ['address', safe(op.mac)] : []), ...(op.mtu ? ['mtu', String(op.mtu)] : []),
          ...(op.master ? ['master', safe(op.master)] : []), ...(op.up === undefined ? [] : [op.up ? 'up' : 'down'])]);
        break;
      case 'addr.add':
        batchOf(op.host, op.netns).ip.push(['addr', 'add', safeValue(op.address), 'brd', '+', 'dev', safe(op.dev)]);
        break;
      case 'route.add':
        batchOf(op.host, op.netns).ip.push(['route', 'add', safeValue(op.dst), ...(op.via ? ['via', safe(op.via)] : []), 'dev', safe(op.dev)]);
        break;
      case 'neigh.add':
        batchOf(op.host, op.netns).ip.push(['neigh', 'replace', safe(op.ip), 'lladdr', safe(op.mac), 'dev', safe(op.dev), 'nud', 'permanent']);
        break;
      case 'neigh.del':
        batchOf(op.host, op.netns).ip.push(['neigh', 'del', safe(op.ip), 'dev', safe(op.dev)]);
        break;
      case 'fdb.add':
        batchOf(op.host, op.netns).bridge.push(['fdb', 'replace', safe(op.mac), 'dev', safe(op.dev), 'dst', safeValue(op.dst), 'self', 'permanent']);
        break;
      case 'fdb.del':
        // libnetwork's deleteNeighbor also drops what br0 learned for the MAC (may be absent).
        batchOf(op.host, op.netns).bridge.push(['fdb', 'del', safe(op.mac), 'dev', safe(op.dev), 'dst', safeValue(op.dst), 'self'], ['fdb', 'del', safe(op.mac), 'dev', safe(op.dev), 'master']);
        break;
      case 'file.write':
        phases.files.push({ netns: names.netns(op.host, op.netns), name: op.path.replace(/^\/etc\//, ''), content: op.content });
        break;
    }
  }
  // Namespaces deleted in this step need no configuration first.
  phases.otherBatches = phases.otherBatches.filter((b) => !phases.del.includes(b.netns) || phases.add.includes(b.netns));
  return phases;
}
