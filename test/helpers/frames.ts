/** Frames of every protocol cnmlab decodes, built with its own emitters, for tshark to judge. */
import { emitEthernet, ETHERTYPE_ARP, ETHERTYPE_IPV4 } from '../../sim/wire/ethernet';
import { emitArp } from '../../sim/wire/arp';
import { emitIpv4, Ipv4Repr, IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP } from '../../sim/wire/ipv4';
import { emitIcmp } from '../../sim/wire/icmp';
import { emitUdp } from '../../sim/wire/udp';
import { emitTcp, TCP_SYN } from '../../sim/wire/tcp';
import { emitVxlan, VXLAN_FLAG_I } from '../../sim/wire/vxlan';
import { emitDns } from '../../sim/wire/dns';

const A = '02:42:0a:00:01:02', B = '02:42:0a:00:01:04', H0 = '02:00:c6:33:64:0a', H1 = '02:00:c6:33:64:0b';

export function ip(src: string, dst: string, protocol: number, extra: Partial<Ipv4Repr> = {}): Ipv4Repr {
  return { src, dst, protocol, ttl: 64, id: 0x1234, tos: 0, dontFragment: false, moreFragments: false, fragmentOffset: 0, options: Buffer.alloc(0), ...extra };
}

export function eth(src: string, dst: string, ipRepr: Ipv4Repr, payload: Buffer): Buffer {
  return emitEthernet({ src, dst, ethertype: ETHERTYPE_IPV4 }, emitIpv4(ipRepr, payload));
}

export function echo(type: 0 | 8, seq: number, size = 56): Buffer {
  return emitIcmp({ kind: 'echo', type, code: 0, ident: 0x26, seq, data: Buffer.alloc(size, 0x61) });
}

export function vxlanOf(inner: Buffer, vni = 4097, srcPort = 40312): Buffer {
  const udp = emitUdp({ srcPort, dstPort: 4789 }, emitVxlan({ flags: VXLAN_FLAG_I, groupPolicyId: 0, vni }, inner));
  return eth(H0, H1, ip('198.51.100.10', '198.51.100.11', IPPROTO_UDP), udp);
}

