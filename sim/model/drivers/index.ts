/**
 * The registry of network drivers: the one place that turns a network's driver name into
 * its driver. A driver is its own file under `sim/model/drivers/`, which registers it as it
 * loads (`registerDriver`) and adds its name to `RegisteredDrivers` by declaration merging;
 * what loads it is its registration line (`sim/drivers/index.ts`). `test/drivers.test.ts`
 * proves each complete.
 */
import { RankedRegistry } from '../../registry/ranked';
import { subnetContains } from '../../wire/addr';
import { Container, Endpoint, endpointOf, hostOf, Network, swarmNetwork, World } from '../world';
import { CaptureSpot, HostDevice, HostProgram, MachineNeeds, NetworkDriver, OutsideWay, PeerAnswer } from './driver';

/**
 * The drivers registered by their own files, by name, as each declares itself
 * (`declare module './index' { interface RegisteredDrivers { NAME: true } }`).
 */
export interface RegisteredDrivers {}

/** A network's driver name (`Network['driver']`): the registry's names, so registering a driver names it. */
export type DriverName = keyof RegisteredDrivers;

const registered = new RankedRegistry<NetworkDriver>('network driver');

/**
 * Called by a driver's own file as it loads: its name is then one `docker network create -d`
 * takes. `rank` places it among the drivers wherever their order shows (a host's topology,
 * what a scenario needs of a machine), so that order is stated, not the order files loaded in.
 */
export function registerDriver(name: keyof RegisteredDrivers, driver: NetworkDriver, { rank }: { rank: number }): void {
  registered.register(name, driver, rank);
}

export function driverOf(net: Pick<Network, 'driver'>): NetworkDriver {
  const driver = driverNamed(net.driver);
  if (!driver) throw new Error(`network driver ${net.driver} is not registered: its registration line (sim/drivers/index.ts) was not loaded`);
  return driver;
}

/** The driver `docker network create -d NAME` asks for; undefined when no such driver is registered. */
export function driverNamed(name: string): NetworkDriver | undefined {
  return registered.get(name);
}

/** Every registered driver, by rank (topology asks per host and step: the registry keeps the sorted list). */
export function registeredDrivers(): readonly NetworkDriver[] {
  return registered.list();
}

/**
 * The host-level drivers registered by their own files, by name, as each declares itself
 * (`declare module './index' { interface RegisteredHostLevel { NAME: true } }`): a control
 * plane that ran beside Docker and is no Docker network driver (flannel: dockerd puts its
 * containers on docker0, the bridge driver plumbs them), whose part is the host's.
 */
export interface RegisteredHostLevel {}

/** What a host-level driver routes: a packet leaving a Docker network's gateway that it takes elsewhere (flannel's lease for docker0's); undefined: not its. */
export type HostLevelWay = (world: World, host: string, net: Network, dst: string) => OutsideWay | undefined;

const hostLevel: Record<string, HostLevelWay> = {};
const hostLevelNeeds: Record<string, (commands: string[]) => MachineNeeds> = {};

/**
 * Called by a host-level driver's own file as it loads: `packetWay` then asks its way for what
 * leaves a network's gateway, and `machineNeeds` its needs, as a network driver's.
 */
export function registerHostLevel(name: keyof RegisteredHostLevel, { outsideWay, needs }: { outsideWay: HostLevelWay; needs?: (commands: string[]) => MachineNeeds }): void {
  hostLevel[name] = outsideWay;
  if (needs) hostLevelNeeds[name] = needs;
}

/** The registered host-level drivers' names, in the order they registered. */
export function hostLevelDrivers(): readonly string[] {
  return Object.keys(hostLevel);
}

/** Where a packet leaves a container and the path it takes (see packetWay). */
export interface PacketWay {
  net: Network;
  ep: Endpoint;
  path?: string;
  /** Endpoints beyond the driver's own peers the packet may reach, captured too (flannel's peer container: its host-level way). */
  peers?: { net: Network; ep: Endpoint }[];
  /** Capture spots beyond the endpoints' own (flannel's uplinks and flannel.1). */
  spots?: CaptureSpot[];
  /** The source address a MASQUERADE on the way gives the packet (Docker's for docker0's subnet, on flannel's way out). */
  natSrc?: string;
}

