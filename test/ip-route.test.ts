/**
 * `ip route add|del` on a host, as iproute2 6.1 reads it and the kernel answers (fib_table_insert's
 * checks, `RTNETLINK answers: File exists`, `Error: Nexthop has invalid gateway.`), and the
 * routes it leaves (`ip route`, `ip -j route`, `ip route get`, a send with no route). The
 * transcript was checked against the real kernel: the emu half runs the same lab there and
 * must print what sim prints, word for word.
 */
import { expectGolden, runEmu, runSim } from './helpers/run';
import { describeWith } from './helpers/env';

const LAB = `name: ip-route-add-del
hosts:
  r0: {}
  r1: {}
steps:
  - r0: ip route
  - r0: ip route add 10.9.0.0/16 via 198.51.100.5
  - r0: ip route add 10.9.0.0/16 via 198.51.100.5 dev eth0
  - r0: ip route add default via 198.51.100.2
  - r0: ip route add 10.1.0.0/16 via 203.0.113.1
  - r0: ip route add 10.8.0.0/16 dev eth0
  - r0: ip route add 10.7.0.1 via 198.51.100.7 proto static
  - r0: ip route add 10.6.0.0/16 via 198.51.100.6 dev nosuch
  - r0: ip route add 10.5.0.0/16
  - r0: ip route add 10.5.0.1/16 dev eth0
  - r0: ip route add 10.5.0.0/33 dev eth0
  - r0: ip route add 10.4.0.0/16 via 203.0.113.1 onlink
  - r0: ip route add 10.4.0.0/16 via 203.0.113.1 dev eth0 onlink
  - r0: ip route add blackhole 10.3.0.0/16
  - r0: ip route add blackhole 10.3.0.0/16 dev eth0
  - r0: ip route add 10.2.0.0/16 via bad
  - r0: ip route add 10.11.0.0/16 via 198.51.100.5 dev lo
  - r0: ip route add 10.12.0.0/16 via 198.51.100.5 proto foo
  - r0: ip route add 198.51.100.0/24 dev eth0
  - r0: ip route add 10.13/16 via 10.8.0.9
  - r0: ip route add 10.14.0.0/16 via 198.51.100.5 via 198.51.100.6
  - r0: ip route add 10.15.0.0/16 10.16.0.0/16 dev eth0
  - r0: ip route add 10.17.0.0/16 via
  - r0: ip route add dev eth0
  - r0: ip route
  - r0: ip -j route
  - r0: ip route get 10.13.0.1
  - r0: ip route del 10.9.0.0/16
  - r0: ip route del 10.9.0.0/16
  - r0: ip route del 10.8.0.0/16 via 198.51.100.3
  - r0: ip route del 10.7.0.1 via 198.51.100.7 proto boot
  - r0: ip route del 10.7.0.1 via 198.51.100.7 proto static
  - r0: ip route del blackhole 10.4.0.0/16
  - r0: ip route del 10.3.0.0/16
  - r0: ip route del default
  - r0: ip route
  - r0: ping -c 1 -W 1 203.0.113.9
  - r0: ip route add default via 198.51.100.1
  - r0: ip link set eth0 down
  - r0: ip route
`;

