/**
 * The files a step sees under /etc that belong to where it runs rather than to the machine:
 * a container's /etc/hosts and /etc/hostname as Docker writes them (localhost lines, then
 * each of its addresses under its short id), and a scenario host's as a Debian host has
 * them. A container's /etc/resolv.conf comes from the plan (`file.write`), since Docker
 * rewrites it as the sandbox joins its networks (resolvconf.ts); a scenario host has none. A
 * container run with --network host has copies of its host's.
 * Both modes show these: sim answers `cat` from them, emu mounts them.
 */
import { Container, containerById, endpointOf, hostOf, sharesHostNetns, swarmNetwork, World } from './world';

export type EtcView = { container: string } | { host: string };

/** The files etcFile may answer (a container's resolv.conf only with --network host: otherwise the plan writes it). */
export const ETC_OWN_FILES = ['/etc/hosts', '/etc/hostname', '/etc/resolv.conf'] as const;

const LOCALHOST_LINES = '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n';

function containerHosts(world: World, c: Container): string {
  const own = c.networks.map((n) => {
    const net = swarmNetwork(world.swarm, n.networkId) ?? hostOf(world, c.host).localNetworks[n.networkId];
    return n.endpointId && net ? endpointOf(net, n.endpointId)?.ip : undefined;
  }).filter(Boolean).map((ip) => `${ip}\t${c.hostname}\n`).join('');
  return LOCALHOST_LINES + own;
}

/** A scenario host's /etc/hosts, as Debian writes it. */
function hostHosts(host: string): string {
  return `127.0.0.1\tlocalhost\n127.0.1.1\t${host}\n::1\tlocalhost ip6-localhost ip6-loopback\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n`;
}

/** The content of `path` in the view, or undefined when the view has no such file of its own. */
export function etcFile(world: World, view: EtcView, path: string): string | undefined {
  if ('container' in view) {
    const c = containerById(world, view.container);
    if (!c) return undefined;
    if (sharesHostNetns(c)) {
      // libnetwork's default sandbox copies the host's /etc/hosts and /etc/resolv.conf; a lab's
      // host has no resolv.conf, so the container gets an empty one (setupDNS's createFile).
      if (path === '/etc/hosts') return hostHosts(c.host);
      if (path === '/etc/resolv.conf') return '';
    }
    if (path === '/etc/hosts') return containerHosts(world, c);
    if (path === '/etc/hostname') return `${c.hostname}\n`;
    return undefined;
  }
  if (path === '/etc/hosts') return hostHosts(view.host);
  if (path === '/etc/hostname') return `${view.host}\n`;
  return undefined;
}

/**
 * `path` as a step in the view reads it: the namespace's own file (the plan's file.write),
 * else the view's (etcFile). `cat` shows it and the resolver reads its nameservers from it,
 * so a --network host container's are those of its empty copy, as its host's own are none.
 */
export function viewFile(world: World, nsFiles: ReadonlyMap<string, string>, view: EtcView, path: string): string | undefined {
  return nsFiles.get(path) ?? etcFile(world, view, path);
}

/** The UTS name of the view: a container's hostname (its short id unless `--hostname`), or the host's name. */
export function viewHostname(world: World, view: EtcView): string {
  return 'container' in view ? (containerById(world, view.container)?.hostname ?? view.container.slice(0, 12)) : view.host;
}
