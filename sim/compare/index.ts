/**
 * The drivers `cnmlab compare` knows: each one's part is its own file here and its line in
 * PARTS, which is all that names it (`--drivers`' list is COMPARED, read off PARTS).
 */
import { calicoBgpPart, calicoIpipPart, calicoVxlanPart } from './calico';
import { flannelHostGwPart, flannelVxlanPart } from './flannel';
import { ipvlanPart } from './ipvlan';
import { macvlanPart } from './macvlan';
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
  macvlanPart,
  ipvlanPart,
];

/** The drivers of the comparison, in the order the table lists them. */
export const COMPARED: readonly string[] = PARTS.map((p) => p.id);

export function comparePart(id: string): ComparePart | undefined {
  return PARTS.find((p) => p.id === id);
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
    return `--drivers: unknown driver ${JSON.stringify(id)} (expected some of ${COMPARED.join(', ')})`;
  }
  return parts;
}
