/** Docker CLI output formats: tables (Go tabwriter), inspect JSON, relative times. */
import { naturalCompare } from '../text/natural';
import type { NetworkRow } from './network-ls-format';
import { tabwrite } from '../text/tabwriter';
import { containerCommandLine } from '../model/main-process';
import { notModelledError } from './errors';
import { displayablePorts } from './publish';
import { ipv4ToNumber } from '../wire/addr';
import { Container, daemonTime, Endpoint, endpointsOf, formatTime, GWBRIDGE, hostOf, instanceOf, Network, World } from '../model/world';

/** go-units HumanDuration. */
export function humanDuration(ns: number): string {
  const seconds = Math.floor(ns / 1e9);
  if (seconds < 1) return 'Less than a second';
  if (seconds === 1) return '1 second';
  if (seconds < 60) return `${seconds} seconds`;
  const minutes = Math.floor(seconds / 60);
  if (minutes === 1) return 'About a minute';
  if (minutes < 60) return `${minutes} minutes`;
  const hours = Math.round(minutes / 60);
  if (hours === 1) return 'About an hour';
  if (hours < 48) return `${hours} hours`;
  return `${Math.floor(hours / 24)} days`;
}

export function networkLsTable(nets: Network[], opts: { quiet: boolean; noTrunc: boolean }): string {
  const sorted = [...nets].sort((a, b) => naturalCompare(a.name, b.name));
  const id = (n: Network) => (opts.noTrunc ? n.id : n.id.slice(0, 12));
  if (opts.quiet) return sorted.map((n) => id(n) + '\n').join('');
  const driver = (n: Network) => (n.allocationFailed ? '' : n.driver);
  return tabwrite([['NETWORK ID', 'NAME', 'DRIVER', 'SCOPE'], ...sorted.map((n) => [id(n), n.name, driver(n), n.scope])]);
}

/** The networks as `docker network ls --format` reads them, in the CLI's order (by name); each as network inspect on `host` gives it. */
export function networkRows(w: World, host: string, nets: Network[]): NetworkRow[] {
  return [...nets].sort((a, b) => naturalCompare(a.name, b.name)).map((net) => {
    const o = networkInspectObject(w, host, net);
    return { id: net.id, name: net.name, driver: o.Driver as string, scope: net.scope, internal: net.internal, labels: (o.Labels ?? {}) as Record<string, string>, created: o.Created as string };
  });
}

function endpointEntry(ep: Endpoint): Record<string, string> {
  // An endpoint with no interface (the host network's) has no address to show (buildEndpointResource).
  return { Name: ep.name, EndpointID: ep.id, MacAddress: ep.mac, IPv4Address: ep.ip ? `${ep.ip}/${ep.prefixLength}` : '', IPv6Address: '' };
}

function endpointKey(ep: Endpoint, net: Network): string {
  if (ep.kind === 'lb') return `lb-${net.name}`;
  if (ep.kind === 'ingress' || (ep.kind === 'gateway' && ep.sandbox === 'ingress_sbox')) return 'ingress-sbox';
  return ep.containerId ?? `ep-${ep.id}`;
}

/**
 * An object keyed by id or name as Go's encoding/json writes a map: keys in byte order (a
 * container id before `lb-test-net`, option names alphabetically), whatever order the model
 * keeps them in.
 */
export function goMap<V>(m: Record<string, V>): Record<string, V> {
  const sorted: Record<string, V> = {};
  for (const k of Object.keys(m).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))) sorted[k] = m[k];
  return sorted;
}

/** Networks dockerd makes itself (not through the API): their IPAM request carries no options map. */
const DAEMON_MADE = new Set(['bridge', 'host', 'none', GWBRIDGE]);

function ipamOf(net: Network): Record<string, unknown> {
  // The manager records no IPAM driver for a network it failed to allocate.
  if (net.allocationFailed) return { Driver: '', Options: null, Config: null };
  const made = net.scope === 'local' && DAEMON_MADE.has(net.name);
  // The default bridge takes docker0's address as it finds it: its IPAM request names no gateway.
  const config = !net.ipam.subnet ? [] : net.name === 'bridge' && net.scope === 'local' ? [{ Subnet: net.ipam.subnet }] : [{ Subnet: net.ipam.subnet, Gateway: net.ipam.gateway }];
  return { Driver: net.ipamDriver ?? 'default', Options: net.scope !== 'swarm' && !made ? {} : null, Config: config };
}

/**
 * `--verbose`: the network's service records as this node's NetworkDB holds them. Containers
 * attached by hand are tasks of no service, so they sit under the empty service name, newest
 * first, each with the underlay address of the node it runs on. None: no section at all
 * (NetworkResource's `Services` is `json:",omitempty"`, and an empty map is left out).
 */
