/** VXLAN (RFC 7348), with the Group Based Policy extension's flag and policy id kept. */
import { fail, Layer, Parsed } from './layer';
import { putBe16 } from './bytes';

export const VXLAN_HEADER_LEN = 8;
export const VXLAN_PORT = 4789;
export const VXLAN_FLAG_I = 0x0800;
export const VXLAN_FLAG_G = 0x8000;

export interface VxlanRepr {
  /** The 16 flag bits; I (0x0800) says the VNI is valid, G (0x8000) marks GBP. */
  flags: number;
  /** GBP's group policy id; zero in plain VXLAN. */
  groupPolicyId: number;
  vni: number;
}

export function parseVxlan(b: Buffer): Parsed<VxlanRepr> {
  if (b.length < VXLAN_HEADER_LEN) return fail(`vxlan: ${b.length} bytes, header needs ${VXLAN_HEADER_LEN}`);
  return {
    ok: true,
    repr: { flags: b.readUInt16BE(0), groupPolicyId: b.readUInt16BE(2), vni: vxlanVni(b, 0) },
    headerLength: VXLAN_HEADER_LEN,
    payload: b.subarray(VXLAN_HEADER_LEN),
  };
}

export function emitVxlan(r: VxlanRepr, payload: Uint8Array): Buffer {
  const b = Buffer.allocUnsafe(VXLAN_HEADER_LEN + payload.length);
  writeVxlanHeader(r, b, 0);
  b.set(payload, VXLAN_HEADER_LEN);
  return b;
}

/** The header alone, for a packet built whole in one buffer (the inner frame follows at offset + 8). */
export function writeVxlanHeader(r: VxlanRepr, b: Uint8Array, offset: number): void {
  if (r.vni < 0 || r.vni > 0xffffff) vniOutOfRange(r.vni);
  putBe16(b, offset, r.flags);
  putBe16(b, offset + 2, r.groupPolicyId);
  b[offset + 4] = r.vni >>> 16;
  b[offset + 5] = (r.vni >>> 8) & 0xff;
  b[offset + 6] = r.vni & 0xff;
  b[offset + 7] = 0;
}

// The error's text in a function of its own: writeVxlanHeader is inlined into every encapsulation, where its size counts against the compiler's inlining budget.
function vniOutOfRange(vni: number): never {
  throw new Error(`vxlan: VNI ${vni} is outside 0..16777215`);
}

/** The VNI of the header at `offset` (what a receiving socket matches its devices by). */
export function vxlanVni(b: Uint8Array, offset: number): number {
  return (b[offset + 4] << 16) | (b[offset + 5] << 8) | b[offset + 6];
}

export function vxlanLayer(r: VxlanRepr): Layer {
  const layer: Layer = { proto: 'vxlan', 'vxlan.flags': r.flags, 'vxlan.vni': r.vni };
  if (r.flags & VXLAN_FLAG_G) layer['vxlan.gbp'] = r.groupPolicyId;
  return layer;
}

export const VXLAN_FIELD_ENDS: Record<string, number> = { 'vxlan.flags': 2, 'vxlan.gbp': 4, 'vxlan.vni': 7 };
