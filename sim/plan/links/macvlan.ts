/** A device with a MAC of its own on a lower device (`link eth0 type macvlan mode bridge`): the macvlan driver's container interface. */
import { registerStackedKind } from './index';
import { stackedKind } from './link';

export type MacvlanMode = 'bridge' | 'private' | 'vepa' | 'passthru';

declare module './index' {
  interface StackedKindAttrs {
    macvlan: { mode: MacvlanMode };
  }
}

export const macvlanKind = stackedKind<{ mode: MacvlanMode }>((k) => ['mode', k.mode]);

registerStackedKind('macvlan', macvlanKind);
