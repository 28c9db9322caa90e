/**
 * What a namespace's kernel holds that a step's own command may change (`ip link set`, `ip
 * route add`, `iptables -A`, `tc qdisc`, `sysctl -w`): its devices with their state, MTU,
 * address, master, queueing discipline, addresses and forwarding; its routes; its tables;
 * its sysctls. One text, so that `cnmlab explain` tells a command that succeeded and changed
 * the kernel from one that succeeded and left it as it was (`ip link set eth0 up` on a device
 * already up). Counters and timers are no part of it: they move without any command.
 * A pure read: the tables are read as they stand (savedTables), the engine's deferred
 * commands left for whatever reads the tables to run.
 */
import type { SimNetns } from './objects';
import { savedTables } from './iptables';
import { qdiscLine } from './tc';

export function namespaceState(ns: SimNetns): string {
  const links = [...ns.links.values()].map((l) => JSON.stringify([l.name, l.type, l.up, l.mtu, l.mac, l.master?.name, l.addrs, l.ipv4Forwarding, qdiscLine(l, true) ?? '']));
  const tables = savedTables(ns, undefined, false, '');
  const sysctls = JSON.stringify([ns.ipv4Forwarding, ns.ipv6Disabled, ns.bridgeNfCallIptables]);
  return [...links, JSON.stringify(ns.routes), tables, sysctls].join('\n');
}
