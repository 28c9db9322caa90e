/**
 * iptables 1.8.9's commands that cnmlab models, by their short and their long option: the one
 * table the sim kernel's iptables reads a command line with (sim/kernel/iptables.ts) and the
 * command registry asks whether a line changes the namespace's tables.
 */
export type IptablesCommand = 'A' | 'I' | 'D' | 'R' | 'F' | 'X' | 'N' | 'P' | 'L' | 'S' | 'Z';

/** Each command by its short and its long option. */
export const IPTABLES_COMMANDS: ReadonlyMap<string, IptablesCommand> = new Map([
  ...(['A', 'I', 'D', 'R', 'F', 'X', 'N', 'P', 'L', 'S', 'Z'] as const).map((c) => [`-${c}`, c] as const),
  ['--append', 'A'], ['--insert', 'I'], ['--delete', 'D'], ['--replace', 'R'], ['--flush', 'F'], ['--delete-chain', 'X'],
  ['--new-chain', 'N'], ['--policy', 'P'], ['--list', 'L'], ['--list-rules', 'S'], ['--zero', 'Z'],
]);

/** The commands that only read a table (-L, -S); every other one changes it. */
const READS_ONLY: ReadonlySet<IptablesCommand> = new Set(['L', 'S']);

/** Does an iptables command line change a table when it succeeds: is one of its words a command other than -L and -S? */
export function iptablesChangesTables(args: string[]): boolean {
  return args.some((a) => {
    const command = IPTABLES_COMMANDS.get(a);
    return command !== undefined && !READS_ONLY.has(command);
  });
}

/** The tables the kernel has that cnmlab does not model (filter and nat it does). */
export const TABLES_NOT_MODELLED = ['mangle', 'raw', 'security'];

/** The matches (-m) sim's iptables models. */
export const MATCHES_MODELLED = ['tcp', 'udp', 'icmp', 'state', 'conntrack', 'statistic', 'addrtype', 'mark', 'comment'] as const;
export type ModelledMatch = (typeof MATCHES_MODELLED)[number];

/**
 * Why cnmlab does not model an iptables line (the line that says so, as sim's iptables prints
 * it), or undefined: a table it does not model, a match it does not model, statistic's mode
 * other than random, addrtype's destination type other than LOCAL (a match's option counts
 * once its match is named). Words alone decide, before the rest of the line is read and
 * whatever the capabilities: sim's iptables asks this first (kernel/iptables.ts), and the
 * registry refuses the same lines before either mode runs.
 */
export function iptablesNotModelled(args: readonly string[]): string | undefined {
  const named = new Set<string>();
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const v = args[i + 1];
    if (v === undefined) break;
    if ((a === '-t' || a === '--table') && TABLES_NOT_MODELLED.includes(v)) return `cnmlab: iptables -t ${v} is not modelled (tables filter and nat are)\n`;
    if (a === '-m' || a === '--match') {
      if (!(MATCHES_MODELLED as readonly string[]).includes(v)) return `cnmlab: iptables -m ${v} is not modelled (${MATCHES_MODELLED.slice(0, -1).join(', ')} and ${MATCHES_MODELLED[MATCHES_MODELLED.length - 1]} are)\n`;
      named.add(v);
    }
    if (a === '--mode' && named.has('statistic') && v !== 'random') return `cnmlab: statistic --mode ${v} is not modelled (random is)\n`;
    if (a === '--dst-type' && named.has('addrtype') && v !== 'LOCAL') return `cnmlab: addrtype --dst-type ${v} is not modelled (LOCAL is)\n`;
  }
  return undefined;
}

/**
 * Whether iptables-save refuses `args` as not modelled (a table cnmlab does not model), read
 * as sim's reads them: an unknown option is its own error first. Only where it holds
 * CAP_NET_ADMIN is the table looked up (a container without it is refused the generation id
 * first): on a host always, in a container run with --cap-add NET_ADMIN (the registry's
 * refusesHoldingNetAdmin, asked by the shell once it knows the container).
 */
export function iptablesSaveNotModelled(args: readonly string[]): boolean {
  let table: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '-t' || a === '--table') table = args[++i] ?? '';
    else if (a !== '-c' && a !== '--counters') return false;
  }
  return table !== undefined && TABLES_NOT_MODELLED.includes(table);
}
