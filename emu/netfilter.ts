/**
 * Why the real kernel dropped a packet, when a firewall rule did: the counters of the rules
 * that drop (DROP, REJECT, a DROP policy), read with `iptables-save -c` in each namespace
 * along the path before and after a ping. A counter that grew names the rule.
 */
import { runInNamespaces } from './nsworker';

/** Per namespace: the dropping rules' packet counters, keyed by table, chain and rule text. */
export type DropCounters = Map<string, Map<string, number>>;

/** Read through the namespace worker (nsworker.ts): a fork of a small Perl per namespace, not of cnmlab's Node. */
export async function dropCounters(namespaces: string[]): Promise<DropCounters> {
  const out: DropCounters = new Map();
  const saved = await runInNamespaces(namespaces.map((netns) => ({ netns, program: ['iptables-save', '-c'] })));
  saved.forEach((r, i) => {
    if (r.code === 0) out.set(namespaces[i], parseDropCounters(r.output));
  });
  return out;
}

/**
 * `[p:b] -A CHAIN … -j DROP|REJECT` and `:CHAIN DROP [p:b]` lines, by "table CHAIN: rule".
 * A rule in a user chain is named as the sim names it, after the built-in chain (the hook)
 * that jumps to it first: "FORWARD → DOCKER-USER: …".
 */
export function parseDropCounters(save: string): Map<string, number> {
  const counters = new Map<string, number>();
  for (const table of save.split(/^(?=\*)/m)) {
    const name = /^\*(\S+)/.exec(table)?.[1] ?? '';
    const lines = table.split('\n');
    const builtins = new Set(lines.flatMap((l) => /^:(\S+) (?!-)\S+ \[/.exec(l)?.[1] ?? []));
    // The chain that first jumps to each user chain.
    const caller = new Map<string, string>();
    for (const l of lines) {
      const jump = /^(?:\[\d+:\d+\] )?-A (\S+) .*-j (\S+)/.exec(l);
      if (jump && !caller.has(jump[2])) caller.set(jump[2], jump[1]);
    }
    const hookOf = (chain: string): string | undefined => {
      for (let c: string | undefined = chain, seen = 0; c !== undefined && seen < 64; c = caller.get(c), seen++) if (builtins.has(c)) return c;
      return undefined;
    };
    for (const line of lines) {
      const policy = /^:(\S+) DROP \[(\d+):\d+\]$/.exec(line);
      if (policy) counters.set(`${name} ${policy[1]}: policy DROP`, Number(policy[2]));
      const rule = /^\[(\d+):\d+\] -A (\S+) (.*-j (?:DROP|REJECT)\b.*)$/.exec(line);
      if (!rule) continue;
      const hook = hookOf(rule[2]);
      const chain = hook === undefined || hook === rule[2] ? rule[2] : `${hook} → ${rule[2]}`;
      counters.set(`${name} ${chain}: ${rule[3]}`, Number(rule[1]));
    }
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
