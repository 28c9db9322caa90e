/** The sim kernel's subsystems, each as Linux has it: netfilter's hook points, the neighbour layer, the embedded DNS. */
import { runLab, runSim, twoNodes } from './helpers/run';
import { endpointOf, hostOf, swarmNetworks } from '../sim/model/world';
import { dnsView } from '../sim/model/dns';
import { serveDns } from '../sim/model/resolver';
import { emitDns, parseDns } from '../sim/wire/dns';
import { execFileSync } from 'child_process';
import { SimKernel } from '../sim/kernel/kernel';
import { PlanOp } from '../sim/plan/ops';
import { describeWith } from './helpers/env';
import { route } from '../sim/kernel/net/ipv4/route';
import { containerNamed } from './helpers/world';

async function seedLab() {
  const lab = await runLab('overlay-standalone');
  const { backend, model } = lab;
  const c = containerNamed(model.world, 'r0', 'ubuntu0');
  const exec = (argv: string[]) => backend.execSync('r0', c.sandbox, argv, { world: model.world, container: c.id, namesVisible: false });
  return { ...lab, c, exec };
}

describe('netfilter hook points', () => {
  test('a function registered at INPUT that drops stops the echo where Linux would: at the receiving namespace', async () => {
    const { backend, exec, model } = await seedLab();
    const dp = backend.datapath;
    // Hooks run in namespaces where a table was made (as Linux registers them per namespace); the host
    // makes it (ip netns exec), the container holding no CAP_NET_ADMIN.
    const c1 = containerNamed(model.world, 'r1', 'ubuntu1');
    expect(backend.execSync('r1', c1.sandbox, ['iptables', '-P', 'INPUT', 'ACCEPT'], { world: model.world, namesVisible: false }).exitCode).toBe(0);
    dp.netfilter.register('INPUT', (_dp, _hook, ns, skb) => (ns.role.get() === 'sandbox' && skb.dir === 'request' && ns.host.name === 'r1' ? 'a test hook' : undefined));
    const out = exec(['ping', '-c', '1', '-n', '10.0.1.4']);
    expect(out.stdout).toContain('1 packets transmitted, 0 received');
    const drop = dp.flows[dp.flows.length - 1].hops.find((h) => h.event === 'drop');
    expect(drop).toMatchObject({ step: 8, host: 'r1', device: 'eth0', reason: 'a test hook' });
  });
});

describe('the route lookup', () => {
  test('gives every route in one shape (a local address, an on-link one, one via a gateway), so the datapath reading them stays monomorphic', async () => {
    const { backend, c } = await seedLab();
    const ns = backend.kernel.netns('r0', c.sandbox);
    const own = ns.links.get('eth0')!.addrs[0].ip;
    const routes = [route(ns, own), route(ns, '10.0.1.4'), route(ns, '192.0.2.1')];
    expect(routes.map((r) => [r?.local, r?.via !== undefined])).toEqual([[true, false], [false, false], [false, true]]);
    const shapes = routes.map((r) => Object.keys(r!).join(','));
    expect(new Set(shapes).size).toBe(1);
  });
});

