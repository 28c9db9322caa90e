/** A captured frame as every capture reader hands it over. */
export interface CapturedFrame {
  /** 1-based, in file order. */
  index: number;
  /** Absolute capture time in nanoseconds since the Unix epoch. */
  timeNs: bigint;
  /** Length on the wire. */
  length: number;
  data: Buffer;
  linktype: number;
  /** pcapng interface id (0 for classic pcap). */
  interfaceId: number;
}

export interface CaptureInfo {
  format: 'pcap' | 'pcap-ns' | 'pcapng';
  /** Link type of the first interface. */
  linktype: number;
  snaplen: number;
}

export class CaptureError extends Error {}
