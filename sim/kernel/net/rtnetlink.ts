/**
 * net/core/rtnetlink.c's rtnl_link_register: device types a module brings (Open vSwitch's
 * internal device), registered with their transmit as the module loads, so the datapath's
 * ops table, `LinkType` and `ip link` take them in without naming them: each module adds its
 * type to `RegisteredLinkTypes` (objects.ts) by merging and calls `registerLinkType`.
 */
import type { LinkType, ModuleLinkType } from '../objects';
import type { NetDeviceOps } from './dev';

export interface ModuleLinkTypeSpec {
  /** Its transmit (ndo_start_xmit). */
  readonly ops: NetDeviceOps;
  /** It reports no operational state of its own (`ip link`'s state UNKNOWN while up), as a vxlan device does not. */
  readonly noOperstate: boolean;
}

const LINK_TYPES: Partial<Record<ModuleLinkType, ModuleLinkTypeSpec>> = {};

/** Called by a module as it loads. */
export function registerLinkType(type: ModuleLinkType, spec: ModuleLinkTypeSpec): void {
  LINK_TYPES[type] = spec;
}

/** A module's device type, if `type` is one. */
export function moduleLinkType(type: LinkType): ModuleLinkTypeSpec | undefined {
  return (LINK_TYPES as Partial<Record<LinkType, ModuleLinkTypeSpec>>)[type];
}

/** Each registered type's transmit, for the datapath's ops table (read when a datapath is made, after the modules loaded). */
export function moduleLinkOps(): Record<ModuleLinkType, NetDeviceOps> {
  const out = {} as Record<ModuleLinkType, NetDeviceOps>;
  for (const [type, spec] of Object.entries(LINK_TYPES) as [ModuleLinkType, ModuleLinkTypeSpec][]) out[type] = spec.ops;
  return out;
}
