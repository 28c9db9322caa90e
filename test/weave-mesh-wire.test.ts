/**
 * Weave Net's mesh protocol on TCP 6783 and the gob encoding under it: the bytes Go's
 * encoding/gob writes for the values mesh encodes (its features map, a topology of two peers
 * as Peers.encodePeers writes it, a gossip message as gossipChannel.makeMsg writes it), taken
 * from Go 1.19 encoding the same values with structs declared as mesh declares them, in a
 * fresh process (so the first type it met is numbered 65). Wireshark has no dissector for
 * either, so the codec is checked against those bytes and against itself.
 */
import { emitGob, GOB_UINT, GobTypeIds, parseGob } from '../sim/wire/gob';
import { emitFeatures, emitGossip, emitMeshStream, emitProtocolMessage, emitTopology, MESH_TAG, parseMeshStream, PeerSummary, peerNameNumber, TOPOLOGY_CHANNEL } from '../sim/wire/weave_mesh';

const hex = (s: string) => Buffer.from(s, 'hex');

/** Go: gob.NewEncoder(buf).Encode(&map[string]string{"Name": "aa:bb:cc:dd:ee:ff"}) */
const GO_FEATURES = hex('0eff81040102ff8200010c010c00001bff820001044e616d651161613a62623a63633a64643a65653a6666');
/** Go: one encoder, peerSummary{r0…}, []connectionSummary{{r1, "198.51.100.11:40000", false, true}}, peerSummary{r1…}, []connectionSummary{} */
const GO_TOPOLOGY = hex('62ff830301010b7065657253756d6d61727901ff8400010601084e616d6542797465010a0001084e69636b4e616d65010c000103554944010600010756657273696f6e010600010753686f72744944010600010a48617353686f7274494401020000001fff840106aabbccddeeff0102723001fa011f71fb04cb010301fe01230101000dff87020102ff880001ff8600005bff8503010111636f6e6e656374696f6e53756d6d61727901ff8600010401084e616d6542797465010a00010d52656d6f746554435041646472010c0001084f7574626f756e64010200010b45737461626c6973686564010200000024ff8800010106123456789abc01133139382e35312e3130302e31313a343030303002010015ff840106123456789abc010272310163010102010004ff880000');
/** Go: gobEncode("topology", PeerName(0xaabbccddeeff), topology) */
const GO_GOSSIP_HEAD = hex('0b0c0008746f706f6c6f6779090600faaabbccddeefffe01320a00fe012d');

const PEERS: PeerSummary[] = [
  { name: 'aa:bb:cc:dd:ee:ff', nickname: 'r0', uid: 1234567890123n, version: 3n, shortId: 0x123, connections: [{ name: '12:34:56:78:9a:bc', remoteTcpAddr: '198.51.100.11:40000', outbound: false, established: true }] },
  { name: '12:34:56:78:9a:bc', nickname: 'r1', uid: 99n, version: 1n, shortId: 0, connections: [] },
];

describe('gob', () => {
  test("integers as Go writes them: one byte below 128, else the negated byte count and the bytes", () => {
    expect(emitGob(new GobTypeIds(), [{ type: GOB_UINT, value: 300n }])).toEqual(hex('050600fe012c'));
    expect(parseGob(hex('050600fe012c'))).toMatchObject({ ok: true, repr: [{ value: 300n }] });
  });

  test("a map type is defined once (unnamed: no name in its CommonType), then its value behind the singleton's zero byte", () => {
    const ids = new GobTypeIds();
    expect(emitFeatures(ids, [['Name', 'aa:bb:cc:dd:ee:ff']])).toEqual(GO_FEATURES);
    const back = parseGob(GO_FEATURES);
    expect(back.ok && back.repr[0].value).toEqual({ entries: [['Name', 'aa:bb:cc:dd:ee:ff']] });
  });

  test("mesh's topology: struct definitions with their fields, zero fields left out, a slice defined before its element", () => {
    const ids = new GobTypeIds();
    emitFeatures(ids, []);
    expect(emitTopology(ids, PEERS)).toEqual(GO_TOPOLOGY);
  });

  test('a message cut short, a type used before its definition, or bytes left over are refused with where', () => {
    expect(parseGob(GO_FEATURES.subarray(0, 20))).toEqual({ ok: false, error: expect.stringMatching(/^gob: a message of 27 bytes at 15/) });
    expect(parseGob(GO_FEATURES.subarray(15))).toEqual({ ok: false, error: 'gob: type id 65 used before its definition' });
    expect(parseGob(hex('0406000a0a'))).toEqual({ ok: false, error: 'gob: message at 0 has 1 bytes left over' });
  });
});

