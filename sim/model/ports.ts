/**
 * Published ports (`docker run -p`) as Docker 20.10's bridge driver makes them: when a
 * container's sandbox joins its gateway endpoint on a bridge network (libnetwork's
 * ProgramExternalConnectivity), each binding gets a host port from the engine's port
 * allocator, its rules (firewall.ts portMappingRules) and a docker-proxy listening on it (the
 * userland proxy is on by default); without an address asked for, a second mapping on `::`
 * served by a proxy alone (no ip6tables rules: the daemon's ip6tables is off by default).
 * They go as the sandbox leaves the endpoint (RevokeExternalConnectivity): the proxy, the
 * rules, the port. (moby v20.10 vendored libnetwork: drivers/bridge/port_mapping.go,
 * portmapper/mapper.go MapRange and Unmap, portallocator/portallocator.go; daemon/network.go
 * buildCreateEndpointOptions.)
 */
import { Draft } from 'immer';
import { Tx } from './tx';
import { Container, Endpoint, Host, Network, PortBinding, PublishedPort } from './world';
import { portMappingRules } from './firewall';
import { DaemonRefusal } from './refusal';
import { daemonSockets } from './listeners';
import type { ListeningSocket } from '../plan/ops';

/** The kernel's ip_local_port_range, which the allocator takes as its dynamic range (portallocator_linux.go). */
const DYNAMIC_START = 32768;
const DYNAMIC_END = 60999;
const PROXY = 'docker-proxy';

/**
 * The order the bindings are mapped in, one of those the engine may show: nat.SortPortMap
 * sorts a list that comes from a Go map (in no fixed order) with a Less that is not a strict
 * order, so dockerd's own order may differ from run to run. sim picks an explicit host port
 * first (the larger first), then the larger container port, tcp before udp.
 */
function sortedBindings(bindings: readonly PortBinding[]): PortBinding[] {
  const hostPort = (b: PortBinding) => Number(b.hostPort.split('-')[0]) || 0;
  const number = (b: PortBinding) => Number(b.port.split('/')[0]);
  return [...bindings].sort((a, b) => hostPort(b) - hostPort(a) || number(b) - number(a) || (a.port.endsWith('/tcp') ? 0 : 1) - (b.port.endsWith('/tcp') ? 0 : 1));
}

/**
 * RequestPortInRange: the port asked for, if no mapping on that address holds it; else the
 * next free one after the last given in the range (the dynamic range without one).
 */
function requestPort(h: Draft<Host>, ip: string, proto: string, start: number, end: number): number {
  const taken = ((h.portsTaken ??= {})[`${ip}/${proto}`] ??= { ports: [], lastInRange: {} });
  if (start > 0 && start === end) {
    if (taken.ports.includes(start)) throw new DaemonRefusal(`Bind for ${ip}:${start} failed: port is already allocated`, 'start');
    taken.ports.push(start);
    return start;
  }
  const [begin, last] = start === 0 && end === 0 ? [DYNAMIC_START, DYNAMIC_END] : [start, end];
  const key = `${begin}-${last}`;
  let port = taken.lastInRange[key] ?? last;
  for (let i = 0; i <= last - begin; i++) {
    port = port + 1 > last ? begin : port + 1;
    if (!taken.ports.includes(port)) {
      taken.ports.push(port);
      taken.lastInRange[key] = port;
      return port;
    }
  }
  throw new DaemonRefusal('all ports are allocated', 'start');
}

/** A binding's HostPort as the daemon reads it (nat.ParsePortRangeToInt): none is [0, 0]. */
function hostPortRange(hostPort: string): [number, number] {
  if (hostPort === '') return [0, 0];
  const [start, end] = hostPort.split('-');
  return [Number(start), Number(end ?? start)];
}

function releasePort(h: Draft<Host>, p: PublishedPort): void {
  const taken = h.portsTaken?.[`${p.hostIp}/${p.proto}`];
  if (taken) taken.ports = taken.ports.filter((x) => x !== p.hostPort);
}

function proxySocket(p: PublishedPort): ListeningSocket {
  return { proto: p.proto, address: p.hostIp, port: p.hostPort, process: PROXY };
}

/** The families a socket's address takes: dockerd's `*` is a dual-stack [::]; a proxy's `::` is tcp6 or udp6 alone (Go sets IPV6_V6ONLY). */
function families(address: string): ('4' | '6')[] {
  if (address === '*') return ['4', '6'];
  return address.includes(':') ? ['6'] : ['4'];
}

function wildcard(address: string): boolean {
  return address === '*' || address === '0.0.0.0' || address === '::';
}

/**
 * Whether the kernel refuses a proxy's bind at `p` for a socket already there: the same
 * protocol and port, a family in common, and either address a wildcard or both the same
 * (inet_csk_bind_conflict against a listener; Go sets no SO_REUSEADDR on a UDP socket).
 */
