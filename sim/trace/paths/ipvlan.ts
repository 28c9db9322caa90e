/**
 * The ipvlan driver's paths, one a mode (the port's: libnetwork's `-o ipvlan_mode`).
 *
 * l2 (the default): a container to another on an ipvlan network of the same
 * parent (the hosts' eth0 on one L2 segment). The container's eth0 is an ipvlan device on its
 * host's eth0 and carries that eth0's MAC: what it sends leaves the parent unchanged (no
 * bridge, no routing, no encapsulation), from the host's MAC and the container's own address,
 * crosses the segment to the peer host's MAC, and the peer host's eth0 hands it to the ipvlan
 * that holds the destination address. On one host the port hands a frame for a sibling's
 * address across directly: 1 send, 5 deliver.
 *
 * l3: the container's eth0 is NOARP (no ARP of its own: its frames go to its own MAC, the
 * parent's) and its route is `default dev eth0`. A packet for a sibling's address is handed
 * across the port; any other loses its Ethernet header and is routed by the host's namespace
 * (ipvlan_process_v4_outbound: the host's routes, OUTPUT and POSTROUTING, the host's ARP for
 * the next hop, TTL kept) out of eth0. Between hosts that needs the hosts' routes to each
 * other's container subnets, which libnetwork does not add. The peer host's eth0 hands the
 * packet to the ipvlan holding its destination address, by the address alone.
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

export const ipvlanL3Path = stackedPath('ipvlan-l3', "a container to another on an ipvlan network (l3), routed by the hosts' own namespaces over their shared L2 segment (or across the parent's port on one host)", {
  send: "the container sends on its eth0, an ipvlan device in l3 mode (NOARP, `default dev eth0`): no ARP of its own, the frame to its own MAC, the parent's",
  parent: "the host's namespace routes the packet (its Ethernet header dropped; the host's routes, OUTPUT and POSTROUTING, the host's ARP for the next hop; TTL kept) out of its eth0 (a sibling's address on the same parent would be handed across)",
  underlay: "the frame crosses the underlay segment, from one host's MAC to the next hop's (the peer host's, by the route a user added: libnetwork adds none)",
  parentIn: "the peer host's eth0 takes it; its ipvlan port (l3) hands it to the ipvlan device that holds the destination address",
  deliver: "the destination container's eth0 (that ipvlan) takes it",
});

declare module './index' {
  interface RegisteredPaths {
    ipvlan: typeof ipvlanPath;
    'ipvlan-l3': typeof ipvlanL3Path;
  }
}

registerPath('ipvlan', ipvlanPath, { rank: 100 });
registerPath('ipvlan-l3', ipvlanL3Path, { rank: 110 });
