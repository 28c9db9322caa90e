/** What emu needs on the machine: root, iproute2, tcpdump, ping. */
import * as fs from 'fs';
import * as path from 'path';
import { PrerequisiteError } from '../sim/errors';

export const EMU_TOOLS = ['ip', 'bridge', 'tcpdump', 'ping'];

/** Whether `cmd` is an executable file in PATH (with the sbin folders root's tools live in), as `command -v` finds it, without a shell to ask. */
export function onPath(cmd: string): boolean {
  const dirs = `${process.env.PATH ?? ''}:/usr/sbin:/sbin`.split(':').filter((d) => d !== '');
  return dirs.some((d) => {
    try {
      const file = path.join(d, cmd);
      fs.accessSync(file, fs.constants.X_OK);
      return fs.statSync(file).isFile();
    } catch {
      return false;
    }
  });
}

let busyboxChecked = false;

/**
 * A busybox or alpine container's commands run Debian's busybox (sim/commands/family.ts):
 * needed only once such a container runs one, so asked then.
 */
export function checkBusybox(): void {
  if (busyboxChecked) return;
  if (!onPath('busybox')) throw new PrerequisiteError("--mode emu runs a busybox or alpine container's commands with busybox (Debian: apt-get install busybox)");
  busyboxChecked = true;
}

/** Throws a one-line PrerequisiteError naming what is missing. */
export function checkEmuPrerequisites(): void {
  if (process.getuid?.() !== 0) throw new PrerequisiteError('--mode emu needs root (network namespaces, veth, bridge and vxlan devices); run it with sudo');
  const missing = EMU_TOOLS.filter((t) => !onPath(t));
  if (missing.length) {
    throw new PrerequisiteError(`--mode emu needs ${missing.join(', ')} (Debian: apt-get install iproute2 tcpdump iputils-ping)`);
  }
}
