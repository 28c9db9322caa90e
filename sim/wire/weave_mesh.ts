/**
 * Weave Net's mesh protocol on TCP 6783 (weaveworks/mesh protocol.go, connection.go,
 * gossip_channel.go, peers.go), without encryption, as each end of a connection writes it:
 * - the protocol header: "weave", then the lowest and highest protocol versions it speaks
 *   (1 and 2); the connection uses the highest both speak (2);
 * - version 2: one byte, the encryption flag (0: none), then messages, each behind its
 *   length (4 bytes, big-endian);
 * - the first message: the features (a gob map[string]string: the peer's name, nickname,
 *   short id, UID, the connection's id, whether it trusts the remote, the overlays it has);
 * - then protocol messages: a tag byte, then the payload. A gossip message's payload is gob:
 *   the channel's name, the sending peer's name (a uint64: the MAC as a number), the
 *   channel's data as a byte slice. The "topology" channel's data is gob too: per peer its
 *   summary (name, nickname, UID, version, short id) and its connections.
 * Sleeve's control messages (its reserved tags 1-3) travel on the same connection.
 */
import { be32 } from './bytes';
import { emitGob, GOB_BOOL, GOB_BYTES, GOB_STRING, GOB_UINT, GobItem, GobMap, GobStruct, GobType, GobTypeIds, parseGob } from './gob';
import { fail, Parsed } from './layer';

export const MESH_PORT = 6783;
export const MESH_PROTOCOL = 'weave';
export const MESH_MIN_VERSION = 1;
export const MESH_MAX_VERSION = 2;
const HEADER_LEN = MESH_PROTOCOL.length + 2;
const LENGTH_PREFIX = 4;

/** mesh's protocolTag, and sleeve's use of the reserved ones (router/sleeve.go). */
export const MESH_TAG = {
  heartbeat: 0,
  connectionEstablished: 1,
  fragmentationReceived: 2,
  pmtuVerified: 3,
  gossip: 4,
  gossipUnicast: 5,
  gossipBroadcast: 6,
  overlayControl: 7,
} as const;

export const TOPOLOGY_CHANNEL = 'topology';

export const FEATURES_TYPE: GobType = { kind: 'map', key: GOB_STRING, elem: GOB_STRING };
export const PEER_SUMMARY_TYPE: GobType = {
  kind: 'struct', name: 'peerSummary', fields: [
    { name: 'NameByte', type: GOB_BYTES }, { name: 'NickName', type: GOB_STRING }, { name: 'UID', type: GOB_UINT },
    { name: 'Version', type: GOB_UINT }, { name: 'ShortID', type: GOB_UINT }, { name: 'HasShortID', type: GOB_BOOL },
  ],
};
const CONNECTION_SUMMARY_TYPE: GobType = {
  kind: 'struct', name: 'connectionSummary', fields: [
    { name: 'NameByte', type: GOB_BYTES }, { name: 'RemoteTCPAddr', type: GOB_STRING }, { name: 'Outbound', type: GOB_BOOL }, { name: 'Established', type: GOB_BOOL },
  ],
};
export const CONNECTION_SUMMARIES_TYPE: GobType = { kind: 'slice', elem: CONNECTION_SUMMARY_TYPE };

export interface MeshHeader {
  minVersion: number;
  maxVersion: number;
}

export function emitMeshHeader(h: MeshHeader): Buffer {
  return Buffer.concat([Buffer.from(MESH_PROTOCOL, 'ascii'), Buffer.of(h.minVersion, h.maxVersion)]);
}

export function parseMeshHeader(b: Buffer): Parsed<MeshHeader> {
  if (b.length < HEADER_LEN) return fail(`weave mesh: ${b.length} bytes, the protocol header needs ${HEADER_LEN}`);
  if (b.toString('latin1', 0, MESH_PROTOCOL.length) !== MESH_PROTOCOL) return fail(`weave mesh: remote protocol header not recognised: ${[...b.subarray(0, MESH_PROTOCOL.length)].join(' ')}`);
  return { ok: true, repr: { minVersion: b[5], maxVersion: b[6] }, headerLength: HEADER_LEN, payload: b.subarray(HEADER_LEN) };
}

