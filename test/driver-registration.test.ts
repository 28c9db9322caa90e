/**
 * A driver that registers itself touches its own files and one line (ARCHITECTURE.md,
 * "Adding a driver"): `sim/drivers/index.ts` registers each by one line, the line's bundle
 * loads only the driver's own file in each layer, no other production file imports those,
 * and once loaded (jest's setup loads the registration as the CLI does) every layer's
 * registry holds what the driver's files registered. Each check is also shown to fire.
 */
import * as fs from 'fs';
import * as path from 'path';
import { comparePart, compared, registerPart } from '../sim/compare';
import { hasStackedDevice } from '../sim/kernel/net/stacked';
import { driverNamed, hostLevelDrivers, registerDriver, registeredDrivers, type RegisteredDrivers } from '../sim/model/drivers';
import { hostCommandOf, hostCommandsOf } from '../sim/runner/host-commands';
import { stackedTypes, type StackedType } from '../sim/plan/links';
import { registeredPath, registeredPaths } from '../sim/trace/paths';
import { bundleFaultsIn, importGraph, ownFiles, REGISTRATION, registrationFaults, registrationLinesIn } from './helpers/architecture';
import { REPO } from './helpers/env';
import { missingRegistrations, Registries } from './helpers/registration';

const INDEX = `${REGISTRATION}index.ts`;

