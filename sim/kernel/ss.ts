/**
 * iproute2 6.1's `ss` over a simulated namespace's TCP and UDP sockets: the kernel's own
 * (a vxlan device's UDP socket, in the namespace it was made in) and those daemons hold
 * (plan ops: dockerd's memberlist and swarm API, the embedded DNS resolver). Columns as
 * ss renders them when its output is no terminal: each as wide as its header or widest
 * cell, addresses right-aligned against their ports. ss dumps UDP before TCP; within one
 * protocol the kernel's order follows a per-namespace hash, so it is no part of the text:
 * inet_diag walks the listening buckets in index order, a socket's bucket being its address
 * hashed under the namespace's random net_hash_mix, xor its port (TCP), or its port plus that
 * mix (UDP): two namespaces list the same sockets in either order. sim keeps the order a
 * 20.10 engine listed (test/fixtures/engine-20.10/host-ss-listen.txt).
 */
import { CommandOutput } from '../backend';
import type { SimNetns } from './objects';
import type { ListeningSocket } from '../plan/ops';
import { unmodelledWords } from './iproute_utils';
import { ssNotModelled } from '../commands/ss-words';

/** /etc/services' names for the ports a lab's sockets use (ss prints them without -n). */
const SERVICES: Record<number, string> = { 53: 'domain' };

/** A TCP listener's backlog as Go's net.Listen asks it: the kernel caps it at net.core.somaxconn (4096). */
const SOMAXCONN = 4096;

interface Row {
  netid: string;
  state: string;
  recvQ: string;
  sendQ: string;
  local: string;
  localPort: string;
  peer: string;
  peerPort: string;
}

/** The sockets of `ns` as ss lists them: the kernel's vxlan sockets, then the daemons'. */
export function namespaceSockets(ns: SimNetns): ListeningSocket[] {
  const vxlan = [...ns.vxlanSockets.get().keys()].map((port): ListeningSocket => ({ proto: 'udp', address: '0.0.0.0', port, process: '' }));
  return [...vxlan, ...ns.listening];
}

export function ssCommand(ns: SimNetns, args: string[]): CommandOutput {
  if (ssNotModelled(args)) return notModelled(args);
  const flags = new Set(args.flatMap((a) => [...a.slice(1)]));
  const protos = (['udp', 'tcp'] as const).filter((p) => flags.has(p[0]));
  // Without -l or -a ss shows connected sockets only; the sim's connections live no longer than their command.
  const listening = flags.has('l') || flags.has('a');
  const rows: Row[] = [];
  for (const proto of protos) {
    if (!listening) continue;
    for (const s of namespaceSockets(ns).filter((x) => x.proto === proto)) rows.push(row(s, flags.has('n')));
  }
  return { stdout: render(rows, protos.length > 1, !flags.has('H')), stderr: '', exitCode: 0 };
}

function notModelled(args: string[]): CommandOutput {
  return unmodelledWords(`cnmlab: ss ${args.join(' ')} is not modelled (TCP and UDP sockets: -t, -u with -l, -a, -n, -H)\n`);
}

function row(s: ListeningSocket, numeric: boolean): Row {
  // A socket on every address of both families shows as *, its peer as *:*; an IPv4 one's peer as 0.0.0.0:*;
  // an IPv6-only one (docker-proxy's on ::) in brackets, its peer [::]:*.
  const any = s.address === '*';
  const v6 = s.address.includes(':');
  return {
    netid: s.proto,
    state: s.proto === 'tcp' ? 'LISTEN' : 'UNCONN',
    recvQ: '0',
    sendQ: s.proto === 'tcp' ? String(SOMAXCONN) : '0',
    local: v6 ? `[${s.address}]:` : `${s.address}:`,
    localPort: numeric ? String(s.port) : SERVICES[s.port] ?? String(s.port),
    peer: any ? '*:' : v6 ? '[::]:' : '0.0.0.0:',
    peerPort: '*',
  };
}

type Align = 'left' | 'right';

/** ss's columns: header, alignment, and whether a space separates it from the column before. */
const COLUMNS: { key: keyof Row | 'process'; header: string; align: Align; delim: boolean; minWidth?: number }[] = [
  { key: 'netid', header: 'Netid', align: 'left', delim: false },
  { key: 'state', header: 'State', align: 'left', delim: true },
  // sock_state_print writes the queues as %-6d.
  { key: 'recvQ', header: 'Recv-Q', align: 'left', delim: true, minWidth: 6 },
  { key: 'sendQ', header: 'Send-Q', align: 'left', delim: true, minWidth: 6 },
  { key: 'local', header: 'Local Address:', align: 'right', delim: true },
  { key: 'localPort', header: 'Port', align: 'left', delim: false },
  { key: 'peer', header: 'Peer Address:', align: 'right', delim: true },
  { key: 'peerPort', header: 'Port', align: 'left', delim: false },
  { key: 'process', header: 'Process', align: 'left', delim: false },
];

function render(rows: Row[], withNetid: boolean, withHeader: boolean): string {
  const columns = COLUMNS.filter((c) => c.key !== 'netid' || withNetid);
  const cell = (r: Row, key: keyof Row | 'process') => (key === 'process' ? '' : r[key]);
  const widths = columns.map((c) => Math.max(withHeader ? c.header.length : 0, c.minWidth ?? 0, ...rows.map((r) => cell(r, c.key).length)));
  const line = (cells: string[]) => cells.map((text, i) => {
    const c = columns[i];
    const padded = c.align === 'left' ? text.padEnd(widths[i]) : text.padStart(widths[i]);
    return (c.delim && i > 0 && widths[i] > 0 ? ' ' : '') + padded;
  }).join('');
  const lines = [...(withHeader ? [line(columns.map((c) => c.header))] : []), ...rows.map((r) => line(columns.map((c) => cell(r, c.key))))];
  return lines.map((l) => l + '\n').join('');
}
