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

export interface CaptureInfo {
  format: 'pcap' | 'pcap-ns' | 'pcapng';
  /** Link type of the first interface. */
  linktype: number;
  snaplen: number;
}

export class CaptureError extends Error {}
