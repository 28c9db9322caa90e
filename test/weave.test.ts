/**
 * Weave Net with Docker in sim: weave launch and what it makes, the mesh and IPAM ring as
 * `weave status` reports them, the plugin's network, and the sleeve datapath's bytes (the
 * router's header in UDP 6783, DF as the inner frame has it, ARP answered by the remote
 * container after a flood, MACs learned from frames).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { runLab, runSim } from './helpers/run';
import { connectedPeers } from '../sim/model/drivers/weave';
import type { WeavePeer } from '../sim/model/world';
import { agreeWithTshark, badChecksums, cnmlab } from './helpers/tshark';
import { emitSleeve, parseSleeve, PEER_NAME_LEN, SLEEVE_FRAME_OVERHEAD } from '../sim/wire/sleeve';
import { MESH_TAG, MeshMessage, MeshStream, parseMeshStream } from '../sim/wire/weave_mesh';
import { Flow } from '../sim/trace/types';
import { openCapture } from '../sim/pcap/reader';
import { parseScenario } from '../sim/scenario/load';
import { scenarioNeeds } from '../emu/features';
import { REPO } from './helpers/env';
import { weaveRouterIn } from '../sim/kernel/weaver';
import type { RxHandler, UdpEncapRcv } from '../sim/kernel/objects';
import { spawnSync } from 'child_process';

const LAUNCH = `  - r0: weave launch --no-fastdp
  - r1: weave launch --no-fastdp 198.51.100.10
`;

function lab(steps: string): string {
  return `name: t\nhosts:\n  r0: {}\n  r1: {}\n  r2: {}\nsteps:\n${steps}`;
}

async function outputs(steps: string) {
  const { result } = await runSim(lab(steps));
  return result.steps.map((s) => ({ exit: s.exitCode, out: s.stdout, err: s.stderr }));
}

describe('weave: the sleeve header', () => {
  test("emit and parse mirror each other: the sender's name, then each frame behind its peers' names and length", () => {
    const frames = [
      { srcPeer: '02:00:00:00:00:01', dstPeer: '02:00:00:00:00:02', frame: Buffer.from('0123456789abcdef', 'hex') },
      { srcPeer: '02:00:00:00:00:01', dstPeer: '02:00:00:00:00:02', frame: Buffer.alloc(60, 7) },
    ];
    const b = emitSleeve({ sender: '02:00:00:00:00:01', frames });
    expect(b.length).toBe(PEER_NAME_LEN + 2 * SLEEVE_FRAME_OVERHEAD + 8 + 60);
    expect(b.subarray(0, 20).toString('hex')).toBe('020000000001' + '020000000001' + '020000000002' + '0008');
    const p = parseSleeve(b);
    expect(p.ok && p.repr).toEqual({ sender: '02:00:00:00:00:01', frames });
  });

  test('a frame whose length runs past the datagram, or a header cut short, is refused with where', () => {
    const b = emitSleeve({ sender: '02:00:00:00:00:01', frames: [{ srcPeer: '02:00:00:00:00:01', dstPeer: '02:00:00:00:00:02', frame: Buffer.alloc(10) }] });
    expect(parseSleeve(b.subarray(0, b.length - 1))).toEqual({ ok: false, error: 'sleeve: frame at 6 says 10 bytes, 9 follow' });
    expect(parseSleeve(b.subarray(0, 10))).toEqual({ ok: false, error: 'sleeve: frame header at 6 cut short (4 of 14 bytes)' });
    expect(parseSleeve(b.subarray(0, 3)).ok).toBe(false);
  });
});

describe('weave launch and its reports', () => {
  test('launch prints the router container id; the bridge carries the peer name as its MAC, MTU 65535; a second launch is refused', async () => {
    const o = await outputs(`${LAUNCH}  - r0: ip -d link show weave
  - r0: ip link show vethwe-pcap
  - r0: weave launch --no-fastdp
  - r0: weave status peers
`);
    expect(o[0].out).toMatch(/^[0-9a-f]{64}\n$/);
    const name = /^(\S+)\(r0\)$/m.exec(o[5].out)![1];
    expect(o[2].out).toContain(`mtu 65535 `);
    expect(o[2].out).toContain(`link/ether ${name} `);
    expect(o[3].out).toMatch(/vethwe-pcap@vethwe-bridge: .* mtu 65535 /);
    expect(o[4]).toEqual({ exit: 3, out: '', err: "weave is already running; you can stop it with 'weave stop'.\n" });
  });

  test('a router told to capture on another device, or to run the fast datapath, stops capturing on the old one; a device whose rx_handler is another\'s is refused', async () => {
    const { backend } = await runSim(lab(LAUNCH));
    const ns = backend.kernel.netns('r0', 'r0');
    const router = weaveRouterIn(ns)!;
    const pcap = ns.links.get('vethwe-pcap')!;
    expect(pcap.rxHandler).toMatchObject({ router, takesAll: true });
    backend.kernel.apply({ op: 'link.add', host: 'r0', netns: 'r0', name: 'pcap2', kind: { type: 'dummy' } });
    backend.kernel.apply({ op: 'weave.router', host: 'r0', netns: 'r0', router: { ...router.config, device: 'pcap2' } });
    const pcap2 = ns.links.get('pcap2')!;
    expect(pcap.rxHandler).toBeUndefined();
    expect(pcap2.rxHandler).toMatchObject({ router });
    // The same configuration again keeps its capture where it is.
    backend.kernel.apply({ op: 'weave.router', host: 'r0', netns: 'r0', router: { ...router.config } });
    expect(pcap2.rxHandler).toMatchObject({ router });
    backend.kernel.apply({ op: 'weave.router', host: 'r0', netns: 'r0', router: { ...router.config, datapath: 'fastdp', vxlanVport: 'vxlan-6784' } });
    expect(pcap2.rxHandler).toBeUndefined();
    // Back to sleeve on a device another's rx_handler holds: refused, and nothing changed.
    const other: RxHandler = { takesAll: true, rx: () => true, ucPromisc: () => false };
    pcap.rxHandler = other;
    const fastdp = router.config;
    expect(() => backend.kernel.apply({ op: 'weave.router', host: 'r0', netns: 'r0', router: { ...fastdp, datapath: 'sleeve', vxlanVport: undefined, device: 'vethwe-pcap' } })).toThrow("vethwe-pcap: its rx_handler is another's (Device or resource busy)");
    expect(pcap.rxHandler).toBe(other);
    expect(router.config).toBe(fastdp);
  });

  test("a UDP tunnel socket on a port another's socket holds is refused (EADDRINUSE), the router's own set up again is not", async () => {
    const { backend } = await runSim(lab(LAUNCH));
    const ns = backend.kernel.netns('r0', 'r0');
    const router = weaveRouterIn(ns)!;
    const other: UdpEncapRcv = () => undefined;
    expect(() => ns.setupUdpTunnelSock(6783, other)).toThrow('UDP port 6783: another socket is bound to it (Address already in use)');
    expect(ns.udpTunnels?.get(6783)).toBe(router.encapRcv);
    ns.setupUdpTunnelSock(6783, router.encapRcv);
    // The router moved to a port another's socket holds: refused, and it keeps its own.
    ns.setupUdpTunnelSock(6790, other);
    const config = router.config;
    expect(() => backend.kernel.apply({ op: 'weave.router', host: 'r0', netns: 'r0', router: { ...config, port: 6790 } })).toThrow('UDP port 6790: another socket is bound to it (Address already in use)');
    expect(router.config).toBe(config);
    expect([ns.udpTunnels?.get(6783), ns.udpTunnels?.get(6790)]).toEqual([router.encapRcv, other]);
    // Moved to capture on another device as well: its pcap there, taken before the socket was refused, is closed again.
    backend.kernel.apply({ op: 'link.add', host: 'r0', netns: 'r0', name: 'pcap2', kind: { type: 'dummy' } });
    expect(() => backend.kernel.apply({ op: 'weave.router', host: 'r0', netns: 'r0', router: { ...config, port: 6790, device: 'pcap2' } })).toThrow('(Address already in use)');
    expect([ns.links.get('pcap2')!.rxHandler, ns.links.get('vethwe-pcap')!.rxHandler]).toEqual([undefined, expect.objectContaining({ router })]);
    // To a free port: the old one is released.
    backend.kernel.apply({ op: 'weave.router', host: 'r0', netns: 'r0', router: { ...config, port: 6791 } });
    expect([ns.udpTunnels?.has(6783), ns.udpTunnels?.get(6791)]).toEqual([false, router.encapRcv]);
  });

  test("a peer's connected peers come in Go's string order of their hosts (1 before _, B before a), not a locale's", () => {
    // Scenario host names (lowercase, digits, dashes) sort alike either way; the model's own names need not be scenario ones.
    const peer = (host: string, address: string, targets: string[]): WeavePeer => ({
      host, name: '', nickname: host, shortId: 0, datapath: 'sleeve', address, targets, containerId: '', ranges: [], allocated: {}, networkId: '', launchedNs: 0,
    });
    const peers = { h_a: peer('h_a', '10.0.0.1', []), h1: peer('h1', '10.0.0.2', ['10.0.0.1']), Bx: peer('Bx', '10.0.0.3', ['10.0.0.1']), a: peer('a', '10.0.0.4', ['10.0.0.1']) };
    expect(connectedPeers({ peers }, peers.h_a).map((p) => p.host)).toEqual(['Bx', 'a', 'h1']);
  });

  test('a host without a router has no status', async () => {
    const o = await outputs(`  - r0: weave status
  - r0: weave ps
`);
    expect(o[0]).toEqual({ exit: 1, out: '', err: 'weave container is not present. Have you launched it?\n' });
    expect(o[1].exit).toBe(1);
  });

  test('fastdp: the datapath (MTU 1376), the bridge joined by vethwe-bridge/vethwe-datapath (its vport), the VXLAN vport vxlan-6784, no pcap veth', async () => {
    const o = await outputs(`  - r0: weave launch
  - r0: ip -d link show datapath
  - r0: ip -d link show vethwe-datapath
  - r0: ip link show weave
  - r0: ip link show vethwe-pcap
  - r0: ss -uln
`);
    expect(o[1].out).toMatch(/^\d+: datapath: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1376 qdisc noqueue state UNKNOWN [\s\S]*\n    openvswitch addrgenmode/);
    expect(o[2].out).toMatch(/vethwe-datapath@vethwe-bridge: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1376 qdisc noqueue master datapath state UP[\s\S]*promiscuity 1 [\s\S]*\n    veth \n    openvswitch_slave /);
    expect(o[3].out).toContain('mtu 1376 ');
    expect(o[4]).toMatchObject({ exit: 1 });
    expect(o[5].out).toMatch(/0\.0\.0\.0:6784 /);
  });

  test('status: the router, a full mesh through gossip (r2 named only r1), IPAM idle until the first address, then ready', async () => {
    const o = await outputs(`${LAUNCH}  - r2: weave launch --no-fastdp 198.51.100.11
  - r0: weave status
  - r2: weave status peers
  - r0: docker run -dit --name c0 --net=weave busybox
  - r0: weave status
  - r2: weave status targets
`);
    const status = o[3].out;
    expect(status).toMatch(/^\n        Version: 2\.8\.1 \(failed to check latest version - see logs; next check at \d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d\)\n\n        Service: router\n       Protocol: weave 1\.\.2\n           Name: \S+\(r0\)\n/);
    expect(status).toContain('        Targets: 0\n    Connections: 2 (2 established)\n          Peers: 3 (with 6 established connections)\n TrustedSubnets: none\n\n        Service: ipam\n         Status: idle\n          Range: 10.32.0.0/12\n  DefaultSubnet: 10.32.0.0/12\n');
    expect(status).toMatch(/     DriverName: weave\n\n$/);
    // r2 dialled r1 (named) and r0 (learned), so both are outbound from r2.
    expect(o[4].out).toMatch(/^\S+\(r2\)\n   -> 198\.51\.100\.10:6783 +\S+\(r0\) +established\n   -> 198\.51\.100\.11:6783 +\S+\(r1\) +established\n/);
    expect(o[6].out).toContain('         Status: ready\n');
    expect(o[7].out).toBe('198.51.100.11\n');
  });

  test('IPAM: the peers connected at the first address split the ring; each gives out its lowest host address, /12', async () => {
    const { result, model } = await runSim(lab(`${LAUNCH}  - r0: docker run -dit --name c0 --net=weave busybox
  - r1: docker run -dit --name c1 --net=weave busybox
  - r0: docker run -dit --name c2 --net=weave busybox
  - r0: weave status ipam
  - r0: weave ps
`));
    const peers = model.world.weave!.peers;
    // The lower half goes to the peer whose name sorts first (ring.ClaimForPeers).
    const [low, high] = ['r0', 'r1'].sort((a, b) => peers[a].name.localeCompare(peers[b].name));
    const first = (h: string) => (h === low ? '10.32.0.1' : '10.40.0.0');
    const ps = result.steps[6].stdout.split('\n');
    expect(ps[0]).toBe(`weave:expose ${peers.r0.name}`);
    // Newest first: c2 then c0.
    const second = r0Next(first('r0'));
    expect(ps[1]).toMatch(new RegExp(`^[0-9a-f]{12} \\S+ ${second.replace(/\./g, '\\.')}/12$`));
    expect(ps[2]).toMatch(new RegExp(`^[0-9a-f]{12} \\S+ ${first('r0').replace(/\./g, '\\.')}/12$`));
    expect(result.steps[5].stdout).toBe(
      `${`${peers.r0.name}(r0)`.padEnd(37)}   524288 IPs (50.0% of total) (2 active)\n${`${peers.r1.name}(r1)`.padEnd(37)}   524288 IPs (50.0% of total) \n`,
    );
    expect(high).not.toBe(low);
  });

  test('a peer that joins after the ring was claimed gets half of the largest free run of a peer (Space.Donate)', async () => {
    const o = await outputs(`  - r0: weave launch --no-fastdp
  - r0: docker run -dit --name c0 --net=weave busybox
  - r1: weave launch --no-fastdp 198.51.100.10
  - r1: docker run -dit --name c1 --net=weave busybox
  - r0: weave ps
  - r1: weave ps
  - r1: weave status ipam
`);
    // r0 owned the whole ring and gave out 10.32.0.1; the largest free run [10.32.0.2, 10.48.0.0) is more than half: its upper half goes.
    expect(o[4].out).toMatch(/ 10\.32\.0\.1\/12\n$/);
    expect(o[5].out).toMatch(/ 10\.40\.0\.1\/12\n$/);
    expect(o[6].out).toMatch(/\(r1\) +524287 IPs \(50\.0% of total\) \(1 active\)\n\S+\(r0\) +524289 IPs \(50\.0% of total\) \n$/);
  });

  test('expose puts an address from the ring on the bridge, masquerades the range, and lets FORWARD through', async () => {
    const o = await outputs(`${LAUNCH}  - r0: weave expose
  - r0: ip addr show weave
  - r0: iptables -t nat -S WEAVE
  - r0: iptables -S WEAVE-EXPOSE
  - r0: weave env
`);
    const ip = o[2].out.trim();
    expect(ip).toMatch(/^10\.(32|40)\.0\.[01]$/);
    expect(o[3].out).toContain(`inet ${ip}/12 `);
    expect(o[4].out).toBe('-N WEAVE\n-A WEAVE -s 10.32.0.0/12 -d 224.0.0.0/4 -j RETURN\n-A WEAVE ! -s 10.32.0.0/12 -d 10.32.0.0/12 -j MASQUERADE\n-A WEAVE -s 10.32.0.0/12 ! -d 10.32.0.0/12 -j MASQUERADE\n');
    expect(o[5].out).toBe('-N WEAVE-EXPOSE\n-A WEAVE-EXPOSE -d 10.32.0.0/12 -j ACCEPT\n');
    expect(o[6].out).toBe('export DOCKER_HOST=unix:///var/run/weave/weave.sock ORIG_DOCKER_HOST=\n');
  });

  test("the trace's topology: each router's bridge, vethwe-* ends and the router itself from its launch; the exposed address from that step on", async () => {
    const { result } = await runSim(lab(`${LAUNCH}  - r0: weave expose
`));
    const t = result.trace.topology;
    const r0 = t.links.filter((l) => l.host === 'r0' && l.netns === 'r0' && /^(weave|vethwe-)/.test(l.device));
    expect(r0.map((l) => [l.device, l.kind, l.master ?? l.peer?.device, l.since, l.until, l.addresses])).toEqual([
      ['weave', 'bridge', undefined, 1, 2, undefined],
      ['vethwe-bridge', 'veth', 'weave', 1, undefined, undefined],
      ['vethwe-pcap', 'veth', 'vethwe-bridge', 1, undefined, undefined],
      ['weave', 'bridge', undefined, 3, undefined, [expect.stringMatching(/^10\.(32|40)\.0\.[01]\/12$/)]],
    ]);
    expect(t.programs).toEqual([
      { host: 'r0', netns: 'r0', name: 'weaver', role: 'router', devices: ['vethwe-pcap', 'eth0'], since: 1 },
      { host: 'r1', netns: 'r1', name: 'weaver', role: 'router', devices: ['vethwe-pcap', 'eth0'], since: 2 },
    ]);
  });
});

/** The second address r0 hands out after `ip`. */
function r0Next(ip: string): string {
  const parts = ip.split('.').map(Number);
  parts[3] += 1;
  return parts.join('.');
}

