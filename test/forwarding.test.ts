/**
 * IPv4 forwarding in sim (net/ipv4/ip_forward.c): the forwarding switches as
 * devinet.c keeps them, a host forwarding a container's datagram from docker_gwbridge to
 * its underlay with the TTL one less, and ip_forward's ICMP answers (time exceeded,
 * fragmentation needed, network unreachable), each checked against a real run in emu with
 * the same steps; and the `sysctl` program, byte for byte against procps-ng 4.0.2 in a
 * real namespace.
 */
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { cnmlab } from './helpers/tshark';
import { runSim, twoNodes } from './helpers/run';
import { describeWith } from './helpers/env';
import { SimKernel } from '../sim/kernel/kernel';
import { sysctlCommand } from '../sim/kernel/sysctl';
import { shellWords } from '../sim/text/words';

const CONTAINERS = `  - r0: docker run -dit --name ubuntu0 --network test-net ubuntu:14.04
  - r1: docker run -dit --name ubuntu1 --network test-net ubuntu:14.04
`;

async function lab(steps: string) {
  const { result, backend } = await runSim(twoNodes(CONTAINERS + steps));
  const out = (i: number) => result.steps[result.steps.length + i];
  const flows = backend.datapath.flows;
  return { result, backend, out, lastFlow: () => flows[flows.length - 1] };
}

