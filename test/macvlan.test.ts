/**
 * `docker network create -d macvlan` (issue 13): 20.10 makes the network, and with no
 * `-o parent=` its driver makes a dummy device for a parent (dm- and the network's short id,
 * up, txqueuelen 0) that `docker network rm` removes (libnetwork drivers/macvlan). A container
 * on it gets a macvlan device on the parent (bridge mode), moved in as eth0 (issue 14): two
 * hosts' containers on eth0's segment reach each other straight over it, two on one parent
 * across the parent's port, and none reaches its own host's address on the parent. emu needs
 * the kernel's macvlan devices, and its dummy devices for a dummy parent; on a kernel without
 * them emu refuses the scenario before it starts, in one line naming what it lacks, exit 2.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { runSim } from './helpers/run';
import { crossHostRoute, oneHostPing, stackedLab } from './helpers/stacked';
import { describeWith } from './helpers/env';
import { cnmlab } from './helpers/tshark';
import { MACVLAN_STEP } from '../sim/trace/paths/macvlan';
import { classifyPath } from '../sim/trace/path';
import { SimKernel } from '../sim/kernel/kernel';
import { ipCommand } from '../sim/kernel/iproute';

const STEPS = `name: macvlan
hosts:
  r0: {}
steps:
  - r0: docker network create -d macvlan mac
  - r0: docker network ls
  - r0: ip -d link show
  - r0: docker run -dit --name m0 --network mac busybox
  - r0: docker ps -a
  - r0: docker network create -d macvlan -o parent=eth0 mac2
  - r0: docker network create -d macvlan -o parent=eth0 mac3
  - r0: docker network create -d macvlan -o macvlan_mode=foo mac4
  - r0: docker network create -d macvlan -o parent=lo mac5
  - r0: docker network rm mac mac2
  - r0: ip link show
`;

describe('docker network create -d macvlan (sim)', () => {
  test('the network, its dummy parent dm-<id12> in the host namespace, removed with it; a container on it runs', async () => {
    const { result } = await runSim(STEPS);
    const s = result.steps;
    const id = s[0].stdout.trim();
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    expect(s[1].stdout).toMatch(new RegExp(`^${id.slice(0, 12)}   mac       macvlan   local\\n`, 'm'));
    const dm = `dm-${id.slice(0, 12)}`;
    expect(s[2].stdout).toMatch(new RegExp(`^4: ${dm}: <BROADCAST,NOARP,UP,LOWER_UP> mtu 1500 qdisc noqueue state UNKNOWN mode DEFAULT group default \\n {4}link/ether \\S+ brd ff:ff:ff:ff:ff:ff promiscuity 0  allmulti 0 minmtu 0 maxmtu 0 \\n {4}dummy addrgenmode eui64 numtxqueues 1 `, 'm'));
    expect(s[3]).toMatchObject({ exitCode: 0, stderr: '' });
    expect(s[4].stdout.trim().split('\n')).toHaveLength(2);
    const id2 = s[5].stdout.trim();
    // libnetwork names the network using the parent as dm-<its short id>, dummy or not.
    expect(s[6]).toMatchObject({ exitCode: 1, stderr: `Error response from daemon: network dm-${id2.slice(0, 12)} is already using parent interface eth0\n` });
    expect(s[7].stderr).toBe("Error response from daemon: requested macvlan mode 'foo' is not valid, 'bridge' mode is the macvlan driver default\n");
    expect(s[8].stderr).toBe('Error response from daemon: loopback interface is not a valid macvlan parent link\n');
    // The network with a container is refused; mac2 goes.
    expect(s[9]).toMatchObject({ exitCode: 1, stdout: 'mac2\n' });
    expect(s[9].stderr).toMatch(/^Error response from daemon: error while removing network: network mac id [0-9a-f]{64} has active endpoints\n$/);
    expect(s[10].stdout).toContain(dm);
  });

  test('two hosts: a ping crosses the parent eth0, the segment and the peer eth0 unchanged; nothing reaches the own host', async () => {
    const { result, failed, ping, own, echo, route } = await stackedLab('macvlan');
    expect(failed).toEqual([]);
    expect(ping.path).toBe('macvlan');
    expect(classifyPath(ping).kind).toBe('macvlan');
    expect(route).toEqual(crossHostRoute());
    // The frame on the wire is the container's own: its MAC, its address, TTL untouched.
    const wire = echo[2].layers;
    expect(wire.find((l) => l.proto === 'eth')).toMatchObject({ 'eth.src': '02:42:c6:33:64:14', 'eth.dst': '02:42:c6:33:64:15' });
    expect(wire.find((l) => l.proto === 'ip')).toMatchObject({ 'ip.src': '198.51.100.20', 'ip.dst': '198.51.100.21', 'ip.ttl': 64 });
    // The own host's address: the ARP leaves by eth0 and nothing answers it.
    expect(own.hops.every((h) => h.host === 'r0' && h.event === 'arp-request')).toBe(true);
    expect(classifyPath(own).kind).not.toBe('macvlan');
    // The topology: the container's eth0 is a macvlan linked to its host's eth0, the underlay interface, which is drawn once.
    const links = result.trace.topology.links.filter((l) => l.host === 'r0' && l.device === 'eth0');
    expect(links.map((l) => `${l.netns === 'r0' ? 'host' : 'sandbox'} ${l.kind} ${l.peer ? `${l.peer.netns === 'r0' ? 'host' : 'sandbox'}/${l.peer.device}` : '-'}`))
      .toEqual(['host underlay -', 'sandbox macvlan host/eth0']);
  });

  test('one host (bridge mode): the parent\'s port hands the packet across to a sibling; only the ARP broadcast also leaves by eth0', async () => {
    const { failed, echo } = await oneHostPing('macvlan', 'mv', '10.9.0.0');
    expect(failed).toEqual([]);
    expect(echo.map((h) => `${h.step} ${h.event}`)).toEqual([`${MACVLAN_STEP.send} send`, `${MACVLAN_STEP.deliver} deliver`, `${MACVLAN_STEP.send} send`, `${MACVLAN_STEP.deliver} deliver`]);
    expect(echo.every((h) => h.host === 'r0' && h.netns !== 'r0')).toBe(true);
  });

  test('modes: vepa hands nothing across on one host (the segment does not hairpin), private takes from another host; passthru not modelled', async () => {
    const { result } = await runSim(`name: mvm
hosts:
  r0: {}
  r1: {}
steps:
  - r0: docker network create -d macvlan --subnet 10.9.0.0/24 -o parent=eth0 -o macvlan_mode=vepa mv
  - r0: docker run -dit --name web --network mv alpine
  - r0: docker run -dit --name db --network mv alpine
  - web: ping -c 1 -W 1 10.9.0.3
  - r1: docker network create -d macvlan --subnet 10.9.0.0/24 -o parent=eth0 -o macvlan_mode=private mv
  - r1: docker run -dit --name c1 --network mv --ip 10.9.0.9 alpine
  - web: ping -c 1 -W 1 10.9.0.9
  - r1: docker network create -d macvlan -o macvlan_mode=passthru pt
  - r1: docker network ls
`);
    const s = result.steps;
    expect(s.map((st) => st.exitCode)).toEqual([0, 0, 0, 1, 0, 0, 0, 127, 0]);
    expect(s[7].stderr).toBe('cnmlab: not modelled: docker network create -d macvlan -o macvlan_mode=passthru: passthru mode (one macvlan that takes its parent over)\n');
    expect(s[8].stdout).toMatch(/ mv +macvlan +local\n/);
    expect(s[8].stdout).not.toMatch(/ pt /);
  });

  test('the kernel: a macvlan on eth0 moved away goes with it; eth0 is promiscuous while one is up', () => {
    const k = new SimKernel(1);
    k.apply({ op: 'host.add', host: 'h', iface: 'eth0', address: '198.51.100.10/24' });
    k.apply({ op: 'netns.add', host: 'h', netns: 'c' });
    k.apply({ op: 'link.add', host: 'h', netns: 'h', name: 'vethabcdef0', txqueuelen: 0, kind: { type: 'macvlan', parent: 'eth0', mode: 'bridge' } });
    const show = (netns: string, argv: string[]) => ipCommand(k.netns('h', netns), argv, { namesVisible: true }).stdout;
    expect(show('h', ['-d', 'link', 'show', 'vethabcdef0'])).toMatch(/^3: vethabcdef0@eth0: <BROADCAST,MULTICAST> mtu 1500 qdisc noop state DOWN [^\n]*\n.*promiscuity 0 [^\n]*\n {4}macvlan mode bridge bcqueuelen 1000 usedbcqueuelen 1000 addrgenmode eui64 numtxqueues 1 /);
    k.apply({ op: 'link.move', host: 'h', netns: 'h', name: 'vethabcdef0', to: 'c' });
    k.apply({ op: 'link.rename', host: 'h', netns: 'c', name: 'vethabcdef0', to: 'eth0' });
    k.apply({ op: 'link.set', host: 'h', netns: 'c', name: 'eth0', up: true });
    expect(show('c', ['link', 'show', 'eth0'])).toMatch(/^3: eth0@if2: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP mode DEFAULT group default \n {4}link\/ether \S+ brd ff:ff:ff:ff:ff:ff link-netns h\n$/);
    expect(show('h', ['-d', 'link', 'show', 'eth0'])).toContain(' promiscuity 1 ');
    k.apply({ op: 'link.del', host: 'h', netns: 'h', name: 'eth0' });
    expect([...k.netns('h', 'c').links.keys()]).toEqual(['lo']);
  });

  test('explain: the container\'s macvlan made on the parent, then moved into the sandbox as eth0', () => {
    const plan = cnmlab(['explain', path.join('scenarios', 'macvlan.yaml')]).stdout;
    expect(plan).toMatch(/ip link add (veth[0-9a-f]{7}) txqueuelen 0 link eth0 type macvlan mode bridge\n(.*\n)*?.*ip link set dev \1 netns \S+\n(.*\n)*?.*link set dev \1 name eth0/);
  });

  test('explain: the dummy as the driver makes it', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cnmlab-macvlan-'));
    try {
      const file = path.join(dir, 'm.yaml');
      fs.writeFileSync(file, 'name: m\nhosts:\n  r0: {}\nsteps:\n  - r0: docker network create -d macvlan mac\n');
      const plan = cnmlab(['explain', file]).stdout;
      expect(plan).toMatch(/ip link add dm-[0-9a-f]{12} txqueuelen 0 type dummy\n(.*\n)?.*ip link set dev dm-[0-9a-f]{12} up/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describeWith(['ip'], true, 'docker network create -d macvlan (emu)', () => {
  test("the real kernel's dummy device, or, on a kernel without them, the scenario refused before it starts", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cnmlab-macvlan-'));
    try {
      const file = path.join(dir, 'macvlan.yaml');
      fs.writeFileSync(file, STEPS);
      const r = cnmlab(['run', file, '--mode', 'emu', '--json']);
      if (r.status === 2) {
        expect(r.stdout).toBe('');
        expect(r.stderr).toBe(`cnmlab: ${file}: --mode emu needs the kernel's dummy devices (CONFIG_DUMMY), which this kernel cannot make; the scenario runs in sim only here\n`);
      } else {
        const out = JSON.parse(r.stdout) as { steps: { stdout: string }[] };
        expect(out.steps[2].stdout).toMatch(/: dm-[0-9a-f]{12}: <BROADCAST,NOARP,UP,LOWER_UP> .*\n.* minmtu 0 maxmtu 0 \n {4}dummy addrgenmode/);
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
