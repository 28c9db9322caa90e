/**
 * `docker network create -d ipvlan` (issue 14: the driver added on the seam alone). 20.10
 * makes the network (l2 unless `-o ipvlan_mode=l3`), and with no `-o parent=` its driver makes
 * a dummy parent di-<id12> that `docker network rm` removes (libnetwork drivers/ipvlan). A
 * container on an l2 network gets an ipvlan device on the parent, moved in as eth0, with the
 * parent's MAC: two hosts' containers on eth0's segment reach each other straight over it,
 * from host MAC to host MAC, two on one parent across the port, and none reaches its own
 * host's address. This machine's kernel has no ipvlan: emu says so before it starts.
 */
import * as fs from 'fs';
import * as path from 'path';
import { spawnSync } from 'child_process';
import { runLab, runSim } from './helpers/run';
import { crossHostRoute, oneHostPing, stackedLab } from './helpers/stacked';
import { cnmlab } from './helpers/tshark';
import { REPO } from './helpers/env';
import { IPVLAN_STEP } from '../sim/trace/paths/ipvlan';
import { classifyPath } from '../sim/trace/path';
import { pathOf } from '../sim/trace/paths';
import { SimKernel } from '../sim/kernel/kernel';
import { ipCommand } from '../sim/kernel/iproute';
import { parseScenario } from '../sim/scenario/load';
import { scenarioNeeds } from '../emu/features';

