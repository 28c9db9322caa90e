/**
 * Kernel features sim models that a real kernel may lack (this machine's has no netem:
 * CONFIG_NET_SCH_NETEM is unset). emu runs the real program, which answers with its own
 * error; that answer, for a command the registry declares, says the step is not available
 * in this kernel: a fact about the machine, not a disagreement between the modes.
 */
import type { CommandOutput } from './registry';

/** The kernel configuration option each modelled qdisc kind needs. */
const QDISC_CONFIG: Record<string, string> = { netem: 'CONFIG_NET_SCH_NETEM', tbf: 'CONFIG_NET_SCH_TBF' };

/**
 * The feature the real kernel lacked when `argv` got `out`, or undefined: `tc qdisc
 * add|change|replace … root KIND` answered by the kernel with "Specified qdisc kind is
 * unknown." for a kind sim models.
 */
export function missingKernelFeature(argv: string[], out: CommandOutput): string | undefined {
  if (argv[0] !== 'tc' || argv[1] !== 'qdisc' || out.exitCode !== 2) return undefined;
  if (!out.stderr.includes('Error: Specified qdisc kind is unknown.')) return undefined;
  const kind = argv[argv.indexOf('root') + 1];
  const config = QDISC_CONFIG[kind];
  return config ? `qdisc ${kind} (${config})` : undefined;
}
