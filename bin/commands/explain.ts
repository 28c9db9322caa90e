import { loadScenario } from '../../sim/scenario/load';
import { ScenarioSession } from '../../sim/runner/session';
import { planText, underlayText } from '../../sim/plan/explain';
import { SimBackend } from '../../sim/kernel/backend';
import { hostOf, World } from '../../sim/model/world';
import { CommandOutput, ExecContext } from '../../sim/backend';
import { changesKernel } from '../../sim/commands/registry';
import { PlanOp } from '../../sim/plan/ops';
import { namespaceState } from '../../sim/kernel/netns-state';
import { settleTables } from '../../sim/kernel/iptables';
import { containerById } from '../../sim/model/world';
import { holdsNetAdmin } from '../../sim/model/capabilities';

/**
 * The sim, keeping the ops it is given: explain prints the plan, and what a step's own command
 * did says whether it changed the kernel: it succeeded, and its namespace's kernel is no longer
 * what it was (`ip link set eth0 up` on a device already up changes nothing).
 * Only a command that changes the kernel (the registry's forms) runs: the plan and the next
 * steps' kernel depend on it. Any other (a ping, a flood, a sleep) is answered as succeeding
 * without running, so explain costs the same however long a step would run for real.
 */
class PlanRecorder extends SimBackend {
  ops: PlanOp[] = [];
  /** Whether a command of the step's own, one that changes the kernel, ran, succeeded and changed it. */
  typedChange = false;
  async apply(ops: PlanOp[], world?: World): Promise<void> {
    this.ops.push(...ops);
    await super.apply(ops, world);
  }

  async exec(host: string, netns: string, argv: string[], ctx: ExecContext): Promise<CommandOutput> {
    const image = ctx.container === undefined ? undefined : hostOf(ctx.world, host).containers[ctx.container]?.image;
    if (!changesKernel(argv, ctx.container === undefined ? 'host' : 'container', image)) return { stdout: '', stderr: '', exitCode: 0 };
    const ns = this.kernel.netns(host, netns);
    // iptables runs the engine's deferred commands before it reads the tables: run first here, they are no part of its change.
    // One refused would have failed the command on it, so the step changes nothing. A container's iptables without
    // CAP_NET_ADMIN is refused before it reads them, so nothing is run for it.
    const container = containerById(ctx.world, ctx.container);
    const settles = argv[0] === 'iptables' && (container === undefined || holdsNetAdmin(container));
    if (settles && !settleTables(ns)) return super.exec(host, netns, argv, ctx);
    const before = namespaceState(ns);
    const out = await super.exec(host, netns, argv, ctx);
    if (out.exitCode === 0 && namespaceState(ns) !== before) this.typedChange = true;
    return out;
  }
}

export async function explainCommand(file: string): Promise<number> {
  const s = loadScenario(file);
  // Its seed and hop delays, and run's own steps (the gap between steps, NetworkDB's timers): explain's kernel is run's.
  const rec = PlanRecorder.forScenario(s);
  const session = await ScenarioSession.start(s, rec, { topology: false });
  let out = `# ${s.name}: the kernel-level plan, as the iproute2 commands Docker's libnetwork effectively runs\n` +
    `# (emu runs these; it stands a namespace in for each host and joins them on a bridge in one more, the underlay)\n\n` +
    `# the underlay\n${underlayText()}\n# engines start\n${planText(rec.ops)}`;
  for (const step of s.steps) {
    rec.ops = [];
    rec.typedChange = false;
    const result = await session.step(step.on, step.command, { timeout: step.timeout, line: step.line });
    const typed = result.exitCode === 0 && result.unmodelled === undefined && rec.typedChange;
    out += `\n# step ${step.index + 1}: ${step.on}$ ${step.command}\n${rec.ops.length ? planText(rec.ops) : typed ? '    (none of libnetwork\'s: the step\'s own command changes the kernel, as typed)\n' : '    (no kernel changes)\n'}`;
  }
  process.stdout.write(out);
  return 0;
}
