/**
 * What a scenario needs of this machine beyond emu's own tools, checked before a run starts:
 * programs (etcd for a control plane's store) and kernel features (a device kind the
 * kernel may lack, probed by making one in a scratch namespace). A missing one is refused
 * in one line naming it, exit 2, before any namespace of the run exists.
 */
import { execFileSync } from 'child_process';
import { randomBytes } from 'crypto';
import { KernelFeatureMissing, PrerequisiteError } from '../sim/errors';
import { Scenario } from '../sim/scenario/schema';
import { machineNeeds } from '../sim/model/drivers';
import type { KernelFeature } from '../sim/model/drivers/driver';

/** The words a step's command begins with that put the cluster store to use (a dockerd on a store connects to it: emu's is etcd, whatever its URL's scheme). */
const STORE_USERS = /^(sudo\s+)?(etcdctl|flanneld|dockerd\s.*--cluster-store)\b/;

/** Flannel's vxlan backend (no Docker network driver: its store's config asks for it). */
const VXLAN: KernelFeature = { name: 'vxlan', what: 'vxlan devices', config: 'CONFIG_VXLAN', probe: [['link', 'add', 'probe0', 'type', 'vxlan', 'id', '1', 'dstport', '8472']] };

/** The Debian package of each program a scenario may need. */
const PACKAGES: Record<string, string> = { etcd: 'etcd-server', etcdctl: 'etcd-client', bird: 'bird2', birdc: 'bird2' };

/** The programs and kernel features the scenario's steps call for (the cluster store's, and what its network drivers say). */
export function scenarioNeeds(s: Scenario): { programs: string[]; features: KernelFeature[] } {
  const usesStore = s.steps.some((st) => STORE_USERS.test(st.command.trim()));
  const usesFlannelVxlan = s.steps.some((st) => /etcdctl\s+(put|set)\s+\S*\/config\b.*"Type"\s*:\s*"vxlan"/.test(st.command));
  const drivers = machineNeeds(s.steps.map((st) => st.command));
  return {
    programs: [...(usesStore ? ['etcd', 'etcdctl'] : []), ...drivers.programs],
    features: [...(usesFlannelVxlan ? [VXLAN] : []), ...drivers.kernel],
  };
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
function kernelHas(f: KernelFeature): boolean {
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
  const { programs, features } = scenarioNeeds(s);
  const missing = programs.filter((p) => !hasProgram(p));
  const why = missing.every((p) => p.startsWith('etcd')) ? ' for the cluster store' : '';
  if (missing.length) throw new PrerequisiteError(`${s.file}: --mode emu needs ${missing.join(', ')}${why} (Debian: apt-get install ${[...new Set(missing.map((p) => PACKAGES[p] ?? p))].join(' ')})`);
  for (const f of features) {
    // A fact about this machine, not about the scenario: verify reports the emu run skipped.
    if (!kernelHas(f)) throw new KernelFeatureMissing(`${s.file}: --mode emu needs the kernel's ${f.what} (${f.config}), which this kernel cannot make; the scenario runs in sim only here`);
  }
}
