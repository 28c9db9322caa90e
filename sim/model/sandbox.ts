/**
 * A sandbox's kernel side, whatever its networks' drivers: its namespace, the container end
 * of an endpoint's veth pair, and the embedded resolver's resolv.conf.
 */
import { Draft, isDraft, original } from 'immer';
import { fieldOf, Tx } from './tx';
import { Endpoint, Host, HostsWhere, World } from './world';

/**
 * A host's namespace list as it stands, read without immer's traps (a draft answers each
 * element's read through one): the lists are replaced whole, never changed in place, so a
 * draft of one is its original.
 */
function unchanged(h: Draft<Host>, list: 'namespaces' | 'netnsFiles'): readonly string[] {
  const value = fieldOf(h, list);
  return isDraft(value) ? original(value)! : value;
}

export const RESOLV_CONF_EMBEDDED = 'nameserver 127.0.0.11\noptions ndots:0\n';

/**
 * A namespace of Docker's (overlay, lb, ingress, container sandbox). Docker's have no IPv6
 * unless asked (no `::1`, no `fe80::`): it switches IPv6 off before any device arrives, so
 * the devices moved in get none either.
 */
export function addNamespace(tx: Tx, host: string, netns: string): void {
  const h = tx.host(host);
  const namespaces = unchanged(h, 'namespaces'), files = unchanged(h, 'netnsFiles');
  if (!namespaces.includes(netns)) h.namespaces = tx.made([...namespaces, netns]);
  // A file the collector has not removed yet is taken over (osl createNamespaceFile removes it from the garbage list).
  if (!files.includes(netns)) h.netnsFiles = tx.made([...files, netns]);
  h.netnsGcStartNs ??= tx.now();
  tx.emit(
    { op: 'netns.add', host, netns },
    { op: 'sysctl.set', host, netns, key: 'net.ipv6.conf.all.disable_ipv6', value: '1' },
    { op: 'sysctl.set', host, netns, key: 'net.ipv6.conf.default.disable_ipv6', value: '1' },
    { op: 'link.set', host, netns, name: 'lo', up: true },
  );
}

/**
 * The file of libnetwork's default sandbox, /var/run/docker/netns/default: the host's own
 * namespace, bound there when the first container run with --network host starts
 * (controller.NewSandbox, sboxOnce: osl.NewSandbox with no new namespace) and never destroyed
 * (a sandbox using it does not Destroy it), so `ip netns` lists it from then on.
 */
export const DEFAULT_SANDBOX_FILE = 'default';

/** The default sandbox's file is bound, once per daemon (createNamespaceFile, which starts the collector too). */
export function bindDefaultSandbox(tx: Tx, host: string): void {
  const h = tx.host(host);
  const files = unchanged(h, 'netnsFiles');
  if (!files.includes(DEFAULT_SANDBOX_FILE)) h.netnsFiles = tx.made([...files, DEFAULT_SANDBOX_FILE]);
  h.netnsGcStartNs ??= tx.now();
}

/** Files the collector has to remove (all but the live namespaces' and the default sandbox's). */
function filesAwaitingCollector(h: Host): boolean {
  const kept = h.netnsFiles.length - (h.netnsFiles.includes(DEFAULT_SANDBOX_FILE) ? 1 : 0);
  return kept !== h.namespaces.length;
}

/**
 * libnetwork destroys a namespace by unmounting it (osl Destroy, MNT_DETACH): the kernel
 * frees it and its devices at once, but the file stays in /var/run/docker/netns, so `ip netns
 * ls` still lists it, until the garbage collector removes it (see netnsGc).
 */
export function delNamespace(tx: Tx, host: string, netns: string): void {
  const h = tx.host(host);
  h.namespaces = tx.made(unchanged(h, 'namespaces').filter((n) => n !== netns));
  tx.emit({ op: 'netns.del', host, netns });
}

/**
 * libnetwork v20.10 osl/namespace_linux.go: removeUnusedPaths runs on a 60 s ticker
 * (gpmCleanupPeriod), started with the daemon's first namespace (createBasePath), and removes
 * every path Destroy stashed in garbagePathMap since the last tick. So a namespace's name
 * outlives it by up to a minute.
 */
export const NETNS_GC_PERIOD_NS = 60e9;

/** Whether a collector's tick falls in (fromNs, toNs] while files of destroyed namespaces wait. */
export function netnsGcDue(h: Host, fromNs: number, toNs: number): boolean {
  const start = h.netnsGcStartNs;
  if (start === null || !filesAwaitingCollector(h)) return false;
  const ticksBy = (t: number) => Math.floor((t - start) / NETNS_GC_PERIOD_NS);
  return ticksBy(toNs) > ticksBy(fromNs);
}

const GC_WAITING = new HostsWhere<Host>((h) => h.netnsGcStartNs !== null && filesAwaitingCollector(h));

/** The hosts where files of destroyed namespaces wait for the collector. */
export function netnsGcWaiting(w: World): readonly string[] {
  return GC_WAITING.of(w.hosts);
}

/**
 * A tick of the collector: the files of destroyed namespaces go. The new list is frozen at
 * once, as a step's are when it ends (Tx.made), so immer's finalize does not walk it for
 * drafts: a tick changes the world outside any step's Tx.
 */
export function netnsGc(h: Draft<Host>): void {
  const namespaces = unchanged(h, 'namespaces');
  const files = unchanged(h, 'netnsFiles').filter((n) => n === DEFAULT_SANDBOX_FILE || namespaces.includes(n));
  Object.freeze(files);
  h.netnsFiles = files;
}

/** A veth pair made in the host namespace; its container end moved into the sandbox as ep.ifname with the endpoint's address. */
export function plugContainerEnd(tx: Tx, ep: Draft<Endpoint>, ctrVeth: string, mtu?: number): void {
  const { host, sandbox } = ep;
  tx.emit(
    { op: 'link.move', host, netns: host, name: ctrVeth, to: sandbox },
    { op: 'link.rename', host, netns: sandbox, name: ctrVeth, to: ep.ifname },
    // An endpoint with no MAC of its own (ipvlan's device keeps its parent's) sets none.
    ...(ep.mac || mtu ? [{ op: 'link.set' as const, host, netns: sandbox, name: ep.ifname, ...(ep.mac ? { mac: ep.mac } : {}), ...(mtu ? { mtu } : {}) }] : []),
    { op: 'addr.add', host, netns: sandbox, dev: ep.ifname, address: `${ep.ip}/${ep.prefixLength}` },
    { op: 'link.set', host, netns: sandbox, name: ep.ifname, up: true },
  );
}

