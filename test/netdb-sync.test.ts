/**
 * NetworkDB's bulk syncs and network events (sim/kernel/dockerd_cluster.ts, emu/netdb.ts), as
 * libnetwork v20.10 makes them: a node joining a network gossips its join event and bulk-syncs
 * with every other member of it in turn; the periodic bulk sync is per node, one message
 * covering every network the two share; sim and emu draw their peers by one rule
 * (randomNodes). The messages are read back from what the encoders made (the wire's bytes are
 * encrypted), with a protobuf reader written apart from the encoder.
 */
import * as networkdb from '../sim/wire/networkdb';
import { parseScenario } from '../sim/scenario/load';
import { runScenario } from '../sim/runner/runner';
import { SimBackend } from '../sim/kernel/backend';
import { seedFromName } from '../sim/model/ids';
import { clusterView, ClusterView, networkDbLocalState, randomNodes } from '../sim/model/cluster';
import type { PlanOp } from '../sim/plan/ops';
import type { World } from '../sim/model/world';
import { swarmNetworks } from '../sim/model/world';
import { ENCRYPT_OVERHEAD, memberlistCompound, memberlistPacket, userPacketMessage } from '../sim/wire/memberlist';
import { GossipSend, NetworkDbGossip } from '../emu/netdb';
import type { Flow } from '../sim/trace/types';

/** A protobuf message's fields in order: varints as numbers, length-delimited as bytes. */
function readProtobuf(b: Uint8Array): [number, number | Buffer][] {
  const fields: [number, number | Buffer][] = [];
  let at = 0;
  const varint = () => {
    let n = 0, scale = 1;
    for (;;) {
      const x = b[at++];
      n += (x & 0x7f) * scale;
      scale *= 128;
      if (x < 0x80) return n;
    }
  };
  while (at < b.length) {
    const key = varint();
    if ((key & 7) === 0) fields.push([key >>> 3, varint()]);
    else if ((key & 7) === 2) {
      const length = varint();
      fields.push([key >>> 3, Buffer.from(b.subarray(at, at + length))]);
      at += length;
    } else throw new Error(`wire type ${key & 7}`);
  }
  return fields;
}

const all = (fields: [number, number | Buffer][], n: number) => fields.filter(([f]) => f === n).map(([, v]) => v);
const one = (fields: [number, number | Buffer][], n: number) => all(fields, n)[0];
const text = (v: number | Buffer | undefined) => (v === undefined ? '' : v.toString());

/** A GossipMessage: its type and its message's fields. */
function gossip(b: Uint8Array): { type: number; fields: [number, number | Buffer][] } {
  const g = readProtobuf(b);
  return { type: Number(one(g, 1) ?? 0), fields: readProtobuf(one(g, 2) as Buffer) };
}

interface BulkSync {
  nodeName: string;
  unsolicited: boolean;
  networks: string[];
  /** The table events it carries: network, owner, key. */
  events: { networkId: string; nodeName: string; key: string }[];
  atNs: number;
}

/** Runs a scenario in sim, reading every bulk sync and network event the encoders made, at the clock's time. */
async function runReading(yaml: string) {
  const s = parseScenario('t.yaml', yaml);
  const backend = new SimBackend(s.seed ?? seedFromName(s.name));
  const syncs: BulkSync[] = [];
  const events: { type: number; lTime: number; nodeName: string; networkId: string; message: Buffer }[] = [];
  const encodeBulkSync = networkdb.bulkSyncMessage, encodeNetworkEvent = networkdb.networkEvent;
  const bulkSync = jest.spyOn(networkdb, 'bulkSyncMessage');
  const networkEvent = jest.spyOn(networkdb, 'networkEvent');
  bulkSync.mockImplementation((...args) => {
    const out = encodeBulkSync(...args);
    const { type, fields } = gossip(out);
    expect(type).toBe(networkdb.NETWORKDB_MSG.bulkSync);
    const compound = gossip(one(fields, 5) as Buffer);
    expect(compound.type).toBe(networkdb.NETWORKDB_MSG.compound);
    syncs.push({
      nodeName: text(one(fields, 3)), unsolicited: one(fields, 2) === 1, networks: all(fields, 4).map(text), atNs: backend.datapath.clock.now,
      events: all(compound.fields, 1).map((simple) => {
        const e = gossip(one(readProtobuf(simple as Buffer), 1) as Buffer);
        expect(e.type).toBe(networkdb.NETWORKDB_MSG.tableEvent);
        return { networkId: text(one(e.fields, 4)), nodeName: text(one(e.fields, 3)), key: text(one(e.fields, 6)) };
      }),
    });
    return out;
  });
  networkEvent.mockImplementation((e) => {
    const out = encodeNetworkEvent(e);
    const { type, fields } = gossip(out);
    expect(type).toBe(networkdb.NETWORKDB_MSG.networkEvent);
    events.push({ type: Number(one(fields, 1)), lTime: Number(one(fields, 2)), nodeName: text(one(fields, 3)), networkId: text(one(fields, 4)), message: out });
    return out;
  });
  try {
    const { result, model } = await runScenario(s, backend);
    const view = clusterView(model.world)!;
    const nameOf = new Map(view.nodes.map((n) => [n.gossipName, n.host] as const));
    const networkId = (name: string) => swarmNetworks(model.world.swarm).find((n) => n.name === name)!.id;
    return { result, view, syncs: syncs.map((x) => ({ ...x, from: nameOf.get(x.nodeName) })), events: events.map((x) => ({ ...x, from: nameOf.get(x.nodeName) })), networkId, nameOf };
  } finally {
    bulkSync.mockRestore();
    networkEvent.mockRestore();
  }
}

