/**
 * The command registry as both shells use it: what is modelled runs, anything else is
 * refused the same way (`cnmlab: not modelled: …`, exit 127) and fails the step unless it
 * expects exit 127; pipelines and `;`; `@NETWORK` for a network's namespace; the tutorial's
 * docker commands and their --help texts.
 */
import { execFileSync } from 'child_process';
import { lookupCommand, notModelled } from '../sim/commands/registry';
import fc from 'fast-check';
import { parseCommandLine } from '../sim/commands/cmdline';
import { shellWords } from '../sim/text/words';
import { posixToJs, runFilter } from '../sim/commands/filters';
import { dockerHelp, findDockerCommand } from '../sim/commands/docker';
import { runSim, twoNodes } from './helpers/run';
import { sessionScenario } from '../lab/save';
import { LiveIo } from '../sim/backend';
import { typedTwoNodeLab } from './helpers/lab';

const modelled = (line: string, shell: 'host' | 'container') => {
  const p = parseCommandLine(line);
  if (!p.ok) throw new Error('unparsed');
  return lookupCommand(p.list[0][0], shell).modelled;
};

describe('lookupCommand', () => {
  test.each([
    ['docker network create --driver=overlay --attachable test-net', 'host'],
    ['docker run -dit --name ubuntu0 --network test-net ubuntu:14.04', 'host'],
    ['docker swarm join --token <...> 198.51.100.10:2377', 'host'],
    ["docker network inspect -f '{{.Options}}' back", 'host'],
    ['docker exec ubuntu0 ping -c 1 ubuntu1', 'host'],
    ['docker container stop ubuntu0', 'host'],
    ['docker node ls', 'host'],
    ['docker network ls --filter driver=overlay', 'host'],
    ['ip netns exec 1-abcdefghij bridge fdb show dev vxlan0', 'host'],
    ['ip -d link show vxlan0', 'host'],
    ['ip a', 'container'],
    ['ip neigh', 'container'],
    ['ping -c 2 -s 1600 -M do ubuntu1', 'container'],
    ['ping ubuntu1 -c 1', 'container'],
    ['getent hosts db', 'container'],
    ['cat /etc/resolv.conf', 'container'],
    ['grep -vi inet', 'container'],
    ['head -3', 'container'],
    ['ip -j -s link show eth0', 'container'],
    ['iptables -A INPUT -p udp --dport 4789 -j DROP', 'host'],
    ['iptables -L INPUT -v -n -x', 'container'],
    ['iptables-save -c', 'container'],
    ['ip route get 10.0.1.4', 'container'],
    ['ip -n @test-net -d link show vxlan0', 'host'],
    ['bridge link', 'host'],
    ['ping -t 1 -I eth0 -c 1 10.0.1.4', 'container'],
  ] as const)('modelled: %s (%s)', (line, shell) => {
    expect(modelled(line, shell)).toBe(true);
  });

  test.each([
    ['ls', 'container'],
    ['touch /tmp/x', 'host'],
    ['cat /etc/shadow', 'container'],
    ['cat /etc/resolv.conf', 'host'],
    ['docker logs ubuntu0', 'host'],
    ['docker run -P busybox', 'host'],
    ['docker network prune --filter until=1h', 'host'],
    ['docker exec ubuntu0 ls', 'host'],
    ['docker', 'host'],
    ['ip netns exec 1-abcdefghij sh', 'host'],
    ['ip netns exec 1-abcdefghij docker ps', 'host'],
    ['ip netns add x', 'host'],
    ['ip route get 10.0.0.1 from 10.0.0.2 iif eth0', 'container'],
    ['ip -n x route', 'container'],
    ['ip -n 1-abc netns exec y ip link', 'host'],
    ['ip rule', 'container'],
    ['ip netns ls', 'container'],
    ['ping -R ubuntu1', 'container'],
    ['ping -M probe ubuntu1', 'container'],
    ['nsenter -t 1 -n ip addr', 'host'],
    ['echo -n x', 'container'],
  ] as const)('not modelled: %s (%s)', (line, shell) => {
    expect(modelled(line, shell)).toBe(false);
  });

  test('the refusal names the command, on stderr, with exit 127', () => {
    expect(lookupCommand(['docker', 'node', 'promote', 'x'], 'host')).toEqual({ modelled: false, refusal: notModelled('docker node promote x') });
  });
});

