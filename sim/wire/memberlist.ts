/**
 * hashicorp/memberlist's messages (v0.4.0, as moby 20.10 vendors it), as NetworkDB sends
 * them in swarm mode, where the swarm's network keys encrypt every one:
 *
 * - a message is its type byte and the MessagePack of its struct (ping, ackResp, the
 *   push/pull header and node states, a user message's header);
 * - packets (UDP) are LZW-compressed when that makes them smaller (compressPayload: the
 *   compress struct behind compressMsg), get a CRC header (hasCrcMsg, CRC-32 of what
 *   follows) when sent to a known node speaking protocol 5 (SendToUDP; pings and acks go by
 *   address and carry none), then are encrypted;
 * - streams (TCP: push/pull, user messages) are always compressed, then encrypted behind
 *   encryptMsg and the encrypted length (encryptLocalState);
 * - encryption is AES-GCM, version 1: the version byte, a 12-byte random nonce, the
 *   ciphertext (as long as the plaintext) and the 16-byte tag.
 *
 * cnmlab has no swarm keys: the ciphertext and tag are seeded random bytes of the lengths
 * the real encoder gives, so the packets are as opaque as the real ones and as long.
 */
import { emitMsgpack, MsgpackStruct, rawHeaderLength } from './msgpack';
import { lzwCompress, lzwCompressedLength } from './lzw';
import { fail, Parsed } from './layer';

/** memberlist's messageType values. */
export const MEMBERLIST_MSG = { ping: 0, ackResp: 2, pushPull: 6, compound: 7, user: 8, compress: 9, encrypt: 10, hasCrc: 12 } as const;

export const MEMBERLIST_PORT = 7946;
export const ENCRYPTION_VERSION = 1;
export const NONCE_LEN = 12;
export const TAG_LEN = 16;
/** versionSize + nonceSize + tagSize. */
export const ENCRYPT_OVERHEAD = 1 + NONCE_LEN + TAG_LEN;

/** A message: its type byte, then its struct in MessagePack (memberlist's encode). */
export function memberlistMessage(type: number, body: MsgpackStruct): Buffer {
  return Buffer.concat([Buffer.from([type]), emitMsgpack(body)]);
}

/** The ping a probe sends (state.go probeNode): who it is for, and where to answer. */
export function pingMessage(seqNo: number, node: string, sourceAddr: Uint8Array, sourcePort: number, sourceNode: string): Buffer {
  return memberlistMessage(MEMBERLIST_MSG.ping, { fields: [['SeqNo', seqNo], ['Node', node], ['SourceAddr', { bytes: sourceAddr }], ['SourcePort', sourcePort], ['SourceNode', sourceNode]] });
}

/** The ack (handlePing): no ping delegate in NetworkDB, so a nil payload. */
export function ackMessage(seqNo: number): Buffer {
  return memberlistMessage(MEMBERLIST_MSG.ackResp, { fields: [['SeqNo', seqNo], ['Payload', 'nil']] });
}

/** A member as a push/pull carries it (pushNodeState). */
export interface PushNodeState {
  name: string;
  addr: Uint8Array;
  port: number;
  incarnation: number;
  /** stateAlive 0, suspect 1, dead 2, left 3. */
  state: number;
}

/** Protocol versions min, max, current; the delegate's three (NetworkDB sets none). */
const VSN = new Uint8Array([1, 5, 5, 0, 0, 0]);

/** sendLocalState's buffer: pushPullMsg, the header, every member, then the delegate's state. */
export function pushPullMessage(nodes: PushNodeState[], userState: Uint8Array, join: boolean): Buffer {
  const header = emitMsgpack({ fields: [['Nodes', nodes.length], ['UserStateLen', userState.length], ['Join', join]] });
  const states = nodes.map((n) => emitMsgpack({ fields: [['Name', n.name], ['Addr', { bytes: n.addr }], ['Port', n.port], ['Meta', { bytes: new Uint8Array(0) }], ['Incarnation', n.incarnation], ['State', n.state], ['Vsn', { bytes: VSN }]] }));
  return Buffer.concat([Buffer.from([MEMBERLIST_MSG.pushPull]), header, ...states, userState]);
}

/** sendUserMsg's buffer (SendToTCP): userMsg, the header with the payload's length, the payload. */
export function userStreamMessage(payload: Uint8Array): Buffer {
  return Buffer.concat([memberlistMessage(MEMBERLIST_MSG.user, { fields: [['UserMsgLen', payload.length]] }), payload]);
}

