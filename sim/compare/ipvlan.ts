/**
 * Docker's ipvlan driver in `cnmlab compare`: an ipvlan network (l2) on each host's eth0, a
 * container on each. Nothing for the switch to learn: the containers' frames carry their
 * hosts' MACs. l3 mode has no part: across hosts its packets need each host's route to the
 * other's container subnet, which libnetwork does not add and cnmlab models no command to add
 * (a host's `ip route add`), so its ping would only be lost.
 */
import { registerPart } from './index';
import { stackedPart } from './part';

export const ipvlanPart = stackedPart('ipvlan', 'iv', '10.9.1.0',
  "Docker's ipvlan (l2 mode on each host's eth0: the containers share its MAC, their frames straight on the segment)",
  "none: each daemon's network is its own; each host's eth0 hands a frame to the ipvlan holding its destination address");

registerPart(ipvlanPart);