const THREE_NODES = `name: join
hosts:
  r0: {}
  r1: {}
  r2: {}
steps:
  - r0: docker swarm init
  - r1: docker swarm join --token <...> 198.51.100.10:2377
  - r2: docker swarm join --token <...> 198.51.100.10:2377
  - r0: docker network create --driver=overlay --attachable test-net
  - r0: docker run -dit --name c0 --network test-net busybox
  - r1: docker run -dit --name c1 --network test-net busybox
  - r2: docker run -dit --name c2 --network test-net busybox
  - r0: sleep 1
`;

const ofStep = (flows: readonly Flow[], step: number, control: Flow['control']) => flows.filter((f) => f.origin?.step === step && f.control === control);

describe('a network join in sim (JoinNetwork)', () => {
  let run: Awaited<ReturnType<typeof runReading>>;
  beforeAll(async () => {
    run = await runReading(THREE_NODES);
  });

  test('the joiner bulk-syncs with every other member in turn, each answering before the next is sent', () => {
    expect(run.result.steps.every((s) => s.ok)).toBe(true);
    const flows = ofStep(run.result.trace.control ?? [], 7, 'networkdb-bulk-sync');
    // r2 joins test-net, whose other members are r0 and r1: a sync to each, in the order NetworkDB lists them, and each one's answer.
    const members = run.view.networks.find((n) => n.id === run.networkId('test-net'))!.hosts.filter((h) => h !== 'r2');
    expect([...members].sort()).toEqual(['r0', 'r1']);
    expect(flows.map((f) => `${f.from}>${f.to}`)).toEqual(members.flatMap((h) => [`r2>${h}`, `${h}>r2`]));
    const first = (f: Flow) => f.hops[0].timeNs, last = (f: Flow) => f.hops[f.hops.length - 1].timeNs;
    expect(first(flows[1])).toBeGreaterThanOrEqual(last(flows[0]));
    expect(first(flows[2])).toBeGreaterThanOrEqual(last(flows[1]));
  });

  test("the joiner's syncs carry every network it shares with the member and none of the joined network's entries; the answers carry the members' entries of it", () => {
    const testNet = run.networkId('test-net'), ingress = run.networkId('ingress');
    const joinStart = (run.result.trace.control ?? []).filter((f) => f.origin?.step === 7 && f.control === 'networkdb-bulk-sync')[0].hops[0].timeNs;
    const atJoin = run.syncs.filter((x) => x.atNs >= joinStart - 1 && x.atNs < joinStart + 1_000_000_000);
    const mine = atJoin.filter((x) => x.from === 'r2' && x.unsolicited);
    expect(mine).toHaveLength(2);
    for (const x of mine) {
      expect([...x.networks].sort()).toEqual([ingress, testNet].sort());
      expect(x.events.filter((e) => e.networkId === testNet)).toEqual([]);
      // What it knows of ingress it sends: every node's lb endpoint.
      expect(new Set(x.events.filter((e) => e.networkId === ingress).map((e) => e.nodeName)).size).toBe(3);
    }
    const answers = atJoin.filter((x) => !x.unsolicited);
    expect(answers.map((x) => x.from).sort()).toEqual(['r0', 'r1']);
    for (const x of answers) {
      const owners = x.events.filter((e) => e.networkId === testNet).map((e) => run.nameOf.get(e.nodeName));
      // c0's and c1's peer and service entries and r0's and r1's lb endpoints' peer entries; r2's are made after the join, and gossiped.
      expect([...new Set(owners)].sort()).toEqual(['r0', 'r1']);
      expect(owners).toHaveLength(6);
    }
  });

  test('its join event (NetworkEvent JOIN, at its network clock) goes out by memberlist gossip as a datagram as long as the encoders make it', () => {
    const testNet = run.networkId('test-net');
    const joins = run.events.filter((e) => e.from === 'r2' && e.networkId === testNet);
    expect(joins.map((e) => e.type)).toEqual([networkdb.NETWORK_EVENT.join]);
    // r2 joined the cluster (its node event), ingress (its swarm join), then test-net: its clock moved once for each.
    expect(joins[0].lTime).toBe(3);
    // It goes at r2's next memberlist round the clock runs to (the step waits for its syncs and its table events' round, not for
    // it); a round may carry another event of r2's still being gossiped (a compound), the later ones the join alone.
    const datagrams = (run.result.trace.control ?? []).filter((f) => (f.origin?.step ?? 0) >= 7 && f.control === 'networkdb-gossip' && f.from === 'r2');
    const length = memberlistPacket(Buffer.concat([Buffer.from([8]), joins[0].message]), true, (n) => new Uint8Array(n)).length;
    expect(length).toBeGreaterThan(ENCRYPT_OVERHEAD);
    const udpLengths = datagrams.map((f) => Number(f.hops.find((h) => h.event === 'send')!.layers.find((l) => l.proto === 'udp')!['udp.length']) - 8);
    expect(udpLengths).toContain(length);
  });

  test('a node leaving a network gossips its leave event', async () => {
    const left = await runReading(`${THREE_NODES}  - r2: docker rm -f c2
  - r0: sleep 1
`);
    const testNet = left.networkId('test-net');
    expect(left.events.filter((e) => e.from === 'r2' && e.networkId === testNet).map((e) => e.type)).toEqual([networkdb.NETWORK_EVENT.join, networkdb.NETWORK_EVENT.leave]);
    const leave = left.events.find((e) => e.type === networkdb.NETWORK_EVENT.leave)!;
    const length = memberlistPacket(Buffer.concat([Buffer.from([8]), leave.message]), true, (n) => new Uint8Array(n)).length;
    const sent = (left.result.trace.control ?? []).filter((f) => (f.origin?.step ?? 0) >= 9 && f.control === 'networkdb-gossip' && f.from === 'r2');
    expect(sent.map((f) => Number(f.hops.find((h) => h.event === 'send')!.layers.find((l) => l.proto === 'udp')!['udp.length']) - 8)).toContain(length);
  });
});

