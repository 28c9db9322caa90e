/**
 * dockerd's control plane on the wire (sim/kernel/dockerd_cluster.ts): memberlist's probes,
 * push/pulls and NetworkDB's gossip and bulk syncs on 7946, a worker's heartbeats to the
 * manager on 2377, on the run's clock, with bytes as long as the real encoders make them,
 * in the trace's `control` array and in the underlay's captures.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { execFileSync } from 'child_process';
import { emitMsgpack } from '../sim/wire/msgpack';
import { lzwCompress, lzwCompressedLength } from '../sim/wire/lzw';
import { ackMessage, compressedMessageLength, compressMessage, ENCRYPT_OVERHEAD, memberlistPacket, memberlistStream, parseEncryptedPacket, pingMessage } from '../sim/wire/memberlist';
import { emitProtobuf } from '../sim/wire/protobuf';
import { parseTlsRecord, tls13ApplicationData } from '../sim/wire/tls';
import { clusterView, gossipTransmits, heartbeatFrames, pushPullInterval } from '../sim/model/cluster';
import { CONTROL_KEPT_PER_STEP, CONTROL_KEPT_UNTRACED_HOPS, CONTROL_KINDS, ControlKind, Flow, Trace } from '../sim/trace/types';
import schema from '../sim/trace/trace.schema.json';
import { swarmNetworks } from '../sim/model/world';
import { overlayNetnsName } from '../sim/model/drivers/overlay';
import { traceProblem } from '../sim/trace/validate';
import { compareControl, controlSummary } from '../sim/trace/control';
import { Random } from '../sim/kernel/dockerd_cluster';
import { runSim, twoNodes } from './helpers/run';
import { agreeWithTshark, badChecksums, cnmlab } from './helpers/tshark';
import { describeWith } from './helpers/env';
import { swarmScenarioYaml } from './bench/swarm-scenario';
import { SimBackend } from '../sim/kernel/backend';
import { parseScenario } from '../sim/scenario/load';
import { ScenarioSession } from '../sim/runner/session';
import { seedFromName } from '../sim/model/ids';
import { NetworkDbGossip } from '../emu/netdb';
import * as cluster from '../sim/model/cluster';
import { queueBroadcast } from '../sim/model/transmit_queue';
import type { PlanOp } from '../sim/plan/ops';
import type { World } from '../sim/model/world';

/** A reader of Go's LZW stream (LSB, 8-bit literals), written apart from the encoder, to check its codes. */
function lzwDecode(b: Buffer): Buffer {
  let bits = 0, nBits = 0, pos = 0, width = 9;
  const read = (): number | undefined => {
    while (nBits < width) {
      if (pos >= b.length) return undefined;
      bits |= b[pos++] << nBits;
      nBits += 8;
    }
    const code = bits & ((1 << width) - 1);
    bits >>>= width;
    nBits -= width;
    return code;
  };
  let table: number[][] = [];
  const reset = () => {
    table = Array.from({ length: 258 }, (_, i) => (i < 256 ? [i] : []));
    width = 9;
  };
  reset();
  const out: number[] = [];
  let prev: number[] | undefined;
  expect(read()).toBe(256);
  for (;;) {
    const code = read();
    if (code === undefined) throw new Error('no EOF code');
    if (code === 257) break;
    if (code === 256) {
      reset();
      prev = undefined;
      continue;
    }
    const entry = code < table.length ? table[code] : [...prev!, prev![0]];
    out.push(...entry);
    if (prev) table.push([...prev, entry[0]]);
    prev = entry;
    // Go's writer widens as its next code reaches the width's limit, one code ahead of the table a reader has built.
    if (table.length >= 1 << width && width < 12) width++;
  }
  return Buffer.from(out);
}

