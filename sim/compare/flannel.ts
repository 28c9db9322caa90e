/** Flannel beside Docker in `cnmlab compare`: the config in etcd, flanneld and dockerd's restart on each host, a container on docker0. */
import { registerPart } from './index';
import { ComparePart } from './part';

function flannelPart(backend: 'vxlan' | 'host-gw', title: string): ComparePart {
  return {
    id: `flannel-${backend}`,
    title,
    setup: () => [
      { on: { host: 0 }, command: `etcdctl put /coreos.com/network/config '{"Network":"10.5.0.0/16","Backend":{"Type":"${backend}"}}'` },
      { on: { host: 0 }, command: 'flanneld' },
      { on: { host: 1 }, command: 'flanneld' },
      { on: { host: 0 }, command: 'systemctl restart docker' },
      { on: { host: 1 }, command: 'systemctl restart docker' },
      { on: { host: 0 }, command: 'docker run -dit --name c0 busybox' },
      { on: { host: 1 }, command: 'docker run -dit --name c1 busybox' },
    ],
    peersFrom: 'etcd (flanneld watches /coreos.com/network/subnets: each host\'s lease)',
  };
}

export const flannelVxlanPart = flannelPart('vxlan', "Flannel's vxlan backend (flannel.1, routed by each host)");
export const flannelHostGwPart = flannelPart('host-gw', "Flannel's host-gw backend (routes via the peer's address, no tunnel)");

registerPart(flannelVxlanPart, { rank: 30 });
registerPart(flannelHostGwPart, { rank: 40 });
