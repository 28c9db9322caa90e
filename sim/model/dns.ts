/**
 * The embedded DNS server at 127.0.0.11, answering from the model (libnetwork
 * Sandbox.ResolveName / ResolveIP): network-scoped, container names, aliases, short ids,
 * `name.network`, and PTR, names matched without regard to case (network.ResolveName
 * lowers the name it looks up). Everything else (a network's own name, `tasks.NET` without
 * a service, an address no container holds, any outside name) is not Docker's: the
 * resolver forwards it from the container's namespace to the host's resolvers and, when
 * none answers, answers nothing at all (resolver.go ServeDNS returns without writing). A
 * lab's hosts have no resolver anyone can reach, so such a query goes unanswered and the
 * asker times out, as on a Docker host without a reachable resolver.
 */
import { driverOf } from './drivers';
import { Container, endpointsOf, GWBRIDGE, hostOf, Network, swarmNetwork, World } from './world';
import { RCODE_NOERROR } from '../wire/dns';
import { ipv4ToNumber } from '../wire/addr';

export interface DnsAnswerSet {
  rcode: number;
  answers: { name: string; type: string; ttl: number; data: string }[];
}

const TTL = 600;

/**
 * The networks a container's names are looked up on, in the order libnetwork tries them
 * (libnetwork v20.10, sandbox.go). The sandbox keeps its endpoints in a heap ordered by
 * epHeap.Less: the gateway network (docker_gwbridge) and internal networks last, then by
 * endpoint priority, and at equal priority by network name. ResolveName then takes the
 * swarm-scoped (dynamic) networks first, then ingress, then local ones, and resolveName
 * answers with the first network on which the name has records: a name on several of a
 * container's networks gets that network's addresses only, never a mix.
 * The default bridge has no service records (no embedded DNS on it).
 */
