/**
 * A device that shares its lower device's MAC and is told apart by its IP addresses (`link
 * eth0 type ipvlan mode l2`): the ipvlan driver's container interface. l2 switches by the
 * destination address among the devices on the lower, and takes part in ARP; l3 routes
 * through the lower's namespace and answers no ARP.
 */
import { registerStackedKind } from './index';
import { stackedKind } from './link';

export type IpvlanMode = 'l2' | 'l3';

declare module './index' {
  interface StackedKindAttrs {
    ipvlan: { mode: IpvlanMode };
  }
}

export const ipvlanKind = stackedKind<{ mode: IpvlanMode }>((k) => ['mode', k.mode]);

registerStackedKind('ipvlan', ipvlanKind);