describe('memberlist and TLS on the wire', () => {
  test('MessagePack as go-msgpack writes a ping: a map of the field names, raw strings and bytes, the smallest integers', () => {
    const ping = pingMessage(200, 'abcdef012345', new Uint8Array([198, 51, 100, 11]), 7946, '0123456789ab');
    expect(ping[0]).toBe(0);
    expect(ping.subarray(1, 8).toString('hex')).toBe('85a55365714e6f');
    // SeqNo 200 is uint8 (0xcc c8); the port is uint16 (0xcd 1f0a); the address raw of 4.
    expect(ping.includes(Buffer.from('ccc8', 'hex'))).toBe(true);
    expect(ping.includes(Buffer.from('cd1f0a', 'hex'))).toBe(true);
    expect(ping.includes(Buffer.from('a4c633640b', 'hex'))).toBe(true);
    expect(ackMessage(5).toString('hex')).toBe('0282a55365714e6f05a75061796c6f6164c0');
    expect(emitMsgpack('x'.repeat(40)).subarray(0, 3).toString('hex')).toBe('da0028');
  });

  test("LZW as Go's compress/lzw writes it: a clear code first, the EOF code last, readable back", () => {
    for (const input of [Buffer.alloc(0), Buffer.from('TOBEORNOTTOBEORTOBEORNOT'), Buffer.from(Array.from({ length: 9000 }, (_, i) => (i * 7919) % 251))]) {
      expect(lzwDecode(lzwCompress(input))).toEqual(input);
    }
    // Empty input: the clear code (256) and EOF (257), 9 bits each, LSB first: 18 bits in 3 bytes.
    expect(lzwCompress(Buffer.alloc(0)).toString('hex')).toBe('000302');
  });

  test("the length a send shows is the LZW's own, through table clears and calls that reuse the table", () => {
    let seed = 7;
    const random = (n: number, alphabet: number) => Buffer.from(Array.from({ length: n }, () => (seed = (seed * 1103515245 + 12345) >>> 0) % alphabet));
    const inputs = [Buffer.alloc(0), Buffer.from([1]), Buffer.from('TOBEORNOTTOBEORTOBEORNOT'), Buffer.alloc(20000), random(30000, 256), random(50000, 3), random(700, 40)];
    for (const input of [...inputs, ...inputs.reverse()]) {
      expect(lzwCompressedLength(input)).toBe(lzwCompress(input).length);
      expect(compressedMessageLength(input)).toBe(compressMessage(input).length);
    }
  });

  test('an encrypted packet is its plaintext plus version, nonce and tag; a stream adds its 5-byte header; small packets stay uncompressed', () => {
    const opaque = (n: number) => new Uint8Array(n).fill(0xab);
    const ping = pingMessage(1, 'abcdef012345', new Uint8Array([198, 51, 100, 11]), 7946, '0123456789ab');
    expect(compressMessage(ping).length).toBeGreaterThan(ping.length);
    const packet = memberlistPacket(ping, false, opaque);
    expect(packet.length).toBe(ping.length + ENCRYPT_OVERHEAD);
    const p = parseEncryptedPacket(packet);
    expect(p.ok && p.repr).toMatchObject({ version: 1, sealedLength: ping.length + 16 });
    expect(memberlistPacket(ping, true, opaque).length).toBe(ping.length + 5 + ENCRYPT_OVERHEAD);
    const stream = memberlistStream(ping, opaque);
    expect(stream[0]).toBe(10);
    expect(stream.readUInt32BE(1)).toBe(stream.length - 5);
    expect(stream.length).toBe(5 + ENCRYPT_OVERHEAD + compressMessage(ping).length);
  });

  test('protobuf as gogo marshals: field order, zero values left out, varints', () => {
    expect(emitProtobuf([[2, 'ab'], [1, 150], [3, 0], [4, '']]).toString('hex')).toBe('089601' + '12026162');
  });

  test("a TLS 1.3 record is 22 bytes longer than what was written to it; the heartbeat's frames", () => {
    const r = tls13ApplicationData(67, (n) => new Uint8Array(n));
    const p = parseTlsRecord(r);
    expect(p.ok && p.repr).toEqual({ contentType: 23, version: 0x0303, length: 67 + 17 });
    expect(r.length).toBe(67 + 22);
    expect(heartbeatFrames('x'.repeat(25), 5_000_000_000)).toEqual({ request: 67, response: 39 });
  });

  test("memberlist's scaling: push/pull slows past 32 members, an event is gossiped 4 × ⌈log10(n+1)⌉ times", () => {
    expect(pushPullInterval(2)).toBe(30e9);
    expect(pushPullInterval(64)).toBe(60e9);
    expect(gossipTransmits(2)).toBe(4);
    expect(gossipTransmits(10)).toBe(8);
  });
});

