/**
 * Docker's flag syntax (cobra/pflag): `-dit`, `--name x`, `--name=x`,
 * `-e K=V`, repeated flags, and `--` ending the options. Errors carry the CLI's own texts.
 */
import { DockerError } from './errors';

export interface FlagSpec {
  long: string;
  short?: string;
  /** Takes a value (string flags); repeated values accumulate. */
  value?: boolean;
  /** The long name of the flag whose value this one sets too (docker/cli binds --net and --network to one NetworkOpt): their values accumulate together, in the order typed. */
  sameValueAs?: string;
}

export interface ParsedFlags {
  flags: Map<string, string[]>;
  bools: Set<string>;
  args: string[];
}

/** A command's flags by long and by short name. */
interface FlagTables {
  byLong: Map<string, FlagSpec>;
  byShort: Map<string, FlagSpec>;
}

/** The tables of each list of flags, made once: `docker run` passes the same list for every container. */
const tablesOfSpecs = new WeakMap<FlagSpec[], FlagTables>();

function flagTables(specs: FlagSpec[]): FlagTables {
  let tables = tablesOfSpecs.get(specs);
  if (!tables) {
    tables = { byLong: new Map(specs.map((s) => [s.long, s])), byShort: new Map(specs.filter((s) => s.short).map((s) => [s.short!, s])) };
    tablesOfSpecs.set(specs, tables);
  }
  return tables;
}

/**
 * Parses flags for `command` (e.g. "docker network create"). Like cobra with
 * interspersed args off for run/exec: the first positional argument ends the options when
 * `stopAtFirstArg` is set, so a container's own command keeps its flags.
 */
export function parseFlags(command: string, argv: string[], specs: FlagSpec[], stopAtFirstArg = false): ParsedFlags {
  const see = `\nSee '${command} --help'.`;
  const { byLong, byShort } = flagTables(specs);
  const out: ParsedFlags = { flags: new Map(), bools: new Set(), args: [] };
  const set = (spec: FlagSpec, value: string | undefined, shown: string) => {
    if (spec.value) {
      if (value === undefined) throw new DockerError(`flag needs an argument: ${shown}${see}`, 125);
      const key = spec.sameValueAs ?? spec.long;
      out.flags.set(key, [...(out.flags.get(key) ?? []), value]);
    } else {
      if (value !== undefined && value !== 'true' && value !== 'false') throw new DockerError(`invalid argument "${value}" for "${shown}" flag: strconv.ParseBool: parsing "${value}": invalid syntax${see}`, 125);
      if (value === 'false') out.bools.delete(spec.long);
      else out.bools.add(spec.long);
    }
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') {
      out.args.push(...argv.slice(i + 1));
      break;
    }
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      const name = eq > 0 ? a.slice(2, eq) : a.slice(2);
      const spec = byLong.get(name);
      if (!spec) throw new DockerError(`unknown flag: --${name}${see}`, 125);
      if (spec.value && eq < 0) {
        if (i + 1 >= argv.length) throw new DockerError(`flag needs an argument: --${name}${see}`, 125);
        set(spec, argv[++i], `--${name}`);
      } else {
        set(spec, eq > 0 ? a.slice(eq + 1) : undefined, `--${name}`);
      }
    } else if (a.startsWith('-') && a.length > 1) {
      for (let k = 1; k < a.length; k++) {
        const spec = byShort.get(a[k]);
        if (!spec) throw new DockerError(`unknown shorthand flag: '${a[k]}' in ${a}${see}`, 125);
        if (spec.value) {
          const rest = a.slice(k + 1).replace(/^=/, '');
          if (rest) set(spec, rest, `-${a[k]}`);
          else {
            if (i + 1 >= argv.length) throw new DockerError(`flag needs an argument: '${a[k]}' in -${a[k]}${see}`, 125);
            set(spec, argv[++i], `-${a[k]}`);
          }
          break;
        }
        set(spec, undefined, `-${a[k]}`);
      }
    } else {
      out.args.push(a);
      if (stopAtFirstArg) {
        out.args.push(...argv.slice(i + 1));
        break;
      }
    }
  }
  return out;
}

/** A string (or number) flag's value as pflag keeps it: given more than once, the last. */
export function lastValue(p: ParsedFlags, long: string): string | undefined {
  const v = p.flags.get(long);
  return v ? v[v.length - 1] : undefined;
}

/**
 * A list flag's values as pflag's StringSlice and IPNetSlice read them: every value given,
 * each split at its commas (`--subnet a,b` is two).
 */
export function sliceValues(p: ParsedFlags, long: string): string[] {
  return all(p, long).flatMap((v) => v.split(','));
}

export function all(p: ParsedFlags, long: string): string[] {
  return p.flags.get(long) ?? [];
}

/** cobra's argument-count errors, with the usage line and short description. */
export function requireArgs(p: ParsedFlags, command: string, usage: string, description: string, min: number, max = min): void {
  const n = p.args.length;
  if (n >= min && n <= max) return;
  const what = min === max ? `exactly ${min} argument${min === 1 ? '' : 's'}` : max === Infinity ? `at least ${min} argument${min === 1 ? '' : 's'}` : `at least ${min} and at most ${max} arguments`;
  throw new DockerError(`"${command}" requires ${what}.\nSee '${command} --help'.\n\nUsage:  ${usage}\n\n${description}`, 1);
}
