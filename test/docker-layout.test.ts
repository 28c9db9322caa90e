/**
 * Docker's kernel layout as a 20.10 engine leaves it (issue 13, "Kernel layout"), read with
 * iproute2 in sim and, as root, on the real kernel in emu: the same texts in both modes.
 * docker0 has no carrier until a container joins (then it has, and its route is no longer linkdown); Docker's devices have txqueuelen 0; its
 * namespaces have no IPv6 while a host's has; the ingress sandbox's default route leaves by
 * docker_gwbridge; vxlan0's bridge port cost is 100; a veth's container end is made first;
 * every Ethernet device lists the multicast groups it joined in its FDB (`self permanent`);
 * interface indexes come from the namespace a device is made in and stay when it moves;
 * `ip -d link` prints the kernel's whole attribute set.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawnSync } from 'child_process';
import { describeWith } from './helpers/env';
import { cnmlab } from './helpers/tshark';
import { explainScript } from './helpers/explain-script';
import { Trace } from '../sim/trace/types';
import { normaliseOutput } from '../sim/trace/compare';

const STEPS = [
  'r0: docker swarm init',
  'r1: docker swarm join --token <...> 198.51.100.10:2377',
  'r0: docker network create --driver=overlay --attachable test-net',
  'r0: ip link show docker0',
  'r0: ip route',
  'r0: docker run -dit --name ubuntu0 --network test-net busybox',
  'ubuntu0: ip addr',
  'r0: ln -s /var/run/docker/netns /var/run/netns',
  'r0: ip netns exec ingress_sbox ip route',
  'r0: ip netns exec ingress_sbox ip addr',
  'r0: ip netns exec OVERLAY bridge link',
  'r0: ip addr show eth0',
  'r0: ip link show docker_gwbridge',
  'r0: bridge fdb show dev docker0',
  'r0: ip netns exec OVERLAY bridge fdb show',
  'r0: ip -d link show docker0',
  'r0: ip -d link show',
  'r0: ip netns exec OVERLAY ip -d link show',
  // A container on the default bridge gives docker0 its carrier: its route is no longer linkdown.
  'r0: docker run -dit --name b0 busybox',
  'r0: ip link show dev docker0',
  'r0: ip route list',
];
const at = (line: string) => STEPS.indexOf(line);

function write(dir: string, overlay: string): string {
  const file = path.join(dir, 'layout.yaml');
  fs.writeFileSync(file, `name: docker-layout\nhosts:\n  r0: {}\n  r1: {}\nsteps:\n${STEPS.map((s) => `  - ${s.replace('OVERLAY', overlay)}\n`).join('')}`);
  return file;
}

function outputs(file: string, mode: 'sim' | 'emu'): string[] {
  const r = cnmlab(['run', file, '--mode', mode, '--json']);
  if (r.status !== 0) throw new Error(`${mode} run failed (${r.status}): ${r.stderr}`);
  return (JSON.parse(r.stdout).steps as { stdout: string }[]).map((s) => s.stdout);
}

let dir: string;
let sim: string[];
let file: string;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cnmlab-layout-'));
  // The overlay namespace's name is seeded by the scenario name: learn it from sim first.
  const first = JSON.parse(cnmlab(['run', write(dir, '1-unknown0000'), '--json']).stdout);
  const overlay = (first.trace as Trace).topology.namespaces.find((n) => n.kind === 'overlay' && n.network === 'test-net' && n.host === 'r0')!.name;
  file = write(dir, overlay);
  sim = outputs(file, 'sim');
});

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** What each mode must print, whichever it is. */
function checkLayout(out: string[]): void {
  expect(out[at('r0: ip link show docker0')]).toMatch(/^3: docker0: <NO-CARRIER,BROADCAST,MULTICAST,UP> mtu 1500 qdisc noqueue state DOWN mode DEFAULT group default \n    link\/ether 02:42(:[0-9a-f]{2}){4} brd ff:ff:ff:ff:ff:ff\n$/);
  expect(out[at('r0: ip route')]).toContain('172.17.0.0/16 dev docker0 proto kernel scope link src 172.17.0.1 linkdown \n');
  expect(out[at('r0: ip route')]).toContain('172.18.0.0/16 dev docker_gwbridge proto kernel scope link src 172.18.0.1 \n');
  const container = out[at('ubuntu0: ip addr')];
  // Only lo keeps the kernel's default queue; Docker's veth ends were made with none.
  expect(container.match(/qlen \d+/g)).toEqual(['qlen 1000']);
  // The container is busybox, as on the engine: BusyBox's ip, no state or group, M-DOWN for a peer it cannot see.
  expect(container).toMatch(/: eth0@if\d+: <BROADCAST,MULTICAST,UP,LOWER_UP,M-DOWN> mtu 1450 qdisc noqueue \n/);
  expect(container).not.toContain('inet6');
  expect(out[at('r0: ip netns exec ingress_sbox ip route')]).toMatch(/^default via 172\.18\.0\.1 dev eth1 \n/);
  expect(out[at('r0: ip netns exec ingress_sbox ip addr')]).not.toContain('inet6');
  expect(out[at('r0: ip netns exec OVERLAY bridge link')]).toMatch(/: vxlan0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1450 master br0 state forwarding priority 32 cost 100 \n/);
  expect(out[at('r0: ip netns exec OVERLAY bridge link')]).toMatch(/: veth0@\S+: .* cost 2 \n/);
  // A host's namespace keeps IPv6: its link-local address from its MAC.
  const eth0 = out[at('r0: ip addr show eth0')];
  const mac = eth0.match(/link\/ether (\S+)/)![1].split(':');
  const eui = `${(parseInt(mac[0], 16) ^ 2).toString(16)}${mac[1]}:${mac[2]}ff:fe${mac[3]}:${mac[4]}${mac[5]}`.replace(/(^|:)0+(?=[0-9a-f])/g, '$1');
  expect(eth0).toContain(`    inet6 fe80::${eui}/64 scope link`);
  const docker0Mac = out[at('r0: ip link show docker0')].match(/link\/ether (\S+)/)![1];
  expect(out[at('r0: bridge fdb show dev docker0')]).toBe(
    `33:33:00:00:00:01 self permanent\n01:00:5e:00:00:6a self permanent\n33:33:00:00:00:6a self permanent\n01:00:5e:00:00:01 self permanent\n${docker0Mac} master docker0 permanent\n`);
  const fdb = out[at('r0: ip netns exec OVERLAY bridge fdb show')];
  // In Docker's overlay namespace (no IPv6): the bridge's four groups, each veth's two, no solicited-node group.
  expect(fdb).toContain('33:33:00:00:00:01 dev br0 self permanent\n01:00:5e:00:00:6a dev br0 self permanent\n33:33:00:00:00:6a dev br0 self permanent\n01:00:5e:00:00:01 dev br0 self permanent\n');
  expect(fdb).toMatch(/ dev veth0 master br0 permanent\n33:33:00:00:00:01 dev veth0 self permanent\n01:00:5e:00:00:01 dev veth0 self permanent\n/);
  expect(fdb).not.toContain('33:33:ff:');
  // iproute2 6.1 prints no vlan_protocol for a bridge without VLAN filtering.
  expect(out[at('r0: ip -d link show docker0')]).toMatch(/\n    bridge forward_delay 1500 hello_time 200 max_age 2000 ageing_time 30000 stp_state 0 priority 32768 vlan_filtering 0 /);
  expect(out[at('r0: ip -d link show docker0')]).not.toContain('vlan_protocol');
  expect(out[at('r0: ip link show dev docker0')]).toMatch(/^3: docker0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP mode DEFAULT group default \n/);
  expect(out[at('r0: ip route list')]).toContain('172.17.0.0/16 dev docker0 proto kernel scope link src 172.17.0.1 \n');
  expect(out[at('r0: ip link show docker_gwbridge')]).toMatch(/: docker_gwbridge: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP mode DEFAULT group default \n/);
}

