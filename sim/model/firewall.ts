/**
 * The engine's own netfilter rules, as libnetwork v20.10 programs them: the iptables
 * commands its iptables package runs, in its order, as plan ops (so a rule lands where the
 * engine puts it, and `cnmlab explain` shows the commands).
 *
 * - At start, the bridge driver's configure: the chains (setupIPChains), then forwarding on
 *   with FORWARD's policy DROP (setupIPForwarding); then the default bridge, docker0.
 * - Each bridge network (docker0, docker_gwbridge on swarm init or join, a user bridge):
 *   setupIPTablesInternal (MASQUERADE, the nat DOCKER skip, inter-container communication,
 *   outgoing accept; each inserted at the top of its chain, so the newest network's rules
 *   come first, and the ICC drop of a network with ICC off appended at the end), the DOCKER
 *   chain's links (ProgramChain), the isolation chain's jump moved back to FORWARD's top
 *   (EnsureJumpRule), the inter-network isolation rules (setINC), then the controller's
 *   arrangeUserFilterRule (DOCKER-USER on top). Removing the network takes them away again
 *   in the order its clean functions were registered.
 * - Each container sandbox with the embedded DNS: the DNAT of 127.0.0.11:53 to the
 *   resolver's own ports and the SNAT of its answers back to :53 (resolver_unix.go).
 *
 * libnetwork checks each rule with `iptables -C` first (Exists) and skips what is already
 * there or already gone; the model knows what it installed, so it emits only the commands
 * that take effect. The controller also re-arranges DOCKER-USER after every network it
 * makes (overlays too); only a bridge network's inserts can push it down, so it is emitted
 * there only.
 */
import { Draft } from 'immer';
import { Tx } from './tx';
import { Network } from './world';
import { seedFromName } from './ids';

/** The ephemeral range (ip_local_port_range) the kernel picks the resolver's ports from. */
const EPHEMERAL_MIN = 32768;
const EPHEMERAL_SPAN = 60999 - EPHEMERAL_MIN + 1;

/**
 * The ports the kernel gives the resolver's UDP and TCP sockets (listening on port 0): drawn
 * from `key` (the sandbox), not from the world's generator, so no id made later shifts.
 */
export function resolverPorts(key: string): { udp: number; tcp: number } {
  const udp = EPHEMERAL_MIN + (seedFromName(`resolver-udp:${key}`) % EPHEMERAL_SPAN);
  const tcp = EPHEMERAL_MIN + (seedFromName(`resolver-tcp:${key}`) % EPHEMERAL_SPAN);
  return { udp, tcp };
}

const DOCKER = 'DOCKER';
const ISOLATION_1 = 'DOCKER-ISOLATION-STAGE-1';
const ISOLATION_2 = 'DOCKER-ISOLATION-STAGE-2';
const USER = 'DOCKER-USER';
/** The embedded DNS's address inside a sandbox, and its chains there. */
export const RESOLVER_IP = '127.0.0.11';
const DNS_OUTPUT = 'DOCKER_OUTPUT';
const DNS_POSTROUTING = 'DOCKER_POSTROUTING';

function iptables(tx: Tx, host: string, netns: string, ...args: string[]): void {
  tx.emit({ op: 'iptables', host, netns, args });
}

/** The bridge driver's configure at dockerd's start: its chains, then forwarding on and FORWARD's policy DROP. */
export function engineStartFirewall(tx: Tx, host: string): void {
  const ipt = (...args: string[]) => iptables(tx, host, host, ...args);
  ipt('-t', 'nat', '-N', DOCKER);
  ipt('-t', 'filter', '-N', DOCKER);
  ipt('-t', 'filter', '-N', ISOLATION_1);
  ipt('-t', 'filter', '-N', ISOLATION_2);
  ipt('-A', ISOLATION_1, '-j', 'RETURN');
  ipt('-A', ISOLATION_2, '-j', 'RETURN');
  // setupIPForwarding: ip_forward was 0, so it turns it on and sets FORWARD's policy to DROP.
  tx.emit({ op: 'sysctl.set', host, netns: host, key: 'net.ipv4.ip_forward', value: '1' });
  ipt('-t', 'filter', '-P', 'FORWARD', 'DROP');
}