describe("the embedded DNS answers from the world as it is when the query arrives, and follows Docker's lifecycle", () => {
  const lastOutput = (result: Awaited<ReturnType<typeof runSim>>['result']) => {
    const { stdout, stderr, exitCode } = result.steps[result.steps.length - 1];
    return { stdout, stderr, exitCode };
  };

  test('a container started after the first lookup resolves', async () => {
    const { result } = await runSim(twoNodes(`  - r0: docker run -dit --name ubuntu0 --network test-net ubuntu:14.04
  - r1: docker run -dit --name ubuntu1 --network test-net ubuntu:14.04
  - ubuntu0: ping -c 1 ubuntu1
  - r1: docker run -dit --name ubuntu2 --network test-net ubuntu:14.04
  - ubuntu0: ping -c 1 ubuntu2
`));
    expect(lastOutput(result)).toMatchObject({ exitCode: 0 });
  });

  test.each([
    ['docker stop', 'docker stop ubuntu1'],
    ['docker rm -f', 'docker rm -f ubuntu1'],
  ])('after %s the name no longer resolves', async (_what, command) => {
    const { result } = await runSim(twoNodes(`  - r0: docker run -dit --name ubuntu0 --network test-net ubuntu:14.04
  - r1: docker run -dit --name ubuntu1 --network test-net ubuntu:14.04
  - ubuntu0: ping -c 1 ubuntu1
  - r1: ${command}
  - ubuntu0: ping -c 1 ubuntu1
`));
    expect(lastOutput(result)).toEqual({ stdout: '', stderr: 'ping: ubuntu1: Temporary failure in name resolution\n', exitCode: 2 });
  });

  test('a container connected to the network on another host resolves', async () => {
    const { result } = await runSim(twoNodes(`  - r0: docker run -dit --name ubuntu0 --network test-net ubuntu:14.04
  - r1: docker run -dit --name ubuntu1 ubuntu:14.04
  - ubuntu0: ping -c 1 ubuntu0
  - r1: docker network connect test-net ubuntu1
  - ubuntu0: ping -c 1 ubuntu1
`));
    expect(lastOutput(result)).toMatchObject({ exitCode: 0 });
  });
});

describe("one DNS scoping rule for sim and emu: libnetwork's, when a name is on several of a container's networks", () => {
  const scenario = twoNodes(`  - r0: docker network create --driver=overlay --attachable b-net
  - r0: docker network create --driver=overlay --attachable a-net
  - r0: docker run -dit --name ubuntu0 --network b-net ubuntu:14.04
  - r0: docker network connect a-net ubuntu0
  - r1: docker run -dit --name ubuntu1 --network b-net ubuntu:14.04
  - r1: docker network connect a-net ubuntu1
  - ubuntu0: nslookup ubuntu1
`);

  test('the first network in the sandbox order (by network name at equal priority) answers, with its address only', async () => {
    const { result, model } = await runSim(scenario);
    const ubuntu1 = containerNamed(model.world, 'r1', 'ubuntu1');
    const ipOn = (net: string) => {
      const n = swarmNetworks(model.world.swarm).find((x) => x.name === net)!;
      return endpointOf(n, ubuntu1.networks.find((a) => a.networkId === n.id)!.endpointId!)!.ip;
    };
    const out = result.steps[result.steps.length - 1].stdout;
    expect(out).toContain(`Address: ${ipOn('a-net')}\n`);
    expect(out).not.toContain(`Address: ${ipOn('b-net')}\n`);
  });

  test("emu's responder answers the same bytes (one server for both modes): ubuntu1 only at its a-net address", async () => {
    const { model } = await runSim(scenario);
    const ubuntu0 = containerNamed(model.world, 'r0', 'ubuntu0');
    const ubuntu1 = containerNamed(model.world, 'r1', 'ubuntu1');
    const aNet = swarmNetworks(model.world.swarm).find((x) => x.name === 'a-net')!;
    const query = emitDns({ id: 7, flags: 0x0100, questions: [{ name: 'ubuntu1', type: 'A' }], answers: [] });
    const reply = parseDns(serveDns(dnsView(model.world, ubuntu0), query, 'udp')!);
    expect(reply.ok && reply.repr.answers.map((a) => a.data)).toEqual([endpointOf(aNet, ubuntu1.networks.find((a) => a.networkId === aNet.id)!.endpointId!)!.ip]);
  });
});

