/**
 * The kernel programs' registries (the sim kernel's control planes and module link types,
 * emu's programs) list their members by the rank each registration states, whatever order
 * the modules loaded in, and refuse a name or a rank registered twice. Each case loads the
 * modules afresh (jest.isolateModules), once in each order.
 */
import type * as EmuPrograms from '../emu/programs';
import type { RunRecord } from '../emu/state';
import type * as ProgramRegistry from '../sim/kernel/program_registry';
import type * as Rtnetlink from '../sim/kernel/net/rtnetlink';
import type { ModuleLinkType } from '../sim/kernel/objects';
import type { WorldObserver } from '../sim/kernel/program_registry';

/** Runs `load` with a module registry of its own, so each module registers again. */
function isolated<T>(load: () => T): T {
  let out: T | undefined;
  jest.isolateModules(() => {
    out = load();
  });
  return out!;
}

describe("emu's programs", () => {
  const started = (order: string[]) => isolated(() => {
    for (const m of order) require(m);
    const programs: typeof EmuPrograms = require('../emu/programs');
    return [...programs.startPrograms({} as RunRecord).keys()];
  });

  test('are started (so configured and settled) in rank order, whichever module loaded first', () => {
    expect(started(['../emu/bird', '../emu/weaver'])).toEqual(['bird', 'weaver']);
    expect(started(['../emu/weaver', '../emu/bird'])).toEqual(['bird', 'weaver']);
  });

  test('refuse a name or a rank registered twice', () => {
    isolated(() => {
      require('../emu/bird');
      const programs: typeof EmuPrograms = require('../emu/programs');
      const spec = (name: string) => ({ name, takes: () => false, start: () => ({ configure: async () => {}, settle: async () => {}, stopAll: () => {} }) });
      expect(() => programs.registerEmuProgram(spec('bird'), { rank: 99 })).toThrow('emu program bird is registered twice');
      expect(() => programs.registerEmuProgram(spec('other'), { rank: 10 })).toThrow("emu program other: rank 10 is already bird's");
      expect([...programs.startPrograms({} as RunRecord).keys()]).toEqual(['bird']);
    });
  });
});

describe("the sim kernel's control planes", () => {
  // A control plane of a test's, ranked before weave's mesh (10): registered before or after the mesh's module loads.
  const probe: WorldObserver = { observe: () => {} };
  const made = (probeFirst: boolean) => isolated(() => {
    const registry: typeof ProgramRegistry = require('../sim/kernel/program_registry');
    if (probeFirst) registry.registerControlPlane('probe', () => probe, { rank: 5 });
    require('../sim/kernel/weave_mesh');
    if (!probeFirst) registry.registerControlPlane('probe', () => probe, { rank: 5 });
    const { WeaveMeshControl } = require('../sim/kernel/weave_mesh');
    const planes = registry.programControlPlanes(undefined as never, undefined as never, 1, undefined as never);
    return planes.map((p) => (p === probe ? 'probe' : p instanceof WeaveMeshControl ? 'weave-mesh' : 'other'));
  });

  test('are made (so told the world) in rank order, whichever registered first', () => {
    expect(made(true)).toEqual(['probe', 'weave-mesh']);
    expect(made(false)).toEqual(['probe', 'weave-mesh']);
  });

  test('refuse a name or a rank registered twice', () => {
    isolated(() => {
      const registry: typeof ProgramRegistry = require('../sim/kernel/program_registry');
      require('../sim/kernel/weave_mesh');
      expect(() => registry.registerControlPlane('weave-mesh', () => probe, { rank: 99 })).toThrow('control plane weave-mesh is registered twice');
      expect(() => registry.registerControlPlane('probe', () => probe, { rank: 10 })).toThrow("control plane probe: rank 10 is already weave-mesh's");
    });
  });
});

describe("the sim kernel's module link types", () => {
  // A link type of a test's, ranked after Open vSwitch's (10): registered before or after its module loads.
  const probe = 'probe' as ModuleLinkType;
  const types = (probeFirst: boolean) => isolated(() => {
    const rtnetlink: typeof Rtnetlink = require('../sim/kernel/net/rtnetlink');
    const register = () => rtnetlink.registerLinkType(probe, { ops: { xmit: () => {} }, noOperstate: false }, { rank: 20 });
    if (probeFirst) register();
    require('../sim/kernel/net/openvswitch');
    if (!probeFirst) register();
    return Object.keys(rtnetlink.moduleLinkOps());
  });

  test('are listed in rank order, whichever registered first', () => {
    expect(types(true)).toEqual(['openvswitch', 'probe']);
    expect(types(false)).toEqual(['openvswitch', 'probe']);
  });

  test('refuse a type or a rank registered twice (rtnl_link_register: EEXIST)', () => {
    isolated(() => {
      const rtnetlink: typeof Rtnetlink = require('../sim/kernel/net/rtnetlink');
      require('../sim/kernel/net/openvswitch');
      const spec = rtnetlink.moduleLinkType('openvswitch')!;
      expect(() => rtnetlink.registerLinkType('openvswitch', spec, { rank: 99 })).toThrow('link type openvswitch is registered twice');
      expect(() => rtnetlink.registerLinkType(probe, spec, { rank: 10 })).toThrow("link type probe: rank 10 is already openvswitch's");
    });
  });
});
