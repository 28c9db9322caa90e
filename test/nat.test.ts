/**
 * NAT in sim (nf_nat_core.ts, nf_nat_proto.ts): MASQUERADE, SNAT and DNAT bindings made on
 * a connection's first packet and applied to every packet both ways, at the hooks where
 * Linux runs them, with the nat table's counters as `iptables -t nat -L -v` shows them.
 * The figures are the ones a real namespace router showed (Linux 6.18, iptables 1.8.9):
 * ping -c 3 through MASQUERADE counts 1 packet in POSTROUTING, FORWARD sees 1 NEW and 5
 * ESTABLISHED; replies come back with ttl=63.
 */
import { runLab, runSim, twoNodes } from './helpers/run';
import { explainHop } from '../viz/app/explain';
import { checksumValid, internetChecksum } from '../sim/wire/checksum';
import { emitIpv4, IPPROTO_TCP, IPPROTO_UDP, parseIpv4 } from '../sim/wire/ipv4';
import { emitUdp, parseUdp } from '../sim/wire/udp';
import { emitTcp } from '../sim/wire/tcp';
import { ipv4ToNumber } from '../sim/wire/addr';
import { manipPacket } from '../sim/kernel/net/netfilter/nf_nat_proto';
import { bufferView } from '../sim/wire/bytes';

// Docker's own rules are in place: forwarding on, FORWARD's policy DROP, docker_gwbridge's MASQUERADE.
const SETUP = `  - r0: docker run -dit --name ubuntu0 --network test-net ubuntu:14.04
  - r1: docker run -dit --name ubuntu1 --network test-net ubuntu:14.04
`;

async function lab(steps: string) {
  const { result, backend } = await runSim(twoNodes(SETUP + steps));
  const out = (i: number) => result.steps[result.steps.length + i];
  const flows = backend.datapath.flows;
  return { out, flows };
}

const ipOf = (h: { layers: Record<string, unknown>[] }) => h.layers.find((l) => l.proto === 'ip')!;

