/**
 * The sim kernel's devices made on a lower device (rtnl_link_ops of macvlan, ipvlan…): each
 * kind's device module provides its transmit and its newlink, registered by its line in
 * STACKED_DEVICES. The table is typed over the plan's registered kinds
 * (`sim/plan/links/index.ts`), so a kind registered there does not compile without its
 * device here.
 */
import type { StackedKindOf, StackedType } from '../../plan/links';
import type { SimLink } from '../objects';
import type { NetDeviceOps } from './dev';
import { ipvlanDevice } from './ipvlan';
import { macvlanDevice } from './macvlan';

export interface StackedDevice<K extends StackedType> {
  /** Its transmit (ndo_start_xmit). */
  readonly ops: NetDeviceOps;
  /** Whether its devices take their lower device's MAC (ipvlan's do) rather than one of their own. */
  readonly lowerMac?: boolean;
  /** newlink: `dev`, just made, becomes a device of this kind on `lower`. */
  newlink(dev: SimLink, lower: SimLink, kind: StackedKindOf<K>): void;
}

const STACKED_DEVICES: { [K in StackedType]: StackedDevice<K> } = {
  macvlan: macvlanDevice,
  ipvlan: ipvlanDevice,
};

export function stackedDevice<K extends StackedType>(type: K): StackedDevice<K> {
  return STACKED_DEVICES[type];
}

/** Each kind's transmit, for the datapath's ops table. */
export function stackedOps(): Record<StackedType, NetDeviceOps> {
  const out = {} as Record<StackedType, NetDeviceOps>;
  for (const [type, device] of Object.entries(STACKED_DEVICES) as [StackedType, StackedDevice<StackedType>][]) out[type] = device.ops;
  return out;
}