/** SendToUDP's buffer: userMsg, then the delegate's bytes as they are. */
export function userPacketMessage(payload: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from([MEMBERLIST_MSG.user]), payload]);
}

/** makeCompoundMessage: compoundMsg, how many, each one's length (uint16), then the messages. */
export function memberlistCompound(messages: Uint8Array[]): Buffer {
  const header = Buffer.alloc(2 + 2 * messages.length);
  header[0] = MEMBERLIST_MSG.compound;
  header[1] = messages.length;
  messages.forEach((m, i) => header.writeUInt16BE(m.length, 2 + 2 * i));
  return Buffer.concat([header, ...messages]);
}

/** compressPayload: the LZW of the message inside a compress struct (Algo lzwAlgo 0). */
export function compressMessage(msg: Uint8Array): Buffer {
  return memberlistMessage(MEMBERLIST_MSG.compress, { fields: [['Algo', 0], ['Buf', { bytes: lzwCompress(msg) }]] });
}

/** The compress struct around an empty Buf, made once: a Buf of n bytes adds them, and the longer head of a raw that long. */
let emptyCompressedLength: number | undefined;

/** compressMessage(msg).length: the compress struct around a Buf as long as the LZW would be, counted, not written. */
export function compressedMessageLength(msg: Uint8Array): number {
  emptyCompressedLength ??= memberlistMessage(MEMBERLIST_MSG.compress, { fields: [['Algo', 0], ['Buf', { bytes: new Uint8Array(0) }]] }).length;
  const n = lzwCompressedLength(msg);
  return emptyCompressedLength - rawHeaderLength(0) + rawHeaderLength(n) + n;
}

/** Bytes that stand for what only the key could make (nonce, ciphertext, tag). */
export type OpaqueBytes = (length: number) => Uint8Array;

/** encryptPayload, version 1: version, nonce, ciphertext and tag (the last two opaque here). */
export function encryptedEnvelope(plaintextLength: number, opaque: OpaqueBytes): Buffer {
  return Buffer.concat([Buffer.from([ENCRYPTION_VERSION]), opaque(NONCE_LEN), opaque(plaintextLength + TAG_LEN)]);
}

/** The CRC header (hasCrcMsg and the IEEE CRC-32 of what follows) sent to a node whose protocol knows it. */
const CRC_HEADER_LEN = 5;

/**
 * How long rawSendMsgPacket's plaintext is: the message, compressed if that is smaller, after
 * the CRC header for a node that knows it. Encryption hides the rest (the CRC's value too),
 * so the length is all a packet shows of them.
 */
export function packetPlaintextLength(msg: Uint8Array, withCrc: boolean): number {
  return Math.min(compressedMessageLength(msg), msg.length) + (withCrc ? CRC_HEADER_LEN : 0);
}

/** rawSendMsgPacket: compressed if smaller, the CRC header for a node that knows it, encrypted. */
export function memberlistPacket(msg: Uint8Array, withCrc: boolean, opaque: OpaqueBytes): Buffer {
  return encryptedEnvelope(packetPlaintextLength(msg, withCrc), opaque);
}

/** rawSendMsgStream: compressed, then encryptMsg, the encrypted length and the envelope. */
export function memberlistStream(msg: Uint8Array, opaque: OpaqueBytes): Buffer {
  const plainLength = compressedMessageLength(msg);
  const header = Buffer.alloc(5);
  header[0] = MEMBERLIST_MSG.encrypt;
  header.writeUInt32BE(ENCRYPT_OVERHEAD + plainLength, 1);
  return Buffer.concat([header, encryptedEnvelope(plainLength, opaque)]);
}

/** What an encrypted packet shows without the key: its version, nonce and how much it hides. */
export interface EncryptedPacket {
  version: number;
  nonce: Buffer;
  /** Ciphertext and tag. */
  sealedLength: number;
}

export function parseEncryptedPacket(b: Buffer): Parsed<EncryptedPacket> {
  if (b.length < ENCRYPT_OVERHEAD) return fail(`memberlist: ${b.length} bytes, an encrypted packet needs ${ENCRYPT_OVERHEAD}`);
  if (b[0] !== ENCRYPTION_VERSION) return fail(`memberlist: encryption version ${b[0]}, not ${ENCRYPTION_VERSION}`);
  return { ok: true, repr: { version: b[0], nonce: b.subarray(1, 1 + NONCE_LEN), sealedLength: b.length - 1 - NONCE_LEN }, headerLength: 1 + NONCE_LEN, payload: b.subarray(1 + NONCE_LEN) };
}
