/** Faults a scenario makes with `ip link set`: the kernel's answers, and where the packet then dies (issue 15). */
import { runSim, twoNodes } from './helpers/run';

const containers = `  - r0: docker run -dit --name ubuntu0 --network test-net --cap-add NET_ADMIN ubuntu:14.04
  - r1: docker run -dit --name ubuntu1 --network test-net --cap-add NET_ADMIN ubuntu:14.04
  - ubuntu0: ping -c 1 10.0.1.4
`;

async function steps(extra: string) {
  const { result, backend } = await runSim(twoNodes(containers + extra));
  const out = result.steps.slice(-extra.trim().split('\n').length).map((s) => ({ stdout: s.stdout, stderr: s.stderr, exit: s.exitCode }));
  const flows = backend.flows();
  return { out, flows };
}

describe('ip link set: the arguments iproute2 takes and refuses, with its texts and exit codes', () => {
  test.each([
    ['ip link set', 'Not enough information: "dev" argument is required.\n', 255],
    ['ip link set dev', 'Command line is not complete. Try option "help"\n', 255],
    ['ip link set nosuch up', 'Cannot find device "nosuch"\n', 1],
    ['ip link set eth0 mtu', 'Command line is not complete. Try option "help"\n', 255],
    ['ip link set eth0 mtu abc', 'Error: argument "abc" is wrong: Invalid "mtu" value\n\n', 255],
    ['ip link set eth0 mtu 70000', 'Error: mtu greater than device maximum.\n', 2],
    ['ip link set eth0 mtu 10', 'Error: mtu less than device minimum.\n', 2],
    ['ip link set eth0 address zz', '"zz" is invalid lladdr.\n', 1],
    ['ip link set eth0 address 02:42:0a:00:00', 'Invalid address length 5 - must be 6 bytes\n', 1],
    ['ip link set eth0 address 01:00:00:00:00:01', 'RTNETLINK answers: Cannot assign requested address\n', 2],
    ['ip link set eth0 bogus', 'Error: either "dev" is duplicate, or "bogus" is a garbage.\n', 255],
  ])('%s', async (cmd, stderr, exit) => {
    const { out } = await steps(`  - ubuntu0: ${cmd}\n`);
    expect(out[0]).toEqual({ stdout: '', stderr, exit });
  });

  test('mtu (hex too, as strtol reads it), address and down show in ip link; the last of up/down wins', async () => {
    const { out } = await steps(`  - ubuntu0: ip link set dev eth0 mtu 0x578 address 02:42:0a:00:01:99 up down
  - ubuntu0: ip link show eth0
`);
    expect(out[0].exit).toBe(0);
    expect(out[1].stdout).toMatch(/eth0@if\d+: <BROADCAST,MULTICAST> mtu 1400 qdisc noqueue state DOWN mode DEFAULT/);
    expect(out[1].stdout).toContain('link/ether 02:42:0a:00:01:99 ');
  });

  test('down flushes the routes through the device; up brings back only the connected ones', async () => {
    const { out } = await steps(`  - ubuntu0: ip link set eth1 down
  - ubuntu0: ip route
  - ubuntu0: ip link set eth1 up
  - ubuntu0: ip route
`);
    expect(out[1].stdout).toBe('10.0.1.0/24 dev eth0 proto kernel scope link src 10.0.1.2 \n');
    expect(out[3].stdout).not.toContain('default');
    expect(out[3].stdout).toContain('172.18.0.0/16 dev eth1 proto kernel scope link src 172.18.0.');
  });
});

describe('a link that is down stops the echo where emu finds it down', () => {

  test("the receiving container's eth0: dropped at step 8 there, link down", async () => {
    const { out, flows } = await steps(`  - ubuntu1: ip link set eth0 down
  - ubuntu0: ping -c 1 -W 1 10.0.1.4
`);
    expect(out[1].stdout).toContain('1 packets transmitted, 0 received');
    const drop = flows[flows.length - 1].hops.find((h) => h.event === 'drop');
    expect(drop).toMatchObject({ step: 8, dir: 'request', host: 'r1', device: 'eth0', reason: 'link down' });
    expect(drop?.netns).not.toBe('r1');
  });

  test("the receiving host's underlay: dropped at step 6 on its eth0", async () => {
    const { flows } = await steps(`  - r1: ip link set eth0 down
  - ubuntu0: ping -c 1 -W 1 10.0.1.4
`);
    const drop = flows[flows.length - 1].hops.find((h) => h.event === 'drop');
    expect(drop).toMatchObject({ step: 6, host: 'r1', netns: 'r1', device: 'eth0', reason: 'link down' });
  });

  test("the sending host's underlay: vxlan0 has no route out, shown at step 4 on that eth0", async () => {
    const { flows } = await steps(`  - r0: ip link set eth0 down
  - ubuntu0: ping -c 1 -W 1 10.0.1.4
`);
    const drop = flows[flows.length - 1].hops.find((h) => h.event === 'drop');
    expect(drop).toMatchObject({ step: 4, host: 'r0', netns: 'r0', device: 'eth0', reason: 'link down' });
  });

  test('back up, the echo comes back', async () => {
    const { out } = await steps(`  - ubuntu1: ip link set eth0 down
  - ubuntu1: ip link set eth0 up
  - ubuntu0: ping -c 1 -W 1 10.0.1.4
`);
    expect(out[2]).toMatchObject({ exit: 0 });
  });
});
