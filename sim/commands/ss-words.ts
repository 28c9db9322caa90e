/**
 * What iproute2's ss is asked that cnmlab does not model: an option other than -l, -a, -n,
 * -t, -u and -H (clustered as getopt allows), or no protocol (-t, -u) at all. sim's ss
 * (kernel/ss.ts) refuses such a line with its own `cnmlab: … not modelled` line; the registry
 * refuses the same lines before either mode runs, so emu never runs the real ss on them.
 */

/** The options sim's ss answers, each a letter of a cluster. */
const SS_MODELLED_CLUSTER = /^-[lantuH]+$/;

export function ssNotModelled(args: readonly string[]): boolean {
  if (!args.every((a) => SS_MODELLED_CLUSTER.test(a))) return true;
  return !args.some((a) => a.includes('t') || a.includes('u'));
}
