/** Calico beside Docker in `cnmlab compare`: calico/node on each host, the pool's encapsulation, a Calico network, a container on each host. */
import { registerPart } from './index';
import { ComparePart, LabHost } from './part';

function calicoPart(mode: 'bgp' | 'ipip' | 'vxlan', title: string, peersFrom: string): ComparePart {
  const patch = mode === 'bgp' ? [] : [{ on: { host: 0 as const }, command: `calicoctl patch ippool default-ipv4-ippool -p '{"spec":{"${mode}Mode":"Always"}}'` }];
  return {
    id: `calico-${mode}`,
    title,
    setup: (hosts: readonly [LabHost, LabHost]) => [
      { on: { host: 0 }, command: `calicoctl node run --name ${hosts[0].name} --ip ${hosts[0].underlay}` },
      { on: { host: 1 }, command: `calicoctl node run --name ${hosts[1].name} --ip ${hosts[1].underlay}` },
      ...patch,
      { on: { host: 0 }, command: 'docker network create --driver calico --ipam-driver calico-ipam net1' },
      { on: { host: 0 }, command: 'docker run -dit --name c0 --net net1 ubuntu:14.04' },
      { on: { host: 1 }, command: 'docker run -dit --name c1 --net net1 ubuntu:14.04' },
    ],
    peersFrom,
  };
}

const BGP = "BGP (BIRD's node-to-node mesh, AS 64512, TCP 179: each host announces its /26 block)";

export const calicoBgpPart = calicoPart('bgp', 'Calico without encapsulation (routes to the peer\'s block via its address, learned over BGP)', BGP);
export const calicoIpipPart = calicoPart('ipip', 'Calico over IP-in-IP (tunl0, onlink routes via the peer)', BGP);
export const calicoVxlanPart = calicoPart('vxlan', 'Calico over VXLAN (vxlan.calico, VNI 4096, UDP 4789)', "the datastore (Felix programs each peer's VTEP: neighbour, FDB entry, onlink route)");

registerPart(calicoBgpPart, { rank: 50 });
registerPart(calicoIpipPart, { rank: 60 });
registerPart(calicoVxlanPart, { rank: 70 });
