/**
 * The size-only encoders (sim/wire/protobuf.ts protobufLength, networkdb.ts's *Length, the
 * table event's in sim/model/cluster.ts) say how long the encoders' messages are without
 * making them: a big swarm's gossip that the trace only counts is sized, not encoded. Over
 * random messages each must equal the length of what its encoder emits.
 */
import fc from 'fast-check';
import { emitProtobuf, ProtoField, protobufLength } from '../sim/wire/protobuf';
import { messageOf, transmitQueue } from '../sim/model/transmit_queue';
import { endpointRecord, endpointRecordLength, ENDPOINT_TABLE, OVERLAY_PEER_TABLE, peerRecord, peerRecordLength, TABLE_EVENT, tableEvent, tableEventLength } from '../sim/wire/networkdb';
import { ClusterTableEntry, NetworkDbQueues, queueTableEvent, tableEventMessage, tableEventMessageLength, TableOwner } from '../sim/model/cluster';

// Text beyond ASCII too: a string's length on the wire is its UTF-8 bytes, not its characters.
const text = fc.oneof(fc.string({ maxLength: 40 }), fc.string({ unit: 'grapheme', maxLength: 20 }), fc.constant(''));
const varint = fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 300 }), fc.maxSafeNat());
const bytes = fc.uint8Array({ maxLength: 300 });
const field: fc.Arbitrary<ProtoField> = fc.tuple(fc.integer({ min: 1, max: 40 }), fc.oneof(varint, fc.boolean(), text, bytes, fc.constant(undefined)));

test('protobufLength is the length of emitProtobuf\'s message, bytes given by their length', () => {
  fc.assert(fc.property(fc.array(field, { maxLength: 12 }), (fields) => {
    const sized = fields.map(([n, v]): [number, typeof v | { length: number }] => [n, v instanceof Uint8Array ? { length: v.length } : v]);
    expect(protobufLength(sized)).toBe(emitProtobuf(fields).length);
  }), { numRuns: 500 });
});

test('peerRecordLength, endpointRecordLength and tableEventLength are the lengths of their messages', () => {
  fc.assert(fc.property(text, text, text, fc.array(text, { maxLength: 4 }), fc.array(text, { maxLength: 3 }), (a, b, c, aliases, taskAliases) => {
    expect(peerRecordLength(a, b, c)).toBe(peerRecord(a, b, c).length);
    expect(endpointRecordLength(a, b, aliases, taskAliases)).toBe(endpointRecord(a, b, aliases, taskAliases).length);
  }), { numRuns: 300 });
  const event = fc.record({
    type: fc.constantFrom(TABLE_EVENT.create, TABLE_EVENT.update, TABLE_EVENT.delete), lTime: varint, nodeName: text, networkId: text,
    tableName: fc.constantFrom(OVERLAY_PEER_TABLE, ENDPOINT_TABLE), key: text, value: bytes, residualReapTime: fc.option(varint, { nil: undefined }),
  });
  fc.assert(fc.property(event, (e) => {
    expect(tableEventLength({ ...e, value: { length: e.value.length } })).toBe(tableEvent(e).length);
  }), { numRuns: 300 });
});

test('a table entry\'s event is as long as tableEventMessageLength says, created or deleted, at any clock', () => {
  const entry: fc.Arbitrary<ClusterTableEntry> = fc.record({
    table: fc.constantFrom(OVERLAY_PEER_TABLE, ENDPOINT_TABLE), networkId: text, key: text, owner: text,
    endpoint: fc.record({ ip: fc.ipV4(), prefixLength: fc.integer({ min: 0, max: 32 }), mac: text, name: text, aliases: fc.array(text, { maxLength: 3 }), container: fc.boolean() }),
  });
  const owner: fc.Arbitrary<TableOwner> = fc.record({ host: text, tableTime: fc.integer({ min: 1, max: 2 ** 40 }), gossipName: text, address: fc.ipV4() });
  fc.assert(fc.property(owner, entry, fc.constantFrom(TABLE_EVENT.create, TABLE_EVENT.delete), (o, e, type) => {
    expect(tableEventMessageLength(o, e, type)).toBe(tableEventMessage(o, e, type).length);
  }), { numRuns: 300 });
});

test('a queued table event, and a copy of it (emu schedules copies), carries the message its length says', () => {
  const q: NetworkDbQueues = { tableTime: 1, networkTime: 0, joinedAt: new Map(), queued: new Map(), networkBroadcasts: transmitQueue(), nodeBroadcasts: transmitQueue() };
  const owner = { host: 'r1', gossipName: 'f00dcafe', address: '198.51.100.11' };
  const e: ClusterTableEntry = { table: ENDPOINT_TABLE, networkId: 'n1', key: 'ep1', owner: 'r1', endpoint: { ip: '10.0.1.4', prefixLength: 24, mac: '02:42:0a:00:01:04', name: 'c1', aliases: ['web'], container: true } };
  queueTableEvent(q, owner, e, TABLE_EVENT.create);
  const [queued] = q.queued.get('n1')!.events;
  const copy = { ...queued };
  const expected = tableEventMessage({ ...owner, tableTime: 2 }, e, TABLE_EVENT.create);
  expect(messageOf(copy)).toEqual(expected);
  expect(messageOf(queued)).toEqual(expected);
  expect(copy.length).toBe(expected.length);
});