describe("sim's periodic bulk sync (bulkSyncTables)", () => {
  test('is per node: one message to the drawn member covers every network the two share', async () => {
    const run = await runReading(`name: periodic
hosts:
  r0: {}
  r1: {}
steps:
  - r0: docker swarm init
  - r1: docker swarm join --token <...> 198.51.100.10:2377
  - r0: docker network create --driver=overlay --attachable test-net
  - r0: docker network create --driver=overlay --attachable other-net
  - r0: docker run -dit --name a0 --network test-net busybox
  - r0: docker network connect other-net a0
  - r1: docker run -dit --name a1 --network test-net busybox
  - r1: docker network connect other-net a1
  - a0: sleep 25
  - a0: sleep 25
  - a0: sleep 25
`);
    expect(run.result.steps.every((s) => s.ok)).toBe(true);
    const shared = ['ingress', 'test-net', 'other-net'].map(run.networkId).sort();
    const sleepStart = (run.result.trace.control ?? []).find((f) => f.origin?.step === 9)!.hops[0].timeNs;
    const periodic = run.syncs.filter((x) => x.unsolicited && x.atNs >= sleepStart);
    // Each node's 30 s timer fires two or three times in 75 s: as many syncs a node, not that many per network.
    for (const host of ['r0', 'r1']) {
      expect(periodic.filter((x) => x.from === host).length).toBeGreaterThanOrEqual(2);
      expect(periodic.filter((x) => x.from === host).length).toBeLessThanOrEqual(3);
    }
    for (const x of periodic) expect([...x.networks].sort()).toEqual(shared);
  });
});

