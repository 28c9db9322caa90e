/**
 * The control plane in a trace (`trace.control`): what each step's span of the clock carried
 * between swarm nodes, summed per kind and direction (the report's table), and whether sim
 * and emu agree on it. emu captures each swarm node's underlay interface in every step
 * (emu/capture.ts ControlCapture), but its daemons' timers run on the machine's clock from
 * random offsets, a step lasts as long as its real command (sim's as its virtual one, after
 * a second's gap), and emu puts a step's plan on the kernel only when a later command looks
 * (so the table events of several steps are gossiped at once): how many exchanges of a kind
 * fall into a step, and between which of the hosts a random draw picks, are timing. They
 * agree at the level both modes can hold to, in every step both carried control traffic,
 * on the hosts emu saw in it:
 * - each kind of exchange seen in both modes crosses the wire the same way: the same
 *   transport, well-known ports and directions (a probe UDP 7946 → 7946 and back; a
 *   push/pull or a bulk sync TCP to 7946 and back; NetworkDB's gossip UDP 7946 → 7946, one
 *   way; a heartbeat a TLS record to the manager's 2377 and one back), judged by each
 *   exchange's first packet each way that carries a message (a bare ACK first is timing),
 *   where both ways were seen (a gossip's by its one);
 * - each host probes at the same pace in both: the median time between its probes agrees
 *   within a quarter (a second each; probing every peer each second would not), where both
 *   saw it probe at least twice. How many probes fall into a step is not compared: emu's
 *   step lasts as long as the real command (a ping that waits out a lost reply, ten
 *   seconds; a `docker run` whose plan waits, none), sim's clock as long as its own.
 */
import type { ControlKind, ControlNotKept, Flow, Hop, Trace } from './types';
import type { TraceDifference } from './compare';

export interface ControlRow {
  step?: number;
  command?: string;
  control: ControlKind;
  /** Absent in a row of the exchanges the trace did not keep (it counts them, not who sent them). */
  from?: string;
  to?: string;
  exchanges: number;
  /** Absent where the exchanges were not kept: their packets were not made. */
  packets?: number;
  bytes?: number;
}

/**
 * Each step's exchanges by kind and direction: how many, their packets and IP bytes (as
 * sent); after the kept ones of a step, by kind, how many more it carried that the trace
 * did not keep.
 */
export function controlSummary(control: readonly Flow[], notKept: readonly ControlNotKept[] = []): ControlRow[] {
  const commands = new Map(control.filter((f) => f.origin).map((f) => [f.origin!.step, `${f.origin!.on}: ${f.origin!.command}`] as const));
  const counted = notKept.map((c): ControlRow => ({ step: c.step, command: commands.get(c.step), control: c.control, exchanges: c.exchanges }));
  return [...keptRows(control), ...counted].map((r, i) => ({ r, i })).sort((a, b) => (a.r.step ?? 0) - (b.r.step ?? 0) || a.i - b.i).map(({ r }) => r);
}

