/** The emu plan translation (no root needed): coalesced steps, devices created in place, batches per namespace. */
import { Model } from '../sim/model/model';
import { PlanOp } from '../sim/plan/ops';
import { toPhases } from '../emu/translate';
import { NameMap } from '../emu/names';
import { dockerStep } from '../sim/docker/session';

const STEPS: [string, string][] = [
  ['r0', 'docker swarm init'],
  ['r1', 'docker swarm join --token <...> 198.51.100.10:2377'],
  ['r0', 'docker network create --driver=overlay --attachable test-net'],
  ['r0', 'docker run -dit --name ubuntu0 --network test-net ubuntu:14.04'],
  ['r1', 'docker run -dit --name ubuntu1 --network test-net ubuntu:14.04'],
];

/** The seed lab's whole setup as one plan, as the emu backend applies coalesced steps. */
function seedPlan(): PlanOp[] {
  const m = new Model([{ name: 'r0', underlay: '198.51.100.10' }, { name: 'r1', underlay: '198.51.100.11' }], 7);
  const ops = [...m.boot()];
  for (const [host, cmd] of STEPS) ops.push(...dockerStep(m, host, cmd.split(' ').slice(1)).ops);
  return ops;
}

describe('emu translation of the plan', () => {
  const names = new NameMap('cnm0a1b2c');
  const plan = seedPlan();
  const phases = toPhases(plan, names);
  const lines = (netns: string) => [...phases.hostBatches, ...phases.otherBatches].filter((b) => b.netns === netns).flatMap((b) => b.ip.map((l) => l.join(' ')));

  test('every vxlan device is created in its overlay namespace, on the host that planned it, never moved', () => {
    const adds = plan.filter((op): op is Extract<PlanOp, { op: 'link.add' }> => op.op === 'link.add' && op.kind.type === 'vxlan');
    const moves = plan.filter((op): op is Extract<PlanOp, { op: 'link.move' }> => op.op === 'link.move');
    expect(adds.length).toBe(4); // ingress and test-net on both hosts
    for (const add of adds) {
      const move = moves.find((m) => m.host === add.host && m.name === add.name)!;
      const hostLines = lines(names.netns(add.host, add.host));
      expect(hostLines.filter((l) => l.startsWith(`link add ${add.name} `))).toEqual([expect.stringContaining(` netns ${names.netns(add.host, move.to)} type vxlan id ${(add.kind as { vni: number }).vni} `)]);
      expect(hostLines.filter((l) => l.startsWith(`link set dev ${add.name} netns`))).toEqual([]);
    }
  });

  test('veth ends are born in the namespaces the plan moves them to', () => {
    for (const host of ['r0', 'r1']) {
      const veths = lines(names.netns(host, host)).filter((l) => l.includes(' type veth '));
      expect(veths.length).toBeGreaterThan(0);
      const ownNamespace = names.netns(host, host).replace(/\./g, '\\.');
      for (const l of veths) expect(l).toMatch(new RegExp(`peer name \\S+ (mtu \\d+ )?(txqueuelen \\d+ )?netns ${ownNamespace}\\.\\S+$`));
    }
    expect(plan.some((op) => op.op === 'link.move')).toBe(true);
    expect([...phases.hostBatches, ...phases.otherBatches].flatMap((b) => b.ip).filter((l) => l[0] === 'link' && l[1] === 'set' && l.includes('netns'))).toEqual([]);
  });

  test('each container namespace gets one batch that names, addresses and raises eth0 and eth1', () => {
    const sandboxes = plan.filter((op): op is Extract<PlanOp, { op: 'link.rename' }> => op.op === 'link.rename' && op.to === 'eth0').map((op) => names.netns(op.host, op.netns));
    expect(sandboxes.length).toBeGreaterThanOrEqual(2);
    for (const ns of sandboxes) {
      expect(phases.otherBatches.filter((b) => b.netns === ns)).toHaveLength(1);
      expect(lines(ns)).toEqual(expect.arrayContaining([expect.stringMatching(/^link set dev veth\w+ name eth0$/), expect.stringMatching(/^addr add [\d.]+\/\d+ brd \+ dev eth0$/), 'link set dev eth0 up']));
    }
  });
});
