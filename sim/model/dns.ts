/**
 * The embedded DNS server at 127.0.0.11, answering from the model (libnetwork
 * Sandbox.ResolveName / ResolveIP): network-scoped, container names, aliases, short ids,
 * `name.network`, and PTR. Unknown names would be forwarded upstream; there is none, so
 * they get NXDOMAIN.
 */
import { Container, endpointsOf, hostOf, Network, swarmNetwork, World } from './world';
import { RCODE_NOERROR, RCODE_NXDOMAIN } from '../wire/dns';
import { ipv4ToNumber } from '../wire/addr';

export interface DnsAnswerSet {
  rcode: number;
  answers: { name: string; type: string; ttl: number; data: string }[];
}

const TTL = 600;

function containerNetworks(w: World, c: Container): Network[] {
  const nets = c.networks
    .filter((n) => n.endpointId)
    .map((n) => swarmNetwork(w.swarm, n.networkId) ?? hostOf(w, c.host).localNetworks[n.networkId])
    .filter((n): n is Network => !!n && !(n.driver === 'bridge' && n.name === 'bridge'));
  // Swarm-scoped networks are searched before local ones (ByNetworkType).
  return [...nets.filter((n) => n.scope === 'swarm'), ...nets.filter((n) => n.scope === 'local')];
}

function findInNetwork(w: World, net: Network, name: string): string[] {
  const ips: string[] = [];
  for (const ep of endpointsOf(net)) {
    if (ep.kind !== 'container' || ep.state !== 'joined' || !ep.containerId) continue;
    const c = hostOf(w, ep.host).containers[ep.containerId];
    if (!c) continue;
    if (ep.aliases.includes(name) || c.name === name || c.id.slice(0, 12) === name || c.hostname === name) ips.push(ep.ip);
  }
  return ips.sort((a, b) => ipv4ToNumber(a) - ipv4ToNumber(b));
}

export function resolveName(w: World, c: Container, qname: string): string[] | undefined {
  const name = qname.toLowerCase().replace(/\.$/, '');
  const nets = containerNetworks(w, c);
  for (const net of nets) {
    const ips = findInNetwork(w, net, name);
    if (ips.length) return ips;
  }
  // "a.b": name a on network b, at every split point.
  for (let i = name.indexOf('.'); i > 0; i = name.indexOf('.', i + 1)) {
    const net = nets.find((n) => n.name === name.slice(i + 1));
    if (net) {
      const ips = findInNetwork(w, net, name.slice(0, i));
      if (ips.length) return ips;
    }
  }
  return undefined;
}

export function resolveAddress(w: World, c: Container, ip: string): string | undefined {
  for (const net of containerNetworks(w, c)) {
    for (const ep of endpointsOf(net)) {
      if (ep.ip === ip && ep.kind === 'container' && ep.state === 'joined' && ep.containerId) {
        const owner = hostOf(w, ep.host).containers[ep.containerId];
        if (owner) return `${owner.name}.${net.name}`;
      }
    }
  }
  return undefined;
}

/** The answer the embedded server gives to one question from container c. */
export function answerQuery(w: World, c: Container, qname: string, qtype: string): DnsAnswerSet {
  const ptr = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\.in-addr\.arpa\.?$/i.exec(qname);
  if (qtype === 'PTR' && ptr) {
    const name = resolveAddress(w, c, `${ptr[4]}.${ptr[3]}.${ptr[2]}.${ptr[1]}`);
    return name ? { rcode: RCODE_NOERROR, answers: [{ name: qname, type: 'PTR', ttl: TTL, data: name }] } : { rcode: RCODE_NXDOMAIN, answers: [] };
  }
  const ips = resolveName(w, c, qname);
  if (!ips) return { rcode: RCODE_NXDOMAIN, answers: [] };
  if (qtype !== 'A') return { rcode: RCODE_NOERROR, answers: [] };
  return { rcode: RCODE_NOERROR, answers: ips.map((data) => ({ name: qname, type: 'A', ttl: TTL, data })) };
}
