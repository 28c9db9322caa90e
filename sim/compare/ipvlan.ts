/**
 * Docker's ipvlan driver in `cnmlab compare`: an ipvlan network (l2) on each host's eth0 (two
 * local networks, one subnet, the addresses given so the two daemons do not hand out the same
 * one), a container on each. No control plane, and nothing for the switch to learn: the
 * containers' frames carry their hosts' MACs. l3 mode has no part: across hosts its packets
 * need each host's route to the other's container subnet, which libnetwork does not add and
 * cnmlab models no command to add (a host's `ip route add`), so its ping would only be lost.
 */
import { registerPart } from './index';
import { ComparePart } from './part';

const NETWORK = 'docker network create -d ipvlan --subnet 10.9.1.0/24 -o parent=eth0 iv';

export const ipvlanPart: ComparePart = {
  id: 'ipvlan',
  title: "Docker's ipvlan (l2 mode on each host's eth0: the containers share its MAC, their frames straight on the segment)",
  setup: () => [
    { on: { host: 0 }, command: NETWORK },
    { on: { host: 1 }, command: NETWORK },
    { on: { host: 0 }, command: 'docker run -dit --name c0 --network iv --ip 10.9.1.2 busybox' },
    { on: { host: 1 }, command: 'docker run -dit --name c1 --network iv --ip 10.9.1.3 busybox' },
  ],
  peersFrom: "none: each daemon's network is its own; each host's eth0 hands a frame to the ipvlan holding its destination address",
};

registerPart(ipvlanPart);
