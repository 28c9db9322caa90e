/** Docker's classic overlay in `cnmlab compare`: both dockerds on one cluster store, a global-scope overlay, a container on each host. */
import { ComparePart } from './part';

export const overlayKvPart: ComparePart = {
  id: 'overlay-kv',
  title: "Docker's overlay with a cluster store (classic mode, no swarm: VXLAN in the overlay namespace's br0)",
  setup: ([store]) => [
    { on: { host: 0 }, command: `dockerd --cluster-store=etcd://${store.underlay}:2379 --cluster-advertise=eth0:2376` },
    { on: { host: 1 }, command: `dockerd --cluster-store=etcd://${store.underlay}:2379 --cluster-advertise=eth0:2376` },
    { on: { host: 0 }, command: 'docker network create -d overlay net1' },
    { on: { host: 0 }, command: 'docker run -dit --name c0 --net net1 busybox' },
    { on: { host: 1 }, command: 'docker run -dit --name c1 --net net1 busybox' },
  ],
  peersFrom: "serf between the dockerds (events on UDP/TCP 7946; a miss asks the cluster, peerlookup); the store holds networks, endpoints and the VNI",
};
