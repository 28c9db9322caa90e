/**
 * What sim's ip refuses as not modelled (its own `cnmlab: … not modelled` line, exit 2), the
 * registry refuses before either mode runs (`cnmlab: not modelled: …`, exit 127), so that emu
 * never runs the real program on words sim cannot match and both modes print the same.
 */
import { SimKernel } from '../sim/kernel/kernel';
import { ipCommand } from '../sim/kernel/iproute';
import { sysctlCommand } from '../sim/kernel/sysctl';
import { iptablesCommand, iptablesSave } from '../sim/kernel/iptables';
import { ssCommand } from '../sim/kernel/ss';
import { tcCommand } from '../sim/kernel/tc';
import { lookupCommand } from '../sim/commands/registry';
import { describeWith } from './helpers/env';
import { expectEmuPrints, printed, runSim } from './helpers/run';

const words = (command: string) => command.split(' ');

type Answer = { exitCode: number; refusedUnmodelled?: true };

/** A host's namespace (eth0 198.51.100.10/24) and sim's ip in it, as root. */
function simIp(): (command: string) => Answer {
  const kernel = new SimKernel(1);
  kernel.apply({ op: 'host.add', host: 'r0', iface: 'eth0', address: '198.51.100.10/24' });
  const ns = kernel.netns('r0', 'r0');
  return (command) => ipCommand(ns, words(command), { namesVisible: false }, kernel);
}

/** sim's procps sysctl in such a namespace; `readOnly` as a container's /proc/sys is. */
function simSysctl(readOnly: boolean): (command: string) => Answer {
  const kernel = new SimKernel(1);
  kernel.apply({ op: 'host.add', host: 'r0', iface: 'eth0', address: '198.51.100.10/24' });
  const ns = kernel.netns('r0', 'r0');
  return (command) => sysctlCommand(ns, words(command), readOnly);
}

/** Lines sim's ip refuses with its own not-modelled words. */
const SIM_REFUSES = [
  '-j -d link show', '-d -s -json addr', '-details -j route',
  'link set eth0 promisc on', 'link set dev eth0 promisc on', 'link set eth0 up txqueuelen 100', 'link set eth0 mtu 1400 name e1',
  'link set eth0 master br0', 'link set dev eth0 netns 1', 'link set eth0 address 02:00:00:00:00:01 arp off',
  'route add 10.9.0.0/16 via 198.51.100.1 metric 5', 'route add 10.9.0.0/16 dev eth0 src 198.51.100.10', 'route add local 10.9.0.1 dev eth0',
  'route add 10.9.0.0/16 dev eth0 table 100', 'route add unreachable 10.9.0.0/16', 'route del 10.9.0.0/16 dev eth0 scope link',
  'route delete 10.9.0.0/16 via inet 198.51.100.1 mtu 1400',
];

/** Lines sim's ip answers (or refuses in iproute2's words): a keyword's value is no keyword. */
const SIM_ANSWERS = [
  '-j link show', '-d -s link', '-json route',
  'link set promisc up', 'link set dev promisc up', 'link set eth0 up', 'link set eth0 mtu 1400 down', 'link set eth0 address 02:00:00:00:00:01',
  'route add 10.9.0.0/16 via 198.51.100.1', 'route add 10.9.0.0/16 dev metric', 'route add blackhole 10.8.0.0/16', 'route add to 10.7.0.0/16 dev eth0 proto static onlink',
];

/** sysctl lines sim refuses as not modelled on a host: an option that lists or loads keys, a key the kernel does not have, a write sim cannot make. */
const SYSCTL_SIM_REFUSES = ['-a', '-n --all', '-p /etc/sysctl.conf', '--load=/etc/sysctl.conf', 'net.ipv4.tcp_syncookies', 'net.ipv4.ip_forward net.core.somaxconn',
  'net.ipv6.conf.eth0.disable_ipv6', '-w net.ipv6.conf.all.disable_ipv6=1', 'net..ipv4', 'net'];
/** sysctl lines sim answers: modelled keys (a device that does not exist is procps' to report), help first, a key without its value under -w. */
const SYSCTL_SIM_ANSWERS = ['net.ipv4.ip_forward', 'net/ipv4/conf/eth0/forwarding', 'net.ipv4.conf.eth9.forwarding', '-w net.ipv4.ip_forward=1', '-h -a', '-w net.core.somaxconn',
  '-n net.bridge.bridge-nf-call-iptables net.ipv6.conf.default.disable_ipv6', '--bogus -a'];

