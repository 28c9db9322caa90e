/**
 * Field values as Wireshark's packet details (`tshark -V`) print them: hex for flags, ids
 * and checksums, named bits, ethertype and protocol names; the trace keeps the raw number.
 */

const ETHERTYPES: Record<number, string> = { 0x0800: 'IPv4', 0x0806: 'ARP', 0x86dd: 'IPv6', 0x8100: '802.1Q Virtual LAN' };
const IP_PROTOCOLS: Record<number, string> = { 1: 'ICMP', 6: 'TCP', 17: 'UDP', 47: 'GRE', 50: 'ESP' };
const ICMP_TYPES: Record<number, string> = { 0: 'Echo (ping) reply', 3: 'Destination unreachable', 8: 'Echo (ping) request', 11: 'Time-to-live exceeded' };
const ARP_OPCODES: Record<number, string> = { 1: 'request', 2: 'reply' };
const DNS_TYPES: Record<number, string> = { 1: 'A (Host Address)', 5: 'CNAME (Canonical NAME for an alias)', 12: 'PTR (domain name PoinTeR)', 28: 'AAAA (IPv6 Address)' };
const DNS_RCODES: Record<number, string> = { 0: 'No error', 1: 'Format error', 2: 'Server failure', 3: 'No such name', 5: 'Refused' };
const SLL_PKTTYPES: Record<number, string> = { 0: 'Unicast to us', 1: 'Broadcast', 2: 'Multicast', 3: 'Unicast to another host', 4: 'Sent by us' };
/** VXLAN's flag bits, high to low, as the VXLAN-GPE/GBP-aware dissector names them. */
const VXLAN_FLAG_BITS: [number, string][] = [[0x8000, 'GBP Extension'], [0x0800, 'VXLAN Network ID (VNI)'], [0x0040, "Don't Learn"], [0x0008, 'Policy Applied']];
const TCP_FLAG_BITS: [number, string][] = [[0x100, 'AE'], [0x080, 'CWR'], [0x040, 'ECE'], [0x020, 'URG'], [0x010, 'ACK'], [0x008, 'PSH'], [0x004, 'RST'], [0x002, 'SYN'], [0x001, 'FIN']];

const hex = (n: number, digits: number) => `0x${n.toString(16).padStart(digits, '0')}`;
const named = (names: Record<number, string>, n: number, shown = String(n)) => (names[n] ? `${names[n]} (${shown})` : shown);

export interface FieldText {
  /** As Wireshark shows it. */
  shown: string;
  /** The raw value the trace holds, when it reads differently. */
  raw?: string;
}

function wireshark(field: string, v: number): string | undefined {
  switch (field) {
    case 'eth.type': case 'sll.etype': return named(ETHERTYPES, v, hex(v, 4));
    case 'sll.pkttype': return named(SLL_PKTTYPES, v);
    case 'ip.hdr_len': return `${v} bytes (${v / 4})`;
    case 'ip.dsfield': return hex(v, 2);
    case 'ip.id': case 'icmp.ident': case 'icmp.seq': return field === 'ip.id' ? `${hex(v, 4)} (${v})` : `${v} (${hex(v, 4)})`;
    case 'ip.proto': return named(IP_PROTOCOLS, v);
    case 'ip.checksum': case 'udp.checksum': case 'icmp.checksum': case 'tcp.checksum': case 'dns.id': return hex(v, 4);
    case 'icmp.type': return ICMP_TYPES[v] ? `${v} (${ICMP_TYPES[v]})` : String(v);
    case 'arp.opcode': return named(ARP_OPCODES, v);
    case 'vxlan.flags': {
      const bits = VXLAN_FLAG_BITS.filter(([b]) => v & b).map(([, n]) => n);
      return [hex(v, 4), ...bits].join(', ');
    }
    case 'tcp.flags': {
      const bits = TCP_FLAG_BITS.filter(([b]) => v & b).map(([, n]) => n);
      return `${hex(v, 3)}${bits.length ? ` (${bits.join(', ')})` : ''}`;
    }
    case 'dns.flags.opcode': return v === 0 ? 'Standard query (0)' : String(v);
    case 'dns.flags.rcode': return named(DNS_RCODES, v);
    case 'dns.qry.type': return named(DNS_TYPES, v);
    default: return undefined;
  }
}

export function fieldText(field: string, value: unknown): FieldText {
  if (Array.isArray(value)) return { shown: value.map((v) => fieldText(field, v).shown).join(', ') };
  if (typeof value === 'number') {
    const shown = wireshark(field, value);
    return shown && shown !== String(value) ? { shown, raw: String(value) } : { shown: String(value) };
  }
  if (typeof value === 'boolean') {
    if (field.startsWith('ip.flags.')) return { shown: value ? 'Set' : 'Not set', raw: String(value) };
    if (field === 'dns.flags.response') return { shown: value ? 'Message is a response' : 'Message is a query', raw: String(value) };
    return { shown: value ? 'True' : 'False', raw: String(value) };
  }
  if (typeof value === 'string') {
    if (field.endsWith('.checksum.status')) return { shown: value.charAt(0).toUpperCase() + value.slice(1) };
    if (/^eth\.(src|dst)$/.test(field) && value === 'ff:ff:ff:ff:ff:ff') return { shown: `Broadcast (${value})` };
  }
  return { shown: String(value) };
}
