/**
 * verify --mode both compares each step's exit code and output, sim against emu, with what
 * differs by nature normalised (issue 15), unless --no-compare-output says not to.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { compareOutputs, normaliseOutput, StepOutput } from '../sim/trace/compare';
import { printsUnordered } from '../sim/commands/registry';
import { runSim, twoNodes } from './helpers/run';
import { describeWith } from './helpers/env';
import { cnmlab } from './helpers/tshark';

const step = (command: string, stdout: string, extra: Partial<StepOutput> = {}): StepOutput => ({ index: 0, on: 'ubuntu0', command, exitCode: 0, stdout, stderr: '', ...extra });

describe('normaliseOutput', () => {
  test('times, round trips, ids, tokens, kernel-picked MACs, ephemeral ports and route lifetimes become placeholders', () => {
    const text = [
      '64 bytes from 10.0.1.4: icmp_seq=1 ttl=64 time=0.315 ms',
      '1 packets transmitted, 1 received, 0% packet loss, time 1021ms',
      'rtt min/avg/max/mdev = 0.186/0.214/0.242/0.028 ms',
      '    cache expires 596sec mtu 1350 ',
      'd60c2031b38ff7a78b2a40678c7873ac7ce57d602a540c8c5eca61ffe0f637a4 1ce7f838cada zoybk4a54lkqslpo3vplr52tk',
      'docker swarm join --token SWMTKN-1-3y66jfmis9ka0u4omqo6odmneaft6sh0q16sq3g1jw99cixszr-32ovgasqldnm2p96jvxu8v9ho 198.51.100.10:2377',
      '    link/ether e2:36:f2:d8:08:89 brd ff:ff:ff:ff:ff:ff',
      '    link/ether 02:42:0a:00:01:04 brd ff:ff:ff:ff:ff:ff',
      'Address:\t127.0.0.11#53 from 10.0.1.2:41234',
    ].join('\n');
    expect(normaliseOutput(text).split('\n')).toEqual([
      '64 bytes from 10.0.1.4: icmp_seq=1 ttl=64 time=<t> ms',
      '1 packets transmitted, 1 received, 0% packet loss, time <t>ms',
      'rtt min/avg/max/mdev = <rtt> ms',
      '    cache expires <t>sec mtu 1350 ',
      '<id> <id> <id>',
      'docker swarm join --token <token> 198.51.100.10:2377',
      '    link/ether <mac> brd <mac>',
      '    link/ether 02:42:0a:00:01:04 brd <mac>',
      'Address:\t127.0.0.11#53 from 10.0.1.2:<port>',
    ]);
  });

  test("emu's stand-in for a host's NIC (a veth into the segment's namespace) reads as the NIC", () => {
    const emu = '2: eth0@if4: <BROADCAST,MULTICAST> mtu 1500 qdisc noqueue state DOWN mode DEFAULT group default qlen 1000\n    link/ether 86:af:04:5a:92:f5 brd ff:ff:ff:ff:ff:ff link-netns _underlay\n';
    const sim = '2: eth0: <BROADCAST,MULTICAST> mtu 1500 qdisc noqueue state DOWN mode DEFAULT group default qlen 1000\n    link/ether 1e:44:fa:0e:15:60 brd ff:ff:ff:ff:ff:ff\n';
    expect(normaliseOutput(emu)).toBe(normaliseOutput(sim));
  });

  test("with ip -d, the stand-in's kind line goes too, and a bridge's running timers become placeholders", () => {
    const tail = 'addrgenmode eui64 numtxqueues 2 numrxqueues 2 gso_max_size 65536 gso_max_segs 65535 tso_max_size 524280 tso_max_segs 65535 gro_max_size 65536 ';
    const emu = `2: eth0@if3: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP mode DEFAULT group default qlen 1000\n    link/ether 4a:d2:ae:1c:5a:1c brd ff:ff:ff:ff:ff:ff link-netns _underlay promiscuity 0  allmulti 0 minmtu 68 maxmtu 65535 \n    veth ${tail}\n`;
    const sim = `2: eth0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP mode DEFAULT group default qlen 1000\n    link/ether da:a1:75:7d:48:c5 brd ff:ff:ff:ff:ff:ff promiscuity 0  allmulti 0 minmtu 68 maxmtu 65535 ${tail}\n`;
    expect(normaliseOutput(emu)).toBe(normaliseOutput(sim));
    expect(normaliseOutput('hello_timer    0.00 gc_timer  299.61 forward_delay_timer   14.63 x')).toBe('hello_timer <t> gc_timer <t> forward_delay_timer <t> x');
    expect(normaliseOutput('bridge_id 8000.32:5b:1d:28:91:4 designated_root 8000.2:42:a:0:1:1')).toBe('bridge_id 8000.<mac> designated_root 8000.02:42:0a:00:01:01');
  });
});

describe('compareOutputs', () => {
  test("a container's pid is each run's own: in inspect's JSON, and wherever a template prints State.Pid", () => {
    expect(normaliseOutput('            "Pid": 19290,\n')).toBe('            "Pid": <pid>,\n');
    expect(compareOutputs([step('docker inspect ubuntu0', '"Pid": 2714,\n"ExitCode": 0,\n')], [step('docker inspect ubuntu0', '"Pid": 88123,\n"ExitCode": 0,\n')])).toBeUndefined();
    expect(compareOutputs([step("docker inspect -f '{{.State.Pid}}' ubuntu0", '2714\n')], [step("docker inspect -f '{{.State.Pid}}' ubuntu0", '88123\n')])).toBeUndefined();
    // Elsewhere a number is what the program says.
    expect(compareOutputs([step("docker inspect -f '{{.RestartCount}}' ubuntu0", '0\n')], [step("docker inspect -f '{{.RestartCount}}' ubuntu0", '1\n')])?.where).toBe("step 1 ubuntu0: docker inspect -f '{{.RestartCount}}' ubuntu0 (stdout line 1)");
    expect(compareOutputs([step('docker inspect ubuntu0', '"ExitCode": 0,\n')], [step('docker inspect ubuntu0', '"ExitCode": 1,\n')])).toBeDefined();
  });

  test('the same output after normalising agrees', () => {
    expect(compareOutputs([step('ping -c 1 x', 'time=0.2 ms\n')], [step('ping -c 1 x', 'time=0.31 ms\n')])).toBeUndefined();
  });

  test('a line a program prints in one mode only is a disagreement, named by step, stream and line', () => {
    const d = compareOutputs([step('nslookup beta', 'Server:\n\nNon-authoritative answer:\nName:\tbeta\n')], [step('nslookup beta', 'Server:\n\nName:\tbeta\n')]);
    expect(d).toEqual({ where: 'step 1 ubuntu0: nslookup beta (stdout line 3)', sim: '"Non-authoritative answer:"', emu: '"Name:\\tbeta"' });
  });

  test("a kernel-random MAC that happens to begin 02:42 (1 in 16,384) is still the kernel's: only a 02:42 MAC both modes print is Docker's", () => {
    const link = (mac: string) => `2: br0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500\n    link/ether ${mac} brd ff:ff:ff:ff:ff:ff\n    link/ether 02:42:0a:00:01:02 brd ff:ff:ff:ff:ff:ff\n`;
    expect(compareOutputs([step('ip link', link('6e:1d:52:a0:33:9c'))], [step('ip link', link('02:42:79:93:20:b2'))])).toBeUndefined();
    expect(compareOutputs([step('ip link', link('02:42:79:93:20:b2'))], [step('ip link', link('be:50:11:2e:07:41'))])).toBeUndefined();
    // Docker's MACs both print still count, in place: printed on other lines they disagree.
    const swapped = compareOutputs([step('ip link', link('02:42:0a:00:01:03'))], [step('ip link', link('02:42:0a:00:01:02').replace(/02:42:0a:00:01:02(?= brd ff:ff:ff:ff:ff:ff\n$)/, '02:42:0a:00:01:03'))]);
    expect(swapped).toEqual({ where: 'step 1 ubuntu0: ip link (stdout line 2)', sim: '"    link/ether 02:42:0a:00:01:03 brd <mac>"', emu: '"    link/ether 02:42:0a:00:01:02 brd <mac>"' });
  });

  test("a peer's namespace: sim's Docker-like link-netnsid N and emu's link-netns NAME (its namespaces are all named) agree; not the other way round, nor anything else on the line", () => {
    const veth = (ref: string, rest = 'promiscuity 1  allmulti 1 minmtu 68 maxmtu 65535 ') => `5: veth67a9e1b@if4: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue master docker0 state UP mode DEFAULT group default \n    link/ether 9a:09:b2:22:9b:96 brd ff:ff:ff:ff:ff:ff ${ref} ${rest}\n`;
    expect(compareOutputs([step('ip -d link', veth('link-netnsid 0'))], [step('ip -d link', veth('link-netns 5ccb6468218f'))])).toBeUndefined();
    expect(compareOutputs([step('ip link', veth('link-netnsid 1', ''))], [step('ip link', veth('link-netns 1-2a3b4c5d6e', ''))])).toBeUndefined();
    expect(compareOutputs([step('ip -d link', veth('link-netns 1-2a3b4c5d6e'))], [step('ip -d link', veth('link-netnsid 0'))])?.where).toBe('step 1 ubuntu0: ip -d link (stdout line 2)');
    expect(compareOutputs([step('ip -d link', veth('link-netnsid 0'))], [step('ip -d link', veth('link-netns 5ccb6468218f', 'promiscuity 0  allmulti 0 minmtu 68 maxmtu 65535 '))])?.where).toBe('step 1 ubuntu0: ip -d link (stdout line 2)');
    // In a dump compared as a set, the id and the name sort alike.
    const fdb = (ref0: string, ref1: string) => `02:42:0a:00:00:03 dst 198.51.100.11 ${ref0} self permanent\n02:42:0a:00:00:02 dst 198.51.100.10 ${ref1} self permanent\n`;
    expect(compareOutputs([step('bridge fdb show dev vxlan0', fdb('link-netnsid 0', 'link-netnsid 0'))], [step('bridge fdb show dev vxlan0', fdb('link-netns r1', 'link-netns r1'))])).toBeUndefined();
    // Within one output an id goes with one name and a name with one id: two peers are not one, nor one peer two
    // (sorted, the dump's empty last line comes first: the second entry is line 3).
    expect(compareOutputs([step('bridge fdb show dev vxlan0', fdb('link-netnsid 0', 'link-netnsid 1'))], [step('bridge fdb show dev vxlan0', fdb('link-netns r1', 'link-netns r2'))])).toBeUndefined();
    expect(compareOutputs([step('bridge fdb show dev vxlan0', fdb('link-netnsid 0', 'link-netnsid 0'))], [step('bridge fdb show dev vxlan0', fdb('link-netns r1', 'link-netns r2'))])?.where).toBe('step 1 ubuntu0: bridge fdb show dev vxlan0 (stdout line 3)');
    expect(compareOutputs([step('bridge fdb show dev vxlan0', fdb('link-netnsid 0', 'link-netnsid 1'))], [step('bridge fdb show dev vxlan0', fdb('link-netns r1', 'link-netns r1'))])?.where).toBe('step 1 ubuntu0: bridge fdb show dev vxlan0 (stdout line 3)');
    // ip -j prints the id (link_netnsid) whether or not the namespace has a name: compared as printed.
    const json = (id: number) => `[{"ifindex":5,"ifname":"veth67a9e1b","link_netnsid":${id}}]\n`;
    expect(compareOutputs([step('ip -j link', json(0))], [step('ip -j link', json(0))])).toBeUndefined();
    expect(compareOutputs([step('ip -j link', json(0))], [step('ip -j link', json(1))])?.where).toBe('step 1 ubuntu0: ip -j link (stdout line 1)');
  });

  test('exit codes are compared first', () => {
    expect(compareOutputs([step('ping x', '', { exitCode: 1 })], [step('ping x', '', { exitCode: 2 })])?.where).toBe('step 1 ubuntu0: ping x (exit code)');
  });

  test('a step whose probes a random draw lost is judged by its exit code; any other is judged by its output', () => {
    const sim = step('ping -c 3 x', 'icmp_seq=1\nicmp_seq=3\n2 received\n');
    const emu = step('ping -c 3 x', 'icmp_seq=2\n1 received\n');
    expect(compareOutputs([sim], [emu], new Set([1]))).toBeUndefined();
    expect(compareOutputs([sim], [emu])?.where).toBe('step 1 ubuntu0: ping -c 3 x (stdout line 1)');
    expect(compareOutputs([sim], [{ ...emu, exitCode: 1 }], new Set([1]))?.where).toBe('step 1 ubuntu0: ping -c 3 x (exit code)');
  });

  test("a rule that matches at random has its counters normalised, and only such a rule", () => {
    const random = ' -p udp -m udp --dport 4789 -m statistic --mode random --probability 0.50000000000 -j DROP';
    const sim = `       6      804 DROP       17   --  *      *       0.0.0.0/0            0.0.0.0/0            udp dpt:4789 statistic mode random probability 0.50000000000\n[6:804] -A INPUT${random}\n`;
    const emu = `      11     1474 DROP       17   --  *      *       0.0.0.0/0            0.0.0.0/0            udp dpt:4789 statistic mode random probability 0.50000000000\n[11:1474] -A INPUT${random}\n`;
    expect(normaliseOutput(sim)).toBe(normaliseOutput(emu));
    const fixed = (n: number) => `       ${n}      134 DROP       17   --  *      *       0.0.0.0/0            0.0.0.0/0            udp dpt:4789\n`;
    expect(normaliseOutput(fixed(1))).not.toBe(normaliseOutput(fixed(2)));
  });

  test('a bridge FDB dump is compared as a set of lines (the kernel hashes its order)', () => {
    const a = step('bridge fdb show dev vxlan0', 'a dst 1 self permanent\nb dst 1 self permanent\n');
    const b = step('bridge fdb show dev vxlan0', 'b dst 1 self permanent\na dst 1 self permanent\n');
    expect(compareOutputs([a], [b])).toBeUndefined();
    expect(compareOutputs([{ ...a, command: 'cat x' }], [{ ...b, command: 'cat x' }])).toBeDefined();
  });

  test("ss's sockets are compared as a set of lines: within a protocol the kernel lists them in its per-namespace hash order", () => {
    const manager = (first: number, second: number) => `Netid State  Recv-Q Send-Q Local Address:Port Peer Address:PortProcess
udp   UNCONN 0      0                  *:7946            *:*          
tcp   LISTEN 0      4096               *:${first}            *:*          
tcp   LISTEN 0      4096               *:${second}            *:*          
`;
    expect(compareOutputs([step('ss -lntu', manager(7946, 2377))], [step('ss -lntu', manager(2377, 7946))])).toBeUndefined();
    expect(compareOutputs([step('ss -lntu', manager(7946, 2377))], [step('ss -lntu', manager(7946, 2376))])).toBeDefined();
  });

  test("a listener's Recv-Q (its accept queue: a peer's connection not yet accepted) is timing's, not the program's", () => {
    const listener = (queued: number, sendQ: number) => `Netid State  Recv-Q Send-Q Local Address:Port Peer Address:PortProcess\ntcp   LISTEN ${queued}      ${sendQ}               *:7946            *:*          \n`;
    expect(compareOutputs([step('ss -lntu', listener(0, 4096))], [step('ss -lntu', listener(1, 4096))])).toBeUndefined();
    expect(compareOutputs([step('ss -lntu', listener(0, 4096))], [step('ss -lntu', listener(0, 128))])).toBeDefined();
    expect(compareOutputs([step('ss -lnt', 'State  Recv-Q Send-Q Local Address:Port Peer Address:PortProcess\nLISTEN 0      4096 *:2377 *:*\n')], [step('ss -lnt', 'State  Recv-Q Send-Q Local Address:Port Peer Address:PortProcess\nLISTEN 2      4096 *:2377 *:*\n')])).toBeUndefined();
  });

  test('a neighbour dump (ip neigh and its prefixes, arp) is compared as a set of lines; ip netns is not one', () => {
    const x = '10.0.1.4 dev eth0 lladdr 02:42:0a:00:01:04 ref 1 used 0/0/0 probes 4 REACHABLE\n';
    const y = '10.0.1.99 dev eth0  ref 1 used 0/0/0 probes 5 INCOMPLETE\n';
    for (const command of ['ip neigh', 'ip n show dev eth0', 'ip -4 neighbour', 'arp -n', 'ip -n ns1 neigh', 'docker exec b0 ip neigh | grep eth0']) expect(compareOutputs([step(command, x + y)], [step(command, y + x)])).toBeUndefined();
    for (const command of ['ip netns', 'ip route']) expect(compareOutputs([step(command, x + y)], [step(command, y + x)])).toBeDefined();
  });

  test('ss -tlnp, arp -a and ip -br neigh are no unordered forms: the registry refuses each before anything runs, in either mode, so the refusal decides the verdict and no lines are left to order', async () => {
    const commands = ['ss -tlnp', 'arp -a', 'ip -br neigh'];
    for (const command of commands) expect(printsUnordered(command.split(' '))).toBe(false);
    // The shell both modes share refuses them (sim/runner/shell.ts): emu starts no ss either.
    const { result } = await runSim(twoNodes(commands.map((command) => `  - r0: ${command}\n    expect: {exit: 127}\n`).join('')));
    const refused = result.steps.slice(3);
    expect(refused.map((r) => [r.exitCode, r.stdout, r.stderr])).toEqual(commands.map((command) => [127, '', `cnmlab: not modelled: ${command}\n`]));
    expect(compareOutputs(refused, refused)).toBeUndefined();
    // Had one mode run the real ss, its exit code would disagree before any line was read.
    const listening = 'State  Recv-Q Send-Q Local Address:Port Peer Address:PortProcess\nLISTEN 0      4096               *:2377            *:*          \n';
    expect(compareOutputs(refused, [{ ...refused[0], exitCode: 0, stdout: listening, stderr: '' }, ...refused.slice(1)])?.where).toBe('step 4 r0: ss -tlnp (exit code)');
  });
});

test("bridge fdb show: a learned entry's line ends with the space bridge(8) prints before its empty state (as emu shows)", async () => {
  const { backend, model } = await runSim(twoNodes(`  - r0: docker run -dit --name ubuntu0 --network test-net ubuntu:14.04
  - r1: docker run -dit --name ubuntu1 --network test-net ubuntu:14.04
  - ubuntu0: ping -c 1 10.0.1.4
`));
  const overlays = [...backend.kernel.hosts.get('r0')!.namespaces.values()].filter((ns) => ns.role.get() === 'overlay');
  const dumps = overlays.map((ns) => backend.execSync('r0', ns.name, ['bridge', 'fdb', 'show', 'dev', 'vxlan0'], { world: model.world, namesVisible: false }));
  // test-net's overlay (the other is the ingress network's).
  const out = dumps.find((d) => d.stdout.includes('02:42:0a:00:01:04 dst'))!;
  expect(out.stdout).toMatch(/^02:42:0a:00:01:04 master br0 $/m);
  expect(out.stdout).toMatch(/^\S+ master br0 permanent$/m);
});

describe('verify --mode both compares what each step printed by default', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cnmlab-compare-'));
  const file = path.join(dir, 'one.yaml');
  fs.writeFileSync(file, 'name: one\nhosts:\n  r0: {}\nsteps:\n  - r0: docker network ls\n');
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  test.each([['--compare-output'], ['--no-compare-output']])('%s without --mode both is refused in one line, exit 2', (flag) => {
    for (const mode of ['sim', 'emu']) expect(cnmlab(['verify', file, '--mode', mode, flag])).toMatchObject({ status: 2, stdout: '', stderr: `cnmlab: ${flag}: needs --mode both\n` });
  });

  test('verify --help says how to turn it off', () => {
    expect(cnmlab(['verify', '--help']).stdout).toMatch(/--no-compare-output +with --mode both, compare flows, steps and fields only/);
  });

  describeWith(['ip', 'bridge', 'tcpdump', 'ping'], true, 'on the real kernel', () => {
    test('the printing check runs unless --no-compare-output', () => {
      const printed = 'PASS one [both] sim and emu print the same (normalised)';
      const byDefault = cnmlab(['verify', file, '--mode', 'both']);
      expect(byDefault.status).toBe(0);
      expect(byDefault.stdout).toContain(printed);
      expect(byDefault.stdout).toContain('PASS one [both] sim and emu traces agree');
      const off = cnmlab(['verify', file, '--mode', 'both', '--no-compare-output']);
      expect(off.status).toBe(0);
      expect(off.stdout).not.toContain('print the same');
      expect(off.stdout).toContain('PASS one [both] sim and emu traces agree');
    }, 120000);
  });
});
