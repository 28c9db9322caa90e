/**
 * The plan as text: the commands of iproute2.ts as a shell would read them, grouped by the
 * host they run on. Names are the plan's own; a command in a host's own namespace carries
 * no `-n`, as on a Docker host.
 */
import { PlanOp } from './ops';
import { Command, Namer, opToCommands, underlaySetup } from './iproute2';

/** The plan's names as they are: a host's own namespace is named after the host. */
export const PLAN_NAMES: Namer = { netns: (_host, ns) => ns, name: (s) => s, value: (s) => s };

/** A word as sh reads it back: as it is when plain, else in single quotes (etcd's JSON values). */
function shellWord(w: string): string {
  return /^[A-Za-z0-9_.:@/+=,-]+$/.test(w) ? w : `'${w.replace(/'/g, `'\\''`)}'`;
}

/** One command as a line; a failure libnetwork ignores reads as `|| true`. */
export function commandLine(c: Command): string {
  const other = c.netns !== undefined && c.netns !== c.host;
  // iptables has no -n of its own (its -n is --numeric): it runs inside the namespace.
  if (c.tool === 'iptables') return [...(other ? ['ip', 'netns', 'exec', c.netns!] : []), c.tool, ...c.argv.map(shellWord)].join(' ');
  const ns = other ? ['-n', c.netns!] : [];
  return [c.tool, ...ns, ...c.argv.map(shellWord)].join(' ') + (c.mayFail ? ' || true' : '');
}

/** Lines, grouped under `[host]` headers, for a list of commands (and files written). */
type FileWrite = Extract<PlanOp, { op: 'file.write' }>;

function grouped(items: (Command | FileWrite)[]): string {
  let text = '';
  let host = '';
  for (const item of items) {
    if (item.host !== host) {
      host = item.host;
      text += `  [${host}]\n`;
    }
    text += 'op' in item ? `    # ${item.netns}:${item.path} ← ${JSON.stringify(item.content)}\n` : `    ${commandLine(item)}\n`;
  }
  return text;
}

/** The plan ops' commands as text; a file written is a comment. */
export function planText(ops: PlanOp[]): string {
  return grouped(ops.flatMap((op): (Command | FileWrite)[] => (op.op === 'file.write' ? [op] : opToCommands(op, PLAN_NAMES))));
}

/** The underlay segment the hosts meet on, as text. */
export function underlayText(): string {
  return grouped(underlaySetup(PLAN_NAMES));
}