describe('command lines', () => {
  test('pipes and ; split; quotes keep operators; shell constructs are named', () => {
    expect(parseCommandLine("ip addr | grep 'a|b' ; echo x")).toEqual({ ok: true, list: [[['ip', 'addr'], ['grep', 'a|b']], [['echo', 'x']]] });
    expect(parseCommandLine('docker swarm join --token <...> 198.51.100.10:2377')).toEqual({ ok: true, list: [[['docker', 'swarm', 'join', '--token', '<...>', '198.51.100.10:2377']]] });
    for (const [line, construct] of [['echo x > /tmp/f', 'redirection'], ['a && b', '&&'], ['a || b', '||'], ['sleep 1 &', '&'], ['echo $HOME', '$ expansion'], ['echo `id`', 'command substitution'], ['ls *', 'glob'], ['(id)', 'subshell']]) {
      expect(parseCommandLine(line)).toEqual({ ok: false, kind: 'unsupported', construct });
    }
    expect(parseCommandLine('| grep x')).toMatchObject({ ok: false, kind: 'syntax' });
  });

  test("one word syntax: a step's line and shellWords read the same words wherever the line has no operator, and fail on the same open quote", () => {
    // Characters sh's words are made of (quotes, backslashes, blanks) and plain ones; no operator, expansion or glob.
    const char = fc.constantFrom("'", '"', '\\', ' ', '\t', 'a', 'b', '-', '=', '.', '/', ':', '0');
    fc.assert(fc.property(fc.array(char, { maxLength: 24 }).map((cs) => cs.join('')), (line) => {
      let words: string[] | { error: string };
      try {
        words = shellWords(line);
      } catch (e) {
        words = { error: (e as Error).message };
      }
      const parsed = parseCommandLine(line);
      if ('error' in words) expect(parsed).toEqual({ ok: false, kind: 'syntax', message: words.error });
      else expect(parsed).toEqual({ ok: true, list: words.length ? [[words]] : [] });
    }), { seed: 14, numRuns: 2000 });
    // Where they differ, on purpose: shellWords reads one command's words, so an operator is an ordinary character there.
    expect(shellWords("a|b ';' c;d $x")).toEqual(['a|b', ';', 'c;d', '$x']);
  });

  test('filters: grep (basic and extended), head, tail, wc as GNU prints them', () => {
    const text = 'one\ntwo (2)\nthree\n';
    expect(runFilter(['grep', 'o'], text)).toEqual({ stdout: 'one\ntwo (2)\n', stderr: '', exitCode: 0 });
    expect(runFilter(['grep', '-v', 'o'], text).stdout).toBe('three\n');
    expect(runFilter(['grep', '-c', 'zzz'], text)).toEqual({ stdout: '0\n', stderr: '', exitCode: 1 });
    expect(runFilter(['grep', '(2)'], text).stdout).toBe('two (2)\n');
    expect(runFilter(['grep', '-E', 'one|three'], text).stdout).toBe('one\nthree\n');
    expect(runFilter(['grep', 'one\\|three'], text).stdout).toBe('one\nthree\n');
    expect(posixToJs('[[:digit:]]\\+', false)).toBe('[0-9]+');
    expect(runFilter(['head', '-n', '1'], text).stdout).toBe('one\n');
    expect(runFilter(['head', '-2'], text).stdout).toBe('one\ntwo (2)\n');
    expect(runFilter(['tail', '-n1'], text).stdout).toBe('three\n');
    expect(runFilter(['wc', '-l'], text).stdout).toBe('3\n');
    expect(runFilter(['wc'], text).stdout).toBe('      3       4      18\n');
  });
});

describe('docker --help', () => {
  test('node ls prints docker/cli 20.10\'s text (help hidden, flags sorted, aligned)', () => {
    expect(dockerHelp(findDockerCommand(['node', 'ls'])!.command)).toBe(`
Usage:  docker node ls [OPTIONS]

List nodes in the swarm

Aliases:
  ls, list

Options:
  -f, --filter filter   Filter output based on conditions provided
      --format string   Pretty-print nodes using a Go template
  -q, --quiet           Only display IDs
`);
  });

  test('stop shows an int default; network create wraps a long usage as pflag does', () => {
    expect(dockerHelp(findDockerCommand(['stop'])!.command)).toContain('\nOptions:\n  -t, --time int   Seconds to wait for stop before killing it (default 10)\n');
    const create = dockerHelp(findDockerCommand(['network', 'create'])!.command);
    expect(create).toContain('      --aux-address map      Auxiliary IPv4 or IPv6 addresses used by\n                             Network driver (default map[])\n');
    expect(create).toContain('  -d, --driver string        Driver to manage the Network (default "bridge")\n');
    expect(create.split('\n').every((l) => l.length <= 79)).toBe(true);
  });

  test('run\'s --sysctl is a MapOpts, whose String() of no values is map[]: pflag prints it as the default', () => {
    expect(dockerHelp(findDockerCommand(['run'])!.command)).toContain('      --sysctl map           Sysctl options (default map[])\n');
  });
});

