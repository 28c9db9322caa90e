/** What emu needs on the machine: root, iproute2, tcpdump, ping. */
import { execFileSync } from 'child_process';
import { PrerequisiteError } from '../sim/errors';

export const EMU_TOOLS = ['ip', 'bridge', 'tcpdump', 'ping'];

function has(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', 'command -v "$1"', 'sh', cmd], { stdio: 'ignore', env: { ...process.env, PATH: `${process.env.PATH ?? ''}:/usr/sbin:/sbin` } });
    return true;
  } catch {
    return false;
  }
}

let busyboxChecked = false;

/**
 * A busybox or alpine container's commands run Debian's busybox (sim/commands/family.ts):
 * needed only once such a container runs one, so asked then.
 */
export function checkBusybox(): void {
  if (busyboxChecked) return;
  if (!has('busybox')) throw new PrerequisiteError("--mode emu runs a busybox or alpine container's commands with busybox (Debian: apt-get install busybox)");
  busyboxChecked = true;
}

/** Throws a one-line PrerequisiteError naming what is missing. */
export function checkEmuPrerequisites(): void {
  if (process.getuid?.() !== 0) throw new PrerequisiteError('--mode emu needs root (network namespaces, veth, bridge and vxlan devices); run it with sudo');
  const missing = EMU_TOOLS.filter((t) => !has(t));
  if (missing.length) {
    throw new PrerequisiteError(`--mode emu needs ${missing.join(', ')} (Debian: apt-get install iproute2 tcpdump iputils-ping)`);
  }
}
