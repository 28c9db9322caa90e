/**
 * `docker network ls --filter KEY=VALUE`, as the 20.10 daemon filters: values of one key
 * are alternatives, keys must all hold. `name` and `id` match a regular expression anywhere
 * in the field, `driver` and `scope` exactly, `label` by key or key=value, `type` is
 * `builtin` (bridge, host, none) or `custom`, `dangling` a network no container uses.
 */
import { DaemonRefusal } from '../model/refusal';
import { DockerError } from './errors';
import { endpointsOf, Network } from '../model/world';
import { isPreDefinedNetwork } from '../model/network-mode';

const ACCEPTED = ['dangling', 'driver', 'id', 'label', 'name', 'scope', 'type'];

export type NetworkFilters = Map<string, string[]>;

/** Parses the flag values; a value without `=` is the CLI's own error, an unknown key the daemon's. */
export function parseNetworkFilters(values: string[]): NetworkFilters {
  const filters: NetworkFilters = new Map();
  for (const v of values) {
    const eq = v.indexOf('=');
    if (eq < 0) throw new DockerError(`invalid argument "${v}" for "-f, --filter" flag: bad format of filter (expected name=value)\nSee 'docker network ls --help'.`, 125);
    const key = v.slice(0, eq).trim().toLowerCase();
    filters.set(key, [...(filters.get(key) ?? []), v.slice(eq + 1).trim()]);
  }
  for (const [key, vals] of filters) {
    if (!ACCEPTED.includes(key)) throw new DaemonRefusal(`invalid filter '${key}'`);
    if (key === 'type') for (const t of vals) if (t !== 'custom' && t !== 'builtin') throw new DaemonRefusal(`invalid filter: 'type'='${t}'`);
    if (key === 'dangling') for (const d of vals) if (!['true', 'false', '1', '0'].includes(d.toLowerCase())) throw new DaemonRefusal(`invalid filter 'dangling=${d}'`);
  }
  return filters;
}

function regexMatch(patterns: string[], field: string): boolean {
  return patterns.some((p) => {
    try {
      return new RegExp(p).test(field);
    } catch {
      return false;
    }
  });
}

function labelMatch(wanted: string[], labels: Record<string, string>): boolean {
  return wanted.every((w) => {
    const eq = w.indexOf('=');
    return eq < 0 ? w in labels : labels[w.slice(0, eq)] === w.slice(eq + 1);
  });
}

export function filterNetworks(nets: Network[], filters: NetworkFilters): Network[] {
  const get = (k: string) => filters.get(k);
  return nets.filter((n) => {
    if (get('driver') && !get('driver')!.includes(n.driver)) return false;
    if (get('name') && !regexMatch(get('name')!, n.name)) return false;
    if (get('id') && !regexMatch(get('id')!, n.id)) return false;
    if (get('label') && !labelMatch(get('label')!, n.labels)) return false;
    if (get('scope') && !get('scope')!.includes(n.scope)) return false;
    if (get('type') && !get('type')!.includes(isPreDefinedNetwork(n.name) ? 'builtin' : 'custom')) return false;
    const dangling = get('dangling');
    if (dangling) {
      const wanted = ['true', '1'].includes(dangling[dangling.length - 1].toLowerCase());
      const isDangling = !isPreDefinedNetwork(n.name) && !endpointsOf(n).some((e) => e.kind === 'container');
      if (isDangling !== wanted) return false;
    }
    return true;
  });
}
