/**
 * The ipvlan driver's path (l2 mode): a container to another on an ipvlan network of the same
 * parent (the hosts' eth0 on one L2 segment). The container's eth0 is an ipvlan device on its
 * host's eth0 and carries that eth0's MAC: what it sends leaves the parent unchanged (no
 * bridge, no routing, no encapsulation), from the host's MAC and the container's own address,
 * crosses the segment to the peer host's MAC, and the peer host's eth0 hands it to the ipvlan
 * that holds the destination address. On one host the port hands a frame for a sibling's
 * address across directly: 1 send, 5 deliver.
 */
import { registerPath } from './index';
import { stackedPath, STACKED_STEP } from './stacked';

/** The steps by name. */
export const IPVLAN_STEP = STACKED_STEP;

export const ipvlanPath = stackedPath('ipvlan', "a container to another on an ipvlan network (l2), straight over the hosts' shared L2 segment from host MAC to host MAC (or across the parent's port on one host)", {
  send: "the container sends on its eth0, an ipvlan device on the host's eth0 with that eth0's MAC (and resolves the peer's MAC over the wire: the peer host's)",
  parent: "the host's eth0 sends the frame unchanged (a sibling's address on the same parent would be handed across)",
  underlay: "the frame crosses the underlay segment, from one host's MAC to the other's",
  parentIn: "the peer host's eth0 takes it; its ipvlan port hands it to the ipvlan device that holds the destination address",
  deliver: "the destination container's eth0 (that ipvlan) takes it",
});

declare module './index' {
  interface RegisteredPaths {
    ipvlan: typeof ipvlanPath;
  }
}

registerPath('ipvlan', ipvlanPath);
