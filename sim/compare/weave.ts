/** Weave Net in `cnmlab compare`: weave launch on each host (the second naming the first), a container on each on the plugin's network weave. */
import { ComparePart, LabHost } from './part';

export const weaveSleevePart: ComparePart = {
  id: 'weave-sleeve',
  title: "Weave Net's sleeve datapath (the routers relay frames in UDP 6783; one Ethernet segment across the mesh)",
  setup: (hosts: readonly [LabHost, LabHost]) => [
    { on: { host: 0 }, command: 'weave launch --no-fastdp' },
    { on: { host: 1 }, command: `weave launch --no-fastdp ${hosts[0].underlay}` },
    { on: { host: 0 }, command: 'docker run -dit --name c0 --net=weave busybox' },
    { on: { host: 1 }, command: 'docker run -dit --name c1 --net=weave busybox' },
  ],
  peersFrom: "the data plane: each router learns a MAC's peer from the frames (what is unknown is flooded to every peer); the mesh's gossip on TCP 6783 only names the peers",
  iface: 'ethwe0',
};
