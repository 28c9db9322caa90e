/**
 * The host driver: dockerd's predefined `host` network, whose containers share the host's own
 * stack (an endpoint with no interface). What is sent from that namespace (theirs, the host's
 * own commands') takes the host path (sim/trace/paths/host.ts).
 */
import { endpointsOf, hostOf, World } from '../world';
import { hostByUnderlay, HostNamespaceWay, NetworkDriver, noEndpointsDriver, uplinkSpots } from './driver';
import { driverOf, registerDriver } from './index';

export const hostDriver: NetworkDriver = { ...noEndpointsDriver('host'), path: 'host', hostNamespaceWay: hostWay };

declare module './index' {
  interface RegisteredDrivers {
    host: true;
  }
}

registerDriver('host', hostDriver, { rank: 30 });

/**
 * The host path of a ping from `host`'s own namespace to `dst`: down through the bridge that
 * holds a local bridge network's gateway, to the container holding `dst` on it (its port, its
 * eth0); or out of the host's uplink across the underlay to the lab host holding `dst` there.
 * Undefined for any other destination (an overlay's, a host-level driver's), which it does not
 * model.
 */
function hostWay(world: World, host: string, dst: string): HostNamespaceWay | undefined {
  for (const net of Object.values(hostOf(world, host).localNetworks)) {
    if (net.driver !== 'bridge' || !net.bridge) continue;
    const ep = endpointsOf(net).find((e) => e.ip === dst && e.state === 'joined');
    if (!ep) continue;
    return {
      src: net.ipam.gateway,
      spots: [
        { host, netns: host, device: net.bridge, role: 'bridge', mine: [ep.mac] },
        ...driverOf(net).captureSpots(world, net, ep),
        { host: ep.host, netns: ep.sandbox, device: ep.ifname, role: 'container', mine: [ep.mac] },
      ],
    };
  }
  const underlay = hostOf(world, host).underlay;
  const remote = hostByUnderlay(world, host, dst);
  if (!remote) return undefined;
  return { src: underlay, spots: [...uplinkSpots(host, underlay), ...uplinkSpots(remote, dst)] };
}
