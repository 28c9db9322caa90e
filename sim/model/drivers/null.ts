/** The null driver: dockerd's predefined `none` network, whose containers have only their loopback (no endpoint). */
import { noEndpointsDriver } from './driver';
import { registerDriver } from './index';

export const nullDriver = noEndpointsDriver('null');

declare module './index' {
  interface RegisteredDrivers {
    null: true;
  }
}

registerDriver('null', nullDriver, { rank: 40 });
