/** TCP (RFC 9293): the header only; cnmlab traces TCP but carries no TCP state. */
import { fail, Layer, Parsed } from './layer';
import { internetChecksum, pseudoHeaderSum } from './checksum';
import { writeIpv4 } from './addr';
import { IPPROTO_TCP } from './ipv4';
import type { PseudoHeader } from './udp';

export const TCP_MIN_HEADER_LEN = 20;
export const TCP_FIN = 0x01, TCP_SYN = 0x02, TCP_RST = 0x04, TCP_PSH = 0x08, TCP_ACK = 0x10;

export interface TcpRepr {
  srcPort: number;
  dstPort: number;
  seq: number;
  ack: number;
  /** The nine flag bits (NS … FIN). */
  flags: number;
  window: number;
  urgent: number;
  options: Buffer;
}

export interface TcpHeader extends TcpRepr {
  headerLength: number;
  checksum: number;
}

export function parseTcp(b: Buffer): Parsed<TcpHeader> {
  if (b.length < TCP_MIN_HEADER_LEN) return fail(`tcp: ${b.length} bytes, header needs ${TCP_MIN_HEADER_LEN}`);
  const headerLength = (b[12] >> 4) * 4;
  if (headerLength < TCP_MIN_HEADER_LEN) return fail(`tcp: header length ${headerLength} is below 20`);
  if (b.length < headerLength) return fail(`tcp: ${b.length} bytes, header with options needs ${headerLength}`);
  return {
    ok: true,
    repr: {
      srcPort: b.readUInt16BE(0), dstPort: b.readUInt16BE(2), seq: b.readUInt32BE(4), ack: b.readUInt32BE(8),
      flags: b.readUInt16BE(12) & 0x1ff, window: b.readUInt16BE(14), checksum: b.readUInt16BE(16), urgent: b.readUInt16BE(18),
      options: b.subarray(TCP_MIN_HEADER_LEN, headerLength), headerLength,
    },
    headerLength,
    payload: b.subarray(headerLength),
  };
}

export function emitTcp(r: TcpRepr, payload: Uint8Array, ph: PseudoHeader): Buffer {
  const optionsLength = (r.options.length + 3) & ~3;
  const headerLength = TCP_MIN_HEADER_LEN + optionsLength;
  if (headerLength > 60) throw new Error(`tcp: options of ${r.options.length} bytes do not fit the header`);
  const b = Buffer.alloc(headerLength + payload.length);
  b.writeUInt16BE(r.srcPort, 0);
  b.writeUInt16BE(r.dstPort, 2);
  b.writeUInt32BE(r.seq >>> 0, 4);
  b.writeUInt32BE(r.ack >>> 0, 8);
  b.writeUInt16BE(((headerLength / 4) << 12) | (r.flags & 0x1ff), 12);
  b.writeUInt16BE(r.window, 14);
  b.writeUInt16BE(r.urgent, 18);
  r.options.copy(b, TCP_MIN_HEADER_LEN);
  b.set(payload, headerLength);
  const s = Buffer.allocUnsafe(8);
  writeIpv4(ph.src, s, 0);
  writeIpv4(ph.dst, s, 4);
  b.writeUInt16BE(internetChecksum(b, 0, b.length, pseudoHeaderSum(s.subarray(0, 4), s.subarray(4, 8), IPPROTO_TCP, b.length)), 16);
  return b;
}

export function tcpLayer(h: TcpHeader): Layer {
  return {
    proto: 'tcp', 'tcp.srcport': h.srcPort, 'tcp.dstport': h.dstPort, 'tcp.seq_raw': h.seq, 'tcp.ack_raw': h.ack,
    'tcp.hdr_len': h.headerLength, 'tcp.flags': h.flags, 'tcp.window_size_value': h.window, 'tcp.checksum': h.checksum,
    'tcp.urgent_pointer': h.urgent,
  };
}

export const TCP_FIELD_ENDS: Record<string, number> = {
  'tcp.srcport': 2, 'tcp.dstport': 4, 'tcp.seq_raw': 8, 'tcp.ack_raw': 12, 'tcp.hdr_len': 13, 'tcp.flags': 14,
  'tcp.window_size_value': 16, 'tcp.checksum': 18, 'tcp.urgent_pointer': 20,
};
