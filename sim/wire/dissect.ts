/**
 * Decodes one frame into Wireshark-named layers, outermost first, the way tshark shows it
 * with IP defragmentation off: a non-first fragment's payload stays undecoded, an ICMP error
 * decodes the datagram it quotes, and a header cut short by the snap length keeps the fields
 * whose bytes were captured.
 */
import { Layer, Parsed } from './layer';
import { ETHERNET_FIELD_ENDS, ETHERNET_HEADER_LEN, ETHERTYPE_ARP, ETHERTYPE_IPV4, ethernetLayer, parseEthernet } from './ethernet';
import { SLL2_FIELD_ENDS, SLL2_HEADER_LEN, SLL_FIELD_ENDS, SLL_HEADER_LEN, parseSll, parseSll2, sllLayer } from './sll';
import { ARP_FIELD_ENDS, ARP_LEN, arpLayer, parseArp } from './arp';
import { IPPROTO_ICMP, IPPROTO_IPIP, IPPROTO_TCP, IPPROTO_UDP, IPV4_FIELD_ENDS, IPV4_MIN_HEADER_LEN, ipv4Layer, parseIpv4 } from './ipv4';
import { ICMP_FIELD_ENDS, ICMP_HEADER_LEN, icmpLayer, parseIcmp, quotesDatagram } from './icmp';
import { UDP_FIELD_ENDS, UDP_HEADER_LEN, parseUdp, udpLayer } from './udp';
import { TCP_FIELD_ENDS, TCP_MIN_HEADER_LEN, parseTcp, tcpLayer } from './tcp';
import { VXLAN_FIELD_ENDS, VXLAN_HEADER_LEN, parseVxlan, vxlanLayer } from './vxlan';
import { DNS_HEADER_LEN, dnsHeaderLayer, dnsLayer, looksLikeDns, parseDns } from './dns';
import { tcpPayloadProto, udpPayloadProto } from './ports';
import { parseSleeve, SLEEVE_PORT } from './sleeve';
import { parseTlsRecord, TLS_FIELD_ENDS, TLS_RECORD_HEADER_LEN, tlsLayer } from './tls';

export const LINKTYPE_ETHERNET = 1;
export const LINKTYPE_LINUX_SLL = 113;
export const LINKTYPE_LINUX_SLL2 = 276;
/** Raw IP, no link-layer header: what a capture on an ipip device (tunl0) records. */
export const LINKTYPE_RAW = 101;
export const SUPPORTED_LINKTYPES = [LINKTYPE_ETHERNET, LINKTYPE_LINUX_SLL, LINKTYPE_LINUX_SLL2, LINKTYPE_RAW];

export function linktypeName(linktype: number): string {
  switch (linktype) {
    case LINKTYPE_ETHERNET: return 'EN10MB';
    case LINKTYPE_LINUX_SLL: return 'LINUX_SLL';
    case LINKTYPE_LINUX_SLL2: return 'LINUX_SLL2';
    case LINKTYPE_RAW: return 'RAW';
    default: return `unknown(${linktype})`;
  }
}

type Next = 'eth' | 'sll' | 'sll2' | 'arp' | 'ip' | 'icmp' | 'udp' | 'tcp' | 'vxlan' | 'dns' | 'tls' | undefined;

interface Step {
  layer: Layer;
  next: Next;
  payload: Buffer;
  /** The payload was captured shorter than its header said. */
  short?: boolean;
}

interface Codec {
  proto: string;
  minLength: number;
  fieldEnds: Record<string, number>;
  decode(b: Buffer, ctx: Context): Step | { error: string };
}

interface Context {
  /** The enclosing IP header's addresses, for the UDP pseudo-header. */
  ip?: { src: string; dst: string };
  /** The enclosing layers were captured whole. */
  complete: boolean;
  /** Inside an ICMP error's quoted datagram. */
  quoted: boolean;
}

function etherNext(ethertype: number): Next {
  return ethertype === ETHERTYPE_IPV4 ? 'ip' : ethertype === ETHERTYPE_ARP ? 'arp' : undefined;
}