describe('the peer draw sim and emu share (randomNodes, as mRandomNodes draws)', () => {
  test('a random index at a time: the ineligible and those drawn already skipped, at most 3n draws', () => {
    const draws: number[] = [];
    const scripted = (seq: number[]) => (n: number) => {
      draws.push(n);
      return seq.shift() ?? 0;
    };
    // Index 1 (self, ineligible), 2, 2 again (drawn already), 0, 3: the first three distinct eligible.
    expect(randomNodes(['a', 'self', 'b', 'c'], 3, scripted([1, 2, 2, 0, 3]), (x) => x !== 'self')).toEqual(['b', 'a', 'c']);
    expect(draws).toEqual([4, 4, 4, 4, 4]);
    // Drawing only the ineligible stops after 3n draws, with none.
    draws.length = 0;
    expect(randomNodes(['self', 'a'], 1, scripted([]), (x) => x !== 'self')).toEqual([]);
    expect(draws).toHaveLength(6);
  });

  test("emu's gossip draws its peers by that rule: with a draw that always gives 0, each datagram goes to the first of the list drawn from, never to itself", async () => {
    const run = await runReading(THREE_NODES);
    const view: ClusterView = run.view;
    const testNet = view.networks.find((n) => n.id === run.networkId('test-net'))!;
    // NetworkDB draws a table event's peers from the network's members, memberlist a network event's from the swarm's nodes.
    const firstMember = testNet.hosts[0], firstNode = view.nodes[0].host;
    expect(firstMember).not.toBe(firstNode);
    const address = new Map(view.nodes.map((n) => [n.host, n.address] as const));
    const random = jest.spyOn(Math, 'random').mockReturnValue(0);
    try {
      const schedules = new NetworkDbGossip().observe({ ...view, networks: [testNet] }, 0);
      for (const n of view.nodes) {
        const to = new Set((schedules.get(n.host) ?? []).filter(([, , what]) => typeof what === 'string').map(([, peer]) => peer));
        // A node first in a list draws itself 3n times over and sends to no one from it (a shuffle would reach every other).
        const expected = new Set([firstMember, firstNode].filter((h) => h !== n.host).map((h) => address.get(h)));
        expect([n.host, to]).toEqual([n.host, expected]);
      }
    } finally {
      random.mockRestore();
    }
  });
});