describe('weave-sleeve: the lab and its bytes', () => {
  let flows: Flow[];
  let dir: string;
  /** r0's eth0 as captured: ARP for the peer, then the sleeve datagrams both ways. */
  let wire: Buffer[];
  beforeAll(async () => {
    const { result, backend } = await runLab('weave-sleeve');
    expect(result.ok).toBe(true);
    flows = backend.flows();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weave-'));
    expect(cnmlab(['run', 'scenarios/weave-sleeve.yaml', '--pcap-dir', dir]).status).toBe(0);
    const c = openCapture(path.join(dir, 'r0-r0-eth0.pcap'));
    wire = [];
    for (let f = c.reader.next(); f; f = c.reader.next()) wire.push(Buffer.from(f.data));
    c.close();
  });

  // Whole datagrams only: the fragmentation test sleeve sends at contact leaves in fragments.
  const udpToRouter = (f: Buffer) => f.readUInt16BE(12) === 0x0800 && f[14 + 9] === 17 && (f.readUInt16BE(14 + 6) & 0x3fff) === 0 && f.readUInt16BE(14 + 20 + 2) === 6783;

  test('the ARP request is flooded to the peer in UDP 6783 and answered by the remote container itself; nothing proxies', () => {
    const hops = flows[0].hops;
    const flood = hops.find((h) => h.step === 3 && h.event === 'bridge-flood');
    expect(flood?.device).toBe('vethwe-pcap');
    expect(hops.some((h) => h.host === 'r1' && h.device === 'ethwe0' && h.event === 'arp-reply')).toBe(true);
    expect(hops.some((h) => h.event === 'arp-proxy-reply')).toBe(false);
    // Its sleeve datagram went through the router's UDP socket: DF clear, a UDP checksum.
    const arp = wire.filter(udpToRouter).map((f) => parseSleeveOf(f)).find((p) => p.frame.readUInt16BE(12) === 0x0806)!;
    expect(arp.df).toBe(false);
    expect(arp.checksum).not.toBe(0);
  });

  test("the echo crosses in one sleeve datagram from the router's raw socket: DF set, no UDP checksum, 62 bytes over the inner packet, TTL 64", () => {
    const echo = wire.filter(udpToRouter).map((f) => parseSleeveOf(f)).find((p) => p.frame.readUInt16BE(12) === 0x0800)!;
    expect(echo.df).toBe(true);
    expect(echo.checksum).toBe(0);
    expect(echo.frames).toBe(1);
    expect(echo.outerIpLength - (echo.frame.length - 14)).toBe(62);
    expect(echo.frame[14 + 8]).toBe(64);
    const delivered = flows[1].hops.find((h) => h.step === 8 && h.event === 'deliver' && h.dir === 'request')!;
    expect(delivered.layers.find((l) => l.proto === 'ip')?.['ip.ttl']).toBe(64);
  });

  test('every capture decodes as tshark decodes it (UDP 6783 as data: Wireshark has no sleeve dissector), checksums good', () => {
    for (const f of fs.readdirSync(dir)) expect(agreeWithTshark(path.join(dir, f))).toMatch(/^agree (\d+)\/\1 frames/);
    expect(badChecksums(path.join(dir, 'r0-r0-eth0.pcap'))).toBe('');
  });
});

