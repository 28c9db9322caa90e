/**
 * The network names the daemon defines itself, as moby v20.10 tells them apart
 * (runconfig.IsPreDefinedNetwork, container.NetworkMode): one rule for what may not be
 * created, removed or pruned, what `--filter type=builtin` lists, and what may carry an
 * address or an alias.
 */

/** runconfig.IsPreDefinedNetwork: `bridge`, `host`, `none` and `default` (a name for bridge). */
export function isPreDefinedNetwork(name: string): boolean {
  return name === 'bridge' || name === 'host' || name === 'none' || name === 'default';
}

/**
 * A network mode that names a user-defined network (moby's NetworkMode.IsUserDefined): not
 * predefined, nor `container:…`. The daemon asks it of the network's name; docker/cli asks it
 * of `--network` as typed, which may be an id.
 */
export function isUserDefinedNetworkMode(mode: string): boolean {
  return !isPreDefinedNetwork(mode) && !mode.startsWith('container:');
}
