/**
 * The registry of link kinds made on a lower device: a kind is its module here and its line
 * in STACKED_KINDS. `LinkKind` (ops.ts) takes in every registered kind, and the one
 * iproute2 rendering (iproute2.ts) renders each by its spec; the sim kernel makes each by
 * its device module's line in `sim/kernel/net/stacked.ts`, a table typed over these kinds.
 */
import type { StackedKindSpec } from './link';
import { ipvlanKind } from './ipvlan';
import { macvlanKind } from './macvlan';

const STACKED_KINDS = {
  macvlan: macvlanKind,
  ipvlan: ipvlanKind,
} as const;

export type StackedType = keyof typeof STACKED_KINDS;

type AttrsOf<S> = S extends StackedKindSpec<infer A> ? A : never;
type StackedAttrs = { [K in StackedType]: AttrsOf<(typeof STACKED_KINDS)[K]> };

/** A link kind of type K: its lower device (`parent`) and its own attributes. */
export type StackedKindOf<K extends StackedType> = { type: K; parent: string } & StackedAttrs[K];
export type StackedKind = { [K in StackedType]: StackedKindOf<K> }[StackedType];

const SPECS: { [K in StackedType]: StackedKindSpec<StackedAttrs[K]> } = STACKED_KINDS;

function isStackedType(type: string): type is StackedType {
  return Object.hasOwn(STACKED_KINDS, type);
}

export function isStackedKind(k: { type: string }): k is StackedKind {
  return isStackedType(k.type);
}

/** The words after `type KIND` (the kind named, then its attributes). */
export function stackedArgs<K extends StackedType>(k: StackedKindOf<K>): string[] {
  const spec: StackedKindSpec<StackedAttrs[K]> = SPECS[k.type];
  return [k.type, ...spec.args(k)];
}

/** Every registered kind (the table test renders each). */
export function stackedTypes(): StackedType[] {
  return Object.keys(STACKED_KINDS).filter(isStackedType);
}