describe("the neighbour subsystem: Linux's NUD states and timers, as ip neigh and iputils ping show them", () => {
  test('an address nobody answers: three requests a second apart, then FAILED; the queued probes hear Destination Host Unreachable', async () => {
    const { exec } = await seedLab();
    // iputils 20221126 between two namespaces (10.99.0.1 → absent 10.99.0.7) printed the same, with "time 2030ms".
    expect(exec(['ping', '-c', '3', '10.0.1.99'])).toEqual({
      stdout: 'PING 10.0.1.99 (10.0.1.99) 56(84) bytes of data.\n'
        + 'From 10.0.1.2 icmp_seq=1 Destination Host Unreachable\n'
        + 'From 10.0.1.2 icmp_seq=2 Destination Host Unreachable\n'
        + 'From 10.0.1.2 icmp_seq=3 Destination Host Unreachable\n'
        + '\n--- 10.0.1.99 ping statistics ---\n'
        + '3 packets transmitted, 0 received, +3 errors, 100% packet loss, time 2000ms\n'
        + 'pipe 3\n',
      stderr: '',
      exitCode: 1,
    });
    expect(exec(['ip', 'neigh']).stdout).toContain('10.0.1.99 dev eth0 FAILED \n');
  });

  test('a fourth probe sent as the entry fails starts resolution anew; the elapsed time runs to the last probe', async () => {
    const { exec } = await seedLab();
    const out = exec(['ping', '-c', '5', '10.0.1.99']).stdout;
    // iputils: "5 packets transmitted, 0 received, +5 errors, 100% packet loss, time 4115ms" and "pipe 4".
    expect(out).toContain('5 packets transmitted, 0 received, +5 errors, 100% packet loss, time 4000ms\npipe 4\n');
  });

  test('lost replies: the elapsed time runs to the last probe, not to the end of the wait', async () => {
    const { backend, exec, model } = await seedLab();
    const c1 = containerNamed(model.world, 'r1', 'ubuntu1');
    backend.execSync('r1', c1.sandbox, ['iptables', '-A', 'INPUT', '-p', 'icmp', '--icmp-type', 'echo-request', '-j', 'DROP'], { world: model.world, namesVisible: false });
    // iputils: "2 packets transmitted, 0 received, 100% packet loss, time 1036ms", no rtt line.
    expect(exec(['ping', '-c', '2', '-n', '10.0.1.4']).stdout).toMatch(/\n2 packets transmitted, 0 received, 100% packet loss, time 1000ms\n\n$/);
  });

  test('REACHABLE ages to STALE after reachable_time; a use moves it to DELAY, then a unicast probe answered makes it REACHABLE', async () => {
    const { backend, exec } = await seedLab();
    const clock = backend.datapath.clock;
    const state = () => /10\.0\.1\.4 dev eth0 lladdr \S+ (\w+)/.exec(exec(['ip', 'neigh']).stdout)?.[1];
    exec(['ping', '-c', '1', '-n', '10.0.1.4']);
    expect(state()).toBe('REACHABLE');
    clock.runUntil(clock.now + 31e9);
    expect(state()).toBe('STALE');
    exec(['ping', '-c', '1', '-n', '10.0.1.4']);
    expect(state()).toBe('DELAY');
    clock.runUntil(clock.now + 5.5e9);
    expect(state()).toBe('REACHABLE');
  });

  test("a route keeps its next hop's entry only until a neighbour table changes: a replaced entry, then a deleted one, is what the next ping meets", async () => {
    const { backend, exec, c } = await seedLab();
    const dp = backend.datapath;
    // The container's first hop: the frame its eth0 sent, to the MAC the route's next hop resolved to.
    const firstHop = () => dp.flows[dp.flows.length - 1].hops[0];
    const sentTo = () => firstHop().layers.find((l) => l.proto === 'eth')?.['eth.dst'];
    expect(exec(['ping', '-c', '1', '-n', '10.0.1.4']).stdout).toContain('1 received');
    const learned = sentTo();
    expect(learned).toMatch(/^02:42:/);
    // Replaced after the route kept it: the next datagram goes to the new address.
    backend.kernel.apply({ op: 'neigh.add', host: 'r0', netns: c.sandbox, dev: 'eth0', ip: '10.0.1.4', mac: '02:42:0a:00:01:63' });
    exec(['ping', '-c', '1', '-n', '10.0.1.4']);
    expect(sentTo()).toBe('02:42:0a:00:01:63');
    // Deleted: the next datagram waits for ARP, which finds the real address again.
    backend.kernel.apply({ op: 'neigh.del', host: 'r0', netns: c.sandbox, dev: 'eth0', ip: '10.0.1.4', mac: '02:42:0a:00:01:63' });
    expect(exec(['ping', '-c', '1', '-n', '10.0.1.4']).stdout).toContain('1 received');
    expect(firstHop().event).toBe('arp-request');
    expect(sentTo()).toBe('ff:ff:ff:ff:ff:ff');
  });
});