function step<R>(p: Parsed<R>, toLayer: (r: R) => Layer, next: (r: R) => Next): Step | { error: string } {
  if (!p.ok) return { error: p.error };
  return { layer: toLayer(p.repr), next: next(p.repr), payload: p.payload, short: p.truncated };
}

const CODECS: Record<Exclude<Next, undefined>, Codec> = {
  eth: { proto: 'eth', minLength: ETHERNET_HEADER_LEN, fieldEnds: ETHERNET_FIELD_ENDS, decode: (b) => step(parseEthernet(b), ethernetLayer, (r) => etherNext(r.ethertype)) },
  sll: { proto: 'sll', minLength: SLL_HEADER_LEN, fieldEnds: SLL_FIELD_ENDS, decode: (b) => step(parseSll(b), sllLayer, (r) => etherNext(r.protocol)) },
  sll2: { proto: 'sll', minLength: SLL2_HEADER_LEN, fieldEnds: SLL2_FIELD_ENDS, decode: (b) => step(parseSll2(b), sllLayer, (r) => etherNext(r.protocol)) },
  arp: { proto: 'arp', minLength: ARP_LEN, fieldEnds: ARP_FIELD_ENDS, decode: (b) => step(parseArp(b), arpLayer, () => undefined) },
  ip: {
    proto: 'ip', minLength: IPV4_MIN_HEADER_LEN, fieldEnds: IPV4_FIELD_ENDS,
    decode: (b, ctx) => {
      const p = parseIpv4(b);
      if (!p.ok) return { error: p.error };
      ctx.ip = p.repr;
      // A non-first fragment carries no transport header; tshark shows it as data.
      const next: Next = p.repr.fragmentOffset > 0 ? undefined
        : p.repr.protocol === IPPROTO_ICMP ? 'icmp' : p.repr.protocol === IPPROTO_IPIP ? 'ip' : p.repr.protocol === IPPROTO_UDP ? 'udp' : p.repr.protocol === IPPROTO_TCP ? 'tcp' : undefined;
      if (p.repr.moreFragments) ctx.complete = false;
      return { layer: ipv4Layer(p.repr), next, payload: p.payload, short: p.truncated };
    },
  },
  icmp: {
    proto: 'icmp', minLength: ICMP_HEADER_LEN, fieldEnds: ICMP_FIELD_ENDS,
    decode: (b, ctx) => step(parseIcmp(b, ctx.complete && !ctx.quoted), icmpLayer, (r) => (quotesDatagram(r) && !ctx.quoted ? 'ip' : undefined)),
  },
  udp: {
    proto: 'udp', minLength: UDP_HEADER_LEN, fieldEnds: UDP_FIELD_ENDS,
    decode: (b, ctx) => {
      const p = parseUdp(b, ctx.ip, ctx.complete && !ctx.quoted);
      // Ports first, then tshark's DNS heuristic, as Wireshark tries them.
      return step(p, udpLayer, (r) => udpPayloadProto(r.srcPort, r.dstPort) ?? (p.ok && looksLikeDns(p.payload) ? 'dns' : undefined));
    },
  },
  // A segment's payload by its port (swarmkit's 2377 is TLS, as tshark shows it with `-d tcp.port==2377,tls`); the first record only.
  tcp: { proto: 'tcp', minLength: TCP_MIN_HEADER_LEN, fieldEnds: TCP_FIELD_ENDS, decode: (b) => { const p = parseTcp(b); return step(p, tcpLayer, (r) => (p.ok && p.payload.length > 0 ? tcpPayloadProto(r.srcPort, r.dstPort) : undefined)); } },
  tls: { proto: 'tls', minLength: TLS_RECORD_HEADER_LEN, fieldEnds: TLS_FIELD_ENDS, decode: (b) => step(parseTlsRecord(b), tlsLayer, () => undefined) },
  vxlan: { proto: 'vxlan', minLength: VXLAN_HEADER_LEN, fieldEnds: VXLAN_FIELD_ENDS, decode: (b) => step(parseVxlan(b), vxlanLayer, () => 'eth') },
  dns: { proto: 'dns', minLength: DNS_HEADER_LEN, fieldEnds: {}, decode: (b) => step(parseDns(b), dnsLayer, () => undefined) },
};