describe('NAT in sim', () => {
  test('MASQUERADE: a container reaches another host through docker_gwbridge, as the host; the answer comes back to it with ttl=63', async () => {
    // Rules without a target only count: in DOCKER-USER, where FORWARD sends every datagram first.
    const { out, flows } = await lab(`  - r0: iptables -I DOCKER-USER -m conntrack --ctstate ESTABLISHED
  - r0: iptables -I DOCKER-USER -m conntrack --ctstate NEW
  - ubuntu0: ping -c 3 198.51.100.11
  - r0: iptables -t nat -L POSTROUTING -v -n
  - r0: iptables -L DOCKER-USER -v -n
`);
    expect(out(-3).stdout).toContain('64 bytes from 198.51.100.11: icmp_seq=1 ttl=63 time=');
    expect(out(-3).stdout).toContain('3 packets transmitted, 3 received, 0% packet loss');
    // One packet asked the nat table: the connection's first.
    expect(out(-2).stdout).toMatch(/\n +1 +84 MASQUERADE +0 +-- +\* +!docker_gwbridge +172\.18\.0\.0\/16 +0\.0\.0\.0\/0 *\n/);
    expect(out(-1).stdout).toMatch(/\n +1 +84 +0 +-- .* ctstate NEW\n +5 +420 +0 +-- .* ctstate ESTABLISHED\n/);
    const hops = flows[flows.length - 1].hops;
    const leaving = hops.find((h) => h.host === 'r0' && h.device === 'eth0' && h.event === 'forward' && h.dir === 'request')!;
    expect([ipOf(leaving)['ip.src'], ipOf(leaving)['ip.dst'], ipOf(leaving)['ip.ttl']]).toEqual(['198.51.100.10', '198.51.100.11', 63]);
    const back = hops.filter((h) => h.dir === 'reply' && h.netns !== 'r0' && h.netns !== 'r1' && h.host === 'r0');
    expect(back.map((h) => [ipOf(h)['ip.src'], ipOf(h)['ip.dst'], ipOf(h)['ip.ttl']])).toContainEqual(['198.51.100.11', '172.18.0.3', 63]);
  });

  test('DNAT in PREROUTING: a ping to the host is answered by the container, from the address it was sent to', async () => {
    // As Docker publishes a port: the DNAT, and its accept in the DOCKER chain (FORWARD's policy is DROP).
    const { out } = await lab(`  - r0: iptables -t nat -A PREROUTING -d 198.51.100.10 -p icmp -j DNAT --to-destination 172.18.0.3
  - r0: iptables -A DOCKER -d 172.18.0.3/32 ! -i docker_gwbridge -o docker_gwbridge -p icmp -j ACCEPT
  - r1: ping -c 2 198.51.100.10
  - r0: iptables -t nat -L PREROUTING -v -n
`);
    expect(out(-2).stdout).toContain('64 bytes from 198.51.100.10: icmp_seq=2 ttl=63 time=');
    expect(out(-1).stdout).toMatch(/\n +1 +84 DNAT +1 +-- +\* +\* +0\.0\.0\.0\/0 +198\.51\.100\.10 +to:172\.18\.0\.3 *\n/);
  });

  test('SNAT in INPUT: the host sees the sender as the rule says; its answer is routed to the real sender', async () => {
    const { out } = await lab(`  - r0: iptables -t nat -A INPUT -p icmp -j SNAT --to-source 172.18.0.77
  - r1: ping -c 1 198.51.100.10
  - r0: iptables -t nat -L INPUT -v -n
`);
    expect(out(-2).stdout).toContain('64 bytes from 198.51.100.10: icmp_seq=1 ttl=64 time=');
    expect(out(-1).stdout).toMatch(/\n +1 +84 SNAT +1 +-- +\* +\* +0\.0\.0\.0\/0 +0\.0\.0\.0\/0 +to:172\.18\.0\.77 *\n/);
  });

  test("an ICMP error about a masqueraded packet is RELATED and translated back: REJECT's port unreachable reaches the container", async () => {
    const { out } = await lab(`  - r1: iptables -A INPUT -p icmp --icmp-type echo-request -j REJECT
  - ubuntu0: ping -c 2 198.51.100.11
`);
    expect(out(-1).stdout).toContain('From 198.51.100.11 icmp_seq=1 Destination Port Unreachable\nFrom 198.51.100.11 icmp_seq=2 Destination Port Unreachable\n');
  });

  test('a datagram in fragments through MASQUERADE: conntrack sees it whole (joined before PREROUTING, nf_defrag_ipv4) and it leaves in fragments no larger than it came in', async () => {
    const { out, flows } = await lab(`  - ubuntu0: ping -c 2 -s 2000 198.51.100.11
`);
    expect(out(-1).stdout).toContain('2008 bytes from 198.51.100.11: icmp_seq=2 ttl=63 time=');
    const leaving = flows[flows.length - 1].hops.filter((h) => h.host === 'r0' && h.device === 'eth0' && h.event === 'forward' && h.dir === 'request').map((h) => ipOf(h));
    expect(leaving.slice(0, 2).map((ip) => [ip['ip.src'], ip['ip.len'], ip['ip.flags.mf'], ip['ip.ttl']])).toEqual([['198.51.100.10', 1500, true, 63], ['198.51.100.10', 548, false, 63]]);
  });

  test("without Docker's MASQUERADE the answer goes astray: r1 sends it to its own docker_gwbridge, where 172.18.0.3 is another container", async () => {
    const { out } = await runSim(twoNodes(`  - r0: docker run -dit --name ubuntu0 --network test-net ubuntu:14.04
  - r1: docker run -dit --name ubuntu1 --network test-net ubuntu:14.04
  - r0: iptables -t nat -D POSTROUTING -s 172.18.0.0/16 ! -o docker_gwbridge -j MASQUERADE
  - ubuntu0: ping -c 1 -W 1 198.51.100.11
`)).then(({ result }) => ({ out: (i: number) => result.steps[result.steps.length + i] }));
    expect(out(-1).stdout).toContain('1 packets transmitted, 0 received, 100% packet loss');
  });
});

