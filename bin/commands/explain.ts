import { loadScenario } from '../../sim/scenario/load';
import { newModel } from '../../sim/runner/runner';
import { hostShell, containerShell } from '../../sim/runner/shell';
import { planText, underlayText } from '../../sim/plan/explain';
import { Backend } from '../../sim/backend';
import { PlanOp } from '../../sim/plan/ops';
import { shellWords } from '../../sim/text/words';

/** A backend that only collects ops: explain needs the plan, not a kernel. */
class PlanRecorder implements Backend {
  readonly mode = 'sim' as const;
  ops: PlanOp[] = [];
  async apply(ops: PlanOp[]): Promise<void> {
    this.ops.push(...ops);
  }
  async settle() {}
  setStepBounds() {}
  async exec() {
    return { stdout: '', stderr: '', exitCode: 0 };
  }
  flows() {
    return [];
  }
  controlFlows() {
    return [];
  }
  controlNotKept() {
    return new Map();
  }
  elapsedNs() {
    return 0;
  }
  async close() {}
}

export async function explainCommand(file: string): Promise<number> {
  const s = loadScenario(file);
  const model = newModel(s);
  const rec = new PlanRecorder();
  let out = `# ${s.name}: the kernel-level plan, as the iproute2 commands Docker's libnetwork effectively runs\n` +
    `# (emu runs these; it stands a namespace in for each host and joins them on a bridge in one more, the underlay)\n\n` +
    `# the underlay\n${underlayText()}\n# engines start\n${planText(model.boot())}`;
  const hosts = new Set(s.hosts.map((h) => h.name));
  for (const step of s.steps) {
    rec.ops = [];
    if (hosts.has(step.on)) await hostShell(model, rec, step.on, step.command);
    else await containerShell(model, rec, step.on, step.command);
    out += `\n# step ${step.index + 1}: ${step.on}$ ${step.command}\n${rec.ops.length ? planText(rec.ops) : typedChange(step.command) ? '    (none of libnetwork\'s: the step\'s own iproute2 command changes the kernel, as typed)\n' : '    (no kernel changes)\n'}`;
  }
  process.stdout.write(out);
  return 0;
}

/** A step that is itself an iproute2 change (`ip route add|del`, `ip link set`): the kernel changes though the plan has no op for it. */
function typedChange(command: string): boolean {
  let argv: string[];
  try {
    argv = shellWords(command);
  } catch {
    return false;
  }
  if (argv[0] !== 'ip') return false;
  const words = argv.slice(1).filter((w) => !w.startsWith('-'));
  return (words[0] === 'route' && ['add', 'del', 'delete'].includes(words[1])) || (words[0] === 'link' && words[1] === 'set');
}
