/**
 * The TLS record layer (RFC 8446 §5): content type, legacy version, length, then the
 * fragment. After the handshake TLS 1.3 sends everything as application_data records at
 * version 0x0303, the real content type sealed inside with the data (one byte) and the
 * AEAD tag (16 bytes for AES-GCM and ChaCha20-Poly1305), so a record is 22 bytes longer
 * than the bytes written to it.
 */
import { fail, Layer, Parsed } from './layer';

export const TLS_RECORD_HEADER_LEN = 5;
export const TLS_APPLICATION_DATA = 23;
export const TLS_LEGACY_VERSION = 0x0303;
/** The inner content type and the AEAD tag. */
export const TLS13_RECORD_OVERHEAD = 1 + 16;

export interface TlsRecordRepr {
  contentType: number;
  version: number;
  length: number;
}

export function parseTlsRecord(b: Buffer): Parsed<TlsRecordRepr> {
  if (b.length < TLS_RECORD_HEADER_LEN) return fail(`tls: ${b.length} bytes, a record header needs ${TLS_RECORD_HEADER_LEN}`);
  const length = b.readUInt16BE(3);
  return {
    ok: true,
    repr: { contentType: b[0], version: b.readUInt16BE(1), length },
    headerLength: TLS_RECORD_HEADER_LEN,
    payload: b.subarray(TLS_RECORD_HEADER_LEN, TLS_RECORD_HEADER_LEN + length),
    truncated: TLS_RECORD_HEADER_LEN + length > b.length,
  };
}

export function emitTlsRecord(r: Omit<TlsRecordRepr, 'length'>, fragment: Uint8Array): Buffer {
  const b = Buffer.alloc(TLS_RECORD_HEADER_LEN + fragment.length);
  b[0] = r.contentType;
  b.writeUInt16BE(r.version, 1);
  b.writeUInt16BE(fragment.length, 3);
  b.set(fragment, TLS_RECORD_HEADER_LEN);
  return b;
}

/** A TLS 1.3 application_data record carrying `plaintextLength` bytes, its sealed part opaque. */
export function tls13ApplicationData(plaintextLength: number, opaque: (length: number) => Uint8Array): Buffer {
  return emitTlsRecord({ contentType: TLS_APPLICATION_DATA, version: TLS_LEGACY_VERSION }, opaque(plaintextLength + TLS13_RECORD_OVERHEAD));
}

export function tlsLayer(r: TlsRecordRepr): Layer {
  return { proto: 'tls', 'tls.record.content_type': r.contentType, 'tls.record.version': r.version, 'tls.record.length': r.length };
}

export const TLS_FIELD_ENDS: Record<string, number> = { 'tls.record.content_type': 1, 'tls.record.version': 3, 'tls.record.length': 5 };