describe('docker network connect keeps the sandbox gateway it has (libnetwork needDefaultGW)', () => {
  test('a container started on the default bridge, connected to an overlay: one default route, still via docker0, and no docker_gwbridge endpoint', async () => {
    const { result } = await runSim(twoNodes(`  - r1: docker run -dit --name c1 alpine
  - r1: docker network connect test-net c1
  - c1: ip route
`));
    const routes = result.steps[result.steps.length - 1].stdout;
    expect(routes.split('\n').filter((l) => l.startsWith('default'))).toEqual(['default via 172.17.0.1 dev eth0 ']);
    expect(routes).not.toContain('eth2');
  });
});

describe('iputils and iproute2 texts, byte for byte (compared with ping 20221126 and iproute2 6.1 in namespaces)', () => {
  test('ping of a numeric target prints no name and asks no PTR', async () => {
    const { backend, exec } = await seedLab();
    const out = exec(['ping', '-c', '1', '10.0.1.4']);
    expect(out.stdout).toMatch(/^PING 10\.0\.1\.4 \(10\.0\.1\.4\) 56\(84\) bytes of data\.\n64 bytes from 10\.0\.1\.4: icmp_seq=1 ttl=64 time=/);
    const flow = backend.datapath.flows[backend.datapath.flows.length - 1];
    expect(flow.hops.some((h) => h.event === 'dns-query')).toBe(false);
  });

  test('ping -t sets the TTL on the wire; -I names the source (and device) in the header; a missing device is refused as iputils does', async () => {
    const { backend, exec } = await seedLab();
    const out = exec(['ping', '-c', '1', '-t', '5', '-I', 'eth0', '10.0.1.4']);
    expect(out.stdout).toMatch(/^PING 10\.0\.1\.4 \(10\.0\.1\.4\) from 10\.0\.1\.2 eth0: 56\(84\) bytes of data\.\n/);
    const flow = backend.datapath.flows[backend.datapath.flows.length - 1];
    const sent = flow.hops.find((h) => h.step === 1 && h.event === 'send')!;
    expect(sent.layers.find((l) => l.proto === 'ip')).toMatchObject({ 'ip.ttl': 5 });
    expect(exec(['ping', '-c', '1', '-I', '10.0.1.2', '10.0.1.4']).stdout).toMatch(/^PING 10\.0\.1\.4 \(10\.0\.1\.4\) from 10\.0\.1\.2 : 56\(84\)/);
    expect(exec(['ping', '-c', '1', '-I', 'eth9', '10.0.1.4'])).toEqual({ stdout: '', stderr: 'ping: SO_BINDTODEVICE eth9: No such device\n', exitCode: 2 });
  });

  test('ip route get ADDR prints the one route the kernel resolves', async () => {
    const { exec } = await seedLab();
    expect(exec(['ip', 'route', 'get', '10.0.1.4'])).toEqual({ stdout: '10.0.1.4 dev eth0 src 10.0.1.2 uid 0 \n    cache \n', stderr: '', exitCode: 0 });
    expect(exec(['ip', 'route', 'get', '8.8.8.8']).stdout).toBe('8.8.8.8 via 172.18.0.1 dev eth1 src 172.18.0.3 uid 0 \n    cache \n');
    expect(exec(['ip', 'route', 'get', '10.0.1.2']).stdout).toBe('local 10.0.1.2 dev lo src 10.0.1.2 uid 0 \n    cache <local> \n');
    expect(exec(['ip', 'route', 'get'])).toEqual({ stdout: '', stderr: 'need at least a destination address\n', exitCode: 1 });
  });

  test('ip -n NS runs in the named namespace, as ip netns exec does', async () => {
    const steps = (ns: string) => twoNodes(`  - r0: docker run -dit --name ubuntu0 --network test-net ubuntu:14.04
  - r0: ln -s /var/run/docker/netns /var/run/netns
  - r0: ip -n nosuch link
  - r0: ip -d -n ${ns} link show vxlan0
  - r0: ip netns exec ${ns} ip -d link show vxlan0
`);
    const first = await runSim(steps('nosuch'));
    const overlay = hostOf(first.model.world, 'r0').namespaces.find((n) => n.startsWith('1-'))!;
    const { result } = await runSim(steps(overlay));
    const [missing, viaOption, viaExec] = result.steps.slice(-3);
    expect(missing).toMatchObject({ stdout: '', stderr: 'Cannot open network namespace "nosuch": No such file or directory\n', exitCode: 255 });
    expect(viaOption.stdout).toMatch(/\n    vxlan id \d+ /);
    expect(viaOption).toMatchObject({ stdout: viaExec.stdout, stderr: '', exitCode: 0 });
  });
});

