/**
 * The hop notes shared by sim, emu and replay, worded once here (each gives what it knows).
 * A driver's path model is its own file, imported by its bundle alone; notes that the sender
 * of a hop writes in more than one layer (the sim kernel, emu's capture) live here instead.
 */

/**
 * The hop notes of a frame through a vxlan device and across the underlay, worded once for
 * sim, emu and replay (each gives what it knows). Docker's overlay was the first path to have
 * them (its steps are named below); every path that crosses a vxlan device and the segment
 * (flannel's, calico's vxlan, a weave vport) is noted alike, so they are no one path's own.
 */
export const overlayNotes = {
  /** Step 3: vxlan0 answered an ARP request from its neighbour table. */
  arpReduce: (device: string, ip: string, mac: string) => `${device} proxy: ${ip} is at ${mac} (static neighbour)`,
  /** Step 4: the FDB entry that sent the frame to a VTEP. */
  encap: (innerDstMac: string, vtep: string) => `FDB ${innerDstMac} -> ${vtep}`,
  /** Step 5: from which host's interface to which. */
  segment: (from: string, to: string) => `${from} → ${to}`,
  /** Step 7, reply: the vxlan device would not fit a DF packet into the underlay's MTU and answers as the destination would (skb_tunnel_check_pmtu). */
  pmtuReply: (device: string, mtu: number) => `${device} answers for the destination: fragmentation needed (mtu ${mtu})`,
  /** Step 6: the VXLAN port's socket hands the datagram to the vxlan device of the VNI (in its namespace, when known). */
  udpDeliver: (port: number, device: string, vni: number, netns?: string) => `UDP ${port} → ${device}${netns ? ` in ${netns}` : ''} (VNI ${vni})`,
};

/**
 * The hop notes of Weave Net's router datagrams (sleeve), worded once for the router's sim
 * (`sim/kernel/weaver.ts`) and emu's capture (`emu/capture.ts`), each of which knows the
 * peer's name and address. They are the router's own words, which the sender writes.
 */
export const weaveNotes = {
  /** Step 4: the router sends a frame (or a batch of them) to a peer. */
  sleeveOut: (peer: string, address: string, port: number, frames = 1) => `sleeve: to peer ${peer} at ${address}:${port}${frames > 1 ? `, ${frames} frames in one datagram` : ''}`,
  /** Step 6: the router's socket takes a datagram from a peer. */
  sleeveIn: (peer: string, address: string, port: number) => `sleeve: from peer ${peer} at ${address}:${port}`,
};
