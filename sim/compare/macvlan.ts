/**
 * Docker's macvlan driver in `cnmlab compare`: a macvlan network on each host's eth0 (two
 * local networks, one subnet, the addresses given so the two daemons do not hand out the same
 * one), a container on each. No control plane: the hosts' switch learns each container's MAC.
 */
import { registerPart } from './index';
import { ComparePart } from './part';

const NETWORK = 'docker network create -d macvlan --subnet 10.9.0.0/24 -o parent=eth0 mv';

export const macvlanPart: ComparePart = {
  id: 'macvlan',
  title: "Docker's macvlan (bridge mode on each host's eth0, the containers' frames straight on the segment)",
  setup: () => [
    { on: { host: 0 }, command: NETWORK },
    { on: { host: 1 }, command: NETWORK },
    { on: { host: 0 }, command: 'docker run -dit --name c0 --network mv --ip 10.9.0.2 busybox' },
    { on: { host: 1 }, command: 'docker run -dit --name c1 --network mv --ip 10.9.0.3 busybox' },
  ],
  peersFrom: "none: each daemon's network is its own; the segment's switch learns the containers' MACs",
};

registerPart(macvlanPart);
