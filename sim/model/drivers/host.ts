/** The host driver: dockerd's predefined `host` network, whose containers share the host's own stack (an endpoint with no interface). */
import { noEndpointsDriver } from './driver';
import { registerDriver } from './index';

export const hostDriver = noEndpointsDriver('host');

declare module './index' {
  interface RegisteredDrivers {
    host: true;
  }
}

registerDriver('host', hostDriver, { rank: 30 });