describe("a step's memory and time stay bounded whatever ping's count", () => {
  test('ping -c 1000000000 stops at the step budget as the real one is killed there: its replies so far, no statistics, exit 124', async () => {
    const { exec } = await seedLab();
    const before = process.memoryUsage().heapUsed;
    const out = exec(['ping', '-c', '1000000000', '-n', '10.0.1.4']);
    expect(out).toMatchObject({ exitCode: 124, end: 'timed-out', stderr: '' });
    expect(out.stdout.match(/^64 bytes from 10\.0\.1\.4: icmp_seq=\d+ /gm)).toHaveLength(300);
    expect(out.stdout).not.toContain('ping statistics');
    expect(process.memoryUsage().heapUsed - before).toBeLessThan(64 * 1024 * 1024);
  });

  test('a flood of a billion echoes stops at the budget too, its marks and the trace kept within bounds', async () => {
    const { backend, c, model } = await seedLab();
    const out = backend.execSync('r0', c.sandbox, ['ping', '-f', '-n', '-c', '1000000000', '10.0.1.4'], { world: model.world, container: c.id, namesVisible: false, stepBudgetNs: 20e9 });
    expect(out.exitCode).toBe(124);
    expect(out.stderr).toContain('flood marks of ping\'s output not kept');
    const flow = backend.datapath.flows[backend.datapath.flows.length - 1];
    expect(flow.hopsNotKept).toBeGreaterThan(0);
  });

  test('past ten thousand reply lines, the first 10,000 and the last 1,000 are kept and the rest counted', async () => {
    const { exec } = await seedLab();
    const out = exec(['ping', '-i', '0.002', '-c', '12000', '-n', '10.0.1.4']);
    const replies = out.stdout.split('\n').filter((l) => l.startsWith('64 bytes'));
    expect(replies).toHaveLength(11000);
    expect(replies[10000]).toMatch(/icmp_seq=11001 /);
    expect(out.stderr).toBe("cnmlab: 1000 lines of ping's output not kept (the first and last are shown)\n");
    expect(out.stdout).toContain('12000 packets transmitted, 12000 received');
  });
});

