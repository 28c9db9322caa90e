/**
 * What each layer's registry must hold once the drivers' registration has loaded: the test
 * of `sim/drivers/` replaces the compile-time completeness a table typed over another
 * layer's kinds gave (the sim kernel's stacked devices over the plan's kinds), and names
 * what is missing.
 */

/** What the registries hold, as the test reads them (a synthetic set shows the check firing). */
export interface Registries {
  /** The registered network drivers' names, and the host-level drivers' (flannel: no Docker network driver). */
  drivers: readonly string[];
  driver(name: string): { path?: string; outsidePath?: string; pathOn?: unknown; pathsOn?: readonly string[] } | undefined;
  /** The host programs a driver's front end registered with the shell. */
  hostCommands(driver: string): readonly string[];
  kinds: readonly string[];
  device(kind: string): boolean;
  path(id: string): boolean;
  /** The registered path models' ids. */
  paths: readonly string[];
  parts: readonly string[];
}

/** The layer folder each check reads a driver's own file in, and what that file must have registered. */
const LAYER_CHECKS: Record<string, (driver: string, r: Registries) => string | undefined> = {
  'sim/model/drivers/': (d, r) => (driverNameOf(d, r) ? undefined : `${d}: sim/model/drivers/${d}.ts registered no network driver or host-level driver named ${d} (or ${d}…)`),
  'sim/plan/links/': (d, r) => (r.kinds.includes(d) ? undefined : `${d}: sim/plan/links/${d}.ts registered no link kind ${d}`),
  'sim/kernel/net/': (d, r) => (r.device(d) ? undefined : `${d}: sim/kernel/net/${d}.ts registered no sim kernel device for link kind ${d}`),
  'sim/trace/paths/': (d, r) => (r.path(d) || r.paths.some((id) => id.startsWith(`${d}-`)) ? undefined : `${d}: sim/trace/paths/${d}.ts registered no path model ${d} (or ${d}-…)`),
  'sim/compare/': (d, r) => (r.parts.some((id) => id === d || id.startsWith(`${d}-`)) ? undefined : `${d}: sim/compare/${d}.ts registered no comparison part ${d} (or ${d}-…)`),
};

/** The network driver a driver's model file registered: named as the driver, or beginning so (weave's plugin is `weavemesh`). */
function driverNameOf(driver: string, r: Registries): string | undefined {
  return r.drivers.includes(driver) ? driver : r.drivers.find((n) => n.startsWith(driver));
}

/**
 * For each driver's bundle (the own files it loads), what its files should have registered
 * and did not; and across layers, a link kind with no sim kernel device, and a path the
 * driver names (`path`, `outsidePath`, each of `pathsOn`) with no path model, or a `pathOn`
 * that states no `pathsOn`.
 */
export function missingRegistrations(bundles: Record<string, readonly string[]>, r: Registries): string[] {
  const missing: string[] = [];
  for (const [driver, files] of Object.entries(bundles)) {
    for (const file of files) {
      const layer = Object.keys(LAYER_CHECKS).find((l) => file === `${l}${driver}.ts`);
      const frontEnd = file.startsWith(`sim/${driver}/`);
      const fault = layer ? LAYER_CHECKS[layer](driver, r)
        : frontEnd ? (r.hostCommands(driver).length ? undefined : `${driver}: ${file} registered no host command of ${driver}'s`)
          : `${driver}: ${file} is in no layer the registration knows`;
      if (fault) missing.push(fault);
    }
    const name = driverNameOf(driver, r);
    const model = name === undefined ? undefined : r.driver(name);
    for (const id of new Set([model?.path, model?.outsidePath, ...(model?.pathsOn ?? [])])) if (id !== undefined && !r.path(id)) missing.push(`${driver}: its path ${id} has no registered path model`);
    if (model?.pathOn && !model.pathsOn) missing.push(`${driver}: its pathOn states no pathsOn (the paths it may give)`);
  }
  for (const kind of r.kinds) if (!r.device(kind)) missing.push(`link kind ${kind}: no sim kernel device registered (sim/kernel/net/${kind}.ts, registerStackedDevice)`);
  return missing;
}
