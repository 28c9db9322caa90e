/**
 * The hop notes of Weave Net's router datagrams (sleeve), worded once for the router's sim
 * (`sim/kernel/weaver.ts`) and emu's capture (`emu/capture.ts`), each of which knows the
 * peer's name and address. They are the router's own words, which the sender writes: kept
 * apart from weave's path model, which is the driver's own file and imported by its bundle alone.
 */
export const weaveNotes = {
  /** Step 4: the router sends a frame (or a batch of them) to a peer. */
  sleeveOut: (peer: string, address: string, port: number, frames = 1) => `sleeve: to peer ${peer} at ${address}:${port}${frames > 1 ? `, ${frames} frames in one datagram` : ''}`,
  /** Step 6: the router's socket takes a datagram from a peer. */
  sleeveIn: (peer: string, address: string, port: number) => `sleeve: from peer ${peer} at ${address}:${port}`,
};

