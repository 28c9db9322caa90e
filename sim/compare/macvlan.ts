/**
 * Docker's macvlan driver in `cnmlab compare`: a macvlan network on each host's eth0, a
 * container on each. The hosts' switch learns each container's MAC.
 */
import { registerPart } from './index';
import { stackedPart } from './part';

export const macvlanPart = stackedPart('macvlan', 'mv', '10.9.0.0',
  "Docker's macvlan (bridge mode on each host's eth0, the containers' frames straight on the segment)",
  "none: each daemon's network is its own; the segment's switch learns the containers' MACs");

registerPart(macvlanPart, { rank: 100 });