describe('docker network create -d ipvlan (sim)', () => {
  test('the network, its dummy parent di-<id12> removed with it; the driver\'s refusals in its words; other parents not modelled', async () => {
    const { result } = await runSim(`name: iv
hosts:
  r0: {}
steps:
  - r0: docker network create -d ipvlan iv
  - r0: docker network ls
  - r0: docker network create -d ipvlan -o parent=eth0 iv2
  - r0: docker network create -d ipvlan -o parent=eth0 iv3
  - r0: docker network create -d ipvlan -o ipvlan_mode=l4 iv4
  - r0: docker network create -d ipvlan -o parent=lo iv5
  - r0: docker network create -d ipvlan -o parent=eth1 iv6
  - r0: docker network rm iv iv2
  - r0: ip link show
  - r0: docker network create -d ipvlan -o ipvlan_mode=l3 --subnet 10.9.3.0/24 l3
  - r0: docker run -dit --name c3 --network l3 busybox
`);
    const s = result.steps;
    const id = s[0].stdout.trim();
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    expect(s[1].stdout).toMatch(new RegExp(`^${id.slice(0, 12)}   iv        ipvlan    local\\n`, 'm'));
    const id2 = s[2].stdout.trim();
    expect(s[3]).toMatchObject({ exitCode: 1, stderr: `Error response from daemon: network di-${id2.slice(0, 12)} is already using parent interface eth0\n` });
    expect(s[4].stderr).toBe("Error response from daemon: requested ipvlan mode 'l4' is not valid, 'l2' mode is the ipvlan driver default\n");
    expect(s[5].stderr).toBe('Error response from daemon: loopback interface is not a valid ipvlan parent link\n');
    expect(s[6].stderr).toMatch(/^cnmlab: not modelled: docker network create -d ipvlan -o parent=eth1: a parent other than the host's eth0 \(a VLAN subinterface, another device\)\n$/);
    expect(s[7]).toMatchObject({ exitCode: 0, stdout: 'iv\niv2\n' });
    expect(s[8].stdout).not.toContain('di-');
    expect(s[9].exitCode).toBe(0);
    // A container on an l3 network (on its dummy parent) is made.
    expect(s[10]).toMatchObject({ exitCode: 0, stderr: '' });
  });

  test('two hosts: a ping crosses the parent eth0, the segment and the peer eth0 unchanged, from host MAC to host MAC; nothing reaches the own host', async () => {
    const { backend, failed, ping, own, echo, route } = await stackedLab('ipvlan');
    expect(failed).toEqual([]);
    expect(ping.path).toBe('ipvlan');
    expect(classifyPath(ping).kind).toBe('ipvlan');
    expect(route).toEqual(crossHostRoute());
    // The frame on the wire: the hosts' own MACs (the containers' eth0 carry them), the containers' addresses, TTL untouched.
    const kernel = backend.kernel;
    const r0Mac = kernel.link('r0', 'r0', 'eth0').mac, r1Mac = kernel.link('r1', 'r1', 'eth0').mac;
    const wire = echo[2].layers;
    expect(wire.find((l) => l.proto === 'eth')).toMatchObject({ 'eth.src': r0Mac, 'eth.dst': r1Mac });
    expect(wire.find((l) => l.proto === 'ip')).toMatchObject({ 'ip.src': '198.51.100.20', 'ip.dst': '198.51.100.21', 'ip.ttl': 64 });
    // The own host's address: the ARP leaves by eth0, the host's own stack never sees it, nothing answers.
    expect(own.hops.every((h) => h.host === 'r0' && h.event === 'arp-request')).toBe(true);
    expect(classifyPath(own).kind).not.toBe('ipvlan');
  });

  test('one host: the port hands the packet across to the sibling holding the address; only the ARP broadcast also leaves by eth0', async () => {
    const { failed, echo } = await oneHostPing('ipvlan', 'iv', '10.9.1.0');
    expect(failed).toEqual([]);
    expect(echo.map((h) => `${h.step} ${h.event}`)).toEqual([`${IPVLAN_STEP.send} send`, `${IPVLAN_STEP.deliver} deliver`, `${IPVLAN_STEP.send} send`, `${IPVLAN_STEP.deliver} deliver`]);
    expect(echo.every((h) => h.host === 'r0' && h.netns !== 'r0')).toBe(true);
  });

  test('the kernel: an ipvlan takes its lower\'s MAC, shows its mode, leaves the lower unpromiscuous, and goes with the lower', () => {
    const k = new SimKernel(1);
    k.apply({ op: 'host.add', host: 'h', iface: 'eth0', address: '198.51.100.10/24' });
    k.apply({ op: 'netns.add', host: 'h', netns: 'c' });
    k.apply({ op: 'link.add', host: 'h', netns: 'h', name: 'vethabcdef0', txqueuelen: 0, kind: { type: 'ipvlan', parent: 'eth0', mode: 'l2' } });
    const eth0 = k.link('h', 'h', 'eth0');
    expect(k.link('h', 'h', 'vethabcdef0').mac).toBe(eth0.mac);
    const show = (netns: string, argv: string[]) => ipCommand(k.netns('h', netns), argv, { namesVisible: true }).stdout;
    expect(show('h', ['-d', 'link', 'show', 'vethabcdef0'])).toMatch(/^3: vethabcdef0@eth0: <BROADCAST,MULTICAST> mtu 1500 qdisc noop state DOWN [^\n]*\n.*promiscuity 0 [^\n]*\n {4}ipvlan {2}mode l2 bridge addrgenmode eui64 /);
    k.apply({ op: 'link.move', host: 'h', netns: 'h', name: 'vethabcdef0', to: 'c' });
    k.apply({ op: 'link.set', host: 'h', netns: 'c', name: 'vethabcdef0', up: true });
    expect(show('h', ['-d', 'link', 'show', 'eth0'])).toContain('promiscuity 0 ');
    expect(eth0.rxHandler?.uppers?.size).toBe(1);
    k.apply({ op: 'link.del', host: 'h', netns: 'h', name: 'eth0' });
    expect(k.netns('h', 'c').links.has('vethabcdef0')).toBe(false);
  });
});

describe('ipvlan in l3 mode (sim)', () => {
  test("the lab: eth0 NOARP with `default dev eth0` and no gateway; a sibling reached across the port; without host routes r0 asks for the peer by ARP, r1's port hands the request to the peer's eth0, which drops it; the container itself sends no ARP", async () => {
    const { result } = await runLab('ipvlan-l3');
    expect(result.steps.filter((st) => !st.ok).map((st) => st.command)).toEqual([]);
    const link = result.steps.find((st) => st.command === 'ip link show eth0')!;
    expect(link.stdout).toMatch(/^4: eth0@if2: <BROADCAST,MULTICAST,NOARP,UP,LOWER_UP,M-DOWN> mtu 1500 /);
    expect(result.steps.find((st) => st.command === 'ip route')!.stdout).toBe('default dev eth0 \n10.9.1.0/24 dev eth0 scope link  src 10.9.1.20 \n');
    const [local, lost] = result.trace.flows.filter((f) => f.kind === 'icmp-echo');
    const echo = local.hops.filter((h) => h.layers.some((l) => l.proto === 'icmp'));
    const { send, deliver, parent } = IPVLAN_STEP;
    const across = [`${send} send`, `${deliver} deliver`, `${send} send`, `${deliver} deliver`];
    expect(echo.map((h) => `${h.step} ${h.event}`)).toEqual([...across, ...across]);
    // NUD_NOARP: the container's frame goes to its own (the parent's) MAC, and no ARP at all on the local flow.
    expect(echo.every((h) => { const eth = h.layers.find((l) => l.proto === 'eth')!; return eth['eth.src'] === eth['eth.dst']; })).toBe(true);
    expect(local.hops.some((h) => h.event.startsWith('arp'))).toBe(false);
    // The lost ping: the container sends it (no ARP of its own), r0 asks for 10.9.2.21 on its eth0 (the on-link guess of a
    // lookup with no route), r1's port hands the request to c1's eth0, the address's holder, and NOARP, it drops it.
    const { parentIn } = IPVLAN_STEP;
    const c0 = lost.hops[0].netns;
    expect(lost.hops.filter((h) => h.netns === c0).map((h) => h.event)).toEqual(['send']);
    const firstAsk = lost.hops.filter((h) => h.event !== 'send').slice(0, 4);
    expect(firstAsk.map((h) => `${h.step} ${h.host}/${h.netns === h.host ? h.host : 'c'}/${h.device} ${h.event}`)).toEqual([
      `${parent} r0/r0/eth0 arp-request`, `${parentIn} r1/r1/eth0 arp-request`, `${deliver} r1/c/eth0 arp-request`, 'undefined r1/c/eth0 drop',
    ]);
    expect(firstAsk[3].reason).toBe('eth0 is NOARP: arp_rcv drops the ARP packet');
    expect(lost.hops.some((h) => h.event === 'arp-reply')).toBe(false);
  });

  test("across hosts with the user's host routes (the lab's `ip route add SUBNET via PEER` on each): the host routes the packet out of eth0 to the peer host's MAC, TTL kept, and the peer's eth0 hands it to the ipvlan holding the address", async () => {
    const { result, backend } = await runLab('ipvlan-l3');
    const routed = result.steps[result.steps.length - 1];
    expect(routed.command).toBe('ping -c 2 10.9.2.21');
    expect(routed.stdout).toContain('2 packets received');
    const flow = result.trace.flows.filter((f) => f.kind === 'icmp-echo').pop()!;
    // The l3 network's path model, in l3's words: the host routes it, the container asks no ARP.
    expect(flow.path).toBe('ipvlan-l3');
    expect(classifyPath(flow).kind).toBe('ipvlan-l3');
    const steps = pathOf(flow).steps;
    expect(steps.find((st) => st.step === IPVLAN_STEP.send)!.says).toMatch(/l3 mode \(NOARP, `default dev eth0`\): no ARP of its own/);
    expect(steps.find((st) => st.step === IPVLAN_STEP.parent)!.says).toMatch(/^the host's namespace routes the packet/);
    expect(steps.map((st) => st.says).join(' ')).not.toMatch(/\bl2\b/);
    const echo = flow.hops.filter((h) => h.dir === 'request' && h.layers.some((l) => l.proto === 'icmp')).slice(0, 5);
    const { send, parent, underlay, parentIn, deliver } = IPVLAN_STEP;
    expect(echo.map((h) => `${h.step} ${h.host}/${h.device} ${h.event}`)).toEqual([
      `${send} r0/eth0 send`, `${parent} r0/eth0 bridge-forward`, `${underlay} underlay/segment underlay`, `${parentIn} r1/eth0 bridge-forward`, `${deliver} r1/eth0 deliver`,
    ]);
    const r0Mac = backend.kernel.link('r0', 'r0', 'eth0').mac, r1Mac = backend.kernel.link('r1', 'r1', 'eth0').mac;
    expect(echo[0].layers.find((l) => l.proto === 'eth')).toMatchObject({ 'eth.src': r0Mac, 'eth.dst': r0Mac });
    expect(echo[2].layers.find((l) => l.proto === 'eth')).toMatchObject({ 'eth.src': r0Mac, 'eth.dst': r1Mac });
    expect(echo[2].layers.find((l) => l.proto === 'ip')).toMatchObject({ 'ip.src': '10.9.1.20', 'ip.dst': '10.9.2.21', 'ip.ttl': 64 });
    // The ARP on the wire is the hosts' own, for each other's addresses; none asks for a container's.
    const arpTargets = flow.hops.filter((h) => h.event === 'arp-request').map((h) => `${h.host}/${h.netns} ${h.layers.find((l) => l.proto === 'arp')?.['arp.dst.proto_ipv4']}`);
    expect(arpTargets.every((t) => t === 'r0/r0 198.51.100.11' || t === 'r1/r1 198.51.100.10' || t === 'underlay/underlay 198.51.100.11' || t === 'underlay/underlay 198.51.100.10')).toBe(true);
  });

  test("edges, as ipvlan_core.c has them: to its host's own address the host's stack takes it by lo (RTN_LOCAL is accepted) and, with no route back, the ping is lost; to the subnet's broadcast the frame goes to its own MAC (NOARP before broadcast in arp_constructor) and the host asks for it on eth0", async () => {
    const { result, backend } = await runSim(`name: l3-edges
hosts:
  r0: {}
  r1: {}
steps:
  - r0: docker network create -d ipvlan -o ipvlan_mode=l3 --subnet 10.9.1.0/24 -o parent=eth0 iv
  - r0: docker run -dit --name c0 --network iv --ip 10.9.1.20 alpine
  - c0: ping -c 1 -W 1 198.51.100.10
  - c0: ping -c 1 -W 1 10.9.1.255
`);
    expect(result.steps.slice(2).map((st) => st.stdout.match(/\d+ packets received/)?.[0])).toEqual(['0 packets received', '0 packets received']);
    const [own, broadcast] = backend.flows().filter((f) => f.kind === 'icmp-echo');
    const where = (f: typeof own) => f.hops.map((h) => `${h.host}/${h.netns === h.host ? h.host : 'c'}/${h.device} ${h.event}`);
    // The host's stack took the request on lo (no drop, no "not modelled"); its answer had no route to 10.9.1.20.
    expect(where(own)).toEqual(['r0/c/eth0 send', 'r0/r0/lo send']);
    expect(own.hops[1].layers.find((l) => l.proto === 'ip')).toMatchObject({ 'ip.src': '10.9.1.20', 'ip.dst': '198.51.100.10', 'ip.ttl': 64 });
    // The broadcast: to the container's own MAC, then the host's ARP for it (the on-link guess of a lookup with no route).
    const eth = broadcast.hops[0].layers.find((l) => l.proto === 'eth')!;
    expect(eth['eth.dst']).toBe(eth['eth.src']);
    expect(where(broadcast)[1]).toBe('r0/r0/eth0 arp-request');
    expect(broadcast.hops[1].layers.find((l) => l.proto === 'arp')).toMatchObject({ 'arp.dst.proto_ipv4': '10.9.1.255' });
  });

  test("the kernel: an l3 port's ipvlans are NOARP and show mode l3; a device made in l3 sets its port's mode for all", () => {
    const k = new SimKernel(1);
    k.apply({ op: 'host.add', host: 'h', iface: 'eth0', address: '198.51.100.10/24' });
    k.apply({ op: 'link.add', host: 'h', netns: 'h', name: 'iva', txqueuelen: 0, kind: { type: 'ipvlan', parent: 'eth0', mode: 'l2' } });
    const show = (name: string) => ipCommand(k.netns('h', 'h'), ['-d', 'link', 'show', name], { namesVisible: true }).stdout;
    expect(show('iva')).toMatch(/^3: iva@eth0: <BROADCAST,MULTICAST> .*\n.*\n {4}ipvlan {2}mode l2 bridge /);
    k.apply({ op: 'link.add', host: 'h', netns: 'h', name: 'ivb', txqueuelen: 0, kind: { type: 'ipvlan', parent: 'eth0', mode: 'l3' } });
    k.apply({ op: 'link.set', host: 'h', netns: 'h', name: 'ivb', up: true });
    expect(show('ivb')).toMatch(/^4: ivb@eth0: <BROADCAST,MULTICAST,NOARP,UP,LOWER_UP> .*\n.*\n {4}ipvlan {2}mode l3 bridge /);
    expect(show('iva')).toMatch(/^3: iva@eth0: <BROADCAST,MULTICAST,NOARP> .*\n.*\n {4}ipvlan {2}mode l3 bridge /);
  });
});

describe('ipvlan in emu', () => {
  test("a scenario that makes an ipvlan network needs the kernel's ipvlan; on a kernel without it emu refuses before anything is made, in one line naming it, exit 2", () => {
    const lab = parseScenario('iv.yaml', fs.readFileSync(path.join(REPO, 'scenarios', 'ipvlan.yaml'), 'utf8'));
    expect(scenarioNeeds(lab).features.map((f) => `${f.name} ${f.config}`)).toEqual(['ipvlan CONFIG_IPVLAN']);
    const macvlan = parseScenario('mv.yaml', fs.readFileSync(path.join(REPO, 'scenarios', 'macvlan.yaml'), 'utf8'));
    expect(scenarioNeeds(macvlan).features.map((f) => `${f.name} ${f.config}`)).toEqual(['macvlan CONFIG_MACVLAN']);
    // With no -o parent (any spelling of the driver), the driver makes a dummy parent: dummy devices too.
    const needs = (create: string) => scenarioNeeds(parseScenario('x.yaml', `name: x\nhosts:\n  r0: {}\nsteps:\n  - r0: ${create}\n`)).features.map((f) => f.config);
    expect(needs('docker network create -d ipvlan iv')).toEqual(['CONFIG_IPVLAN', 'CONFIG_DUMMY']);
    expect(needs('docker network create --driver=macvlan --subnet 10.9.0.0/24 mv')).toEqual(['CONFIG_MACVLAN', 'CONFIG_DUMMY']);
    expect(needs('docker network create --driver macvlan --opt parent=eth0 mv')).toEqual(['CONFIG_MACVLAN']);
    expect(needs('docker network create -dmacvlan -o parent=eth0 mv')).toEqual(['CONFIG_MACVLAN']);
    expect(needs('docker network create -d macvlan -oparent=eth0 mv')).toEqual(['CONFIG_MACVLAN']);
    expect(needs('docker network create -d macvlan -o=parent=eth0 --opt=parent=eth0 mv')).toEqual(['CONFIG_MACVLAN']);
    // pflag knows no --optparent: the line names no parent.
    expect(needs('docker network create -d macvlan --optparent=eth0 mv')).toEqual(['CONFIG_MACVLAN', 'CONFIG_DUMMY']);
    expect(needs('docker network create -d bridge br')).toEqual([]);
    if (process.getuid?.() !== 0) return;
    // The kernel's own answer, as emu's probe asks it: a kernel with ipvlan runs the lab instead (the labs' verify --mode both).
    const ns = `cnmivtest${process.pid}`;
    spawnSync('ip', ['netns', 'add', ns]);
    spawnSync('ip', ['-n', ns, 'link', 'add', 'p1', 'type', 'veth', 'peer', 'name', 'p2']);
    const hasIpvlan = spawnSync('ip', ['-n', ns, 'link', 'add', 'p0', 'link', 'p1', 'type', 'ipvlan', 'mode', 'l2']).status === 0;
    spawnSync('ip', ['netns', 'del', ns]);
    if (hasIpvlan) return;
    const r = cnmlab(['run', 'scenarios/ipvlan.yaml', '--mode', 'emu']);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toEqual(["cnmlab: scenarios/ipvlan.yaml: --mode emu needs the kernel's ipvlan devices (CONFIG_IPVLAN), which this kernel cannot make; the scenario runs in sim only here"]);
  });
});
