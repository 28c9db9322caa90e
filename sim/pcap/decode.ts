/** Turns a capture into decoded frames, and frames into tshark-like text. */
import { dissect, linktypeName, SUPPORTED_LINKTYPES } from '../wire/dissect';
import { Layer } from '../wire/layer';
import { CaptureError, CapturedFrame, streamCapture } from './reader';

export interface DecodedFrame {
  index: number;
  /** Nanoseconds since the capture's first frame. */
  timeNs: number;
  length: number;
  capturedLength: number;
  linktype?: number;
  layers: Layer[];
}

export interface DecodeHeader {
  file: string;
  linktype: number;
  linktypeName: string;
  format: string;
}

export function decodeFrame(f: CapturedFrame, first: CapturedFrame, fileLinktype: number): DecodedFrame {
  const layers = dissect(f.data, f.linktype);
  if (f.data.length < f.length && layers.length > 0) layers[layers.length - 1].truncated = true;
  const d: DecodedFrame = { index: f.index, timeNs: (f.seconds - first.seconds) * 1e9 + (f.nanos - first.nanos), length: f.length, capturedLength: f.data.length, layers };
  if (f.linktype !== fileLinktype) d.linktype = f.linktype;
  return d;
}

/** Streams a capture's decoded frames; rejects with CaptureError on a file that is no capture. */
export async function decodeCapture(
  path: string,
  onFrame: (f: DecodedFrame, fileLinktype: number) => void | Promise<void>,
): Promise<{ header: DecodeHeader; warnings: string[]; frames: number }> {
  let first: CapturedFrame | undefined;
  let fileLinktype: number | undefined;
  let count = 0;
  const outcome = await streamCapture(path, (f) => {
    if (first === undefined) {
      first = f;
      fileLinktype = f.linktype;
      if (!SUPPORTED_LINKTYPES.includes(f.linktype)) throw new CaptureError(`unknown link type ${f.linktype} (cnmlab reads Ethernet, LINUX_SLL and LINUX_SLL2)`);
    }
    count++;
    return onFrame(decodeFrame(f, first, fileLinktype!), fileLinktype!);
  });
  const linktype = outcome.info.linktype;
  if (!SUPPORTED_LINKTYPES.includes(linktype)) throw new CaptureError(`unknown link type ${linktype} (cnmlab reads Ethernet, LINUX_SLL and LINUX_SLL2)`);
  return { header: { file: path, linktype, linktypeName: linktypeName(linktype), format: outcome.info.format }, warnings: outcome.warnings, frames: count };
}

function find(layers: Layer[], proto: string, last = true): Layer | undefined {
  const all = layers.filter((l) => l.proto === proto);
  return last ? all[all.length - 1] : all[0];
}

const ICMP_NAMES: Record<number, string> = { 0: 'Echo (ping) reply', 3: 'Destination unreachable', 8: 'Echo (ping) request', 11: 'Time-to-live exceeded' };

function info(layers: Layer[]): { proto: string; info: string } {
  const top = layers[layers.length - 1];
  const tcpFlags = (f: number) => ['FIN', 'SYN', 'RST', 'PSH', 'ACK', 'URG'].filter((_, i) => f & (1 << i)).join(', ');
  switch (top?.proto) {
    case 'arp':
      return top['arp.opcode'] === 1
        ? { proto: 'ARP', info: `Who has ${top['arp.dst.proto_ipv4']}? Tell ${top['arp.src.proto_ipv4']}` }
        : { proto: 'ARP', info: `${top['arp.src.proto_ipv4']} is at ${top['arp.src.hw_mac']}` };
    case 'icmp': {
      const t = top['icmp.type'] as number;
      let text = ICMP_NAMES[t] ?? `type ${t}`;
      if (top['icmp.seq'] !== undefined) text += `  id=0x${(top['icmp.ident'] as number).toString(16).padStart(4, '0')}, seq=${top['icmp.seq']}`;
      if (top['icmp.mtu'] !== undefined) text += ` (fragmentation needed, mtu ${top['icmp.mtu']})`;
      return { proto: 'ICMP', info: text };
    }
    case 'dns': {
      const resp = top['dns.flags.response'];
      const answers = [...((top['dns.a'] as string[]) ?? []), ...((top['dns.ptr.domain_name'] as string[]) ?? [])];
      const rcode = top['dns.flags.rcode'] === 3 ? ' No such name' : '';
      // A damaged message may hold no header at all, or an opcode that is no query.
      const opcode = (top['dns.flags.opcode'] as number | undefined) ?? 0;
      const operation = opcode === 0 ? 'Standard query' : `Unknown operation (${opcode})`;
      const id = top['dns.id'] === undefined ? '' : ` 0x${(top['dns.id'] as number).toString(16).padStart(4, '0')}`;
      const name = top['dns.qry.name'] === undefined ? '' : ` ${top['dns.qry.name']}`;
      return { proto: 'DNS', info: `${operation}${resp ? ' response' : ''}${id}${rcode}${name}${answers.length ? ' ' + answers.join(' ') : ''}` };
    }
    case 'udp':
      return { proto: 'UDP', info: `${top['udp.srcport']} → ${top['udp.dstport']} Len=${(top['udp.length'] as number) - 8}` };
    case 'tcp':
      return { proto: 'TCP', info: `${top['tcp.srcport']} → ${top['tcp.dstport']} [${tcpFlags(top['tcp.flags'] as number)}]` };
    case 'ip':
      return { proto: 'IPv4', info: top['ip.flags.mf'] || (top['ip.frag_offset'] as number) > 0 ? `Fragmented IP protocol (proto=${top['ip.proto']}, off=${(top['ip.frag_offset'] as number) * 8}, ID=${(top['ip.id'] as number).toString(16).padStart(4, '0')})` : `proto ${top['ip.proto']}` };
    case 'vxlan':
      return { proto: 'VXLAN', info: `VNI ${top['vxlan.vni']}` };
    default:
      return { proto: (top?.proto ?? 'data').toUpperCase(), info: '' };
  }
}

