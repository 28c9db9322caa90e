/**
 * A broadcast destination as Linux routes it: the local table's broadcast route of an
 * address (fib_add_ifaddr's, lo's among them) gives the device and the source, whatever
 * route of the main table also matches; the limited broadcast keeps the device it is routed
 * to; `ip route get` prints such a route as a broadcast, and a broadcast address, lo's too,
 * is no gateway. The same devices, addresses and commands are made in a SimKernel namespace
 * and, as root, in a real network namespace, where the kernel must answer what sim answers.
 */
import { spawnSync } from 'child_process';
import { SimKernel } from '../sim/kernel/kernel';
import { ipCommand } from '../sim/kernel/iproute';
import { isLocal, route } from '../sim/kernel/net/ipv4/route';
import type { SimNetns } from '../sim/kernel/objects';
import type { PlanOp } from '../sim/plan/ops';
import { describeWith } from './helpers/env';

const H = 'h';

/** The devices and addresses, made in sim by the model's ops and in the kernel by ip (eth0: an up device with a carrier in both). */
const DEVICES: { op: PlanOp; ip: string[] }[] = [
  { op: { op: 'host.add', host: H, iface: 'eth0', address: '198.51.100.10/24' }, ip: ['link set lo up', 'link add eth0 type veth peer name eth0p', 'link set eth0p up', 'link set eth0 up', 'addr add 198.51.100.10/24 dev eth0'] },
  { op: { op: 'link.add', host: H, netns: H, name: 'eth1', kind: { type: 'veth', peer: 'eth1p' } }, ip: ['link add eth1 type veth peer name eth1p'] },
  { op: { op: 'link.add', host: H, netns: H, name: 'eth2', kind: { type: 'veth', peer: 'eth2p' } }, ip: ['link add eth2 type veth peer name eth2p'] },
  // eth1's /31 holds eth0's broadcast address: a longer prefix than eth0's /24.
  { op: { op: 'addr.add', host: H, netns: H, dev: 'eth1', address: '198.51.100.254/31' }, ip: ['addr add 198.51.100.254/31 dev eth1'] },
  { op: { op: 'addr.add', host: H, netns: H, dev: 'eth2', address: '203.0.113.1/24' }, ip: ['addr add 203.0.113.1/24 dev eth2'] },
  { op: { op: 'addr.add', host: H, netns: H, dev: 'lo', address: '10.50.0.1/24' }, ip: ['addr add 10.50.0.1/24 dev lo'] },
];

/** Then, in both, as typed: eth2's broadcast address is routed through eth0's gateway by a longer prefix, and lo's by the default route. */
const ROUTES = ['link set eth1p up', 'link set eth1 up', 'link set eth2p up', 'link set eth2 up', 'route add default via 198.51.100.1', 'route add 203.0.113.128/25 via 198.51.100.1'];

/** Each broadcast address of the namespace, the limited broadcast, and a unicast one through the same route as eth2's broadcast. */
const DESTINATIONS = ['198.51.100.255', '203.0.113.255', '10.50.0.255', '127.255.255.255', '255.255.255.255', '203.0.113.200'];

const words = (command: string) => command.split(' ');
const simIp = (ns: SimNetns, command: string) => ipCommand(ns, words(command), { namesVisible: false });
/**
 * Gateways: a broadcast address, lo's or another device's, is refused, looked up on lo or
 * any device, onlink or not; lo's addresses are accepted, and a broadcast address of a
 * device that another device's /31 holds, when looked up on that other device.
 */
const GATEWAYS = [
  'route add 10.40.0.0/16 via 127.255.255.255',
  'route add 10.41.0.0/16 via 10.50.0.255',
  'route add 10.42.0.0/16 via 127.255.255.255 dev lo',
  'route add 10.43.0.0/16 via 10.50.0.255 dev eth0 onlink',
  'route add 10.44.0.0/16 via 198.51.100.255',
  'route add 10.45.0.0/16 via 127.0.0.1',
  'route add 10.46.0.0/16 via 10.50.0.7',
  'route add 10.47.0.0/16 via 198.51.100.255 dev eth1',
  'route',
];