function parseSleeveOf(f: Buffer): { df: boolean; checksum: number; frames: number; frame: Buffer; outerIpLength: number } {
  const ip = 14, udp = ip + 20;
  const p = parseSleeve(f.subarray(udp + 8));
  if (!p.ok) throw new Error(p.error);
  return { df: (f.readUInt16BE(ip + 6) & 0x4000) !== 0, checksum: f.readUInt16BE(udp + 6), frames: p.repr.frames.length, frame: p.repr.frames[0].frame, outerIpLength: f.readUInt16BE(ip + 2) };
}

/** Each direction's TCP payload between `port` and its peer, in sequence order, from one capture's frames. */
function tcpStreams(frames: Buffer[], port: number): Map<string, Buffer> {
  const segments = new Map<string, Map<number, Buffer>>();
  for (const f of frames) {
    if (f.readUInt16BE(12) !== 0x0800 || f[14 + 9] !== 6) continue;
    const ihl = (f[14] & 15) * 4, tcp = 14 + ihl, data = tcp + (f[tcp + 12] >> 4) * 4;
    const sport = f.readUInt16BE(tcp), dport = f.readUInt16BE(tcp + 2);
    if (sport !== port && dport !== port) continue;
    const key = `${[...f.subarray(26, 30)].join('.')}:${sport}>${[...f.subarray(30, 34)].join('.')}:${dport}`;
    const bySeq = segments.get(key) ?? new Map<number, Buffer>();
    segments.set(key, bySeq);
    const payload = f.subarray(data, 14 + f.readUInt16BE(16));
    if (payload.length) bySeq.set(f.readUInt32BE(tcp + 4), payload);
  }
  // Sequence numbers start at random points: a stream's first segment is the one no other ends at.
  return new Map([...segments].map(([key, bySeq]) => {
    const ends = new Set([...bySeq].map(([seq, b]) => (seq + b.length) >>> 0));
    let seq = [...bySeq.keys()].find((q) => !ends.has(q));
    const parts: Buffer[] = [];
    while (seq !== undefined && bySeq.has(seq)) {
      const b = bySeq.get(seq)!;
      parts.push(b);
      seq = (seq + b.length) >>> 0;
    }
    return [key, Buffer.concat(parts)];
  }));
}

