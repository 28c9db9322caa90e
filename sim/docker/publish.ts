/**
 * `docker run -p/--publish` as docker/cli v20.10 reads it, and the views of the published
 * ports the CLI prints: `docker ps`'s PORTS column, `docker port`, inspect's maps.
 *
 * Parsing is the CLI's (cli/command/container/opts.go convertToStandardNotation, then
 * go-connections nat.ParsePortSpecs): `[IP:][HOSTPORT:]CONTAINERPORT[/PROTO]`, either port a
 * range, or the long form `published=…,target=…,protocol=…`. Its errors are reportError's
 * (`docker: … .` and the help line, exit 125).
 */
import { DockerError, notModelledError } from './errors';
import type { Container, PortBinding, PublishedPort } from '../model/world';
import { isIpv4 } from '../wire/addr';
import { goMap } from './format';

function refused(message: string): DockerError {
  return new DockerError(`docker: ${message.replace(/\.$/, '')}.\nSee 'docker run --help'.`, 125);
}

/** convertToStandardNotation: the long form `name=value,…` as `published:target/protocol`. */
function standardNotation(spec: string): string {
  if (!spec.includes('=')) return spec;
  const params: Record<string, string> = { protocol: 'tcp' };
  for (const param of spec.split(',')) {
    const opt = param.split('=');
    if (opt.length < 2) throw refused(`invalid publish opts format (should be name=value but got '${param}')`);
    params[opt[0]] = opt[1];
  }
  return `${params.published ?? ''}:${params.target ?? ''}/${params.protocol}`;
}

/** strconv.ParseUint(s, 10, 16): decimal digits only, at most 65535. */
function parseUint16(s: string): number | undefined {
  if (!/^[0-9]+$/.test(s)) return undefined;
  const n = Number(s);
  return n <= 0xffff ? n : undefined;
}

/** nat.ParsePortRange: `N` or `N-M` (only the first two parts of a longer one are read), M not below N. */
function parsePortRange(ports: string): [number, number] | undefined {
  if (ports === '') return undefined;
  if (!ports.includes('-')) {
    const n = parseUint16(ports);
    return n === undefined ? undefined : [n, n];
  }
  const parts = ports.split('-');
  const start = parseUint16(parts[0]);
  const end = parseUint16(parts[1]);
  if (start === undefined || end === undefined || end < start) return undefined;
  return [start, end];
}

/** nat.SplitProtoPort: `80/udp` as [udp, 80]; no protocol (or an empty one) is tcp. */
function splitProtoPort(raw: string): [string, string] {
  const parts = raw.split('/');
  if (raw === '' || parts[0] === '') return ['', ''];
  if (parts.length === 1 || parts[1] === '') return ['tcp', parts[0]];
  return [parts[1], parts[0]];
}

/** nat's splitParts: the last part is the container's port, the one before the host's, the rest the address. */
function splitParts(raw: string): [string, string, string] {
  const parts = raw.split(':');
  const n = parts.length;
  if (n === 1) return ['', '', parts[0]];
  if (n === 2) return ['', parts[0], parts[1]];
  return [parts.slice(0, n - 2).join(':'), parts[n - 2], parts[n - 1]];
}

/** net.SplitHostPort(rawIP + ":")'s host, or Go's error for it. */
function hostOf(rawIp: string): { ip: string } | { error: string } {
  const hostport = `${rawIp}:`;
  if (rawIp.startsWith('[')) {
    const end = rawIp.indexOf(']');
    if (end < 0) return { error: `address ${hostport}: missing ']' in address` };
    if (end !== rawIp.length - 1) return { error: `address ${hostport}: missing port in address` };
    return { ip: rawIp.slice(1, end) };
  }
  if (rawIp.includes(':')) return { error: `address ${hostport}: too many colons in address` };
  return { ip: rawIp };
}

/** One spec's bindings (nat.ParsePortSpec), each under its nat.Port. */
function parsePortSpec(raw: string): PortBinding[] {
  const [rawIp, hostPortTyped, containerTyped] = splitParts(raw);
  const [proto, containerPort] = splitProtoPort(containerTyped);
  const host = hostOf(rawIp);
  if ('error' in host) throw refused(`Invalid ip address ${rawIp}: ${host.error}`);
  const ip = host.ip;
  // net.ParseIP: an IPv6 address is valid too, but cnmlab's hosts have no IPv6 address to bind.
  if (ip !== '' && !isIpv4(ip)) {
    if (/^[0-9a-fA-F:.]+$/.test(ip) && ip.includes(':')) throw notModelledError(`docker run -p ${raw}: a port published on an IPv6 address`);
    throw refused(`Invalid ip address: ${ip}`);
  }
  if (containerPort === '') throw refused(`No port specified: ${raw}<empty>`);
  const container = parsePortRange(containerPort);
  if (!container) throw refused(`Invalid containerPort: ${containerPort}`);
  let hostRange: [number, number] = [0, 0];
  if (hostPortTyped !== '') {
    const parsed = parsePortRange(hostPortTyped);
    if (!parsed) throw refused(`Invalid hostPort: ${hostPortTyped}`);
    hostRange = parsed;
  }
  const [start, end] = container;
  const [hostStart, hostEnd] = hostRange;
  // A host range with one container port is the range the daemon picks the host's port from.
  if (hostPortTyped !== '' && end - start !== hostEnd - hostStart && end !== start) {
    throw refused(`Invalid ranges specified for container and host Ports: ${containerPort} and ${hostPortTyped}`);
  }
  const lower = proto.toLowerCase();
  if (!['tcp', 'udp', 'sctp'].includes(lower)) throw refused(`Invalid proto: ${proto}`);
  if (lower === 'sctp') throw notModelledError(`docker run -p ${raw}: an SCTP port`);
  const bindings: PortBinding[] = [];
  for (let i = 0; i <= end - start; i++) {
    let hostPort = hostPortTyped === '' ? '' : String(hostStart + i);
    if (start === end && hostStart !== hostEnd) hostPort = `${hostPort}-${hostEnd}`;
    bindings.push({ port: `${start + i}/${lower}`, hostIp: ip, hostPort });
  }
  return bindings;
}

