/**
 * A container's /etc/resolv.conf when no embedded DNS serves it (docker0's containers,
 * `--network none`'s), as libnetwork v20.10 writes it: its resolvconf package
 * (resolvconf/resolvconf.go FilterResolvDNS) applied by the sandbox (sandbox_dns_unix.go).
 *
 * setupDNS, as the sandbox is made, reads the host's file (resolvconf.Path(); a missing
 * file counts as empty) and filters it with IPv6 taken as enabled ("at this point we have no
 * info about ipv6"); each network the sandbox joins filters the result again with that
 * network's EnableIPv6 (updateDNS, from sbJoin). A network with the embedded DNS then
 * replaces the file with the resolver's own (sandbox.ts RESOLV_CONF_EMBEDDED, rebuildDNS).
 *
 * The lab's hosts have no /etc/resolv.conf (etc.ts; emu's view of a host has none either),
 * and no network here has IPv6: so such a container gets Google's two IPv4 servers, after
 * the blank line FilterResolvDNS puts before them.
 */

/** dns.IPLocalhost: 127.x.x.x, or ::1 ending the line. */
const LOCALHOST = String.raw`((127\.([0-9]{1,3}\.){2}[0-9]{1,3})|(::1)$)`;
const IPV4_NUM_BLOCK = '(25[0-5]|2[0-4][0-9]|[01]?[0-9][0-9]?)';
const IPV4_ADDRESS = String.raw`(${IPV4_NUM_BLOCK}\.){3}${IPV4_NUM_BLOCK}`;
/** A superset of IPv6 addresses, as libnetwork's own regexp says of itself. */
const IPV6_ADDRESS = String.raw`([0-9A-Fa-f]{0,4}:){2,7}([0-9A-Fa-f]{0,4})(%\w+)?`;

const LOCALHOST_NS = new RegExp(String.raw`^nameserver\s+${LOCALHOST}\s*\n*`, 'gm');
const IPV6_NS = new RegExp(String.raw`^nameserver\s+${IPV6_ADDRESS}\s*\n*`, 'gm');
const ANY_NS = new RegExp(String.raw`^\s*nameserver\s*((${IPV4_ADDRESS})|(${IPV6_ADDRESS}))\s*$`);

/** Google's Public DNS, libnetwork's defaultIPv4Dns and defaultIPv6Dns. */
const DEFAULT_IPV4_DNS = ['nameserver 8.8.8.8', 'nameserver 8.8.4.4'];
const DEFAULT_IPV6_DNS = ['nameserver 2001:4860:4860::8888', 'nameserver 2001:4860:4860::8844'];

/** GetNameservers(content, types.IP): each line's address, comments (from `#`) cut off first. */
export function nameservers(content: string): string[] {
  return content.split('\n').flatMap((line) => {
    const m = ANY_NS.exec(line.split('#')[0]);
    return m ? [m[1]] : [];
  });
}

/**
 * FilterResolvDNS: localhost nameservers removed, IPv6 ones too unless IPv6 is enabled, and
 * when none is left Google's appended after a newline (IPv6's too when enabled).
 */
export function filterResolvDns(content: string, ipv6Enabled: boolean): string {
  let cleaned = content.replace(LOCALHOST_NS, '');
  if (!ipv6Enabled) cleaned = cleaned.replace(IPV6_NS, '');
  if (nameservers(cleaned).length === 0) cleaned += '\n' + [...DEFAULT_IPV4_DNS, ...(ipv6Enabled ? DEFAULT_IPV6_DNS : [])].join('\n');
  return cleaned;
}

/**
 * The file a sandbox without the embedded DNS keeps: setupDNS's from the host's (undefined:
 * the host has none), filtered again as it joins its network (updateDNS), whose EnableIPv6
 * is off (IPv6 on Docker's networks is not modelled).
 */
export function sandboxResolvConf(hostFile: string | undefined): string {
  return filterResolvDns(filterResolvDns(hostFile ?? '', true), false);
}
