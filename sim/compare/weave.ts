/** Weave Net in `cnmlab compare`: weave launch on each host (the second naming the first), a container on each on the plugin's network weave. */
import { registerPart } from './index';
import { ComparePart, LabHost } from './part';

function weavePart(datapath: 'fastdp' | 'sleeve', title: string, peersFrom: string): ComparePart {
  const flag = datapath === 'sleeve' ? ' --no-fastdp' : '';
  return {
    id: `weave-${datapath}`,
    title,
    setup: (hosts: readonly [LabHost, LabHost]) => [
      { on: { host: 0 }, command: `weave launch${flag}` },
      { on: { host: 1 }, command: `weave launch${flag} ${hosts[0].underlay}` },
      { on: { host: 0 }, command: 'docker run -dit --name c0 --net=weave busybox' },
      { on: { host: 1 }, command: 'docker run -dit --name c1 --net=weave busybox' },
    ],
    peersFrom,
    iface: 'ethwe0',
  };
}

const LEARNED = "the data plane: each router learns a MAC's peer from the frames (what is unknown is flooded to every peer); the mesh's gossip on TCP 6783 only names the peers";

export const weaveFastdpPart = weavePart('fastdp', "Weave Net's fast datapath (Open vSwitch flows the router installs on a miss; VXLAN on UDP 6784, the VNI made of the peers' short ids)", `${LEARNED}; the router installs each flow in the kernel datapath`);
export const weaveSleevePart = weavePart('sleeve', "Weave Net's sleeve datapath (the routers relay frames in UDP 6783; one Ethernet segment across the mesh)", LEARNED);

registerPart(weaveFastdpPart, { rank: 80 });
registerPart(weaveSleevePart, { rank: 90 });
