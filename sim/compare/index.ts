/**
 * The drivers `cnmlab compare` knows: each one's part is its own file here. A part registers
 * itself as it loads (`registerPart`), which is all that names it (`--drivers`' list is
 * `compared()`, read off the parts); what loads it is its driver's registration line
 * (`sim/drivers/index.ts`).
 */
import { RankedRegistry } from '../registry/ranked';
import { ComparePart } from './part';

const REGISTERED = new RankedRegistry<ComparePart>('comparison part');

/**
 * Called by a part's module as it loads: the table then has its column, placed by `rank`
 * (lowest first), so the columns' order is stated, not the order modules loaded in.
 */
export function registerPart(part: ComparePart, { rank }: { rank: number }): void {
  REGISTERED.register(part.id, part, rank);
}

/** The drivers of the comparison, in the order the table lists them. */
export function compared(): readonly string[] {
  return REGISTERED.list().map((p) => p.id);
}

export function comparePart(id: string): ComparePart | undefined {
  return REGISTERED.get(id);
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
