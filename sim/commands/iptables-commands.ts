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
  return iptablesWords(args).some((a) => {
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
export function iptablesNotModelled(typed: readonly string[]): string | undefined {
  return iptablesWordsNotModelled(iptablesWords(typed));
}

/** iptablesNotModelled over a line already split into getopt_long's words (iptablesWords), for a reader that splits it once. */
export function iptablesWordsNotModelled(args: readonly string[]): string | undefined {
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

/** How an option is given its value: none, one it requires, one it takes only when attached (getopt's `x::`). */
type Takes = 'none' | 'value' | 'attached';

/** iptables 1.8.9's own long options (xshared.c's original_opts), by name. */
const LONG_OPTIONS: ReadonlyMap<string, Takes> = new Map([
  ...['append', 'delete', 'check', 'insert', 'replace', 'new-chain', 'rename-chain', 'policy', 'source', 'destination', 'src', 'dst', 'protocol', 'in-interface',
    'jump', 'table', 'match', 'out-interface', 'modprobe', 'set-counters', 'goto'].map((o) => [o, 'value'] as const),
  ...['list', 'list-rules', 'flush', 'zero', 'delete-chain', 'help', 'wait', 'wait-interval'].map((o) => [o, 'attached'] as const),
  ...['numeric', 'verbose', 'exact', 'fragments', 'version', 'line-numbers', 'ipv4', 'ipv6'].map((o) => [o, 'none'] as const),
]);

/** The short options by their letter (getopt's optstring); any other letter is no option of iptables'. */
const SHORT_OPTIONS: ReadonlyMap<string, Takes> = new Map([
  ...[...'ACDEIMNPRcdgijmopst'].map((o) => [o, 'value'] as const),
  ...[...'FLSWXZhw'].map((o) => [o, 'attached'] as const),
  ...[...'Vbfnvx46'].map((o) => [o, 'none'] as const),
]);

/** The long options a modelled match adds once named (as `iptables -m NAME -h` lists them here), all taking a value but tcp's --syn. */
const MATCH_OPTIONS: Record<ModelledMatch, readonly string[]> = {
  tcp: ['source-port', 'sport', 'destination-port', 'dport', 'syn', 'tcp-flags', 'tcp-option'],
  udp: ['source-port', 'sport', 'destination-port', 'dport'],
  icmp: ['icmp-type'],
  state: ['state'],
  conntrack: ['ctstate', 'ctproto', 'ctorigsrc', 'ctorigdst', 'ctreplsrc', 'ctrepldst', 'ctorigsrcport', 'ctorigdstport', 'ctreplsrcport', 'ctrepldstport', 'ctstatus', 'ctexpire', 'ctdir'],
  statistic: ['mode', 'probability', 'every', 'packet'],
  addrtype: ['src-type', 'dst-type', 'limit-iface-in', 'limit-iface-out'],
  mark: ['mark'],
  comment: ['comment'],
};

/** The options of the targets whose options sim's iptables reads, added once the target is named. */
const TARGET_OPTIONS: Record<string, readonly string[]> = { REJECT: ['reject-with'], DNAT: ['to-destination'], SNAT: ['to-source'] };

/**
 * An iptables command line as iptables 1.8.9's getopt_long reads it, one option or value a
 * word: a short option's value attached (`-tmangle`), short options run together (`-nvL`,
 * `-vtnat`), `--long=value`, and a long option by any prefix that names one option alone
 * among iptables' own and those of the matches and target named before it (`--tab`, `--dst-t`
 * once addrtype is named). A value is kept as typed, whatever it looks like; a word getopt
 * would not take (an unknown or ambiguous option) is left as typed, for the reader's own error.
 * The registry's check and sim's iptables read this, so both read a line alike.
 */
export function iptablesWords(typed: readonly string[]): string[] {
  const long = new Map(LONG_OPTIONS);
  const add = (options: readonly string[] | undefined) => {
    for (const o of options ?? []) long.set(o, o === 'syn' ? 'none' : 'value');
  };
  // A match or target named, or a protocol whose match iptables loads at its first unknown option, adds its options.
  return getoptWords(typed, SHORT_OPTIONS, long, (option, value) => {
    if (option === 'm' || option === 'match' || option === 'p' || option === 'protocol') add(MATCH_OPTIONS[value.toLowerCase() as ModelledMatch]);
    else if (option === 'j' || option === 'jump') add(TARGET_OPTIONS[value]);
  });
}

/** iptables-save 1.8.9's options (xtables-save.c: optstring "bcdt:M:f:V" and its long options), by letter and by long name. */
const SAVE_SHORT_OPTIONS: ReadonlyMap<string, Takes> = new Map([['b', 'none'], ['c', 'none'], ['d', 'none'], ['t', 'value'], ['M', 'value'], ['f', 'value'], ['V', 'none']]);
const SAVE_LONG_OPTIONS: ReadonlyMap<string, string> = new Map([['counters', 'c'], ['version', 'V'], ['dump', 'd'], ['table', 't'], ['modprobe', 'M'], ['file', 'f']]);

/**
 * How an iptables-save line ends before the tables are read, as xtables_save_main's getopt_long
 * loop takes its options in order: an error of its own (exit 1), its version (-V prints it and
 * exits 0 at once), -f (the dump written to a file: not modelled), or the dump, with the table
 * asked for, -c and -d (after a missing table, still exit 0). `stderr`: what it printed before
 * (-b's note that it is not implemented).
 */
export type IptablesSaveLine =
  | { ends: 'error'; stderr: string }
  | { ends: 'version'; stderr: string }
  | { ends: 'file' }
  | { ends: 'dump'; table?: string; counters: boolean; dump: boolean; stderr: string };

/** An iptables-save command line as its getopt_long reads it (options permuted past operands, `-tnat`, `--table=nat`, `--tab nat`); -M's program is never run. */
export function readIptablesSave(typed: readonly string[]): IptablesSaveLine {
  let stderr = '';
  let table: string | undefined;
  let counters = false;
  let dump = false;
  let operands = 0;
  const error = (message: string): IptablesSaveLine => ({ ends: 'error', stderr: `${stderr}iptables-save: ${message}\nLook at manual page \`iptables-save.8' for more information.\n` });
  // One option taken, in getopt's order: undefined to read on.
  const take = (letter: string, value: string | undefined): IptablesSaveLine | undefined => {
    if (letter === 'b') stderr += '-b/--binary option is not implemented\n';
    else if (letter === 'c') counters = true;
    else if (letter === 'd') dump = true;
    else if (letter === 't') table = value;
    else if (letter === 'f') return { ends: 'file' };
    else if (letter === 'V') return { ends: 'version', stderr };
    return undefined;
  };
  for (let i = 0; i < typed.length; i++) {
    const a = typed[i];
    if (a === '--') {
      operands += typed.length - i - 1;
      break;
    }
    let ended: IptablesSaveLine | undefined;
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      const given = eq < 0 ? a.slice(2) : a.slice(2, eq);
      // No two of its long names share a first letter: a prefix names one or none.
      const name = [...SAVE_LONG_OPTIONS.keys()].find((o) => o.startsWith(given));
      if (name === undefined) return error(`unrecognized option '${a}'`);
      const letter = SAVE_LONG_OPTIONS.get(name)!;
      if (SAVE_SHORT_OPTIONS.get(letter) === 'none') {
        if (eq >= 0) return error(`option '--${name}' doesn't allow an argument`);
        ended = take(letter, undefined);
      } else {
        const value = eq >= 0 ? a.slice(eq + 1) : typed[++i];
        if (value === undefined) return error(`option '--${name}' requires an argument`);
        ended = take(letter, value);
      }
    } else if (a.startsWith('-') && a.length > 1) {
      // Letters run together until one that takes a value, which takes the rest of the word (or the next word).
      for (let j = 1; j < a.length && !ended; j++) {
        const letter = a[j];
        const takes = SAVE_SHORT_OPTIONS.get(letter);
        if (takes === undefined) return error(`invalid option -- '${letter}'`);
        if (takes === 'none') {
          ended = take(letter, undefined);
          continue;
        }
        const value = j + 1 < a.length ? a.slice(j + 1) : typed[++i];
        if (value === undefined) return error(`option requires an argument -- '${letter}'`);
        ended = take(letter, value);
        break;
      }
    } else operands++;
    if (ended) return ended;
  }
  if (operands) return { ends: 'error', stderr: `${stderr}Unknown arguments found on commandline\n` };
  return { ends: 'dump', table, counters, dump, stderr };
}

/**
 * The words getopt_long reads from `typed`, one option or value a word; `long` may grow as
 * `named` is told each option given a value (by its letter or full name).
 */
function getoptWords(typed: readonly string[], short: ReadonlyMap<string, Takes>, long: ReadonlyMap<string, Takes>, named?: (option: string, value: string) => void): string[] {
  const words: string[] = [];
  for (let i = 0; i < typed.length; i++) {
    const a = typed[i];
    let option: string | undefined;
    let value: string | undefined;
    if (a.startsWith('--') && a.length > 2) {
      const eq = a.indexOf('=');
      const given = eq < 0 ? a.slice(2) : a.slice(2, eq);
      const prefixed = [...long.keys()].filter((o) => o.startsWith(given));
      option = long.has(given) ? given : prefixed.length === 1 ? prefixed[0] : undefined;
      if (option === undefined) {
        words.push(a);
        continue;
      }
      value = eq >= 0 ? a.slice(eq + 1) : long.get(option) === 'value' ? typed[++i] : undefined;
      words.push(`--${option}`);
    } else if (a.startsWith('-') && a.length > 1 && a[1] !== '-') {
      // The letters up to the first that takes a value are options alone; that one takes the rest (or, if required, the next word).
      const at = [...a.slice(1)].findIndex((c) => short.get(c) !== 'none');
      option = at < 0 ? undefined : a[at + 1];
      const takes = option === undefined ? 'none' : short.get(option);
      if (takes === undefined) {
        words.push(a);
        continue;
      }
      words.push(...[...(at < 0 ? a.slice(1) : a.slice(1, at + 1))].map((c) => `-${c}`));
      if (option === undefined) continue;
      const rest = a.slice(at + 2);
      value = rest !== '' ? rest : takes === 'value' ? typed[++i] : undefined;
      words.push(`-${option}`);
    } else {
      words.push(a);
      continue;
    }
    if (value !== undefined) {
      words.push(value);
      named?.(option, value);
    }
  }
  return words;
}

/**
 * Whether iptables-save refuses `typed` as not modelled once it reads the tables (a table
 * cnmlab does not model), read as sim's reads them: its own error or its version comes
 * first. Only where it holds CAP_NET_ADMIN is the table looked up (a container without it is
 * refused the generation id first): on a host always, in a container run with --cap-add
 * NET_ADMIN (the registry's refusesHoldingNetAdmin, asked by the shell once it knows the container).
 */
export function iptablesSaveNotModelled(typed: readonly string[]): boolean {
  const line = readIptablesSave(typed);
  return line.ends === 'dump' && line.table !== undefined && TABLES_NOT_MODELLED.includes(line.table);
}

/** Whether iptables-save would write its dump to a file (-f, opened as its options are read, whatever its capabilities): not modelled, refused everywhere. */
export function iptablesSaveToFile(typed: readonly string[]): boolean {
  return readIptablesSave(typed).ends === 'file';
}
