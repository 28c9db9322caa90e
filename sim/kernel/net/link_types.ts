/**
 * Device types a module brings (rtnl_link_register of a module's own kind: Open vSwitch's
 * internal device), registered with their transmit as the module loads, so the datapath's
 * ops table and `LinkType` take them in without naming them: each module adds its type to
 * `RegisteredLinkTypes` (objects.ts) by merging and calls `registerLinkType`.
 */
import type { ModuleLinkType } from '../objects';
import type { NetDeviceOps } from './dev';

const LINK_TYPES: Partial<Record<ModuleLinkType, NetDeviceOps>> = {};

/** Called by a module as it loads. */
export function registerLinkType(type: ModuleLinkType, ops: NetDeviceOps): void {
  LINK_TYPES[type] = ops;
}

/** Each registered type's transmit, for the datapath's ops table (read when a datapath is made, after the modules loaded). */
export function moduleLinkOps(): Record<ModuleLinkType, NetDeviceOps> {
  const out = {} as Record<ModuleLinkType, NetDeviceOps>;
  for (const [type, ops] of Object.entries(LINK_TYPES) as [ModuleLinkType, NetDeviceOps][]) out[type] = ops;
  return out;
}
