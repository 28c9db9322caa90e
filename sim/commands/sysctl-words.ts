/**
 * What procps-ng's sysctl is asked that cnmlab does not model: the options that list, load
 * or match keys, and any key but the few the sim kernel has. sim's sysctl (kernel/sysctl.ts)
 * refuses them with its own `cnmlab: … not modelled` line; the registry refuses the same
 * lines before either mode runs (sysctlNotModelled), so emu never runs the real sysctl on them.
 */

/** Long options that list, load or match keys. */
export const SYSCTL_NOT_MODELLED_LONG = ['--all', '--deprecated', '--dry-run', '--binary', '--load', '--system', '--pattern'];
/** Their short forms and aliases (-A, -X of -a; -f of -p). */
export const SYSCTL_NOT_MODELLED_SHORT = ['a', 'A', 'X', 'b', 'p', 'f', 'r'];
/** The long options sim answers. */
const LONG_MODELLED = ['--write', '--values', '--names', '--quiet', '--ignore'];
/** The short options sim answers that let the line go on (-h, -d and -V end it with the usage or version). */
const SHORT_MODELLED = ['w', 'n', 'N', 'q', 'e', 'o', 'x'];

/** A key as procps reads it: split at '/' if it has one, else at '.'. */
export const sysctlKeyParts = (name: string): string[] => (name.includes('/') ? name.split('/') : name.split('.'));

/** Whether the sim kernel has the key (a DEVICE's forwarding whether or not the device exists: a missing one is procps' to report). */
export function sysctlKeyModelled(parts: readonly string[]): boolean {
  const key = parts.join('.');
  return key === 'net.ipv4.ip_forward' || key === 'net.bridge.bridge-nf-call-iptables' || /^net\.ipv6\.conf\.(all|default)\.disable_ipv6$/.test(key)
    || (parts.length === 5 && parts[0] === 'net' && parts[1] === 'ipv4' && parts[2] === 'conf' && parts[3] !== '' && parts[4] === 'forwarding');
}

/** Whether BusyBox's sysctl is asked a key the sim kernel has: it reads both '.' and '/' as separators, in any mix. */
export function busyboxSysctlOperandModelled(operand: string): boolean {
  const eq = operand.indexOf('=');
  const parts = (eq < 0 ? operand : operand.slice(0, eq)).split(/[./]/);
  return parts.every((p) => p !== '') && sysctlKeyModelled(parts);
}

/** Whether a modelled key may be written (disable_ipv6's write would also take addresses away, which is not modelled). */
export const sysctlKeyWritable = (parts: readonly string[]): boolean => !/^net\.ipv6\./.test(parts.join('.'));

/**
 * Whether sim's sysctl refuses `args` as not modelled, read as it reads them: its options in
 * order (help, version or an unknown option answer first), then each operand; `readOnly`
 * when /proc/sys is read-only to it (a container's), where a write is refused by the kernel
 * before the key's writability is asked.
 */
export function sysctlNotModelled(args: readonly string[], readOnly: boolean): boolean {
  let write = false;
  const operands: string[] = [];
  for (const a of args) {
    if (a.startsWith('--')) {
      if (SYSCTL_NOT_MODELLED_LONG.includes(a) || /^--(load|pattern)=/.test(a)) return true;
      if (!LONG_MODELLED.includes(a)) return false;
      write ||= a === '--write';
    } else if (a.startsWith('-') && a.length > 1) {
      for (const c of a.slice(1)) {
        if (SYSCTL_NOT_MODELLED_SHORT.includes(c)) return true;
        if (!SHORT_MODELLED.includes(c)) return false;
        write ||= c === 'w';
      }
    } else operands.push(a);
  }
  return operands.some((operand) => {
    const eq = operand.indexOf('=');
    if (eq < 0 && write) return false;
    const parts = sysctlKeyParts(eq < 0 ? operand : operand.slice(0, eq));
    if (parts.length < 2 || parts.some((p) => p === '') || !sysctlKeyModelled(parts)) return true;
    return eq >= 0 && !readOnly && !sysctlKeyWritable(parts);
  });
}