describe('ip -j, ip -s and bridge link, in iproute2 6.1 form', () => {
  test('ip -j link, addr, route and neigh print one JSON line with iproute2 field names and order', async () => {
    const { exec } = await seedLab();
    exec(['ping', '-c', '1', '-n', '10.0.1.4']);
    const link = JSON.parse(exec(['ip', '-j', 'link', 'show', 'eth0']).stdout);
    expect(Object.keys(link[0])).toEqual(['ifindex', 'link_index', 'ifname', 'flags', 'mtu', 'qdisc', 'operstate', 'linkmode', 'group', 'txqlen', 'link_type', 'address', 'broadcast', 'link_netnsid']);
    expect(link[0]).toMatchObject({ ifname: 'eth0', flags: ['BROADCAST', 'MULTICAST', 'UP', 'LOWER_UP'], mtu: 1450, operstate: 'UP' });
    const addr = JSON.parse(exec(['ip', '-j', 'addr', 'show', 'eth0']).stdout);
    expect(addr[0].addr_info[0]).toEqual({ family: 'inet', local: '10.0.1.2', prefixlen: 24, broadcast: '10.0.1.255', scope: 'global', label: 'eth0', valid_life_time: 4294967295, preferred_life_time: 4294967295 });
    expect(exec(['ip', '-j', 'neigh']).stdout).toMatch(/^\[\{"dst":"10\.0\.1\.4","dev":"eth0","lladdr":"02:42:0a:00:01:04","state":\["REACHABLE"\]\}\]\n$/);
    expect(exec(['ip', '-j', 'route', 'get', '10.0.1.4']).stdout).toBe('[{"dst":"10.0.1.4","dev":"eth0","prefsrc":"10.0.1.2","flags":[],"uid":0,"cache":[]}]\n');
    const routes = JSON.parse(exec(['ip', '-j', 'route']).stdout);
    expect(routes[0]).toEqual({ dst: 'default', gateway: '172.18.0.1', dev: 'eth1', flags: [] });
  });

  test('ip -s link counts the frames the device layer saw, in iproute2 columns', async () => {
    const { exec } = await seedLab();
    const before = exec(['ip', '-s', 'link', 'show', 'eth0']).stdout.split('\n');
    expect(before[2]).toBe('    RX:  bytes packets errors dropped  missed   mcast           ');
    expect(before[4]).toBe('    TX:  bytes packets errors dropped carrier collsns           ');
    const counters = (lines: string[], row: number) => lines[row].trim().split(/\s+/).map(Number);
    exec(['ping', '-c', '2', '-n', '10.0.1.4']);
    const after = exec(['ip', '-s', 'link', 'show', 'eth0']).stdout.split('\n');
    // Two 98-byte echoes each way on top of what the lab already sent.
    expect(counters(after, 5)[1] - counters(before, 5)[1]).toBe(2);
    expect(counters(after, 5)[0] - counters(before, 5)[0]).toBe(196);
    expect(counters(after, 3)[1] - counters(before, 3)[1]).toBe(2);
    expect(after[3]).toMatch(/^    {1,}\d+ {1,}\d+      0       0       0       0 $/);
  });

  test('bridge link lists the bridge ports', async () => {
    const { backend, model } = await seedLab();
    const overlay = hostOf(model.world, 'r0').namespaces.find((n) => n.startsWith('1-'))!;
    const out = backend.execSync('r0', overlay, ['bridge', 'link'], { world: model.world, namesVisible: true });
    expect(out.stdout).toMatch(/^\d+: vxlan0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1450 master br0 state forwarding priority 32 cost 100 \n\d+: veth\d+@\S+: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1450 master br0 state forwarding priority 32 cost 2 \n/);
  });
});

/** A bridge's MTU through its ports' lives, in the sim kernel and (root) in a namespace of the real one. */
describe("a bridge whose MTU no one set follows its ports' (br_mtu_auto_adjust)", () => {
  const STEPS: { what: string; op: PlanOp; cmd: string[] }[] = [
    { what: 'made', op: { op: 'link.add', host: 'h', netns: 'h', name: 'br9', kind: { type: 'bridge' } }, cmd: ['link', 'add', 'br9', 'type', 'bridge'] },
    { what: 'a veth of 1450 made', op: { op: 'link.add', host: 'h', netns: 'h', name: 'va', mtu: 1450, kind: { type: 'veth', peer: 'vb' } }, cmd: ['link', 'add', 'va', 'mtu', '1450', 'type', 'veth', 'peer', 'name', 'vb', 'mtu', '1450'] },
    { what: 'it joins', op: { op: 'link.set', host: 'h', netns: 'h', name: 'va', master: 'br9' }, cmd: ['link', 'set', 'va', 'master', 'br9'] },
    { what: 'the port grows to 1480', op: { op: 'link.set', host: 'h', netns: 'h', name: 'va', mtu: 1480 }, cmd: ['link', 'set', 'va', 'mtu', '1480'] },
    { what: 'the port is deleted', op: { op: 'link.del', host: 'h', netns: 'h', name: 'va' }, cmd: ['link', 'del', 'va'] },
    { what: 'a user sets 1400', op: { op: 'link.set', host: 'h', netns: 'h', name: 'br9', mtu: 1400 }, cmd: ['link', 'set', 'br9', 'mtu', '1400'] },
    { what: 'a veth of 1450 made again', op: { op: 'link.add', host: 'h', netns: 'h', name: 'va', mtu: 1450, kind: { type: 'veth', peer: 'vb' } }, cmd: ['link', 'add', 'va', 'mtu', '1450', 'type', 'veth', 'peer', 'name', 'vb', 'mtu', '1450'] },
    { what: 'it joins the user-set bridge', op: { op: 'link.set', host: 'h', netns: 'h', name: 'va', master: 'br9' }, cmd: ['link', 'set', 'va', 'master', 'br9'] },
  ];
  const EXPECTED = [1500, 1500, 1450, 1480, 1500, 1400, 1400, 1400];

  test('in sim', () => {
    const k = new SimKernel(1);
    k.apply({ op: 'host.add', host: 'h', iface: 'eth0', address: '198.51.100.10/24' });
    const seen = STEPS.map((s) => {
      k.apply(s.op);
      return k.netns('h', 'h').links.get('br9')!.mtu;
    });
    expect(seen).toEqual(EXPECTED);
  });

  describeWith(['ip'], true, 'in the real kernel', () => {
    test('the same MTUs', () => {
      const ns = `cnmt${process.pid}br`;
      execFileSync('ip', ['netns', 'add', ns]);
      try {
        const seen = STEPS.map((s) => {
          execFileSync('ip', ['-n', ns, ...s.cmd]);
          return JSON.parse(execFileSync('ip', ['-n', ns, '-j', 'link', 'show', 'br9'], { encoding: 'utf8' }))[0].mtu;
        });
        expect(seen).toEqual(EXPECTED);
      } finally {
        execFileSync('ip', ['netns', 'del', ns]);
      }
    });
  });
});

