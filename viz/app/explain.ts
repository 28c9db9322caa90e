/** One line per hop saying what the kernel did there and why, in a student's words. */
import type { Hop } from '../../sim/trace/types';
import type { Layer } from '../../sim/wire/layer';

const last = (h: Hop, proto: string): Layer | undefined => h.layers.filter((l) => l.proto === proto).pop();
const first = (h: Hop, proto: string): Layer | undefined => h.layers.find((l) => l.proto === proto);

/** What VXLAN adds in front of the inner frame, measured on this hop's frame. */
export interface AddedHeaders {
  total: number;
  parts: { name: string; bytes: number }[];
  innerFrame: number;
}

export function vxlanOverhead(h: Hop): AddedHeaders | undefined {
  const vxIndex = h.layers.findIndex((l) => l.proto === 'vxlan');
  if (vxIndex < 0) return undefined;
  const outerIp = h.layers.slice(0, vxIndex).find((l) => l.proto === 'ip');
  const innerIp = h.layers.slice(vxIndex).find((l) => l.proto === 'ip');
  const ipHeader = (outerIp?.['ip.hdr_len'] as number | undefined) ?? 20;
  const parts = [{ name: 'outer Ethernet', bytes: 14 }, { name: 'outer IPv4', bytes: ipHeader }, { name: 'UDP', bytes: 8 }, { name: 'VXLAN', bytes: 8 }];
  // The inner frame is the outer UDP payload less the VXLAN header.
  const udpLen = first(h, 'udp')?.['udp.length'] as number | undefined;
  const innerFrame = udpLen !== undefined ? udpLen - 16 : innerIp ? (innerIp['ip.len'] as number) + 14 : 0;
  return { total: parts.reduce((a, p) => a + p.bytes, 0), parts, innerFrame };
}

function icmpWhat(h: Hop): string {
  const t = last(h, 'icmp')?.['icmp.type'];
  return t === 8 ? 'echo request' : t === 0 ? 'echo reply' : 'packet';
}

function innerDst(h: Hop): { mac: string; ip: string } {
  const eth = h.layers.filter((l) => l.proto === 'eth').pop();
  const ip = last(h, 'ip');
  const arp = first(h, 'arp');
  return { mac: String(eth?.['eth.dst'] ?? '?'), ip: String(ip?.['ip.dst'] ?? arp?.['arp.dst.proto_ipv4'] ?? '?') };
}

/** Names a namespace as a student knows it: the container's name, or undefined. */
export type NameOf = (host: string, netns: string) => string | undefined;

