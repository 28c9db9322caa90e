/**
 * The command registry has one tier: the rows of a driver's programs are registered by its
 * front end, with the code that answers them and a rank, as the shell's own rows are by the
 * registry; docs/commands.md lists every row by rank. The ranked registry under it (and under
 * the drivers', the paths' and the comparison's) refuses a name registered twice. The
 * iptables command table and the unwrapping of `ip -n NS` / `ip netns exec NS` are one each.
 */
import { comparePart, registerPart } from '../sim/compare';
import { commandsMarkdown } from '../sim/commands/doc';
import { changesKernel, form, lookupCommand, registerCommand, registeredCommands } from '../sim/commands/registry';
import { driverNamed, registerDriver } from '../sim/model/drivers';
import { RankedRegistry } from '../sim/registry/ranked';
import { changing, hostCommandOf, hostCommandsOf } from '../sim/runner/host-commands';
import { Model } from '../sim/model/model';
import { SimBackend } from '../sim/kernel/backend';
// dockerd's lifecycle registers its rows as the shell loads it (jest's setup loads the drivers only).
import '../sim/runner/control-plane';
import { registerPath } from '../sim/trace/paths';
import { overlayPath } from '../sim/trace/paths/overlay';

describe("a driver's programs, registered by its front end, and dockerd's lifecycle", () => {
  // Each program a front end registers, with a line of each of its forms.
  const moved: [driver: string, program: string, lines: string[][]][] = [
    ['calico', 'calicoctl', [['node', 'run', '--name=r0', '--ip=10.0.0.1'], ['node', 'status'], ['get', 'ippool', '-o', 'wide'], ['patch', 'pool', 'p', '-p', '{}'], ['get', 'wep', '-a']]],
    ['weave', 'weave', [['launch', '--no-fastdp', '10.0.0.2'], ['status', 'peers'], ['ps'], ['expose'], ['env']]],
    ['flannel', 'etcdctl', [['put', 'k', 'v'], ['set', 'k', 'v'], ['get', 'k', '--prefix']]],
    ['flannel', 'flanneld', [['--ip-masq']]],
    ['flannel', 'systemctl', [['restart', 'docker']]],
    ['flannel', 'cat', [['/run/flannel/subnet.env']]],
    ['dockerd', 'systemctl', [['stop', 'docker'], ['start', 'docker']]],
    ['dockerd', 'dockerd', [['--cluster-store=etcd://10.0.0.1:2379', '--cluster-advertise=eth0:2376']]],
  ];

  test.each(moved)('%s: %s is in the registry, answered by its front end, and in the generated docs', (driver, program, lines) => {
    expect(hostCommandsOf(driver)).toContain(program);
    const first = lookupCommand([program, ...lines[0]], 'host');
    if (!first.modelled) throw new Error(`${program} ${lines[0].join(' ')} is not modelled`);
    const row = first.entry;
    expect(registeredCommands()).toContain(row);
    expect(row).toMatchObject({ shells: ['host'], answeredBy: 'model' });
    expect(row.forms).toHaveLength(lines.length);
    for (const args of lines) {
      const l = lookupCommand([program, ...args], 'host');
      expect(l).toMatchObject({ modelled: true, entry: row });
      expect(hostCommandOf([program, ...args])).toBeDefined();
    }
    const md = commandsMarkdown();
    for (const f of row.forms) expect(md).toContain(`| \`${f.synopsis.replace(/\|/g, '\\|')}\` | host | the model`);
  });

  test('what a front end did not register is refused, and answered by no front end', () => {
    expect(lookupCommand(['systemctl', 'reload', 'docker'], 'host').modelled).toBe(false);
    expect(lookupCommand(['cat', '/etc/hosts'], 'host').modelled).toBe(false);
    // dockerd's own stop and start are a row of their own beside flannel's restart: a form of neither is answered by neither.
    expect(hostCommandOf(['systemctl', 'stop', 'docker', 'now'])).toBeUndefined();
    expect(hostCommandOf(['dockerd', '--debug'])).toBeUndefined();
    expect(hostCommandOf(['cat', '/etc/hosts'])).toBeUndefined();
    // A program of the shell's own is the backend's, not a front end's.
    expect(hostCommandOf(['ip', 'link'])).toBeUndefined();
  });

  test("the docs list the rows by rank: Docker's CLI, the front ends' rows, then the shell's own programs", () => {
    const programs = registeredCommands().map((e) => e.program);
    expect(programs.slice(0, 10)).toEqual(['docker', 'calicoctl', 'weave', 'etcdctl', 'flanneld', 'systemctl', 'cat', 'systemctl', 'dockerd', 'ln']);
    const md = commandsMarkdown();
    const at = (synopsis: string) => md.indexOf(`| \`${synopsis}`);
    expect(at('docker …')).toBeGreaterThan(0);
    expect(at('calicoctl node run')).toBeGreaterThan(at('docker …'));
    expect(at('dockerd --cluster-store')).toBeGreaterThan(at('cat /run/flannel/subnet.env'));
    expect(at('ln -s')).toBeGreaterThan(at('dockerd --cluster-store'));
  });

  test('a row declaring forms another row declares is refused', () => {
    const again = { program: 'systemctl', shells: ['host' as const], answeredBy: 'model' as const, summary: 'again', forms: [form(['restart', 'docker'], 'systemctl restart docker')] };
    expect(() => registerCommand(again, { rank: 990 })).toThrow('command row systemctl restart docker is registered twice');
    expect(() => registerCommand({ ...again, forms: [form(['stop', 'docker'], 'systemctl stop docker')] }, { rank: 250 })).toThrow("rank 250 is already systemctl restart docker's");
  });
});

test("a host command's change is applied in one go: one that staged it (Tx.stage, docker restart's) is an internal error naming the command, not stages lost quietly", async () => {
  const model = new Model([{ name: 'r0', underlay: '198.51.100.10' }], 1);
  await expect(changing(model, new SimBackend(1), ['systemctl', 'stop', 'docker'], (tx) => {
    tx.stage();
    return { stdout: '', stderr: '', exitCode: 0 };
  })).rejects.toThrow('internal error: systemctl stop docker staged its change (Tx.stage), which changing applies in one go');
});

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
    // A refused registration holds no rank: 20 is free for b, then b's.
    r.register('b', 'second', 20);
    expect(() => r.register('c', 'other', 20)).toThrow("thing c: rank 20 is already b's");
    expect(r.list()).toEqual(['first', 'second']);
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
