/**
 * net/ipv4/devinet.c, as far as forwarding goes: a namespace's IPv4 device settings
 * (ipv4_devconf) for all, default and each device, and what a write of the forwarding
 * switch does (devinet_sysctl_forward). net.ipv4.ip_forward is conf.all.forwarding under
 * another name. Measured in namespaces (Linux 6.18): a write to all (or ip_forward) that
 * changes the value sets default and every device to it (inet_forward_change); a write of
 * the same value changes nothing; default only reaches devices made (or moved in) later;
 * a device's own switch changes only that device.
 */
import type { SimLink, SimNetns } from '../../objects';

/** The forwarding switches a name under net.ipv4 can address. */
export type ForwardingScope = { all: true } | { default: true } | { dev: SimLink };

/**
 * The switch a /proc/sys/net key names (its dotted parts): net.ipv4.ip_forward or
 * net.ipv4.conf.{all,default,DEV}.forwarding; 'missing' for a device the namespace does
 * not have (no such file); undefined for any other key.
 */
export function forwardingScope(ns: SimNetns, parts: string[]): ForwardingScope | 'missing' | undefined {
  if (parts.length === 3 && parts[0] === 'net' && parts[1] === 'ipv4' && parts[2] === 'ip_forward') return { all: true };
  if (parts.length !== 5 || parts[0] !== 'net' || parts[1] !== 'ipv4' || parts[2] !== 'conf' || parts[4] !== 'forwarding') return undefined;
  if (parts[3] === 'all') return { all: true };
  if (parts[3] === 'default') return { default: true };
  const dev = ns.links.get(parts[3]);
  return dev ? { dev } : 'missing';
}

export function readForwarding(ns: SimNetns, scope: ForwardingScope): number {
  if ('all' in scope) return ns.ipv4Forwarding.all;
  if ('default' in scope) return ns.ipv4Forwarding.default;
  return scope.dev.ipv4Forwarding;
}

/** devinet_sysctl_forward: a write of one forwarding switch. */
export function writeForwarding(ns: SimNetns, scope: ForwardingScope, value: number): void {
  if ('dev' in scope) {
    scope.dev.ipv4Forwarding = value;
    return;
  }
  if ('default' in scope) {
    ns.ipv4Forwarding.default = value;
    return;
  }
  if (ns.ipv4Forwarding.all === value) return;
  // inet_forward_change: the new value reaches default and every device of the namespace.
  ns.ipv4Forwarding.all = value;
  ns.ipv4Forwarding.default = value;
  for (const l of ns.links.values()) l.ipv4Forwarding = value;
}

/** IN_DEV_FORWARD: whether a datagram that arrived on `dev` for another host may be forwarded. */
export function devForwards(dev: SimLink): boolean {
  return dev.ipv4Forwarding !== 0;
}
