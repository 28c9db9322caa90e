/**
 * `docker run --sysctl KEY=VALUE`: docker/cli v20.10's reading of it (opts.ValidateSysctl
 * through a MapOpts, cli/command/container/opts.go) and the keys cnmlab models. runc writes
 * them in the container's network namespace as it starts the container, after libnetwork's
 * hook has moved eth0 in (moby v20.10 daemon/oci_linux.go WithSysctls puts them in the OCI
 * spec as HostConfig.Sysctls holds them).
 */
import { DockerError, notModelledError } from './errors';

/** ValidateSysctl's list: the IPC keys it names, and the prefixes of the namespaced ones. */
const VALID_SYSCTLS = ['kernel.msgmax', 'kernel.msgmnb', 'kernel.msgmni', 'kernel.sem', 'kernel.shmall', 'kernel.shmmax', 'kernel.shmmni', 'kernel.shm_rmid_forced'];
const VALID_SYSCTL_PREFIXES = ['net.', 'fs.mqueue.'];

/**
 * The --sysctl values in the order typed, as MapOpts keeps them (HostConfig.Sysctls): each
 * must have an `=` and a key ValidateSysctl lets through, or pflag refuses the flag; the key
 * is what comes before the first `=`, and a key typed again takes the later value.
 */
export function parseSysctls(values: readonly string[]): Record<string, string> {
  const sysctls: Record<string, string> = {};
  for (const v of values) {
    const parts = v.split('=');
    if (parts.length < 2 || !(VALID_SYSCTLS.includes(parts[0]) || VALID_SYSCTL_PREFIXES.some((p) => parts[0].startsWith(p)))) {
      throw new DockerError(`invalid argument "${v}" for "--sysctl" flag: sysctl '${v}' is not whitelisted\nSee 'docker run --help'.`, 125);
    }
    const eq = v.indexOf('=');
    sysctls[v.slice(0, eq)] = v.slice(eq + 1);
  }
  return sysctls;
}

/** The all-devices forwarding switch, under either of its names (the kernel's ip_forward is conf.all.forwarding). */
const ALL_FORWARDING = ['net.ipv4.ip_forward', 'net.ipv4.conf.all.forwarding'];

/**
 * The keys the sim kernel has in a container's namespace and runc's writes make the same
 * there in both modes: IPv4 forwarding for all devices, for devices made later (default:
 * eth0 is already in, so it changes none of them), or for lo, or for eth0 when the container
 * has one, each 0 or 1. Not modelled: any other key or value; and the all-devices switch with
 * another forwarding key, whose outcome depends on the order runc writes them in (Go's map
 * order, which varies).
 */
export function refuseUnmodelledSysctls(sysctls: Record<string, string>, hasEth0: boolean): void {
  const devices = hasEth0 ? ['lo', 'eth0'] : ['lo'];
  const forwarding = (key: string) => ALL_FORWARDING.includes(key) || ['default', ...devices].some((d) => key === `net.ipv4.conf.${d}.forwarding`);
  for (const [key, value] of Object.entries(sysctls)) {
    if (!forwarding(key)) throw notModelledError(`docker run --sysctl ${key}=${value}: a key other than net.ipv4.ip_forward and net.ipv4.conf.{all,default,lo,eth0}.forwarding`);
    if (value !== '0' && value !== '1') throw notModelledError(`docker run --sysctl ${key}=${value}: a value other than 0 or 1`);
  }
  const keys = Object.keys(sysctls);
  const all = keys.filter((k) => ALL_FORWARDING.includes(k));
  if (all.length > 0 && keys.length > 1 && !(keys.length === all.length && all.every((k) => sysctls[k] === sysctls[all[0]]))) {
    throw notModelledError(`docker run ${keys.map((k) => `--sysctl ${k}=${sysctls[k]}`).join(' ')}: the all-devices forwarding switch with other forwarding keys (runc writes them in Go's map order)`);
  }
}

/**
 * A container in its host's namespace (--network host) may not set a net.* key: moby passes
 * the default sandbox's path as the network namespace, and runc's validator finds it is its
 * own (runc v1.1 libcontainer/configs/validate sysctl, isHostNetNS), so containerd fails to
 * create the task. runc names the first net.* key of Go's map, whose order varies: with two,
 * which one it names is not modelled. The IPC keys it lets through before (the container has
 * an IPC namespace of its own) change nothing, as the start fails.
 */
export function hostNetnsSysctl(sysctls: Record<string, string>): string | undefined {
  const net = Object.keys(sysctls).filter((k) => k.startsWith('net.'));
  if (net.length > 1) throw notModelledError(`docker run --network host ${net.map((k) => `--sysctl ${k}=${sysctls[k]}`).join(' ')}: which key runc names as it refuses them (Go's map order)`);
  return net[0];
}
