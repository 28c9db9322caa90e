/**
 * `cnmlab explain`'s commands as a shell script that makes the plan's kernel objects one
 * program per operation, in plan order, exactly as printed (devices made in the host
 * namespace and moved, as libnetwork does), under a prefix of its own: the kernel numbers
 * everything itself. The emu fidelity test compares emu's kernel objects with it; the emu
 * bench times emu against it.
 */
import { NameMap, newPrefix } from '../../emu/names';
import { UNDERLAY } from '../../sim/plan/iproute2';

export interface ExplainScript {
  names: NameMap;
  /** The commands, one a line. */
  lines: string[];
  /** Every namespace the script makes, in order. */
  namespaces: string[];
}

/** `prefix` names the script's namespaces; by default a fresh one as emu draws them. */
export function explainScript(explained: string, prefix = newPrefix()): ExplainScript {
  const names = new NameMap(prefix);
  // A host's group names its own namespace by the host's name; the underlay's cable names the host it plugs in.
  const real = (group: string, ns: string) => (group === UNDERLAY ? (ns === UNDERLAY ? names.underlay : names.netns(ns, ns)) : names.netns(group, ns));
  const lines: string[] = [];
  const namespaces: string[] = [];
  let group = '';
  for (const raw of explained.split('\n')) {
    const line = raw.trim();
    const header = /^\[(\S+)\]$/.exec(line);
    if (header) {
      group = header[1];
      continue;
    }
    if (!line || line.startsWith('#') || line.startsWith('(')) continue;
    const mayFail = line.endsWith(' || true');
    const w = line.replace(/ \|\| true$/, '').split(' ');
    const tool = w.shift()!;
    if (tool === 'etcdctl') throw new Error('explainScript: a plan with etcdctl needs the run\'s etcd');
    let command: string[];
    if (tool === 'ip' && w[0] === 'netns') {
      // ip netns add|del|exec NS …
      const ns = real(group, w[2]);
      if (w[1] === 'add') namespaces.push(ns);
      command = ['ip', 'netns', w[1], ns, ...w.slice(3)];
    } else if (tool === 'iptables') {
      command = ['ip', 'netns', 'exec', real(group, group), 'iptables', ...w];
    } else {
      const ns = w[0] === '-n' ? w.splice(0, 2)[1] : group;
      const to = w.indexOf('netns');
      if (to >= 0) w[to + 1] = real(group, w[to + 1]);
      command = [tool, '-n', real(group, ns), ...w];
    }
    lines.push(`${command.join(' ')}${mayFail ? ' || true' : ''}`);
  }
  return { names, lines, namespaces };
}
