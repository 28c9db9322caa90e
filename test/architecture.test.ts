/**
 * The layering rules, checked on the real import graph: sim kernel and emu never meet, the
 * model reaches no backend and no CLI, the wire codecs stand alone, viz never reaches emu, no
 * two folders import each other (even around a loop), and the sim core touches Node only in
 * named adapters (the browser lab bundles the rest). Each rule is also shown to fail on a
 * synthetic violation, so a checker that sees nothing cannot pass.
 */
import * as fs from 'fs';
import * as path from 'path';
import { driverFileImports, driverLeaks, driverQuestions, driverQuestionsIn, folderCycles, importGraph, ImportGraph, NODE_ADAPTERS, nodeGlobalsOf, networkBridgeReads, PAGE_STANDINS, PROGRAM_INDEXES, programImports, registryHelpersIn, specifiersOf, stepNumbers, stepNumbersIn, tapReads, tapReadsIn, tracerImports, violations } from './helpers/architecture';
import { REPO } from './helpers/env';

describe('architecture', () => {
  const graph = importGraph(REPO);

  test('the repository keeps every rule', () => {
    expect(graph.size).toBeGreaterThan(50);
    expect(violations(graph)).toEqual([]);
  });

  test('outside sim/model/drivers/, no code asks which driver a network has (it asks the network\'s driver)', () => {
    expect(driverQuestions(REPO, graph)).toEqual([]);
  });

  test('a question about the driver is found, compared or switched on, either way round', () => {
    const text = [
      "if (net.driver === 'overlay') f();",
      "const local = 'bridge' !== n.driver;",
      'switch (net.driver) { default: }',
      "if (driver == 'host') g();",
      "const d = driverOf(net); if (d.name === 'x') h();",
      "if (driverOf(net).name !== 'bridge') i();",
      "const twoOfThem = ['overlay', 'bridge'].includes(net.driver);",
      // Not questions: a driver's name read or passed on, a lookup of what the user typed, another thing's name.
      "const name = net.driver; const shown = driverNamed(name)?.name; if (wanted.includes(net.driver)) j(); if (c.name === 'x') k();",
    ].join('\n');
    expect(driverQuestionsIn('x.ts', text)).toEqual([
      "x.ts:1: net.driver === 'overlay'",
      "x.ts:2: 'bridge' !== n.driver",
      'x.ts:3: net.driver',
      "x.ts:4: driver == 'host'",
      "x.ts:5: d.name === 'x'",
      "x.ts:6: driverOf(net).name !== 'bridge'",
      "x.ts:7: ['overlay', 'bridge'].includes(net.driver)",
    ]);
  });

  test('outside the model, only the registry and the interface of the drivers are imported (but by the front ends of one driver\'s commands), and the registry takes only drivers', () => {
    expect(driverLeaks(REPO, graph)).toEqual([]);
  });

  test("a driver's file imported outside the model, or a driver's helper taken by the registry, is found", () => {
    // sim/trace drawing weave's devices from its constants; the sim kernel and emu calling overlay-kv's peer lookup.
    const g = plus('sim/trace/topology.ts', 'sim/model/drivers/weave.ts');
    g.set('sim/kernel/backend.ts', [...(g.get('sim/kernel/backend.ts') ?? []), 'sim/model/drivers/overlay-kv.ts', 'sim/model/drivers/index.ts']);
    g.set('emu/misswatch.ts', [...(g.get('emu/misswatch.ts') ?? []), 'sim/model/drivers/overlay-kv.ts']);
    expect(driverFileImports(g).sort()).toEqual(['emu/misswatch.ts → sim/model/drivers/overlay-kv.ts', 'sim/kernel/backend.ts → sim/model/drivers/overlay-kv.ts', 'sim/trace/topology.ts → sim/model/drivers/weave.ts']);
    // packetWay calling flannel's way: a helper of one driver in the code every driver shares.
    const registry = [
      "import { CaptureSpot, NetworkDriver } from './driver';",
      "import { flannelWay } from './flannel';",
      "import { bridgeDriver } from './bridge';",
      "import * as weave from './weave';",
    ].join('\n');
    expect(registryHelpersIn('index.ts', registry)).toEqual(["index.ts: flannelWay from './flannel'", "index.ts: * from './weave'"]);
  });

  describe("a network's bridge field, read where drivers are drawn, traced or captured", () => {
    const synthetic = [
      "import { hostOf, Network, World } from '../model/world';",
      'export function drawn(w: World, n: Network, b: { bridge: string[] }): string[] {',
      "  const locals = Object.values(hostOf(w, 'h1').localNetworks).filter((x) => x.bridge);",
      "  return [...locals.map((x) => x.bridge!), n['bridge'] ?? '', ...b.bridge];",
      '}',
    ].join('\n');
    let found: string[] = [];
    beforeAll(() => {
      found = networkBridgeReads(REPO, graph, { 'sim/trace/synthetic-bridge-read.ts': synthetic });
    }, 120_000);

    test('is nowhere (the driver says which device a network has: hostTopology, endpointPeer, captureSpots)', () => {
      expect(found.filter((f) => !f.startsWith('sim/trace/synthetic-bridge-read.ts'))).toEqual([]);
    });

    test("is found, by its type: a network's bridge read or looked up, not another thing's", () => {
      expect(found.filter((f) => f.startsWith('sim/trace/synthetic-bridge-read.ts'))).toEqual([
        'sim/trace/synthetic-bridge-read.ts:3: x.bridge',
        'sim/trace/synthetic-bridge-read.ts:4: x.bridge',
        "sim/trace/synthetic-bridge-read.ts:4: n['bridge']",
      ]);
    });
  });

  test('outside the path models, no code writes a step as a number (it asks the flow\'s path model)', () => {
    expect(stepNumbers(REPO, graph)).toEqual([]);
  });

  test('a step written as a number is found: given, compared, assigned or switched on', () => {
    const text = [
      "hops.push({ step: 4, event: 'encap' });",
      'if (h.step === 8) f();',
      'const late = 3 < hop.step;',
      "const s = h['step'] >= 6;",
      'let step = 5;',
      'switch (last.step) { case 2: break; default: }',
      // Not steps: a model's step, a scenario's step count, another number.
      'const ok = h.step === model.last; const n = steps.length === 3; const next = { seq: 1 }; if (u.step) g(u.step - 1);',
    ].join('\n');
    expect(stepNumbersIn('x.ts', text)).toEqual([
      'x.ts:1: step: 4',
      'x.ts:2: h.step === 8',
      'x.ts:3: 3 < hop.step',
      "x.ts:4: h['step'] >= 6",
      'x.ts:5: step = 5',
      'x.ts:6: 2',
    ]);
  });

  test('the tracer is made by the datapath alone, and its packet taps are called only at the device points (net/dev.ts)', () => {
    expect(tracerImports(graph)).toEqual([]);
    expect(tapReads(REPO, graph)).toEqual([]);
  });

  test('a driver calling the taps or importing the tracer is found', () => {
    const text = [
      'dp.taps.xmit(dev, skb);',
      "const t = dp['taps'];",
      'const { taps } = dp; const { taps: seen } = dp;',
      // Not the taps: a word in a comment or a string, another property.
      "// the taps see it\nconst s = 'taps'; dp.trace.drop(skb, dev, 'x');",
    ].join('\n');
    expect(tapReadsIn('vxlan.ts', text)).toEqual(['vxlan.ts:1: dp.taps', "vxlan.ts:2: dp['taps']", 'vxlan.ts:3: taps', 'vxlan.ts:3: taps: seen']);
    expect(tracerImports(plus('sim/kernel/net/vxlan.ts', 'sim/kernel/net/tracer.ts'))).toEqual(['sim/kernel/net/vxlan.ts → sim/kernel/net/tracer.ts']);
  });

  test("a driver's programs (its daemons, a kernel module only it uses) are imported only by their backend's registration index and each other", () => {
    for (const index of PROGRAM_INDEXES) expect(graph.get(index)?.length).toBeGreaterThan(0);
    expect(programImports(graph)).toEqual([]);
  });

  test("shared kernel or emu code importing a driver's program is found", () => {
    const plusAll = (edges: [string, string][]): ImportGraph => {
      const g = new Map(graph);
      for (const [from, to] of edges) g.set(from, [...(g.get(from) ?? []), to]);
      return g;
    };
    expect(programImports(plusAll([['sim/kernel/net/dev.ts', 'sim/kernel/weaver.ts'], ['sim/kernel/objects.ts', 'sim/kernel/net/openvswitch.ts'], ['emu/backend.ts', 'emu/bird.ts'], ['emu/translate.ts', 'emu/weaver.ts']])).sort()).toEqual([
      'emu/backend.ts → emu/bird.ts',
      'emu/translate.ts → emu/weaver.ts',
      'sim/kernel/net/dev.ts → sim/kernel/weaver.ts',
      'sim/kernel/objects.ts → sim/kernel/net/openvswitch.ts',
    ]);
  });

  test("Node's globals count as imports of their modules; a name the file declares itself does not", () => {
    const text = [
      'const home = process.env.HOME;',
      'const here = __dirname;',
      'setImmediate(() => undefined);',
      "const r = require.resolve('x'); const direct = require('./y');",
      // Not Node's: members and keys of that name, and Buffer (the page injects its own).
      'const o = { process: 1, global: 2 }; o.process = 3; const b = Buffer.alloc(1);',
    ].join('\n');
    expect(nodeGlobalsOf('x.ts', text).sort()).toEqual(['module', 'process', 'timers']);
    expect(nodeGlobalsOf('y.ts', 'function process(x: number): number { return x; }\nprocess(1);')).toEqual([]);
  });

  test('every named adapter exists and touches Node (an adapter that no longer does should lose its name)', () => {
    for (const file of Object.keys(NODE_ADAPTERS)) {
      expect(graph.get(file)?.some((m) => ['fs', 'pcap-parser'].includes(m))).toBe(true);
    }
  });

  test("the page's build replaces each Node module the lab may reach with its stand-in", () => {
    const build = JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8')).scripts.build as string;
    for (const [adapter, modules] of Object.entries(PAGE_STANDINS)) {
      for (const [module, standIn] of Object.entries(modules)) {
        expect(graph.has(standIn)).toBe(true);
        // The alias matches the specifier as written: the adapter must import node:MODULE.
        expect(fs.readFileSync(path.join(REPO, adapter), 'utf8')).toContain(`from 'node:${module}'`);
        expect(build).toContain(`--alias:node:${module}=./${standIn}`);
      }
    }
  });

  test('the parser finds every kind of import', () => {
    const text = [
      "import { a } from './a';",
      "import type { B } from './b';",
      "export { c } from './c';",
      "export * from './d';",
      "import e = require('./e');",
      "const f = require('./f');",
      "const g = import('./g');",
      "type H = import('./h').H;",
      "import 'side-effect';",
    ].join('\n');
    expect(specifiersOf('x.ts', text)).toEqual(['./a', './b', './c', './d', './e', './f', './g', './h', 'side-effect']);
  });

  /** The real graph with one more edge. */
  const plus = (from: string, to: string): ImportGraph => {
    const g = new Map(graph);
    g.set(from, [...(g.get(from) ?? []), to]);
    return g;
  };
  const broken = (g: ImportGraph) => violations(g).map((v) => v.rule);

  test.each([
    ['sim/kernel/kernel.ts', 'emu/exec.ts', 'the sim kernel does not reach emu'],
    ['emu/exec.ts', 'sim/kernel/clock.ts', 'emu does not reach the sim kernel'],
    ['sim/model/world.ts', 'sim/kernel/clock.ts', 'the model does not reach a backend or the docker CLI'],
    ['sim/model/world.ts', 'sim/docker/errors.ts', 'the model does not reach a backend or the docker CLI'],
    ['sim/model/world.ts', 'emu/names.ts', 'the model does not reach a backend or the docker CLI'],
    ['sim/wire/arp.ts', 'sim/model/world.ts', 'the wire codecs import nothing of the project outside sim/wire'],
    ['viz/report.ts', 'emu/names.ts', 'viz does not reach emu'],
    ['sim/trace/types.ts', 'fs', 'the sim core touches Node only through named adapters'],
    ['sim/model/ids.ts', 'child_process', 'the sim core touches Node only through named adapters'],
    ['sim/runner/runner.ts', 'pcap-parser', 'the sim core touches Node only through named adapters'],
    ['lab/shell.ts', 'fs', 'the lab reaches no Node-only module (a browser page bundles it)'],
    ['lab/save.ts', 'sim/scenario/load.ts', 'the lab reaches no Node-only module (a browser page bundles it)'],
    ['sim/trace/table.ts', 'os', 'the lab reaches no Node-only module (a browser page bundles it)'],
    ['lab/web/main.ts', 'viz/report.ts', 'the lab reaches no Node-only module (a browser page bundles it)'],
    ['viz/app/views.ts', 'fs', 'the lab reaches no Node-only module (a browser page bundles it)'],
    // Node's globals enter the graph as their modules (nodeGlobalsOf): process.env in the core breaks the rule like an import.
    ['sim/trace/table.ts', 'process', 'the sim core touches Node only through named adapters'],
    ['sim/kernel/clock.ts', 'timers', 'the sim core touches Node only through named adapters'],
  ])('%s → %s breaks "%s"', (from, to, rule) => {
    expect(graph.has(from)).toBe(true);
    expect(broken(plus(from, to))).toContain(rule);
  });

  test('a rule also holds through other files: the model reaching emu by way of the trace code breaks it', () => {
    // sim/trace reaches emu; the model, which imports trace code, now does too.
    const g = plus('sim/trace/types.ts', 'emu/names.ts');
    g.set('sim/model/world.ts', [...(g.get('sim/model/world.ts') ?? []), 'sim/trace/types.ts']);
    expect(violations(g).find((v) => v.rule === 'the model does not reach a backend or the docker CLI')?.edge).toBe('sim/model/world.ts → sim/trace/types.ts → emu/names.ts');
  });

  test('a folder cycle, also one around three folders, is found', () => {
    expect(folderCycles(plus('sim/model/world.ts', 'sim/docker/cli.ts'))).toEqual([['sim/docker', 'sim/model']]);
    // plan → trace → model → plan
    const g = plus('sim/plan/ops.ts', 'sim/trace/types.ts');
    g.set('sim/trace/types.ts', [...(g.get('sim/trace/types.ts') ?? []), 'sim/model/world.ts']);
    expect(folderCycles(g)).toEqual([['sim/model', 'sim/plan', 'sim/trace']]);
    expect(broken(g)).toContain('no folder cycle');
  });
});
