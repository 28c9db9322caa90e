declare module 'pcap-parser' {
  import { EventEmitter } from 'events';
  import { Readable } from 'stream';
  export interface GlobalHeader {
    magicNumber: number; majorVersion: number; minorVersion: number; gmtOffset: number;
    timestampAccuracy: number; snapshotLength: number; linkLayerType: number;
  }
  export interface PacketHeader {
    timestampSeconds: number; timestampMicroseconds: number; capturedLength: number; originalLength: number;
  }
  export interface Parser extends EventEmitter {
    on(event: 'globalHeader', cb: (h: GlobalHeader) => void): this;
    on(event: 'packetHeader', cb: (h: PacketHeader) => void): this;
    on(event: 'packet', cb: (p: { header: PacketHeader; data: Buffer }) => void): this;
    on(event: 'end', cb: () => void): this;
    on(event: 'error', cb: (e: Error) => void): this;
  }
  export function parse(input: string | Readable): Parser;
}