describe('Docker layout in sim', () => {
  test('docker0 without carrier, no qlen on Docker devices, no IPv6 in its namespaces, ingress default route, vxlan0 cost 100', () => {
    checkLayout(sim);
  });

  test("interface indexes: the container end of a veth is made first in the host namespace and keeps its index when moved; br0 is made in its own namespace", () => {
    // Host r0: lo 1, eth0 2, docker0 3, docker_gwbridge 4, testvxlan 5 (the overlay driver's
    // one-time check, removed), ingress vxlan 6, ingress_sbox eth0/peer 7/8, eth1/peer 9/10,
    // test-net vxlan 11, lb eth0/peer 12/13, then ubuntu0: eth0/peer 14/15, eth1/peer 16/17.
    // The engine sample (docker-20.10-samples) shows 15: eth0@if16 and 17: eth1@if18: the
    // same order, one higher, so its host had made one device more than lo and eth0 before
    // dockerd did (Docker's own creations, read from libnetwork v20.10, give the count above).
    expect(sim[at('ubuntu0: ip addr')]).toMatch(/^14: eth0@if15: /m);
    expect(sim[at('ubuntu0: ip addr')]).toMatch(/^16: eth1@if17: /m);
    const overlay = sim[at('r0: ip netns exec OVERLAY ip -d link show')];
    expect(overlay.match(/^\d+: \S+:/gm)).toEqual(['1: lo:', '2: br0:', '11: vxlan0@if11:', '13: veth0@if12:', '15: veth1@if14:']);
    expect(sim[at('r0: ip -d link show')]).not.toMatch(/^5: /m);
  });

  test('ip -d link: the generic attributes, each kind\'s line, the bridge port\'s line and the offload tail', () => {
    const overlay = sim[at('r0: ip netns exec OVERLAY ip -d link show')];
    expect(overlay).toMatch(/^ {4}link\/ether (\S+) brd ff:ff:ff:ff:ff:ff promiscuity 0 {2}allmulti 0 minmtu 68 maxmtu 65535 \n {4}bridge forward_delay 1500 .* vlan_filtering 0 bridge_id 8000\.[0-9a-f:]+ designated_root 8000\.[0-9a-f:]+ root_port 0 .* gc_timer +\d+\.\d\d .* nf_call_arptables 0 addrgenmode eui64 numtxqueues 1 numrxqueues 1 gso_max_size 65536 gso_max_segs 65535 tso_max_size 65536 tso_max_segs 65535 gro_max_size 65536 $/m);
    expect(overlay).toMatch(/ link-netns r0 promiscuity 1 {2}allmulti 1 minmtu 68 maxmtu 65535 \n {4}vxlan id 4097 .*\n {4}bridge_slave state forwarding priority 32 cost 100 .* port_id 0x8001 port_no 0x1 designated_port 32769 .* forward_delay_timer +\d+\.\d\d .* locked off addrgenmode eui64 numtxqueues 1 numrxqueues 1 .* tso_max_size 65536 /);
    expect(overlay).toMatch(/\n {4}veth \n {4}bridge_slave .* port_no 0x3 .* numtxqueues 2 numrxqueues 2 .* tso_max_size 524280 /);
    const host = sim[at('r0: ip -d link show')];
    expect(host).toMatch(/^ {4}link\/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00 promiscuity 0 {2}allmulti 0 minmtu 0 maxmtu 0 addrgenmode eui64 numtxqueues 1 /m);
    // docker0 never had a port: the device default; docker_gwbridge follows its veths'.
    expect(host).toMatch(/docker0: [^\n]*\n[^\n]*\n {4}bridge [^\n]* tso_max_size 65536 /);
    expect(host).toMatch(/docker_gwbridge: [^\n]*\n[^\n]*\n {4}bridge [^\n]* tso_max_size 524280 /);
    expect(host).not.toContain('vlan_protocol');
  });
});