function sandboxNetworks(w: World, c: Container): Network[] {
  const nets = c.networks
    .filter((n) => n.endpointId)
    .map((n) => swarmNetwork(w.swarm, n.networkId) ?? hostOf(w, c.host).localNetworks[n.networkId])
    .filter((n): n is Network => !!n && driverOf(n).embeddedDns(n));
  const last = (n: Network) => (n.name === GWBRIDGE || n.internal ? 1 : 0);
  return nets.sort((a, b) => last(a) - last(b) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** ResolveName's order: dynamic (swarm) networks, then ingress, then local ones, each in the sandbox's order. */
function resolutionOrder(w: World, c: Container): Network[] {
  const nets = sandboxNetworks(w, c);
  return [...nets.filter((n) => n.scope === 'swarm' && !n.ingress), ...nets.filter((n) => n.ingress), ...nets.filter((n) => n.scope !== 'swarm')];
}

/**
 * A network's endpoints as the resolver knows them: a global-scope network's (kept in the
 * cluster store, Calico's) on every host, each host holding its own; anyone else's as held.
 */
function knownEndpoints(w: World, net: Network) {
  if (net.scope !== 'global') return endpointsOf(net);
  return w.hostOrder.flatMap((h) => {
    const copy = hostOf(w, h).localNetworks[net.id];
    return copy ? endpointsOf(copy).filter((ep) => ep.host === h) : [];
  });
}

function findInNetwork(w: World, net: Network, name: string): string[] {
  const ips: string[] = [];
  for (const ep of knownEndpoints(w, net)) {
    if (ep.kind !== 'container' || ep.state !== 'joined' || !ep.containerId) continue;
    const c = hostOf(w, ep.host).containers[ep.containerId];
    if (!c) continue;
    const names = [...ep.aliases, c.name, c.id.slice(0, 12), c.hostname];
    if (names.some((n) => n.toLowerCase() === name)) ips.push(ep.ip);
  }
  return ips.sort((a, b) => ipv4ToNumber(a) - ipv4ToNumber(b));
}

/**
 * Sandbox.ResolveName: "a.b.c" is tried whole on every network, then as "a.b" on network
 * "c", then as "a" on network "b.c" (from the last dot, as libnetwork splits it).
 */
export function resolveName(w: World, c: Container, qname: string): string[] | undefined {
  // The name part is matched in lower case (the records are kept so), the network part as
  // the network is named (sandbox.resolveName compares it with n.Name() as it is).
  const name = qname.replace(/\.$/, '');
  const nets = resolutionOrder(w, c);
  const tries: [string, string | undefined][] = [[name, undefined]];
  for (let i = name.lastIndexOf('.'); i > 0; i = name.lastIndexOf('.', i - 1)) tries.push([name.slice(0, i), name.slice(i + 1)]);
  for (const [req, networkName] of tries) {
    for (const net of nets) {
      if (networkName !== undefined && net.name !== networkName) continue;
      const ips = findInNetwork(w, net, req.toLowerCase());
      if (ips.length) return ips;
    }
  }
  return undefined;
}

/** Sandbox.ResolveIP: the first network, in the sandbox's order, that knows the address names it `name.network`. */
export function resolveAddress(w: World, c: Container, ip: string): string | undefined {
  for (const net of sandboxNetworks(w, c)) {
    for (const ep of knownEndpoints(w, net)) {
      if (ep.ip === ip && ep.kind === 'container' && ep.state === 'joined' && ep.containerId) {
        const owner = hostOf(w, ep.host).containers[ep.containerId];
        if (owner) return `${owner.name}.${net.name}`;
      }
    }
  }
  return undefined;
}

/**
 * Every name the container can resolve, grouped by address, the address's PTR name first:
 * the same answers as resolveName and resolveAddress, as a hosts file holds them (emu's
 * dnsmasq answers from these).
 */
export function dnsRecords(w: World, c: Container): { ip: string; names: string[] }[] {
  const candidates = new Set<string>();
  for (const net of sandboxNetworks(w, c)) {
    for (const ep of knownEndpoints(w, net)) {
      if (ep.kind !== 'container' || ep.state !== 'joined' || !ep.containerId) continue;
      const other = hostOf(w, ep.host).containers[ep.containerId];
      if (!other) continue;
      for (const name of [other.name, other.id.slice(0, 12), other.hostname, ...ep.aliases]) {
        candidates.add(name);
        candidates.add(`${name}.${net.name}`);
      }
    }
  }
  const byIp = new Map<string, string[]>();
  for (const name of candidates) {
    for (const ip of resolveName(w, c, name) ?? []) {
      let names = byIp.get(ip);
      if (!names) byIp.set(ip, (names = []));
      names.push(name);
    }
  }
  return [...byIp].sort((a, b) => ipv4ToNumber(a[0]) - ipv4ToNumber(b[0])).map(([ip, names]) => {
    const ptr = resolveAddress(w, c, ip);
    return { ip, names: ptr ? [ptr, ...names.filter((n) => n !== ptr)] : names };
  });
}

/**
 * The answer the embedded server gives to one question from container c, or undefined when
 * the question is not Docker's to answer (forwarded to the host's resolvers, which a lab
 * cannot reach: no answer comes). A name Docker owns gets its IPv4 addresses for A, and an
 * empty answer for AAAA (no IPv6 on its networks) and MX, as handleIPQuery and
 * handleMXQuery give them.
 */
export function answerQuery(w: World, c: Container, qname: string, qtype: string): DnsAnswerSet | undefined {
  const ptr = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\.in-addr\.arpa\.?$/i.exec(qname);
  if (qtype === 'PTR' && ptr) {
    const name = resolveAddress(w, c, `${ptr[4]}.${ptr[3]}.${ptr[2]}.${ptr[1]}`);
    return name ? { rcode: RCODE_NOERROR, answers: [{ name: qname, type: 'PTR', ttl: TTL, data: name }] } : undefined;
  }
  const ips = resolveName(w, c, qname);
  if (!ips) return undefined;
  if (qtype === 'A') return { rcode: RCODE_NOERROR, answers: ips.map((data) => ({ name: qname, type: 'A', ttl: TTL, data })) };
  return qtype === 'AAAA' || qtype === 'MX' ? { rcode: RCODE_NOERROR, answers: [] } : undefined;
}