describe("NetworkDB's clocks in a push/pull (delegate.go LocalState) and a join's syncs, sim's daemon and emu's player on the same steps", () => {
  /** sim's backend, keeping the model after every step it was given. */
  class KeepingWorlds extends SimBackend {
    readonly worlds: World[] = [];
    override async apply(ops: PlanOp[], world?: World): Promise<void> {
      await super.apply(ops, world);
      if (world) this.worlds.push(world);
    }
  }
  interface LocalState {
    lTime: number;
    nodeName: string;
    networks: { networkId: string; lTime: number; nodeName: string }[];
  }
  const readState = (out: Uint8Array): LocalState => {
    const { type, fields } = gossip(out);
    expect(type).toBe(networkdb.NETWORKDB_MSG.pushPull);
    return {
      lTime: Number(one(fields, 1) ?? 0), nodeName: text(one(fields, 3)),
      networks: all(fields, 2).map((b) => readProtobuf(b as Buffer)).map((n) => ({ networkId: text(one(n, 1)), lTime: Number(one(n, 2) ?? 0), nodeName: text(one(n, 3)) })),
    };
  };
  let states: LocalState[];
  /** r0's gossip name: the first manager, who joins no one. */
  let r0: string;
  let nodeEvents: { type: number; lTime: number; nodeName: string; message: Buffer }[];
  let networkEvents: Buffer[];
  let joins: { lTime: number; nodeName: string; networkId: string }[];
  let backend: KeepingWorlds;
  let control: Flow[];
  beforeAll(async () => {
    states = [];
    joins = [];
    nodeEvents = [];
    networkEvents = [];
    const encodeNodeEvent = networkdb.nodeEvent;
    const nodeEvent = jest.spyOn(networkdb, 'nodeEvent').mockImplementation((e) => {
      const out = encodeNodeEvent(e);
      const { type, fields } = gossip(out);
      expect(type).toBe(networkdb.NETWORKDB_MSG.nodeEvent);
      nodeEvents.push({ type: Number(one(fields, 1)), lTime: Number(one(fields, 2)), nodeName: text(one(fields, 3)), message: out });
      return out;
    });
    const encodePushPull = networkdb.networkPushPull, encodeNetworkEvent = networkdb.networkEvent;
    const pushPull = jest.spyOn(networkdb, 'networkPushPull').mockImplementation((...args) => {
      const out = encodePushPull(...args);
      states.push(readState(out));
      return out;
    });
    const networkEvent = jest.spyOn(networkdb, 'networkEvent').mockImplementation((e) => {
      if (e.type === networkdb.NETWORK_EVENT.join) joins.push({ lTime: e.lTime, nodeName: e.nodeName, networkId: e.networkId });
      const out = encodeNetworkEvent(e);
      networkEvents.push(out);
      return out;
    });
    try {
      // 31 s: every node's push/pull timer fires.
      const s = parseScenario('t.yaml', `${THREE_NODES}  - r0: sleep 31\n`);
      backend = new KeepingWorlds(s.seed ?? seedFromName(s.name));
      const { result, model } = await runScenario(s, backend);
      control = result.trace.control ?? [];
      r0 = clusterView(model.world)!.nodes.find((n) => n.host === 'r0')!.gossipName;
    } finally {
      pushPull.mockRestore();
      networkEvent.mockRestore();
      nodeEvent.mockRestore();
    }
  });

  test("sim's carries the node's network clock, not its table clock, and each node's networks at the time of that node's join", () => {
    const sent = states.filter((x) => x.networks.length > 0);
    expect(new Set(sent.map((x) => x.nodeName)).size).toBe(3);
    for (const state of sent) {
      // Every node joined ingress, then test-net, and the workers the cluster before: its network clock moved once for each
      // (its table clock, once per entry it made, is further on).
      expect([state.nodeName, state.lTime]).toEqual([state.nodeName, state.nodeName === r0 ? 2 : 3]);
      expect(state.networks).toHaveLength(6);
      for (const n of state.networks) expect(n.lTime).toBe(joins.find((j) => j.nodeName === n.nodeName && j.networkId === n.networkId)!.lTime);
    }
  });

  test("emu's player, told of the same steps, makes the same state for its holders' push/pulls", () => {
    const netdb = new NetworkDbGossip();
    for (const w of backend.worlds) netdb.observe(clusterView(w), 0);
    const view = clusterView(backend.worlds[backend.worlds.length - 1])!;
    for (const node of view.nodes) {
      const simState = [...states].reverse().find((x) => x.nodeName === node.gossipName)!;
      const emuState = readState(networkDbLocalState(view, node.host, netdb));
      expect(emuState).toEqual(simState);
    }
    // The two clocks part: r1 and r2 sent table events for their entries in test-net (r0, alone in it then, sent none).
    for (const host of ['r1', 'r2']) expect(netdb.tableTime(host)).toBeGreaterThan(netdb.networkTime(host));
  });

  test("emu's player sends a join's bulk syncs as one chain, in turn, to the members in the order sim's daemon syncs with them", () => {
    const netdb = new NetworkDbGossip();
    let chains: [string, number][][] = [];
    // Step 7: r2 runs c2, joining test-net, whose other members are r0 and r1.
    for (const w of backend.worlds) {
      const schedule = netdb.observe(clusterView(w), 0).get('r2') ?? [];
      const joins = schedule.flatMap(([, syncs]) => (Array.isArray(syncs) ? [syncs] : []));
      if (joins.some((j) => j.length === 2)) chains = joins;
    }
    const view = clusterView(backend.worlds[backend.worlds.length - 1])!;
    const hostAt = new Map(view.nodes.map((n) => [n.address, n.host] as const));
    const simOrder = ofStep(control, 7, 'networkdb-bulk-sync').filter((f) => f.from === 'r2').map((f) => f.to);
    expect(simOrder).toHaveLength(2);
    expect(chains.map((c) => c.map(([to]) => hostAt.get(to)))).toEqual([simOrder]);
  });

  test("a node that joins the cluster sends its node event (clusterJoin's sendNodeEvent, JOIN at its network clock's first tick), the first manager none; memberlist's packet carries it with the network event of its ingress join", () => {
    const view = clusterView(backend.worlds[backend.worlds.length - 1])!;
    const nameOf = (h: string) => view.nodes.find((n) => n.host === h)!.gossipName;
    expect(nodeEvents.map((e) => [e.type, e.lTime, e.nodeName])).toEqual([[networkdb.NODE_EVENT.join, 1, nameOf('r1')], [networkdb.NODE_EVENT.join, 1, nameOf('r2')]]);
    // r1's first memberlist round (its swarm join, step 2): one packet holding its ingress join and its node join, in that order.
    const ingressJoin = networkEvents.find((m) => m.includes(Buffer.from(nameOf('r1'))))!;
    const compound = memberlistCompound([Buffer.concat([Buffer.from([8]), ingressJoin]), Buffer.concat([Buffer.from([8]), nodeEvents[0].message])]);
    const length = memberlistPacket(compound, true, (n) => new Uint8Array(n)).length;
    const udpLength = (f: Flow) => Number(f.hops.find((h) => h.event === 'send')!.layers.find((l) => l.proto === 'udp')!['udp.length']) - 8;
    expect(ofStep(control, 2, 'networkdb-gossip').filter((f) => f.from === 'r1').map(udpLength)).toContain(length);
    // emu's player, told of the same steps, sends that packet's length from r1 and never a node event from r0.
    const netdb = new NetworkDbGossip();
    const sent = new Map<string, number[]>();
    for (const w of backend.worlds) {
      for (const [host, sends] of netdb.observe(clusterView(w), 0)) sent.set(host, [...(sent.get(host) ?? []), ...sends.flatMap(([, , p]) => (typeof p === 'string' ? [p.length / 2] : []))]);
    }
    expect(sent.get('r1')).toContain(length);
    expect(netdb.networkTime('r0')).toBe(2);
    expect(netdb.networkTime('r1')).toBe(3);
  });
});

