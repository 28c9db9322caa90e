/**
 * The namespaces' sockets: ping sockets by ICMP identifier, UDP sockets by (address,
 * port), and the numbers a socket is given (ephemeral ports, ping identifiers).
 */
import type { SimNetns } from '../objects';
import type { Ipv4Header } from '../../wire/ipv4';
import type { Skb } from './skb';
import type { TcpHeader } from '../../wire/tcp';

/** The ephemeral port range (net.ipv4.ip_local_port_range's default). */
export const EPHEMERAL_PORT_MIN = 32768;
export const EPHEMERAL_PORT_MAX = 60999;

export interface EchoSocket {
  onReply(seq: number, ttl: number, bytes: number, from: string): void;
  /**
   * An error about one of its probes: iputils' line for it, and the ICMP type when it came
   * as an ICMP packet (a raw socket such as BusyBox's reads those); none when the local stack
   * reported it on the socket's error queue.
   */
  onError(seq: number, message: string, icmpType?: number): void;
}

/** What a connected TCP socket does with a segment: its header and payload. */
export type TcpReceiver = (t: TcpHeader, payload: Buffer, skb: Skb) => void;

/** What a bound UDP socket does with a datagram: the IP header, the sender's port, the payload. */
export type UdpReceiver = (h: Ipv4Header, srcPort: number, payload: Buffer, skb: Skb) => void;

export class Sockets {
  private readonly echoSockets = new Map<SimNetns, Map<number, EchoSocket>>();
  private readonly udpSockets = new Map<string, UdpReceiver>();
  private readonly tcpSockets = new Map<string, TcpReceiver>();
  private ephemeralPort = 40000;
  private pingIdent = 0x26;

  echo(ns: SimNetns, ident: number): EchoSocket | undefined {
    return this.echoSockets.get(ns)?.get(ident);
  }

  /** Opens a ping socket; the function returned closes it. */
  openEcho(ns: SimNetns, ident: number, socket: EchoSocket): () => void {
    let sockets = this.echoSockets.get(ns);
    if (!sockets) this.echoSockets.set(ns, (sockets = new Map()));
    sockets.set(ident, socket);
    return () => sockets.delete(ident);
  }

  udp(ns: SimNetns, ip: string, port: number): UdpReceiver | undefined {
    return this.udpSockets.get(udpKey(ns, ip, port));
  }

  isBoundUdp(ns: SimNetns, ip: string, port: number): boolean {
    return this.udpSockets.has(udpKey(ns, ip, port));
  }

  /** Binds a UDP socket; the function returned closes it. */
  bindUdp(ns: SimNetns, ip: string, port: number, receive: UdpReceiver): () => void {
    const key = udpKey(ns, ip, port);
    this.udpSockets.set(key, receive);
    return () => this.udpSockets.delete(key);
  }

  tcp(ns: SimNetns, local: string, localPort: number, remote: string, remotePort: number): TcpReceiver | undefined {
    return this.tcpSockets.get(tcpKey(ns, local, localPort, remote, remotePort));
  }

  /** Opens one end of a TCP connection, by its four-tuple; the function returned closes it. */
  connectTcp(ns: SimNetns, local: string, localPort: number, remote: string, remotePort: number, receive: TcpReceiver): () => void {
    const key = tcpKey(ns, local, localPort, remote, remotePort);
    this.tcpSockets.set(key, receive);
    return () => this.tcpSockets.delete(key);
  }

  /** Client ports (from the ephemeral range). */
  nextEphemeralPort(): number {
    this.ephemeralPort = this.ephemeralPort >= EPHEMERAL_PORT_MAX ? EPHEMERAL_PORT_MIN : this.ephemeralPort + 1;
    return this.ephemeralPort;
  }

  /** ICMP echo identifiers, one per ping run (iputils uses its pid). */
  nextPingIdent(): number {
    this.pingIdent = (this.pingIdent + 1) & 0xffff;
    return this.pingIdent;
  }
}

function udpKey(ns: SimNetns, ip: string, port: number): string {
  return `${ns.host.name}|${ns.name}|${ip}|${port}`;
}

function tcpKey(ns: SimNetns, local: string, localPort: number, remote: string, remotePort: number): string {
  return `${ns.host.name}|${ns.name}|${local}|${localPort}|${remote}|${remotePort}`;
}