/** What `ip route get` and `ip -j route get` print for each destination. */
const ROUTE_GETS = DESTINATIONS.flatMap((d) => [`route get ${d}`, `-j route get ${d}`]);

/** Local destinations: lo's address, another in its /24 (the whole prefix is local, from lo's address), eth0's own, loopback's. */
const LOCAL_GETS = ['10.50.0.1', '10.50.0.77', '198.51.100.10', '127.0.0.2'].flatMap((d) => [`route get ${d}`, `-j route get ${d}`]);

function simNetns(): SimNetns {
  const k = new SimKernel(1);
  for (const d of DEVICES) k.apply(d.op);
  const ns = k.netns(H, H);
  for (const command of ROUTES) expect([command, simIp(ns, command)]).toEqual([command, { stdout: '', stderr: '', exitCode: 0 }]);
  return ns;
}

/** Runs `body` with a real network namespace made as DEVICES and ROUTES say, and `ip -n` in it. */
function withRealNetns(body: (ip: (command: string) => { stdout: string; stderr: string; exitCode: number }) => void): void {
  const name = `cnmt${process.pid}brd`;
  const ip = (command: string) => {
    const r = spawnSync('ip', ['-n', name, ...words(command)], { encoding: 'utf8' });
    return { stdout: r.stdout, stderr: r.stderr, exitCode: r.status ?? -1 };
  };
  const made = spawnSync('ip', ['netns', 'add', name], { encoding: 'utf8' });
  expect(made.stderr).toBe('');
  try {
    for (const command of [...DEVICES.flatMap((d) => d.ip), ...ROUTES]) expect([command, ip(command)]).toEqual([command, { stdout: '', stderr: '', exitCode: 0 }]);
    body(ip);
  } finally {
    spawnSync('ip', ['netns', 'del', name]);
  }
}

describe('the route to a broadcast address in sim', () => {
  test("goes out of the device whose address's broadcast it is, from that address, to no gateway; the limited broadcast out of the device it is routed to", () => {
    const ns = simNetns();
    const resolved = DESTINATIONS.map((d) => {
      const r = route(ns, d)!;
      return [d, r.dev.name, r.src, r.via, r.broadcast];
    });
    expect(resolved).toEqual([
      ['198.51.100.255', 'eth0', '198.51.100.10', undefined, true],
      ['203.0.113.255', 'eth2', '203.0.113.1', undefined, true],
      ['10.50.0.255', 'lo', '10.50.0.1', undefined, true],
      ['127.255.255.255', 'lo', '127.0.0.1', undefined, true],
      ['255.255.255.255', 'eth0', '198.51.100.10', undefined, true],
      ['203.0.113.200', 'eth0', '198.51.100.10', '198.51.100.1', false],
    ]);
  });
});

describe('ip route get of a broadcast address in sim', () => {
  test('prints the type broadcast and the cache flags local and brd, in text and JSON', () => {
    const ns = simNetns();
    const printed = (d: string) => [simIp(ns, `route get ${d}`), JSON.parse(simIp(ns, `-j route get ${d}`).stdout)];
    const text = (stdout: string) => ({ stdout, stderr: '', exitCode: 0 });
    expect(printed('203.0.113.255')).toEqual([
      text('broadcast 203.0.113.255 dev eth2 src 203.0.113.1 uid 0 \n    cache <local,brd> \n'),
      [{ type: 'broadcast', dst: '203.0.113.255', dev: 'eth2', prefsrc: '203.0.113.1', flags: [], uid: 0, cache: ['local', 'brd'] }],
    ]);
    expect(printed('127.255.255.255')).toEqual([
      text('broadcast 127.255.255.255 dev lo src 127.0.0.1 uid 0 \n    cache <local,brd> \n'),
      [{ type: 'broadcast', dst: '127.255.255.255', dev: 'lo', prefsrc: '127.0.0.1', flags: [], uid: 0, cache: ['local', 'brd'] }],
    ]);
    expect(printed('255.255.255.255')).toEqual([
      text('broadcast 255.255.255.255 dev eth0 src 198.51.100.10 uid 0 \n    cache <local,brd> \n'),
      [{ type: 'broadcast', dst: '255.255.255.255', dev: 'eth0', prefsrc: '198.51.100.10', flags: [], uid: 0, cache: ['local', 'brd'] }],
    ]);
    // A local address and a unicast route print as before.
    expect(simIp(ns, 'route get 127.0.0.2').stdout).toBe('local 127.0.0.2 dev lo src 127.0.0.1 uid 0 \n    cache <local> \n');
    expect(simIp(ns, 'route get 203.0.113.200').stdout).toBe('203.0.113.200 via 198.51.100.1 dev eth0 src 198.51.100.10 uid 0 \n    cache \n');
  });
});

