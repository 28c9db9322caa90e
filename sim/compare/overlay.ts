/** Docker's overlay in `cnmlab compare`: a swarm, one attachable overlay, a container on each node. */
import { registerPart } from './index';
import { overlayKvPart } from './overlay-kv';
import { ComparePart } from './part';

export const overlayPart: ComparePart = {
  id: 'overlay',
  title: "Docker's overlay (swarm, VXLAN in the overlay namespace's br0)",
  setup: ([manager]) => [
    { on: { host: 0 }, command: 'docker swarm init' },
    { on: { host: 1 }, command: `docker swarm join --token <...> ${manager.underlay}:2377` },
    { on: { host: 0 }, command: 'docker network create --driver=overlay --attachable net1' },
    { on: { host: 0 }, command: 'docker run -dit --name c0 --network net1 busybox' },
    { on: { host: 1 }, command: 'docker run -dit --name c1 --network net1 busybox' },
  ],
  peersFrom: "gossip (NetworkDB: each node's endpoints, over the swarm's TCP/UDP 7946)",
};

registerPart(overlayPart, { rank: 10 });
// Docker's classic overlay is the same driver (`-d overlay` on dockerds sharing a cluster
// store), so its part registers with the overlay's.
registerPart(overlayKvPart, { rank: 20 });
