/**
 * The plan: kernel-level operations the model emits and both backends carry out. Every op
 * names the scenario host it belongs to and the namespace on that host it acts in; a host's
 * own namespace is named after the host. Each op maps to iproute2 and bridge commands
 * (see iproute2.ts).
 */
import type { StackedKind } from './links';

export type VxlanAttrs = {
  vni: number;
  dstport: number;
  proxy: boolean;
  l2miss: boolean;
  l3miss: boolean;
  learning: boolean;
  ageing: number;
  /**
   * The underlay address and device the VTEP sends from (`local A dev D`): a vxlan device
   * in a host's own namespace (flannel.1) is tied to the host's interface; the overlay's
   * vxlan0 is not.
   */
  local?: string;
  dev?: string;
};

export type LinkKind =
  | { type: 'bridge' }
  | { type: 'veth'; peer: string }
  /** A device that drops what it is sent: the macvlan driver's parent when none is given. */
  | { type: 'dummy' }
  /** A device made on a lower one (a macvlan, an ipvlan): each kind registered in links/index.ts. */
  | StackedKind
  | ({ type: 'vxlan' } & VxlanAttrs)
  /** An IP-in-IP tunnel with no fixed remote: the outer destination is each route's gateway (Linux's tunl0, the ipip module's fallback device). */
  | { type: 'ipip' };

export interface ListeningSocket {
  proto: 'tcp' | 'udp';
  address: string;
  port: number;
  /** The program that holds it (ss -p would name it). */
  process: string;
}

/** A peer of a Weave Net router, as its mesh connections and gossip make it known. */
export interface WeavePeerRef {
  /** Its peer name, a MAC (its weave bridge's). */
  name: string;
  nickname: string;
  /** The 12-bit short id the mesh gave it (fastdp's VNIs are made of two). */
  shortId: number;
  /** Its underlay address, where its router listens. */
  address: string;
}

/** What a host's Weave Net router (weaver) runs with: itself, its datapath and the peers it is connected to. */
export interface WeaveRouterConfig {
  name: string;
  nickname: string;
  shortId: number;
  datapath: 'sleeve' | 'fastdp';
  /** Its own underlay address (a tunnel's source). */
  address: string;
  /** Where it takes frames from the bridge and gives them back: vethwe-pcap (sleeve, pcap) or vethwe-datapath (fastdp, a vport of the datapath). */
  device: string;
  /** fastdp: the datapath's VXLAN vport (vxlan-6784). */
  vxlanVport?: string;
  /** Its overlay's UDP port (sleeve 6783). */
  port: number;
  peers: WeavePeerRef[];
}