const ofKind = (flows: Flow[], kind: string) => flows.filter((f) => f.control === kind);

/** The exchanges of a kind a step carried: those the trace kept and those it counted. */
const exchanges = (trace: Trace, kind: ControlKind, step: number) =>
  (trace.control ?? []).filter((f) => f.control === kind && f.origin?.step === step).length
  + (trace.controlNotKept ?? []).filter((c) => c.control === kind && c.step === step).reduce((n, c) => n + c.exchanges, 0);

/** `n` nodes in one swarm (steps 1 to n), then `steps`. */
function bigSwarm(n: number, steps: string): string {
  const hosts = Array.from({ length: n }, (_, i) => `  h${i}: {}`).join('\n');
  const joins = Array.from({ length: n - 1 }, (_, i) => `  - h${i + 1}: docker swarm join --token <...> 198.51.100.10:2377`).join('\n');
  return `name: t\nhosts:\n${hosts}\nsteps:\n  - h0: docker swarm init\n${joins}\n${steps}\n`;
}

describe('the control plane in sim', () => {
  let lab: Awaited<ReturnType<typeof runSim>>;
  beforeAll(async () => {
    lab = await runSim(twoNodes(`  - r0: docker run -dit --name ubuntu0 --network test-net ubuntu:14.04
  - r1: docker run -dit --name ubuntu1 --network test-net ubuntu:14.04
  - ubuntu0: sleep 20
  - ubuntu0: sleep 20
  - ubuntu0: sleep 20
  - ubuntu0: ping -c 2 ubuntu1
`));
  });

  test('its flows are in the trace beside the ping, kind control-plane, their hops on no step, the trace valid', () => {
    const { trace } = lab.result;
    expect(trace.flows.map((f) => f.kind)).toEqual(['icmp-echo']);
    const control = trace.control ?? [];
    expect(control.length).toBeGreaterThan(0);
    for (const f of control) {
      expect(f.kind).toBe('control-plane');
      expect(f.id).toMatch(new RegExp(`^${f.control}-\\d+$`));
      for (const h of f.hops) expect(h.step).toBeUndefined();
    }
    expect(traceProblem(trace)).toBeUndefined();
    // The schema names every kind the type does.
    expect(schema.definitions.flow.properties.control.enum).toEqual(CONTROL_KINDS);
    expect(schema.properties.controlNotKept.items.properties.control.enum).toEqual(CONTROL_KINDS);
  });

  test('over a minute of the clock: a probe and ack each second per node, a push/pull and bulk syncs each 30 s, a heartbeat each 5 s', () => {
    const during = (lab.result.trace.control ?? []).filter((f) => [6, 7, 8].includes(f.origin?.step ?? 0));
    const probes = ofKind(during, 'memberlist-probe');
    expect(probes.length).toBeGreaterThanOrEqual(2 * 59);
    expect(probes.length).toBeLessThanOrEqual(2 * 60);
    for (const from of ['r0', 'r1']) expect(probes.filter((f) => f.from === from).length).toBeGreaterThanOrEqual(59);
    for (const p of probes) {
      const sent = p.hops.filter((h) => h.event === 'send');
      expect(sent.map((h) => [h.host, h.dir])).toEqual([[p.from, 'request'], [p.to, 'reply']]);
      for (const h of sent) expect(h.layers.find((l) => l.proto === 'udp')).toMatchObject({ 'udp.srcport': 7946, 'udp.dstport': 7946 });
    }
    // Each node's push/pull every 30 s: 2 a node in 60 s (its first at a random offset).
    expect(ofKind(during, 'memberlist-push-pull').length).toBeGreaterThanOrEqual(2);
    expect(ofKind(during, 'memberlist-push-pull').length).toBeLessThanOrEqual(4);
    const beats = ofKind(during, 'swarm-heartbeat');
    expect(beats.length).toBeGreaterThanOrEqual(10);
    expect(beats.length).toBeLessThanOrEqual(14);
    for (const b of beats) {
      expect([b.from, b.to]).toEqual(['r1', 'r0']);
      const records = b.hops.filter((h) => h.event === 'send' && h.layers.some((l) => l.proto === 'tls'));
      expect(records.map((h) => h.dir)).toEqual(['request', 'reply']);
      expect(records[0].layers.find((l) => l.proto === 'tcp')).toMatchObject({ 'tcp.dstport': 2377 });
    }
  });

  test("a container's peer entry crosses as NetworkDB gossip in its `docker run` step, before the other host's vxlan0 has it", () => {
    // r0's own join of test-net (step 4) is still being gossiped by memberlist: r1's rounds are the ones to r0.
    const gossip = ofKind(lab.result.trace.control ?? [], 'networkdb-gossip').filter((f) => f.origin?.step === 5 && f.from === 'r1');
    expect(gossip.length).toBeGreaterThan(0);
    expect(gossip[0]).toMatchObject({ from: 'r1', to: 'r0' });
    const delivered = gossip[0].hops.find((h) => h.event === 'deliver' && h.host === 'r0');
    expect(delivered?.layers.find((l) => l.proto === 'udp')).toMatchObject({ 'udp.dstport': 7946 });
    // The step's sim clock ran only as far as that gossip's arrival; the ping of step 7 comes after.
    const ping = lab.result.trace.flows[0];
    expect(delivered!.timeNs).toBeLessThan(ping.hops[0].timeNs);
    const testNet = swarmNetworks(lab.model.world.swarm).find((n) => n.name === 'test-net')!;
    const overlay = overlayNetnsName(testNet.id);
    const fdb = lab.backend.execSync('r0', overlay, ['bridge', 'fdb', 'show', 'dev', 'vxlan0'], { world: lab.model.world, namesVisible: true });
    expect(fdb.stdout).toContain('02:42:0a:00:01:04 dst 198.51.100.11');
  });

  test("the report's summary counts each step's exchanges, packets and bytes per kind and direction", () => {
    const control = lab.result.trace.control ?? [];
    const rows = controlSummary(control);
    const beats = rows.filter((r) => r.control === 'swarm-heartbeat');
    expect(beats.every((r) => r.from === 'r1' && r.to === 'r0' && r.packets === 3 * r.exchanges)).toBe(true);
    expect(rows.reduce((n, r) => n + r.exchanges, 0)).toBe(control.length);
  });

  test('sim and emu control planes are compared by how each kind crosses the wire and how often each host probes', () => {
    const trace = lab.result.trace;
    // A step's own traffic agrees with itself.
    expect(compareControl(trace, trace)).toBeUndefined();
    const step = (lab.result.trace.control ?? []).find((f) => f.control === 'swarm-heartbeat')!.origin!.step;
    const ofStep = (trace.control ?? []).filter((f) => f.origin?.step === step);
    // A heartbeat to the gossip port is another behaviour.
    const moved = JSON.parse(JSON.stringify(ofStep)) as Flow[];
    for (const f of moved.filter((x) => x.control === 'swarm-heartbeat')) for (const h of f.hops) for (const l of h.layers) {
      if (l['tcp.dstport'] === 2377) l['tcp.dstport'] = 7946;
      if (l['tcp.srcport'] === 2377) l['tcp.srcport'] = 7946;
    }
    expect(compareControl(trace, { ...trace, control: moved })).toMatchObject({ where: `step ${step} control plane: swarm-heartbeat on the wire` });
    // Probing twice as often (every peer a second, with two peers) is too.
    const probes = ofStep.filter((f) => f.control === 'memberlist-probe' && f.from === 'r0');
    expect(probes.length).toBeGreaterThanOrEqual(3);
    const halfway = (JSON.parse(JSON.stringify(probes)) as Flow[]).map((f) => ({ ...f, id: `${f.id}-again`, hops: f.hops.map((h) => ({ ...h, timeNs: h.timeNs + 500_000_000 })) }));
    expect(compareControl(trace, { ...trace, control: [...ofStep, ...halfway] })).toMatchObject({ where: `step ${step} control plane: time between the probes r0 sent` });
  });

  test('nothing is sent while the clock stands still: only the steps that run it (a sleep, a ping, a join whose gossip it waits for) have control flows', async () => {
    const { result } = await runSim(`name: t
hosts:
  r0: {}
  r1: {}
steps:
  - r0: docker swarm init
  - r0: sleep 3
  - r1: docker swarm join --token <...> 198.51.100.10:2377
  - r0: docker network ls
  - r0: docker node ls
  - r0: sleep 2
`);
    const steps = new Set((result.trace.control ?? []).map((f) => f.origin?.step));
    // Alone, the manager has no one to probe; the join's gossip (r1's ingress entry) runs the clock for its round.
    expect([...steps].sort()).toEqual([3, 6]);
  });

  test('a big swarm probes one peer a node a second, not every pair', async () => {
    const { result } = await runSim(bigSwarm(40, '  - h0: sleep 2'));
    const probes = exchanges(result.trace, 'memberlist-probe', 41);
    expect(probes).toBeGreaterThanOrEqual(40);
    expect(probes).toBeLessThanOrEqual(80);
  });

  test("the trace keeps a step's first exchanges of each kind hop by hop and counts the rest; untraced steps only until their hops reach the bound", async () => {
    const { result } = await runSim(bigSwarm(40, '  - h0: sleep 4\n  - h1: ping -c 3 198.51.100.10'));
    const { trace } = result;
    const kept = trace.control ?? [];
    // Each step keeps at most CONTROL_KEPT_PER_STEP of a kind; the 160 probes of the sleep are counted.
    const perStep = new Map<string, number>();
    for (const f of kept) perStep.set(`${f.origin?.step} ${f.control}`, (perStep.get(`${f.origin?.step} ${f.control}`) ?? 0) + 1);
    expect(Math.max(...perStep.values())).toBeLessThanOrEqual(CONTROL_KEPT_PER_STEP);
    expect(exchanges(trace, 'memberlist-probe', 41)).toBeGreaterThanOrEqual(160);
    expect(exchanges(trace, 'memberlist-probe', 41)).toBeLessThanOrEqual(200);
    expect(trace.controlNotKept?.some((c) => c.step === 41 && c.control === 'memberlist-probe')).toBe(true);
    // The steps that traced no flow (the joins, the sleep) begin no kept flow once their hops reach the bound; those under way then finish.
    const hops = kept.filter((f) => f.origin!.step <= 41).reduce((n, f) => n + f.hops.length, 0);
    expect(hops).toBeGreaterThanOrEqual(CONTROL_KEPT_UNTRACED_HOPS);
    expect(hops).toBeLessThan(1.5 * CONTROL_KEPT_UNTRACED_HOPS);
    // The ping's step keeps its first exchanges whatever the run kept before, enough to compare with emu.
    const ofPing = kept.filter((f) => f.origin?.step === 42);
    expect(ofPing.some((f) => f.control === 'memberlist-probe' && f.hops.some((h) => h.dir === 'reply'))).toBe(true);
    expect(compareControl(trace, trace)).toBeUndefined();
    expect(traceProblem(trace)).toBeUndefined();
    // The report's table lists what was counted beside what was kept.
    const rows = controlSummary(kept, trace.controlNotKept);
    expect(rows.filter((r) => r.step === 41 && r.control === 'memberlist-probe').reduce((n, r) => n + r.exchanges, 0)).toBe(exchanges(trace, 'memberlist-probe', 41));
    const counted = rows.find((r) => r.step === 41 && r.from === undefined);
    expect(counted?.exchanges).toBeGreaterThan(0);
    expect([counted?.packets, counted?.bytes]).toEqual([undefined, undefined]);
  });
});

