/**
 * Kernel features sim models that a real kernel may lack (this machine's has no netem:
 * CONFIG_NET_SCH_NETEM is unset, nor dummy devices: CONFIG_DUMMY). emu runs the real program, which answers with its own
 * error; that answer, for a command the registry declares, says the step is not available
 * in this kernel: a fact about the machine, not a disagreement between the modes.
 */
import { typedLinkChange } from './ip-link-words';
import type { CommandOutput } from './registry';

/** The kernel configuration option each modelled qdisc kind needs. */
const QDISC_CONFIG: Record<string, string> = { netem: 'CONFIG_NET_SCH_NETEM', tbf: 'CONFIG_NET_SCH_TBF' };

/** The kernel configuration option each link kind `ip link add` models needs, and what the kernel then lacks. */
const LINK_CONFIG: Record<string, string> = { dummy: 'dummy devices (CONFIG_DUMMY)' };

/**
 * The feature the real kernel lacked when `argv` got `out`, or undefined: `tc qdisc
 * add|change|replace … root KIND` answered by the kernel with "Specified qdisc kind is
 * unknown." for a kind sim models, or `ip link add … type KIND` answered with "Unknown
 * device type." (rtnl_newlink found no rtnl_link_ops of that kind).
 */
export function missingKernelFeature(argv: string[], out: CommandOutput): string | undefined {
  if (out.exitCode !== 2) return undefined;
  if (argv[0] === 'ip') return missingLinkKind(argv, out);
  if (argv[0] !== 'tc' || argv[1] !== 'qdisc') return undefined;
  if (!out.stderr.includes('Error: Specified qdisc kind is unknown.')) return undefined;
  const kind = argv[argv.indexOf('root') + 1];
  const config = QDISC_CONFIG[kind];
  return config ? `qdisc ${kind} (${config})` : undefined;
}

function missingLinkKind(argv: string[], out: CommandOutput): string | undefined {
  if (out.stderr !== 'Error: Unknown device type.\n') return undefined;
  const change = typedLinkChange(argv);
  if (change?.verb !== 'add') return undefined;
  const words = argv.slice(1).filter((w) => !w.startsWith('-'));
  return LINK_CONFIG[words[words.indexOf('type') + 1]];
}