export function explainHop(h: Hop, nameOf: NameOf = () => undefined): string {
  const dst = innerDst(h);
  const here = nameOf(h.host, h.netns);
  const outer = first(h, 'ip');
  const vx = first(h, 'vxlan');
  const arp = first(h, 'arp');
  const dns = first(h, 'dns');
  const bridge = h.actor ?? 'the bridge';
  switch (h.event) {
    case 'dns-query': return `The container asks Docker's embedded DNS server (127.0.0.11) for the address of ${dns?.['dns.qry.name'] ?? 'a name'}.`;
    case 'dns-answer': return `The embedded DNS answers from Docker's own records: ${dns?.['dns.qry.name'] ?? 'the name'} is ${((dns?.['dns.a'] as string[] | undefined) ?? []).join(', ') || 'unknown'}.`;
    case 'arp-request': return `The kernel does not know which MAC address has ${arp?.['arp.dst.proto_ipv4']}, so it broadcasts an ARP "who has ${arp?.['arp.dst.proto_ipv4']}?".`;
    case 'arp-proxy-reply': return `vxlan0 answers the ARP itself (proxy ARP): Docker put ${arp?.['arp.src.proto_ipv4']} → ${arp?.['arp.src.hw_mac']} in its neighbour table, so no broadcast crosses the underlay.`;
    case 'arp-reply': return `ARP reply: ${arp?.['arp.src.proto_ipv4']} is at ${arp?.['arp.src.hw_mac']}.`;
    case 'send': return `${here ?? (h.netns === h.host ? h.host : 'The container')} sends the ${icmpWhat(h)} for ${dst.ip} out of ${h.device}, to MAC ${dst.mac}.`;
    case 'veth-cross': return `The frame crosses the veth pair: what leaves the container's eth0 comes out of ${h.device} in ${h.netns === h.host ? `${h.host}'s own namespace` : `the namespace ${h.netns}`}, a port of a bridge.`;
    case 'bridge-forward':
      // Seen on the bridge device itself (no actor): the bridge and its host's stack, as on the gwbridge path.
      if (!h.actor) {
        return h.dir === 'request'
          ? `${h.device} is the container's gateway: the frame is addressed to its own MAC (${dst.mac}), so the bridge hands it up to ${h.host}'s IP stack instead of forwarding it to a port.`
          : `${h.host} sends the packet for ${dst.ip} down through ${h.device}, its route to the container's subnet, to the container's MAC ${dst.mac}.`;
      }
      return `${bridge} looks up ${dst.mac} in its FDB and finds it behind ${h.device}, so it forwards the frame there.`;
    case 'bridge-flood': return `${bridge} does not know where ${dst.mac} is, so it floods the frame to every port, ${h.device} among them.`;
    case 'encap': {
      const o = vxlanOverhead(h);
      return `${h.actor ?? 'vxlan0'} finds ${dst.mac} in its FDB behind VTEP ${outer?.['ip.dst']}, wraps the frame in outer headers (+${o?.total ?? 50} bytes, VNI ${vx?.['vxlan.vni']}) and sends it out of ${h.host}'s ${h.device}.`;
    }
    case 'underlay':
      if (!vx) return `The underlay network carries the IP packet from ${outer?.['ip.src']} to ${outer?.['ip.dst']} as it is, without encapsulation: no container address is left in it.`;
      return `The underlay network carries a plain UDP datagram from ${outer?.['ip.src']} to ${outer?.['ip.dst']} (port 4789); nothing on the way sees the container addresses inside.`;
    case 'udp-deliver': return `${h.host}'s kernel receives UDP port 4789 and hands the datagram to the VXLAN device for VNI ${vx?.['vxlan.vni']}.`;
    case 'decap': return `vxlan0 strips the outer headers (−50 bytes) and puts the inner frame for ${dst.mac} onto br0 in the overlay namespace.`;
    case 'deliver': return `${here ?? dst.ip}'s ${h.device} receives the frame; the kernel ${icmpWhat(h) === 'echo request' ? 'answers the echo request with an echo reply' : 'hands the reply to ping'}.`;
    case 'forward':
      return h.dir === 'request'
        ? `${h.host} routes the packet on (ip_forward) out of ${h.device} with its TTL one less (${outer?.['ip.ttl']}), from ${outer?.['ip.src']} to ${outer?.['ip.dst']}: where the host masquerades (Docker's rule for docker_gwbridge's subnet), that source is its own address, so the answer comes back to it.`
        : `The answer for ${outer?.['ip.dst']} comes in on ${h.device} and ${h.host} routes it on (ip_forward) toward the container; where the host masqueraded the request, conntrack first gives the answer the container's address back.`;
    case 'fragment': return `The packet is larger than ${h.device}'s MTU, so IP splits it into fragments.`;
    case 'drop': return `The kernel drops the packet here: ${h.reason ?? 'no reason given'}.`;
    case 'miss': return `${h.device} has no entry for the destination and was made with l2miss/l3miss, so the kernel tells whoever listens to the namespace's neighbour notifications: dockerd (classic overlay mode) does (${h.note ?? 'a miss'}).`;
    case 'peer-query': return `dockerd does not read its peers from the key-value store: it asks the other dockerds with a serf query, which leaves with serf's next gossip round (${h.note ?? 'peerlookup'}).`;
    case 'peer-answer': return `A dockerd that knows the address answers with its MAC, mask and VTEP (${h.note ?? 'an answer'}).`;
    case 'peer-programmed': return `dockerd programs the answer on ${h.device} as a permanent neighbour and FDB entry; the container's next ARP try (a second after the first) is answered by proxy, and every later frame finds the entries (${h.note ?? 'peerAdd'}).`;
    default: return h.note ?? h.event;
  }
}

/** Why an overlay container's MTU is 1450: the underlay's 1500 less what VXLAN adds. */
export const MTU_NOTE = 'An overlay container\'s eth0 has MTU 1450: the underlay carries 1500-byte packets, and VXLAN adds 50 bytes (outer Ethernet 14 is outside the MTU; outer IPv4 20 + UDP 8 + VXLAN 8 + the inner Ethernet header 14 = 50), so 1450 + 50 = 1500.';