/** iptables lines sim's iptables refuses as not modelled, whatever else the line holds: a table or match it does not model, a match's option it does not. */
const IPTABLES_SIM_REFUSES = ['-t mangle -L', '--table raw -S', '-L -t security', '--bogus -t mangle -L', '-A INPUT -m string --string x -j DROP', '-A INPUT --match owner --uid-owner 0 -j ACCEPT',
  '-A INPUT -m statistic --mode nth --every 2 -j DROP', '-A INPUT -m addrtype --dst-type BROADCAST -j DROP',
  // As getopt_long reads them (iptables 1.8.9 here took each): a value attached, options run together, --long=value, a long option's unambiguous prefix.
  '-tmangle -L', '-vtraw -L', '--table=mangle -L', '--tab mangle -L', '--t=security -S', '-A INPUT -mstring --string x -j DROP', '-A INPUT --match=owner --uid-owner 0 -j ACCEPT',
  '-A INPUT --ma owner --uid-owner 0 -j ACCEPT', '-A INPUT -m statistic --mode=nth --every 2 -j DROP', '-A INPUT -m addrtype --dst-t BROADCAST -j DROP',
  // -W and --wait-interval take a value only attached (iptables -W -L: "wait interval value required"); -R requires one.
  '-W -t mangle -L', '--wait-interval -t raw -L', '-vRINPUT 1 -t mangle -j ACCEPT'];
/** iptables lines sim answers (or refuses in iptables' words): the modelled tables and matches, an option named before its match. */
const IPTABLES_SIM_ANSWERS = ['-t nat -L', '-L', '-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT', '-A INPUT -m statistic --mode random --probability 0.5 -j DROP', '-A INPUT --mode nth -m statistic -j DROP', '-t bogus -L',
  '-tnat -L', '--table=nat -L', '-nvL', '-A INPUT -m statistic --mo nth -j DROP', '-A INPUT -m addrtype --dst-t=LOCAL -j DROP'];
/** ss lines sim refuses as not modelled: no protocol, or an option it does not model. */
const SS_SIM_REFUSES = ['', '-l', '-ln', '-x', '-lntp'];
const SS_SIM_ANSWERS = ['-lntu', '-t', '-a -u -H'];
/** tc lines whose options sim's tc refuses as not modelled (it reads them before the device): tbf's and netem's options and values it does not model. */
const TC_SIM_REFUSES = ['qdisc add dev eth0 root tbf rate 1mbit burst 4kb peakrate 2mbit latency 1s', 'qdisc add dev eth0 root tbf rate 10% burst 4kb latency 1s',
  'qdisc replace dev eth9 root tbf rate 1mbit burst 4kb/8 latency 1s', 'qdisc add dev eth0 root netem delay 10ms 5ms 25%', 'qdisc change dev eth0 root netem loss state 5',
  'qdisc add dev eth0 root netem loss 1% 25%', 'qdisc del dev eth0 root netem duplicate 1%', 'qdisc add dev eth0 root netem distribution normal'];
/** tc lines sim answers (or refuses in tc's words, a misuse first): the options it models. */
const TC_SIM_ANSWERS = ['qdisc add dev eth0 root netem delay 10ms 5ms', 'qdisc add dev eth0 root netem loss random 1%', 'qdisc add dev eth0 root tbf rate 1mbit burst 4kb latency 1s',
  'qdisc add dev eth0 root tbf bogus peakrate 2mbit', 'qdisc add dev eth0 root netem delay', 'qdisc show dev eth0'];