describe('driver registration', () => {
  const graph = importGraph(REPO);
  const { drivers } = registrationLinesIn(INDEX, fs.readFileSync(path.join(REPO, INDEX), 'utf8'));
  const bundles = Object.fromEntries(drivers.map((d) => [d, ownFiles(d, graph).slice(1)]));

  test('each registered driver is one line of sim/drivers/index.ts, and its files are its own', () => {
    expect(drivers).toEqual(expect.arrayContaining(['overlay', 'bridge', 'host', 'null', 'flannel', 'calico', 'weave', 'macvlan', 'ipvlan']));
    expect(registrationFaults(REPO, graph)).toEqual([]);
    // ipvlan's own files: one a layer, five layers.
    expect(bundles.ipvlan).toEqual(['sim/model/drivers/ipvlan.ts', 'sim/plan/links/ipvlan.ts', 'sim/kernel/net/ipvlan.ts', 'sim/trace/paths/ipvlan.ts', 'sim/compare/ipvlan.ts']);
    // Docker's built-in drivers: the overlay's (its classic mode's part with its own), the bridge's (docker_gwbridge's path with its own), host's (the host path, its containers' and the host's own commands') and null.
    expect(bundles.overlay).toEqual(['sim/model/drivers/overlay.ts', 'sim/trace/paths/overlay.ts', 'sim/compare/overlay.ts']);
    expect(bundles.bridge).toEqual(['sim/model/drivers/bridge.ts', 'sim/trace/paths/bridge.ts']);
    expect([bundles.host, bundles.null]).toEqual([['sim/model/drivers/host.ts', 'sim/trace/paths/host.ts'], ['sim/model/drivers/null.ts']]);
  });

  test('hop notes written in more than one layer are worded once, in the shared paths/notes.ts: no driver owns them', () => {
    const paths = 'sim/trace/paths';
    const wording = fs.readdirSync(path.join(REPO, paths)).filter((f) => /export const \w+Notes\b/.test(fs.readFileSync(path.join(REPO, paths, f), 'utf8')));
    expect(wording).toEqual(['notes.ts']);
    const notes = `${paths}/notes.ts`;
    // The weave router's sim and emu's capture write the sleeve notes; replay and the tracer the overlay's.
    const importers = [...graph].filter(([, deps]) => deps.includes(notes)).map(([file]) => file).sort();
    expect(importers).toEqual(expect.arrayContaining(['emu/capture.ts', 'sim/kernel/weaver.ts', 'sim/kernel/net/tracer.ts', 'sim/trace/replay.ts']));
    expect(Object.values(bundles).flat()).not.toContain(notes);
  });

  test("a driver's front end is its own folder: calicoctl, flannel's programs and the weave script register themselves with the shell, and no other file imports them", () => {
    expect(bundles.flannel).toEqual(['sim/model/drivers/flannel.ts', 'sim/trace/paths/flannel.ts', 'sim/compare/flannel.ts', 'sim/flannel/flanneld.ts']);
    expect(hostCommandsOf('flannel')).toEqual(['etcdctl', 'flanneld', 'systemctl', 'cat']);
    expect(hostLevelDrivers()).toEqual(['flannel']);
    expect(bundles.calico).toEqual(['sim/model/drivers/calico.ts', 'sim/trace/paths/calico.ts', 'sim/compare/calico.ts', 'sim/calico/calicoctl.ts']);
    expect(bundles.weave).toEqual(['sim/model/drivers/weave.ts', 'sim/trace/paths/weave.ts', 'sim/compare/weave.ts', 'sim/weave/cli.ts']);
    expect([hostCommandsOf('calico'), hostCommandsOf('weave')]).toEqual([['calicoctl'], ['weave']]);
    expect(hostCommandOf(['calicoctl', 'node', 'status'])).toBeDefined();
    // The shell reaching into the front end again, as it did before weave registered.
    const g = new Map(graph);
    g.set('sim/runner/shell.ts', [...(g.get('sim/runner/shell.ts') ?? []), 'sim/weave/cli.ts']);
    expect(registrationFaults(REPO, g)).toEqual(["sim/runner/shell.ts → sim/weave/cli.ts: weave's own file imported by a file not its own"]);
    expect(bundleFaultsIn('weave.ts', "import '../weave/cli';\nimport '../weave/nested/cli';\n", 'weave')).toEqual([
      "weave.ts:2: import '../weave/nested/cli';: not one of weave's own files in a layer (../model/drivers/weave, ../plan/links/weave, ../kernel/net/weave, ../trace/paths/weave, ../compare/weave) or its front end (../weave/…)",
    ]);
  });

  test('a line that is no registration, a bundle loading another file, and a registry importing a driver\'s file are found', () => {
    expect(registrationLinesIn('index.ts', "import './macvlan';\nimport { x } from './ipvlan';\nimport './macvlan';\nexport const n = 1;\n").faults).toEqual([
      "index.ts:2: import { x } from './ipvlan';: not a driver's registration line (import './<driver>';)",
      "index.ts:3: import './macvlan';: macvlan registered twice",
      "index.ts:4: export const n = 1;: not a driver's registration line (import './<driver>';)",
    ]);
    expect(bundleFaultsIn('ipvlan.ts', "import '../model/drivers/ipvlan';\nimport '../kernel/net/stacked_port';\n", 'ipvlan')).toEqual([
      "ipvlan.ts:2: import '../kernel/net/stacked_port';: not one of ipvlan's own files in a layer (../model/drivers/ipvlan, ../plan/links/ipvlan, ../kernel/net/ipvlan, ../trace/paths/ipvlan, ../compare/ipvlan) or its front end (../ipvlan/…)",
    ]);
    // The path registry listing ipvlan's model again, as every registry did before.
    const g = new Map(graph);
    g.set('sim/trace/paths/index.ts', [...(g.get('sim/trace/paths/index.ts') ?? []), 'sim/trace/paths/ipvlan.ts']);
    // The engine makes its built-in drivers' networks itself (docker0, docker_gwbridge, ingress): no other driver's.
    g.set('sim/model/swarm.ts', [...(g.get('sim/model/swarm.ts') ?? []), 'sim/model/drivers/macvlan.ts']);
    expect(registrationFaults(REPO, g)).toEqual([
      "sim/model/swarm.ts → sim/model/drivers/macvlan.ts: macvlan's own file imported by a file not its own",
      "sim/trace/paths/index.ts → sim/trace/paths/ipvlan.ts: ipvlan's own file imported by a file not its own",
    ]);
  });

  const real: Registries = {
    drivers: [...registeredDrivers().map((d) => d.name), ...hostLevelDrivers()],
    driver: (name) => driverNamed(name),
    hostCommands: hostCommandsOf,
    kinds: stackedTypes(),
    device: (kind) => hasStackedDevice(kind as StackedType),
    path: (id) => registeredPath(id) !== undefined,
    paths: registeredPaths().map((p) => p.id),
    parts: compared(),
  };

  test("every layer's registry holds what each driver's own files registered; every link kind has its sim kernel device", () => {
    expect(missingRegistrations(bundles, real)).toEqual([]);
    expect(comparePart('ipvlan')?.id).toBe('ipvlan');
    // Every path a driver may name is registered: ipvlan's l3 path, which only its pathOn gives, among them.
    expect(driverNamed('ipvlan')?.pathsOn).toContain('ipvlan-l3');
    expect(registeredPath('ipvlan-l3')).toBe('ipvlan-l3');
  });

  test('a missing registration is named, layer by layer', () => {
    const none: Registries = { drivers: ['vlan'], driver: () => ({ path: 'vlan-path' }), hostCommands: () => [], kinds: ['vlan'], device: () => false, path: () => false, paths: [], parts: [] };
    expect(missingRegistrations({ vlan: ['sim/plan/links/vlan.ts', 'sim/kernel/net/vlan.ts', 'sim/trace/paths/vlan.ts', 'sim/compare/vlan.ts', 'sim/viz/vlan.ts', 'sim/vlan/vlanctl.ts'] }, { ...none, kinds: [] })).toEqual([
      'vlan: sim/plan/links/vlan.ts registered no link kind vlan',
      'vlan: sim/kernel/net/vlan.ts registered no sim kernel device for link kind vlan',
      'vlan: sim/trace/paths/vlan.ts registered no path model vlan (or vlan-…)',
      'vlan: sim/compare/vlan.ts registered no comparison part vlan (or vlan-…)',
      'vlan: sim/viz/vlan.ts is in no layer the registration knows',
      "vlan: sim/vlan/vlanctl.ts registered no host command of vlan's",
      'vlan: its path vlan-path has no registered path model',
    ]);
    expect(missingRegistrations({}, none)).toEqual(['link kind vlan: no sim kernel device registered (sim/kernel/net/vlan.ts, registerStackedDevice)']);
    expect(missingRegistrations({ vlan: ['sim/model/drivers/vlan.ts'] }, { ...none, drivers: [], kinds: [] })).toEqual(['vlan: sim/model/drivers/vlan.ts registered no network driver or host-level driver named vlan (or vlan…)']);
    // A driver named beyond its file's name (weave's `weavemesh`) is its file's; its path is checked.
    expect(missingRegistrations({ vlan: ['sim/model/drivers/vlan.ts'] }, { ...none, drivers: ['vlanmesh'], kinds: [] })).toEqual(['vlan: its path vlan-path has no registered path model']);
    // A path only pathOn gives: stated and unregistered, or not stated at all.
    const pathOn = () => 'vlan-l3';
    expect(missingRegistrations({ vlan: [] }, { ...none, kinds: [], path: (id) => id === 'vlan', driver: () => ({ path: 'vlan', pathOn, pathsOn: ['vlan', 'vlan-l3'] }) }))
      .toEqual(['vlan: its path vlan-l3 has no registered path model']);
    expect(missingRegistrations({ vlan: [] }, { ...none, kinds: [], path: () => true, driver: () => ({ path: 'vlan', pathOn }) }))
      .toEqual(['vlan: its pathOn states no pathsOn (the paths it may give)']);
  });

  test('what the registries list is in the ranks their registrations state, not in the order files loaded in', () => {
    // compare's columns (the order every transcript of it shows), the verdicts a scenario may name, the drivers.
    expect(compared()).toEqual(['overlay', 'overlay-kv', 'flannel-vxlan', 'flannel-host-gw', 'calico-bgp', 'calico-ipip', 'calico-vxlan', 'weave-fastdp', 'weave-sleeve', 'macvlan', 'ipvlan', 'ipvlan-l3']);
    expect(registeredPaths().map((p) => p.id)).toEqual(['overlay', 'bridge', 'gwbridge', 'host', 'flannel-vxlan', 'flannel-host-gw', 'calico', 'weave-sleeve', 'weave-fastdp', 'macvlan', 'ipvlan', 'ipvlan-l3']);
    expect(registeredDrivers().map((d) => d.name)).toEqual(['overlay', 'bridge', 'host', 'null', 'calico', 'weavemesh', 'macvlan', 'ipvlan']);
    // A registration loaded last, ranked between others, is listed there.
    registerPart({ ...comparePart('overlay')!, id: 'overlay-late' }, { rank: 15 });
    expect(compared().slice(0, 3)).toEqual(['overlay', 'overlay-late', 'overlay-kv']);
    registerDriver('late' as keyof RegisteredDrivers, { ...driverNamed('null')!, name: 'late' as keyof RegisteredDrivers }, { rank: 1 });
    expect(registeredDrivers()[0].name).toBe('late');
  });
});
