/**
 * What a scenario needs of this machine beyond emu's own tools, checked before a run starts:
 * programs (etcd for a control plane's store) and kernel features (a device kind the
 * kernel may lack, probed by making one in a scratch namespace). A missing one is refused
 * in one line naming it, exit 2, before any namespace of the run exists.
 */
import { execFileSync } from 'child_process';
import { randomBytes } from 'crypto';
import { PrerequisiteError } from '../sim/errors';
import { Scenario } from '../sim/scenario/schema';

/** The words a step's command begins with that put the cluster store to use. */
const STORE_USERS = /^(sudo\s+)?(etcdctl|flanneld)\b/;

/** A device kind and the `ip link add … type` words that make one. */
interface KernelFeature {
  name: string;
  config: string;
  linkArgs: string[];
}

const VXLAN: KernelFeature = { name: 'vxlan', config: 'CONFIG_VXLAN', linkArgs: ['vxlan', 'id', '1', 'dstport', '8472'] };

/** The programs and kernel features the scenario's steps call for. */
export function scenarioNeeds(s: Scenario): { programs: string[]; features: KernelFeature[] } {
  const usesStore = s.steps.some((st) => STORE_USERS.test(st.command.trim()));
  const usesFlannelVxlan = s.steps.some((st) => /etcdctl\s+(put|set)\s+\S*\/config\b.*"Type"\s*:\s*"vxlan"/.test(st.command));
  return { programs: usesStore ? ['etcd', 'etcdctl'] : [], features: usesFlannelVxlan ? [VXLAN] : [] };
}

function hasProgram(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', 'command -v "$1"', 'sh', cmd], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Whether the kernel makes a device of this kind: one made and dropped in a scratch namespace of our own. */
function kernelHas(f: KernelFeature): boolean {
  const ns = `cnmprobe${randomBytes(3).toString('hex')}`;
  try {
    execFileSync('ip', ['netns', 'add', ns], { stdio: 'ignore' });
    execFileSync('ip', ['-n', ns, 'link', 'add', 'probe0', 'type', ...f.linkArgs], { stdio: 'ignore' });
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
  if (missing.length) throw new PrerequisiteError(`${s.file}: --mode emu needs ${missing.join(', ')} for the cluster store (Debian: apt-get install etcd-server etcd-client)`);
  for (const f of features) {
    if (!kernelHas(f)) throw new PrerequisiteError(`${s.file}: --mode emu needs the kernel's ${f.name} devices (${f.config}), which this kernel cannot make`);
  }
}