describe('a run with the registry', () => {
  test('an unmodelled step answers the same refusal, runs nothing, and fails unless it expects exit 127', async () => {
    const { result } = await runSim(twoNodes(`  - r0: docker run -dit --name ubuntu0 --network test-net ubuntu:14.04
  - ubuntu0: ls /
  - ubuntu0: ls /
    expect: { exit: 127, stderr: 'cnmlab: not modelled: ls /' }
  - r0: docker logs ubuntu0
    expect: { exit: 127 }
  - r0: docker node ls
    expect: { exit: 0 }
`));
    const ls = result.steps[4];
    expect(ls).toMatchObject({ exitCode: 127, stdout: '', stderr: 'cnmlab: not modelled: ls /\n', unmodelled: 'ls /', ok: false });
    expect(ls.checks).toEqual([{ what: 'modelled', expected: 'a command cnmlab models', got: 'not modelled: ls /', ok: false }]);
    expect(result.steps[5].ok).toBe(true);
    expect(result.steps[6]).toMatchObject({ unmodelled: 'docker logs ubuntu0', ok: true });
    expect(result.steps[7]).toMatchObject({ exitCode: 0, ok: true });
    expect(result.steps[7].unmodelled).toBeUndefined();
    expect(result.ok).toBe(false);
  });

  test('a command the registry takes but the model finds it cannot model as it runs (a second swarm) fails the same way unless it expects exit 127', async () => {
    const { result } = await runSim(`name: second-swarm
hosts: { r0: {}, r1: {}, r2: {} }
steps:
  - r0: docker swarm init
  - r2: docker swarm init
  - r2: docker swarm init
    expect: { exit: 127 }
`);
    expect(result.steps[1]).toMatchObject({ exitCode: 127, stderr: expect.stringMatching(/^cnmlab: not modelled: docker swarm init on r2/), unmodelled: 'docker swarm init', ok: false });
    expect(result.steps[1].checks).toEqual([{ what: 'modelled', expected: 'a command cnmlab models', got: 'not modelled: docker swarm init', ok: false }]);
    expect(result.steps[2]).toMatchObject({ unmodelled: 'docker swarm init', ok: true });
  });

  test("a modelled program's own refusal of what cnmlab does not model (ip's, exit 2) marks the step not modelled, and verify fails it", async () => {
    const { result } = await runSim(`name: program-refusals
hosts: { r0: {} }
steps:
  - r0: ip link del eth0
    expect: { exit: 2 }
  - r0: ip route del 198.51.100.0/24
    expect: { exit: 2 }
  - r0: ip link add x type dummy
`);
    expect(result.steps[0]).toMatchObject({ exitCode: 2, stderr: "cnmlab: ip link del eth0: deleting a device the model made (Docker's, a driver's, the host's NIC) is not modelled; one ip link add made is\n", unmodelled: 'ip link del eth0', ok: false });
    expect(result.steps[0].checks).toContainEqual({ what: 'modelled', expected: 'a command cnmlab models', got: 'not modelled: ip link del eth0', ok: false });
    expect(result.steps[1]).toMatchObject({ exitCode: 2, stderr: "cnmlab: ip route del of an address's connected route (proto kernel): not modelled (the model derives it from the address)\n", unmodelled: 'ip route del 198.51.100.0/24', ok: false });
    expect(result.steps[2]).toMatchObject({ exitCode: 0, ok: true });
    expect(result.steps[2].unmodelled).toBeUndefined();
  });

  test.each([
    ['r0', 'ip link add x type veth'],
    ['r0', 'iptables -t mangle -L'],
    ['r0', 'iptables-save -t raw'],
    ['r0', 'sysctl net.core.somaxconn'],
    ['r0', 'sysctl -a'],
    ['r0', 'tc qdisc add dev eth0 root netem delay 10ms 5ms 25%'],
    ['r0', 'tc qdisc add dev eth0 root tbf rate 1mbit burst 32kb latency 50ms peakrate 2mbit'],
    ['r0', 'ss -x'],
    ['r0', 'ping -c 1 -I lo 198.51.100.11'],
    ['r0', 'docker network create -d macvlan -o macvlan_mode=passthru -o parent=eth0 m'],
    ['bb0', 'ping -c 1 -I lo 198.51.100.11'],
  ])("%s: `%s`: every `cnmlab: … not modelled` refusal marks the step not modelled", async (where, line) => {
    const { result } = await runSim(`name: refusal-field
hosts: { r0: {}, r1: {} }
steps:
  - r0: docker run -dit --name bb0 busybox
  - ${where}: ${line}
`);
    const step = result.steps[1];
    expect(step.stderr).toMatch(/^cnmlab: .*not modelled/m);
    expect(step).toMatchObject({ unmodelled: line, ok: false });
  });

  test('pipelines and ; run registry commands and filter their output', async () => {
    const { result } = await runSim(twoNodes(`  - r0: docker run -dit --name ubuntu0 --network test-net ubuntu:14.04
  - ubuntu0: ip addr | grep inet | wc -l
  - ubuntu0: hostname ; ip route | head -n 1
  - ubuntu0: ip addr | hostname
  - r0: ip netns ls | grep -c x ; docker ps -q | wc -l
`));
    expect(result.steps[4]).toMatchObject({ stdout: '3\n', exitCode: 0 });
    expect(result.steps[5].stdout).toMatch(/^[0-9a-f]{12}\ndefault via 172\.18\.0\.1 dev eth1 \n$/);
    expect(result.steps[6]).toMatchObject({ exitCode: 127, stderr: 'cnmlab: not modelled: ip addr | hostname\n', unmodelled: 'hostname' });
    // The first pipeline's grep finds nothing (exit 1); the line's status is the last pipeline's.
    expect(result.steps[7]).toMatchObject({ stdout: '0\n1\n', exitCode: 0 });
  });

  test('@NETWORK names the overlay namespace of a network on the host', async () => {
    const { result } = await runSim(twoNodes(`  - r0: docker run -dit --name ubuntu0 --network test-net ubuntu:14.04
  - r0: ln -s /var/run/docker/netns /var/run/netns
  - r0: ip netns exec @test-net ip -d link show vxlan0
  - r0: ip netns exec @test-net bridge fdb show dev vxlan0 | grep -c permanent
  - r1: ip netns exec @test-net ip link
  - r0: ip netns exec @nonet ip link
  - r0: ip netns exec @bridge ip link
`));
    expect(result.steps[5].stdout).toMatch(/vxlan id 4097 /);
    expect(result.steps[6]).toMatchObject({ exitCode: 0 });
    expect(result.steps[7]).toMatchObject({ exitCode: 255, stderr: 'cnmlab: @test-net: test-net has no namespace on r1 yet (no container there uses it)\n' });
    expect(result.steps[8]).toMatchObject({ exitCode: 255, stderr: 'cnmlab: @nonet: no network named nonet on r0\n' });
    expect(result.steps[9]).toMatchObject({ exitCode: 255, stderr: 'cnmlab: @bridge: bridge is a bridge network, which has no namespace of its own\n' });
  });
});

