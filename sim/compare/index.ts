/**
 * The drivers `cnmlab compare` knows: each one's part is its own file here. A part registers
 * itself as it loads (`registerPart`), which is all that names it (`--drivers`' list is
 * `compared()`, read off the parts); what loads it is its driver's registration line
 * (`sim/drivers/index.ts`). The parts in PARTS below predate that and are listed here.
 */
import { calicoBgpPart, calicoIpipPart, calicoVxlanPart } from './calico';
import { flannelHostGwPart, flannelVxlanPart } from './flannel';
import { overlayPart } from './overlay';
import { overlayKvPart } from './overlay-kv';
import { ComparePart } from './part';
import { weaveFastdpPart, weaveSleevePart } from './weave';

const PARTS: readonly ComparePart[] = [
  overlayPart,
  overlayKvPart,
  flannelVxlanPart,
  flannelHostGwPart,
  calicoBgpPart,
  calicoIpipPart,
  calicoVxlanPart,
  weaveFastdpPart,
  weaveSleevePart,
];

const REGISTERED: ComparePart[] = [];

/** Called by a part's module as it loads: the table then has its column, after those before it. */
export function registerPart(part: ComparePart): void {
  REGISTERED.push(part);
}

function parts(): readonly ComparePart[] {
  return [...PARTS, ...REGISTERED];
}

/** The drivers of the comparison, in the order the table lists them. */
export function compared(): readonly string[] {
  return parts().map((p) => p.id);
}

export function comparePart(id: string): ComparePart | undefined {
  return parts().find((p) => p.id === id);
}

/** The parts for a `--drivers` list, or the one-line refusal naming the unknown driver. */
export function partsFor(list: string): ComparePart[] | string {
  const ids = list.split(',').map((s) => s.trim()).filter(Boolean);
  if (ids.length === 0) return '--drivers: expected a comma-separated list of drivers';
  const parts: ComparePart[] = [];
  for (const id of ids) {
    const part = comparePart(id);
    if (part) {
      parts.push(part);
      continue;
    }
    return `--drivers: unknown driver ${JSON.stringify(id)} (expected some of ${compared().join(', ')})`;
  }
  return parts;
}
