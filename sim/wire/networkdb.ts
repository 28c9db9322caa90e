/**
 * libnetwork's NetworkDB messages (networkdb.proto, v20.10) and the table values the
 * overlay driver and the service records put in them (overlay.proto's PeerRecord,
 * agent.proto's EndpointRecord), marshalled as gogo/protobuf does: what travels inside
 * memberlist's user messages, before memberlist compresses and encrypts it.
 */
import { bytesFieldLength, emitProtobuf, fieldLength, ProtoField, stringFieldLength } from './protobuf';

/** networkdb.MessageType. */
export const NETWORKDB_MSG = { networkEvent: 1, tableEvent: 2, pushPull: 3, bulkSync: 4, compound: 5, nodeEvent: 6 } as const;
/** NodeEvent.Type. */
export const NODE_EVENT = { join: 1, leave: 2 } as const;
/** NetworkEvent.Type. */
export const NETWORK_EVENT = { join: 1, leave: 2 } as const;
/** TableEvent.Type. */
export const TABLE_EVENT = { create: 1, update: 2, delete: 3 } as const;

export const OVERLAY_PEER_TABLE = 'overlay_peer_table';
export const ENDPOINT_TABLE = 'endpoint_table';

/** encodeMessage: the message inside a GossipMessage of its type. */
export function gossipMessage(type: number, data: Uint8Array): Buffer {
  return emitProtobuf([[1, type], [2, data]]);
}

export interface NodeEventRepr {
  type: number;
  /** The node's network clock (a Lamport time) when it joined or left the cluster. */
  lTime: number;
  nodeName: string;
}

/** sendNodeEvent's message: a node joined or left the gossip cluster. */
export function nodeEvent(e: NodeEventRepr): Buffer {
  return gossipMessage(NETWORKDB_MSG.nodeEvent, emitProtobuf([[1, e.type], [2, e.lTime], [3, e.nodeName]]));
}

export interface NetworkEventRepr {
  type: number;
  /** The node's network clock (a Lamport time) when it joined or left. */
  lTime: number;
  nodeName: string;
  networkId: string;
}

/** sendNetworkEvent's message: a node joined or left a network. */
export function networkEvent(e: NetworkEventRepr): Buffer {
  return gossipMessage(NETWORKDB_MSG.networkEvent, emitProtobuf([[1, e.type], [2, e.lTime], [3, e.nodeName], [4, e.networkId]]));
}

export interface TableEventRepr {
  type: number;
  lTime: number;
  nodeName: string;
  networkId: string;
  tableName: string;
  key: string;
  value: Uint8Array;
  /** Seconds left before a deleted entry is reaped (set on deletes). */
  residualReapTime?: number;
}

export function tableEvent(e: TableEventRepr): Buffer {
  return gossipMessage(NETWORKDB_MSG.tableEvent, emitProtobuf([[1, e.type], [2, e.lTime], [3, e.nodeName], [4, e.networkId], [5, e.tableName], [6, e.key], [7, e.value], [8, e.residualReapTime]]));
}

/** tableEvent's length, its value given by its length: for an event the trace counts but does not keep. */
export function tableEventLength(e: Omit<TableEventRepr, 'value'> & { value: { readonly length: number } }): number {
  return tableEventLengthOf(e.type, e.lTime, e.nodeName, e.networkId, e.tableName, e.key, e.value.length, e.residualReapTime);
}

/** tableEventLength by its fields, with no event to make: a big swarm sizes one per entry it gossips. */
export function tableEventLengthOf(type: number, lTime: number, nodeName: string, networkId: string, tableName: string, key: string, valueLength: number, residualReapTime: number | undefined): number {
  const length = fieldLength(1, type) + fieldLength(2, lTime) + stringFieldLength(3, nodeName) + stringFieldLength(4, networkId) + stringFieldLength(5, tableName)
    + stringFieldLength(6, key) + bytesFieldLength(7, valueLength) + fieldLength(8, residualReapTime);
  return fieldLength(1, NETWORKDB_MSG.tableEvent) + bytesFieldLength(2, length);
}

/** makeCompoundMessage: the messages one gossip round sends, each as a SimpleMessage. */
export function compoundMessage(messages: Uint8Array[]): Buffer {
  return gossipMessage(NETWORKDB_MSG.compound, emitProtobuf(messages.map((m): ProtoField => [1, emitProtobuf([[1, m]])])));
}

/** The overlay driver's peer entry: the endpoint's address (CIDR), MAC and its host's VTEP. */
export function peerRecord(endpointIp: string, endpointMac: string, tunnelEndpointIp: string): Buffer {
  return emitProtobuf([[1, endpointIp], [2, endpointMac], [3, tunnelEndpointIp]]);
}

/** peerRecord's length. */
export function peerRecordLength(endpointIp: string, endpointMac: string, tunnelEndpointIp: string): number {
  return stringFieldLength(1, endpointIp) + stringFieldLength(2, endpointMac) + stringFieldLength(3, tunnelEndpointIp);
}

/** The service-discovery entry of a named container (addServiceInfoToCluster). */
export function endpointRecord(name: string, endpointIp: string, aliases: string[], taskAliases: string[]): Buffer {
  return emitProtobuf([[1, name], [5, endpointIp], ...aliases.map((a): ProtoField => [7, a]), ...taskAliases.map((a): ProtoField => [8, a])]);
}

/** endpointRecord's length. */
export function endpointRecordLength(name: string, endpointIp: string, aliases: readonly string[], taskAliases: readonly string[]): number {
  let length = stringFieldLength(1, name) + stringFieldLength(5, endpointIp);
  for (const a of aliases) length += stringFieldLength(7, a);
  for (const a of taskAliases) length += stringFieldLength(8, a);
  return length;
}

export interface NetworkEntryRepr {
  networkId: string;
  lTime: number;
  nodeName: string;
}

/** The delegate's LocalState in a push/pull: the networks each node is in. */
export function networkPushPull(lTime: number, nodeName: string, networks: NetworkEntryRepr[]): Buffer {
  const entries = networks.map((n): ProtoField => [2, emitProtobuf([[1, n.networkId], [2, n.lTime], [3, n.nodeName]])]);
  return gossipMessage(NETWORKDB_MSG.pushPull, emitProtobuf([[1, lTime], ...entries, [3, nodeName]]));
}

/** bulkSyncNode's message: every entry of the shared networks, as one compound. */
export function bulkSyncMessage(lTime: number, unsolicited: boolean, nodeName: string, networks: string[], events: Uint8Array[]): Buffer {
  return gossipMessage(NETWORKDB_MSG.bulkSync, emitProtobuf([[1, lTime], [2, unsolicited], [3, nodeName], ...networks.map((n): ProtoField => [4, n]), [5, compoundMessage(events)]]));
}