describe('the registry refuses what sim refuses as not modelled', () => {
  const simNs = () => {
    const kernel = new SimKernel(1);
    kernel.apply({ op: 'host.add', host: 'r0', iface: 'eth0', address: '198.51.100.10/24' });
    return kernel.netns('r0', 'r0');
  };

  test.each(IPTABLES_SIM_REFUSES)('iptables %s, in a host and in any container', (command) => {
    for (const netAdmin of [true, false]) expect(iptablesCommand(simNs(), words(command), { netAdmin })).toMatchObject({ exitCode: 2, refusedUnmodelled: true });
    for (const shell of ['host', 'container'] as const) {
      expect(lookupCommand(['iptables', ...words(command)], shell, shell === 'container' ? 'ubuntu' : undefined)).toEqual({ modelled: false, refusal: {
        stdout: '', stderr: `cnmlab: not modelled: iptables ${command}\n`, exitCode: 127, refusedUnmodelled: true,
      } });
    }
  });

  test.each(IPTABLES_SIM_ANSWERS)('iptables %s is let through, sim answering it', (command) => {
    expect(iptablesCommand(simNs(), words(command)).refusedUnmodelled).toBeUndefined();
    expect(lookupCommand(['iptables', ...words(command)], 'host').modelled).toBe(true);
  });

  test("sim's iptables reads a line as getopt_long does, as iptables 1.8.9 answered it here", () => {
    const ns = simNs();
    const run = (command: string) => iptablesCommand(ns, words(command));
    expect(run('-tnat -nvL POSTROUTING')).toMatchObject({ exitCode: 0 });
    expect(run('-A INPUT -p tcp --dp 22 -j ACCEPT')).toMatchObject({ exitCode: 0 });
    expect(run('--app=INPUT -m addrtype --dst-t LOCAL -j DROP')).toMatchObject({ exitCode: 0 });
    expect(run('-A INPUT -p tcp --d 22 -j ACCEPT')).toMatchObject({ exitCode: 2, stderr: 'iptables v1.8.9 (nf_tables): unknown option "--d"\nTry `iptables -h\' or \'iptables --help\' for more information.\n' });
    expect(run('-A INPUT -m statistic --mo nth -j DROP')).toMatchObject({ exitCode: 2, stderr: expect.stringContaining('unknown option "--mo"') });
    expect(iptablesSave(ns, [], new Date(0)).stdout).toContain('-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\n-A INPUT -m addrtype --dst-type LOCAL -j DROP\n');
  });

  test.each(TC_SIM_REFUSES)('tc %s', (command) => {
    expect(tcCommand(simNs(), words(command), { nowNs: 0, kernelSeed: 1, netAdmin: true })).toMatchObject({ exitCode: 2, refusedUnmodelled: true });
    expect(lookupCommand(['tc', ...words(command)], 'container')).toEqual({ modelled: false, refusal: {
      stdout: '', stderr: `cnmlab: not modelled: tc ${command}\n`, exitCode: 127, refusedUnmodelled: true,
    } });
  });

  test.each(TC_SIM_ANSWERS)('tc %s is let through, sim answering it', (command) => {
    expect(tcCommand(simNs(), words(command), { nowNs: 0, kernelSeed: 1, netAdmin: true }).refusedUnmodelled).toBeUndefined();
    expect(lookupCommand(['tc', ...words(command)], 'host').modelled).toBe(true);
  });

  test.each(SS_SIM_REFUSES)('ss %s', (command) => {
    const args = command ? words(command) : [];
    expect(ssCommand(simNs(), args)).toMatchObject({ exitCode: 2, refusedUnmodelled: true });
    expect(lookupCommand(['ss', ...args], 'host')).toMatchObject({ modelled: false, refusal: { exitCode: 127, refusedUnmodelled: true } });
  });

  test.each(SS_SIM_ANSWERS)('ss %s is let through, sim answering it', (command) => {
    expect(ssCommand(simNs(), words(command)).refusedUnmodelled).toBeUndefined();
    expect(lookupCommand(['ss', ...words(command)], 'host').modelled).toBe(true);
  });

  test.each(SYSCTL_SIM_REFUSES)('sysctl %s', (command) => {
    expect(simSysctl(false)(command)).toMatchObject({ exitCode: 2, refusedUnmodelled: true });
    expect(lookupCommand(['sysctl', ...words(command)], 'host')).toEqual({ modelled: false, refusal: {
      stdout: '', stderr: `cnmlab: not modelled: sysctl ${command}\n`, exitCode: 127, refusedUnmodelled: true,
    } });
  });

  test.each(SYSCTL_SIM_ANSWERS)('sysctl %s is let through, sim answering it', (command) => {
    expect(simSysctl(false)(command).refusedUnmodelled).toBeUndefined();
    expect(lookupCommand(['sysctl', ...words(command)], 'host').modelled).toBe(true);
  });

  test("iptables-save of a table cnmlab does not model, on a host (as root); an unknown option is iptables-save's own error first", () => {
    const kernel = new SimKernel(1);
    kernel.apply({ op: 'host.add', host: 'r0', iface: 'eth0', address: '198.51.100.10/24' });
    const save = (command: string) => iptablesSave(kernel.netns('r0', 'r0'), words(command), new Date(0));
    // As its getopt_long reads them too (iptables-save 1.8.9 here took each): -tmangle, --table=raw, -ctsecurity, --tab mangle.
    for (const command of ['-t raw', '-c --table mangle', '-t security -c', '-tmangle', '--table=raw', '-ctsecurity', '--tab mangle']) {
      expect(save(command)).toMatchObject({ exitCode: 2, refusedUnmodelled: true });
      expect(lookupCommand(['iptables-save', ...words(command)], 'host')).toMatchObject({ modelled: false, refusal: { exitCode: 127, refusedUnmodelled: true } });
    }
    expect(save('-ctnat')).toEqual(save('-c -t nat'));
    for (const command of ['-t nat', '-x -t raw', '-c', '-tnat', '--table=filter', '--co']) {
      expect(save(command).refusedUnmodelled).toBeUndefined();
      expect(lookupCommand(['iptables-save', ...words(command)], 'host').modelled).toBe(true);
    }
  });

  test("in a container a write fails on the read-only /proc/sys before its key's writability is asked", () => {
    const command = '-w net.ipv6.conf.all.disable_ipv6=1';
    expect(simSysctl(true)(command)).toMatchObject({ exitCode: 1 });
    expect(lookupCommand(['sysctl', ...words(command)], 'container', 'ubuntu').modelled).toBe(true);
  });

  test.each(SIM_REFUSES)('ip %s', (command) => {
    expect(simIp()(command)).toMatchObject({ exitCode: 2, refusedUnmodelled: true });
    expect(lookupCommand(['ip', ...words(command)], 'host')).toEqual({ modelled: false, refusal: {
      stdout: '', stderr: `cnmlab: not modelled: ip ${command}\n`, exitCode: 127, refusedUnmodelled: true,
    } });
  });

  test.each(SIM_ANSWERS)('ip %s is let through, sim answering it', (command) => {
    expect(simIp()(command).refusedUnmodelled).toBeUndefined();
    expect(lookupCommand(['ip', ...words(command)], 'host').modelled).toBe(true);
  });
});