/** docker run's -p values as the CLI hands them to the daemon (HostConfig.PortBindings), in the order typed. */
export function parsePublish(specs: string[]): PortBinding[] {
  return specs.map(standardNotation).flatMap(parsePortSpec);
}

/** HostConfig.PortBindings: each port's bindings as typed. */
export function hostConfigPortBindings(c: Container): Record<string, { HostIp: string; HostPort: string }[]> {
  const map = new Map<string, { HostIp: string; HostPort: string }[]>();
  for (const b of c.portBindings ?? []) map.set(b.port, [...(map.get(b.port) ?? []), { HostIp: b.hostIp, HostPort: b.hostPort }]);
  return goMap(Object.fromEntries(map));
}

/** Config.ExposedPorts: every published port (omitempty: absent without one). */
export function exposedPorts(c: Container): Record<string, Record<string, never>> | undefined {
  if (!c.portBindings?.length) return undefined;
  return goMap(Object.fromEntries([...new Set(c.portBindings.map((b) => b.port))].map((p) => [p, {}])));
}

/**
 * NetworkSettings.Ports (getEndpointPortMapInfo): while it runs, each exposed port with the
 * mappings made for it, null for one that has none; empty once stopped.
 */
export function networkSettingsPorts(c: Container): Record<string, { HostIp: string; HostPort: string }[] | null> {
  if (!c.publishedPorts) return {};
  const map = new Map<string, { HostIp: string; HostPort: string }[] | null>();
  for (const b of c.portBindings ?? []) map.set(b.port, null);
  for (const p of c.publishedPorts) {
    const key = `${p.containerPort}/${p.proto}`;
    map.set(key, [...(map.get(key) ?? []), { HostIp: p.hostIp, HostPort: String(p.hostPort) }]);
  }
  return goMap(Object.fromEntries(map));
}

/** docker/cli's DisplayablePorts over the daemon's list (one entry a mapping): `0.0.0.0:8080->80/tcp, :::8080->80/tcp`. */
export function displayablePorts(published: readonly PublishedPort[]): string {
  const ports = [...published].sort((i, j) => {
    if (i.containerPort !== j.containerPort) return i.containerPort - j.containerPort;
    if (i.hostIp !== j.hostIp) return i.hostIp < j.hostIp ? -1 : 1;
    if (i.hostPort !== j.hostPort) return i.hostPort - j.hostPort;
    return i.proto < j.proto ? -1 : i.proto > j.proto ? 1 : 0;
  });
  const groups = new Map<string, { first: number; last: number }>();
  const result: string[] = [];
  const hostMappings: string[] = [];
  const formGroup = (key: string, g: { first: number; last: number }) => {
    const [ip, type] = key.split('/');
    const range = g.first === g.last ? String(g.first) : `${g.first}-${g.last}`;
    return `${ip}:${range}->${range}/${type}`;
  };
  for (const p of ports) {
    if (p.hostPort !== p.containerPort) {
      hostMappings.push(`${p.hostIp}:${p.hostPort}->${p.containerPort}/${p.proto}`);
      continue;
    }
    const key = `${p.hostIp}/${p.proto}`;
    const g = groups.get(key);
    if (!g) groups.set(key, { first: p.containerPort, last: p.containerPort });
    else if (p.containerPort === g.last + 1) g.last = p.containerPort;
    else {
      result.push(formGroup(key, g));
      groups.set(key, { first: p.containerPort, last: p.containerPort });
    }
  }
  // The groups in the order their keys were first made (a Map keeps it across set).
  for (const [key, g] of groups) result.push(formGroup(key, g));
  return [...result, ...hostMappings].join(', ');
}

/**
 * `docker port CONTAINER [PRIVATE_PORT[/PROTO]]` (docker/cli v20.10 runPort): every mapping as
 * `80/tcp -> 0.0.0.0:8080` (Go's map order across ports: here the ports' own), or one port's
 * host addresses; a port with none is the CLI's error.
 */
export function portCommandOutput(c: Container, ref: string, asked?: string): { stdout: string; error?: string } {
  const ports = networkSettingsPorts(c);
  if (asked === undefined) {
    return { stdout: Object.entries(ports).flatMap(([from, frontends]) => (frontends ?? []).map((f) => `${from} -> ${f.HostIp}:${f.HostPort}\n`)).join('') };
  }
  const slash = asked.indexOf('/');
  const [port, proto] = slash >= 0 && asked.slice(slash + 1) !== '' ? [asked.slice(0, slash), asked.slice(slash + 1)] : [asked, 'tcp'];
  const range = parsePortRange(port);
  if (!range) throw notModelledError(`docker port ${ref} ${asked}: nat.NewPort's refusal of a port that is no port number or range`);
  const key = range[0] === range[1] ? `${range[0]}/${proto}` : `${range[0]}-${range[1]}/${proto}`;
  const frontends = ports[key];
  if (!frontends) return { stdout: '', error: `Error: No public port '${port}/${proto}' published for ${ref}` };
  return { stdout: frontends.map((f) => `${f.HostIp}:${f.HostPort}\n`).join('') };
}
