/** The emu plan translation (no root needed): coalesced steps, devices made where libnetwork moves them, numbered as its moves leave them, batches per namespace. */
import { Model } from '../sim/model/model';
import { PlanOp } from '../sim/plan/ops';
import { toPhases } from '../emu/translate';
import { NameMap } from '../emu/names';
import { dockerStep } from '../sim/docker/session';
import { restartDockerWithClusterStore } from '../sim/model/drivers/overlay-kv';

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

  test("an overlay namespace's bridge sends no link-local IGMP reports (the engine's containers met none); a host's bridges are left as Docker leaves them", () => {
    const bridges = plan.filter((op): op is Extract<PlanOp, { op: 'link.add' }> => op.op === 'link.add' && op.kind.type === 'bridge');
    const quiet = phases.setup.filter((c) => c.key === 'net.ipv4.igmp_link_local_mcast_reports' && c.value === '0').map((c) => c.netns);
    const overlays = bridges.filter((b) => b.netns !== b.host).map((b) => names.netns(b.host, b.netns));
    expect(overlays.length).toBe(4);
    expect(quiet.sort()).toEqual(overlays.sort());
    expect(bridges.some((b) => b.netns === b.host)).toBe(true);
  });

  test("every vxlan device is made by its host namespace's batch directly in its overlay namespace (the kernel opens its socket in the requester's namespace, as after libnetwork's move), numbered as the move would have left it", () => {
    const adds = plan.filter((op): op is Extract<PlanOp, { op: 'link.add' }> => op.op === 'link.add' && op.kind.type === 'vxlan' && op.name !== 'testvxlan');
    const moves = plan.filter((op): op is Extract<PlanOp, { op: 'link.move' }> => op.op === 'link.move');
    expect(adds.length).toBe(4); // ingress and test-net on both hosts
    for (const add of adds) {
      const move = moves.find((m) => m.host === add.host && m.name === add.name)!;
      const hostLines = lines(names.netns(add.host, add.host));
      const made = hostLines.find((l) => l.startsWith(`link add ${add.name} netns ${names.netns(add.host, move.to)} index `) && l.includes(` type vxlan id ${(add.kind as { vni: number }).vni} `));
      expect(made).toBeDefined();
      expect(hostLines).not.toContain(`link set dev ${add.name} netns ${names.netns(add.host, move.to)}`);
    }
  });

  test("the overlay driver's one-time test vxlan device is made and removed in each host namespace before the first overlay's", () => {
    for (const host of ['r0', 'r1']) {
      const hostLines = lines(names.netns(host, host));
      const probe = hostLines.findIndex((l) => l.startsWith('link add testvxlan ') && l.includes(' type vxlan id 1 '));
      expect(probe).toBeGreaterThanOrEqual(0);
      expect(hostLines[probe + 1]).toBe('link del dev testvxlan');
      expect(hostLines.findIndex((l) => / type vxlan id 409\d /.test(l))).toBeGreaterThan(probe);
      expect(hostLines.filter((l) => l.startsWith('link add testvxlan '))).toHaveLength(1);
    }
  });

  test('no device is moved: each veth end libnetwork moves is made where it goes, the container end numbered first from the host\'s counter (ubuntu0: eth0 14, its overlay peer 15)', () => {
    const moveLines = [...phases.hostBatches, ...phases.otherBatches].flatMap((b) => b.ip).filter((l) => l[0] === 'link' && l[1] === 'set' && l.includes('netns'));
    expect(moveLines).toEqual([]);
    const r0 = lines(names.netns('r0', 'r0'));
    const ubuntu0 = plan.find((op): op is Extract<PlanOp, { op: 'netns.add' }> => op.op === 'netns.add' && op.host === 'r0' && /^[0-9a-f]{12}$/.test(op.netns))!;
    const made = r0.find((l) => l.includes(` peer name `) && l.includes(` netns ${names.netns('r0', ubuntu0.netns)} index `) && l.includes('mtu 1450'))!;
    expect(made).toMatch(new RegExp(`^link add veth\\w+ netns ${names.netns('r0', '1-').replace(/\./g, '\\.')}\\w+ index 15 .* type veth peer name veth\\w+ netns ${names.netns('r0', ubuntu0.netns).replace(/\./g, '\\.')} index 14 mtu 1450 txqueuelen 0$`));
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

describe('emu translation of the classic overlay mode', () => {
  test('a dockerd on a store asks for the store; a classic overlay namespace for a miss handler, by its real name, after its vxlan0 exists', () => {
    const m = new Model([{ name: 'r0', underlay: '198.51.100.10' }, { name: 'r1', underlay: '198.51.100.11' }], 7);
    const ops = [...m.boot()];
    const dockerd = m.change((tx) => restartDockerWithClusterStore(tx, 'r0', ['--cluster-store=etcd://198.51.100.10:2379', '--cluster-advertise=eth0:2376']));
    expect(toPhases(dockerd, new NameMap('cnm0a1b2c')).kvStart).toBe(true);
    ops.push(...dockerd);
    const create = dockerStep(m, 'r0', ['network', 'create', '-d', 'overlay', 'multihost']);
    const run = dockerStep(m, 'r0', ['run', '-dit', '--name', 'c0', '--net', 'multihost', 'busybox']);
    const names = new NameMap('cnm0a1b2c');
    const id = create.outcome && 'stdout' in create.outcome ? create.outcome.stdout.trim() : '';
    const phases = toPhases(run.ops, names);
    expect(phases.kvStart).toBe(false);
    expect(phases.missWatch).toEqual([{ real: names.netns('r0', `1-${id.slice(0, 10)}`), host: 'r0', netns: `1-${id.slice(0, 10)}`, dev: 'vxlan0', network: id, subnet: '10.0.0.0/24' }]);
    const at = run.ops.findIndex((op) => op.op === 'miss.watch');
    expect(run.ops.findIndex((op) => op.op === 'link.rename' && op.to === 'vxlan0')).toBeLessThan(at);
  });
});