const LAB = `name: unmodelled-agree
hosts:
  r0: {}
steps:
  - r0: ip link set eth0 promisc on
  - r0: ip route add 10.9.0.0/16 dev eth0 metric 5
  - r0: ip route add unreachable 10.9.0.0/16
  - r0: sysctl -a
  - r0: sysctl net.ipv4.tcp_syncookies
  - r0: iptables-save -t raw
  - r0: iptables -t mangle -L
  - r0: iptables -A INPUT -m string --string x -j DROP
  - r0: iptables -tmangle -A PREROUTING -j ACCEPT
  - r0: iptables --match=owner --uid-owner 0 -A OUTPUT -j ACCEPT
  - r0: ss -l
  - r0: ip link del dev eth0 name e0
  - r0: tc qdisc add dev eth0 root netem delay 10ms 5ms 25%
  - r0: docker run -dit --name admin --cap-add NET_ADMIN ubuntu:14.04
  - r0: docker run -dit --name plain ubuntu:14.04
  - r0: docker run -dit --name bb busybox
  - admin: iptables-save -t mangle
  - r0: docker exec admin iptables-save -t security
  - plain: iptables-save -t mangle
  - r0: ip link del eth0
  - r0: ip link del docker0
  - admin: ip link del eth0
  - r0: ip link del d0
  - plain: ping -c 1 -W 1 -I lo 172.17.0.1
  - plain: ping -c 1 -I eth0 127.0.0.1
  - bb: ping -c 1 -I lo 172.17.0.1
  - bb: ping -c 1 -I eth0 -W 1 127.0.0.1
  - plain: ping -c 1 -W 1 -I eth0 172.17.0.1 | grep -c transmitted
  - bb: ping -c 1 -W 1 -Ieth0 172.17.0.1 | grep -c transmitted
  - r0: ip route del 198.51.100.0/24
  - r0: ip r delete 198.51.100.0/24 dev eth0 proto kernel
  - admin: ip route del 172.17.0.0/16
  - plain: ip route del 172.17.0.0/16
  - r0: ip route del 198.51.100.0/24 via 198.51.100.1
  - r0: ip route del 172.17.0.0/16 dev eth0
  - r0: ping -c 1 -W 1 -I lo 172.17.0.2
  - r0: ping -c 1 -I docker0 198.51.100.10
  - r0: busybox ping -c 1 -W 1 -I lo 172.17.0.2
  - r0: ping -c 1 -W 1 -I docker0 172.17.0.2 | grep -c transmitted
  - r0: docker run -dit --name h0 --network host ubuntu:14.04
  - h0: ping -c 1 -I docker0 198.51.100.10
  - h0: ping -c 1 -W 1 -I docker0 172.17.0.2 | grep -c transmitted
  - r0: ip route add 10.9.0.0/16 dev docker0
  - r0: ping -c 1 -W 1 -I eth0 10.9.0.1
  - r0: ip link set docker0 down
  - r0: ip route del 172.17.0.0/16
`;
const REFUSED = ['ip link set eth0 promisc on', 'ip route add 10.9.0.0/16 dev eth0 metric 5', 'ip route add unreachable 10.9.0.0/16', 'sysctl -a', 'sysctl net.ipv4.tcp_syncookies', 'iptables-save -t raw',
  'iptables -t mangle -L', 'iptables -A INPUT -m string --string x -j DROP', 'iptables -tmangle -A PREROUTING -j ACCEPT', 'iptables --match=owner --uid-owner 0 -A OUTPUT -j ACCEPT', 'ss -l', 'ip link del dev eth0 name e0',
  'tc qdisc add dev eth0 root netem delay 10ms 5ms 25%'];
