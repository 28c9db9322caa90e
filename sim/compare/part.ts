/**
 * `cnmlab compare`: the same two containers on two hosts and the same ping, once per
 * network driver. Each driver provides its part (this interface, one file each beside this
 * one, one line in ./index.ts): how its lab is set up on two hosts, and what the trace
 * cannot tell (where its peers' entries come from).
 */

/** A step of a driver's lab: on a host (`host: 0|1`, the first or second of the lab) or in a container. */
export interface PartStep {
  on: { host: 0 | 1 } | { container: string };
  command: string;
}

export interface LabHost {
  name: string;
  underlay: string;
}

export interface ComparePart {
  /** As `--drivers` names it. */
  id: string;
  /** One line: what it is. */
  title: string;
  /** Setup on two hosts ending with container c0 on the first and c1 on the second, both running. */
  setup(hosts: readonly [LabHost, LabHost]): PartStep[];
  /** Where a host's entries or routes for its peers come from (the control plane). */
  peersFrom: string;
  /** The containers' interface on the compared network, when not eth0 (weave's ethwe0). */
  iface?: string;
}

/** The two containers every part makes. */
export const PINGER = 'c0';
export const TARGET = 'c1';

/**
 * A stacked driver's part (macvlan, ipvlan): a network `name` of `driver` on each host's eth0 (two
 * local networks, one /24, the addresses given so the two daemons do not hand out the same
 * one), c0 on the first host and c1 on the second. No control plane.
 */
export function stackedPart(driver: string, name: string, subnet24: string, title: string, peersFrom: string): ComparePart {
  const prefix = subnet24.slice(0, subnet24.lastIndexOf('.') + 1);
  const network = `docker network create -d ${driver} --subnet ${subnet24}/24 -o parent=eth0 ${name}`;
  return {
    id: driver,
    title,
    setup: () => [
      { on: { host: 0 }, command: network },
      { on: { host: 1 }, command: network },
      { on: { host: 0 }, command: `docker run -dit --name ${PINGER} --network ${name} --ip ${prefix}2 busybox` },
      { on: { host: 1 }, command: `docker run -dit --name ${TARGET} --network ${name} --ip ${prefix}3 busybox` },
    ],
    peersFrom,
  };
}
