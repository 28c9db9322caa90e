/**
 * The ranked registry under the drivers', the paths' and the comparison's registries lists
 * by rank and refuses a name registered twice. What changes the kernel is decided from one
 * iptables command table, the sim kernel's.
 */
import { comparePart, registerPart } from '../sim/compare';
import { changesKernel } from '../sim/commands/registry';
import { driverNamed, registerDriver } from '../sim/model/drivers';
import { RankedRegistry } from '../sim/registry/ranked';
import { registerPath } from '../sim/trace/paths';
import { overlayPath } from '../sim/trace/paths/overlay';

describe('the ranked registry', () => {
  test('lists its members by rank, not in the order they registered', () => {
    const r = new RankedRegistry<string>('thing');
    r.register('c', 'third', 30);
    r.register('a', 'first', 10);
    expect(r.list()).toEqual(['first', 'third']);
    r.register('b', 'second', 20);
    expect(r.list()).toEqual(['first', 'second', 'third']);
    expect([r.get('b'), r.get('d')]).toEqual(['second', undefined]);
  });

  test('refuses a name registered twice, and a rank another member holds', () => {
    const r = new RankedRegistry<string>('thing');
    r.register('a', 'first', 10);
    expect(() => r.register('a', 'other', 20)).toThrow('thing a is registered twice');
    expect(() => r.register('b', 'other', 10)).toThrow("thing b: rank 10 is already a's");
    expect(r.list()).toEqual(['first']);
  });

  test("the drivers', the paths' and the comparison's registries refuse a name registered twice", () => {
    expect(() => registerDriver('bridge', driverNamed('bridge')!, { rank: 991 })).toThrow('network driver bridge is registered twice');
    expect(() => registerPath('overlay', overlayPath, { rank: 992 })).toThrow('path model overlay is registered twice');
    expect(() => registerPart(comparePart('overlay')!, { rank: 993 })).toThrow('comparison part overlay is registered twice');
  });
});

describe('what changes the kernel', () => {
  test.each([
    [['iptables', '-A', 'INPUT', '-j', 'DROP'], true],
    [['iptables', '--zero'], true],
    [['iptables', '-t', 'nat', '--new-chain', 'X'], true],
    [['iptables', '-L', 'INPUT', '-n'], false],
    [['iptables', '--list-rules'], false],
    [['ip', 'route', 'add', '10.0.0.0/24', 'dev', 'eth0'], true],
    [['ip', 'r', 'show'], false],
    [['ip', '-n', 'ns1', 'link', 'set', 'eth0', 'up'], true],
    [['ip', '-d', '-n', 'ns1', 'link', 'show'], false],
    [['ip', 'netns', 'exec', 'ns1', 'tc', 'qdisc', 'add', 'dev', 'eth0', 'root', 'netem', 'loss', '5%'], true],
    [['ip', 'netns', 'exec', 'ns1', 'iptables', '-D', 'INPUT', '1'], true],
    [['ip', 'netns', 'exec', 'ns1', 'iptables', '-S'], false],
    [['ip', 'netns', 'exec', 'ns1', 'calicoctl', 'node', 'status'], false],
  ] as const)('%j: %s', (argv, changes) => {
    expect(changesKernel([...argv], 'host')).toBe(changes);
  });
});