/** A version 2 message: its length, then it. */
export function emitLengthPrefixed(msg: Uint8Array): Buffer {
  const b = Buffer.alloc(LENGTH_PREFIX + msg.length);
  b.writeUInt32BE(msg.length, 0);
  b.set(msg, LENGTH_PREFIX);
  return b;
}

/** The peer's features, in the order makeFeatures lists them (a Go map's order on the wire is random; any decodes the same). */
export function emitFeatures(ids: GobTypeIds, features: readonly [string, string][]): Buffer {
  return emitGob(ids, [{ type: FEATURES_TYPE, value: { entries: features.map(([k, v]) => [k, v]) } }]);
}

export interface PeerSummary {
  name: string;
  nickname: string;
  uid: bigint;
  version: bigint;
  shortId: number;
  connections: { name: string; remoteTcpAddr: string; outbound: boolean; established: boolean }[];
}

function macBytes(mac: string): Uint8Array {
  return Uint8Array.from(mac.split(':').map((x) => parseInt(x, 16)));
}

function macOf(b: Uint8Array): string {
  return [...b].map((x) => x.toString(16).padStart(2, '0')).join(':');
}

/** mesh's PeerName for the "mac" flavour: the MAC's six bytes as one number. */
export function peerNameNumber(mac: string): bigint {
  return BigInt(`0x${mac.split(':').join('')}`);
}

/** Peers.encodePeers: each peer's summary, then the list of its connections, on one encoder. */
export function emitTopology(ids: GobTypeIds, peers: readonly PeerSummary[]): Buffer {
  return emitGob(ids, peers.flatMap((p): GobItem[] => [
    { type: PEER_SUMMARY_TYPE, value: { NameByte: macBytes(p.name), NickName: p.nickname, UID: p.uid, Version: p.version, ShortID: BigInt(p.shortId), HasShortID: true } },
    { type: CONNECTION_SUMMARIES_TYPE, value: p.connections.map((c) => ({ NameByte: macBytes(c.name), RemoteTCPAddr: c.remoteTcpAddr, Outbound: c.outbound, Established: c.established })) },
  ]));
}

export interface GossipMessage {
  channel: string;
  /** The sending peer's name (a MAC). */
  sender: string;
  data: Uint8Array;
}

/** gossipChannel.makeMsg: the channel, the sender and the data, on one encoder. */
export function emitGossip(ids: GobTypeIds, g: GossipMessage): Buffer {
  return emitGob(ids, [{ type: GOB_STRING, value: g.channel }, { type: GOB_UINT, value: peerNameNumber(g.sender) }, { type: GOB_BYTES, value: g.data }]);
}

/** A protocol message: its tag and payload, behind the length prefix. */
export function emitProtocolMessage(tag: number, payload: Uint8Array = new Uint8Array(0)): Buffer {
  return emitLengthPrefixed(Buffer.concat([Buffer.of(tag), payload]));
}

export type MeshMessage =
  | { kind: 'features'; features: [string, string][] }
  | { kind: 'protocol'; tag: number; payload: Buffer; gossip?: GossipMessage; topology?: PeerSummary[] };

/** What one end writes on a version 2 connection without encryption. */
export interface MeshStream {
  header: MeshHeader;
  encrypted: boolean;
  messages: MeshMessage[];
}

/** The whole of what one end wrote: the header, the encryption flag, the features and its protocol messages. */
export function emitMeshStream(ids: GobTypeIds, s: MeshStream): Buffer {
  const parts: Buffer[] = [emitMeshHeader(s.header), Buffer.of(s.encrypted ? 1 : 0)];
  for (const m of s.messages) {
    if (m.kind === 'features') parts.push(emitLengthPrefixed(emitFeatures(ids, m.features)));
    else if (m.gossip) parts.push(emitProtocolMessage(m.tag, emitGossip(ids, { ...m.gossip, data: m.topology ? emitTopology(ids, m.topology) : m.gossip.data })));
    else parts.push(emitProtocolMessage(m.tag, m.payload));
  }
  return Buffer.concat(parts);
}