function bridgeOptions(net: Network | Draft<Network>): { icc: boolean; masquerade: boolean } {
  return {
    icc: net.options['com.docker.network.bridge.enable_icc'] !== 'false',
    masquerade: net.options['com.docker.network.bridge.enable_ip_masquerade'] !== 'false',
  };
}

/**
 * A bridge network's rules as its creation installs them. `first`: the first bridge network
 * of the engine (docker0 at start), which links nat's PREROUTING and OUTPUT to DOCKER and
 * makes DOCKER-USER; later networks find those in place.
 */
export function bridgeNetworkUp(tx: Tx, host: string, net: Network | Draft<Network>, first: boolean): void {
  const ipt = (...args: string[]) => iptables(tx, host, host, ...args);
  const br = net.bridge!;
  const subnet = net.ipam.subnet;
  const { icc, masquerade } = bridgeOptions(net);
  if (net.internal) {
    // setupInternalNetworkRules: nothing leaves or enters the subnet; no NAT, no DOCKER links.
    ipt('-I', ISOLATION_1, '-i', br, '!', '-d', subnet, '-j', 'DROP');
    ipt('-I', ISOLATION_1, '-o', br, '!', '-s', subnet, '-j', 'DROP');
    iccUp(ipt, br, icc);
  } else {
    if (masquerade) {
      ipt('-t', 'nat', '-I', 'POSTROUTING', '-s', subnet, '!', '-o', br, '-j', 'MASQUERADE');
      // With the userland proxy (the default), hairpin mode is off: DNAT skips the bridge's own traffic.
      ipt('-t', 'nat', '-I', DOCKER, '-i', br, '-j', 'RETURN');
    }
    iccUp(ipt, br, icc);
    ipt('-I', 'FORWARD', '-i', br, '!', '-o', br, '-j', 'ACCEPT');
    if (first) {
      ipt('-t', 'nat', '-A', 'PREROUTING', '-m', 'addrtype', '--dst-type', 'LOCAL', '-j', DOCKER);
      ipt('-t', 'nat', '-A', 'OUTPUT', '-m', 'addrtype', '--dst-type', 'LOCAL', '-j', DOCKER, '!', '--dst', '127.0.0.0/8');
    }
    ipt('-I', 'FORWARD', '-o', br, '-j', DOCKER);
    ipt('-I', 'FORWARD', '-o', br, '-m', 'conntrack', '--ctstate', 'RELATED,ESTABLISHED', '-j', 'ACCEPT');
  }
  // EnsureJumpRule: the jump to the isolation chain goes back on top.
  if (!first) ipt('-D', 'FORWARD', '-j', ISOLATION_1);
  ipt('-I', 'FORWARD', '-j', ISOLATION_1);
  if (!net.internal) {
    ipt('-t', 'filter', '-I', ISOLATION_1, '-i', br, '!', '-o', br, '-j', ISOLATION_2);
    ipt('-t', 'filter', '-I', ISOLATION_2, '-o', br, '-j', 'DROP');
  }
  // The controller's arrangeUserFilterRule, after the network is made.
  if (first) {
    ipt('-t', 'filter', '-N', USER);
    ipt('-A', USER, '-j', 'RETURN');
  } else {
    ipt('-D', 'FORWARD', '-j', USER);
  }
  ipt('-I', 'FORWARD', '-j', USER);
}

/**
 * dockerd started again (`systemctl restart docker`) with its default bridge given a new
 * subnet (`--bip`), its other networks' rules as they were. What libnetwork v20.10 runs:
 *
 * 1. the bridge driver's configure: removeIPChains (nat DOCKER's PREROUTING and OUTPUT jumps
 *    deleted, each chain flushed, and deleted where nothing refers to it any more: nat DOCKER
 *    and DOCKER-ISOLATION-STAGE-2; filter DOCKER and STAGE-1 stay, FORWARD jumps to them),
 *    then setupIPChains makes them again with their RETURN rules;
 * 2. populateNetworks restores docker0 from the driver's store with its old subnet
 *    (createNetwork): its rules are still in place and skipped, but what the flush took goes
 *    back (nat DOCKER's skip, the nat jumps, the isolation rules) and STAGE-1's jump to the top;
 * 3. the daemon's initNetworkController clears that stale default network (`n.Delete()`):
 *    its clean functions take the old subnet's MASQUERADE and docker0's FORWARD rules away;
 * 4. initBridgeDriver creates the default network with --bip's subnet: setupBridgeIPv4 swaps
 *    docker0's address and the new subnet's rules go in as at any bridge network's creation,
 *    on top of their chains (above what others, flanneld, put there since), then DOCKER-USER.
 *
 * `old` is docker0 as it was, `now` as --bip makes it.
 * (moby v20.10: daemon/daemon_unix.go initNetworkController; libnetwork drivers/bridge
 * bridge.go createNetwork and deleteNetwork, bridge_store.go populateNetworks,
 * setup_ip_tables.go removeIPChains, setupIPChains, setupIPTablesInternal, setup_ipv4.go.)
 */
