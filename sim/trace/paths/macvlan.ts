/**
 * The macvlan driver's path: a container to another on a macvlan network of the same parent
 * (the hosts' eth0 on one L2 segment). The container's eth0 is a macvlan device on its host's
 * eth0: what it sends leaves the parent unchanged, with the container's own MAC and address
 * (no bridge, no routing, no encapsulation), crosses the segment, and the peer host's eth0
 * hands it to the macvlan with the destination MAC. On one host (bridge mode) the parent's
 * port hands a frame for a sibling across directly: 1 send, 5 deliver.
 */
import { registerPath } from './index';
import { stackedPath, STACKED_STEP } from './stacked';

/** The steps by name. */
export const MACVLAN_STEP = STACKED_STEP;

export const macvlanPath = stackedPath('macvlan', "a container to another on a macvlan network, straight over the hosts' shared L2 segment (or across the parent's port on one host)", {
  send: "the container sends on its eth0, a macvlan device on the host's eth0 (and resolves the peer's MAC over the wire)",
  parent: "the host's eth0 sends the frame unchanged, from the container's own MAC (a sibling's MAC on the same parent would be handed across in bridge mode)",
  underlay: 'the frame crosses the underlay segment, whose switch knows the container\'s MAC behind its host\'s port',
  parentIn: "the peer host's eth0 takes it; its macvlan port hands it to the macvlan device with the destination MAC",
  deliver: "the destination container's eth0 (that macvlan) takes it",
});

declare module './index' {
  interface RegisteredPaths {
    macvlan: typeof macvlanPath;
  }
}

registerPath('macvlan', macvlanPath, { rank: 90 });