function decodeTopology(data: Uint8Array): PeerSummary[] | string {
  const p = parseGob(data);
  if (!p.ok) return p.error;
  const items = p.repr;
  const peers: PeerSummary[] = [];
  for (let i = 0; i + 1 < items.length; i += 2) {
    const s = items[i].value as GobStruct, conns = items[i + 1].value as GobStruct[];
    if (!(s.NameByte instanceof Uint8Array) || !Array.isArray(conns)) return 'topology: expected a peer summary, then its connections';
    peers.push({
      name: macOf(s.NameByte), nickname: String(s.NickName ?? ''), uid: BigInt(s.UID as bigint ?? 0n), version: BigInt(s.Version as bigint ?? 0n), shortId: Number(s.ShortID ?? 0n),
      connections: conns.map((c) => ({ name: macOf(c.NameByte as Uint8Array), remoteTcpAddr: String(c.RemoteTCPAddr ?? ''), outbound: c.Outbound === true, established: c.Established === true })),
    });
  }
  if (items.length % 2 !== 0) return 'topology: a peer summary without its connections';
  return peers;
}

function decodeGossip(payload: Buffer): GossipMessage | string {
  const p = parseGob(payload);
  if (!p.ok) return p.error;
  const [channel, sender, data] = p.repr.map((i) => i.value);
  if (typeof channel !== 'string' || typeof sender !== 'bigint' || !(data instanceof Uint8Array)) return 'gossip: expected a channel name, a peer name and data';
  return { channel, sender: macOf(Uint8Array.from(sender.toString(16).padStart(12, '0').match(/../g)!.map((x) => parseInt(x, 16)))), data };
}

/** The mirror of emitMeshStream: one end's bytes, read as the other end's receiver reads them. */
export function parseMeshStream(b: Buffer): Parsed<MeshStream> {
  const h = parseMeshHeader(b);
  if (!h.ok) return h;
  let at = HEADER_LEN;
  if (at >= b.length) return fail('weave mesh: no encryption flag after the protocol header');
  const flag = b[at++];
  if (flag > 1) return fail(`weave mesh: Bad encryption flag ${flag}`);
  if (flag === 1) return fail('weave mesh: an encrypted connection (its messages are sealed with the session key)');
  const messages: MeshMessage[] = [];
  while (at < b.length) {
    if (b.length - at < LENGTH_PREFIX) return fail(`weave mesh: a length prefix cut short at ${at}`);
    const length = be32(b, at) >>> 0;
    const start = at + LENGTH_PREFIX;
    if (start + length > b.length) return fail(`weave mesh: a message at ${at} says ${length} bytes, ${b.length - start} follow`);
    const body = b.subarray(start, start + length);
    at = start + length;
    if (messages.length === 0) {
      const g = parseGob(body);
      if (!g.ok) return fail(`weave mesh: features: ${g.error}`);
      const map = g.repr[0]?.value as GobMap | undefined;
      if (g.repr.length !== 1 || !map || !Array.isArray(map.entries)) return fail('weave mesh: the first message is not the features map');
      messages.push({ kind: 'features', features: map.entries.map(([k, v]) => [String(k), String(v)]) });
      continue;
    }
    if (body.length === 0) continue;
    const tag = body[0], payload = body.subarray(1);
    if (tag === MESH_TAG.gossip || tag === MESH_TAG.gossipBroadcast) {
      const gossip = decodeGossip(payload);
      if (typeof gossip === 'string') return fail(`weave mesh: ${gossip}`);
      const topology = gossip.channel === TOPOLOGY_CHANNEL ? decodeTopology(gossip.data) : undefined;
      if (typeof topology === 'string') return fail(`weave mesh: ${topology}`);
      messages.push({ kind: 'protocol', tag, payload, gossip, ...(topology ? { topology } : {}) });
    } else {
      messages.push({ kind: 'protocol', tag, payload });
    }
  }
  return { ok: true, repr: { header: h.repr, encrypted: false, messages }, headerLength: HEADER_LEN + 1, payload: b.subarray(HEADER_LEN + 1) };
}
