/**
 * The real BIRD in emu: one `bird` per scenario host that runs calico/node, in the host's
 * namespace, with the configuration the model renders as calico's confd would (the plan's
 * `bird.config`). Its BGP sessions run over the underlay, and its kernel protocol installs
 * the `proto bird` routes the plan lists; emu waits for those before the next step. Its
 * files (configuration, control socket, pid, log) stay in the run's state folder.
 */
import * as fs from 'fs';
import * as path from 'path';
import type { PlanOp } from '../sim/plan/ops';
import { must, run } from './exec';
import { EmuEnvironmentError, RunRecord } from './state';
import { EmuProgram, registerEmuProgram, TakenOp } from './programs';

/** A `proto bird` route the plan expects BIRD to install: its namespace (real name) and destination as `ip route` prints it. */
export interface BirdRoute {
  netns: string;
  dst: string;
}

/** A route BIRD installs itself, learned over its sessions (`proto bird`): waited for, not made. */
function byBird(op: PlanOp): boolean {
  return (op.op === 'route.add' || op.op === 'route.blackhole') && op.proto === 'bird';
}

/** What a step asks of BIRD: the configurations to (re)read, per namespace, and the routes to wait for. */
export function birdStep(ops: TakenOp[]): { configs: { netns: string; config: string }[]; routes: BirdRoute[] } {
  const configs: { netns: string; config: string }[] = [], routes: BirdRoute[] = [];
  for (const { netns, op } of ops) {
    if (op.op === 'bird.config') configs.push({ netns, config: op.config });
    else if (op.op === 'route.add' || op.op === 'route.blackhole') routes.push({ netns, dst: op.dst.replace(/\/32$/, '') });
  }
  return { configs, routes };
}

/** How long BIRD may take to bring a session up and install a route (its connect delay is 2 s, retries every 5 s). */
const ROUTE_WAIT_MS = 30_000;

export class BirdDaemons implements EmuProgram {
  private readonly running = new Map<string, { pid: number; socket: string; config: string }>();
  /** The routes the step being carried out asks BIRD for: `configure` reads them off its ops, `settle` waits for them. */
  private stepRoutes: BirdRoute[] = [];

  constructor(private readonly record: RunRecord) {}

  private get dir(): string {
    return path.join(this.record.dir, 'bird');
  }

  /** Starts BIRD in `netns` with `config`, or has the running one read it anew (`birdc configure`). */
  async readConfig(netns: string, config: string): Promise<void> {
    fs.mkdirSync(this.dir, { recursive: true });
    const file = (ext: string) => path.join(this.dir, `${netns}.${ext}`);
    fs.writeFileSync(file('conf'), `log "${file('log')}" all;\n${config}`);
    const r = this.running.get(netns);
    if (r) {
      const out = await run('birdc', ['-s', r.socket, 'configure']);
      if (out.exitCode !== 0 || !/Reconfigured|Reconfiguration in progress/.test(out.stdout)) {
        throw new EmuEnvironmentError(`BIRD in ${netns} refused its new configuration: ${(out.stdout + out.stderr).trim()}`);
      }
      r.config = config;
      return;
    }
    // BIRD forks once its configuration is read and its socket is open.
    await must('ip', ['netns', 'exec', netns, ...this.record.marked(['bird', '-c', file('conf'), '-s', file('ctl'), '-P', file('pid')])]);
    const pid = Number(fs.readFileSync(file('pid'), 'utf8').trim());
    this.record.addPid(pid);
    this.running.set(netns, { pid, socket: file('ctl'), config });
  }

  /**
   * Waits until BIRD has installed every route in `routes`; the ones still missing after
   * ROUTE_WAIT_MS are returned (the sessions did not come up).
   */
  async waitForRoutes(routes: BirdRoute[]): Promise<BirdRoute[]> {
    const deadline = Date.now() + ROUTE_WAIT_MS;
    let missing = routes;
    while (missing.length) {
      const namespaces = [...new Set(missing.map((r) => r.netns))];
      const shown = await Promise.all(namespaces.map((n) => run('ip', ['-j', '-n', n, 'route', 'show', 'proto', 'bird'])));
      const have = new Set(namespaces.flatMap((n, i) => (JSON.parse(shown[i].stdout || '[]') as { dst: string }[]).map((r) => `${n} ${r.dst}`)));
      missing = missing.filter((r) => !have.has(`${r.netns} ${r.dst}`));
      if (!missing.length || Date.now() > deadline) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return missing;
  }

  /** A step's configurations: BIRD (re)reads each; its routes are kept for `settle`. */
  async configure(ops: TakenOp[]): Promise<void> {
    const step = birdStep(ops);
    this.stepRoutes = step.routes;
    for (const c of step.configs) await this.readConfig(c.netns, c.config);
  }

  /** The step's routes (`configure` read them): waited for until BIRD has installed them. */
  async settle(): Promise<void> {
    const missing = await this.waitForRoutes(this.stepRoutes);
    if (missing.length) throw new EmuEnvironmentError(`BIRD did not install ${missing.map((r) => `${r.dst} in ${r.netns}`).join(', ')} (no BGP session came up in time; its log is in ${this.record.dir}/bird)`);
  }

  /** Stops BIRD in a namespace about to be deleted, or every one at the end of the run. */
  stopAll(): void {
    for (const [netns, r] of this.running) {
      try {
        process.kill(r.pid, 'SIGTERM');
      } catch {
        // already gone
      }
      this.record.forgetPid(r.pid);
      this.running.delete(netns);
    }
  }
}

registerEmuProgram({ name: 'bird', takes: (op) => op.op === 'bird.config' || byBird(op), start: (record) => new BirdDaemons(record) }, { rank: 10 });