describe("weave's control plane: the mesh on TCP 6783, sleeve's contact and path MTU", () => {
  let control: Flow[];
  let flows: Flow[];
  let dir: string;
  let wire: Buffer[];
  let peers: Record<string, string>;
  beforeAll(async () => {
    const { result, backend, model } = await runLab('weave-sleeve');
    expect(result.ok).toBe(true);
    control = backend.controlFlows();
    flows = backend.flows();
    peers = Object.fromEntries(Object.values(model.world.weave!.peers).map((p) => [p.host, p.name]));
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weave-mesh-'));
    expect(cnmlab(['run', 'scenarios/weave-sleeve.yaml', '--pcap-dir', dir]).status).toBe(0);
    const c = openCapture(path.join(dir, 'r0-r0-eth0.pcap'));
    wire = [];
    for (let f = c.reader.next(); f; f = c.reader.next()) wire.push(Buffer.from(f.data));
    c.close();
  });

  test("r1's launch connects to r0: the handshake, both topologies, each forwarder's checks, as control flows of that step, on no path", () => {
    const atLaunch = control.filter((f) => f.origin?.step === 2).map((f) => `${f.control} ${f.from}>${f.to}`);
    expect(atLaunch).toEqual(['weave-handshake r1>r0', 'weave-topology-gossip r1>r0', 'weave-sleeve-pmtu r1>r0', 'weave-sleeve-pmtu r0>r1']);
    // A second later each end tells its neighbours of the new connection (once the clock runs: the next ping).
    expect(control.filter((f) => f.control === 'weave-topology-gossip' && f.origin?.step === 10).map((f) => `${f.from}>${f.to}`).sort()).toEqual(['r0>r1', 'r1>r0']);
    expect(control.every((f) => f.kind === 'control-plane' && f.hops.every((h) => h.step === undefined))).toBe(true);
    expect(control.filter((f) => f.origin?.step === 1)).toEqual([]);
  });

  test("three routers: r2's two connections are set up at once, each forwarder verifies its MTU; then each router gossips every 30 s to its random neighbours (two of two) and each end of each connection sends a heartbeat", async () => {
    const { result } = await runSim(lab(`${LAUNCH}  - r2: weave launch --no-fastdp 198.51.100.11
  - r0: docker run -dit --name c0 --net=weave busybox
  - r2: docker run -dit --name c2 --net=weave busybox
  - c2: ip addr show ethwe0
  - r0: sleep 60
    timeout: 90
`));
    const c = result.trace.control ?? [];
    const at = (step: number, kind: string) => c.filter((f) => f.origin?.step === step && f.control === kind).map((f) => `${f.from}>${f.to}`).sort();
    expect(at(3, 'weave-handshake')).toEqual(['r2>r0', 'r2>r1']);
    expect(at(3, 'weave-sleeve-pmtu')).toEqual(['r0>r2', 'r1>r2', 'r2>r0', 'r2>r1']);
    // Every forwarder made contact and verified 1438: the last packet of each check is the peer's PMTUVerified, acked.
    for (const f of c.filter((x) => x.control === 'weave-sleeve-pmtu')) expect(f.hops.some((h) => h.event === 'send' && h.layers.some((l) => l.proto === 'ip' && l['ip.len'] === 1500 && l['ip.flags.df']))).toBe(true);
    const sleep = 7;
    const gossip = c.filter((f) => f.origin?.step === sleep && f.control === 'weave-topology-gossip');
    for (const host of ['r0', 'r1', 'r2']) expect(gossip.filter((f) => f.from === host).length).toBeGreaterThanOrEqual(4);
    expect(at(sleep, 'weave-heartbeat').length).toBe(2 * 2 * 3);
    const ip = /inet (\S+)\//.exec(result.steps[5].stdout)![1];
    const ping = await outputs(`${LAUNCH}  - r2: weave launch --no-fastdp 198.51.100.11
  - r0: docker run -dit --name c0 --net=weave busybox
  - r2: docker run -dit --name c2 --net=weave busybox
  - c0: ping -c 2 ${ip}
`);
    expect(ping[5].out).toMatch(/2 packets received/);
  });

  test("ten routers: past the trace's bound the connections are made and their forwarders' checks come out as on the wire, counted, not played; the last hosts' containers still reach each other", async () => {
    const hosts = Array.from({ length: 10 }, (_, i) => `r${i}`);
    const launch = `  - r0: weave launch --no-fastdp\n${hosts.slice(1).map((h) => `  - ${h}: weave launch --no-fastdp 198.51.100.10\n`).join('')}  - r8: docker run -dit --name c8 --net=weave busybox\n  - r9: docker run -dit --name c9 --net=weave busybox\n`;
    const yaml = (more: string) => `name: t\nhosts:\n${hosts.map((h) => `  ${h}: {}\n`).join('')}steps:\n${launch}${more}`;
    const first = await runSim(yaml('  - c9: ip addr show ethwe0\n'));
    const notKept = first.result.trace.controlNotKept ?? [];
    expect(notKept.some((n) => n.control === 'weave-sleeve-pmtu' && n.exchanges > 0)).toBe(true);
    expect(notKept.some((n) => n.control === 'weave-handshake' && n.exchanges > 0)).toBe(true);
    const ip = /inet (\S+)\//.exec(first.result.steps[12].stdout)![1];
    const { result } = await runSim(yaml(`  - c8: ping -c 2 -s 2000 ${ip}\n`));
    // The unplayed checks gave the forwarder r9's path MTU: the big echo is answered with 1438, the next goes in fragments.
    expect(result.steps[12].stdout).toMatch(/2 packets transmitted, 1 packets received/);
    const big = result.trace.flows.find((f) => f.origin?.step === 13)!;
    expect(big.hops.find((h) => h.event === 'drop')?.reason).toMatch(/MTU 1438/);
  });

  test('each end writes "weave" 1 2, no encryption, its features, then gossip whose topology names both peers and their connection', () => {
    const streams = tcpStreams(wire, 6783);
    const fromDialler = [...streams].find(([k]) => k.startsWith('198.51.100.11:') && k.endsWith(':6783'))![1];
    const fromListener = [...streams].find(([k]) => k.startsWith('198.51.100.10:6783>'))![1];
    const dialler = parseMeshStream(fromDialler), listener = parseMeshStream(fromListener);
    if (!dialler.ok || !listener.ok) throw new Error(`${!dialler.ok && dialler.error} ${!listener.ok && listener.error}`);
    expect(dialler.repr.header).toEqual({ minVersion: 1, maxVersion: 2 });
    const features = (m: MeshMessage) => (m.kind === 'features' ? Object.fromEntries(m.features) : {});
    expect(features(dialler.repr.messages[0])).toMatchObject({ PeerNameFlavour: 'mac', Name: peers.r1, NickName: 'r1', Overlays: 'sleeve', Trusted: 'false' });
    expect(features(listener.repr.messages[0])).toMatchObject({ Name: peers.r0, NickName: 'r0' });
    const gossip = listener.repr.messages.find((m) => m.kind === 'protocol' && m.tag === MESH_TAG.gossip);
    const topology = gossip?.kind === 'protocol' ? gossip.topology! : [];
    expect(gossip?.kind === 'protocol' && gossip.gossip?.sender).toBe(peers.r0);
    expect(topology.map((p) => [p.nickname, p.connections.map((c) => [c.name, c.outbound, c.established])])).toEqual(expect.arrayContaining([
      ['r0', [[peers.r1, false, true]]], ['r1', [[peers.r0, true, true]]],
    ]));
    expect(topology.find((p) => p.nickname === 'r1')!.connections[0].remoteTcpAddr).toBe('198.51.100.10:6783');
    // Sleeve's answers on the same connection: contact made, fragments received, the MTU verified.
    const tags = (r: MeshStream) => r.messages.flatMap((m) => (m.kind === 'protocol' ? [m.tag] : []));
    expect(tags(listener.repr)).toEqual(expect.arrayContaining([MESH_TAG.connectionEstablished, MESH_TAG.fragmentationReceived, MESH_TAG.pmtuVerified]));
    const verified = listener.repr.messages.find((m) => m.kind === 'protocol' && m.tag === MESH_TAG.pmtuVerified);
    expect(verified?.kind === 'protocol' && verified.payload.readUInt16BE(0)).toBe(1500 - 62);
  });

  test('sleeve finds the MTU: a heartbeat, the 60001-byte fragmentation test in fragments, then a DF test of 1438 + 14 that fills the 1500-byte path', () => {
    const whole = wire.filter((f) => f.readUInt16BE(12) === 0x0800 && f[23] === 17 && (f.readUInt16BE(20) & 0x3fff) === 0 && f.readUInt16BE(36) === 6783).map((f) => parseSleeve(f.subarray(42)));
    const special = whole.flatMap((p) => (p.ok ? p.repr.frames : [])).filter((fr) => fr.frame.subarray(0, 14).every((b) => b === 0));
    expect(special.map((fr) => fr.frame.length)).toEqual(expect.arrayContaining([22, 1452]));
    const mtuTest = wire.find((f) => f.readUInt16BE(12) === 0x0800 && f[23] === 17 && f.readUInt16BE(16) === 1500 && (f.readUInt16BE(20) & 0x4000) !== 0)!;
    expect(parseSleeve(mtuTest.subarray(42)).ok).toBe(true);
    // r0's test leaves in 1480-byte pieces (60001 + 14 + 6 + 8 bytes, DF clear); r1's arrives (the sim's capture shows a reassembled datagram's first piece).
    const fragments = (src: number) => wire.filter((f) => f.readUInt16BE(12) === 0x0800 && f[23] === 17 && f[29] === src && (f.readUInt16BE(20) & 0x3fff) !== 0);
    expect(fragments(10).length).toBe(Math.ceil((60001 + 14 + 6 + 8) / 1480));
    expect(fragments(11).length).toBeGreaterThan(0);
    expect(wire.every((f) => f.length <= 1514)).toBe(true);
  });

  test("an echo over the forwarder's MTU with DF dies at the router, which answers from the destination's address: fragmentation needed, mtu 1438; the next one goes in fragments", () => {
    const big = flows.find((f) => f.origin?.command === 'ping -c 2 -s 2000 10.32.0.1')!;
    const drop = big.hops.find((h) => h.event === 'drop')!;
    expect(drop).toMatchObject({ step: 3, host: 'r0', device: 'vethwe-pcap' });
    expect(drop.reason).toMatch(/over the forwarder's MTU 1438 \+ 14, DF set: ICMP fragmentation needed sent back/);
    const answer = big.hops.find((h) => h.host === 'r0' && h.device === 'ethwe0' && h.layers.some((l) => l.proto === 'icmp' && l['icmp.type'] === 3))!;
    const icmp = answer.layers.find((l) => l.proto === 'icmp')!;
    expect([icmp['icmp.code'], icmp['icmp.mtu']]).toEqual([4, 1438]);
    expect(answer.layers.find((l) => l.proto === 'ip')?.['ip.src']).toBe('10.32.0.1');
  });

  test('frames that reach the router together share a datagram: the host\'s two fragments behind one sender name, each behind its frame header', () => {
    const batched = flows.find((f) => f.origin?.command === 'ping -c 1 -s 1200 10.32.0.1')!;
    const encap = batched.hops.find((h) => h.host === 'r0' && h.event === 'encap' && h.dir === 'request' && h.layers.some((l) => l.proto === 'ip' && l['ip.dst'] === '10.32.0.1'))!;
    expect(encap.layers.find((l) => l.proto === 'sleeve')?.['sleeve.frames']).toBe(2);
    expect(encap.note).toMatch(/2 frames in one datagram/);
    const datagram = wire.map((f) => parseSleeve(f.subarray(42))).find((p) => p.ok && p.repr.frames.length === 2);
    expect(datagram?.ok && datagram.repr.frames.map((fr) => fr.frame.length)).toEqual([14 + 20 + 976, 14 + 20 + 232]);
  });
});

describe('weave-fastdp: flows on the first miss, VXLAN with the peers\' short ids', () => {
  let flows: Flow[];
  let shortIds: Record<string, number>;
  beforeAll(async () => {
    const { result, backend, model } = await runLab('weave-fastdp');
    expect(result.ok).toBe(true);
    flows = backend.flows();
    shortIds = Object.fromEntries(Object.entries(model.world.weave!.peers).map(([h, p]) => [h, p.shortId]));
  });

  const layer = (h: Flow['hops'][number], proto: string) => h.layers.find((l) => l.proto === proto)!;

  test('the first frames miss and go up to the router, which installs flows; the next ping runs on them in the kernel', () => {
    const datapathHops = (f: Flow) => f.hops.filter((h) => h.device === 'datapath').map((h) => h.note);
    expect(datapathHops(flows[0])[0]).toMatch(/^flow miss/);
    expect(datapathHops(flows[1]).every((n) => /^flow hit/.test(n ?? ''))).toBe(true);
    // The ARP request is flooded to the peer the same way, and answered by the remote container itself.
    expect(flows[0].hops.some((h) => h.device === 'datapath' && h.event === 'bridge-flood')).toBe(true);
    expect(flows[0].hops.some((h) => h.host === 'r1' && h.device === 'ethwe0' && h.event === 'arp-reply')).toBe(true);
  });

  test("on the wire: UDP 6784, the VNI this peer's short id and the other's shifted by 12, DF set, no UDP checksum, TTL 64 inside and out", () => {
    const wire = flows[1].hops.filter((h) => h.step === 5);
    const request = wire.find((h) => h.dir === 'request')!, reply = wire.find((h) => h.dir === 'reply')!;
    expect(layer(request, 'udp')).toMatchObject({ 'udp.dstport': 6784, 'udp.checksum': 0 });
    expect(layer(request, 'vxlan')['vxlan.vni']).toBe(shortIds.r0 | (shortIds.r1 << 12));
    expect(layer(reply, 'vxlan')['vxlan.vni']).toBe(shortIds.r1 | (shortIds.r0 << 12));
    expect(request.layers.filter((l) => l.proto === 'ip').map((l) => [l['ip.flags.df'], l['ip.ttl']])).toEqual([[true, 64], [true, 64]]);
  });

  test("the external vxlan device's one handler is its vport's, which takes every frame: another (a macvlan's port) is refused EBUSY, so its datagrams always reach the datapath with their tunnel", async () => {
    const { backend } = await runLab('weave-fastdp');
    const vx = backend.kernel.link('r1', 'r1', 'vxlan-6784');
    expect([vx.vxlan?.external, vx.rxHandler?.takesAll]).toEqual([true, true]);
    expect(() => backend.kernel.apply({ op: 'link.add', host: 'r1', netns: 'r1', name: 'mv0', kind: { type: 'macvlan', parent: 'vxlan-6784', mode: 'bridge' } })).toThrow('vxlan-6784: its rx_handler is another\'s (Device or resource busy)');
    expect(vx.rxHandler?.takesAll).toBe(true);
  });

  test('every capture decodes as tshark decodes it (VXLAN on 6784 through decode-as)', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weave-fastdp-'));
    expect(cnmlab(['run', 'scenarios/weave-fastdp.yaml', '--pcap-dir', dir]).status).toBe(0);
    for (const f of fs.readdirSync(dir)) expect(agreeWithTshark(path.join(dir, f))).toMatch(/^agree (\d+)\/\1 frames/);
  });

  test('emu refuses it before anything is made, in one line naming the kernel\'s Open vSwitch datapath, exit 2; sleeve needs only the dummy devices both make (vethwedu)', () => {
    const fastdp = parseScenario('f.yaml', fs.readFileSync(path.join(REPO, 'scenarios', 'weave-fastdp.yaml'), 'utf8'));
    expect(scenarioNeeds(fastdp).features.map((f) => f.name)).toEqual(['openvswitch', 'dummy']);
    const sleeve = parseScenario('s.yaml', fs.readFileSync(path.join(REPO, 'scenarios', 'weave-sleeve.yaml'), 'utf8'));
    expect(scenarioNeeds(sleeve).features.map((f) => f.name)).toEqual(['dummy']);
    if (process.getuid?.() !== 0 || spawnSync('genl', ['ctrl', 'get', 'name', 'ovs_datapath']).status === 0) return;
    const r = cnmlab(['run', 'scenarios/weave-fastdp.yaml', '--mode', 'emu']);
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toEqual(["cnmlab: scenarios/weave-fastdp.yaml: --mode emu needs the kernel's Open vSwitch datapath (CONFIG_OPENVSWITCH), which this kernel cannot make; the scenario runs in sim only here"]);
  });
});
