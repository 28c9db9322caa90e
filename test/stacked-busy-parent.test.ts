/**
 * A macvlan and an ipvlan network on the same parent: Docker 20.10 makes both networks, and
 * the first container of the second kind fails to start while one of the other kind is on
 * the parent. The kernel refuses the second kind's device (the lower's rx_handler is the
 * first kind's port: EBUSY from macvlan_port_create / ipvlan_link_new) and libnetwork's
 * createMacVlan/createIPVlan wrap it: "failed to create the … port: device or resource
 * busy". Nothing is made for the refused container, which stays Created.
 */
import { runSim } from './helpers/run';

const BOTH_KINDS = `name: both-kinds
hosts:
  r0: {}
steps:
  - r0: docker network create -d macvlan --subnet 198.51.100.0/24 --gateway 198.51.100.1 -o parent=eth0 mv
  - r0: docker network create -d ipvlan --subnet 198.51.101.0/24 --gateway 198.51.101.1 -o parent=eth0 iv
  - r0: docker network create -d ipvlan --subnet 198.51.102.0/24 iv-dummy
  - r0: docker run -dit --name m0 --network mv alpine
  - r0: docker run -dit --name i0 --network iv alpine
  - r0: docker run -dit --name i1 --network iv-dummy alpine
  - r0: docker network connect iv i1
  - r0: docker ps -a
  - r0: ip -d link show
  - r0: docker rm -f m0
  - r0: docker start i0
  - r0: docker run -dit --name m1 --network mv alpine
`;

describe('a macvlan and an ipvlan network on one parent', () => {
  test("both are made; the second kind's container fails to start with libnetwork's EBUSY text while the first kind holds the parent, and nothing is left of it", async () => {
    const { result } = await runSim(BOTH_KINDS);
    const out = result.steps.map((s) => [s.exitCode, s.stderr]);
    // The networks: made alike (a dummy parent is the ipvlan network's own).
    expect(out.slice(0, 3)).toEqual([[0, ''], [0, ''], [0, '']]);
    expect(out[3]).toEqual([0, '']);
    // i0 on eth0, which m0's macvlan port holds: created, not started (-d printed its id).
    expect(out[4]).toEqual([125, 'docker: Error response from daemon: failed to create the ipvlan port: device or resource busy.\n']);
    expect(result.steps[4].stdout).toMatch(/^[0-9a-f]{64}\n$/);
    // An ipvlan on its own dummy parent is no conflict; connecting it to eth0's network is.
    expect(out[5]).toEqual([0, '']);
    expect(out[6]).toEqual([1, 'Error response from daemon: failed to create the ipvlan port: device or resource busy\n']);
    expect([...result.steps[7].stdout.matchAll(/ {2}(Up|Created)\b.* (\S+)\n/g)].map((m) => `${m[2]} ${m[1]}`)).toEqual(['i1 Up', 'i0 Created', 'm0 Up']);
    // The host's namespace has one macvlan port (eth0's, promiscuous for m0) and no ipvlan made for a refused join.
    expect(result.steps[8].stdout).not.toMatch(/ipvlan {2}mode/);
    expect(result.steps[8].stdout).toMatch(/: eth0: [^]*promiscuity 1/);
    // Once m0 is gone the parent is free: i0 starts, and now a macvlan container is the one refused.
    expect(out[9]).toEqual([0, '']);
    expect(out[10]).toEqual([0, '']);
    expect(out[11]).toEqual([125, 'docker: Error response from daemon: failed to create the macvlan port: device or resource busy.\n']);
  });
});

const ONE_STEP = `name: both-kinds-one-step
hosts:
  r0: {}
steps:
  - r0: docker network create -d macvlan --subnet 198.51.100.0/24 --gateway 198.51.100.1 -o parent=eth0 mv
  - r0: docker network create -d ipvlan --subnet 198.51.101.0/24 --gateway 198.51.101.1 -o parent=eth0 iv
  - r0: docker run -dit --name m0 --network mv alpine
  - r0: docker stop m0
  - r0: docker run -dit --name i0 --network iv alpine
  - r0: docker stop i0
  - r0: docker start m0 i0
  - r0: docker rm -f m0
  - r0: docker run -dit --name both --network mv alpine
  - r0: docker stop both
  - r0: docker network connect iv both
  - r0: docker start both
  - r0: docker ps -a
`;

describe('both kinds on one parent within one step', () => {
  test('a start of two containers refuses the second kind after the first took the parent, and a container on both kinds fails to start', async () => {
    const { result } = await runSim(ONE_STEP);
    const out = result.steps.map((s) => [s.exitCode, s.stderr]);
    // Each kind alone on the parent in turn: made, started and stopped.
    expect(out.slice(0, 6)).toEqual(Array(6).fill([0, '']));
    // m0 starts and holds eth0; i0, later in the same start, finds the port taken.
    expect(result.steps[6].stdout).toBe('m0\n');
    expect(out[6]).toEqual([1, 'Error response from daemon: failed to create the ipvlan port: device or resource busy\nError: failed to start containers: i0\n']);
    expect(out[7]).toEqual([0, '']);
    // A stopped container may be connected to both; its start joins mv first, then iv fails.
    expect(out.slice(8, 11)).toEqual(Array(3).fill([0, '']));
    expect(out[11]).toEqual([1, 'Error response from daemon: failed to create the ipvlan port: device or resource busy\nError: failed to start containers: both\n']);
    expect([...result.steps[12].stdout.matchAll(/ {2}(Up|Exited)\b.* (\S+)\n/g)].map((m) => `${m[2]} ${m[1]}`)).toEqual(['both Exited', 'i0 Exited']);
  });
});