/** Decodes a header cut short: zero-filled to its minimum, keeping only fields whose bytes exist. */
function partialLayer(codec: Codec, b: Buffer, ctx: Context): Layer {
  const padded = Buffer.alloc(codec.minLength);
  b.copy(padded);
  const s = codec.decode(padded, ctx);
  const layer: Layer = { proto: codec.proto };
  if ('layer' in s) {
    for (const [key, value] of Object.entries(s.layer)) {
      const end = codec.fieldEnds[key];
      if (key !== 'proto' && end !== undefined && end <= b.length) layer[key] = value;
    }
  }
  layer.truncated = true;
  return layer;
}

export function dissect(frame: Buffer, linktype: number): Layer[] {
  const first: Next = linktype === LINKTYPE_ETHERNET ? 'eth' : linktype === LINKTYPE_LINUX_SLL ? 'sll' : linktype === LINKTYPE_LINUX_SLL2 ? 'sll2' : linktype === LINKTYPE_RAW ? 'ip' : undefined;
  const layers: Layer[] = [];
  const ctx: Context = { complete: true, quoted: false };
  let next: Next = first;
  let bytes = frame;
  while (next && bytes.length > 0) {
    const codec: Codec = CODECS[next];
    if (bytes.length < codec.minLength && next !== 'dns') {
      layers.push(partialLayer(codec, bytes, ctx));
      break;
    }
    const s: Step | { error: string } = codec.decode(bytes, ctx);
    if (!('layer' in s)) {
      if (next === 'dns') {
        // A message cut by the snap length is only short (Wireshark: "Packet size limited during
        // capture"); one captured whole that does not parse is malformed.
        layers.push({ ...dnsHeaderLayer(bytes), ...(ctx.complete ? { malformed: s.error } : { truncated: true }) });
        break;
      }
      layers.push({ proto: codec.proto, malformed: s.error, ...(ctx.complete ? {} : { truncated: true }) });
      break;
    }
    layers.push(s.layer);
    if (s.short) {
      ctx.complete = false;
      s.layer.truncated = true;
    }
    // The quoted datagram of an ICMP error starts a new IP context.
    if (next === 'icmp' && s.next === 'ip') ctx.quoted = true;
    next = s.next;
    bytes = s.payload;
  }
  return layers;
}

/**
 * A frame as a trace shows it: as dissect decodes it, and a datagram on Weave Net's sleeve
 * port opened as well (its header and the first frame it carries). Wireshark has no sleeve
 * dissector, so `cnmlab decode` leaves that payload as data, as tshark does; a trace opens it
 * so that the echo inside is seen on the underlay, as it is inside VXLAN.
 */
export function dissectTraced(frame: Buffer, linktype: number): Layer[] {
  const layers = dissect(frame, linktype);
  const udp = layers[layers.length - 1];
  if (linktype !== LINKTYPE_ETHERNET || udp?.proto !== 'udp' || (udp['udp.dstport'] !== SLEEVE_PORT && udp['udp.srcport'] !== SLEEVE_PORT)) return layers;
  const ip = layers.find((l) => l.proto === 'ip');
  if (!ip || ip['ip.frag_offset'] !== 0 || ip['ip.flags.mf']) return layers;
  const at = ETHERNET_HEADER_LEN + (ip['ip.hdr_len'] as number) + UDP_HEADER_LEN;
  const p = parseSleeve(frame.subarray(at, ETHERNET_HEADER_LEN + (ip['ip.len'] as number)));
  if (!p.ok || p.repr.frames.length === 0) return layers;
  const first = p.repr.frames[0];
  return [
    ...layers,
    { proto: 'sleeve', 'sleeve.sender': p.repr.sender, 'sleeve.src_peer': first.srcPeer, 'sleeve.dst_peer': first.dstPeer, 'sleeve.frames': p.repr.frames.length },
    ...dissect(first.frame, LINKTYPE_ETHERNET),
  ];
}