describe('the seeded draws of timer offsets', () => {
  test('an offset within a 30 s push/pull interval in nanoseconds reaches past 2^32 ns, spread over the whole interval', () => {
    const rnd = new Random(7);
    const draws = Array.from({ length: 2000 }, () => rnd.below(30e9));
    expect(Math.max(...draws)).toBeGreaterThan(25e9);
    expect(Math.min(...draws)).toBeGreaterThanOrEqual(0);
    expect(draws.filter((d) => d > 2 ** 32).length).toBeGreaterThan(1500);
    expect(draws.every((d) => Number.isInteger(d) && d < 30e9)).toBe(true);
  });
});

describe("the control plane's cost in a big swarm", () => {
  test('100 hosts and 1,000 containers: the work and the trace stay within a budget counted in events, hops and bytes, not seconds', async () => {
    const { result, backend } = await runSim(swarmScenarioYaml({ hosts: 100, overlays: 10, containers: 1000 }));
    expect(result.steps.every((s) => s.ok)).toBe(true);
    const kept = result.trace.control ?? [];
    // Kept hop by hop: the untraced steps' bound (flows under way when it was reached finish), and the ping's step's first exchanges.
    expect(kept.reduce((n, f) => n + f.hops.length, 0)).toBeLessThan(2 * CONTROL_KEPT_UNTRACED_HOPS);
    // Every docker run gossips its entries all the same: thousands of exchanges, counted.
    const counted = (result.trace.controlNotKept ?? []).reduce((n, c) => n + c.exchanges, 0);
    expect(counted).toBeGreaterThan(2000);
    // The clock's events: a gossip round per docker run, not a second of every node's timers (each node probing, syncing).
    expect(backend.datapath.clock.executed).toBeLessThan(10_000);
    expect(JSON.stringify(result.trace).length).toBeLessThan(8_000_000);
  });
});

