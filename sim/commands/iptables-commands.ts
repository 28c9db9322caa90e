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

/**
 * Whether iptables-save refuses `args` as not modelled (a table cnmlab does not model), read
 * as sim's reads them: an unknown option is its own error first. Only where it holds
 * CAP_NET_ADMIN is the table looked up (a container without it is refused the generation id
 * first), which on a host it does; in a container the registry cannot know the capabilities.
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
