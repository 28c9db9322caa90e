/** A device with a MAC of its own on a lower device (`link eth0 type macvlan mode bridge`): the macvlan driver's container interface. */
import { stackedKind } from './link';

export type MacvlanMode = 'bridge' | 'private' | 'vepa' | 'passthru';

export const macvlanKind = stackedKind<{ mode: MacvlanMode }>((k) => ['mode', k.mode]);