/** The next hop's checks the real kernel made plain (6.x): an onlink gateway that is the host's own, a broadcast or a group; a gateway looked up on the device given; addresses read by strtoul. */
const NEXTHOP_LAB = `name: ip-route-nexthop
hosts:
  r0: {}
steps:
  - r0: ip route add 10.20.0.0/16 dev eth0 onlink
  - r0: ip route add 10.20.0.0/16 onlink
  - r0: ip route add 10.21.0.0/16 via 198.51.100.10 dev eth0 onlink
  - r0: ip route add 10.22.0.0/16 via 172.17.0.1 dev eth0 onlink
  - r0: ip route add 10.23.0.0/16 via 198.51.100.255 dev eth0 onlink
  - r0: ip route add 10.24.0.0/16 via 224.0.0.5 dev eth0 onlink
  - r0: ip route add 10.25.0.0/16 via 127.0.0.1 dev eth0 onlink
  - r0: ip route add 10.26.0.0/16 via 198.51.100.255
  - r0: ip route add 198.51.100.128/25 dev docker0
  - r0: ip route add 10.27.0.0/16 via 198.51.100.200 dev eth0
  - r0: ip route add 10.28.0.0/16 via 198.51.100.200
  - r0: ip route add via 198.51.100.x 10.32.0.0/16
  - r0: ip route add default via 198.51.100.x
  - r0: ip route add 10.32.0.0/16 via 198.51.100.x
  - r0: ip route add 10.33.0.0/16 via inet 198.51.100.08
  - r0: ip route add via 0306.51.100.0x05 10.33.0.0/16
  - r0: ip route add 0x0a.042.0.0/16 via 198.51.100.010
  - r0: ip route add 10.35.0.0/16 via 198.51.100.-1
  - r0: ip route add default dev eth0
  - r0: ip route add 10.29.0.0/16 via 192.0.2.77
  - r0: ip route add 10.30.0.0/16 via 192.0.2.77 dev docker0
  - r0: ip route add 10.31.0.0/16 via 172.17.0.1 dev eth0
  - r0: ip route
  - r0: ip link set docker0 down
  - r0: ip route add 10.36.0.0/16 via 172.17.0.1
`;

type Printed = { command: string; exitCode: number; stdout: string; stderr: string }[];

/** Each step as typed and printed; iproute2's usage text (60 lines) as its first line. */
function transcript(steps: Printed): string {
  return steps.map((s) => {
    const stderr = s.stderr.startsWith('Usage: ') ? `${s.stderr.split('\n')[0]}\n…\n` : s.stderr;
    return `$ ${s.command.trim()}\n${s.stdout}${stderr}[exit ${s.exitCode}]\n`;
  }).join('');
}

describe('ip route add and del in sim', () => {
  test("print iproute2's and the kernel's answers and change the routes the kernel uses", async () => {
    const { result } = await runSim(LAB, 'ip-route.yaml');
    expectGolden('ip-route.txt', transcript(result.steps));
  });

  test("check a next hop as the kernel does and read addresses as iproute2 does", async () => {
    const { result } = await runSim(NEXTHOP_LAB, 'ip-route-nexthop.yaml');
    expectGolden('ip-route-nexthop.txt', transcript(result.steps));
  });

  test('say what they do not model: a metric or another type before either mode runs (exit 127), the connected route of an address once the route is looked for (exit 2)', async () => {
    const { result } = await runSim(`name: t
hosts:
  r0: {}
steps:
  - r0: ip route add 10.9.0.0/16 via 198.51.100.5 metric 5
  - r0: ip route add unreachable 10.9.0.0/16
  - r0: ip route del 198.51.100.0/24
  - r0: ip route del 198.51.100.0/24 dev docker0
  - r0: ip route
`);
    expect(result.steps.map((s) => [s.exitCode, s.stderr])).toEqual([
      [127, 'cnmlab: not modelled: ip route add 10.9.0.0/16 via 198.51.100.5 metric 5\n'],
      [127, 'cnmlab: not modelled: ip route add unreachable 10.9.0.0/16\n'],
      [2, "cnmlab: ip route del of an address's connected route (proto kernel): not modelled (the model derives it from the address)\n"],
      [2, 'RTNETLINK answers: No such process\n'],
      [0, ''],
    ]);
    expect(result.steps[4].stdout).toContain('198.51.100.0/24 dev eth0 proto kernel');
  });
});

describeWith(['ip'], true, 'ip route add and del on the real kernel', () => {
  const printed = (steps: Printed) => steps.map((s) => [s.command, s.exitCode, s.stdout, s.stderr]);
  test.each([
    ['print what sim prints', 'ip-route.yaml', LAB],
    ['check a next hop as sim does', 'ip-route-nexthop.yaml', NEXTHOP_LAB],
  ])('%s', async (_what, file, lab) => {
    const r = runEmu(file, lab);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const { result } = await runSim(lab, file);
    expect(printed(r.steps)).toEqual(printed(result.steps));
  }, 120000);
});