describe('the text filters agree with GNU grep and coreutils', () => {
  const input = '1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536\n    inet 127.0.0.1/8 scope host lo\n2: eth0@if7: <BROADCAST> mtu 1450\n    inet 10.0.1.2/24 brd 10.0.1.255 scope global eth0\n\nlast line (x) a+b\n';
  const real = (argv: string[]) => {
    try {
      return { stdout: execFileSync(argv[0], argv.slice(1), { input, encoding: 'utf8', env: { LC_ALL: 'C' } }), exitCode: 0 };
    } catch (e) {
      const err = e as { stdout: string; status: number };
      return { stdout: err.stdout, exitCode: err.status };
    }
  };
  test.each([
    [['grep', 'inet']], [['grep', '-v', 'inet']], [['grep', '-c', 'mtu']], [['grep', '-i', 'LO:']], [['grep', '-vc', 'x']], [['grep', '-q', 'eth0']],
    [['grep', '-E', 'lo|eth0@']], [['grep', 'lo\\|eth0@']], [['grep', 'a+b']], [['grep', '-E', 'a\\+b']], [['grep', '(x)']], [['grep', '-F', '10.0.1.']],
    [['grep', '[[:digit:]]\\{3\\}']], [['grep', '-E', '^ +inet [0-9.]+/24']], [['grep', '\\<lo\\>']], [['grep', 'nomatch']],
    [['head', '-n', '2']], [['head', '-3']], [['head', '-n', '-2']], [['tail', '-n', '2']], [['tail', '-1']], [['wc', '-l']], [['wc', '-w']], [['wc', '-c']], [['wc', '-lw']], [['wc']],
  ])('%j', (argv) => {
    const ours = runFilter(argv, input);
    expect({ stdout: ours.stdout, exitCode: ours.exitCode }).toEqual(real(argv));
  });
});

