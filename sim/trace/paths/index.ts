/**
 * The registry of path models: the one place a flow's path id (`flow.path`, which a
 * network driver names) meets its model. A path is its own file here; it registers itself
 * as it loads (`registerPath`) and adds its model's type to `RegisteredPaths` by declaration
 * merging, so its id and its verdicts are names the type checker knows (`PathId`,
 * `VerdictKind`); what loads it is its driver's registration line (`sim/drivers/index.ts`).
 * test/paths.test.ts proves every
 * registered model whole and test/drivers.test.ts that every driver's paths are registered.
 */
import type { Flow } from '../types';
import { RankedRegistry } from '../../registry/ranked';
import { PathModel } from './path';

/**
 * The path models registered by their own modules, by id, as each declares itself
 * (`declare module './index' { interface RegisteredPaths { ID: typeof itsPath } }`).
 */
export interface RegisteredPaths {}

export type PathId = keyof RegisteredPaths;

/** A verdict some registered path model gives (a scenario's `expect.path`): registering a model names its verdicts. */
export type VerdictKind = RegisteredPaths[PathId]['verdicts'][number]['kind'];

const REGISTERED = new RankedRegistry<PathModel<VerdictKind>>('path model');

/**
 * Called by a path's module as it loads: its id is then a path a flow may name. `rank` places
 * it among the paths wherever their order shows (the verdicts a scenario's `expect.path` may
 * name, in its schema's message), so that order is stated, not the order modules loaded in.
 */
export function registerPath<K extends keyof RegisteredPaths>(id: K, model: RegisteredPaths[K] & PathModel<VerdictKind>, { rank }: { rank: number }): void {
  REGISTERED.register(id, model, rank);
}

/** Every verdict kind, in the registry's order (read when asked: a path registers as its module loads, after this one). */
export function verdictKinds(): readonly VerdictKind[] {
  return [...new Set(registeredPaths().flatMap((p) => p.verdicts.map((v) => v.kind)))];
}

/** The id as a registered path's; undefined when none is registered under it (a driver names its paths as strings: the model does not import the trace). */
export function registeredPath(id: string | undefined): PathId | undefined {
  return id !== undefined && REGISTERED.get(id) ? (id as PathId) : undefined;
}

/**
 * The model of the path a flow took. A flow that names none is the overlay's: traces made
 * before flows named their path were all of it.
 */
export function pathOf(flow: Pick<Flow, 'path'>): PathModel<VerdictKind> {
  const id = flow.path ?? 'overlay';
  const model = REGISTERED.get(id);
  if (!model) throw new Error(`path ${id} is not registered: its driver's registration line (sim/drivers/index.ts) was not loaded`);
  return model;
}

/** Every registered path model, by rank. */
export function registeredPaths(): readonly PathModel<VerdictKind>[] {
  return REGISTERED.list();
}

/** The highest step of any path (a scenario's drop-at is checked against the flow's own path when it runs). */
export function maxStep(): number {
  return Math.max(...registeredPaths().map((p) => p.last));
}
