/** Ethernet II (DIX) framing. */
import { fail, Layer, Parsed } from './layer';
import { putBe16 } from './bytes';
import { macToString, writeMac } from './addr';

export const ETHERNET_HEADER_LEN = 14;
export const ETHERTYPE_IPV4 = 0x0800;
export const ETHERTYPE_ARP = 0x0806;

/** is_multicast_ether_addr of a frame's destination: its group bit (a broadcast is one too). */
export function isMulticastEtherAddr(frame: Uint8Array): boolean {
  return (frame[0] & 1) === 1;
}

export interface EthernetRepr {
  dst: string;
  src: string;
  ethertype: number;
}

export function parseEthernet(b: Buffer): Parsed<EthernetRepr> {
  if (b.length < ETHERNET_HEADER_LEN) return fail(`ethernet: ${b.length} bytes, header needs ${ETHERNET_HEADER_LEN}`);
  return {
    ok: true,
    repr: { dst: macToString(b, 0), src: macToString(b, 6), ethertype: b.readUInt16BE(12) },
    headerLength: ETHERNET_HEADER_LEN,
    payload: b.subarray(ETHERNET_HEADER_LEN),
  };
}

export function emitEthernet(r: EthernetRepr, payload: Uint8Array): Buffer {
  const b = Buffer.allocUnsafe(ETHERNET_HEADER_LEN + payload.length);
  writeEthernetHeader(r, b, 0);
  b.set(payload, ETHERNET_HEADER_LEN);
  return b;
}

/** The header alone, for a frame built whole in one buffer (the payload follows at offset + 14). */
export function writeEthernetHeader(r: EthernetRepr, b: Uint8Array, offset: number): void {
  writeMac(r.dst, b, offset);
  writeMac(r.src, b, offset + 6);
  putBe16(b, offset + 12, r.ethertype);
}

export function ethernetLayer(r: EthernetRepr): Layer {
  return { proto: 'eth', 'eth.dst': r.dst, 'eth.src': r.src, 'eth.type': r.ethertype };
}

/** Byte offset at which each field ends, so a header cut short keeps what it has. */
export const ETHERNET_FIELD_ENDS: Record<string, number> = { 'eth.dst': 6, 'eth.src': 12, 'eth.type': 14 };
