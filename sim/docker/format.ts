/** Docker CLI output formats: tables (Go tabwriter), inspect JSON, relative times. */
import { tabwrite } from '../text/tabwriter';
import { ipv4ToNumber } from '../wire/addr';
import { Container, Endpoint, endpointOf, endpointsOf, formatTime, hostOf, instanceOf, Network, swarmNetwork, World } from '../model/world';

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

function naturalLess(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true });
}

export function networkLsTable(nets: Network[], opts: { quiet: boolean; noTrunc: boolean }): string {
  const sorted = [...nets].sort((a, b) => naturalLess(a.name, b.name));
  const id = (n: Network) => (opts.noTrunc ? n.id : n.id.slice(0, 12));
  if (opts.quiet) return sorted.map((n) => id(n) + '\n').join('');
  const driver = (n: Network) => (n.allocationFailed ? '' : n.driver);
  return tabwrite([['NETWORK ID', 'NAME', 'DRIVER', 'SCOPE'], ...sorted.map((n) => [id(n), n.name, driver(n), n.scope])]);
}

function endpointEntry(ep: Endpoint): Record<string, string> {
  return { Name: ep.name, EndpointID: ep.id, MacAddress: ep.mac, IPv4Address: `${ep.ip}/${ep.prefixLength}`, IPv6Address: '' };
}

function endpointKey(ep: Endpoint, net: Network): string {
  if (ep.kind === 'lb') return `lb-${net.name}`;
  if (ep.kind === 'ingress' || (ep.kind === 'gateway' && ep.sandbox === 'ingress_sbox')) return 'ingress-sbox';
  return ep.containerId ?? `ep-${ep.id}`;
}

/** A network as `docker network inspect` on `host` shows it (Docker 20.10 field order). */
export function networkInspectObject(w: World, host: string, net: Network): Record<string, unknown> {
  const inst = instanceOf(net, host);
  const local = net.scope === 'local' || !!inst;
  const containers: Record<string, unknown> = {};
  const byAddress = endpointsOf(net).sort((a, b) => ipv4ToNumber(a.ip) - ipv4ToNumber(b.ip));
  for (const ep of byAddress) if (ep.host === host && ep.state === 'joined') containers[endpointKey(ep, net)] = endpointEntry(ep);
  const config = net.allocationFailed ? null : net.ipam.subnet ? [{ Subnet: net.ipam.subnet, Gateway: net.ipam.gateway }] : [];
  const o: Record<string, unknown> = {
    Name: net.name,
    Id: net.id,
    Created: formatTime(Number(inst ? inst.createdNs : net.createdNs)),
    Scope: net.scope,
    Driver: net.allocationFailed ? '' : net.driver,
    EnableIPv6: false,
    IPAM: { Driver: 'default', Options: net.scope === 'local' ? {} : null, Config: config },
    Internal: net.internal,
    Attachable: net.attachable,
    Ingress: net.ingress,
    ConfigFrom: { Network: '' },
    ConfigOnly: false,
    Containers: local ? containers : null,
    Options: net.options,
    Labels: local ? net.labels : Object.keys(net.labels).length ? net.labels : null,
  };
  if (net.scope === 'swarm' && inst) {
    o.Peers = w.hostOrder.filter((h) => instanceOf(net, h)).map((h) => ({ Name: hostOf(w, h).gossipName, IP: hostOf(w, h).underlay }));
  }
  return o;
}

export function inspectJson(objects: unknown[]): string {
  return JSON.stringify(objects, null, 4) + '\n';
}

const DEFAULT_COMMANDS: [RegExp, string][] = [[/^(ubuntu|debian|centos|fedora)/, '/bin/bash'], [/^nginx/, '/docker-entrypoint.sh nginx -g \'daemon off;\''], [/./, 'sh']];

export function containerCommand(c: Container): string {
  if (c.command.length) return c.command.join(' ');
  return DEFAULT_COMMANDS.find(([re]) => re.test(c.image))![1];
}

function ellipsis(s: string, max: number): string {
  return s.length > max ? s.slice(0, max - 1) + '…' : s;
}

export function containerStatus(c: Container, nowNs: number): string {
  if (c.state === 'running') return `Up ${humanDuration(nowNs - Number(c.startedNs ?? c.createdNs))}`;
  if (c.state === 'exited') return `Exited (0) ${humanDuration(nowNs - Number(c.startedNs ?? c.createdNs))} ago`;
  return 'Created';
}

export function psTable(containers: Container[], nowNs: number, opts: { all: boolean; quiet: boolean; noTrunc: boolean }): string {
  const shown = containers.filter((c) => opts.all || c.state === 'running').sort((a, b) => Number(b.createdNs) - Number(a.createdNs));
  const id = (c: Container) => (opts.noTrunc ? c.id : c.id.slice(0, 12));
  if (opts.quiet) return shown.map((c) => id(c) + '\n').join('');
  return tabwrite([
    ['CONTAINER ID', 'IMAGE', 'COMMAND', 'CREATED', 'STATUS', 'PORTS', 'NAMES'],
    ...shown.map((c) => [id(c), c.image, `"${opts.noTrunc ? containerCommand(c) : ellipsis(containerCommand(c), 20)}"`, `${humanDuration(nowNs - Number(c.createdNs))} ago`, containerStatus(c, nowNs), '', c.name]),
  ]);
}

/** The parts of `docker inspect CONTAINER` that concern networking, in Docker's shape. */
export function containerInspectObject(w: World, c: Container): Record<string, unknown> {
  const networks: Record<string, unknown> = {};
  for (const n of c.networks) {
    const net = swarmNetwork(w.swarm, n.networkId) ?? hostOf(w, c.host).localNetworks[n.networkId];
    if (!net) continue;
    const ep = n.endpointId ? endpointOf(net, n.endpointId) : undefined;
    networks[net.name] = {
      IPAMConfig: n.ip ? { IPv4Address: n.ip } : null,
      Links: null,
      Aliases: net.name === 'bridge' ? null : [c.id.slice(0, 12), ...n.aliases],
      NetworkID: net.id,
      EndpointID: ep?.id ?? '',
      Gateway: ep && net.driver === 'bridge' ? net.ipam.gateway : '',
      IPAddress: ep?.ip ?? '',
      IPPrefixLen: ep?.prefixLength ?? 0,
      IPv6Gateway: '',
      GlobalIPv6Address: '',
      GlobalIPv6PrefixLen: 0,
      MacAddress: ep?.mac ?? '',
      DriverOpts: null,
    };
  }
  const running = c.state === 'running';
  const cmd = c.command.length ? c.command : [containerCommand(c)];
  return {
    Id: c.id,
    Created: formatTime(Number(c.createdNs)),
    Path: cmd[0],
    Args: cmd.slice(1),
    State: {
      Status: c.state, Running: running, Paused: false, Restarting: false, OOMKilled: false, Dead: false, Pid: 0, ExitCode: 0, Error: '',
      StartedAt: c.startedNs ? formatTime(Number(c.startedNs)) : '0001-01-01T00:00:00Z', FinishedAt: '0001-01-01T00:00:00Z',
    },
    Name: `/${c.name}`,
    Config: { Hostname: c.hostname, Image: c.image, Cmd: cmd, Tty: c.interactive, OpenStdin: c.interactive },
    NetworkSettings: {
      SandboxID: running ? c.sandboxId : '',
      SandboxKey: running ? `/var/run/docker/netns/${c.sandbox}` : '',
      Networks: networks,
    },
  };
}
