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
  // iptables has no -n of its own (its -n is --numeric): it runs inside the namespace. Its
  // negation, a lone `!` that is never a command's first word, reads the same in sh unquoted.
  if (c.tool === 'iptables') return [...(other ? ['ip', 'netns', 'exec', c.netns!] : []), c.tool, ...c.argv.map((w) => (w === '!' ? w : shellWord(w)))].join(' ');
  const ns = other ? ['-n', c.netns!] : [];
  return [c.tool, ...ns, ...c.argv.map(shellWord)].join(' ') + (c.mayFail ? ' || true' : '');
}

/** Lines, grouped under `[host]` headers, for a list of commands (and files written, sockets held). */
type Noted = Extract<PlanOp, { op: 'file.write' | 'socket.listen' | 'socket.close' | 'bird.config' | 'weave.router' | 'odp.datapath' | 'odp.vport' }>;

/** What a daemon does that is no command: a comment. */
export function noteLine(op: Noted): string {
  if (op.op === 'file.write') return `# ${op.netns}:${op.path} ← ${JSON.stringify(op.content)}`;
  // A routing daemon is no iproute2 command: its configuration is shown, and its `proto bird` routes follow as the commands they amount to.
  // The file reads as confd wrote it, a comment line for each of its lines (under the step's indent).
  if (op.op === 'bird.config') return [`# ${op.netns}: BIRD (re)reads its configuration, as calico/node's confd renders it:`, ...op.config.trimEnd().split('\n').map((l) => (l ? `#   ${l}` : '#'))].join('\n    ');
  if (op.op === 'odp.datapath') return `# ${op.netns}: the Open vSwitch datapath ${op.name} (generic netlink ovs_datapath; no iproute2 command makes one)`;
  if (op.op === 'odp.vport') return `# ${op.netns}: ${op.datapath} gets the vport ${op.vport.type === 'netdev' ? op.vport.dev : `${op.vport.name} (VXLAN, UDP ${op.vport.dstport}, external)`} (ovs_vport)`;
  if (op.op === 'weave.router') return `# ${op.netns}: weaver (${op.router.datapath}) captures on ${op.router.device}, UDP ${op.router.port}, peers ${op.router.peers.map((p) => `${p.nickname} ${p.address}`).join(', ') || 'none'}`;
  const s = op.socket;
  const where = `${s.proto} ${s.address}:${s.port}`;
  return op.op === 'socket.listen' ? `# ${op.netns}: ${s.process} ${s.proto === 'tcp' ? 'listens on' : 'binds'} ${where}` : `# ${op.netns}: ${s.process} closes ${where}`;
}

function grouped(items: (Command | Noted)[]): string {
  let text = '';
  let host = '';
  for (const item of items) {
    if (item.host !== host) {
      host = item.host;
      text += `  [${host}]\n`;
    }
    text += `    ${'op' in item ? noteLine(item) : commandLine(item)}\n`;
  }
  return text;
}

/** The plan ops' commands as text; a file written or a socket held is a comment. */
export function planText(ops: PlanOp[]): string {
  return grouped(ops.flatMap((op): (Command | Noted)[] => (op.op === 'file.write' || op.op === 'bird.config' || op.op === 'weave.router' || op.op === 'odp.datapath' || op.op === 'odp.vport' || op.op === 'socket.listen' || op.op === 'socket.close' ? [op] : opToCommands(op, PLAN_NAMES))));
}

/** The underlay segment the hosts meet on, as text. */
export function underlayText(): string {
  return grouped(underlaySetup(PLAN_NAMES));
}