describe('ip link set', () => {
  test('ip link set DEV down is modelled: the ping drops at that device (link down); mtu too', async () => {
    const { result, backend } = await runSim(twoNodes(`  - r0: docker run -dit --name ubuntu0 --network test-net ubuntu:14.04
  - r1: docker run -dit --name ubuntu1 --network test-net --cap-add NET_ADMIN ubuntu:14.04
  - ubuntu1: ip link set eth0 down
  - ubuntu1: ip link show eth0 | head -n 1
  - ubuntu0: ping -c 1 -W 1 ubuntu1
  - ubuntu1: ip link set dev eth0 up
  - ubuntu1: ip link set eth9 up
  - ubuntu1: ip link set eth0 mtu 1400
`));
    expect(result.steps[5]).toMatchObject({ exitCode: 0, stdout: '', stderr: '' });
    // A device that was up keeps its qdisc when down (emu shows noqueue).
    expect(result.steps[6].stdout).toMatch(/eth0@if\d+: <BROADCAST,MULTICAST> mtu 1450 qdisc noqueue state DOWN/);
    expect(result.steps[7].exitCode).toBe(1);
    const flow = backend.flows().find((f) => f.id === result.steps[7].flows[0])!;
    expect(flow.hops.find((h) => h.event === 'drop')).toMatchObject({ host: 'r1', device: 'eth0', reason: 'link down' });
    expect(result.steps[8]).toMatchObject({ exitCode: 0 });
    expect(result.steps[9]).toMatchObject({ exitCode: 1, stderr: 'Cannot find device "eth9"\n' });
    expect(result.steps[10]).toMatchObject({ exitCode: 0, stderr: '' });
  });
});

describe('the lab types through the same registry', () => {
  /** A terminal that keeps what a command showed as it came, and sends Ctrl-C after `ctrlCAfterMs`. */
  function atTerminal(ctrlCAfterMs?: number): { live: LiveIo; shown: () => string; done: () => void } {
    const ctrlC = new AbortController();
    const timer = ctrlCAfterMs === undefined ? undefined : setTimeout(() => ctrlC.abort(), ctrlCAfterMs);
    let shown = '';
    return { live: { write: (_stream, text) => void (shown += text), interrupt: ctrlC.signal }, shown: () => shown, done: () => clearTimeout(timer) };
  }

  test('a refused line runs nothing; only a lone command streams; Ctrl-C ends a list', async () => {
    const lab = await typedTwoNodeLab('  - r0: docker run -dit --name ubuntu0 --network test-net ubuntu:14.04\n');
    const term = lab.terminal();
    term.switchTo('r0');
    expect(await term.line('docker exec -it ubuntu0 sh')).toEqual({ kind: 'moved', output: '' });

    const refused = await term.line('ping -c 1 ubuntu0 ; touch /x');
    expect(refused).toMatchObject({ kind: 'step', result: { exitCode: 127, stdout: '', stderr: 'cnmlab: not modelled: touch /x\n', unmodelled: 'touch /x', ok: false } });

    // A filtered ping shows nothing as it comes: what a command streams must be the start of the line's output.
    const piped = atTerminal();
    const tail = await term.line('ping -c 2 ubuntu0 | tail -n 1', piped.live);
    expect(tail).toMatchObject({ kind: 'step', result: { exitCode: 0, stdout: expect.stringMatching(/^rtt min\/avg\/max\/mdev = [^\n]*\n$/) } });
    expect(piped.shown()).toBe('');

    const lone = atTerminal();
    const ping = await term.line('ping -c 1 ubuntu0', lone.live);
    expect(lone.shown()).toMatch(/^PING ubuntu0 /);
    expect(ping.kind === 'step' && ping.result.stdout.startsWith(lone.shown())).toBe(true);

    const stopped = atTerminal(1500);
    const list = await term.line('ping ubuntu0 ; hostname', stopped.live);
    stopped.done();
    expect(list).toMatchObject({ kind: 'step', result: { interrupted: true } });
    expect(list.kind === 'step' && list.result.stdout).toMatch(/packets transmitted[^\n]*\n[^\n]*\n$/);
    // Saved, a list is kept as typed: only a lone ping becomes ping -c N.
    expect(sessionScenario(lab)).toContain('- ubuntu0: ping ubuntu0 ; hostname\n');
  });
});
