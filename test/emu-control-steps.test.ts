/**
 * emu captures the swarm's control plane in every step, not only while a traced ping runs
 * (emu/capture.ts ControlCapture, emu/control.ts ControlReader): each node's eth0 from the
 * step it joins, read after each step. So a step that pings nothing (a container made, a
 * sleep) has its gossip, probes and heartbeats in emu's trace as in sim's, and verify
 * compares them there (sim/trace/control.ts).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { describeWith } from './helpers/env';
import { cnmlab } from './helpers/tshark';
import { twoNodes } from './helpers/run';
import { compareControl } from '../sim/trace/control';
import { CONTROL_KEPT_PER_STEP, Flow, Hop, Trace } from '../sim/trace/types';
import { ControlReader } from '../emu/control';
import type { CapturePoint } from '../emu/capture';
import type { NodeTraffic } from '../sim/model/cluster';
import { PcapWriter } from '../sim/pcap/writer';
import { emitEthernet, ETHERTYPE_IPV4 } from '../sim/wire/ethernet';
import { emitIpv4 } from '../sim/wire/ipv4';
import { emitUdp } from '../sim/wire/udp';

// Step 7 pings nothing: r1's new container's entries are gossiped during it (emu applies step 6's plan as step 7 looks at the kernel).
const SCENARIO = twoNodes(`  - r0: docker run -dit --name ubuntu0 --network test-net ubuntu:14.04
  - r0: sleep 1
  - r1: docker run -dit --name ubuntu1 --network test-net ubuntu:14.04
  - r1: sleep 3
  - ubuntu0: ping -c 1 10.0.1.4
`, 'name: control-steps');
const QUIET_STEP = 7;

function traceOf(file: string, mode: 'sim' | 'emu', dir: string): Trace {
  const out = path.join(dir, `${mode}.json`);
  const r = cnmlab(['run', file, '--mode', mode, '--trace', out]);
  if (r.status !== 0) throw new Error(`${mode} run failed (${r.status}): ${r.stderr}`);
  return JSON.parse(fs.readFileSync(out, 'utf8')) as Trace;
}

const ADDR: Record<string, string> = { r0: '198.51.100.10', r1: '198.51.100.11' };
const PING = 60, ACK = 20;

/** A datagram 7946 → 7946 of `length` bytes from one host to the other, as r0's eth0 sees it. */
function datagram(from: string, to: string, length: number, id: number): Buffer {
  const udp = emitUdp({ srcPort: 7946, dstPort: 7946 }, Buffer.alloc(length, 1));
  const ip = emitIpv4({ src: ADDR[from], dst: ADDR[to], protocol: 17, ttl: 64, id, tos: 0, dontFragment: true, moreFragments: false, fragmentOffset: 0, options: Buffer.alloc(0) }, udp);
  return emitEthernet({ src: '02:00:00:00:00:01', dst: '02:00:00:00:00:02', ethertype: ETHERTYPE_IPV4 }, ip);
}

describe("emu's control reader, step by step", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cnmlab-control-reader-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  const point: CapturePoint = { host: 'r0', netns: 'r0', device: 'eth0', realNetns: 'x.r0', iface: 'eth0', role: 'host', mine: [ADDR.r0], file: path.join(dir, 'r0-eth0.pcap') };
  const traffic = (): NodeTraffic => ({ peers: [], ping: [PING, PING, PING], ack: [ACK, ACK, ACK], pushPull: 0, bulkSyncNetworks: [], bulkSync: [], bulkSyncIn: [], heartbeat: { request: 0, response: 0 }, timersMs: { probe: 1000, pushPull: 30000, bulkSync: 30000, gossip: 200, heartbeat: 5000, heartbeatJitter: 500 } });
  const sent = { traffic: new Map([['r0', [traffic()]], ['r1', [traffic()]]]), gossip: new Map<string, Set<number>>() };
  const hostOf = (ip: string) => Object.keys(ADDR).find((h) => ADDR[h] === ip);

  test("each step keeps its first exchanges of a kind as sim's record does and counts the rest; the reply to one not kept stays unrecorded", async () => {
    const file = new PcapWriter('nano');
    const frames: Buffer[] = [];
    // Step 1: more probes than the bound, the last one's ack arriving after the step is read.
    for (let i = 0; i < CONTROL_KEPT_PER_STEP + 6; i++) frames.push(datagram('r0', 'r1', PING, i + 1));
    const reader = new ControlReader(0n, []);
    const record = reader.record;
    record.beginStep();
    let t = 1_000_000_000n;
    for (const f of frames) file.add((t += 1_000_000n), f);
    file.writeFile(point.file);
    await reader.read([point], sent, hostOf);
    expect(record.flows.length).toBe(CONTROL_KEPT_PER_STEP);
    expect(record.notKept.get('memberlist-probe')).toBe(6);
    // Step 2: the ack of step 1's last probe (one not kept), then a new probe and its ack.
    record.beginStep();
    const last = record.flows[CONTROL_KEPT_PER_STEP - 1];
    file.add((t += 1_000_000n), datagram('r1', 'r0', ACK, 500));
    file.add((t += 1_000_000n), datagram('r0', 'r1', PING, 501));
    file.add((t += 1_000_000n), datagram('r1', 'r0', ACK, 502));
    file.writeFile(point.file);
    await reader.read([point], sent, hostOf);
    // The not-kept probe's ack is its own and unrecorded; the new probe is kept in the new step, with its ack.
    expect(last.hops.map((h) => h.dir)).toEqual(['request']);
    expect(record.flows.length).toBe(CONTROL_KEPT_PER_STEP + 1);
    expect(record.flows[CONTROL_KEPT_PER_STEP].hops.map((h) => `${h.dir} ${h.event}`)).toEqual(['request send', 'reply deliver']);
    expect(record.notKept.get('memberlist-probe')).toBe(6);
  });

  test('a probe read in one step and its ack in the next make one exchange', async () => {
    const file = new PcapWriter('nano');
    const reader = new ControlReader(0n, []);
    const record = reader.record;
    file.add(1_000_000_000n, datagram('r0', 'r1', PING, 1));
    file.writeFile(point.file);
    await reader.read([point], sent, hostOf);
    file.add(1_200_000_000n, datagram('r1', 'r0', ACK, 2));
    file.writeFile(point.file);
    await reader.read([point], sent, hostOf);
    expect(record.flows.map((f) => [f.control, f.from, f.to, f.hops.map((h) => h.dir)])).toEqual([['memberlist-probe', 'r0', 'r1', ['request', 'reply']]]);
  });
});