describe('interface indexes in a namespace (dev_index_reserve, dev_change_net_namespace)', () => {
  test('a device moved in keeps its index unless the namespace has a device with it; later devices made there skip the indexes moved-in ones hold', () => {
    const k = new SimKernel(1);
    const ops: PlanOp[] = [
      { op: 'host.add', host: 'h', iface: 'eth0', address: '198.51.100.10/24' },
      { op: 'netns.add', host: 'h', netns: 'a' },
      { op: 'netns.add', host: 'h', netns: 'b' },
      // In h: eth0 is 2, then veth ends 4 (x) and 3 (x-peer), and d0 5.
      { op: 'link.add', host: 'h', netns: 'h', name: 'x', kind: { type: 'veth', peer: 'x-peer' } },
      { op: 'link.add', host: 'h', netns: 'h', name: 'd0', kind: { type: 'dummy' } },
      { op: 'link.move', host: 'h', netns: 'h', name: 'd0', to: 'a' },
      { op: 'link.add', host: 'h', netns: 'a', name: 'a2', kind: { type: 'dummy' } },
      { op: 'link.add', host: 'h', netns: 'a', name: 'a3', kind: { type: 'dummy' } },
      { op: 'link.add', host: 'h', netns: 'a', name: 'a4', kind: { type: 'dummy' } },
      { op: 'link.add', host: 'h', netns: 'a', name: 'a6', kind: { type: 'dummy' } },
      { op: 'link.add', host: 'h', netns: 'b', name: 'b2', kind: { type: 'dummy' } },
      { op: 'link.add', host: 'h', netns: 'b', name: 'b3', kind: { type: 'dummy' } },
      { op: 'link.move', host: 'h', netns: 'h', name: 'x-peer', to: 'b' },
      { op: 'link.add', host: 'h', netns: 'b', name: 'b5', kind: { type: 'dummy' } },
    ];
    for (const op of ops) k.apply(op);
    const indexes = (ns: string) => Object.fromEntries([...k.netns('h', ns).links.values()].map((l) => [l.name, l.ifindex]));
    expect(indexes('h')).toEqual({ lo: 1, eth0: 2, x: 4 });
    expect(indexes('a')).toEqual({ lo: 1, d0: 5, a2: 2, a3: 3, a4: 4, a6: 6 });
    // x-peer's 3 was b3's: it took b's next (4); b's next after that is 5.
    expect(indexes('b')).toEqual({ lo: 1, b2: 2, b3: 3, 'x-peer': 4, b5: 5 });
  });
});
