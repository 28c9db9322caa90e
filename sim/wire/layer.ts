/**
 * A decoded protocol layer as Wireshark names it: `proto` is the display-filter protocol
 * name and every other key a display-filter field name (DESIGN §5). Numbers stay numbers;
 * addresses are strings in Wireshark's notation.
 */
export type FieldValue = string | number | boolean | string[] | number[];

export interface Layer {
  proto: string;
  /** Set when the captured bytes ended inside this layer's header. */
  truncated?: boolean;
  /** Set when the bytes contradict the protocol (bad length, bad version…). */
  malformed?: string;
  [field: string]: FieldValue | undefined;
}

/**
 * The outcome of parsing one header: its plain representation, how many bytes the header
 * took, and the payload that follows it (already cut to the length the header declares).
 */
export type Parsed<R> =
  | { ok: true; repr: R; headerLength: number; payload: Buffer; truncated?: boolean }
  | { ok: false; error: string };

export function fail(error: string): { ok: false; error: string } {
  return { ok: false, error };
}
