/**
 * NetworkDB's gossip and bulk sync in emu (emu/netdb.ts, emu/listeners.ts, emu/control.ts):
 * the datagrams and streams emu's listener holders send are the ones sim's daemon sends for
 * the same scenario (the model's encoders make both); on the real kernel they cross between
 * two host namespaces, tshark decodes them, and the capture's control flows name them; verify
 * compares them with sim's.
 */
import { execFileSync, spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { randomBytes } from 'crypto';
import { describeWith } from './helpers/env';
import { runSim, twoNodes } from './helpers/run';
import { agreeWithTshark } from './helpers/tshark';
import { parseScenario } from '../sim/scenario/load';
import { runScenario } from '../sim/runner/runner';
import { SimBackend } from '../sim/kernel/backend';
import { nextRandom, seedFromName } from '../sim/model/ids';
import type { PlanOp } from '../sim/plan/ops';
import type { World } from '../sim/model/world';
import { ClusterView, clusterView, nodeTraffic, NodeTraffic } from '../sim/model/cluster';
import { GossipSend, NetworkDbGossip } from '../emu/netdb';
import { deletesOnlyItsOwn } from '../emu/backend';
import type { CommandOutput, ExecContext } from '../sim/backend';
import { Listeners } from '../emu/listeners';
import { ControlReader } from '../emu/control';
import { CapturePoint } from '../emu/capture';
import { RunRecord } from '../emu/state';
import { teardown } from '../emu/clean';
import { compareControl } from '../sim/trace/control';
import type { Flow, Hop, Trace } from '../sim/trace/types';
import type { ListeningSocket } from '../sim/plan/ops';

const SCENARIO = twoNodes(`  - r0: docker run -dit --name ubuntu0 --network test-net ubuntu:14.04
  - r1: docker run -dit --name ubuntu1 --network test-net ubuntu:14.04
  - ubuntu0: sleep 20
  - ubuntu0: sleep 20
  - r1: docker rm -f ubuntu1
  - ubuntu0: sleep 20
`);

/** sim's backend, with emu's gossip player and each host's traffic made from every world sim is given. */
class WithEmuPlayer extends SimBackend {
  readonly netdb = new NetworkDbGossip();
  /** Per host, the lengths of the bulk-sync streams its traffic ever named (sent unasked, or as an answer). */
  readonly bulkSyncs = new Map<string, Set<number>>();

  override async apply(ops: PlanOp[], world?: World): Promise<void> {
    await super.apply(ops, world);
    if (!world) return;
    const view = clusterView(world);
    this.netdb.observe(view, this.elapsedNs() / 1e6);
    for (const n of view?.nodes ?? []) {
      const t = nodeTraffic(view!, n.host, this.netdb)!;
      const lengths = this.bulkSyncs.get(n.host) ?? new Set<number>();
      this.bulkSyncs.set(n.host, lengths);
      for (const b of t.bulkSync) lengths.add(b.stream);
      for (const b of t.bulkSyncIn) if (b.answer) lengths.add(b.answer);
      // A network join's syncs, and the members' answers to them.
      for (const l of this.netdb.syncLengths.get(n.host) ?? []) lengths.add(l);
    }
  }
}

const sentBy = (h: Hop) => h.event === 'send';
const ip = (h: Hop, f: string) => Number(h.layers.find((l) => l.proto === 'ip')?.[f]);
const tcpPayload = (h: Hop) => ip(h, 'ip.len') - ip(h, 'ip.hdr_len') - Number(h.layers.find((l) => l.proto === 'tcp')?.['tcp.hdr_len']);

describe("emu's NetworkDB player makes sim's bytes", () => {
  let flows: Flow[];
  let backend: WithEmuPlayer;
  beforeAll(async () => {
    const s = parseScenario('gossip.yaml', SCENARIO);
    backend = new WithEmuPlayer(s.seed ?? seedFromName(s.name));
    const { result } = await runScenario(s, backend);
    flows = result.trace.control ?? [];
  });

  test('every gossip datagram sim sends (a container created, one removed) is one emu would send from that host, as long', () => {
    const gossip = flows.filter((f) => f.control === 'networkdb-gossip');
    // The join's ingress entry (step 2), ubuntu1's entries (step 5), their deletes when it is removed (step 8).
    for (const step of [2, 5, 8]) expect(gossip.filter((f) => f.origin?.step === step).map((f) => [f.from, f.to])).toContainEqual(['r1', 'r0']);
    for (const f of gossip) {
      const udp = f.hops.find(sentBy)!.layers.find((l) => l.proto === 'udp')!;
      expect([f.from, (udp['udp.length'] as number) - 8, backend.netdb.lengths.get(f.from)?.has((udp['udp.length'] as number) - 8)]).toEqual([f.from, (udp['udp.length'] as number) - 8, true]);
    }
    // The delete events (with their reap time) make datagrams of their own length.
    expect(backend.netdb.lengths.get('r1')!.size).toBeGreaterThanOrEqual(3);
  });

  test('every bulk sync sim sends is a stream as long as one the host was given to send or answer with', () => {
    const syncs = flows.filter((f) => f.control === 'networkdb-bulk-sync');
    expect(syncs.length).toBeGreaterThanOrEqual(4);
    for (const f of syncs) {
      const sent = f.hops.filter((h) => sentBy(h) && h.dir === 'request').reduce((n, h) => n + tcpPayload(h), 0);
      // One way: the server writes nothing back.
      expect(f.hops.filter((h) => sentBy(h) && h.dir === 'reply').reduce((n, h) => n + tcpPayload(h), 0)).toBe(0);
      expect([f.from, sent, backend.bulkSyncs.get(f.from)?.has(sent)]).toEqual([f.from, sent, true]);
    }
  });

  test('verify compares gossip by how it crosses: one datagram 7946 → 7946, nothing back', () => {
    const step = flows.find((f) => f.control === 'networkdb-gossip')!.origin!.step;
    const trace: Trace = { format: 'cnmlab-trace/1', scenario: 't', mode: 'sim', topology: { hosts: [], namespaces: [], links: [] }, flows: [], control: flows };
    const ofStep = flows.filter((f) => f.origin?.step === step);
    expect(compareControl(trace, { ...trace, control: ofStep })).toBeUndefined();
    const moved = (JSON.parse(JSON.stringify(ofStep)) as Flow[]);
    for (const f of moved.filter((x) => x.control === 'networkdb-gossip')) for (const h of f.hops) for (const l of h.layers) if (l['udp.dstport'] === 7946) l['udp.dstport'] = 7947;
    expect(compareControl(trace, { ...trace, control: moved })).toMatchObject({ where: `step ${step} control plane: networkdb-gossip on the wire` });
  });
});

/** Draws in [0, 1) from mulberry32, repeatable run after run. */
function seededUniform(seed: number): () => number {
  let state = seed;
  return () => {
    const [value, next] = nextRandom(state);
    state = next;
    return value / 2 ** 32;
  };
}

/**
 * sim's backend, with emu's gossip player told of the steps as emu's backend tells it: a step
 * that only adds waits (EmuBackend.apply defers it) until a step that deletes or a command
 * that looks at the kernel; then the waiting steps' models are observed together, at once.
 * What each holder would send is kept as emu's holders keep it: a new schedule replaces what
 * the last one had not sent yet.
 */
class CoalescingPlayer extends SimBackend {
  // Seeded: how many datagrams carry the events depends on each ticker's random phase against
  // the steps' times, and on memberlist's draws (a draw can miss), so machine randomness makes
  // an occasional different count; the test holds the player's rule against sim's, not luck.
  readonly netdb = new NetworkDbGossip(seededUniform(0xc0a1e5ce));
  private waiting: World[] = [];
  readonly sends = new Map<string, GossipSend[]>();
  /** When the steps were last observed (sim's clock, ms), and the answers each host gives to that time's join syncs. */
  lastObservedMs = 0;
  answers = new Map<string, { length: number; answer?: number }[]>();

  private observe(worlds: World[]): void {
    if (worlds.length === 0) return;
    const now = this.elapsedNs() / 1e6;
    this.lastObservedMs = now;
    for (const [host, sends] of this.netdb.observeSteps(worlds.map(clusterView), now)) this.sends.set(host, [...(this.sends.get(host) ?? []).filter(([at]) => at < now), ...sends]);
    this.answers = new Map(['r0', 'r1'].map((h) => [h, this.netdb.bulkSyncIn(h)] as const));
  }

  override async apply(ops: PlanOp[], world?: World): Promise<void> {
    await super.apply(ops, world);
    if (!world) return;
    this.waiting.push(world);
    if (deletesOnlyItsOwn(ops)) return;
    this.observe(this.waiting.splice(0));
  }

  override async exec(host: string, netns: string, argv: string[], ctx: ExecContext): Promise<CommandOutput> {
    this.observe(this.waiting.splice(0));
    return super.exec(host, netns, argv, ctx);
  }
}

describe("emu's NetworkDB player, told of coalesced steps at once, sends what sim's daemon sends step by step", () => {
  // Steps 5 and 6 only add: emu applies them together as step 7 looks at the kernel. r0 joins
  // test-net alone (its entries reach no one), then r1 joins it: r1's bulk sync brings it r0's
  // entries, and only r1's own are table events.
  const COALESCED = twoNodes(`  - r0: sleep 2
  - r0: docker run -dit --name ubuntu0 --network test-net ubuntu:14.04
  - r1: docker run -dit --name ubuntu1 --network test-net ubuntu:14.04
  - ubuntu0: sleep 3
`, 'name: coalesced');
  let sim: Flow[];
  let player: CoalescingPlayer;
  beforeAll(async () => {
    const s = parseScenario('coalesced.yaml', COALESCED);
    player = new CoalescingPlayer(s.seed ?? seedFromName(s.name));
    const { result } = await runScenario(s, player);
    sim = (result.trace.control ?? []).filter((f) => (f.origin?.step ?? 0) >= 5);
  });
  const address = (h: string) => (h === 'r0' ? '198.51.100.10' : '198.51.100.11');
  const hostAt = (a: string) => (a === '198.51.100.10' ? 'r0' : 'r1');
  const played = (from: string) => (player.sends.get(from) ?? []).filter(([at]) => at >= player.lastObservedMs);

  test('the bulk syncs: only the joiner syncs, as long as sim\'s stream, and the member answers as long as sim\'s answer', () => {
    // r1's join (step 6) syncs; the periodic syncs of the sleep after draw their peers at random.
    const simSyncs = sim.filter((f) => f.control === 'networkdb-bulk-sync' && f.origin?.step === 6).map((f) => [f.from, f.to, f.hops.filter((h) => sentBy(h) && h.dir === 'request').reduce((n, h) => n + tcpPayload(h), 0)]);
    const emuSyncs = ['r0', 'r1'].flatMap((from) => played(from).flatMap(([, syncs]) => (Array.isArray(syncs) ? syncs : [])).flatMap(([to, length]) => {
      const peer = hostAt(to);
      const answer = player.answers.get(peer)!.find((a) => a.length === length)!.answer;
      return [[from, peer, length], [peer, from, answer]];
    }));
    expect(simSyncs).toEqual([['r1', 'r0', expect.any(Number)], ['r0', 'r1', expect.any(Number)]]);
    expect(emuSyncs).toEqual(simSyncs);
  });

  test('the gossip datagrams each way: the same lengths, as many (the joins\' network events, r1\'s new entries; none of r0\'s entries)', () => {
    for (const [from, to] of [['r0', 'r1'], ['r1', 'r0']]) {
      const simLengths = sim.filter((f) => f.control === 'networkdb-gossip' && f.from === from && f.to === to).map((f) => Number(f.hops[0].layers.find((l) => l.proto === 'udp')!['udp.length']) - 8);
      const emuLengths = played(from).filter(([, a, p]) => a === address(to) && typeof p === 'string').map(([, , p]) => (p as string).length / 2);
      expect([from, to, emuLengths.sort()]).toEqual([from, to, simLengths.sort()]);
    }
  });

  test("a joiner's bulk sync goes before the gossip of its entries (JoinNetwork returns before the endpoint's entries are made)", () => {
    const r1 = played('r1').sort((a, b) => a[0] - b[0]);
    expect(Array.isArray(r1[0][1])).toBe(true);
    expect(r1.slice(1).every(([, to]) => typeof to === 'string')).toBe(true);
  });
});

/** tcpdump on a namespace's eth0 into `file`, recorded with the run; resolves once it listens, to a function that stops it. */
async function capture(record: RunRecord, netns: string, file: string, filter: string): Promise<() => Promise<void>> {
  const tcpdump = spawn('ip', ['netns', 'exec', netns, 'tcpdump', '-i', 'eth0', '-n', '-U', '-w', file, ...filter.split(' ')], { stdio: ['ignore', 'ignore', 'pipe'] });
  if (tcpdump.pid) record.addPid(tcpdump.pid);
  await new Promise<void>((resolve) => tcpdump.stderr!.on('data', (d: Buffer) => (d.toString().includes('listening on') ? resolve() : undefined)));
  return async () => {
    tcpdump.kill('SIGINT');
    await new Promise((r) => tcpdump.once('exit', r));
  };
}

/** A real-kernel fixture's end: its holders stopped, its namespaces and processes removed, its record gone. */
async function closeRun(listeners: Listeners | undefined, record: RunRecord | undefined): Promise<void> {
  await listeners?.stopAll();
  if (record) await teardown(record.state);
  record?.remove();
}

const prefix = `cnm${randomBytes(3).toString('hex')}`;
const ns = (n: string) => `${prefix}.${n}`;
const ADDR: Record<string, string> = { r0: '198.51.100.10', r1: '198.51.100.11' };

describeWith(['ip', 'tcpdump', 'tshark'], true, "NetworkDB's gossip and bulk sync on the real kernel", () => {
  let record: RunRecord;
  let listeners: Listeners;
  let view: ClusterView;
  const netdb = new NetworkDbGossip();
  const traffic = new Map<string, NodeTraffic>();
  let pcap: string;
  let startNs: bigint;

  beforeAll(async () => {
    const { model } = await runSim(twoNodes(`  - r0: docker run -dit --name ubuntu0 --network test-net ubuntu:14.04
  - r1: docker run -dit --name ubuntu1 --network test-net ubuntu:14.04
`));
    view = clusterView(model.world)!;
    record = new RunRecord(prefix, 'emu-gossip', false);
    execFileSync('ip', ['netns', 'add', ns('r0')]);
    execFileSync('ip', ['netns', 'add', ns('r1')]);
    record.addNamespaces([ns('r0'), ns('r1')]);
    execFileSync('ip', ['link', 'add', 'eth0', 'netns', ns('r0'), 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns('r1')]);
    for (const h of ['r0', 'r1']) {
      execFileSync('ip', ['-n', ns(h), 'addr', 'add', `${ADDR[h]}/24`, 'dev', 'eth0']);
      for (const d of ['lo', 'eth0']) execFileSync('ip', ['-n', ns(h), 'link', 'set', d, 'up']);
    }
    pcap = path.join(record.dir, 'r0-eth0.pcap');
    fs.mkdirSync(record.dir, { recursive: true });
    const stopCapture = await capture(record, ns('r0'), pcap, 'port 7946');
    startNs = BigInt(Date.now()) * 1_000_000n;
    // Every entry is new to the player: each host gossips its own, round by round.
    const gossip = netdb.observe(view, Date.now());
    listeners = new Listeners(record);
    const socket = (proto: 'tcp' | 'udp', port: number): ListeningSocket => ({ proto, address: '*', port, process: 'dockerd' });
    const sockets = (h: string) => [socket('udp', 7946), socket('tcp', 7946), ...(h === 'r0' ? [socket('tcp', 2377)] : [])];
    await listeners.apply(['r0', 'r1'].flatMap((h) => sockets(h).map((socket) => ({ netns: ns(h), op: 'socket.listen' as const, socket }))));
    for (const h of ['r0', 'r1']) {
      // The real timers, but bulk syncs and push/pulls every 800 ms, so that a short capture holds some of each.
      const t = nodeTraffic(view, h, netdb)!;
      // The joins of every network: each member answers the joiner's sync (as emu's backend adds them).
      t.bulkSyncIn.push(...netdb.bulkSyncIn(h));
      traffic.set(h, { ...t, timersMs: { ...t.timersMs, bulkSync: 800, pushPull: 800 } });
    }
    await listeners.setTraffic(new Map(['r0', 'r1'].map((h) => [ns(h), () => traffic.get(h)!] as const)));
    for (const [h, sends] of gossip) listeners.gossip(ns(h), sends);
    await Promise.all(['r0', 'r1'].map((h) => listeners.sync(ns(h))));
    await new Promise((r) => setTimeout(r, 3000));
    await listeners.stopAll();
    await stopCapture();
  }, 30_000);

  afterAll(() => closeRun(listeners, record));

  const flowsOf = async () => {
    const point: CapturePoint = { host: 'r0', netns: 'r0', device: 'eth0', realNetns: ns('r0'), iface: 'eth0', role: 'host', mine: [ADDR.r0], file: pcap };
    const byAddress = new Map(Object.entries(ADDR).map(([h, a]) => [a, h] as const));
    const reader = new ControlReader(startNs, []);
    await reader.read([point], { traffic: new Map([...traffic].map(([h, t]) => [h, [t]] as const)), gossip: netdb.lengths, bulkSync: netdb.syncLengths }, (a) => byAddress.get(a));
    return reader.record.flows;
  };

  test('tshark decodes every frame as cnmlab does (UDP and TCP on 7946)', () => {
    expect(agreeWithTshark(pcap)).toMatch(/^agree \d+\/\d+ frames/);
    const count = (filter: string) => execFileSync('tshark', ['-r', pcap, '-Y', filter], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).split('\n').filter(Boolean).length;
    expect(count('udp.srcport == 7946 && udp.dstport == 7946')).toBeGreaterThan(0);
    expect(count('tcp.dstport == 7946 && tcp.flags.syn == 1 && tcp.flags.ack == 0')).toBeGreaterThan(0);
  });

  test("each host's gossip rounds cross as one datagram each, 7946 → 7946, as long as the player made them, nothing back", async () => {
    const gossip = (await flowsOf()).filter((f) => f.control === 'networkdb-gossip');
    for (const [from, to] of [['r0', 'r1'], ['r1', 'r0']]) {
      const mine = gossip.filter((f) => f.from === from && f.to === to);
      // Each of its events in 4 rounds (gossipTransmits(2)).
      expect(mine.length).toBeGreaterThanOrEqual(4);
      for (const f of mine) {
        expect(f.hops.map((h) => [h.dir, h.event])).toEqual([['request', from === 'r0' ? 'send' : 'deliver']]);
        const udp = f.hops[0].layers.find((l) => l.proto === 'udp')!;
        expect([udp['udp.srcport'], udp['udp.dstport']]).toEqual([7946, 7946]);
        expect(netdb.lengths.get(from)!.has((udp['udp.length'] as number) - 8)).toBe(true);
      }
    }
  });

  test('bulk syncs go one way on connections of their own and are answered in kind; push/pulls carry data both ways', async () => {
    const flows = await flowsOf();
    const data = (f: Flow, dir: Hop['dir']) => f.hops.filter((h) => h.dir === dir && (h.event === 'send' || h.event === 'deliver')).reduce((n, h) => n + tcpPayload(h), 0);
    const syncs = flows.filter((f) => f.control === 'networkdb-bulk-sync');
    for (const [from, to] of [['r0', 'r1'], ['r1', 'r0']]) expect(syncs.some((f) => f.from === from && f.to === to)).toBe(true);
    for (const f of syncs) {
      const t = traffic.get(f.from)!;
      expect([...t.bulkSync.map((b) => b.stream), ...t.bulkSyncIn.map((b) => b.answer), ...netdb.syncLengths.get(f.from)!]).toContain(data(f, 'request'));
      expect(data(f, 'reply')).toBe(0);
      expect(f.hops[0].layers.find((l) => l.proto === 'tcp')).toMatchObject({ 'tcp.dstport': 7946 });
    }
    const pushPulls = flows.filter((f) => f.control === 'memberlist-push-pull' && data(f, 'request') > 0 && data(f, 'reply') > 0);
    expect(pushPulls.length).toBeGreaterThan(0);
    for (const f of pushPulls) expect(data(f, 'request')).toBe(traffic.get(f.from)!.pushPull);
  });

  test('a holder still starting learns a change of its traffic once it is up, instead of being started again (each step moves the table clocks)', async () => {
    const holders = new Listeners(record);
    const socket = (proto: 'tcp' | 'udp'): ListeningSocket => ({ proto, address: '*', port: 7946, process: 'dockerd' });
    await holders.apply([socket('udp'), socket('tcp')].map((s) => ({ netns: ns('r1'), op: 'socket.listen' as const, socket: s })));
    const before = traffic.get('r1')!;
    await holders.setTraffic(new Map([[ns('r1'), () => before]]));
    const starting = holders.sync(ns('r1'));
    const pid = record.state.pids[record.state.pids.length - 1];
    await holders.setTraffic(new Map([[ns('r1'), () => ({ ...before, pushPull: before.pushPull + 1 })]]));
    await starting;
    await holders.sync(ns('r1'));
    expect(record.state.pids).toContain(pid);
    expect(fs.existsSync(`/proc/${pid}`)).toBe(true);
    await holders.stopAll();
  });

  test('a namespace whose sockets close while its hold is being told holds nothing after, and is held again anew', async () => {
    const holders = new Listeners(record);
    const socket = (proto: 'tcp' | 'udp'): ListeningSocket => ({ proto, address: '*', port: 7946, process: 'dockerd' });
    const listen = (op: 'socket.listen' | 'socket.close') => [socket('udp'), socket('tcp')].map((s) => ({ netns: ns('r1'), op, socket: s }));
    const held = () => execFileSync('ip', ['netns', 'exec', ns('r1'), 'ss', '-lntu'], { encoding: 'utf8' }).includes(':7946');
    await holders.apply(listen('socket.listen'));
    const starting = holders.sync(ns('r1'));
    // Closed in the same turn, before the holder (still starting) was told what to hold.
    await holders.apply(listen('socket.close'));
    await starting;
    expect(holders.holds(ns('r1'))).toBe(false);
    expect(held()).toBe(false);
    await holders.apply(listen('socket.listen'));
    await holders.sync(ns('r1'));
    expect(held()).toBe(true);
    await holders.stopAll();
    expect(held()).toBe(false);
  });

  test("a stream's first bytes are memberlist's encryptMsg header (type 10, the length that follows), as sim writes them", () => {
    const out = execFileSync('tshark', ['-r', pcap, '-Y', 'tcp.dstport == 7946 && tcp.len > 0', '-T', 'fields', '-e', 'tcp.payload', '-e', 'tcp.len'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    const firsts = out.split('\n').filter(Boolean).map((l) => l.split('\t')).filter(([hex]) => hex.startsWith('0a'));
    expect(firsts.length).toBeGreaterThan(0);
    for (const [hex, len] of firsts) expect(parseInt(hex.slice(2, 10), 16)).toBe(Number(len) - 5);
  });
});

const ADDR3: Record<string, string> = { r0: '198.51.100.10', r1: '198.51.100.11', r2: '198.51.100.12' };
const hostAt = (a: string) => Object.keys(ADDR3).find((h) => ADDR3[h] === a);
// r2 joins a network r0 and r1 are in: a sync to each, answered; the lengths as told apart by the holders.
const SYNC_TO = { r0: 900, r1: 901 }, ANSWER_FROM = { r0: 700, r1: 701 };
const quiet = (bulkSyncIn: NodeTraffic['bulkSyncIn']): NodeTraffic => ({
  peers: [], ping: [60, 60, 60], ack: [20, 20, 20], pushPull: 500, bulkSyncNetworks: [], bulkSync: [], bulkSyncIn, heartbeat: { request: 0, response: 0 },
  // No timer fires within the test: only the join's syncs and their answers cross.
  timersMs: { probe: 1e9, pushPull: 1e9, bulkSync: 1e9, gossip: 200, heartbeat: 1e9, heartbeatJitter: 0 },
});

/**
 * Three hosts on one segment, each with its holder; r2 is told its join's syncs to r0 and r1,
 * and r2's eth0 captured. `lateMs`: r0's holder starts that long after r2 was told (its port
 * closed meanwhile, as while emu restarts a holder); otherwise every holder listens first.
 */
async function pacedJoin(lateMs?: number): Promise<{ record: RunRecord; listeners: Listeners; pcap: string }> {
  const paced = `cnm${randomBytes(3).toString('hex')}`;
  const inPaced = (n: string) => `${paced}.${n}`;
  const record = new RunRecord(paced, 'emu-gossip-paced', false);
  const hosts = ['r0', 'r1', 'r2'];
  execFileSync('ip', ['netns', 'add', inPaced('ul')]);
  record.addNamespaces([inPaced('ul')]);
  execFileSync('ip', ['-n', inPaced('ul'), 'link', 'add', 'ul0', 'type', 'bridge']);
  execFileSync('ip', ['-n', inPaced('ul'), 'link', 'set', 'ul0', 'up']);
  for (const h of hosts) {
    execFileSync('ip', ['netns', 'add', inPaced(h)]);
    record.addNamespaces([inPaced(h)]);
    execFileSync('ip', ['link', 'add', 'eth0', 'netns', inPaced(h), 'type', 'veth', 'peer', 'name', `p-${h}`, 'netns', inPaced('ul')]);
    execFileSync('ip', ['-n', inPaced('ul'), 'link', 'set', `p-${h}`, 'master', 'ul0', 'up']);
    execFileSync('ip', ['-n', inPaced(h), 'addr', 'add', `${ADDR3[h]}/24`, 'dev', 'eth0']);
    for (const d of ['lo', 'eth0']) execFileSync('ip', ['-n', inPaced(h), 'link', 'set', d, 'up']);
  }
  fs.mkdirSync(record.dir, { recursive: true });
  const pcap = path.join(record.dir, 'r2-eth0.pcap');
  const stopCapture = await capture(record, inPaced('r2'), pcap, 'tcp port 7946');
  const listeners = new Listeners(record);
  const socket = (proto: 'tcp' | 'udp'): ListeningSocket => ({ proto, address: '*', port: 7946, process: 'dockerd' });
  await listeners.apply(hosts.flatMap((h) => [socket('udp'), socket('tcp')].map((s) => ({ netns: inPaced(h), op: 'socket.listen' as const, socket: s }))));
  const traffic = new Map<string, NodeTraffic>([
    ['r0', quiet([{ length: SYNC_TO.r0, answer: ANSWER_FROM.r0 }])],
    ['r1', quiet([{ length: SYNC_TO.r1, answer: ANSWER_FROM.r1 }])],
    ['r2', quiet([{ length: ANSWER_FROM.r0 }, { length: ANSWER_FROM.r1 }])],
  ]);
  await listeners.setTraffic(new Map(hosts.map((h) => [inPaced(h), () => traffic.get(h)!] as const)));
  // The traffic restarts every holder (sync starts them anew, in parallel): r2 is told its join's syncs once
  // those that are to listen by then listen again.
  const first = lateMs === undefined ? hosts : hosts.filter((h) => h !== 'r0');
  await Promise.all(first.map((h) => listeners.sync(inPaced(h))));
  listeners.gossip(inPaced('r2'), [[Date.now(), [[ADDR3.r0, SYNC_TO.r0], [ADDR3.r1, SYNC_TO.r1]]]]);
  if (lateMs !== undefined) {
    await new Promise((r) => setTimeout(r, lateMs));
    await listeners.sync(inPaced('r0'));
  }
  await new Promise((r) => setTimeout(r, 2000));
  await listeners.stopAll();
  await stopCapture();
  return { record, listeners, pcap };
}

/** The connections r2's capture saw accepted (a SYN answered with SYN-ACK), as from>to, in order. */
function acceptedConnections(pcap: string): { at: number; way: string }[] {
  const out = execFileSync('tshark', ['-r', pcap, '-Y', 'tcp.flags.syn == 1 && tcp.flags.ack == 1', '-T', 'fields', '-e', 'frame.time_epoch', '-e', 'ip.src', '-e', 'ip.dst'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  // A SYN-ACK goes from the connection's server to its client.
  return out.split('\n').filter(Boolean).map((l) => l.split('\t')).map(([at, src, dst]) => ({ at: Number(at), way: `${hostAt(dst)}>${hostAt(src)}` }));
}

describeWith(['ip', 'tcpdump', 'tshark'], true, "a network join's bulk syncs on the real kernel, one after another", () => {
  let run: { record: RunRecord; listeners: Listeners; pcap: string } | undefined;
  beforeAll(async () => {
    run = await pacedJoin();
  }, 30_000);
  afterAll(() => closeRun(run?.listeners, run?.record));

  test("the sync to r1 starts only once r0's answer has come (bulkSyncNode waits for it), and r1's answer follows", () => {
    const out = execFileSync('tshark', ['-r', run!.pcap, '-Y', 'tcp.flags.syn == 1 && tcp.flags.ack == 0', '-T', 'fields', '-e', 'frame.time_epoch', '-e', 'ip.src', '-e', 'ip.dst'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    const connections = out.split('\n').filter(Boolean).map((l) => l.split('\t')).map(([at, src, dst]) => ({ at: Number(at), from: hostAt(src), to: hostAt(dst) }));
    // r2's sync to r0, r0's answer on a connection of its own, then r2's sync to r1 and r1's answer.
    expect(connections.map((c) => `${c.from}>${c.to}`)).toEqual(['r2>r0', 'r0>r2', 'r2>r1', 'r1>r2']);
    expect(connections[2].at).toBeGreaterThan(connections[1].at);
  });
});

describeWith(['ip', 'tcpdump', 'tshark'], true, "a join's bulk sync to a member whose holder emu is restarting (its port closed a moment)", () => {
  let run: { record: RunRecord; listeners: Listeners; pcap: string } | undefined;
  beforeAll(async () => {
    run = await pacedJoin(500);
  }, 30_000);
  afterAll(() => closeRun(run?.listeners, run?.record));

  test("is refused, tried again until r0 listens, and answered; the sync to r1 follows as when every port was open", () => {
    const refused = execFileSync('tshark', ['-r', run!.pcap, '-Y', `tcp.flags.reset == 1 && ip.src == ${ADDR3.r0}`, '-T', 'fields', '-e', 'frame.number'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    expect(refused.split('\n').filter(Boolean).length).toBeGreaterThan(0);
    expect(acceptedConnections(run!.pcap).map((c) => c.way)).toEqual(['r2>r0', 'r0>r2', 'r2>r1', 'r1>r2']);
  });
});
