/**
 * What a scenario needs of this machine beyond emu's own tools, checked before a run starts:
 * programs (etcd for a control plane's store) and kernel features (a device kind the
 * kernel may lack, probed by making one in a scratch namespace), as its drivers' `needs` say,
 * each with its Debian package. A missing one is refused in one line naming it, exit 2,
 * before any namespace of the run exists.
 */
import { execFileSync } from 'child_process';
import { randomBytes } from 'crypto';
import { KernelFeatureMissing, PrerequisiteError } from '../sim/errors';
import { Scenario } from '../sim/scenario/schema';
import { machineNeeds } from '../sim/model/drivers';
import type { KernelFeature, MachineNeeds } from '../sim/model/drivers/driver';

/** The programs and kernel features the scenario's steps call for, as its drivers say (the cluster store's among them). */
function scenarioMachineNeeds(s: Scenario): MachineNeeds {
  return machineNeeds(s.steps.map((st) => st.command));
}

/** The programs (by name) and kernel features the scenario's steps call for. */
export function scenarioNeeds(s: Scenario): { programs: string[]; features: KernelFeature[] } {
  const needs = scenarioMachineNeeds(s);
  return { programs: needs.programs.map((p) => p.name), features: needs.kernel };
}

function hasProgram(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', 'command -v "$1"', 'sh', cmd], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Whether the kernel has the feature: its generic netlink family, or its probe's devices made (and dropped with it) in a scratch namespace of our own. */
export function kernelHas(f: KernelFeature): boolean {
  if (f.genlFamily) {
    try {
      execFileSync('genl', ['ctrl', 'get', 'name', f.genlFamily], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  }
  const ns = `cnmprobe${randomBytes(3).toString('hex')}`;
  try {
    execFileSync('ip', ['netns', 'add', ns], { stdio: 'ignore' });
    for (const argv of f.probe ?? []) execFileSync('ip', ['-n', ns, ...argv], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  } finally {
    try {
      execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
    } catch {
      // never made
    }
  }
}

/** Throws a one-line PrerequisiteError for the first thing the scenario needs that the machine lacks. */
export function checkScenarioNeeds(s: Scenario): void {
  const { programs, kernel } = scenarioMachineNeeds(s);
  const missing = programs.filter((p) => !hasProgram(p.name));
  const neededFor = new Set(missing.map((p) => p.neededFor));
  const [why] = neededFor.size === 1 ? [...neededFor] : [];
  if (missing.length) throw new PrerequisiteError(`${s.file}: --mode emu needs ${missing.map((p) => p.name).join(', ')}${why ? ` for ${why}` : ''} (Debian: apt-get install ${[...new Set(missing.map((p) => p.debianPackage))].join(' ')})`);
  for (const f of kernel) {
    // A fact about this machine, not about the scenario: verify reports the emu run skipped.
    if (!kernelHas(f)) throw new KernelFeatureMissing(`${s.file}: --mode emu needs the kernel's ${f.what} (${f.config}), which this kernel cannot make; the scenario runs in sim only here`);
  }
}
