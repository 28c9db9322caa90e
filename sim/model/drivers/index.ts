/**
 * The registry of network drivers: the one place that turns a network's driver name into
 * its driver. A new driver is its own files under `sim/model/drivers/` (and a path model
 * under `sim/trace/paths/`) plus its line here; `test/drivers.test.ts` proves it complete.
 */
import { Network } from '../world';
import { bridgeDriver } from './bridge';
import { NetworkDriver } from './driver';
import { hostDriver, nullDriver } from './none';
import { overlayDriver } from './overlay';

// Built on first use: the overlay driver and endpoints.ts import each other (its lb endpoint),
// so a table made as this module loads could meet the overlay's module half-loaded.
let registry: Record<Network['driver'], NetworkDriver> | undefined;
const drivers = (): Record<Network['driver'], NetworkDriver> =>
  (registry ??= {
    overlay: overlayDriver,
    bridge: bridgeDriver,
    host: hostDriver,
    null: nullDriver,
  });

export function driverOf(net: Pick<Network, 'driver'>): NetworkDriver {
  return drivers()[net.driver];
}

/** The driver `docker network create -d NAME` asks for; undefined when no such driver is registered. */
export function driverNamed(name: string): NetworkDriver | undefined {
  const all = drivers();
  return Object.hasOwn(all, name) ? all[name as Network['driver']] : undefined;
}

/** Every registered driver, for the tests that prove each complete. */
export function registeredDrivers(): readonly NetworkDriver[] {
  return Object.values(drivers());
}
