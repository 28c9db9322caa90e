/** Hop events per second for a long ping flood between two containers (issue 4's goal: 2 M/s on one core). */
import * as fs from 'fs';
import * as path from 'path';
import { parseScenario } from '../../sim/scenario/load';
import { runScenario } from '../../sim/runner/runner';
import { SimBackend } from '../../sim/kernel/backend';
import { seedFromName } from '../../sim/model/ids';
import { BenchResult } from './result';
import { hostOf } from '../../sim/model/world';
import { ExecContext } from '../../sim/backend';

export async function benchFlood(count = 100000): Promise<BenchResult[]> {
  const text = fs.readFileSync(path.resolve('scenarios', 'overlay-standalone.yaml'), 'utf8');
  const s = parseScenario('seed', text);
  s.steps = s.steps.filter((st) => !st.command.startsWith('ping') && !st.command.includes('network rm'));
  const backend = new SimBackend(seedFromName(s.name));
  const { model } = await runScenario(s, backend);
  const c = Object.values(hostOf(model.world, 'r0').containers)[0];
  const ctx = { world: model.world, container: c.id, namesVisible: false };
  // The goal is a long flood's rate: a first, shorter flood lets the JIT compile the datapath
  // (the first 20k echoes run at about half speed), and its rate is reported on its own.
  const warm = flood(backend, c.sandbox, ctx, WARM_UP_ECHOES);
  // Five floods after it; this shared machine varies by ±15% from run to run, more in its slow phases.
  const runs: { hopsPerSecond: number; eventsPerSecond: number; hops: number }[] = [];
  for (let i = 0; i < 5; i++) {
    runs.push(flood(backend, c.sandbox, ctx, count));
  }
  runs.sort((a, b) => a.hopsPerSecond - b.hopsPerSecond);
  const median = runs[2];
  return [
    { name: `sim: hop events per second (ping flood, ${count} echoes, one core), median of 5`, value: Math.round(median.hopsPerSecond), unit: 'hops/s', goal: '>= 2000000' },
    { name: 'sim: the same, best of 5', value: Math.round(runs[4].hopsPerSecond), unit: 'hops/s' },
    { name: 'sim: the same, worst of 5', value: Math.round(runs[0].hopsPerSecond), unit: 'hops/s' },
    { name: `sim: the first flood of a fresh process (${WARM_UP_ECHOES} echoes, JIT warming up)`, value: Math.round(warm.hopsPerSecond), unit: 'hops/s' },
    { name: 'sim: scheduler events per second in the median flood', value: Math.round(median.eventsPerSecond), unit: 'events/s' },
    { name: 'sim: hop events in one flood', value: median.hops, unit: 'hops' },
  ];
}

const WARM_UP_ECHOES = 20000;

function flood(backend: SimBackend, sandbox: string, ctx: ExecContext, count: number): { hopsPerSecond: number; eventsPerSecond: number; hops: number } {
  const dp = backend.datapath;
  const hops0 = dp.hopCount, events0 = dp.clock.executed;
  const t0 = process.hrtime.bigint();
  const out = backend.execSync('r0', sandbox, ['ping', '-f', '-q', '-n', '-c', String(count), '10.0.1.4'], ctx);
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (!out.stdout.includes(`${count} received`)) throw new Error(`flood lost packets: ${out.stdout}`);
  const hops = dp.hopCount - hops0;
  return { hopsPerSecond: hops / seconds, eventsPerSecond: (dp.clock.executed - events0) / seconds, hops };
}
