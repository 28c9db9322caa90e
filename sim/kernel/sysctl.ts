/**
 * The `sysctl` program of Debian 12 (procps-ng 4.0.2) over a simulated namespace's
 * /proc/sys/net: reading and writing the keys the sim kernel models, with the real texts
 * and exit codes (measured with `ip netns exec NS sysctl …`). Keys the sim does not model
 * are refused with a `cnmlab: … is not modelled` line, exit 2, never answered with a guess.
 */
import { CommandOutput } from '../backend';
import type { SimNetns } from './objects';
import { forwardingScope, readForwarding, writeForwarding } from './net/ipv4/devinet';
import { Refusal, unmodelledWords } from './iproute_utils';
import { SYSCTL_NOT_MODELLED_LONG, SYSCTL_NOT_MODELLED_SHORT, sysctlKeyParts } from '../commands/sysctl-words';

const VERSION = 'sysctl from procps-ng 4.0.2\n';

const USAGE = `
Usage:
 sysctl [options] [variable[=value] ...]

Options:
  -a, --all            display all variables
  -A                   alias of -a
  -X                   alias of -a
      --deprecated     include deprecated parameters to listing
      --dry-run        Print the key and values but do not write
  -b, --binary         print value without new line
  -e, --ignore         ignore unknown variables errors
  -N, --names          print variable names without values
  -n, --values         print only values of the given variable(s)
  -p, --load[=<file>]  read values from file
  -f                   alias of -p
      --system         read values from all system directories
  -r, --pattern <expression>
                       select setting that match expression
  -q, --quiet          do not echo variable set
  -w, --write          enable writing a value to variable
  -o                   does nothing
  -x                   does nothing
  -d                   alias of -h

 -h, --help     display this help and exit
 -V, --version  output version information and exit

For more details see sysctl(8).
`;

const MODELLED_KEYS = 'net.ipv4.ip_forward, net.ipv4.conf.{all,default,DEVICE}.forwarding, net.ipv6.conf.{all,default}.disable_ipv6 and net.bridge.bridge-nf-call-iptables are';

/** A key the sim models: how to read it and, when it may be written, how. */
interface Knob {
  read(): number;
  write?(value: number): void;
}

/** The knob a dotted key names in `ns`; 'missing' when /proc/sys has no such file there; undefined when the sim does not model it. */
function knob(ns: SimNetns, parts: string[]): Knob | 'missing' | undefined {
  const scope = forwardingScope(ns, parts);
  if (scope === 'missing') return scope;
  if (scope) return { read: () => readForwarding(ns, scope), write: (v) => writeForwarding(ns, scope, v) };
  const v6 = parts.join('.').match(/^net\.ipv6\.conf\.(all|default)\.disable_ipv6$/);
  // Written by the plan only: a write would also take addresses away, which the program does not model.
  if (v6) return { read: () => (ns.ipv6Disabled[v6[1] as 'all' | 'default'] ? 1 : 0) };
  // br_netfilter's brnf_sysctl_call_tables: proc_dointvec, then any nonzero is stored as 1.
  if (parts.join('.') === 'net.bridge.bridge-nf-call-iptables') return { read: () => ns.bridgeNfCallIptables, write: (v) => void (ns.bridgeNfCallIptables = v !== 0 ? 1 : 0) };
  return undefined;
}

/** proc_dointvec's reading of a written value: an int, leading blanks allowed, nothing after it. */
function parseIntvec(text: string): number | undefined {
  const m = text.match(/^\s*(-?\d+)\s*$/);
  if (!m) return undefined;
  const n = Number(m[1]);
  return n >= -2147483648 && n <= 2147483647 ? n : undefined;
}

/**
 * BusyBox's sysctl applet (Debian's 1.35, as emu runs it, and a busybox image's), reading:
 * `KEY = VALUE` or, with -n, the value; a key /proc/sys lacks is `sysctl: error: 'KEY' is an
 * unknown key` on stderr (silent with -e) and exit 1, the other keys still shown. It runs in
 * a container only, whose /proc/sys runc mounts read-only: a `KEY=VALUE` (with or without
 * -w) fails as it opens the key (EROFS), exit 1; -w with a key alone is refused as the
 * applet reads it (`'KEY' must be of the form name=value`, exit 1).
 */
export function busyboxSysctl(ns: SimNetns, args: string[]): CommandOutput {
  const flags = new Set(args.filter((a) => a.startsWith('-')).flatMap((a) => [...a.slice(1)]));
  let stdout = '', stderr = '', exitCode = 0;
  for (const operand of args.filter((a) => !a.startsWith('-'))) {
    const eq = operand.indexOf('=');
    const parts = (eq < 0 ? operand : operand.slice(0, eq)).split(/[./]/);
    const shown = parts.join('.');
    const k = parts.length < 2 || parts.some((p) => p === '') ? undefined : knob(ns, parts);
    // The registry's form lets only the modelled keys through; a direct call is refused as procps' sysctl refuses it.
    if (k === undefined) return unmodelledWords(`cnmlab: sysctl ${shown} is not modelled (${MODELLED_KEYS})\n`);
    // BusyBox turns the key's dots into slashes only as far as /proc/sys has the directories,
    // then shows the path with the two swapped: net.ipv4.conf.eth9/forwarding.
    const named = k === 'missing' ? `${parts.slice(0, 4).join('.')}${parts.slice(4).map((p) => `/${p}`).join('')}` : shown;
    // -w asks for a write, which needs its value: refused before the key is opened, -e or not.
    if (flags.has('w') && eq < 0) {
      stderr += `sysctl: error: '${named}' must be of the form name=value\n`;
      exitCode = 1;
      continue;
    }
    if (k === 'missing') {
      if (!flags.has('e')) stderr += `sysctl: error: '${named}' is an unknown key\n`;
      exitCode = 1;
      continue;
    }
    if (eq >= 0) {
      stderr += `sysctl: error setting key '${shown}': Read-only file system\n`;
      exitCode = 1;
      continue;
    }
    stdout += flags.has('n') ? `${k.read()}\n` : `${shown} = ${k.read()}\n`;
  }
  return { stdout, stderr, exitCode };
}