describeWith(['tshark'], false, 'the control plane in sim captures', () => {
  test('the underlay capture holds UDP and TCP on 7946 and TLS on 2377, decoded as tshark decodes them, checksums good', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cnmlab-ctl-'));
    const scenario = path.join(dir, 's.yaml');
    fs.writeFileSync(scenario, twoNodes(`  - r0: docker run -dit --name ubuntu0 --network test-net ubuntu:14.04
  - r1: docker run -dit --name ubuntu1 --network test-net ubuntu:14.04
  - ubuntu0: sleep 20
  - ubuntu0: sleep 20
`));
    expect(cnmlab(['run', scenario, '--pcap-dir', path.join(dir, 'p')]).status).toBe(0);
    const pcap = path.join(dir, 'p', 'r0-r0-eth0.pcap');
    expect(agreeWithTshark(pcap)).toMatch(/^agree \d+\/\d+ frames/);
    expect(badChecksums(pcap)).toBe('');
    const count = (filter: string) => Number(execFileSync('tshark', ['-r', pcap, '-d', 'tcp.port==2377,tls', '-Y', filter], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim().split('\n').filter(Boolean).length);
    expect(count('udp.port == 7946')).toBeGreaterThan(60);
    expect(count('tcp.port == 7946 && tcp.flags.syn == 1 && tcp.flags.ack == 0')).toBeGreaterThanOrEqual(1);
    expect(count('tls.record.content_type == 23')).toBeGreaterThanOrEqual(12);
    fs.rmSync(dir, { recursive: true });
  });
});