describe('IPv4 forwarding in sim', () => {
  test('with ip_forward 0 (Docker turned it on; a user turns it off) a host drops what is not for it, silently, where it arrived', async () => {
    const { out, lastFlow } = await lab(`  - r0: sysctl -qw net.ipv4.ip_forward=0
  - r0: sysctl net.ipv4.ip_forward net.ipv4.conf.docker_gwbridge.forwarding
  - ubuntu0: ping -c 1 -W 1 198.51.100.11
`);
    expect(out(-2).stdout).toBe('net.ipv4.ip_forward = 0\nnet.ipv4.conf.docker_gwbridge.forwarding = 0\n');
    expect(out(-1).stdout).toContain('1 packets transmitted, 0 received, 100% packet loss');
    const drop = lastFlow().hops.find((h) => h.event === 'drop')!;
    expect([drop.host, drop.device, drop.reason]).toEqual(['r0', 'docker_gwbridge', 'not for this namespace, and docker_gwbridge does not forward (net.ipv4.conf.docker_gwbridge.forwarding = 0)']);
  });

  test("with ip_forward 1 the datagram leaves the underlay with TTL 63 (the gwbridge path's step 4, forward; from the host's address: Docker's MASQUERADE), the next hop known from dockerd's gossip", async () => {
    const { lastFlow, result } = await lab(`  - r0: sysctl -w net.ipv4.ip_forward=1
  - ubuntu0: ping -c 1 -W 1 198.51.100.11
`);
    // Docker's MASQUERADE brings the answer back through the same device: the request's hop is the one leaving.
    const sent = lastFlow().hops.filter((h) => h.host === 'r0' && h.device === 'eth0' && h.event === 'forward' && h.dir === 'request');
    expect(sent).toHaveLength(1);
    const ip = sent[0].layers.find((l) => l.proto === 'ip')!;
    expect([ip['ip.src'], ip['ip.dst'], ip['ip.ttl']]).toEqual(['198.51.100.10', '198.51.100.11', 63]);
    // r0 learnt r1's MAC when r1's NetworkDB gossip first reached it (its ARP request), as a swarm's hosts know each other: no ARP now.
    expect(lastFlow().hops.some((h) => h.host === 'r0' && h.device === 'eth0' && h.event === 'arp-request')).toBe(false);
    expect(result.trace.control?.some((f) => f.from === 'r1' && f.to === 'r0' && f.hops.some((h) => h.host === 'r1' && h.event === 'arp-request'))).toBe(true);
  });

  test("the container's ARP for its gateway as a sniffer on docker_gwbridge sees it: the broadcast question the bridge passes up to its stack, then its answer (step 3)", async () => {
    const { lastFlow } = await lab(`  - ubuntu0: ping -c 1 -W 1 198.51.100.11
`);
    const atBridge = lastFlow().hops.filter((h) => h.device === 'docker_gwbridge' && !h.actor && h.layers.some((l) => l.proto === 'arp'));
    expect(atBridge.map((h) => [h.step, h.dir, h.event])).toEqual([[3, 'request', 'arp-request'], [3, 'request', 'arp-reply']]);
  });

  test('TTL 1 meets ICMP time exceeded from the gateway; iputils prints it as an error', async () => {
    const { out, lastFlow } = await lab(`  - r0: sysctl -qw net.ipv4.ip_forward=1
  - ubuntu0: ping -c 2 -t 1 198.51.100.11
`);
    expect(out(-1).stdout).toContain('From 172.18.0.1 icmp_seq=1 Time to live exceeded\nFrom 172.18.0.1 icmp_seq=2 Time to live exceeded\n');
    expect(out(-1).stdout).toContain('2 packets transmitted, 0 received, +2 errors, 100% packet loss');
    expect(lastFlow().hops.find((h) => h.event === 'drop')?.reason).toBe('TTL exceeded in transit: ICMP time exceeded');
  });

  test('a DF datagram over the outgoing MTU meets ICMP fragmentation needed; the container learns the path MTU', async () => {
    const { out } = await lab(`  - r0: sysctl -w net.ipv4.ip_forward=1
  - r0: ip link set eth0 mtu 1400
  - ubuntu0: ping -c 1 -M do -s 1400 198.51.100.11
  - ubuntu0: ip route get 198.51.100.11
`);
    expect(out(-2).stdout).toContain('From 172.18.0.1 icmp_seq=1 Frag needed and DF set (mtu = 1400)\n');
    expect(out(-1).stdout).toMatch(/^198\.51\.100\.11 via 172\.18\.0\.1 dev eth1 src 172\.18\.0\.3 uid 0 \n    cache expires \d+sec mtu 1400 \n$/);
  });

  test('a datagram over the MTU with DF clear leaves in fragments, each with TTL 63', async () => {
    const { lastFlow } = await lab(`  - r0: sysctl -w net.ipv4.ip_forward=1
  - r0: ip link set eth0 mtu 1400
  - ubuntu0: ping -c 1 -W 1 -M dont -s 1400 198.51.100.11
`);
    const sent = lastFlow().hops.filter((h) => h.host === 'r0' && h.device === 'eth0' && h.event === 'forward' && h.dir === 'request').map((h) => h.layers.find((l) => l.proto === 'ip')!);
    // ip.frag_offset counts 8-byte units, as tshark shows it.
    expect(sent.map((ip) => [ip['ip.len'], ip['ip.flags.mf'], ip['ip.frag_offset'], ip['ip.ttl']])).toEqual([[1396, true, 0, 63], [52, false, 172, 63]]);
  });

  test('no route out: ICMP network unreachable', async () => {
    const { out } = await lab(`  - r0: sysctl -w net.ipv4.ip_forward=1
  - ubuntu0: ping -c 1 -W 1 203.0.113.9
`);
    expect(out(-1).stdout).toContain('From 172.18.0.1 icmp_seq=1 Destination Net Unreachable\n');
  });

  test("a datagram to a broadcast address of the host's (eth0's 198.51.100.255) is the host's, never forwarded (brd_input): an echo to it goes unanswered (icmp_echo_ignore_broadcasts)", async () => {
    const { out, lastFlow } = await lab(`  - r0: sysctl -w net.ipv4.ip_forward=1
  - ubuntu0: ping -c 1 -W 1 198.51.100.255
`);
    expect(out(-1).stdout).toContain('1 packets transmitted, 0 received, 100% packet loss');
    expect(lastFlow().hops.some((h) => h.host !== 'r0' || h.device === 'eth0')).toBe(false);
    const drop = lastFlow().hops.find((h) => h.event === 'drop')!;
    expect([drop.host, drop.device, drop.reason]).toEqual(['r0', 'docker_gwbridge', 'echo request to a broadcast address: ignored (net.ipv4.icmp_echo_ignore_broadcasts = 1)']);
  });

  test("the input device's own switch decides: docker_gwbridge's forwarding 0 drops even with ip_forward 1", async () => {
    const { out, lastFlow } = await lab(`  - r0: sysctl -w net.ipv4.ip_forward=1
  - r0: sysctl -w net.ipv4.conf.docker_gwbridge.forwarding=0
  - r0: sysctl net.ipv4.ip_forward net.ipv4.conf.eth0.forwarding
  - ubuntu0: ping -c 1 -W 1 198.51.100.11
`);
    expect(out(-2).stdout).toBe('net.ipv4.ip_forward = 1\nnet.ipv4.conf.eth0.forwarding = 1\n');
    expect(lastFlow().hops.find((h) => h.event === 'drop')?.device).toBe('docker_gwbridge');
  });

  test("netfilter's FORWARD hook sees forwarded datagrams: a rule there (in DOCKER-USER, ahead of Docker's accepts) drops them and counts them", async () => {
    const { out, lastFlow } = await lab(`  - r0: sysctl -w net.ipv4.ip_forward=1
  - r0: iptables -I DOCKER-USER -p icmp -j DROP
  - ubuntu0: ping -c 1 -W 1 198.51.100.11
  - r0: iptables -L DOCKER-USER -v -n
`);
    expect(lastFlow().hops.find((h) => h.event === 'drop')?.reason).toBe('r0 FORWARD → DOCKER-USER: -p icmp -j DROP');
    expect(out(-1).stdout).toMatch(/\n +1 +84 DROP +1 +-- +\* +\* +0\.0\.0\.0\/0 +0\.0\.0\.0\/0 *\n/);
  });
});

