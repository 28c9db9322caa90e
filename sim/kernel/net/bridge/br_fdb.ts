/** net/bridge/br_fdb.c: the bridge's forwarding table: learning, lookup, ageing. */
import type { Datapath } from '../../datapath';
import type { BridgeFdbEntry, SimLink } from '../../objects';

/** The bridge's default ageing_time (300 s; `ip -d link` shows it in centiseconds). */
const BRIDGE_AGEING_NS = 300_000_000_000;

/** br_fdb_find, with br_fdb_cleanup's rule: a learned entry not refreshed for the ageing time is gone. */
export function bridgeLookup(dp: Datapath, br: SimLink, mac: string): BridgeFdbEntry | undefined {
  const e = br.fdb.get(mac);
  if (e && !e.local && dp.clock.now - e.updatedNs > BRIDGE_AGEING_NS) {
    br.fdb.delete(mac);
    return undefined;
  }
  return e;
}

/** br_fdb_update: the bridge learns (or refreshes) where a source MAC lives; its own ports' addresses stay put. */
export function learn(dp: Datapath, br: SimLink, mac: string, port: SimLink): void {
  const e = br.fdb.get(mac);
  if (e?.local) return;
  if (e?.port === port) e.updatedNs = dp.clock.now;
  else br.fdb.set(mac, { port, local: false, updatedNs: dp.clock.now });
}
