/**
 * The engine's iptables commands for a namespace other than a host's own (a container's
 * resolver chains) wait in the kernel until something reads that namespace's tables: a
 * packet at a hook, `iptables`, `iptables-save`. What is read then is what running each
 * command when given would have made; a namespace nothing reads never runs them.
 */
import { SimKernel } from '../sim/kernel/kernel';
import { KernelError } from '../sim/kernel/objects';
import { iptablesCommand, iptablesSave } from '../sim/kernel/iptables';
import { PlanOp } from '../sim/plan/ops';
import { containerByName } from '../sim/runner/shell';
import { runSim, twoNodes } from './helpers/run';

/** The resolver's chains as libnetwork's setupIPTable gives a container (its port drawn per container). */
const RESOLVER_RULES = [
  ['-t', 'nat', '-N', 'DOCKER_OUTPUT'],
  ['-t', 'nat', '-N', 'DOCKER_POSTROUTING'],
  ['-t', 'nat', '-I', 'OUTPUT', '-d', '127.0.0.11', '-j', 'DOCKER_OUTPUT'],
  ['-t', 'nat', '-I', 'POSTROUTING', '-d', '127.0.0.11', '-j', 'DOCKER_POSTROUTING'],
  ['-t', 'nat', '-A', 'DOCKER_OUTPUT', '-d', '127.0.0.11', '-p', 'udp', '--dport', '53', '-j', 'DNAT', '--to-destination', '127.0.0.11:45841'],
  ['-t', 'nat', '-A', 'DOCKER_POSTROUTING', '-s', '127.0.0.11', '-p', 'udp', '--sport', '45841', '-j', 'SNAT', '--to-source', ':53'],
];

/** A kernel with host h0 and a namespace `sb` on it, given `rules` there and on h0's own namespace. */
function kernelWith(rules: string[][]): SimKernel {
  const k = new SimKernel(1);
  const ops: PlanOp[] = [
    { op: 'host.add', host: 'h0', iface: 'eth0', address: '198.51.100.10/24' },
    { op: 'netns.add', host: 'h0', netns: 'sb' },
    ...rules.map((args): PlanOp => ({ op: 'iptables', host: 'h0', netns: 'sb', args })),
    ...rules.map((args): PlanOp => ({ op: 'iptables', host: 'h0', netns: 'h0', args })),
  ];
  for (const op of ops) k.apply(op);
  return k;
}

describe('engine iptables commands for a container namespace', () => {
  test('wait until listed, and list as the host namespace that ran them at once', () => {
    const k = kernelWith(RESOLVER_RULES);
    const sb = k.netns('h0', 'sb'), root = k.netns('h0', 'h0');
    expect(root.netfilter!.deferred).toBeUndefined();
    expect(sb.netfilter!.deferred).toHaveLength(RESOLVER_RULES.length);
    expect(sb.netfilter!.tables.size).toBe(0);
    // Waiting tables count as active, so a packet takes the hooks' path, where they are run.
    expect(sb.netfilter!.active).toBe(true);
    const listed = iptablesCommand(sb, ['-t', 'nat', '-S']);
    expect(listed.exitCode).toBe(0);
    expect(listed.stdout).toContain('-A DOCKER_OUTPUT -d 127.0.0.11/32 -p udp -m udp --dport 53 -j DNAT --to-destination 127.0.0.11:45841');
    expect(listed.stdout).toBe(iptablesCommand(root, ['-t', 'nat', '-S']).stdout);
    expect(sb.netfilter!.deferred).toBeUndefined();
  });

  test('iptables-save runs them first', () => {
    const k = kernelWith(RESOLVER_RULES);
    const when = new Date(Date.UTC(2026, 0, 1));
    const saved = iptablesSave(k.netns('h0', 'sb'), [], when);
    expect(saved.stdout).toContain('-A DOCKER_POSTROUTING -s 127.0.0.11/32 -p udp -m udp --sport 45841 -j SNAT --to-source :53');
    expect(saved.stdout).toBe(iptablesSave(k.netns('h0', 'h0'), [], when).stdout);
  });

  test('a command of the engine the tables refuse is still the engine\'s bug, found when they are read', () => {
    const k = kernelWith([]);
    k.apply({ op: 'iptables', host: 'h0', netns: 'sb', args: ['-t', 'nat', '-A', 'NO_SUCH_CHAIN', '-j', 'RETURN'] });
    k.apply({ op: 'iptables', host: 'h0', netns: 'sb', args: ['-t', 'nat', '-N', 'AFTER_IT'] });
    expect(() => iptablesCommand(k.netns('h0', 'sb'), ['-t', 'nat', '-S'])).toThrow(KernelError);
    // What the engine gave after it is not lost: the next reader runs it.
    expect(iptablesCommand(k.netns('h0', 'sb'), ['-t', 'nat', '-S']).stdout).toContain('-N AFTER_IT');
    expect(() => k.apply({ op: 'iptables', host: 'h0', netns: 'h0', args: ['-t', 'nat', '-A', 'NO_SUCH_CHAIN', '-j', 'RETURN'] })).toThrow(KernelError);
  });

  test('a ping by name runs the resolver chains of the namespaces its packets cross, and no others', async () => {
    const { result, model, backend } = await runSim(twoNodes(`  - r0: docker run -dit --name c0 --network test-net busybox
  - r1: docker run -dit --name c1 --network test-net busybox
  - r1: docker run -dit --name idle --network test-net busybox
  - c0: ping -c 1 c1
    expect: { exit: 0, path: overlay }
`));
    expect(result.ok).toBe(true);
    const tables = (name: string) => {
      const c = containerByName(model, name)!;
      return backend.kernel.netns(c.host, c.sandbox).netfilter!;
    };
    // c0's query to 127.0.0.11 went through its DNAT; the echo reached c1 through its hooks.
    expect(tables('c0').deferred).toBeUndefined();
    expect(tables('c0').tables.get('nat')!.chains.get('DOCKER_OUTPUT')!.rules.length).toBeGreaterThan(0);
    expect(tables('c1').deferred).toBeUndefined();
    expect(tables('idle').deferred!.length).toBeGreaterThan(0);
  });
});