/** One line per frame, like tshark's default output, with VXLAN shown as "VXLAN 4097:" before the inner summary. */
export function summaryLine(f: DecodedFrame): string {
  const ip = find(f.layers, 'ip');
  const arp = find(f.layers, 'arp');
  const eth = find(f.layers, 'eth');
  const src = ip?.['ip.src'] ?? arp?.['arp.src.proto_ipv4'] ?? eth?.['eth.src'] ?? '?';
  const dst = ip?.['ip.dst'] ?? arp?.['arp.dst.proto_ipv4'] ?? eth?.['eth.dst'] ?? '?';
  const vx = f.layers.find((l) => l.proto === 'vxlan');
  const { proto, info: text } = info(f.layers);
  const trunc = f.layers.some((l) => l.truncated) ? ' [truncated]' : '';
  const mal = f.layers.find((l) => l.malformed);
  return `${String(f.index).padStart(5)} ${(f.timeNs / 1e9).toFixed(6).padStart(11)} ${src} → ${dst} ${proto} ${f.length} ${vx ? `[VXLAN ${vx['vxlan.vni']}] ` : ''}${text}${trunc}${mal ? ` [Malformed: ${mal.malformed}]` : ''}`;
}

const LAYER_TITLES: Record<string, string> = {
  eth: 'Ethernet II', sll: 'Linux cooked capture', arp: 'Address Resolution Protocol', ip: 'Internet Protocol Version 4',
  icmp: 'Internet Control Message Protocol', udp: 'User Datagram Protocol', tcp: 'Transmission Control Protocol',
  vxlan: 'Virtual eXtensible Local Area Network', dns: 'Domain Name System',
};

/** Layered detail (like `tshark -V`): each layer a title, each field under its Wireshark name; encapsulated layers indent. */
export function detailLines(f: DecodedFrame): string[] {
  const lines = [`Frame ${f.index}: ${f.length} bytes on wire, ${f.capturedLength} bytes captured`];
  let depth = 0;
  for (const l of f.layers) {
    const pad = '    '.repeat(depth);
    const flags = [l.truncated ? 'truncated' : '', l.malformed ? `malformed: ${l.malformed}` : ''].filter(Boolean).join('; ');
    lines.push(`${pad}${LAYER_TITLES[l.proto] ?? l.proto}${flags ? ` [${flags}]` : ''}`);
    for (const [k, v] of Object.entries(l)) {
      if (k === 'proto' || k === 'truncated' || k === 'malformed') continue;
      const shown = typeof v === 'number' && /checksum|flags|type$|dsfield/.test(k) ? `0x${v.toString(16).padStart(4, '0')} (${v})` : Array.isArray(v) ? v.join(', ') : String(v);
      lines.push(`${pad}    ${k}: ${shown}`);
    }
    if (l.proto === 'vxlan' || (l.proto === 'icmp' && l !== f.layers[f.layers.length - 1])) depth++;
  }
  return lines;
}