describe('weave mesh protocol', () => {
  test("a gossip message: the channel, the sender's name as a number, the topology as bytes", () => {
    const ids = new GobTypeIds();
    emitFeatures(ids, []);
    const topology = emitTopology(ids, PEERS);
    expect(emitGossip(new GobTypeIds(), { channel: TOPOLOGY_CHANNEL, sender: 'aa:bb:cc:dd:ee:ff', data: topology })).toEqual(Buffer.concat([GO_GOSSIP_HEAD, GO_TOPOLOGY]));
    expect(peerNameNumber('aa:bb:cc:dd:ee:ff')).toBe(0xaabbccddeeffn);
  });

  test('one end of a connection: "weave" 1 2, no encryption, the features, then tagged messages each behind its length; parse and emit mirror each other', () => {
    const stream = {
      header: { minVersion: 1, maxVersion: 2 }, encrypted: false,
      messages: [
        { kind: 'features' as const, features: [['PeerNameFlavour', 'mac'], ['Name', 'aa:bb:cc:dd:ee:ff'], ['NickName', 'r0'], ['ShortID', '291']] as [string, string][] },
        { kind: 'protocol' as const, tag: MESH_TAG.gossip, payload: Buffer.alloc(0), gossip: { channel: TOPOLOGY_CHANNEL, sender: 'aa:bb:cc:dd:ee:ff', data: new Uint8Array(0) }, topology: PEERS },
        { kind: 'protocol' as const, tag: MESH_TAG.pmtuVerified, payload: Buffer.from([0x05, 0x9e]) },
        { kind: 'protocol' as const, tag: MESH_TAG.heartbeat, payload: Buffer.alloc(0) },
      ],
    };
    const bytes = emitMeshStream(new GobTypeIds(), stream);
    expect(bytes.subarray(0, 8)).toEqual(Buffer.from('weave\x01\x02\x00', 'latin1'));
    expect(bytes.subarray(bytes.length - 5)).toEqual(emitProtocolMessage(MESH_TAG.heartbeat));
    expect(bytes.subarray(bytes.length - 12, bytes.length - 5)).toEqual(hex('00000003' + '03059e'));
    const back = parseMeshStream(bytes);
    if (!back.ok) throw new Error(back.error);
    expect(back.repr.messages[0]).toEqual(stream.messages[0]);
    const gossip = back.repr.messages[1];
    expect(gossip.kind === 'protocol' && gossip.topology).toEqual(PEERS);
    expect(gossip.kind === 'protocol' && gossip.gossip?.sender).toBe('aa:bb:cc:dd:ee:ff');
    expect(emitMeshStream(new GobTypeIds(), back.repr)).toEqual(bytes);
  });

  test('a header that is not weave, an encryption flag other than 0 or 1, a message longer than what follows are refused', () => {
    expect(parseMeshStream(Buffer.from('wxave\x01\x02\x00'))).toEqual({ ok: false, error: 'weave mesh: remote protocol header not recognised: 119 120 97 118 101' });
    expect(parseMeshStream(Buffer.from('weave\x01\x02\x07'))).toEqual({ ok: false, error: 'weave mesh: Bad encryption flag 7' });
    expect(parseMeshStream(Buffer.concat([Buffer.from('weave\x01\x02\x00'), hex('000000ff00')]))).toEqual({ ok: false, error: 'weave mesh: a message at 8 says 255 bytes, 1 follow' });
  });
});
