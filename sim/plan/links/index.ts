/**
 * The registry of link kinds made on a lower device. A kind's module (`sim/plan/links/<kind>.ts`,
 * its driver's own file) registers its spec as it loads (`registerStackedKind`) and adds its
 * attributes to `StackedKindAttrs` by declaration merging, so `LinkKind` (ops.ts) takes in
 * every kind whose module is part of the program without a line here. The one iproute2
 * rendering (iproute2.ts) renders each by its spec; the sim kernel makes each by the device
 * its kernel module registers (`sim/kernel/net/stacked.ts`). What loads the modules is the
 * driver's registration line (`sim/drivers/index.ts`).
 */
import type { StackedKindSpec } from './link';

/**
 * Each registered kind's attributes by its name, as its module declares them
 * (`declare module './index' { interface StackedKindAttrs { KIND: { … } } }`).
 */
export interface StackedKindAttrs {}

export type StackedType = keyof StackedKindAttrs;

/** A link kind of type K: its lower device (`parent`) and its own attributes. */
export type StackedKindOf<K extends StackedType> = { type: K; parent: string } & StackedKindAttrs[K];
export type StackedKind = { [K in StackedType]: StackedKindOf<K> }[StackedType];

const SPECS: { [K in StackedType]?: StackedKindSpec<StackedKindAttrs[K]> } = {};

/** Called by a kind's module as it loads: `type` is then a link kind `ip link add … type` renders. */
export function registerStackedKind<K extends StackedType>(type: K, spec: StackedKindSpec<StackedKindAttrs[K]>): void {
  // Written through K's own slot: TypeScript cannot write a generic key of a mapped type.
  (SPECS as { [P in K]?: StackedKindSpec<StackedKindAttrs[K]> })[type] = spec;
}

function isStackedType(type: string): type is StackedType {
  return Object.hasOwn(SPECS, type);
}

export function isStackedKind(k: { type: string }): k is StackedKind {
  return isStackedType(k.type);
}

/** The words after `type KIND` (the kind named, then its attributes). */
export function stackedArgs<K extends StackedType>(k: StackedKindOf<K>): string[] {
  const spec = SPECS[k.type];
  if (!spec) throw new Error(`link kind ${k.type} is not registered: its driver's registration line (sim/drivers/index.ts) was not loaded`);
  return [k.type, ...spec.args(k)];
}

/** Every registered kind, in the order they registered (the table test renders each). */
export function stackedTypes(): StackedType[] {
  return Object.keys(SPECS).filter(isStackedType);
}
