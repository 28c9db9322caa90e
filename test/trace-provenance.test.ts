/**
 * What a trace says about where its flows came from: the scenario step and command of each
 * flow, the topology each flow saw (object lifetimes), and the device that acted at each hop.
 */
import { runLab } from './helpers/run';
import { pathTable } from '../sim/trace/table';
import { existedDuring, TopologyHistory, topologyDuring } from '../sim/trace/lifetimes';
import { traceProblem } from '../sim/trace/validate';
import { compareTraces } from '../sim/trace/compare';
import { Topology, Trace } from '../sim/trace/types';

describe('flow origin', () => {
  test('each flow names its scenario step (1-based, as run numbers them), host and command', async () => {
    const { result } = await runLab('container-leaves');
    const trace: Trace = JSON.parse(JSON.stringify(result.trace));
    expect(trace.flows.filter((f) => f.kind === 'icmp-echo').map((f) => f.origin)).toEqual([
      { step: 7, on: 'ubuntu0', command: 'ping -c 1 10.0.1.4' },
      { step: 12, on: 'ubuntu0', command: 'ping -c 2 -W 1 10.0.1.4' },
    ]);
    expect(traceProblem(trace)).toBeUndefined();
    expect(pathTable(trace.flows.find((f) => f.kind === 'icmp-echo')!)).toMatch(/^path of ping-1 \(icmp-echo ubuntu0 → 10\.0\.1\.4, step 7 · ubuntu0: ping -c 1 10\.0\.1\.4\):/);
  });
});

describe('topology lifetimes', () => {
  const ns = (name: string) => ({ host: 'r0', name, kind: 'container' as const, container: name });
  const topo = (...names: string[]): Topology => ({ hosts: [{ name: 'r0', underlay: '198.51.100.10' }], namespaces: names.map(ns), links: [] });

  test('an object removed, then made again alike, has two lifetimes', () => {
    const h = new TopologyHistory();
    h.observe(0, topo());
    h.observe(1, topo('a'));
    h.observe(2, topo('a', 'b'));
    h.observe(3, topo('b'));
    h.observe(4, topo('a', 'b'));
    expect(h.topology().namespaces).toEqual([
      { ...ns('a'), since: 1, until: 2 },
      { ...ns('b'), since: 2 },
      { ...ns('a'), since: 4 },
    ]);
  });

  test('a step sees what existed as it began or as it ended', () => {
    const o = { since: 2, until: 5 };
    expect([1, 2, 3, 6, 7].map((s) => existedDuring(o, s))).toEqual([false, true, true, true, false]);
    expect(existedDuring({}, 0)).toBe(true);
  });

  test('container-leaves: the ping before `docker rm` saw ubuntu1, the one after did not; the run ends without it', async () => {
    const { result } = await runLab('container-leaves');
    const t = result.trace;
    const [before, after] = t.flows.filter((f) => f.kind === 'icmp-echo');
    const containers = (step?: number) => topologyDuring(t.topology, step).namespaces.filter((n) => n.kind === 'container').map((n) => n.container).sort();
    expect(containers(before.origin!.step)).toEqual(['ubuntu0', 'ubuntu1']);
    expect(containers(after.origin!.step)).toEqual(['ubuntu0']);
    expect(containers(undefined)).toEqual(['ubuntu0']);
    // The hop that delivered the first ping is on a device of that topology.
    const deliver = before.hops.find((h) => h.step === 8 && h.event === 'deliver' && h.dir === 'request')!;
    expect(topologyDuring(t.topology, before.origin!.step).links.some((l) => l.host === deliver.host && l.netns === deliver.netns && l.device === deliver.device)).toBe(true);
  });
});

describe('acting device', () => {
  test('bridge hops name br0, the encapsulation names vxlan0; the path table shows who hands to whom', async () => {
    const { result } = await runLab('overlay-standalone');
    const flow = result.trace.flows.find((f) => f.kind === 'icmp-echo')!;
    const echo = flow.hops.filter((h) => h.layers.some((l) => l.proto === 'icmp') && h.dir === 'request');
    // ping -c 3: three echo requests, each forwarded by br0 on both hosts and encapsulated by vxlan0.
    const perEcho = ['3 br0 → vxlan0 bridge-forward', '4 vxlan0 → eth0 encap', '8 br0 → veth1 bridge-forward'];
    expect(echo.filter((h) => h.actor).map((h) => `${h.step} ${h.actor} → ${h.device} ${h.event}`)).toEqual([...perEcho, ...perEcho, ...perEcho]);
    const table = pathTable(flow);
    expect(table).toMatch(/^3 +request +r0 +1-\w+ +br0 → vxlan0 +bridge-forward/m);
    expect(table).toMatch(/^4 +request +r0 +r0 +vxlan0 → eth0 +encap/m);
    expect(table).toMatch(/^8 +request +r1 +1-\w+ +br0 → veth1 +bridge-forward/m);
    expect(traceProblem(result.trace)).toBeUndefined();
  });
});

describe('sim and emu agree on the acting device', () => {
  test('a hop whose actor differs is a difference verify --mode both reports', async () => {
    const { result } = await runLab('overlay-standalone');
    const sim: Trace = JSON.parse(JSON.stringify(result.trace));
    const emu: Trace = JSON.parse(JSON.stringify(result.trace));
    expect(compareTraces(sim, emu)).toBeUndefined();
    const hop = emu.flows.find((f) => f.kind === 'icmp-echo')!.hops.find((h) => h.step === 3 && h.actor === 'br0' && h.layers.some((l) => l.proto === 'icmp'))!;
    delete hop.actor;
    expect(compareTraces(sim, emu)).toMatchObject({ sim: expect.stringMatching(/^step 3 request r0\/1-\w+\/br0 → vxlan0 /), emu: expect.stringMatching(/^step 3 request r0\/1-\w+\/vxlan0 /) });
  });
});

describe('sim and emu agree on the hop notes', () => {
  test("an echo hop whose note differs (or is missing) is a difference verify --mode both reports, note and all", async () => {
    const { result } = await runLab('overlay-standalone');
    const sim: Trace = JSON.parse(JSON.stringify(result.trace));
    const emu: Trace = JSON.parse(JSON.stringify(result.trace));
    const hop = emu.flows.find((f) => f.kind === 'icmp-echo')!.hops.find((h) => h.step === 5 && h.note && h.layers.some((l) => l.proto === 'icmp'))!;
    delete hop.note;
    expect(compareTraces(sim, emu)).toMatchObject({ sim: expect.stringMatching(/^step 5 request .* — r0:eth0 → r1:eth0$/), emu: expect.not.stringMatching(/ — /) });
  });
});

describe('sim and emu agree whatever order one step\'s sightings were captured in', () => {
  test('two hops of one step swapped (two tcpdumps a microsecond apart) compare equal; a hop moved to another step does not', async () => {
    const { result } = await runLab('overlay-standalone');
    const sim: Trace = JSON.parse(JSON.stringify(result.trace));
    const emu: Trace = JSON.parse(JSON.stringify(result.trace));
    const hops = emu.flows.find((f) => f.kind === 'icmp-echo')!.hops;
    const firstAt8 = hops.findIndex((h) => h.step === 8 && h.dir === 'request' && h.layers.some((l) => l.proto === 'icmp'));
    expect(hops[firstAt8 + 1].step).toBe(8);
    [hops[firstAt8], hops[firstAt8 + 1]] = [hops[firstAt8 + 1], hops[firstAt8]];
    expect(compareTraces(sim, emu)).toBeUndefined();
    hops[firstAt8].step = 7;
    expect(compareTraces(sim, emu)).toBeDefined();
  });
});