function keptRows(control: readonly Flow[]): ControlRow[] {
  const rows = new Map<string, ControlRow>();
  for (const f of control) {
    if (!f.control) continue;
    const key = `${f.origin?.step ?? 0}|${f.control}|${f.from}|${f.to}`;
    let row = rows.get(key);
    if (!row) rows.set(key, (row = { step: f.origin?.step, command: f.origin ? `${f.origin.on}: ${f.origin.command}` : undefined, control: f.control, from: f.from, to: f.to, exchanges: 0, packets: 0, bytes: 0 }));
    row.exchanges++;
    for (const h of f.hops) {
      if (h.event !== 'send' || h.layers.some((l) => l.proto === 'arp')) continue;
      row.packets! += 1;
      row.bytes! += Number(h.layers.find((l) => l.proto === 'ip')?.['ip.len'] ?? 0);
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

/** Kinds whose exchange is one datagram, never answered: NetworkDB's gossip. */
const ONE_WAY: ReadonlySet<ControlKind> = new Set(['networkdb-gossip']);

/** Whether a packet carries a message: any datagram; a TCP segment with payload (not a bare ACK, SYN or FIN). */
function carriesData(h: Hop): boolean {
  const ip = h.layers.find((l) => l.proto === 'ip'), tcp = h.layers.find((l) => l.proto === 'tcp');
  return !tcp || Number(ip?.['ip.len']) - Number(ip?.['ip.hdr_len']) - Number(tcp['tcp.hdr_len']) > 0;
}

/**
 * How an exchange crosses the wire: its first packet each way that carries a message (or,
 * where none does, as a bulk sync's answer carries none, its first packet), wherever it was
 * seen (a capture point that started late missed some sightings). A bare ACK first is the
 * kernel's timing (a delayed ACK before the daemon writes its answer), not the exchange's
 * shape. Only an exchange seen both ways has one: a capture begun or ended inside an
 * exchange holds half of it. A one-way kind's is its datagram's, and what came back, if
 * anything did (nothing should).
 */
function exchangeShape(f: Flow): string | undefined {
  const first = (dir: Hop['dir']) => {
    const seen = f.hops.filter((h) => h.dir === dir && !h.layers.some((l) => l.proto === 'arp')).sort((a, b) => a.timeNs - b.timeNs);
    return seen.find(carriesData) ?? seen[0];
  };
  const request = first('request'), reply = first('reply');
  if (f.control && ONE_WAY.has(f.control)) return request ? `${shapeOf(request)}${reply ? `, then ${shapeOf(reply)}` : ''}` : undefined;
  return request && reply ? `${shapeOf(request)}, then ${shapeOf(reply)}` : undefined;
}

function shapes(flows: Flow[]): string {
  return [...new Set(flows.map(exchangeShape).filter((s): s is string => s !== undefined))].sort().join('; ');
}

/** The median time between the probes `host` sent (when it sent at least two). */
function probePace(flows: Flow[], host: string): number | undefined {
  const sent = flows.filter((f) => f.control === 'memberlist-probe' && f.from === host).map((f) => f.hops.find((h) => h.event === 'send' && h.host === host)?.timeNs)
    .filter((t): t is number => t !== undefined).sort((x, y) => x - y);
  const gaps = sent.slice(1).map((t, i) => t - sent[i]).sort((x, y) => x - y);
  return gaps.length ? gaps[Math.floor(gaps.length / 2)] : undefined;
}

export function compareControl(sim: Trace, emu: Trace): TraceDifference | undefined {
  const emuSteps = [...new Set((emu.control ?? []).map((f) => f.origin?.step ?? 0))].sort((a, b) => a - b);
  for (const step of emuSteps) {
    const e = (emu.control ?? []).filter((f) => (f.origin?.step ?? 0) === step);
    const s = (sim.control ?? []).filter((f) => (f.origin?.step ?? 0) === step);
    const captured = new Set(e.flatMap((f) => f.hops.map((h) => h.host)).filter((h) => h !== 'underlay'));
    const onCaptured = (f: Flow) => captured.has(f.from) && captured.has(f.to);
    for (const kind of new Set(e.map((f) => f.control!))) {
      // Which hosts exchanged in a window is timing (and a lossy link's draw); how is behaviour.
      const a = s.filter((f) => f.control === kind && onCaptured(f)), b = e.filter((f) => f.control === kind && onCaptured(f));
      if (shapes(a) === '' || shapes(b) === '') continue;
      if (shapes(a) !== shapes(b)) return { where: `step ${step} control plane: ${kind} on the wire`, sim: shapes(a), emu: shapes(b) };
    }
    for (const host of captured) {
      const a = probePace(s, host), b = probePace(e, host);
      if (a === undefined || b === undefined) continue;
      if (Math.abs(a - b) > Math.max(a, b) / 4) return { where: `step ${step} control plane: time between the probes ${host} sent`, sim: `${(a / 1e9).toFixed(3)} s`, emu: `${(b / 1e9).toFixed(3)} s` };
    }
  }
  return undefined;
}