describe("a node leaves the swarm (clusterLeave): its node leave event, and the members gossip it on", () => {
  class KeepingWorlds extends SimBackend {
    readonly worlds: World[] = [];
    override async apply(ops: PlanOp[], world?: World): Promise<void> {
      await super.apply(ops, world);
      if (world) this.worlds.push(world);
    }
  }
  const LEAVE_STEP = 9;
  let nodeEvents: { type: number; lTime: number; nodeName: string; message: Buffer }[];
  let networkLeaves: { lTime: number; nodeName: string }[];
  let tableEvents: { type: number; nodeName: string }[];
  let backend: KeepingWorlds;
  let control: Flow[];
  let leaveStep: { durationMs: number; exitCode: number };
  let view: ClusterView;
  beforeAll(async () => {
    nodeEvents = [];
    networkLeaves = [];
    tableEvents = [];
    const encodeNodeEvent = networkdb.nodeEvent, encodeNetworkEvent = networkdb.networkEvent, encodeTableEvent = networkdb.tableEvent;
    const nodeEvent = jest.spyOn(networkdb, 'nodeEvent').mockImplementation((e) => {
      const out = encodeNodeEvent(e);
      nodeEvents.push({ type: e.type, lTime: e.lTime, nodeName: e.nodeName, message: out });
      return out;
    });
    const networkEvent = jest.spyOn(networkdb, 'networkEvent').mockImplementation((e) => {
      if (e.type === networkdb.NETWORK_EVENT.leave) networkLeaves.push({ lTime: e.lTime, nodeName: e.nodeName });
      return encodeNetworkEvent(e);
    });
    const tableEvent = jest.spyOn(networkdb, 'tableEvent').mockImplementation((e) => {
      tableEvents.push({ type: e.type, nodeName: e.nodeName });
      return encodeTableEvent(e);
    });
    try {
      const s = parseScenario('t.yaml', `${THREE_NODES}  - r2: docker swarm leave\n  - r0: sleep 2\n`);
      backend = new KeepingWorlds(s.seed ?? seedFromName(s.name));
      const { result } = await runScenario(s, backend);
      control = result.trace.control ?? [];
      leaveStep = result.steps[LEAVE_STEP - 1];
      // The view with every node: r2's name and address.
      view = backend.worlds.map((w) => clusterView(w)).find((v) => v?.nodes.length === 3)!;
    } finally {
      nodeEvent.mockRestore();
      networkEvent.mockRestore();
      tableEvent.mockRestore();
    }
  });
  const nameOf = (h: string) => view.nodes.find((n) => n.host === h)!.gossipName;
  const udpLength = (f: Flow) => Number(f.hops.find((h) => h.event === 'send')!.layers.find((l) => l.proto === 'udp')!['udp.length']) - 8;
  /** A packet of memberlist's carrying the leave event alone: what a member that heard it sends on. */
  const relayLength = () => memberlistPacket(userPacketMessage(nodeEvents.find((e) => e.type === networkdb.NODE_EVENT.leave)!.message), true, (n) => new Uint8Array(n)).length;

  // moby v20.10 daemon/cluster/swarm.go Leave stops the node runner (its NetworkDB's Close sends the node leave) before it
  // removes the node's containers and DaemonLeavesCluster detaches the attachable networks and releases ingress.
  test("the leaver's event is LEAVE at its network clock's next tick (it joined the cluster, ingress and test-net; its network leaves never go out), and the leave lasts its rounds", () => {
    expect(leaveStep.exitCode).toBe(0);
    expect(nodeEvents.filter((e) => e.type === networkdb.NODE_EVENT.leave).map((e) => [e.lTime, e.nodeName])).toEqual([[4, nameOf('r2')]]);
    expect(networkLeaves.filter((e) => e.nodeName === nameOf('r2'))).toEqual([]);
    // Its container's entries went out as it ran (created), but their deletes do not.
    expect(tableEvents.filter((e) => e.nodeName === nameOf('r2')).map((e) => e.type)).toContain(networkdb.TABLE_EVENT.create);
    expect(tableEvents.filter((e) => e.nodeName === nameOf('r2') && e.type === networkdb.TABLE_EVENT.delete)).toEqual([]);
    // sendNodeEvent waits for its rounds (two ticks at least: four transmissions, two members a tick), not for its 5 s timeout.
    expect(leaveStep.durationMs).toBeGreaterThanOrEqual(200);
    expect(leaveStep.durationMs).toBeLessThan(5000);
  });

  test('r2 gossips its leave alone; r0 and r1, hearing the leave first from r2, each gossip it on, and r2 is silent after its leave', () => {
    const gossip = ofStep(control, LEAVE_STEP, 'networkdb-gossip');
    expect(gossip.filter((f) => f.from === 'r2').length).toBeGreaterThanOrEqual(2);
    // Each of r2's packets is the one event in a user message, as a member's relay is: no deletes, no network leaves.
    expect(new Set(gossip.filter((f) => f.from === 'r2').map(udpLength))).toEqual(new Set([relayLength()]));
    for (const member of ['r0', 'r1']) expect(gossip.filter((f) => f.from === member).map(udpLength)).toContain(relayLength());
    expect(ofStep(control, LEAVE_STEP + 1, 'networkdb-gossip').filter((f) => f.from === 'r2')).toEqual([]);
  });

  test("emu's player, told of the same steps, sends the leave step's datagrams as sim's daemons do, by length and sender, and says when r2 may stop", () => {
    const netdb = new NetworkDbGossip();
    const worlds = backend.worlds;
    // The first world with r2 gone again (after it had joined).
    const nodesIn = (w: World) => clusterView(w)?.nodes.length ?? 0;
    const leaveWorld = worlds.findIndex((w, i) => i > 0 && nodesIn(w) < nodesIn(worlds[i - 1]));
    let sent = new Map<string, GossipSend[]>();
    for (const [i, w] of worlds.entries()) {
      const out = netdb.observe(clusterView(w), i * 60_000);
      if (i === leaveWorld) sent = out;
    }
    const lengthsFrom = (host: string) => new Set((sent.get(host) ?? []).flatMap(([, , p]) => (typeof p === 'string' ? [p.length / 2] : [])));
    const simLengths = (host: string) => new Set(ofStep(control, LEAVE_STEP, 'networkdb-gossip').filter((f) => f.from === host).map(udpLength));
    for (const host of ['r0', 'r1', 'r2']) expect(lengthsFrom(host)).toEqual(simLengths(host));
    expect(lengthsFrom('r0')).toContain(relayLength());
    // r2 stops after its leave's last round, at most 5 s after the step.
    const stop = netdb.departures().get('r2')! - leaveWorld * 60_000;
    expect(stop).toBeGreaterThan(0);
    expect(stop).toBeLessThan(5000);
  });
});
