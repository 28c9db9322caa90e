/**
 * The sim kernel's devices made on a lower device (rtnl_link_ops of macvlan, ipvlan…): each
 * kind's device module (`sim/kernel/net/<kind>.ts`, its driver's own file) provides its
 * transmit and its newlink and registers them as it loads (`registerStackedDevice`), as a
 * Linux module registers its rtnl_link_ops. The table is typed over the plan's kinds
 * (`sim/plan/links/index.ts`); `test/driver-registration.test.ts` fails, naming it, on a
 * registered kind whose device did not register.
 */
import type { StackedKindOf, StackedType } from '../../plan/links';
import type { SimLink } from '../objects';
import type { NetDeviceOps } from './dev';

export interface StackedDevice<K extends StackedType> {
  /** Its transmit (ndo_start_xmit). */
  readonly ops: NetDeviceOps;
  /** Whether its devices take their lower device's MAC (ipvlan's do) rather than one of their own. */
  readonly lowerMac?: boolean;
  /** newlink: `dev`, just made, becomes a device of this kind on `lower`. */
  newlink(dev: SimLink, lower: SimLink, kind: StackedKindOf<K>): void;
}

const STACKED_DEVICES: { [K in StackedType]?: StackedDevice<K> } = {};

/** Called by a kind's device module as it loads (rtnl_link_register). */
export function registerStackedDevice<K extends StackedType>(type: K, device: StackedDevice<K>): void {
  // Written through K's own slot: TypeScript cannot write a generic key of a mapped type.
  (STACKED_DEVICES as { [P in K]?: StackedDevice<K> })[type] = device;
}

/** Whether the kind's device registered (the registration test names a kind without one). */
export function hasStackedDevice(type: StackedType): boolean {
  return STACKED_DEVICES[type] !== undefined;
}

export function stackedDevice<K extends StackedType>(type: K): StackedDevice<K> {
  const device = STACKED_DEVICES[type];
  if (!device) throw new Error(`the sim kernel has no device for link kind ${type}: its driver's registration line (sim/drivers/index.ts) was not loaded`);
  return device;
}

/** Each kind's transmit, for the datapath's ops table. */
export function stackedOps(): Record<StackedType, NetDeviceOps> {
  const out = {} as Record<StackedType, NetDeviceOps>;
  for (const [type, device] of Object.entries(STACKED_DEVICES) as [StackedType, StackedDevice<StackedType>][]) out[type] = device.ops;
  return out;
}
