/**
 * A container's capabilities as far as the kernel's answers depend on them. Docker 20.10
 * starts a container with its default set (oci/caps/defaults.go: CHOWN, DAC_OVERRIDE, FSETID,
 * FOWNER, MKNOD, NET_RAW, SETGID, SETUID, SETFCAP, SETPCAP, NET_BIND_SERVICE, SYS_CHROOT,
 * KILL, AUDIT_WRITE), which has no CAP_NET_ADMIN: rtnetlink and nfnetlink refuse its changes
 * (a route, a link's state, a qdisc, a device) and iptables cannot read its tables. `docker run
 * --cap-add NET_ADMIN` adds it; cnmlab models that capability alone (--privileged and any
 * other capability are refused as not modelled).
 */
import { Container } from './world';

/** The one capability `--cap-add` is modelled for, as Docker normalises a name (caps.NormalizeLegacyCapabilities: upper case, CAP_ prefixed). */
const NET_ADMIN = 'CAP_NET_ADMIN';

/** A `--cap-add` value as Docker reads it: `net_admin`, `NET_ADMIN` and `CAP_NET_ADMIN` are one capability. */
export function normalisedCapability(name: string): string {
  const upper = name.toUpperCase();
  return upper.startsWith('CAP_') ? upper : `CAP_${upper}`;
}

/** Whether cnmlab models the capability `--cap-add` names. */
export function capabilityModelled(name: string): boolean {
  return normalisedCapability(name) === NET_ADMIN;
}

/** Whether the container's processes hold CAP_NET_ADMIN (run with --cap-add NET_ADMIN). */
export function holdsNetAdmin(c: Container): boolean {
  return (c.capAdd ?? []).some((name) => normalisedCapability(name) === NET_ADMIN);
}
