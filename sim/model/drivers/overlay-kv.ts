/**
 * Docker's overlay before swarm mode ("classic" mode): dockerd started with
 * `--cluster-store=etcd://…` (or consul://) and `--cluster-advertise=eth0:2376`. This file
 * is the daemon's side of that mode as far as cnmlab models it today: the restart with those
 * flags, and what `docker info` then shows. The networks of that mode (global scope, VNIs
 * from 256) are not modelled yet, and `docker network create -d overlay` says so instead of
 * giving the swarm refusal a real dockerd would not give there.
 *
 * Facts from moby and libnetwork at v20.10 (read, not copied):
 * - daemon/config ParseClusterAdvertiseSettings: --cluster-advertise without --cluster-store
 *   stops dockerd (how its error is printed is not modelled); pkg/discovery ParseAdvertise turns
 *   `IFACE:PORT` into the interface's IPv4 address and the port, which `docker info` prints.
 * - docker/cli info.go prints " Cluster Store:" and " Cluster Advertise:" after
 *   " Experimental:", each only when set.
 * - libnetwork drivers/overlay: in this mode the driver's data scope is global (overlay.go),
 *   VNIs come from the store's "vxlan-id" allocator starting at 256 (vxlanIDStart), the
 *   network's namespace is `<initEpoch>-<id>` cut to 12 characters (ov_network.go
 *   initSandbox), and peers reach each other by serf on the advertised address (ov_serf.go):
 *   a join is a serf user event that makes every other host program a static neighbour and
 *   FDB entry; watchMiss's l2/l3 miss handler asks the cluster with a serf `peerlookup`
 *   query (answered by the peer's own peer table, timing out after 1 s), not the store.
 */
import { NotModelled } from '../refusal';
import { Tx } from '../tx';
import { Host } from '../world';

/** The store backends pkg/discovery/kv registers that cnmlab accepts: etcd (packaged, emu's real store) and consul. */
const STORE_SCHEMES = ['etcd', 'consul'];

export interface ClusterFlags {
  store?: string;
  advertise?: string;
}

/** `--flag=value` or `--flag value`, as dockerd's pflag takes them; anything else is not modelled. */
export function parseDockerdFlags(args: readonly string[]): ClusterFlags {
  const flags: ClusterFlags = {};
  for (let i = 0; i < args.length; i++) {
    const m = /^--(cluster-store|cluster-advertise)(?:=(.*))?$/.exec(args[i]);
    if (!m) throw new NotModelled(`not modelled: dockerd ${args[i]} (only --cluster-store and --cluster-advertise are)`);
    const value = m[2] ?? args[++i];
    if (value === undefined) throw new NotModelled(`not modelled: dockerd --${m[1]} without a value`);
    if (m[1] === 'cluster-store') flags.store = value;
    else flags.advertise = value;
  }
  return flags;
}

/** The store's URL, checked for a backend cnmlab accepts. */
function checkStore(url: string): string {
  const m = /^([a-z]+):\/\/[^/\s]+$/.exec(url);
  if (!m || !STORE_SCHEMES.includes(m[1])) throw new NotModelled(`not modelled: --cluster-store=${url} (etcd://HOST:PORT and consul://HOST:PORT are)`);
  return url;
}

/** ParseAdvertise: `eth0:PORT` is the host's underlay address and the port; an address and port stay as they are. */
function resolveAdvertise(h: Host, advertise: string): string {
  const m = /^([^:]+):(\d+)$/.exec(advertise);
  if (m && m[1] === 'eth0') return `${h.underlay}:${m[2]}`;
  if (m && /^\d+\.\d+\.\d+\.\d+$/.test(m[1])) return advertise;
  throw new NotModelled(`not modelled: --cluster-advertise=${advertise} (eth0:PORT and ADDRESS:PORT are)`);
}

/**
 * `dockerd --cluster-store=URL --cluster-advertise=eth0:PORT` on a host: its dockerd is
 * replaced by one with these flags (before any container exists, as flannel's restart is),
 * and goes on in the background.
 */
export function restartDockerWithClusterStore(tx: Tx, host: string, args: readonly string[]): void {
  const flags = parseDockerdFlags(args);
  const h = tx.host(host);
  if (flags.advertise !== undefined && flags.store === undefined) throw new NotModelled('not modelled: dockerd --cluster-advertise without --cluster-store (dockerd refuses to start)');
  if (Object.keys(h.containers).length > 0) throw new NotModelled('not modelled: restarting dockerd with containers (it would stop them)');
  if (h.nodeState === 'manager' || h.nodeState === 'worker') throw new NotModelled('not modelled: a cluster store on a swarm node');
  // A dockerd started without a flag has no such setting, whatever the one before it had.
  delete h.clusterStore;
  delete h.clusterAdvertise;
  if (flags.store !== undefined) h.clusterStore = checkStore(flags.store);
  if (flags.advertise !== undefined) h.clusterAdvertise = resolveAdvertise(h, flags.advertise);
}

/** `docker info`'s lines for the mode, each only when set (docker/cli fprintlnNonEmpty). */
export function clusterInfoLines(h: Host): string[] {
  return [
    ...(h.clusterStore ? [` Cluster Store: ${h.clusterStore}`] : []),
    ...(h.clusterAdvertise ? [` Cluster Advertise: ${h.clusterAdvertise}`] : []),
  ];
}

/** `docker network create -d overlay` off swarm on a host with a cluster store: the classic mode's networks, not modelled yet. */
export function refuseClassicOverlay(h: Host): void {
  if (h.clusterStore) throw new NotModelled('not modelled: overlay networks of a cluster store (dockerd --cluster-store); only swarm-scope overlays are');
}
