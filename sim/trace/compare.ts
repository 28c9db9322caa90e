/**
 * Whether two traces of one scenario (sim and emu) tell the same story: the same flows,
 * and for every ICMP echo hop the same step, host, device and header fields, except the
 * fields that differ by nature (underlay and vxlan MACs, UDP source port, IP id, ICMP
 * identifier, checksums, timestamps).
 */
import { Layer } from '../wire/layer';
import { Flow, Hop, Trace } from './types';

export interface TraceDifference {
  where: string;
  sim: string;
  emu: string;
}

const COMPARED: Record<string, string[]> = {
  eth: ['eth.src', 'eth.dst', 'eth.type'],
  ip: ['ip.src', 'ip.dst', 'ip.ttl', 'ip.proto', 'ip.flags.df', 'ip.flags.mf', 'ip.frag_offset', 'ip.len'],
  udp: ['udp.dstport'],
  vxlan: ['vxlan.vni', 'vxlan.flags'],
  icmp: ['icmp.type', 'icmp.code', 'icmp.seq'],
};

/** The fields that must agree, outermost first; the outer Ethernet header (underlay MACs) is left out. */
export function comparableFields(layers: Layer[]): string {
  const encapsulated = layers.some((l) => l.proto === 'vxlan');
  // Docker derives endpoint MACs from IPs (02:42:…); bridges and host devices get random ones.
  const value = (f: string, v: unknown) => (f.startsWith('eth.') && f !== 'eth.type' && typeof v === 'string' && !v.startsWith('02:42:') ? '"kernel-assigned"' : JSON.stringify(v));
  return layers
    .map((l, i) => (encapsulated && i === 0 ? 'eth' : `${l.proto}{${(COMPARED[l.proto] ?? []).map((f) => `${f}=${value(f, l[f])}`).join(',')}}`))
    .join(' ');
}

function echoHops(flow: Flow): Hop[] {
  return flow.hops.filter((h) => h.step !== undefined && h.event !== 'drop' && h.layers.some((l) => l.proto === 'icmp' && (l['icmp.type'] === 0 || l['icmp.type'] === 8)));
}

function seqOf(h: Hop): number {
  const icmp = h.layers.find((l) => l.proto === 'icmp');
  return (icmp?.['icmp.seq'] as number) ?? 0;
}

/** Where a hop was seen, to order the hops of one step: emu's sightings of one step come from
 * different tcpdumps, whose timestamps a microsecond apart can arrive in either order. */
function siteOf(h: Hop): string {
  return `${h.host}/${h.netns}/${h.device}/${h.event}`;
}

/** Echo hops in a canonical order: by sequence number, request before reply, then step, then site. */
function canonical(flow: Flow): Hop[] {
  return echoHops(flow).map((h, i) => ({ h, i, site: siteOf(h) })).sort((a, b) => seqOf(a.h) - seqOf(b.h) || (a.h.dir === b.h.dir ? 0 : a.h.dir === 'request' ? -1 : 1) || a.h.step! - b.h.step! || (a.site < b.site ? -1 : a.site > b.site ? 1 : a.i - b.i)).map((x) => x.h);
}

function describe(h: Hop | undefined): string {
  return h ? `step ${h.step} ${h.dir} ${h.host}/${h.netns}/${h.actor ? `${h.actor} → ` : ''}${h.device} ${comparableFields(h.layers)}` : '(no hop)';
}

export function compareTraces(sim: Trace, emu: Trace): TraceDifference | undefined {
  const simFlows = sim.flows.filter((f) => f.kind === 'icmp-echo');
  const emuFlows = emu.flows.filter((f) => f.kind === 'icmp-echo');
  if (simFlows.length !== emuFlows.length) {
    return { where: 'flows', sim: simFlows.map((f) => f.id).join(', ') || '(none)', emu: emuFlows.map((f) => f.id).join(', ') || '(none)' };
  }
  for (let i = 0; i < simFlows.length; i++) {
    const a = simFlows[i], b = emuFlows[i];
    if (a.from !== b.from || a.to !== b.to) return { where: `flow ${i + 1}`, sim: `${a.from} → ${a.to}`, emu: `${b.from} → ${b.to}` };
    const ha = canonical(a), hb = canonical(b);
    for (let k = 0; k < Math.max(ha.length, hb.length); k++) {
      const x = ha[k], y = hb[k];
      const same = x && y && x.step === y.step && x.dir === y.dir && x.host === y.host && x.device === y.device && x.actor === y.actor && comparableFields(x.layers) === comparableFields(y.layers);
      if (!same) return { where: `${a.id} hop ${k + 1}`, sim: describe(x), emu: describe(y) };
    }
  }
  return undefined;
}