export function sampleFrames(): Buffer[] {
  const frames: Buffer[] = [];
  const inner = eth(A, B, ip('10.0.1.2', '10.0.1.4', IPPROTO_ICMP, { dontFragment: true }), echo(8, 1));
  frames.push(inner, vxlanOf(inner));
  frames.push(emitEthernet({ src: A, dst: 'ff:ff:ff:ff:ff:ff', ethertype: ETHERTYPE_ARP },
    Buffer.concat([emitArp({ opcode: 1, senderMac: A, senderIp: '10.0.1.2', targetMac: '00:00:00:00:00:00', targetIp: '10.0.1.4' }), Buffer.alloc(18)])));
  frames.push(emitEthernet({ src: B, dst: A, ethertype: ETHERTYPE_ARP }, emitArp({ opcode: 2, senderMac: B, senderIp: '10.0.1.4', targetMac: A, targetIp: '10.0.1.2' })));
  // A 1600-byte ping fragmented at MTU 1450: first fragment decodes ICMP, the second is data.
  const big = emitIcmp({ kind: 'echo', type: 8, code: 0, ident: 7, seq: 3, data: Buffer.alloc(1600, 1) });
  frames.push(eth(A, B, ip('10.0.1.2', '10.0.1.4', IPPROTO_ICMP, { id: 77, moreFragments: true }), big.subarray(0, 1424)));
  frames.push(eth(A, B, ip('10.0.1.2', '10.0.1.4', IPPROTO_ICMP, { id: 77, fragmentOffset: 1424 }), big.subarray(1424)));
  // Fragmentation needed, quoting a DF datagram, and time exceeded quoting a UDP datagram.
  const dfDatagram = emitIpv4(ip('10.0.1.2', '10.0.1.4', IPPROTO_ICMP, { dontFragment: true }), echo(8, 4, 1472));
  frames.push(eth(B, A, ip('10.0.1.1', '10.0.1.2', IPPROTO_ICMP, { ttl: 64 }), emitIcmp({ kind: 'unreachable', type: 3, code: 4, mtu: 1450, quoted: dfDatagram.subarray(0, 28) })));
  const udpDatagram = emitIpv4(ip('10.0.1.2', '10.0.1.9', IPPROTO_UDP, { ttl: 1 }), emitUdp({ srcPort: 33434, dstPort: 33435 }, Buffer.alloc(12), { src: '10.0.1.2', dst: '10.0.1.9' }));
  frames.push(eth(B, A, ip('10.0.1.1', '10.0.1.2', IPPROTO_ICMP), emitIcmp({ kind: 'time-exceeded', type: 11, code: 0, quoted: udpDatagram })));
  // DNS to the embedded resolver and its answer.
  const q = emitDns({ id: 0xbeef, flags: 0x0100, questions: [{ name: 'ubuntu1', type: 'A' }], answers: [] });
  const r = emitDns({ id: 0xbeef, flags: 0x8580, questions: [{ name: 'ubuntu1', type: 'A' }], answers: [{ name: 'ubuntu1', type: 'A', ttl: 600, data: '10.0.1.4' }] });
  const nx = emitDns({ id: 0xcafe, flags: 0x8183, questions: [{ name: 'nosuchname', type: 'A' }], answers: [] });
  const ptr = emitDns({ id: 0xcaff, flags: 0x8580, questions: [{ name: '4.1.0.10.in-addr.arpa', type: 'PTR' }], answers: [{ name: '4.1.0.10.in-addr.arpa', type: 'PTR', ttl: 600, data: 'ubuntu1.test-net' }] });
  const dnsFrame = (src: string, dst: string, sp: number, dp: number, msg: Buffer) => eth(A, A, ip(src, dst, IPPROTO_UDP), emitUdp({ srcPort: sp, dstPort: dp }, msg, { src, dst }));
  frames.push(dnsFrame('127.0.0.1', '127.0.0.11', 45000, 53, q), dnsFrame('127.0.0.11', '127.0.0.1', 53, 45000, r));
  frames.push(dnsFrame('127.0.0.11', '127.0.0.1', 53, 45001, nx), dnsFrame('127.0.0.11', '127.0.0.1', 53, 45002, ptr));
  // Swarm control traffic: a TCP SYN to 2377 and a memberlist UDP probe on 7946.
  frames.push(eth(H0, H1, ip('198.51.100.11', '198.51.100.10', IPPROTO_TCP, { dontFragment: true }),
    emitTcp({ srcPort: 51000, dstPort: 2377, seq: 1000, ack: 0, flags: TCP_SYN, window: 64240, urgent: 0, options: Buffer.from([2, 4, 5, 0xb4]) }, Buffer.alloc(0), { src: '198.51.100.11', dst: '198.51.100.10' })));
  frames.push(eth(H0, H1, ip('198.51.100.10', '198.51.100.11', IPPROTO_UDP), emitUdp({ srcPort: 7946, dstPort: 7946 }, Buffer.alloc(40, 2), { src: '198.51.100.10', dst: '198.51.100.11' })));
  // IPv4 options (record route) and a VXLAN-carried ARP.
  frames.push(eth(A, B, ip('10.0.1.2', '10.0.1.4', IPPROTO_ICMP, { options: Buffer.from([7, 7, 4, 0, 0, 0, 0, 1]) }), echo(8, 5)));
  frames.push(vxlanOf(emitEthernet({ src: A, dst: 'ff:ff:ff:ff:ff:ff', ethertype: ETHERTYPE_ARP }, emitArp({ opcode: 1, senderMac: A, senderIp: '10.0.1.2', targetMac: '00:00:00:00:00:00', targetIp: '10.0.1.4' })), 4098));
  return frames;
}
