/** The comparison as one table (a row per driver) and as a bundle of traces that viz draws one tab each. */
import { tabwrite } from '../text/tabwriter';
import { Trace } from '../trace/types';
import { CompareLab, DriverFacts } from './measure';

export const COMPARE_FORMAT = 'cnmlab-compare/1';

/** What `cnmlab compare --trace` writes and `cnmlab viz` reads: each driver's run, its trace whole. */
export interface CompareBundle {
  format: typeof COMPARE_FORMAT;
  lab: { file: string; hosts: { name: string; underlay: string }[] };
  mode: 'sim' | 'emu';
  runs: { driver: string; title: string; ok: boolean; trace: Trace; flow?: string }[];
}

export function compareBundle(lab: CompareLab, mode: 'sim' | 'emu', results: DriverFacts[]): CompareBundle {
  return {
    format: COMPARE_FORMAT, lab: { file: lab.file, hosts: [...lab.hosts] }, mode,
    // A driver the kernel could not run has no trace to draw.
    runs: results.flatMap((r) => (r.trace ? [{ driver: r.driver, title: r.title, ok: r.ok, trace: r.trace, ...(r.flow ? { flow: r.flow.id } : {}) }] : [])),
  };
}

const orDash = (v: string | number | undefined) => (v === undefined ? '-' : String(v));

/** One row per driver; then, per driver, the devices its echo request crossed and where its peers came from. */
export function compareTable(results: DriverFacts[]): string {
  const rows = [['DRIVER', 'STEPS', 'MTU', 'GATEWAY', 'TTL', 'LAYER', 'UNDERLAY BYTES', 'OVERHEAD', 'OUTER'],
    ...results.map((r) => r.unavailable ? [r.driver, '-', '-', '-', '-', '-', '-', '-', 'not available in this kernel'] : [r.driver, r.steps.length ? r.steps.join(',') : '-', orDash(r.containerMtu), orDash(r.gateway), orDash(r.ttl),
      r.layer === 'L3' ? `L3 (${64 - (r.ttl ?? 64)} routers)` : orDash(r.layer), orDash(r.underlayBytes),
      r.overhead === undefined ? '-' : `${r.overhead} (${orDash(r.containerBytes)} in)`, orDash(r.outer)])];
  let out = tabwrite(rows, 0, 2, { trimRight: true });
  for (const r of results) {
    if (r.unavailable) continue;
    out += `\n${r.driver}:\n  devices crossed: ${r.devices.length ? r.devices.join(' → ') : '-'}\n  ARP answered: ${r.arp ?? '-'}\n  peers from: ${r.peersFrom}\n`;
  }
  return out;
}