export type PlanOp =
  /** A scenario host: its namespace and its interface on the underlay segment. */
  | { op: 'host.add'; host: string; iface: string; address: string }
  | { op: 'netns.add'; host: string; netns: string }
  | { op: 'netns.del'; host: string; netns: string }
  /**
   * txqueuelen: libnetwork creates every device with TxQLen 0 (netlink sends it; the kernel's
   * default is 1000), so Docker's devices show no `qlen`. For a veth it applies to both ends.
   */
  | { op: 'link.add'; host: string; netns: string; name: string; kind: LinkKind; mtu?: number; mac?: string; txqueuelen?: number }
  | { op: 'link.del'; host: string; netns: string; name: string }
  /** Moves a link to another namespace of the same host (iproute2: `link set X netns NS`). */
  | { op: 'link.move'; host: string; netns: string; name: string; to: string }
  | { op: 'link.rename'; host: string; netns: string; name: string; to: string }
  | { op: 'link.set'; host: string; netns: string; name: string; up?: boolean; mtu?: number; master?: string; mac?: string }
  | { op: 'addr.add'; host: string; netns: string; dev: string; address: string }
  | { op: 'addr.del'; host: string; netns: string; dev: string; address: string }
  /** onlink: the gateway is on the device's link even though no address of the device covers it (flannel's `via 10.5.2.0 dev flannel.1 onlink`). */
  | { op: 'route.add'; host: string; netns: string; dst: string; via?: string; dev: string; onlink?: boolean; scope?: 'link'; proto?: 'bird' }
  /** A key written to the cluster's key-value store (etcd v3), as a control plane's `etcdctl put` does. */
  | { op: 'kv.put'; host: string; netns: string; key: string; value: string }
  /** A daemon on the host uses the cluster's key-value store (dockerd --cluster-store): emu starts the real one. */
  | { op: 'kv.start'; host: string; netns: string }
  /**
   * dockerd subscribes to a namespace's neighbour notifications (libnetwork watchMiss, classic
   * overlay mode): a miss vxlan device `dev` reports for an address in `subnet` is resolved by
   * asking the cluster for network `network`'s peer, and the answer programmed on `dev`.
   */
  | { op: 'miss.watch'; host: string; netns: string; dev: string; network: string; subnet: string }
  /** A route that discards what it matches (`ip route add blackhole DST`). */
  | { op: 'route.blackhole'; host: string; netns: string; dst: string; proto?: 'bird' }
  /**
   * A routing daemon's configuration on a host (BIRD, as calico/node's confd renders it): emu
   * runs the real daemon with it, whose sessions install the `proto bird` routes; sim applies
   * those routes from the plan.
   */
  | { op: 'bird.config'; host: string; netns: string; config: string }
  /**
   * A host's Weave Net router (weaver), started or told of new peers: emu runs a user-space
   * router with it; sim's router (sim/kernel/weaver.ts) captures, forwards and injects frames.
   */
  | { op: 'weave.router'; host: string; netns: string; router: WeaveRouterConfig }
  /**
   * An Open vSwitch kernel datapath and its internal device (weave's `datapath`), made over
   * generic netlink (ovs_datapath): no iproute2 command makes one.
   */
  | { op: 'odp.datapath'; host: string; netns: string; name: string }
  /** A vport of a datapath: an existing device, or a VXLAN tunnel port (a vxlan device in external mode, `vxlan-<port>`). */
  | { op: 'odp.vport'; host: string; netns: string; datapath: string; vport: { type: 'netdev'; dev: string } | { type: 'vxlan'; name: string; dstport: number } }
  | { op: 'neigh.add'; host: string; netns: string; dev: string; ip: string; mac: string }
  | { op: 'neigh.del'; host: string; netns: string; dev: string; ip: string; mac: string }
  | { op: 'fdb.add'; host: string; netns: string; dev: string; mac: string; dst: string }
  | { op: 'fdb.del'; host: string; netns: string; dev: string; mac: string; dst: string }
  /**
   * Peers' static neighbour and FDB entries on the vxlan device `dev` of namespace `netns` on
   * each of `hosts` (libnetwork's peerAdd/peerDelete, as NetworkDB's table events reach each
   * node): for each host in order, each entry's `neigh` then its `fdb` op (see expandPeers).
   * One op stands for what a swarm would otherwise emit per host and peer: an ingress network
   * of n nodes puts n² of them in the plan.
   */
  | { op: 'peers.add'; hosts: string[]; netns: string; dev: string; peers: PeerEntry[] }
  | { op: 'peers.del'; hosts: string[]; netns: string; dev: string; peers: PeerEntry[] }
  /**
   * A namespace's sysctl (net.*), set as `sysctl -w` inside it would. `afterDevices`: written
   * where the plan has it, once the namespace's devices are in (runc's writes of a container's
   * --sysctl), not with the namespace's own settings before any device lands there.
   */
  | { op: 'sysctl.set'; host: string; netns: string; key: string; value: string; afterDevices?: true }
  /**
   * One iptables command in a namespace, as libnetwork runs it (its iptables package execs
   * `iptables` with these arguments): `-t nat -N DOCKER`, `-I FORWARD -o docker0 -j DOCKER`…
   * The model orders them as the engine does, so a rule lands where the engine puts it.
   */
  | { op: 'iptables'; host: string; netns: string; args: string[] }
  /**
   * A socket a daemon holds in a namespace: listening (TCP) or bound (UDP) at an address
   * ('*': every address, IPv4 and IPv6) and port. dockerd's memberlist (7946) and swarm API
   * (2377) in a host's namespace, the embedded DNS resolver's in a sandbox. `ss` lists them.
   */
  | { op: 'socket.listen'; host: string; netns: string; socket: ListeningSocket }
  | { op: 'socket.close'; host: string; netns: string; socket: ListeningSocket }
  /** A file the namespace's processes see, like /etc/resolv.conf of a container. */
  | { op: 'file.write'; host: string; netns: string; path: string; content: string };

export type OpName = PlanOp['op'];

/** A remote endpoint as a vxlan device's peer table holds it: its address, its MAC, its host's VTEP. */
export interface PeerEntry {
  ip: string;
  mac: string;
  dst: string;
}

/** An op that names one host: a peers op is its per-host neigh and fdb ops. */
export type HostOp = Exclude<PlanOp, { op: 'peers.add' | 'peers.del' }>;

/** The per-host neigh and fdb ops a peers op stands for, in the order the kernels get them. */
export function expandPeers(op: Extract<PlanOp, { op: 'peers.add' | 'peers.del' }>): HostOp[] {
  const add = op.op === 'peers.add';
  const out: HostOp[] = [];
  for (const host of op.hosts) {
    for (const p of op.peers) {
      out.push(
        { op: add ? 'neigh.add' : 'neigh.del', host, netns: op.netns, dev: op.dev, ip: p.ip, mac: p.mac },
        { op: add ? 'fdb.add' : 'fdb.del', host, netns: op.netns, dev: op.dev, mac: p.mac, dst: p.dst },
      );
    }
  }
  return out;
}

/** The namespace a host's op acts in: its own, or, for host.add, the host's (which it makes). */
export function opNetns(op: HostOp): string {
  return 'netns' in op ? op.netns : op.host;
}

/** Every op of a plan as one host's op: peers ops expanded (emu runs, and explain prints, each entry). */
export function hostOps(ops: PlanOp[]): HostOp[] {
  return ops.flatMap((op) => (op.op === 'peers.add' || op.op === 'peers.del' ? expandPeers(op) : [op]));
}
