/**
 * Docker's ipvlan driver in `cnmlab compare`, in each of its modes. l2: an ipvlan network on
 * each host's eth0 in one subnet, a container on each; nothing for the switch to learn, the
 * containers' frames carry their hosts' MACs. l3: a container subnet per host, and each
 * host's route to the other's (libnetwork adds none: the user does, `ip route add SUBNET via
 * PEER`), so the host's namespace routes what its containers send. l3s (l3 with netfilter in
 * the host's namespace) is not modelled, so it has no part.
 */
import { registerPart } from './index';
import { ComparePart, PINGER, stackedPart, TARGET } from './part';

export const ipvlanPart = stackedPart('ipvlan', 'iv', '10.9.1.0',
  "Docker's ipvlan (l2 mode on each host's eth0: the containers share its MAC, their frames straight on the segment)",
  "none: each daemon's network is its own; each host's eth0 hands a frame to the ipvlan holding its destination address");

/** Each host's container subnet in l3 mode (/24s): the first host's, the second's. */
const L3_SUBNETS = ['10.9.2', '10.9.3'] as const;

export const ipvlanL3Part: ComparePart = {
  id: 'ipvlan-l3',
  title: "Docker's ipvlan in l3 mode (each host's eth0, a container subnet per host: NOARP containers, the host's namespace routes their packets)",
  setup: (hosts) => {
    const network = (subnet: string) => `docker network create -d ipvlan -o ipvlan_mode=l3 --subnet ${subnet}.0/24 -o parent=eth0 iv3`;
    return [
      { on: { host: 0 }, command: network(L3_SUBNETS[0]) },
      { on: { host: 1 }, command: network(L3_SUBNETS[1]) },
      { on: { host: 0 }, command: `ip route add ${L3_SUBNETS[1]}.0/24 via ${hosts[1].underlay}` },
      { on: { host: 1 }, command: `ip route add ${L3_SUBNETS[0]}.0/24 via ${hosts[0].underlay}` },
      { on: { host: 0 }, command: `docker run -dit --name ${PINGER} --network iv3 --ip ${L3_SUBNETS[0]}.2 busybox` },
      { on: { host: 1 }, command: `docker run -dit --name ${TARGET} --network iv3 --ip ${L3_SUBNETS[1]}.3 busybox` },
    ];
  },
  peersFrom: "the user's routes: `ip route add` on each host to the other's container subnet via its address (libnetwork adds none); each host's eth0 hands a packet to the ipvlan holding its destination address",
};

registerPart(ipvlanPart, { rank: 110 });
registerPart(ipvlanL3Part, { rank: 120 });
