/**
 * net/core/rtnetlink.c's rtnl_link_register: device types a module brings (Open vSwitch's
 * internal device), registered with their transmit as the module loads, so the datapath's
 * ops table, `LinkType` and `ip link` take them in without naming them: each module adds its
 * type to `RegisteredLinkTypes` (objects.ts) by merging and calls `registerLinkType`.
 */
import type { LinkType, ModuleLinkType, SimLink } from '../objects';
import type { NetDeviceOps } from './dev';
import { RankedRegistry } from '../../registry/ranked';

export interface ModuleLinkTypeSpec {
  /** Its transmit (ndo_start_xmit). */
  readonly ops: NetDeviceOps;
  /** It reports no operational state of its own (`ip link`'s state UNKNOWN while up), as a vxlan device does not. */
  readonly noOperstate: boolean;
  /**
   * What the module undoes as one of its devices is deleted (its unregister path): it lets go
   * of what the device held and returns the devices that go with it, which the kernel deletes.
   */
  readonly dellink?: (dev: SimLink) => SimLink[];
}

const LINK_TYPES = new RankedRegistry<{ type: ModuleLinkType; spec: ModuleLinkTypeSpec }>('link type');

/** Called by a module as it loads; a type registered twice is refused (rtnl_link_register's EEXIST). `rank` orders the types, whatever order the modules loaded in. */
export function registerLinkType(type: ModuleLinkType, spec: ModuleLinkTypeSpec, { rank }: { rank: number }): void {
  LINK_TYPES.register(type, { type, spec }, rank);
}

/** A module's device type, if `type` is one. */
export function moduleLinkType(type: LinkType): ModuleLinkTypeSpec | undefined {
  return LINK_TYPES.get(type)?.spec;
}

/** Each registered type's transmit, by rank, for the datapath's ops table (read when a datapath is made, after the modules loaded). */
export function moduleLinkOps(): Record<ModuleLinkType, NetDeviceOps> {
  return Object.fromEntries(LINK_TYPES.list().map(({ type, spec }) => [type, spec.ops])) as Record<ModuleLinkType, NetDeviceOps>;
}