const notModelled = (what: string) => new Refusal(unmodelledWords(`cnmlab: sysctl ${what} is not modelled (${MODELLED_KEYS})\n`));

/**
 * `readOnly`: the namespace's /proc/sys is read-only to the program (a Docker container's,
 * which runc mounts read-only unless --privileged): every write fails as it opens the key.
 */
export function sysctlCommand(ns: SimNetns, args: string[], readOnly = false): CommandOutput {
  try {
    return run(ns, args, readOnly);
  } catch (e) {
    if (e instanceof Refusal) return e.output;
    throw e;
  }
}

function run(ns: SimNetns, args: string[], readOnly: boolean): CommandOutput {
  if (args.length === 0) return { stdout: '', stderr: USAGE, exitCode: 1 };
  let write = false, valuesOnly = false, namesOnly = false, quiet = false, ignoreUnknown = false;
  const operands: string[] = [];
  for (const a of args) {
    if (a.startsWith('--')) {
      switch (a) {
        case '--write': write = true; break;
        case '--values': valuesOnly = true; break;
        case '--names': namesOnly = true; break;
        case '--quiet': quiet = true; break;
        case '--ignore': ignoreUnknown = true; break;
        case '--help': return { stdout: USAGE, stderr: '', exitCode: 0 };
        case '--version': return { stdout: VERSION, stderr: '', exitCode: 0 };
        default:
          if (SYSCTL_NOT_MODELLED_LONG.includes(a) || /^--(load|pattern)=/.test(a)) throw notModelled(a);
          // getopt's complaint, then the usage on stdout; procps exits 0 here.
          return { stdout: USAGE, stderr: `sysctl: unrecognized option '${a}'\n`, exitCode: 0 };
      }
      continue;
    }
    if (a.startsWith('-') && a.length > 1) {
      for (const c of a.slice(1)) {
        switch (c) {
          case 'w': write = true; break;
          case 'n': valuesOnly = true; break;
          case 'N': namesOnly = true; break;
          case 'q': quiet = true; break;
          case 'e': ignoreUnknown = true; break;
          case 'o': case 'x': break;
          case 'h': case 'd': return { stdout: USAGE, stderr: '', exitCode: 0 };
          case 'V': return { stdout: VERSION, stderr: '', exitCode: 0 };
          default:
            if (SYSCTL_NOT_MODELLED_SHORT.includes(c)) throw notModelled(`-${c}`);
            return { stdout: USAGE, stderr: `sysctl: invalid option -- '${c}'\n`, exitCode: 0 };
        }
      }
      continue;
    }
    operands.push(a);
  }
  if (operands.length === 0) return { stdout: '', stderr: "sysctl: no variables specified\nTry `sysctl --help' for more information.\n", exitCode: 1 };
  // procps adds up the reads that fail but ORs in the writes' failures (measured: two failed
  // writes exit 1, two keys that cannot be read 2).
  let stdout = '', stderr = '', exitCode = 0, syntaxError = false;
  const failed = (writing: boolean) => void (exitCode = writing ? exitCode | 1 : exitCode + 1);
  for (const operand of operands) {
    const eq = operand.indexOf('=');
    // A `key=value` operand writes, with or without -w; -w makes an operand without '=' a syntax error.
    if (eq < 0 && write) {
      stderr += 'sysctl: command line(0): invalid syntax, continuing...\n';
      syntaxError = true;
      continue;
    }
    const name = eq < 0 ? operand : operand.slice(0, eq);
    const parts = sysctlKeyParts(name);
    const shown = parts.join('.');
    if (parts.some((p) => p === '') || parts.length < 2) throw notModelled(`'${operand}'`);
    const k = knob(ns, parts);
    if (k === undefined) throw notModelled(shown);
    if (k === 'missing') {
      if (!ignoreUnknown) {
        stderr += `sysctl: cannot stat /proc/sys/${parts.join('/')}: No such file or directory\n`;
        failed(eq >= 0);
      }
      continue;
    }
    if (eq < 0) {
      const v = String(k.read());
      stdout += namesOnly ? `${shown}\n` : valuesOnly ? `${v}\n` : `${shown} = ${v}\n`;
      continue;
    }
    // The key opened for writing on a read-only mount (EROFS), which procps words as a permission.
    if (readOnly) {
      stderr += `sysctl: permission denied on key "${shown}"\n`;
      failed(true);
      continue;
    }
    const text = operand.slice(eq + 1);
    if (!k.write) throw notModelled(`-w ${shown}`);
    const value = parseIntvec(text);
    if (value === undefined) {
      stderr += `sysctl: setting key "${shown}": Invalid argument\n`;
      failed(true);
      continue;
    }
    k.write(value);
    // procps echoes what was written, as typed after '=' less its leading blanks.
    const echoed = text.replace(/^\s+/, '');
    if (!quiet) stdout += namesOnly ? `${shown}\n` : valuesOnly ? `${echoed}\n` : `${shown} = ${echoed}\n`;
  }
  return { stdout, stderr, exitCode: exitCode > 0 ? exitCode : syntaxError ? 1 : 0 };
}