function servicesOf(w: World, net: Network): Record<string, unknown> | undefined {
  const tasks = endpointsOf(net).filter((ep) => ep.kind === 'container' && ep.state === 'joined').sort((a, b) => ipv4ToNumber(b.ip) - ipv4ToNumber(a.ip));
  if (!tasks.length) return undefined;
  return {
    '': {
      VIP: '<nil>', Ports: [], LocalLBIndex: 0,
      Tasks: tasks.map((ep) => ({ Name: ep.name, EndpointID: ep.id, EndpointIP: ep.ip, Info: { 'Host IP': hostOf(w, ep.host).underlay } })),
    },
  };
}

/** A network as `docker network inspect` on `host` shows it (Docker 20.10 field order). */
export function networkInspectObject(w: World, host: string, net: Network, verbose = false): Record<string, unknown> {
  const inst = instanceOf(net, host);
  const local = net.scope !== 'swarm' || !!inst;
  const containers: Record<string, unknown> = {};
  for (const ep of endpointsOf(net)) if (ep.host === host && ep.state === 'joined') containers[endpointKey(ep, net)] = endpointEntry(ep);
  const o: Record<string, unknown> = {
    Name: net.name,
    Id: net.id,
    Created: formatTime(daemonTime(inst ? inst.createdNs : net.createdNs, inst ? `${net.id}@${host}` : net.id)),
    Scope: net.scope,
    Driver: net.allocationFailed ? '' : net.driver,
    EnableIPv6: false,
    IPAM: ipamOf(net),
    Internal: net.internal,
    Attachable: net.attachable,
    Ingress: net.ingress,
    ConfigFrom: { Network: '' },
    ConfigOnly: false,
    Containers: local ? goMap(containers) : null,
    Options: net.allocationFailed ? null : goMap(net.options),
    Labels: local ? goMap(net.labels) : Object.keys(net.labels).length ? goMap(net.labels) : null,
  };
  if (net.scope === 'swarm' && inst) {
    o.Peers = w.hostOrder.filter((h) => instanceOf(net, h)).map((h) => ({ Name: hostOf(w, h).gossipName, IP: hostOf(w, h).underlay }));
    const services = verbose ? servicesOf(w, net) : undefined;
    if (services) o.Services = services;
  }
  return o;
}

export function inspectJson(objects: unknown[]): string {
  return JSON.stringify(objects, null, 4) + '\n';
}

/** `value`, which the container's image decides (its command, its entrypoint); refused as not modelled when undefined, for an image the model does not know. */
export function ofKnownImage<T>(c: Container, value: T | undefined): T {
  if (value === undefined) throw notModelledError(`what ${c.name} starts (its entrypoint and command): its image (${c.image}) is none cnmlab knows`);
  return value;
}

/** The container's command as `docker ps` shows it; refused as not modelled for an image whose entrypoint and command the model does not know. */
export function containerCommand(c: Container): string {
  return ofKnownImage(c, containerCommandLine(c));
}

function ellipsis(s: string, max: number): string {
  return s.length > max ? s.slice(0, max - 1) + '…' : s;
}

export function containerStatus(c: Container, nowNs: number): string {
  if (c.state === 'running') return `Up ${humanDuration(nowNs - Number(c.startedNs ?? c.createdNs))}`;
  // The status its main process exited with: its own at its end, 137 when a stop or kill sent SIGKILL (main-process.ts).
  if (c.state === 'exited') return `Exited (${c.exitCode ?? 0}) ${humanDuration(nowNs - Number(c.finishedNs ?? c.createdNs))} ago`;
  return 'Created';
}

// PORTS: the daemon lists a running container's mappings (daemon/list.go), docker/cli groups them (DisplayablePorts).
export function psTable(containers: Container[], nowNs: number, opts: { all: boolean; quiet: boolean; noTrunc: boolean }): string {
  const shown = containers.filter((c) => opts.all || c.state === 'running').sort((a, b) => Number(b.createdNs) - Number(a.createdNs));
  const id = (c: Container) => (opts.noTrunc ? c.id : c.id.slice(0, 12));
  if (opts.quiet) return shown.map((c) => id(c) + '\n').join('');
  return tabwrite([
    ['CONTAINER ID', 'IMAGE', 'COMMAND', 'CREATED', 'STATUS', 'PORTS', 'NAMES'],
    ...shown.map((c) => [id(c), c.image, `"${opts.noTrunc ? containerCommand(c) : ellipsis(containerCommand(c), 20)}"`, `${humanDuration(nowNs - Number(c.createdNs))} ago`, containerStatus(c, nowNs), displayablePorts(c.publishedPorts ?? []), c.name]),
  ]);
}
