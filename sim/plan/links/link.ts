/**
 * A link kind made on a lower device (`ip link add NAME link PARENT type KIND …`, IFLA_LINK):
 * what a kind's module states, its attributes and the words iproute2 takes them in.
 */
export interface StackedKindSpec<Attrs> {
  /** The words after `type KIND` that give the attributes. */
  args(attrs: Attrs): string[];
}

/** A kind's spec, typed by its attributes (the registry reads them back from it). */
export function stackedKind<Attrs>(args: (attrs: Attrs) => string[]): StackedKindSpec<Attrs> {
  return { args };
}
