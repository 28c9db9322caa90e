/** The path table printed after each ping: the rows a teacher would draw on the board. */
import { Layer } from '../wire/layer';
import { Flow, Hop } from './types';
import { tabwrite } from '../text/tabwriter';
import { firstExchange } from './path';
import { RESOLVE_STEP } from './paths/path';

function layerSummary(layers: Layer[]): string {
  const parts: string[] = [];
  for (const l of layers) {
    switch (l.proto) {
      case 'eth': parts.push(`eth ${l['eth.src']} > ${l['eth.dst']}`); break;
      case 'ip': parts.push(`ip ${l['ip.src']} > ${l['ip.dst']} ttl ${l['ip.ttl']}`); break;
      case 'udp': parts.push(`udp ${l['udp.srcport']} > ${l['udp.dstport']}`); break;
      case 'vxlan': parts.push(`vni ${l['vxlan.vni']}`); break;
      case 'icmp': parts.push(`icmp ${l['icmp.type'] === 8 ? 'echo request' : l['icmp.type'] === 0 ? 'echo reply' : `type ${l['icmp.type']}`}${l['icmp.seq'] !== undefined ? ` seq ${l['icmp.seq']}` : ''}`); break;
      case 'arp': parts.push(`arp ${l['arp.opcode'] === 1 ? `who-has ${l['arp.dst.proto_ipv4']}` : `${l['arp.src.proto_ipv4']} is-at ${l['arp.src.hw_mac']}`}`); break;
      case 'dns': parts.push(`dns ${l['dns.flags.response'] ? 'answer' : 'query'} ${l['dns.qry.name'] ?? ''}${l['dns.a'] ? ' ' + (l['dns.a'] as string[]).join(',') : ''}`); break;
    }
  }
  return parts.join(' | ');
}

/** The device that acted and the one it handed the frame to (`br0 → vxlan0`), or the one device. */
export function hopDevices(h: Pick<Hop, 'actor' | 'device'>): string {
  return h.actor ? `${h.actor} → ${h.device}` : h.device;
}

function what(h: Hop): string {
  return h.event === 'drop' ? `drop: ${h.reason ?? ''}` : h.note ? `${h.event} (${h.note})` : h.event;
}

/** One table per flow: the first request and its reply, step by step. */
export function pathTable(flow: Flow, allHops = false): string {
  const origin = flow.origin ? `, step ${flow.origin.step} · ${flow.origin.on}: ${flow.origin.command}` : '';
  // emu's record of a ping from a host's own namespace it did not capture (Flow.hostNamespace) has its ends and no hops.
  if (flow.hostNamespace && flow.hops.length === 0) return `path of ${flow.id} (${flow.kind} ${flow.from} → ${flow.to}${origin}): not captured, sent from a host's own namespace (off the host path emu captures)\n`;
  const hops = allHops ? flow.hops : [...flow.hops.filter((h) => h.step === RESOLVE_STEP), ...firstExchange(flow)];
  const rows = [['STEP', 'DIR', 'HOST', 'NETNS', 'DEVICE', 'WHAT HAPPENED', 'KEY FIELDS'],
    ...hops.map((h) => [h.step === undefined ? '-' : String(h.step), h.dir, h.host, h.netns, hopDevices(h), what(h), layerSummary(h.layers)])];
  return `path of ${flow.id} (${flow.kind} ${flow.from} → ${flow.to}${origin}):\n${tabwrite(rows, 0, 2, { trimRight: true })}`;
}
