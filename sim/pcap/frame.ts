/** A captured frame as every capture reader hands it over. */
export interface CapturedFrame {
  /** 1-based, in file order. */
  index: number;
  /** Capture time: whole seconds since the Unix epoch, and nanoseconds within that second (numbers, not BigInt, for speed). */
  seconds: number;
  nanos: number;
  /** Length on the wire. */
  length: number;
  data: Buffer;
  linktype: number;
  /** pcapng interface id (0 for classic pcap). */
  interfaceId: number;
}

/** A frame's capture time in nanoseconds since the Unix epoch (exact: a BigInt, as a number would lose the nanoseconds). */
export function frameTimeNs(f: Pick<CapturedFrame, 'seconds' | 'nanos'>): bigint {
  return BigInt(f.seconds) * 1_000_000_000n + BigInt(f.nanos);
}

export interface CaptureInfo {
  format: 'pcap' | 'pcap-ns' | 'pcapng';
  /** Link type of the first interface. */
  linktype: number;
  snaplen: number;
}

export class CaptureError extends Error {}

export interface ReadOutcome {
  info: CaptureInfo;
  warnings: string[];
}

/** Pulls frames one at a time; next() is undefined at the end, then outcome() holds the file's facts. */
export interface FrameReader {
  next(): CapturedFrame | undefined;
  outcome(): ReadOutcome;
}

/**
 * The largest frame Wireshark accepts in a capture (WTAP_MAX_PACKET_SIZE_STANDARD): a record
 * announcing more is damage, refused at once rather than read.
 */
export const MAX_FRAME_LEN = 262144;

/**
 * A link type as libpcap's LT_LINKTYPE() reads it: the low 16 bits, the upper ones carrying
 * FCS facts. pcapng's IDB field is 16 bits wide, so every reader agrees.
 */
export function linktypeOf(raw: number): number {
  return raw & 0xffff;
}
