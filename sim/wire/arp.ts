/** ARP for IPv4 over Ethernet (RFC 826). */
import { fail, Layer, Parsed } from './layer';
import { ipv4ToString, macToString, writeIpv4, writeMac } from './addr';
import { ETHERTYPE_IPV4 } from './ethernet';

export const ARP_LEN = 28;
export const ARP_REQUEST = 1;
export const ARP_REPLY = 2;

export interface ArpRepr {
  opcode: number;
  senderMac: string;
  senderIp: string;
  targetMac: string;
  targetIp: string;
}

export function parseArp(b: Buffer): Parsed<ArpRepr> {
  if (b.length < ARP_LEN) return fail(`arp: ${b.length} bytes, needs ${ARP_LEN}`);
  const hwType = b.readUInt16BE(0), protoType = b.readUInt16BE(2);
  if (hwType !== 1 || protoType !== ETHERTYPE_IPV4 || b[4] !== 6 || b[5] !== 4) {
    return fail(`arp: only Ethernet/IPv4 is supported (hw ${hwType}, proto 0x${protoType.toString(16)})`);
  }
  return {
    ok: true,
    repr: { opcode: b.readUInt16BE(6), senderMac: macToString(b, 8), senderIp: ipv4ToString(b, 14), targetMac: macToString(b, 18), targetIp: ipv4ToString(b, 24) },
    headerLength: ARP_LEN,
    // Whatever follows is Ethernet padding, not ARP's.
    payload: b.subarray(ARP_LEN, ARP_LEN),
  };
}

export function emitArp(r: ArpRepr): Buffer {
  const b = Buffer.allocUnsafe(ARP_LEN);
  b.writeUInt16BE(1, 0);
  b.writeUInt16BE(ETHERTYPE_IPV4, 2);
  b[4] = 6;
  b[5] = 4;
  b.writeUInt16BE(r.opcode, 6);
  writeMac(r.senderMac, b, 8);
  writeIpv4(r.senderIp, b, 14);
  writeMac(r.targetMac, b, 18);
  writeIpv4(r.targetIp, b, 24);
  return b;
}

export function arpLayer(r: ArpRepr): Layer {
  return {
    proto: 'arp', 'arp.opcode': r.opcode,
    'arp.src.hw_mac': r.senderMac, 'arp.src.proto_ipv4': r.senderIp,
    'arp.dst.hw_mac': r.targetMac, 'arp.dst.proto_ipv4': r.targetIp,
  };
}

export const ARP_FIELD_ENDS: Record<string, number> = {
  'arp.opcode': 8, 'arp.src.hw_mac': 14, 'arp.src.proto_ipv4': 18, 'arp.dst.hw_mac': 24, 'arp.dst.proto_ipv4': 28,
};
