/**
 * Which protocol a UDP port carries. Like Wireshark, the lower of the two ports is tried
 * first. Drivers register their own (Flannel 8472, Weave 6784).
 */
export type UdpPayloadProto = 'vxlan' | 'dns';

const udpPorts = new Map<number, UdpPayloadProto>([
  [4789, 'vxlan'],
  [53, 'dns'],
]);

export function registerUdpPort(port: number, proto: UdpPayloadProto): void {
  udpPorts.set(port, proto);
}

export function udpPayloadProto(srcPort: number, dstPort: number): UdpPayloadProto | undefined {
  const [low, high] = srcPort <= dstPort ? [srcPort, dstPort] : [dstPort, srcPort];
  return udpPorts.get(low) ?? udpPorts.get(high);
}

/** Which protocol a TCP port carries: swarmkit's API (2377) is gRPC over TLS. */
export type TcpPayloadProto = 'tls';

const tcpPorts = new Map<number, TcpPayloadProto>([[2377, 'tls']]);

export function tcpPayloadProto(srcPort: number, dstPort: number): TcpPayloadProto | undefined {
  const [low, high] = srcPort <= dstPort ? [srcPort, dstPort] : [dstPort, srcPort];
  return tcpPorts.get(low) ?? tcpPorts.get(high);
}