export function engineRestartWithNewBridge(tx: Tx, host: string, old: Network | Draft<Network>, now: Network | Draft<Network>, swapAddress: () => void): void {
  const ipt = (...args: string[]) => iptables(tx, host, host, ...args);
  const br = old.bridge!;
  // 1. removeIPChains, then setupIPChains.
  ipt('-t', 'nat', '-D', 'PREROUTING', '-m', 'addrtype', '--dst-type', 'LOCAL', '-j', DOCKER);
  ipt('-t', 'nat', '-D', 'OUTPUT', '-m', 'addrtype', '--dst-type', 'LOCAL', '!', '--dst', '127.0.0.0/8', '-j', DOCKER);
  ipt('-t', 'nat', '-F', DOCKER);
  ipt('-t', 'nat', '-X', DOCKER);
  ipt('-t', 'filter', '-F', DOCKER);
  ipt('-t', 'filter', '-F', ISOLATION_1);
  ipt('-t', 'filter', '-F', ISOLATION_2);
  ipt('-t', 'filter', '-X', ISOLATION_2);
  ipt('-t', 'nat', '-N', DOCKER);
  ipt('-t', 'filter', '-N', ISOLATION_2);
  ipt('-A', ISOLATION_1, '-j', 'RETURN');
  ipt('-A', ISOLATION_2, '-j', 'RETURN');
  // 2. docker0 restored with its old subnet: what the flush took goes back.
  const { masquerade } = bridgeOptions(old);
  if (masquerade && !old.internal) ipt('-t', 'nat', '-I', DOCKER, '-i', br, '-j', 'RETURN');
  ipt('-t', 'nat', '-A', 'PREROUTING', '-m', 'addrtype', '--dst-type', 'LOCAL', '-j', DOCKER);
  ipt('-t', 'nat', '-A', 'OUTPUT', '-m', 'addrtype', '--dst-type', 'LOCAL', '-j', DOCKER, '!', '--dst', '127.0.0.0/8');
  ipt('-D', 'FORWARD', '-j', ISOLATION_1);
  ipt('-I', 'FORWARD', '-j', ISOLATION_1);
  ipt('-t', 'filter', '-I', ISOLATION_1, '-i', br, '!', '-o', br, '-j', ISOLATION_2);
  ipt('-t', 'filter', '-I', ISOLATION_2, '-o', br, '-j', 'DROP');
  // 3. the stale default network deleted, 4. the new one made.
  bridgeNetworkDown(tx, host, old);
  swapAddress();
  bridgeNetworkUp(tx, host, now, false);
}

/** setIcc: ICC on is an ACCEPT on top; off, a DROP appended at FORWARD's end. */
function iccUp(ipt: (...args: string[]) => void, br: string, icc: boolean): void {
  if (icc) ipt('-I', 'FORWARD', '-i', br, '-o', br, '-j', 'ACCEPT');
  else ipt('-A', 'FORWARD', '-i', br, '-o', br, '-j', 'DROP');
}

