/**
 * Why the real kernel dropped a packet, when a firewall rule did: the counters of the rules
 * that drop (DROP, REJECT, a DROP policy), read with `iptables-save -c` in each namespace
 * along the path before and after a ping. A counter that grew names the rule.
 */
import { run } from './exec';

/** Per namespace: the dropping rules' packet counters, keyed by table, chain and rule text. */
export type DropCounters = Map<string, Map<string, number>>;

export async function dropCounters(namespaces: string[]): Promise<DropCounters> {
  const out: DropCounters = new Map();
  await Promise.all(namespaces.map(async (ns) => {
    const r = await run('ip', ['netns', 'exec', ns, 'iptables-save', '-c']);
    if (r.exitCode === 0) out.set(ns, parseDropCounters(r.stdout));
  }));
  return out;
}

/** `[p:b] -A CHAIN … -j DROP|REJECT` and `:CHAIN DROP [p:b]` lines, by "table CHAIN: rule". */
export function parseDropCounters(save: string): Map<string, number> {
  const counters = new Map<string, number>();
  let table = '';
  for (const line of save.split('\n')) {
    if (line.startsWith('*')) table = line.slice(1);
    const policy = /^:(\S+) DROP \[(\d+):\d+\]$/.exec(line);
    if (policy) counters.set(`${table} ${policy[1]}: policy DROP`, Number(policy[2]));
    const rule = /^\[(\d+):\d+\] -A (\S+) (.*-j (?:DROP|REJECT)\b.*)$/.exec(line);
    if (rule) counters.set(`${table} ${rule[2]}: ${rule[3]}`, Number(rule[1]));
  }
  return counters;
}

/** The first dropping rule whose counter grew, per namespace: "CHAIN: rule". */
export function grownDrops(before: DropCounters, after: DropCounters): Map<string, string> {
  const found = new Map<string, string>();
  for (const [ns, counters] of after) {
    for (const [key, n] of counters) {
      if (n > (before.get(ns)?.get(key) ?? 0) && !found.has(ns)) found.set(ns, key.replace(/^\S+ /, ''));
    }
  }
  return found;
}