/**
 * Where a packet from container c to `dst` leaves it, and the path it takes there, as the
 * network's driver names it: the endpoint on the network whose subnet holds `dst` (its
 * driver's path), else the endpoint that carries the default route (docker_gwbridge's, or
 * the first network with a gateway, as libnetwork's needDefaultGW keeps it), whose
 * driver's outside path it takes. Undefined when no endpoint leads there.
 */
export function packetWay(world: World, c: Container, dst: string): PacketWay | undefined {
  const local = hostOf(world, c.host).localNetworks;
  const attached = c.networks.flatMap((entry) => {
    const net = swarmNetwork(world.swarm, entry.networkId) ?? local[entry.networkId];
    const ep = entry.endpointId && net ? endpointOf(net, entry.endpointId) : undefined;
    return net && ep ? [{ net, ep }] : [];
  });
  const on = attached.find(({ net }) => subnetContains(net.ipam.subnet, dst));
  if (on) return { ...on, path: driverOf(on.net).pathOn?.(world, on.net) ?? driverOf(on.net).path };
  const gateway = c.gatewayEndpoint
    ? Object.values(local).flatMap((net) => {
      const ep = endpointOf(net, c.gatewayEndpoint!);
      return ep ? [{ net, ep }] : [];
    })[0]
    : attached.find(({ net }) => driverOf(net).providesGateway);
  if (!gateway) return undefined;
  const driver = driverOf(gateway.net);
  // The driver's own way, else one a host-level driver routes beside it (flannel's lease for docker0's packets).
  const beside = driver.outsideWay?.(world, c.host, gateway.net, dst)
    ?? Object.values(hostLevel).map((way) => way(world, c.host, gateway.net, dst)).find((w) => w !== undefined);
  return beside ? { ...gateway, ...beside } : { ...gateway, path: driver.outsidePath };
}

/** The network a daemon on `host` knows by `networkId`: its local copy (a classic overlay's, kept by each member of the store) or the swarm's. */
function networkOn(world: World, host: string, networkId: string): Network | undefined {
  return hostOf(world, host).localNetworks[networkId] ?? swarmNetwork(world.swarm, networkId);
}

/** The answer `host`'s daemon gets when its vxlan device on `networkId` missed the peer at `ip`, as the network's driver gives it. */
export function resolvePeer(world: World, host: string, networkId: string, ip: string): PeerAnswer | undefined {
  const net = networkOn(world, host, networkId);
  return net && driverOf(net).resolvePeer?.(world, host, networkId, ip);
}

/** Every address on `networkId` a query from `host` would get answered, with its answer, as the network's driver gives them. */
export function peerAnswers(world: World, host: string, networkId: string): Record<string, PeerAnswer> {
  const net = networkOn(world, host, networkId);
  return (net && driverOf(net).peerAnswers?.(world, host, networkId)) ?? {};
}

/** What every driver made in `host`'s own namespace (bridges, a router's devices and the router), in registry order. */
export function hostTopologyOf(world: World, host: string): { devices: HostDevice[]; programs: HostProgram[] } {
  const devices: HostDevice[] = [], programs: HostProgram[] = [];
  for (const d of registeredDrivers()) {
    const t = d.hostTopology?.(world, host);
    if (t) devices.push(...t.devices), programs.push(...t.programs);
  }
  return { devices, programs };
}

/** Hosts whose drivers' `hostTopology` changed between two worlds though their host records did not. */
export function hostsRedrawn(before: World | undefined, after: World): Set<string> {
  const hosts = new Set<string>();
  for (const d of registeredDrivers()) for (const h of d.hostsRedrawn?.(before, after) ?? []) hosts.add(h);
  return hosts;
}

/** What a scenario's commands need of a real machine (emu), as every driver, then every host-level one, says: programs to run and kernel features. */
export function machineNeeds(commands: string[]): MachineNeeds {
  const all = [...registeredDrivers().map((d) => d.needs?.(commands)), ...Object.values(hostLevelNeeds).map((needs) => needs(commands))];
  const programs = new Map(all.flatMap((n) => n?.programs ?? []).map((p) => [p.name, p]));
  const kernel = new Map(all.flatMap((n) => n?.kernel ?? []).map((f) => [f.name, f]));
  return { programs: [...programs.values()], kernel: [...kernel.values()] };
}
