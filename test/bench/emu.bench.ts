/**
 * emu setup speed (issue 5): the seed lab's setup batched, against one `ip` process per
 * operation; and the cost per container in a 50-container lab. Needs root.
 */
import { Model } from '../../sim/model/model';
import { endpointOf, hostOf, swarmNetwork } from '../../sim/model/world';
import { EmuBackend } from '../../emu/backend';
import { processCount, must } from '../../emu/exec';
import { commandPhases, emuNamer } from '../../emu/translate';
import { opToCommands } from '../../sim/plan/iproute2';
import { parseScenario } from '../../sim/scenario/load';
import { PlanOp } from '../../sim/plan/ops';
import { BenchResult } from './result';
import { dockerStep } from '../../sim/docker/session';

const SETUP = ['docker swarm init', 'docker swarm join --token <...> 198.51.100.10:2377', 'docker network create --driver=overlay --attachable test-net'];

function scenario(containers: number) {
  const steps = [['r0', SETUP[0]], ['r1', SETUP[1]], ['r0', SETUP[2]]];
  for (let i = 0; i < containers; i++) steps.push([i % 2 ? 'r1' : 'r0', `docker run -dit --name c${i} --network test-net ubuntu:14.04`]);
  return parseScenario('bench.yaml', `name: emu-bench\nhosts:\n  r0: {}\n  r1: {}\nsteps:\n${steps.map(([h, c]) => `  - ${h}: ${c}`).join('\n')}\n`);
}

/** Runs the scenario's docker steps through the model into a fresh emu backend; returns seconds and processes. */
async function timeSetup(containers: number, onePerOp: boolean): Promise<{ seconds: number; processes: number; ops: number }> {
  const s = scenario(containers);
  const backend = await EmuBackend.create(s, { quiet: true });
  const model = new Model(s.hosts, 1);
  let ops = 0;
  const apply = async (list: PlanOp[]) => {
    ops += list.length;
    if (!onePerOp) return backend.apply(list, model.world);
    // The baseline: the same plan as explain prints it (devices made in the host namespace and moved), one ip/bridge process per command.
    const p = commandPhases(list.flatMap((op) => opToCommands(op, emuNamer(backend.names))), backend.names);
    for (const n of p.add) {
      backend.record.addNamespaces([n]);
      processCount.value++;
      await must('ip', ['netns', 'add', n]);
    }
    for (const b of [...p.underlay, ...p.hostBatches, ...p.otherBatches]) {
      for (const line of b.ip) { processCount.value++; await must('ip', ['-n', b.netns, ...line]); }
      for (const line of b.bridge) { processCount.value++; await must('bridge', ['-n', b.netns, ...line]).catch(() => undefined); }
    }
  };
  try {
    const p0 = processCount.value;
    const t0 = process.hrtime.bigint();
    // emu makes the underlay segment with the first step's work; the baseline's cables need it first.
    if (onePerOp) await backend.apply([], model.world).then(() => backend.settle());
    await apply(model.boot());
    if (onePerOp) await backend.apply([], model.world);
    for (const step of s.steps) {
      const out = dockerStep(model, step.on, step.command.split(' ').slice(1));
      await apply(out.ops);
    }
    await backend.settle();
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    await checkContainersExist(backend, model);
    return { seconds, processes: processCount.value - p0, ops };
  } finally {
    await backend.close();
  }
}

/** The timing counts only if the kernel holds what the model says: every container's eth0 with its address. */
async function checkContainersExist(backend: EmuBackend, model: Model): Promise<void> {
  for (const h of model.world.hostOrder) {
    for (const c of Object.values(hostOf(model.world, h).containers)) {
      const out = await must('ip', ['-n', backend.names.netns(h, c.sandbox), '-br', 'addr', 'show', 'dev', 'eth0']);
      const entry = c.networks[0];
      const net = swarmNetwork(model.world.swarm, entry.networkId);
      const ip = net && entry.endpointId ? endpointOf(net, entry.endpointId)?.ip : undefined;
      if (!ip || !out.includes(ip)) throw new Error(`container ${c.name}: eth0 lacks ${ip}: ${out}`);
    }
  }
}

export async function benchEmu(): Promise<BenchResult[]> {
  if (process.getuid?.() !== 0) return [{ name: 'emu: skipped (needs root)', value: 0, unit: '' }];
  // The kernel frees a deleted namespace in the background, holding locks a new one needs;
  // a pause between runs keeps one run's teardown out of the next one's timing.
  const quiet = () => new Promise((r) => setTimeout(r, 2000));
  const batched = await timeSetup(2, false);
  await quiet();
  const baseline = await timeSetup(2, true);
  // Runs on this shared machine vary by a few ms a container: three pairs, the median one.
  const perContainer: number[] = [];
  for (let i = 0; i < 3; i++) {
    await quiet();
    const big = await timeSetup(50, false);
    await quiet();
    const base = await timeSetup(0, false);
    perContainer.push(((big.seconds - base.seconds) / 50) * 1000);
  }
  perContainer.sort((a, b) => a - b);
  return [
    { name: 'emu: seed lab setup (swarm init … both containers), batched', value: Number(batched.seconds.toFixed(3)), unit: 's', goal: `< one process per op (${baseline.seconds.toFixed(3)} s)` },
    { name: 'emu: seed lab setup, one ip process per operation (baseline)', value: Number(baseline.seconds.toFixed(3)), unit: 's' },
    { name: 'emu: seed lab processes, batched vs one per op', value: batched.processes, unit: `processes (vs ${baseline.processes} for ${baseline.ops} ops)` },
    { name: 'emu: 50-container lab, per container (median of 3)', value: Number(perContainer[1].toFixed(1)), unit: 'ms', goal: '<= 10' },
    { name: 'emu: the same, best and worst of 3', value: Number(perContainer[0].toFixed(1)), unit: `ms (worst ${perContainer[2].toFixed(1)} ms)` },
  ];
}