describeWith(['ip', 'tcpdump'], true, 'a directed broadcast on the real kernel', () => {
  test('is not forwarded either: verify --mode both finds the same trace and output', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cnmlab-brd-'));
    try {
      const file = path.join(dir, 'brd.yaml');
      fs.writeFileSync(file, twoNodes(`  - r0: docker run -dit --name ubuntu0 --network test-net ubuntu:14.04
  - r0: sysctl -w net.ipv4.ip_forward=1
  - ubuntu0: ping -c 1 -W 1 198.51.100.255
    expect: { exit: 1 }
`, 'name: brd'));
      const r = cnmlab(['verify', file, '--mode', 'both']);
      expect(r.stdout).toMatch(/^\d+ passed, 0 failed$/m);
      expect(r.stdout).toContain('PASS brd [both] sim and emu print the same (normalised)');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the forwarding switches (devinet.c, measured in namespaces)', () => {
  function ns() {
    const k = new SimKernel(1);
    k.apply({ op: 'host.add', host: 'h', iface: 'eth0', address: '198.51.100.10/24' });
    return { k, ns: k.netns('h', 'h') };
  }
  const get = (n: ReturnType<typeof ns>['ns'], key: string) => sysctlCommand(n, ['-n', key]).stdout.trim();

  test('a write to all that changes it reaches default and every device; the same value written again changes nothing; default only reaches later devices', () => {
    const { k, ns: n } = ns();
    sysctlCommand(n, ['-w', 'net.ipv4.conf.eth0.forwarding=1']);
    sysctlCommand(n, ['-w', 'net.ipv4.conf.all.forwarding=0']);
    expect(get(n, 'net.ipv4.conf.eth0.forwarding')).toBe('1');
    sysctlCommand(n, ['-w', 'net.ipv4.ip_forward=1']);
    expect([get(n, 'net.ipv4.conf.default.forwarding'), get(n, 'net.ipv4.conf.lo.forwarding')]).toEqual(['1', '1']);
    sysctlCommand(n, ['-w', 'net.ipv4.conf.default.forwarding=0']);
    k.apply({ op: 'link.add', host: 'h', netns: 'h', name: 'va', kind: { type: 'veth', peer: 'vb' } });
    expect([get(n, 'net.ipv4.conf.va.forwarding'), get(n, 'net.ipv4.conf.eth0.forwarding')]).toEqual(['0', '1']);
  });

  test('the plan sets them too (sysctl.set), and refuses a device the namespace lacks', () => {
    const { k, ns: n } = ns();
    k.apply({ op: 'sysctl.set', host: 'h', netns: 'h', key: 'net.ipv4.ip_forward', value: '1' });
    expect(get(n, 'net.ipv4.conf.eth0.forwarding')).toBe('1');
    expect(() => k.apply({ op: 'sysctl.set', host: 'h', netns: 'h', key: 'net.ipv4.conf.nope.forwarding', value: '1' })).toThrow('not modelled');
  });

  test('keys the sim does not model are refused as such, never guessed', () => {
    const { ns: n } = ns();
    expect(sysctlCommand(n, ['net.ipv4.tcp_syncookies'])).toEqual({ stdout: '', stderr: 'cnmlab: sysctl net.ipv4.tcp_syncookies is not modelled (net.ipv4.ip_forward, net.ipv4.conf.{all,default,DEVICE}.forwarding, net.ipv6.conf.{all,default}.disable_ipv6 and net.bridge.bridge-nf-call-iptables are)\n', exitCode: 2, refusedUnmodelled: true });
    expect(sysctlCommand(n, ['-a']).exitCode).toBe(2);
    expect(sysctlCommand(n, ['-w', 'net.ipv6.conf.all.disable_ipv6=1']).exitCode).toBe(2);
  });
});

/** Command lines run one after another in one namespace, real and simulated; every output must be the same. */
const SYSCTL_SCRIPT = [
  'sysctl net.ipv4.ip_forward', 'sysctl -n net.ipv4.ip_forward', 'sysctl -N net.ipv4.ip_forward', 'sysctl net/ipv4/ip_forward',
  'sysctl net.ipv4.conf.all.forwarding net.ipv4.conf.default.forwarding net.ipv4.conf.eth0.forwarding net.ipv4.conf.lo.forwarding',
  'sysctl -w net.ipv4.conf.default.forwarding=1', 'sysctl net.ipv4.conf.eth0.forwarding net.ipv4.ip_forward',
  'sysctl -w net.ipv4.conf.eth0.forwarding=1', 'sysctl net.ipv4.ip_forward net.ipv4.conf.all.forwarding',
  'sysctl -w net.ipv4.conf.all.forwarding=0', 'sysctl net.ipv4.conf.eth0.forwarding net.ipv4.conf.default.forwarding',
  'sysctl -w net.ipv4.ip_forward=1', 'sysctl net.ipv4.conf.eth0.forwarding net.ipv4.conf.default.forwarding net.ipv4.conf.lo.forwarding',
  'sysctl -w net.ipv4.conf.all.forwarding=0', 'sysctl net.ipv4.conf.eth0.forwarding net.ipv4.conf.default.forwarding net.ipv4.conf.lo.forwarding',
  'sysctl net.ipv4.ip_forward=1', 'sysctl -qw net.ipv4.ip_forward=0', 'sysctl -q net.ipv4.ip_forward', 'sysctl -wn net.ipv4.ip_forward=1', 'sysctl net.ipv4.ip_forward=0 -n',
  'sysctl -w net.ipv4.ip_forward=2', 'sysctl -w net.ipv4.ip_forward=-1', 'sysctl net.ipv4.conf.eth0.forwarding',
  "sysctl -w 'net.ipv4.ip_forward= 1'", 'sysctl -w net.ipv4.ip_forward=abc', 'sysctl -w net.ipv4.ip_forward=1x', 'sysctl -w net.ipv4.ip_forward=',
  'sysctl -w net.ipv4.ip_forward=99999999999', 'sysctl -w net.ipv4.ip_forward', 'sysctl -w net.ipv4.ip_forward net.ipv4.ip_forward',
  'sysctl net.ipv4.conf.nodev.forwarding', 'sysctl -e net.ipv4.conf.nodev.forwarding',
  'sysctl net.ipv4.conf.nodev.forwarding net.ipv4.ip_forward net.ipv4.conf.nodev2.forwarding', 'sysctl -w net.ipv4.conf.nodev.forwarding=1',
  'sysctl -w net.ipv4.ip_forward=0 net.ipv4.conf.nodev.forwarding=0', 'sysctl net.ipv6.conf.all.disable_ipv6 net.ipv6.conf.default.disable_ipv6',
  'sysctl', 'sysctl -w', 'sysctl -n', 'sysctl -V', 'sysctl -y', 'sysctl --bogus', 'sysctl -h', 'sysctl -x net.ipv4.ip_forward',
];

describeWith(['sysctl', 'ip'], true, "the sysctl program prints what Debian 12's procps-ng 4.0.2 prints", () => {
  const real = `cnmt${process.pid}sc`;
  beforeAll(() => {
    execFileSync('ip', ['netns', 'add', real]);
    // The sim host's underlay device is eth0: the real namespace gets one by that name.
    execFileSync('ip', ['-n', real, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'peer0']);
  });
  afterAll(() => execFileSync('ip', ['netns', 'del', real]));

  test('one namespace, the same lines in order', () => {
    const k = new SimKernel(1);
    k.apply({ op: 'host.add', host: 'h', iface: 'eth0', address: '198.51.100.10/24' });
    const ns = k.netns('h', 'h');
    for (const line of SYSCTL_SCRIPT) {
      const argv = shellWords(line);
      const r = spawnSync('ip', ['netns', 'exec', real, ...argv], { encoding: 'utf8' });
      const s = sysctlCommand(ns, argv.slice(1));
      expect({ line, stdout: s.stdout, stderr: s.stderr, exitCode: s.exitCode }).toEqual({ line, stdout: r.stdout, stderr: r.stderr, exitCode: r.status });
    }
  });
});