describe('a node leaves a swarm of ten (NetworkDB counts a leaver until it hears the leave)', () => {
  const TEN = `name: ten\nhosts:\n${Array.from({ length: 10 }, (_, i) => `  r${i}: {}\n`).join('')}steps:\n  - r0: docker swarm init\n`;
  const JOINS = Array.from({ length: 9 }, (_, i) => [`r${i + 1}`, 'docker swarm join --token <...> 198.51.100.10:2377']);

  /** sim's backend, with emu's gossip player told every world; while `counting`, the datagrams it schedules are counted. */
  class WithPlayer extends SimBackend {
    // Seeded: the player's draws (phases, peers) repeat run after run, as sim's daemon's do.
    private readonly draws = new Random(0x7e11);
    readonly netdb = new NetworkDbGossip(() => this.draws.next() / 2 ** 32);
    counting = false;
    scheduled = 0;
    override async apply(ops: PlanOp[], world?: World): Promise<void> {
      await super.apply(ops, world);
      if (!world) return;
      const schedules = this.netdb.observe(clusterView(world), this.elapsedNs() / 1e6);
      if (this.counting) for (const sends of schedules.values()) this.scheduled += sends.filter((x) => x.length === 3).length;
    }
  }

  test("the leaver sends its leave 8 times (it counts itself: 10 nodes); each member, having heard it, gossips it on 4 times (9 nodes): sim's daemon and emu's player alike", async () => {
    const s = parseScenario('ten.yaml', TEN);
    const backend = new WithPlayer(s.seed ?? seedFromName(s.name));
    const session = await ScenarioSession.start(s, backend);
    for (const [on, line] of [['r0', 'docker swarm init'], ...JOINS, ['r0', 'sleep 30']]) expect(await session.step(on, line)).toMatchObject({ exitCode: 0 });
    const before = session.trace();
    backend.counting = true;
    for (const [on, line] of [['r9', 'docker swarm leave'], ['r0', 'sleep 10']]) expect(await session.step(on, line)).toMatchObject({ exitCode: 0 });
    const trace = session.trace();
    const gossip = (t: Trace) => (t.control ?? []).filter((f) => f.control === 'networkdb-gossip').length
      + (t.controlNotKept ?? []).filter((c) => c.control === 'networkdb-gossip').reduce((n, c) => n + c.exchanges, 0);
    expect(gossipTransmits(10)).toBe(8);
    expect(gossipTransmits(9)).toBe(4);
    expect(gossip(trace) - gossip(before)).toBe(8 + 9 * 4);
    expect(backend.scheduled).toBe(8 + 9 * 4);
  });
});

