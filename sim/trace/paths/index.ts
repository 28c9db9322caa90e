/**
 * The registry of path models: the one place a flow's path id (`flow.path`, which a
 * network driver names) meets its model. A new path is its own file here plus its line
 * below; test/paths.test.ts proves every registered model whole and test/drivers.test.ts
 * that every driver's paths are registered.
 */
import type { Flow } from '../types';
import { bridgePath } from './bridge';
import { flannelHostGwPath, flannelVxlanPath } from './flannel';
import { calicoPath } from './calico';
import { gwbridgePath } from './gwbridge';
import { ipvlanPath } from './ipvlan';
import { macvlanPath } from './macvlan';
import { overlayPath } from './overlay';
import { weaveFastdpPath, weaveSleevePath } from './weave';
import { PathModel } from './path';

const PATHS = {
  overlay: overlayPath,
  bridge: bridgePath,
  gwbridge: gwbridgePath,
  'flannel-vxlan': flannelVxlanPath,
  'flannel-host-gw': flannelHostGwPath,
  calico: calicoPath,
  'weave-sleeve': weaveSleevePath,
  'weave-fastdp': weaveFastdpPath,
  macvlan: macvlanPath,
  ipvlan: ipvlanPath,
} as const satisfies Record<string, PathModel>;

export type PathId = keyof typeof PATHS;

/** A verdict some registered path model gives (a scenario's `expect.path`): registering a model names its verdicts. */
export type VerdictKind = (typeof PATHS)[PathId]['verdicts'][number]['kind'];

/** Every verdict kind, in the registry's order. */
export const VERDICT_KINDS: readonly VerdictKind[] = [...new Set(registeredPaths().flatMap((p) => p.verdicts.map((v) => v.kind)))];

/** The id as a registered path's; undefined when none is registered under it (a driver names its paths as strings: the model does not import the trace). */
export function registeredPath(id: string | undefined): PathId | undefined {
  return id !== undefined && Object.hasOwn(PATHS, id) ? (id as PathId) : undefined;
}

/**
 * The model of the path a flow took. A flow that names none is the overlay's: traces made
 * before flows named their path were all of it, and a host's own ping is placed as it was.
 */
export function pathOf(flow: Pick<Flow, 'path'>): PathModel<VerdictKind> {
  return PATHS[flow.path ?? 'overlay'];
}

/** Every registered path model. */
export function registeredPaths(): readonly PathModel<VerdictKind>[] {
  return Object.values(PATHS);
}

/** The highest step of any path (a scenario's drop-at is checked against the flow's own path when it runs). */
export const MAX_STEP = Math.max(...registeredPaths().map((p) => p.last));