function bindConflicts(p: PublishedPort, s: ListeningSocket): boolean {
  if (s.proto !== p.proto || s.port !== p.hostPort) return false;
  if (!families(p.hostIp).some((f) => families(s.address).includes(f))) return false;
  return wildcard(p.hostIp) || wildcard(s.address) || s.address === p.hostIp;
}

/**
 * The sockets in the host's namespace a proxy's bind meets, as the model knows them: dockerd's
 * (swarm), the other containers' proxies, and those this start made already.
 */
function hostSockets(h: Draft<Host>, c: Draft<Container>, made: readonly PublishedPort[]): ListeningSocket[] {
  const proxies = Object.values(h.containers).filter((o) => o.id !== c.id).flatMap((o) => o.publishedPorts ?? []);
  return [...daemonSockets(h.nodeState), ...[...proxies, ...made].map(proxySocket)];
}

/**
 * docker-proxy's listen failed (cmd/proxy: net.ListenTCP or ListenUDP with tcp4/tcp6, udp4/udp6), as
 * portmapper's proxyCommand.Start reports it: Go's OpError with the address asked for.
 */
function proxyBindError(p: PublishedPort): DaemonRefusal {
  const v6 = p.hostIp.includes(':');
  const addr = v6 ? `[${p.hostIp}]:${p.hostPort}` : `${p.hostIp}:${p.hostPort}`;
  return new DaemonRefusal(`Error starting userland proxy: listen ${p.proto}${v6 ? '6' : '4'} ${addr}: bind: address already in use`, 'start');
}

/** allocatePort's attempts at a port the allocator picks (maxAllocatePortAttempts); one explicitly asked for is tried once. */
const MAX_ALLOCATE_PORT_ATTEMPTS = 10;

/**
 * Whether a mapping is the first, in the order they are mapped or unmapped, to the container's
 * port it serves: a container's mappings come and go together, so the first to one port
 * appends its accept and masquerade (ProgramRule finds them missing) and, as they go, the
 * first deletes them (ProgramRule finds them there); the others find them as they are.
 */
function firstOfContainerPort(): (p: PublishedPort) => boolean {
  const seen = new Set<string>();
  return (p) => {
    const key = `${p.proto} ${p.containerIp}:${p.containerPort}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  };
}

/**
 * ProgramExternalConnectivity on the container's gateway endpoint `ep` of the bridge network
 * `net`: every binding mapped, or (a port already allocated) none, refused as the engine
 * refuses the start.
 */
export function publishPorts(tx: Tx, c: Draft<Container>, net: Network | Draft<Network>, ep: Endpoint | Draft<Endpoint>): void {
  if (!c.portBindings?.length || c.publishedPorts) return;
  const h = tx.host(c.host);
  const made: PublishedPort[] = [];
  try {
    for (const b of sortedBindings(c.portBindings)) {
      const [number, proto] = b.port.split('/');
      const [start, end] = hostPortRange(b.hostPort);
      // The IPv4 mapping, then (no address asked for) the IPv6 one the proxy serves with the container's IPv4 address.
      for (const hostIp of b.hostIp === '' ? ['0.0.0.0', '::'] : [b.hostIp]) {
        // MapRange: the port, then the proxy's listen; a listen refused releases the port, and a port the allocator picked is tried again.
        for (let attempt = 1; ; attempt++) {
          const hostPort = requestPort(h, hostIp, proto, start, end);
          const p: PublishedPort = { proto: proto as PublishedPort['proto'], containerPort: Number(number), containerIp: ep.ip, hostIp, hostPort, bridge: net.bridge! };
          if (!hostSockets(h, c, made).some((s) => bindConflicts(p, s))) {
            made.push(p);
            break;
          }
          releasePort(h, p);
          if (start !== 0 || attempt === MAX_ALLOCATE_PORT_ATTEMPTS) throw proxyBindError(p);
        }
      }
    }
  } catch (e) {
    for (const p of made) releasePort(h, p);
    if (e instanceof DaemonRefusal) throw new DaemonRefusal(`driver failed programming external connectivity on endpoint ${ep.name} (${ep.id}): ${e.message}`, 'start');
    throw e;
  }
  const firstToContainerPort = firstOfContainerPort();
  for (const p of made) {
    if (p.hostIp !== '::') portMappingRules(tx, c.host, p, '-A', firstToContainerPort(p));
    tx.emit({ op: 'socket.listen', host: c.host, netns: c.host, socket: proxySocket(p) });
  }
  c.publishedPorts = made;
}

/** RevokeExternalConnectivity: each mapping's proxy stops, its rules go, its port is free again. */
export function unpublishPorts(tx: Tx, c: Draft<Container>): void {
  if (!c.publishedPorts) return;
  const h = tx.host(c.host);
  const firstToContainerPort = firstOfContainerPort();
  for (const p of c.publishedPorts) {
    tx.emit({ op: 'socket.close', host: c.host, netns: c.host, socket: proxySocket(p) });
    if (p.hostIp !== '::') portMappingRules(tx, c.host, p, '-D', firstToContainerPort(p));
    releasePort(h, p);
  }
  c.publishedPorts = undefined;
}
