/**
 * The host and null drivers: dockerd's predefined `host` and `none` networks. A container on
 * them gets no endpoint (it shares the host's stack, or has only its loopback), so they
 * plumb nothing; `docker network create` cannot make them.
 */
import { NetworkDriver } from './driver';

function noEndpoints(name: 'host' | 'null'): NetworkDriver {
  const never = (): never => {
    throw new Error(`the ${name} driver has no endpoints to join or leave`);
  };
  return {
    name,
    attaches: false,
    join: never,
    leave: never,
    providesGateway: false,
    outsideThroughGwbridge: false,
    embeddedDns: () => false,
    peersToCapture: () => [],
    captureSpots: () => [],
    networkNamespace: () => undefined,
    endpointPeer: (_net, host) => ({ netns: host, master: '' }),
  };
}

export const hostDriver = noEndpoints('host');
export const nullDriver = noEndpoints('null');
