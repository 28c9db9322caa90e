/**
 * The embedded DNS server at 127.0.0.11 as the model sees it (libnetwork Sandbox.ResolveName
 * / ResolveIP): which networks a sandbox's names are looked up on, in which order, and what
 * each holds, as one DnsView. resolver.ts answers from that view, for sim's kernel and for
 * emu's responder alike: network-scoped, container names, aliases, short ids,
 * `name.network`, and PTR, names matched without regard to case (network.ResolveName lowers
 * the name it looks up). Everything else (a network's own name, `tasks.NET` without a
 * service, an address no container holds, any outside name) is not Docker's: the resolver
 * forwards it from the container's namespace to its external servers (the view's
 * `external`), the IPv4 nameservers of the resolv.conf setupDNS wrote for the container
 * (rebuildDNS's setExternalResolvers): in a lab, whose hosts have no resolv.conf, Google's
 * 8.8.8.8 and 8.8.4.4. None of them answers from a lab, and then ServeDNS returns without
 * writing: the asker times out.
 */
import { driverOf } from './drivers';
import { Container, endpointsOf, GWBRIDGE, hostOf, Network, swarmNetwork, World } from './world';
import { answerIn, DnsAnswerSet, DnsView, MAX_EXT_DNS } from './resolver';
import { nameservers, sandboxResolvConf } from './resolvconf';
import { isIpv4 } from '../wire/addr';

/** extDNS of every sandbox: the lab's hosts have no resolv.conf, so setupDNS's filter gives Google's two (resolvconf.ts). */
const EXTERNAL_SERVERS = nameservers(sandboxResolvConf(undefined)).filter(isIpv4).slice(0, MAX_EXT_DNS);

/**
 * The networks a container's names are looked up on, in the order libnetwork tries them
 * (libnetwork v20.10, sandbox.go). The sandbox keeps its endpoints in a heap ordered by
 * epHeap.Less: the gateway network (docker_gwbridge) and internal networks last, then by
 * endpoint priority, and at equal priority by network name. (ResolveName then takes the
 * swarm-scoped networks first: resolver.ts.) The default bridge has no service records (no
 * embedded DNS on it).
 */
function sandboxNetworks(w: World, c: Container): Network[] {
  const nets = c.networks
    .filter((n) => n.endpointId)
    .map((n) => swarmNetwork(w.swarm, n.networkId) ?? hostOf(w, c.host).localNetworks[n.networkId])
    .filter((n): n is Network => !!n && driverOf(n).embeddedDns(n));
  const last = (n: Network) => (n.name === GWBRIDGE || n.internal ? 1 : 0);
  return nets.sort((a, b) => last(a) - last(b) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
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

/** What container c's resolver answers from: each of its networks with the containers joined to it and their names. */
export function dnsView(w: World, c: Container): DnsView {
  return {
    networks: sandboxNetworks(w, c).map((net) => ({
      name: net.name, scope: net.scope, ingress: !!net.ingress,
      endpoints: knownEndpoints(w, net).flatMap((ep) => {
        const other = ep.kind === 'container' && ep.state === 'joined' && ep.containerId ? hostOf(w, ep.host).containers[ep.containerId] : undefined;
        return other ? [{ ip: ep.ip, names: [...ep.aliases, other.name, other.id.slice(0, 12), other.hostname], owner: other.name }] : [];
      }),
    })),
    external: EXTERNAL_SERVERS,
  };
}

/** The answer container c's resolver gives to one question, or undefined when it gives none (resolver.ts answerIn). */
export function answerQuery(w: World, c: Container, qname: string, qtype: string): DnsAnswerSet | undefined {
  return answerIn(dnsView(w, c), qname, qtype);
}
