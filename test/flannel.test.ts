/**
 * Flannel beside Docker, model side, in sim: the store, flanneld's lease and subnet file,
 * what it programs per backend and per peer, dockerd's restart with --bip/--mtu, the
 * refusals, and the plan explain prints.
 */
import { runSim } from './helpers/run';
import { containerByName } from '../sim/runner/shell';
import { packetWay } from '../sim/model/drivers';
import { cnmlab } from './helpers/tshark';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const CONFIG = (type: string) => `'{"Network":"10.5.0.0/16","Backend":{"Type":"${type}"}}'`;

function lab(steps: string): string {
  return `name: t\nhosts:\n  r0: {}\n  r1: {}\n  r2: {}\nsteps:\n${steps}`;
}

async function outputs(steps: string) {
  const { result } = await runSim(lab(steps));
  return result.steps.map((s) => ({ exit: s.exitCode, out: s.stdout, err: s.stderr }));
}

describe('flannel in sim: the model side', () => {
  test('the store: put answers OK, set the value (v2), get KEY and --prefix list keys in order, a missing key prints nothing', async () => {
    const o = await outputs(`  - r0: etcdctl put /a/2 two
  - r1: etcdctl set /a/1 one
  - r2: etcdctl get /a/2
  - r0: etcdctl get --prefix /a/
  - r0: etcdctl get /nothing
`);
    expect(o.map((s) => s.exit)).toEqual([0, 0, 0, 0, 0]);
    expect(o[0].out).toBe('OK\n');
    expect(o[1].out).toBe('one\n');
    expect(o[2].out).toBe('/a/2\ntwo\n');
    expect(o[3].out).toBe('/a/1\none\n/a/2\ntwo\n');
    expect(o[4].out).toBe('');
  });

  test('flanneld leases the lowest free /24 from the second on, writes the lease and the subnet file', async () => {
    const o = await outputs(`  - r0: etcdctl put /coreos.com/network/config ${CONFIG('vxlan')}
  - r0: flanneld
  - r1: flanneld
  - r2: flanneld
  - r2: cat /run/flannel/subnet.env
  - r0: etcdctl get /coreos.com/network/subnets/10.5.3.0-24
`);
    expect(o.map((s) => s.exit)).toEqual([0, 0, 0, 0, 0, 0]);
    expect(o[1].err).toContain('Allocated lease (ip: 10.5.1.0/24 ipv6: ::/0) to current node (198.51.100.10)');
    expect(o[3].err).toContain('Allocated lease (ip: 10.5.3.0/24 ipv6: ::/0) to current node (198.51.100.12)');
    expect(o[4].out).toBe('FLANNEL_NETWORK=10.5.0.0/16\nFLANNEL_SUBNET=10.5.3.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=false\n');
    expect(o[5].out).toMatch(/^\/coreos.com\/network\/subnets\/10.5.3.0-24\n\{"PublicIP":"198.51.100.12","PublicIPv6":null,"BackendType":"vxlan","BackendData":\{"VNI":1,"VtepMAC":"([0-9a-f]{2}:){5}[0-9a-f]{2}"\}\}\n$/);
  });

  test('vxlan: flannel.1 and, per remote host, a permanent neighbour, a self permanent FDB entry and an onlink route, both ways', async () => {
    const o = await outputs(`  - r0: etcdctl put /coreos.com/network/config ${CONFIG('vxlan')}
  - r0: flanneld
  - r1: flanneld
  - r2: flanneld
  - r1: ip -d link show flannel.1
  - r1: ip addr show flannel.1
  - r1: ip route
  - r1: ip neigh show
  - r1: bridge fdb show dev flannel.1
  - r0: etcdctl get --prefix /coreos.com/network/subnets
`);
    const macs = [...o[9].out.matchAll(/"VtepMAC":"([^"]+)"/g)].map((m) => m[1]);
    expect(macs).toHaveLength(3);
    expect(o[4].out).toContain(`mtu 1450 `);
    expect(o[4].out).toContain(`link/ether ${macs[1]} `);
    expect(o[4].out).toContain('vxlan id 1 local 198.51.100.11 dev eth0 srcport 0 0 dstport 8472 nolearning ttl auto ageing 300');
    // The subnet's .0 as a /32: no prefix route of its own.
    expect(o[5].out).toContain('inet 10.5.2.0/32 scope global flannel.1');
    expect(o[6].out).not.toContain('10.5.2.0/32');
    expect(o[6].out).toContain('10.5.1.0/24 via 10.5.1.0 dev flannel.1 onlink \n');
    expect(o[6].out).toContain('10.5.3.0/24 via 10.5.3.0 dev flannel.1 onlink \n');
    expect(o[7].out).toContain(`10.5.1.0 dev flannel.1 lladdr ${macs[0]} PERMANENT`);
    expect(o[7].out).toContain(`10.5.3.0 dev flannel.1 lladdr ${macs[2]} PERMANENT`);
    expect(o[8].out.split('\n').filter(Boolean).sort()).toEqual([`${macs[0]} dst 198.51.100.10 self permanent`, `${macs[2]} dst 198.51.100.12 self permanent`].sort());
  });

  test("flannel.1 tied to eth0 takes eth0's TSO limit, as vxlan_config_apply makes it inherit the lower device's (emu's veth eth0: 524280)", async () => {
    const o = await outputs(`  - r0: etcdctl put /coreos.com/network/config ${CONFIG('vxlan')}
  - r1: flanneld
  - r1: ip -d link show eth0
  - r1: ip -d link show flannel.1
`);
    const tso = (out: string) => /tso_max_size (\d+)/.exec(out)?.[1];
    expect(tso(o[2].out)).toBe('524280');
    expect(tso(o[3].out)).toBe(tso(o[2].out));
  });

  test('host-gw: a route to each peer\'s subnet via its underlay address, no tunnel, MTU 1500', async () => {
    const o = await outputs(`  - r0: etcdctl put /coreos.com/network/config ${CONFIG('host-gw')}
  - r0: flanneld
  - r1: flanneld
  - r0: ip route
  - r0: ip link show flannel.1
  - r1: cat /run/flannel/subnet.env
`);
    expect(o[3].out).toContain('10.5.2.0/24 via 198.51.100.11 dev eth0 \n');
    expect(o[4].exit).toBe(1);
    expect(o[5].out).toContain('FLANNEL_MTU=1500\n');
  });

  test('systemctl restart docker: docker0 takes the lease\'s first address, and --mtu with its first container; containers get --bip\'s subnet and --mtu', async () => {
    const o = await outputs(`  - r0: etcdctl put /coreos.com/network/config ${CONFIG('vxlan')}
  - r0: flanneld
  - r0: systemctl restart docker
  - r0: ip addr show docker0
  - r0: docker run -dit --name c0 busybox
  - c0: ip addr show eth0
  - c0: ip route
  - r0: docker network inspect bridge --format '{{json .IPAM.Config}} {{index .Options "com.docker.network.driver.mtu"}}'
  - r0: ip link show docker0
`);
    expect(o.map((s) => s.exit)).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0]);
    // dockerd sets no MTU on docker0: without ports it keeps 1500; the first veth (--mtu) brings it down.
    expect(o[3].out).toContain('mtu 1500 ');
    expect(o[8].out).toContain('mtu 1450 ');
    expect(o[3].out).toContain('inet 10.5.1.1/24 brd 10.5.1.255 scope global docker0');
    expect(o[3].out).not.toContain('172.17.0.1');
    expect(o[5].out).toContain('mtu 1450 ');
    expect(o[5].out).toContain('inet 10.5.1.2/24');
    expect(o[6].out).toContain('default via 10.5.1.1 dev eth0');
    expect(o[7].out).toContain('"Subnet":"10.5.1.0/24"');
    expect(o[7].out).toContain(' 1450');
  });

  test("flanneld --ip-masq: FLANNEL_IPMASQ=true and the FLANNEL-POSTRTG chain inserted at POSTROUTING's head; dockerd's restart then puts its MASQUERADE for --bip's subnet above it, which takes what leaves for another host and for the peer's containers alike", async () => {
    const o = await outputs(`  - r0: etcdctl put /coreos.com/network/config ${CONFIG('vxlan')}
  - r0: flanneld --ip-masq
  - r1: flanneld --ip-masq
  - r0: iptables -t nat -S POSTROUTING
  - r0: systemctl restart docker
  - r1: systemctl restart docker
  - r0: docker run -dit --name c0 busybox
  - r1: docker run -dit --name c1 busybox
  - r0: cat /run/flannel/subnet.env
  - r0: iptables -t nat -S
  - c0: ping -c 1 -W 1 198.51.100.11
  - r0: iptables -t nat -L FLANNEL-POSTRTG -v -n -x
  - c0: ping -c 1 -W 1 10.5.2.2
  - r0: iptables -t nat -L POSTROUTING -v -n -x
  - r2: flanneld --iface=eth0
`);
    expect(o.slice(0, 14).map((s) => s.exit)).toEqual(new Array(14).fill(0));
    // flanneld v0.20 inserts its chain's jump at the head, ahead of the MASQUERADE of Docker's first start.
    expect(o[3].out).toBe('-P POSTROUTING ACCEPT\n-A POSTROUTING -m comment --comment "flanneld masq" -j FLANNEL-POSTRTG\n-A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE\n');
    expect(o[8].out).toBe('FLANNEL_NETWORK=10.5.0.0/16\nFLANNEL_SUBNET=10.5.1.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n');
    const rules = o[9].out.split('\n');
    // The restart took 172.17.0.0/16's rule away and inserted the new subnet's on top (libnetwork's setupIPTablesInternal).
    expect(rules.filter((r) => r.startsWith('-A POSTROUTING'))).toEqual([
      '-A POSTROUTING -s 10.5.1.0/24 ! -o docker0 -j MASQUERADE',
      '-A POSTROUTING -m comment --comment "flanneld masq" -j FLANNEL-POSTRTG',
    ]);
    expect(rules.filter((r) => r.startsWith('-A FLANNEL-POSTRTG'))).toEqual([
      '-A FLANNEL-POSTRTG -m mark --mark 0x4000/0x4000 -m comment --comment "flanneld masq" -j RETURN',
      '-A FLANNEL-POSTRTG -s 10.5.0.0/16 -d 10.5.0.0/16 -m comment --comment "flanneld masq" -j RETURN',
      '-A FLANNEL-POSTRTG -s 10.5.0.0/16 ! -d 224.0.0.0/4 -m comment --comment "flanneld masq" -j MASQUERADE',
      '-A FLANNEL-POSTRTG ! -s 10.5.0.0/16 -d 10.5.1.0/24 -m comment --comment "flanneld masq" -j RETURN',
      '-A FLANNEL-POSTRTG ! -s 10.5.0.0/16 -d 10.5.0.0/16 -m comment --comment "flanneld masq" -j MASQUERADE',
    ]);
    const counts = (listing: string) => listing.split('\n').filter((l) => /^\s*\d+\s+\d+\s/.test(l)).map((l) => Number(l.trim().split(/\s+/)[0]));
    // Docker's MASQUERADE, first, takes both pings' first packets: flannel's chain sees none.
    expect(o[10].out).toContain('1 packets transmitted, 1 packets received');
    expect(counts(o[11].out)).toEqual([0, 0, 0, 0, 0]);
    expect(o[12].out).toContain('1 packets transmitted, 1 packets received');
    // Flannel's jump counts r0's own first VXLAN datagram to r1 (a new connection from the host), which none of its rules takes.
    expect(counts(o[13].out)).toEqual([2, 1]);
    expect(o[14]).toEqual({ exit: 127, out: '', err: 'cnmlab: not modelled: flanneld --iface=eth0\n' });
  });

  test("FLANNEL-FWD: flanneld v0.20 inserts its jump at FORWARD's top; dockerd's restart re-inserts docker0's rules, DOCKER-ISOLATION-STAGE-1's and DOCKER-USER's jumps above it", async () => {
    const o = await outputs(`  - r0: etcdctl put /coreos.com/network/config ${CONFIG('host-gw')}
  - r0: flanneld
  - r0: iptables -S FORWARD
  - r0: systemctl restart docker
  - r0: iptables -S FORWARD
  - r0: iptables -S FLANNEL-FWD
`);
    expect(o.map((s) => s.exit)).toEqual([0, 0, 0, 0, 0, 0]);
    const docker0 = ['-A FORWARD -o docker0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT', '-A FORWARD -o docker0 -j DOCKER', '-A FORWARD -i docker0 ! -o docker0 -j ACCEPT', '-A FORWARD -i docker0 -o docker0 -j ACCEPT'];
    const fwd = '-A FORWARD -m comment --comment "flanneld forward" -j FLANNEL-FWD';
    const lines = (out: string) => out.trimEnd().split('\n');
    expect(lines(o[2].out)).toEqual(['-P FORWARD DROP', fwd, '-A FORWARD -j DOCKER-USER', '-A FORWARD -j DOCKER-ISOLATION-STAGE-1', ...docker0]);
    expect(lines(o[4].out)).toEqual(['-P FORWARD DROP', '-A FORWARD -j DOCKER-USER', '-A FORWARD -j DOCKER-ISOLATION-STAGE-1', ...docker0, fwd]);
    expect(lines(o[5].out)).toEqual(['-N FLANNEL-FWD', '-A FLANNEL-FWD -s 10.5.0.0/16 -m comment --comment "flanneld forward" -j ACCEPT', '-A FLANNEL-FWD -d 10.5.0.0/16 -m comment --comment "flanneld forward" -j ACCEPT']);
  });

  test("dockerd's restart clears the old default bridge's MASQUERADE and makes --bip's: the peer container sees the echo from flannel.1's address (vxlan) or the host's (host-gw)", async () => {
    for (const [backend, seenFrom] of [['vxlan', '10.5.1.0'], ['host-gw', '198.51.100.10']]) {
      const { result, backend: sim } = await runSim(lab(`  - r0: etcdctl put /coreos.com/network/config ${CONFIG(backend)}
  - r0: flanneld
  - r1: flanneld
  - r0: iptables -t nat -S POSTROUTING
  - r0: systemctl restart docker
  - r1: systemctl restart docker
  - r0: iptables -t nat -S POSTROUTING
  - r0: docker run -dit --name c0 busybox
  - r1: docker run -dit --name c1 busybox
  - c0: ping -c 1 10.5.2.2
`));
      const out = result.steps.map((s) => s.stdout);
      expect(out[3]).toBe('-P POSTROUTING ACCEPT\n-A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE\n');
      expect(out[6]).toBe('-P POSTROUTING ACCEPT\n-A POSTROUTING -s 10.5.1.0/24 ! -o docker0 -j MASQUERADE\n');
      expect(out[9]).toContain('ttl=62');
      const flow = sim.datapath.flows[sim.datapath.flows.length - 1];
      const delivered = flow.hops.find((h) => h.dir === 'request' && h.event === 'deliver')!;
      const ip = delivered.layers.find((l) => l.proto === 'ip')!;
      expect([delivered.host, ip['ip.src'], ip['ip.dst']]).toEqual(['r1', seenFrom, '10.5.2.2']);
    }
  });

  test('refusals: no config, an unmodelled backend, a restart before flanneld or with containers, a second flanneld', async () => {
    const o = await outputs(`  - r0: flanneld
  - r0: systemctl restart docker
  - r0: etcdctl put /coreos.com/network/config ${CONFIG('udp')}
  - r0: flanneld
  - r0: etcdctl put /coreos.com/network/config ${CONFIG('vxlan')}
  - r0: flanneld
  - r0: flanneld
  - r1: docker run -dit --name c1 busybox
  - r1: flanneld
  - r1: systemctl restart docker
  - r0: cat /run/flannel/nothing
`);
    expect(o[0]).toEqual({ exit: 1, out: '', err: "Couldn't fetch network config: 100: Key not found (/coreos.com/network/config)\n" });
    expect(o[1].exit).toBe(1);
    expect(o[1].err).toBe('Job for docker.service failed because the control process exited with error code.\nSee "systemctl status docker.service" and "journalctl -xe" for details.\n');
    expect(o[3]).toEqual({ exit: 127, out: '', err: 'cnmlab: not modelled: flannel\'s "udp" backend (vxlan and host-gw are)\n' });
    expect(o[5].exit).toBe(0);
    expect(o[6].exit).toBe(127);
    expect(o[9]).toEqual({ exit: 127, out: '', err: 'cnmlab: not modelled: systemctl restart docker with containers (it would stop them)\n' });
    expect(o[10].exit).toBe(127);
    expect(o[10].err).toBe('cnmlab: not modelled: cat /run/flannel/nothing\n');
  });

  test('explain shows flanneld\'s work as commands: the lease written to etcd, flannel.1, the peers\' entries, docker0 readdressed', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cnmlab-flannel-'));
    const file = path.join(dir, 'lab.yaml');
    fs.writeFileSync(file, lab(`  - r0: etcdctl put /coreos.com/network/config ${CONFIG('vxlan')}
  - r0: flanneld
  - r1: flanneld
  - r1: systemctl restart docker
`));
    const r = cnmlab(['explain', file]);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(`etcdctl put /coreos.com/network/config ${CONFIG('vxlan')}`);
    expect(r.stdout).toMatch(/\[r1\]\n {4}etcdctl put \/coreos.com\/network\/subnets\/10.5.2.0-24 '\{"PublicIP":"198.51.100.11"/);
    expect(r.stdout).toMatch(/ip link add flannel.1 mtu 1450 txqueuelen 0 address \S+ type vxlan id 1 dstport 8472 nolearning ageing 300 local 198.51.100.11 dev eth0/);
    expect(r.stdout).toContain('ip route add 10.5.2.0/24 via 10.5.2.0 dev flannel.1 onlink');
    // The old subnet's rules go, docker0 is readdressed (its MTU left to its ports), the new subnet's rules come.
    expect(r.stdout).toContain('iptables -t nat -D POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE\n');
    expect(r.stdout).toContain('ip addr del 172.17.0.1/16 dev docker0\n    ip addr add 10.5.2.1/24 brd + dev docker0\n    iptables -t nat -I POSTROUTING -s 10.5.2.0/24 ! -o docker0 -j MASQUERADE\n');
    expect(r.stdout).not.toContain('ip link set dev docker0 mtu');
  });
});

