/**
 * Calico with Docker (calico/node, its libnetwork plugin): calicoctl's texts, the plugin's
 * and Felix's plumbing, the kernel's proxy ARP that answers for 169.254.1.1, each mode's
 * routes and devices (BGP, IP-in-IP, VXLAN), and in emu the real BIRD's routes and the
 * refusal of IP-in-IP on a kernel without it.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { runLab, runSim } from './helpers/run';
import { calicoLab } from './helpers/calico';
import { describeWith } from './helpers/env';
import { cnmlab } from './helpers/tshark';
import { routeLines } from '../sim/kernel/iproute';
import { SimBackend } from '../sim/kernel/backend';
import { BIRD_CONFIG } from '../sim/kernel/bird';
import { hostOf } from '../sim/model/world';
import { containerNamed } from './helpers/world';

function ns(backend: SimBackend, host: string, netns = host) {
  return backend.kernel.hosts.get(host)!.namespaces.get(netns)!;
}

function containerNs(run: Awaited<ReturnType<typeof runSim>>, host: string, name: string) {
  const c = containerNamed(run.model.world, host, name);
  return ns(run.backend, host, c.sandbox);
}

describe('calicoctl', () => {
  test('node status: the node-to-node mesh as BIRD lists it, in tablewriter\'s box', async () => {
    const { result } = await runSim(calicoLab('bgp', '  - r0: calicoctl node status\n'));
    expect(result.steps[result.steps.length - 1].stdout).toBe([
      'Calico process is running.',
      '',
      'IPv4 BGP status',
      '+---------------+-------------------+-------+----------+-------------+',
      '| PEER ADDRESS  |     PEER TYPE     | STATE |  SINCE   |    INFO     |',
      '+---------------+-------------------+-------+----------+-------------+',
      '| 198.51.100.11 | node-to-node mesh | up    | 00:00:02 | Established |',
      '+---------------+-------------------+-------+----------+-------------+',
      '',
      'IPv6 BGP status',
      'No IPv6 peers found.',
      '',
      '',
    ].join('\n'));
  });

  test("node status lists the mesh in confd's order (node names, sorted as Go sorts: bytes, B before a); get workloadendpoints in etcd's key order", async () => {
    const { result } = await runSim(`name: calico-order
hosts:
  r0: {}
  r1: {}
  r2: {}
steps:
  - r0: calicoctl node run --name Zeta --ip 198.51.100.10
  - r1: calicoctl node run --name alpha --ip 198.51.100.11
  - r2: calicoctl node run --name Beta --ip 198.51.100.12
  - r0: docker network create --driver calico --ipam-driver calico-ipam net1
  - r1: docker run -dit --name c1 --net net1 ubuntu:14.04
  - r2: docker run -dit --name c2 --net net1 ubuntu:14.04
  - r0: calicoctl node status
  - r0: calicoctl get workloadendpoints -a
`);
    const [status, weps] = result.steps.slice(-2);
    expect(status.stdout.split('\n').filter((l) => l.includes('node-to-node')).map((l) => l.split('|')[1].trim())).toEqual(['198.51.100.12', '198.51.100.11']);
    expect(weps.stdout.split('\n').slice(1, -1).map((l) => l.split(/ +/)[2])).toEqual(['Beta', 'alpha']);
  });

  test('node status on a host without calico/node, and a Calico network there: what calicoctl and dockerd say', async () => {
    const { result } = await runSim(`name: t
hosts:
  r0: {}
steps:
  - r0: calicoctl node status
  - r0: docker network create --driver calico --ipam-driver calico-ipam net1
  - r0: calicoctl node run
  - r0: docker network create --driver calico net1
`);
    const [status, create, run, noIpam] = result.steps;
    expect([status.stderr, status.exitCode]).toEqual(['Calico process is not running.\n', 1]);
    expect([create.stderr, create.exitCode]).toEqual(['Error response from daemon: plugin "calico" not found\n', 1]);
    // Without --name and --ip: the host's name and its first address (autodetection's first-found).
    expect(run.stdout).toContain('-e NODENAME=r0 -e CALICO_NETWORKING_BACKEND=bird -e ETCD_ENDPOINTS=');
    expect(noIpam.stderr).toBe('Error response from daemon: NetworkDriver.CreateNetwork: Non-Calico IPAM driver is used. Note: Docker before 1.12.3 is unsupported\n');
  });

  test('get ippool -o yaml follows a patch; a pool cannot take both encapsulations; a mode change after blocks are routed is not modelled', async () => {
    const { result } = await runSim(`${calicoLab('vxlan')}  - r0: calicoctl get ippool -o yaml
  - r0: calicoctl patch ippool default-ipv4-ippool -p '{"spec":{"ipipMode":"Always"}}'
  - r0: calicoctl patch ippool default-ipv4-ippool -p '{"spec":{"vxlanMode":"Never"}}'
  - r0: calicoctl get ippool -o wide
`);
    const [yaml, both, late, wide] = result.steps.slice(-4);
    expect(yaml.stdout).toMatch(/^    ipipMode: Never\n    natOutgoing: true\n    nodeSelector: all\(\)\n    vxlanMode: Always\nkind: IPPoolList\n/m);
    expect(both.exitCode).toBe(1);
    expect(both.stderr).toContain('IPIPMode and VXLANMode cannot both be enabled');
    expect([late.exitCode, late.stderr]).toEqual([127, expect.stringMatching(/^cnmlab: not modelled: changing a pool's encapsulation/)]);
    expect(wide.stdout).toBe('NAME                  CIDR             NAT    IPIPMODE   VXLANMODE   DISABLED   SELECTOR\ndefault-ipv4-ippool   192.168.0.0/16   true   Never      Always      false      all()\n');
  });

  test('get workloadendpoints: the plugin\'s endpoints sit in the libnetwork namespace, not the default one', async () => {
    const { result } = await runSim(calicoLab('bgp', '  - r0: calicoctl get workloadendpoints\n  - r0: calicoctl get workloadendpoints -a\n'));
    const [dflt, all] = result.steps.slice(-2);
    expect(dflt.stdout).toBe('WORKLOAD   NODE   NETWORKS   INTERFACE\n');
    expect(all.stdout).toMatch(/^NAMESPACE +WORKLOAD +NODE +NETWORKS +INTERFACE\nlibnetwork +libnetwork +r0 +192\.168\.26\.0\/32 +cali[0-9a-f]{11}\nlibnetwork +libnetwork +r1 +192\.168\.126\.192\/32 +cali[0-9a-f]{11}\n$/);
  });
});

describe('the plugin\'s and Felix\'s plumbing', () => {
  test('cali<11 of the endpoint id> in the host, eth0 /32 with EE:EE:EE:EE:EE:EE, 169.254.1.1 as the gateway; a /32 route, a static neighbour, proxy ARP and forwarding on the cali device', async () => {
    const run = await runSim(calicoLab('bgp'));
    const net = Object.values(hostOf(run.model.world, 'r0').localNetworks).find((n) => n.name === 'net1')!;
    const ep = Object.values(net.endpoints.find(Boolean)!)[0];
    const host = ns(run.backend, 'r0');
    const cali = host.links.get(`cali${ep.id.slice(0, 11)}`)!;
    expect({ proxyArp: cali.proxyArp, proxyDelay: cali.proxyDelay, forwarding: cali.ipv4Forwarding, peer: cali.peer?.name, mac: cali.peer?.mac })
      .toEqual({ proxyArp: true, proxyDelay: 0, forwarding: 1, peer: 'eth0', mac: 'ee:ee:ee:ee:ee:ee' });
    expect(routeLines(containerNs(run, 'r0', 'c0'))).toEqual(['default via 169.254.1.1 dev eth0 ', '169.254.1.1 dev eth0 scope link ']);
    expect(routeLines(host)).toEqual([
      'default via 198.51.100.1 dev eth0 ',
      '172.17.0.0/16 dev docker0 proto kernel scope link src 172.17.0.1 linkdown ',
      `192.168.26.0 dev ${cali.name} scope link `,
      'blackhole 192.168.26.0/26 proto bird ',
      '192.168.126.192/26 via 198.51.100.11 dev eth0 proto bird ',
      '198.51.100.0/24 dev eth0 proto kernel scope link src 198.51.100.10 ',
    ]);
    expect(host.neigh.get(cali.name, '192.168.26.0')).toMatchObject({ mac: 'ee:ee:ee:ee:ee:ee', state: 'PERMANENT' });
  });

  test('BIRD\'s configuration as confd renders it: router id, the block blackholed, one passive-or-active session per peer; bird2 accepts it', async () => {
    const run = await runSim(calicoLab('bgp'));
    const r0 = ns(run.backend, 'r0').files.get(BIRD_CONFIG)!, r1 = ns(run.backend, 'r1').files.get(BIRD_CONFIG)!;
    expect(r0).toContain('router id 198.51.100.10;');
    expect(r0).toContain('route 192.168.26.0/26 blackhole;');
    expect(r0).toMatch(/protocol bgp Mesh_198_51_100_11 from bgp_template \{\n  neighbor 198\.51\.100\.11 as 64512;\n  source address 198\.51\.100\.10;\n\}/);
    // The mesh is one-way: the node with the higher address waits.
    expect(r1).toMatch(/neighbor 198\.51\.100\.10 as 64512;\n  source address 198\.51\.100\.11;\n  passive on;/);
    let bird = true;
    try {
      execFileSync('sh', ['-c', 'command -v bird'], { stdio: 'ignore' });
    } catch {
      bird = false;
    }
    if (!bird) return;
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'cnmlab-bird-')), 'bird.conf');
    fs.writeFileSync(file, r0);
    expect(() => execFileSync('bird', ['-p', '-c', file], { stdio: 'pipe' })).not.toThrow();
  });
});

describe('proxy ARP (arp_process): the cali device answers for 169.254.1.1 only as Linux would', () => {
  const pinged = async (change: (backend: SimBackend, cali: string) => void) => {
    const run = await runSim(calicoLab('bgp'));
    const host = ns(run.backend, 'r0');
    const cali = [...host.links.keys()].find((n) => n.startsWith('cali'))!;
    change(run.backend, cali);
    const c1 = Object.values(hostOf(run.model.world, 'r1').containers)[0];
    const ip = Object.values(hostOf(run.model.world, 'r1').localNetworks).flatMap((n) => n.endpoints.flatMap((s) => Object.values(s ?? {}))).find((e) => e.containerId === c1.id)!.ip;
    return run.backend.exec('r0', Object.values(hostOf(run.model.world, 'r0').containers)[0].sandbox, ['ping', '-c', '1', '-W', '1', ip], { world: run.model.world, namesVisible: false });
  };

  test('with proxy_arp and forwarding on, and 169.254.1.1 routed out of another device (the default route), the echo gets through with TTL 62', async () => {
    const out = await pinged(() => undefined);
    expect(out.stdout).toMatch(/ttl=62/);
  });

  test.each([
    ['proxy_arp off', (b: SimBackend, cali: string) => b.kernel.apply({ op: 'sysctl.set', host: 'r0', netns: 'r0', key: `net.ipv4.conf.${cali}.proxy_arp`, value: '0' })],
    ['forwarding off on the cali device', (b: SimBackend, cali: string) => b.kernel.apply({ op: 'sysctl.set', host: 'r0', netns: 'r0', key: `net.ipv4.conf.${cali}.forwarding`, value: '0' })],
    ['169.254.1.1 routed back out of the cali device itself', (b: SimBackend, cali: string) => b.kernel.apply({ op: 'route.add', host: 'r0', netns: 'r0', dst: '169.254.1.1/32', dev: cali })],
  ])('%s: no answer, the container cannot reach its gateway', async (_what, change) => {
    const out = await pinged(change);
    expect(out.exitCode).not.toBe(0);
    expect(out.stdout).toMatch(/Destination Host Unreachable|100% packet loss/);
  });
});

describe('the modes', () => {
  test('IP-in-IP: tunl0 (MTU 1480, the node\'s tunnel address /32), onlink routes via the peer through it; the underlay carries protocol 4 with the TTL inherited', async () => {
    const run = await runSim(calicoLab('ipip', '  - c0: ping -c 1 192.168.126.193\n'));
    const host = ns(run.backend, 'r0');
    const tunl0 = host.links.get('tunl0')!;
    expect({ type: tunl0.type, mtu: tunl0.mtu, addrs: tunl0.addrs }).toEqual({ type: 'ipip', mtu: 1480, addrs: [{ ip: '192.168.26.0', prefixLength: 32 }] });
    expect(routeLines(host)).toContain('192.168.126.192/26 via 198.51.100.11 dev tunl0 proto bird onlink ');
    const flow = run.result.trace.flows.find((f) => f.kind === 'icmp-echo')!;
    const wire = flow.hops.find((h) => h.host === 'r0' && h.device === 'eth0' && h.dir === 'request' && h.layers.filter((l) => l.proto === 'ip').length === 2)!;
    const [outer, inner] = wire.layers.filter((l) => l.proto === 'ip');
    expect({ proto: outer['ip.proto'], src: outer['ip.src'], dst: outer['ip.dst'], ttl: outer['ip.ttl'] }).toEqual({ proto: 4, src: '198.51.100.10', dst: '198.51.100.11', ttl: 63 });
    expect({ src: inner['ip.src'], dst: inner['ip.dst'], ttl: inner['ip.ttl'] }).toEqual({ src: '192.168.26.1', dst: '192.168.126.193', ttl: 63 });
    expect(run.result.steps[run.result.steps.length - 1].stdout).toMatch(/ttl=62/);
  });

  test("IP-in-IP's outer datagrams are tracked by conntrack's generic tracker, so OUTPUT's DNAT rewrites them as Linux does (before, they were INVALID and NAT never saw them)", async () => {
    const run = await runSim(calicoLab('ipip', '  - r0: iptables -t nat -A OUTPUT -d 198.51.100.11 -j DNAT --to-destination 203.0.113.9\n  - c0: ping -c 1 -W 1 192.168.126.193\n  - r0: iptables -t nat -L OUTPUT -v -n\n'));
    const steps = run.result.steps;
    expect(steps[steps.length - 2].exitCode).toBe(1);
    expect(steps[steps.length - 1].stdout).toContain('    1   104 DNAT       0    --  *      *       0.0.0.0/0            198.51.100.11        to:203.0.113.9\n');
    // The rewritten outer datagram goes the host's default way: r0 asks for its gateway, not for r1.
    const flow = run.result.trace.flows.find((f) => f.kind === 'icmp-echo')!;
    const asked = flow.hops.filter((h) => h.host === 'r0' && h.netns === 'r0' && h.device === 'eth0' && h.event === 'arp-request').map((h) => h.layers.find((l) => l.proto === 'arp')?.['arp.dst.proto_ipv4']);
    expect(asked).toEqual(['198.51.100.1']);
  });

  test('VXLAN: vxlan.calico (VNI 4096, port 4789, nolearning, MTU 1450), the peer VTEP\'s permanent neighbour and FDB entry, an onlink route via its tunnel address', async () => {
    const run = await runSim(calicoLab('vxlan', '  - c0: ping -c 1 192.168.126.193\n'));
    const host = ns(run.backend, 'r0');
    const vx = host.links.get('vxlan.calico')!;
    expect({ vni: vx.vxlan!.vni, port: vx.vxlan!.dstport, learning: vx.vxlan!.learning, mtu: vx.mtu, local: vx.vxlan!.local, dev: vx.vxlan!.dev })
      .toEqual({ vni: 4096, port: 4789, learning: false, mtu: 1450, local: '198.51.100.10', dev: 'eth0' });
    const peerMac = host.neigh.get('vxlan.calico', '192.168.126.192')!.mac!;
    expect(vx.vxlan!.fdb.get(peerMac)).toMatchObject({ dst: '198.51.100.11', permanent: true });
    expect(routeLines(host)).toContain('192.168.126.192/26 via 192.168.126.192 dev vxlan.calico onlink ');
    expect(run.result.steps[run.result.steps.length - 1].stdout).toMatch(/ttl=62/);
  });
});

describe('the labs', () => {
  test.each(['calico-bgp', 'calico-ipip', 'calico-vxlan'])('%s passes in sim', async (name) => {
    const { result } = await runLab(name);
    expect(result.steps.flatMap((s) => s.checks.filter((c) => !c.ok).map((c) => `${s.command}: ${c.what}`))).toEqual([]);
  });
});

describeWith(['ip', 'bird', 'birdc'], true, 'Calico in emu (real kernel, real BIRD)', () => {
  test('calico-bgp: the blocks arrive over BIRD\'s BGP sessions (proto bird) and the echo crosses with TTL 62', () => {
    const r = cnmlab(['run', 'scenarios/calico-bgp.yaml', '--mode', 'emu']);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/192\.168\.126\.192\/26 via 198\.51\.100\.11 dev eth0 proto bird/);
    expect(r.stdout).toMatch(/ttl=62/);
    expect(r.status).toBe(0);
  });

  test('calico-ipip on a kernel without IP-in-IP: refused before anything is made, in one line naming it, exit 2; verify skips its emu run', () => {
    const probe = execFileSync('sh', ['-c', 'ip netns add cnmlab-ipip-check; ip -n cnmlab-ipip-check link add name t0 type ipip 2>&1; echo rc=$?; ip netns del cnmlab-ipip-check'], { encoding: 'utf8' });
    const r = cnmlab(['run', 'scenarios/calico-ipip.yaml', '--mode', 'emu']);
    if (!probe.includes('rc=0')) {
      expect(r.stderr).toBe("cnmlab: scenarios/calico-ipip.yaml: --mode emu needs the kernel's ipip devices (CONFIG_NET_IPIP), which this kernel cannot make; the scenario runs in sim only here\n");
      expect(r.status).toBe(2);
      const v = cnmlab(['verify', 'scenarios/calico-ipip.yaml', '--mode', 'both']);
      expect(v.stdout).toMatch(/^SKIP calico-ipip \[emu\] the run: not available in this kernel: scenarios\/calico-ipip\.yaml: --mode emu needs the kernel's ipip devices \(CONFIG_NET_IPIP\)/m);
      expect(v.stdout).toMatch(/^\d+ passed, 0 failed, 1 not available in this kernel$/m);
      expect(v.status).toBe(0);
    } else {
      expect(r.status).toBe(0);
    }
    expect(execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })).not.toMatch(/cnmprobe/);
  });
});