describe("a leaver whose own leave its queue dropped (broadcastTimeout)", () => {
  test('memberlist leaves 5 s after the leave was queued, not once the leave went its rounds', async () => {
    const s = parseScenario('drop.yaml', twoNodes(''));
    const backend = new SimBackend(s.seed ?? seedFromName(s.name));
    const session = await ScenarioSession.start(s, backend);
    for (const [on, line] of [['r0', 'docker swarm init'], ['r1', 'docker swarm join --token <...> 198.51.100.10:2377'], ['r0', 'sleep 5']]) expect(await session.step(on, line)).toMatchObject({ exitCode: 0 });
    // The btree's collision, made on r1's node queue as its leave goes in (transmit_queue's test of it):
    // F fills the first round's packet with the leave (id 1), which empties the queue and starts the ids again;
    // c, as long as the leave, is queued before the second round, takes id 1, fills that packet with F and leaves
    // the leave out; queued again at the leave's tier, length and id, c replaces it.
    const original = cluster.queueNodeEvent;
    let leaveQueuedAt: number | undefined;
    const spy = jest.spyOn(cluster, 'queueNodeEvent').mockImplementation((q, name, type) => {
      const leave = original(q, name, type);
      if (leave === undefined) return leave;
      const own = q.nodeBroadcasts.events.find((e) => e.leave === leave)!;
      expect(own.id).toBe(1);
      const { limit, overhead } = cluster.MEMBERLIST_GOSSIP;
      const f = limit - own.length - 2 * overhead;
      queueBroadcast(q.nodeBroadcasts, { length: f, msg: Buffer.alloc(f) });
      const now = backend.elapsedNs();
      leaveQueuedAt = now;
      const agent = q as unknown as { memberlistPhase: number };
      const c = () => queueBroadcast(q.nodeBroadcasts, { length: own.length, msg: Buffer.alloc(own.length) });
      backend.datapath.clock.schedule(cluster.nextGossipTick(now, agent.memberlistPhase) - now + cluster.GOSSIP_INTERVAL_NS / 2, c);
      return leave;
    });
    try {
      const left = await session.step('r1', 'docker swarm leave');
      expect(left.exitCode).toBe(0);
      expect(leaveQueuedAt).toBeDefined();
      // The step waits for clusterLeave: here its whole timeout.
      expect(left.durationMs).toBeGreaterThanOrEqual(cluster.BROADCAST_TIMEOUT_NS / 1e6);
      expect(backend.elapsedNs() - leaveQueuedAt!).toBe(cluster.BROADCAST_TIMEOUT_NS);
    } finally {
      spy.mockRestore();
    }
  });
});