/** A bridge network's removal: its clean functions, in the order they were registered. */
export function bridgeNetworkDown(tx: Tx, host: string, net: Network | Draft<Network>): void {
  const ipt = (...args: string[]) => iptables(tx, host, host, ...args);
  const br = net.bridge!;
  const subnet = net.ipam.subnet;
  const { icc, masquerade } = bridgeOptions(net);
  const iccDown = () => ipt('-D', 'FORWARD', '-i', br, '-o', br, '-j', icc ? 'ACCEPT' : 'DROP');
  if (net.internal) {
    ipt('-D', ISOLATION_1, '-i', br, '!', '-d', subnet, '-j', 'DROP');
    ipt('-D', ISOLATION_1, '-o', br, '!', '-s', subnet, '-j', 'DROP');
    iccDown();
    return;
  }
  if (masquerade) {
    ipt('-t', 'nat', '-D', 'POSTROUTING', '-s', subnet, '!', '-o', br, '-j', 'MASQUERADE');
    ipt('-t', 'nat', '-D', DOCKER, '-i', br, '-j', 'RETURN');
  }
  iccDown();
  ipt('-D', 'FORWARD', '-i', br, '!', '-o', br, '-j', 'ACCEPT');
  ipt('-D', 'FORWARD', '-o', br, '-j', DOCKER);
  ipt('-D', 'FORWARD', '-o', br, '-m', 'conntrack', '--ctstate', 'RELATED,ESTABLISHED', '-j', 'ACCEPT');
  ipt('-t', 'filter', '-D', ISOLATION_1, '-i', br, '!', '-o', br, '-j', ISOLATION_2);
  ipt('-t', 'filter', '-D', ISOLATION_2, '-o', br, '-j', 'DROP');
}

/**
 * The embedded DNS's rules in a sandbox (reexecSetupResolver): its two chains and their
 * jumps, then queries to 127.0.0.11:53 DNATed to the resolver's UDP and TCP sockets and
 * their answers SNATed back to port 53; each rule inserted on top, so TCP's come first.
 */
export function embeddedDnsRules(tx: Tx, host: string, sandbox: string, ports: { udp: number; tcp: number }): void {
  const ipt = (...args: string[]) => iptables(tx, host, sandbox, ...args);
  ipt('-t', 'nat', '-N', DNS_OUTPUT);
  ipt('-t', 'nat', '-I', 'OUTPUT', '-d', RESOLVER_IP, '-j', DNS_OUTPUT);
  ipt('-t', 'nat', '-N', DNS_POSTROUTING);
  ipt('-t', 'nat', '-I', 'POSTROUTING', '-d', RESOLVER_IP, '-j', DNS_POSTROUTING);
  for (const proto of ['udp', 'tcp'] as const) {
    ipt('-t', 'nat', '-I', DNS_OUTPUT, '-d', RESOLVER_IP, '-p', proto, '--dport', '53', '-j', 'DNAT', '--to-destination', `${RESOLVER_IP}:${ports[proto]}`);
    ipt('-t', 'nat', '-I', DNS_POSTROUTING, '-s', RESOLVER_IP, '-p', proto, '--sport', String(ports[proto]), '-j', 'SNAT', '--to-source', ':53');
  }
}

/**
 * One port mapping's rules (libnetwork v20.10 iptables.ChainInfo.Forward, through the port
 * mapper's Append or Delete): the DNAT of the host's port to the container's in nat DOCKER,
 * for traffic that did not come from the bridge itself (hairpin mode is off with the userland
 * proxy); its accept in filter DOCKER (FORWARD's policy is DROP); the container reaching
 * itself through the host's port masqueraded. 0.0.0.0 is written `0/0`, as Forward writes it.
 * Each goes through ProgramRule, which appends a rule only if it is not there and deletes it
 * only if it is: the accept and the masquerade name the container's side alone, so two
 * mappings to one container port share them; `containerRules` says they are this mapping's
 * to add or delete (the caller knows which mappings of the container hold them).
 */
export function portMappingRules(tx: Tx, host: string, p: { proto: string; hostIp: string; hostPort: number; containerIp: string; containerPort: number; bridge: string }, action: '-A' | '-D', containerRules: boolean): void {
  const ipt = (...args: string[]) => iptables(tx, host, host, ...args);
  const daddr = p.hostIp === '0.0.0.0' ? '0/0' : p.hostIp;
  const dport = String(p.containerPort);
  ipt('-t', 'nat', action, DOCKER, '-p', p.proto, '-d', daddr, '--dport', String(p.hostPort), '-j', 'DNAT', '--to-destination', `${p.containerIp}:${dport}`, '!', '-i', p.bridge);
  if (!containerRules) return;
  ipt('-t', 'filter', action, DOCKER, '!', '-i', p.bridge, '-o', p.bridge, '-p', p.proto, '-d', p.containerIp, '--dport', dport, '-j', 'ACCEPT');
  ipt('-t', 'nat', action, 'POSTROUTING', '-p', p.proto, '-s', p.containerIp, '-d', p.containerIp, '--dport', dport, '-j', 'MASQUERADE');
}