describe("flannel's way out of docker0", () => {
  test('only a destination in another host\'s lease takes a flannel path: its own subnet stays on the bridge, an address off the network goes outside, and without flanneld nothing changes', async () => {
    const { model } = await runSim(lab(`  - r0: etcdctl put /coreos.com/network/config ${CONFIG('host-gw')}
  - r0: flanneld
  - r1: flanneld
  - r0: systemctl restart docker
  - r1: systemctl restart docker
  - r0: docker run -dit --name c0 busybox
  - r1: docker run -dit --name c1 busybox
  - r2: docker run -dit --name c2 busybox
`));
    const w = model.world;
    const c0 = containerByName(model, 'c0')!, c2 = containerByName(model, 'c2')!;
    const way = packetWay(w, c0, '10.5.2.2');
    expect(way?.path).toBe('flannel-host-gw');
    expect(way?.peers?.map((p) => p.ep.ip)).toEqual(['10.5.2.2']);
    expect(way?.spots?.filter((s) => s.role === 'host').map((s) => [s.host, s.mine[0]])).toEqual([['r0', '198.51.100.10'], ['r1', '198.51.100.11']]);
    expect(packetWay(w, c0, '10.5.1.3')?.path).toBe('bridge');
    expect(packetWay(w, c0, '203.0.113.7')?.path).toBe('gwbridge');
    expect(packetWay(w, c0, '10.5.9.9')?.path).toBe('gwbridge');
    expect(packetWay(w, c2, '10.5.2.2')?.path).toBe('gwbridge');
  });
});