const modelDevice = (name: string) => [2, '', `cnmlab: ip link del ${name}: deleting a device the model made (Docker's, a driver's, the host's NIC) is not modelled; one ip link add made is\n`];
/**
 * The steps after the containers start: a container holding CAP_NET_ADMIN is refused the table
 * as a host is, one without it the generation id first; a device the model made is not
 * deleted (the host's NIC, Docker's bridge, a container's end of its veth), one that does not exist is ip's to report
 * (test/ip-link-add.test.ts deletes one ip link add made); a ping is not sent through a device other than the one its
 * route takes (lo for the container's own addresses and 127.0.0.0/8, eth0 for the bridge's; on a host docker0 for the
 * bridge's, lo for its own, and so in a --network host container), in iputils or BusyBox; through that one it is. An address's connected route is not deleted (where the capabilities let ip ask), a gateway or another
 * device names no such route.
 */
const AFTER_START = [
  [127, '', 'cnmlab: not modelled: iptables-save -t mangle\n'],
  [127, '', 'cnmlab: not modelled: docker exec admin iptables-save -t security\n'],
  [4, '', 'iptables-save v1.8.9 (nf_tables): Could not fetch rule set generation id: Permission denied (you must be root)\n'],
  modelDevice('eth0'), modelDevice('docker0'), modelDevice('eth0'),
  [1, '', 'Cannot find device "d0"\n'],
  ...['lo', 'eth0', 'lo', 'eth0'].map((dev) => [2, '', `cnmlab: ping -I ${dev}: sending through a device other than the route's is not modelled\n`]),
  [0, '1\n', ''], [0, '1\n', ''],
  ...[1, 2, 3].map(() => [2, '', "cnmlab: ip route del of an address's connected route (proto kernel): not modelled (the model derives it from the address)\n"]),
  [2, '', 'RTNETLINK answers: Operation not permitted\n'],
  [2, '', 'RTNETLINK answers: No such process\n'], [2, '', 'RTNETLINK answers: No such process\n'],
  ...['lo', 'docker0', 'lo'].map((dev) => [2, '', `cnmlab: ping -I ${dev}: sending through a device other than the route's is not modelled\n`]),
  [0, '1\n', ''],
  [2, '', "cnmlab: ping -I docker0: sending through a device other than the route's is not modelled\n"],
  [0, '1\n', ''],
  // A step's own changes count as the plan's: a route a step added, a device a step set down (its connected route gone).
  [0, '', ''], [2, '', "cnmlab: ping -I eth0: sending through a device other than the route's is not modelled\n"],
  [0, '', ''], [2, '', 'RTNETLINK answers: No such process\n'],
];
/** What each step printed, but the steps that start containers (their ids). */
const seen = (steps: readonly { command: string; exitCode: number; stdout: string; stderr: string }[]) => printed(steps.filter((s) => !s.command.startsWith('docker run')));
const EXPECTED = [...REFUSED.map((command) => [127, '', `cnmlab: not modelled: ${command}\n`]), ...AFTER_START];

test('sim refuses each line before it runs, or as the namespace stands', async () => {
  const { result } = await runSim(LAB);
  expect(seen(result.steps)).toEqual(EXPECTED);
});

describeWith(['ip'], true, 'the same lines in emu', () => {
  test('print what sim prints: the real programs never run them', () => {
    expectEmuPrints('unmodelled-agree.yaml', LAB, EXPECTED, { view: seen });
  }, 180000);
});