describe('a gateway in sim', () => {
  test("is refused when it is a broadcast address, lo's as another device's", () => {
    const ns = simNetns();
    const invalid = { stdout: '', stderr: 'Error: Nexthop has invalid gateway.\n', exitCode: 2 };
    const added = { stdout: '', stderr: '', exitCode: 0 };
    expect(GATEWAYS.slice(0, -1).map((command) => [command, simIp(ns, command)])).toEqual([
      [GATEWAYS[0], invalid],
      [GATEWAYS[1], invalid],
      [GATEWAYS[2], invalid],
      [GATEWAYS[3], invalid],
      [GATEWAYS[4], invalid],
      [GATEWAYS[5], added],
      [GATEWAYS[6], added],
      [GATEWAYS[7], added],
    ]);
    expect(simIp(ns, 'route').stdout.split('\n').filter((line) => line.startsWith('10.4'))).toEqual([
      '10.45.0.0/16 via 127.0.0.1 dev lo ',
      '10.46.0.0/16 via 10.50.0.7 dev lo ',
      '10.47.0.0/16 via 198.51.100.255 dev eth1 ',
    ]);
  });
});

describe('an address on lo in sim', () => {
  test("makes its whole prefix local (fib_add_ifaddr's local route for lo), with that address as the source; not once lo is down", () => {
    const ns = simNetns();
    expect(simIp(ns, 'route get 10.50.0.77').stdout).toBe('local 10.50.0.77 dev lo src 10.50.0.1 uid 0 \n    cache <local> \n');
    expect([isLocal(ns, '10.50.0.77'), isLocal(ns, '10.50.1.77')]).toEqual([true, false]);
    // Taken down as the kernel takes a device down (dev_close), which the derived tables follow.
    expect(simIp(ns, 'link set lo down').exitCode).toBe(0);
    expect(isLocal(ns, '10.50.0.77')).toBe(false);
  });
});

describeWith(['ip'], true, 'the route to a broadcast address in the real kernel', () => {
  test('and to a local address (lo\'s prefix among them) is printed as sim prints it', () => {
    const ns = simNetns();
    const simPrinted = LOCAL_GETS.map((command) => [command, simIp(ns, command)]);
    withRealNetns((ip) => expect(LOCAL_GETS.map((command) => [command, ip(command)])).toEqual(simPrinted));
  });

  test('has the device, source and gateway sim gives it', () => {
    const ns = simNetns();
    const simRoutes = DESTINATIONS.map((d) => {
      const r = route(ns, d)!;
      return [d, r.dev.name, r.src, r.via];
    });
    withRealNetns((ip) => {
      const realRoutes = DESTINATIONS.map((d) => {
        const [r] = JSON.parse(ip(`-j route get ${d}`).stdout) as { dev: string; prefsrc: string; gateway?: string }[];
        return [d, r.dev, r.prefsrc, r.gateway];
      });
      expect(realRoutes).toEqual(simRoutes);
    });
  });

  test('ip route get prints what sim prints, in text and JSON', () => {
    const ns = simNetns();
    const simPrinted = ROUTE_GETS.map((command) => [command, simIp(ns, command)]);
    withRealNetns((ip) => expect(ROUTE_GETS.map((command) => [command, ip(command)])).toEqual(simPrinted));
  });

  test('a gateway is refused or taken as sim does, and the routes left are the same', () => {
    const ns = simNetns();
    const simPrinted = GATEWAYS.map((command) => [command, simIp(ns, command)]);
    withRealNetns((ip) => expect(GATEWAYS.map((command) => [command, ip(command)])).toEqual(simPrinted));
  });
});
