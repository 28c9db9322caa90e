/**
 * Calico's two-host lab for tests: each host's calico/node, a calico network with its own
 * IPAM, c0 on r0 and c1 on r1. `mode` is the pool's encapsulation (bgp: none); `extra` is
 * the steps that follow, each line ending in a newline.
 */
export const calicoLab = (mode: 'bgp' | 'ipip' | 'vxlan', extra = '') => `name: calico-${mode}
hosts:
  r0: {}
  r1: {}
steps:
  - r0: calicoctl node run --name r0 --ip 198.51.100.10
  - r1: calicoctl node run --name r1 --ip 198.51.100.11
${mode === 'bgp' ? '' : `  - r0: calicoctl patch ippool default-ipv4-ippool -p '{"spec":{"${mode}Mode":"Always"}}'\n`}  - r0: docker network create --driver calico --ipam-driver calico-ipam net1
  - r0: docker run -dit --name c0 --net net1 ubuntu:14.04
  - r1: docker run -dit --name c1 --net net1 ubuntu:14.04
${extra}`;
