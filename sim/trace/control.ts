/**
 * The control plane in a trace (`trace.control`): what each step's span of the clock carried
 * between swarm nodes, summed per kind and direction (the report's table), and whether sim
 * and emu agree on it. They agree at the level both modes can hold to: emu sees dockerd's
 * traffic only while a traced ping is captured, and its timers run on the machine's clock
 * from random offsets, so for each step emu captured, on the hosts it captured:
 * - each kind of exchange seen in both modes crosses the wire the same way: the same
 *   transport, well-known ports and directions (a probe UDP 7946 → 7946 and back; a
 *   push/pull TCP to 7946 with data both ways; a heartbeat TLS records from a worker to the
 *   manager's 2377 and back, then the worker's ACK), between the same hosts;
 * - each host probes about once a second in both: the probes it sent agree within one and
 *   a half of the larger count (the capture and the clock span differ by a fraction of a
 *   second; probing every peer each second would not agree).
 * Which exchanges fall into a window apart from probes (a push/pull each 30 s, a heartbeat
 * each 5 s, gossip after an event) is timing, not behaviour, and is not compared.
 */
import type { ControlKind, Flow, Hop, Trace } from './types';
import type { TraceDifference } from './compare';

export interface ControlRow {
  step?: number;
  command?: string;
  control: ControlKind;
  from: string;
  to: string;
  exchanges: number;
  packets: number;
  bytes: number;
}

/** Each step's exchanges by kind and direction: how many, their packets and IP bytes (as sent). */
export function controlSummary(control: readonly Flow[]): ControlRow[] {
  const rows = new Map<string, ControlRow>();
  for (const f of control) {
    if (!f.control) continue;
    const key = `${f.origin?.step ?? 0}|${f.control}|${f.from}|${f.to}`;
    let row = rows.get(key);
    if (!row) rows.set(key, (row = { step: f.origin?.step, command: f.origin ? `${f.origin.on}: ${f.origin.command}` : undefined, control: f.control, from: f.from, to: f.to, exchanges: 0, packets: 0, bytes: 0 }));
    row.exchanges++;
    for (const h of f.hops) {
      if (h.event !== 'send' || h.layers.some((l) => l.proto === 'arp')) continue;
      row.packets++;
      row.bytes += Number(h.layers.find((l) => l.proto === 'ip')?.['ip.len'] ?? 0);
    }
  }
  return [...rows.values()];
}

/** How a packet of an exchange crosses the wire: direction, transport, the ports that are not ephemeral, TLS. */
function shapeOf(h: Hop): string | undefined {
  const udp = h.layers.find((l) => l.proto === 'udp'), tcp = h.layers.find((l) => l.proto === 'tcp');
  const tls = h.layers.some((l) => l.proto === 'tls') ? ' tls' : '';
  if (udp) return `${h.dir} udp ${udp['udp.srcport']}>${udp['udp.dstport']}`;
  if (tcp) return h.dir === 'request' ? `${h.dir} tcp >${tcp['tcp.dstport']}${tls}` : `${h.dir} tcp ${tcp['tcp.srcport']}>${tls}`;
  return undefined;
}

function shapes(flows: Flow[]): string {
  const all = new Set<string>();
  for (const f of flows) for (const h of f.hops) if (h.event === 'send') {
    const s = shapeOf(h);
    if (s) all.add(`${f.from}→${f.to} ${s}`);
  }
  return [...all].sort().join(', ');
}

export function compareControl(sim: Trace, emu: Trace): TraceDifference | undefined {
  const emuSteps = [...new Set((emu.control ?? []).map((f) => f.origin?.step ?? 0))].sort((a, b) => a - b);
  for (const step of emuSteps) {
    const e = (emu.control ?? []).filter((f) => (f.origin?.step ?? 0) === step);
    const s = (sim.control ?? []).filter((f) => (f.origin?.step ?? 0) === step);
    const captured = new Set(e.flatMap((f) => f.hops.map((h) => h.host)).filter((h) => h !== 'underlay'));
    const onCaptured = (f: Flow) => captured.has(f.from) && captured.has(f.to);
    for (const kind of new Set(e.map((f) => f.control!))) {
      const a = s.filter((f) => f.control === kind && onCaptured(f)), b = e.filter((f) => f.control === kind && onCaptured(f));
      if (a.length === 0 || b.length === 0) continue;
      if (shapes(a) !== shapes(b)) return { where: `step ${step} control plane: ${kind} on the wire`, sim: shapes(a), emu: shapes(b) };
    }
    for (const host of captured) {
      const a = s.filter((f) => f.control === 'memberlist-probe' && f.from === host).length;
      const b = e.filter((f) => f.control === 'memberlist-probe' && f.from === host).length;
      if (Math.abs(a - b) > 1 + Math.floor(Math.max(a, b) / 2)) return { where: `step ${step} control plane: probes ${host} sent`, sim: String(a), emu: String(b) };
    }
  }
  return undefined;
}