describeWith(['ip', 'bridge', 'sysctl'], true, 'Docker layout in emu (real kernel)', () => {
  let ran: string[] | undefined;
  const emuOutputs = () => (ran ??= outputs(file, 'emu'));

  test('the real kernel prints what sim prints', () => {
    const emu = emuOutputs();
    checkLayout(emu);
    // Texts the model decides alone are the same, byte for byte.
    for (const step of ['r0: ip link show docker0', 'r0: ip route', 'r0: ip netns exec ingress_sbox ip route', 'r0: bridge fdb show dev docker0', 'r0: ip route list']) expect({ step, out: emu[at(step)] }).toEqual({ step, out: sim[at(step)] });
    // The same interface indexes: devices made where Docker makes them and moved as it moves them.
    const masked = (s: string) => s.replace(/ link-netns(id)? \S+/g, '');
    expect(masked(emu[at('ubuntu0: ip addr')])).toBe(masked(sim[at('ubuntu0: ip addr')]));
    // ip -d link, field by field (bridge, vxlan, veth, the host's eth0), once what differs by
    // nature is normalised. br0 is compared without its operstate: emu applies the plan just
    // before a command looks, and the kernel's linkwatch turns a bridge's UNKNOWN into UP up to
    // a second after its first port brings carrier.
    for (const step of ['r0: ip -d link show', 'r0: ip netns exec OVERLAY ip -d link show']) {
      const norm = (s: string) => normaliseOutput(s).replace(/^(2: br0: .*) state (?:UP|UNKNOWN) /m, '$1 state <operstate> ');
      expect({ step, out: norm(emu[at(step)]) }).toEqual({ step, out: norm(sim[at(step)]) });
    }
    // The overlay's FDB, devices' own random MACs aside, in any device order (ifindexes differ).
    // Docker's MACs are those sim prints: a random one may begin 02:42 by chance (1 in 16,384).
    const fdbStep = at('r0: ip netns exec OVERLAY bridge fdb show');
    const dockerMacs = new Set(sim[fdbStep].match(/\b02:42(?::[0-9a-f]{2}){4}\b/g) ?? []);
    const entries = (s: string) => s.trim().split('\n').map((l) => l.replace(/^\S+/, (mac) => (/^(?:33:33|01:00:5e)/.test(mac) || dockerMacs.has(mac) ? mac : 'MAC'))).sort();
    expect(entries(emu[fdbStep])).toEqual(entries(sim[fdbStep]));
  });
  test("ifindexes as the kernel numbers libnetwork's own steps (veth made in the host namespace with the container end as its peer, then moved): what sim and emu print", () => {
    // The plan's commands up to ubuntu0, one program each as explain prints them, under a prefix of their own: no emu numbering involved.
    const docker = STEPS.slice(0, at('r0: docker run -dit --name ubuntu0 --network test-net busybox') + 1).filter((s) => / docker /.test(` ${s}`));
    const reduced = path.join(dir, 'kernel.yaml');
    fs.writeFileSync(reduced, `name: docker-layout\nhosts:\n  r0: {}\n  r1: {}\nsteps:\n${docker.map((s) => `  - ${s}\n`).join('')}`);
    const sandbox = (JSON.parse(cnmlab(['run', reduced, '--json']).stdout).trace as Trace).topology.namespaces.find((n) => n.kind === 'container' && n.container === 'ubuntu0')!.name;
    const script = explainScript(cnmlab(['explain', reduced]).stdout);
    try {
      const r = spawnSync('bash', ['-e'], { input: script.lines.join('\n') + '\n', encoding: 'utf8' });
      expect(r.stderr).toBe('');
      const links = spawnSync('ip', ['-o', '-n', script.names.netns('r0', sandbox), 'link', 'show'], { encoding: 'utf8' }).stdout;
      const kernel = [...links.matchAll(/^(\d+): (eth\d)@if(\d+):/gm)].map((m) => `${m[1]}: ${m[2]}@if${m[3]}`);
      // The peer (the container end) is registered first (veth_newlink), so it has the lower index.
      expect(kernel).toEqual(['14: eth0@if15', '16: eth1@if17']);
      for (const out of [sim[at('ubuntu0: ip addr')], emuOutputs()[at('ubuntu0: ip addr')]]) {
        expect([...out.matchAll(/^(\d+): (eth\d)@if(\d+):/gm)].map((m) => `${m[1]}: ${m[2]}@if${m[3]}`)).toEqual(kernel);
      }
    } finally {
      for (const ns of [...script.namespaces].reverse()) spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
    }
  }, 120_000);
});
