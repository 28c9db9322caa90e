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
import type { Flow, Trace } from '../sim/trace/types';

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
