/**
 * net/bridge/br_if.c: a bridge's MTU follows its ports (br_mtu_auto_adjust, on every port
 * added or removed and every port's MTU change): the lowest of them, 1500 with none, unless
 * someone set the bridge's own MTU (BROPT_MTU_SET_BY_USER). A bridge made with an MTU has
 * it written at creation, not set, so it still follows its ports.
 */
import type { SimLink } from '../../objects';
import { devSetMtu } from '../dev';

const ETH_DATA_LEN = 1500;

export function brMtuAutoAdjust(br: SimLink): void {
  if (br.mtuSetByUser) return;
  let mtu = 0;
  for (const p of br.ports) if (!mtu || p.mtu < mtu) mtu = p.mtu;
  const want = mtu || ETH_DATA_LEN;
  if (br.mtu !== want) devSetMtu(br, want);
}