describe('verify judges each way of an exchange by its first message', () => {
  /** A segment of a worker's heartbeat connection: to the manager's 2377 or back, with `payload` bytes (a TLS record when `tls`). */
  const segment = (dir: Hop['dir'], timeNs: number, payload: number, tls: boolean): Hop => {
    const [host, sport, dport] = dir === 'request' ? ['r1', 41000, 2377] : ['r0', 2377, 41000];
    return { dir, host, netns: host, device: 'eth0', event: 'send', timeNs, layers: [
      { proto: 'ip', 'ip.len': 20 + 32 + payload, 'ip.hdr_len': 20 },
      { proto: 'tcp', 'tcp.srcport': sport, 'tcp.dstport': dport, 'tcp.hdr_len': 32 },
      ...(tls ? [{ proto: 'tls', 'tls.record.content_type': 23 }] : []),
    ] };
  };
  const trace = (mode: Trace['mode'], hops: Hop[]): Trace => ({ format: 'cnmlab-trace/1', scenario: 't', mode, topology: { hosts: [], namespaces: [], links: [] }, flows: [],
    control: [{ id: 'swarm-heartbeat-1', kind: 'control-plane', control: 'swarm-heartbeat', from: 'r1', to: 'r0', hops, origin: { step: 3, on: 'r0', command: 'sleep 5' } }] });
  const sim = trace('sim', [segment('request', 1, 60, true), segment('reply', 2, 40, true)]);

  test("a bare ACK before the manager's answer is the kernel's timing: the same shape as sim's", () => {
    expect(compareControl(sim, trace('emu', [segment('request', 1, 60, true), segment('reply', 2, 0, false), segment('reply', 3, 40, true)]))).toBeUndefined();
  });

  test('an answer that is no TLS record differs', () => {
    expect(compareControl(sim, trace('emu', [segment('request', 1, 60, true), segment('reply', 2, 0, false), segment('reply', 3, 40, false)])))
      .toMatchObject({ where: 'step 3 control plane: swarm-heartbeat on the wire', emu: 'request tcp >2377 tls, then reply tcp 2377>' });
  });
});

describeWith(['ip', 'tcpdump'], true, 'the control plane in every step of an emu run', () => {
  let dir: string;
  let sim: Trace;
  let emu: Trace;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cnmlab-control-steps-'));
    const file = path.join(dir, 'control-steps.yaml');
    fs.writeFileSync(file, SCENARIO);
    sim = traceOf(file, 'sim', dir);
    emu = traceOf(file, 'emu', dir);
  }, 120_000);
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  const inStep = (t: Trace, step: number, kind: Flow['control']) => (t.control ?? []).filter((f) => f.origin?.step === step && f.control === kind);

  test('a step that traced no ping has its gossip in emu, sent at one host and delivered at the other', () => {
    expect(emu.flows.filter((f) => f.origin?.step === QUIET_STEP)).toEqual([]);
    const gossip = inStep(emu, QUIET_STEP, 'networkdb-gossip');
    expect(gossip.length).toBeGreaterThan(0);
    expect(gossip.map((f) => [f.from, f.to])).toContainEqual(['r1', 'r0']);
    for (const f of gossip) expect(f.hops.map((h) => `${h.host} ${h.event}`)).toEqual([`${f.from} send`, `${f.to} deliver`]);
    // sim's daemon gossips in that step too, so the two are compared there.
    expect(inStep(sim, QUIET_STEP, 'networkdb-gossip').length).toBeGreaterThan(0);
  });

  test('verify compares that step: the modes agree, and a gossip sent to another port is told at that step', () => {
    expect(compareControl(sim, emu)).toBeUndefined();
    const moved: Trace = JSON.parse(JSON.stringify(emu));
    for (const f of inStep(moved, QUIET_STEP, 'networkdb-gossip')) for (const h of f.hops) for (const l of h.layers) if (l['udp.dstport'] === 7946) l['udp.dstport'] = 7947;
    expect(compareControl(sim, moved)).toMatchObject({ where: `step ${QUIET_STEP} control plane: networkdb-gossip on the wire` });
  });

  test("a step of seconds that pings nothing carries each node's probes in emu, within the per-step bound", () => {
    // Steps 1-4 only add: emu applies them as step 5 looks at the kernel, and the daemons are on the wire from then on.
    const probes = inStep(emu, QUIET_STEP, 'memberlist-probe').map((f) => `${f.from}>${f.to}`);
    expect([...new Set(probes)].sort()).toEqual(['r0>r1', 'r1>r0']);
    expect(emu.controlNotKept ?? []).toEqual([]);
  });
});