describe("nf_nat_proto's rewrite keeps every checksum right (RFC 1624's incremental update)", () => {
  const addr = (s: string) => ipv4ToNumber(s) >>> 0;
  const target = { protocol: 0, src: addr('198.51.100.10'), dst: addr('10.9.8.7'), sport: 61000, dport: 42039 };

  test.each([['udp', IPPROTO_UDP], ['tcp', IPPROTO_TCP]] as const)('%s: source and destination, address and port', (_name, protocol) => {
    const ph = { src: '172.18.0.3', dst: '127.0.0.11' };
    const l4 = protocol === IPPROTO_UDP ? emitUdp({ srcPort: 40001, dstPort: 53 }, Buffer.from('hello, nat'), ph)
      : emitTcp({ srcPort: 40001, dstPort: 53, seq: 1, ack: 0, flags: 2, window: 64240, urgent: 0, options: Buffer.alloc(0) }, Buffer.from('hello'), ph);
    const ip = emitIpv4({ src: ph.src, dst: ph.dst, protocol, ttl: 64, id: 7, tos: 0, dontFragment: true, moreFragments: false, fragmentOffset: 0, options: Buffer.alloc(0) }, l4);
    manipPacket(ip, 0, target, 'src');
    manipPacket(ip, 0, target, 'dst');
    const p = parseIpv4(bufferView(ip));
    expect(p.ok && [p.repr.src, p.repr.dst]).toEqual(['198.51.100.10', '10.9.8.7']);
    expect(checksumValid(ip, 0, 20)).toBe(true);
    // The transport checksum over the pseudo-header with the new addresses.
    const seg = ip.subarray(20);
    const pseudo = Buffer.concat([ip.subarray(12, 20), Buffer.from([0, protocol, seg.length >> 8, seg.length & 255])]);
    expect(internetChecksum(Buffer.concat([pseudo, seg]))).toBe(0);
    expect([seg.readUInt16BE(0), seg.readUInt16BE(2)]).toEqual([61000, 42039]);
    if (protocol === IPPROTO_UDP) expect(parseUdp(seg, { src: '198.51.100.10', dst: '10.9.8.7' }).ok).toBe(true);
  });

  test('a UDP datagram without a checksum (0) keeps none', () => {
    const l4 = emitUdp({ srcPort: 40001, dstPort: 4789 }, Buffer.from('x'));
    const ip = emitIpv4({ src: '172.18.0.3', dst: '127.0.0.11', protocol: IPPROTO_UDP, ttl: 64, id: 7, tos: 0, dontFragment: false, moreFragments: false, fragmentOffset: 0, options: Buffer.alloc(0) }, l4);
    manipPacket(ip, 0, target, 'src');
    expect(ip.readUInt16BE(26)).toBe(0);
    expect(checksumValid(ip, 0, 20)).toBe(true);
  });
});

describe('the container → outside lab, traced on the gwbridge path and told in the report', () => {
  test('steps 1 to 6 and back, each hop said as what happened there (the bridge hands up, the host routes on, the underlay carries it plain)', async () => {
    const { result } = await runLab('container-to-outside');
    const flow = result.trace.flows.find((f) => f.from === 'ubuntu0' && f.path === 'gwbridge')!;
    const seq1 = flow.hops.filter((h) => h.layers.some((l) => l.proto === 'icmp' && l['icmp.seq'] === 1) && h.step !== undefined && h.event !== 'arp-request');
    expect(seq1.map((h) => `${h.step} ${h.dir} ${h.host} ${h.device} ${h.event}`)).toEqual([
      '1 request r0 eth1 send', '2 request r0 veth' + seq1[1].device.slice(4) + ' veth-cross', '3 request r0 docker_gwbridge bridge-forward',
      '4 request r0 eth0 forward', '5 request underlay segment underlay', '6 request r1 eth0 deliver',
      '6 reply r1 eth0 send', '5 reply underlay segment underlay', '4 reply r0 eth0 forward',
      '3 reply r0 docker_gwbridge bridge-forward', `2 reply r0 ${seq1[1].device} veth-cross`, '1 reply r0 eth1 deliver',
    ]);
    const said = (i: number) => explainHop(seq1[i]);
    expect(said(2)).toContain("docker_gwbridge is the container's gateway");
    expect(said(3)).toContain('r0 routes the packet on (ip_forward) out of eth0 with its TTL one less (63), from 198.51.100.10 to 198.51.100.11');
    expect(said(4)).toContain('as it is, without encapsulation');
    expect(said(8)).toContain('conntrack first gives the answer the container');
  });
});
