/**
 * A container's capabilities (sim/model/capabilities.ts): Docker 20.10 starts one without
 * CAP_NET_ADMIN, so the kernel refuses its changes (a route, a link's state, a qdisc) and
 * iptables-nft cannot even read its tables; what only reads the kernel (ip addr, ip route,
 * tc qdisc show) works. Arguments are read and a named device looked up first. `docker run
 * --cap-add NET_ADMIN` gives it back; --privileged and other capabilities are not modelled.
 * The texts were measured on the real kernel under setpriv without CAP_NET_ADMIN (iproute2
 * 6.1, iptables 1.8.9 nf_tables), which is how emu runs a container's program.
 */
import { describeWith } from './helpers/env';
import { expectEmuPrints, printed, runSim } from './helpers/run';

const EPERM: [number, string, string] = [2, '', 'RTNETLINK answers: Operation not permitted\n'];
const NO_GENID = (program: string): [number, string, string] => [4, '', `${program} v1.8.9 (nf_tables): Could not fetch rule set generation id: Permission denied (you must be root)\n`];
const NO_DEVICE: [number, string, string] = [1, '', 'Cannot find device "nope"\n'];
const OK: [number, string, string] = [0, '', ''];

const LAB = `name: container-caps
hosts:
  r0: {}
steps:
  - r0: docker run -dit --name u0 ubuntu
  - r0: docker run -dit --name n0 --cap-add NET_ADMIN ubuntu
  - u0: ip route add 10.9.0.0/24 dev eth0
  - u0: ip route add 10.9.0.0/24 dev nope
  - u0: ip route del default
  - u0: ip link set eth0 mtu 1400
  - u0: ip link set nope down
  - u0: iptables -L
  - u0: iptables -A INPUT -j DROP
  - u0: iptables-save -t nat
  - u0: tc qdisc add dev eth0 root netem delay 10ms
  - u0: tc qdisc del dev eth0 root
  - u0: tc qdisc add dev nope root netem delay 10ms
  - r0: docker exec u0 ip route add 10.8.0.0/24 dev eth0
  - u0: ip route
  - n0: ip route add 10.9.0.0/24 dev eth0
  - n0: iptables -A INPUT -p icmp -j ACCEPT
  - n0: iptables -S INPUT
  - n0: ip link set eth0 mtu 1400
`;
const EXPECTED = [
  EPERM, NO_DEVICE, EPERM, EPERM, NO_DEVICE,
  NO_GENID('iptables'), NO_GENID('iptables'), NO_GENID('iptables-save'),
  EPERM, EPERM, NO_DEVICE, EPERM,
  [0, 'default via 172.17.0.1 dev eth0 \n172.17.0.0/16 dev eth0 proto kernel scope link src 172.17.0.2 \n', ''],
  OK, OK, [0, '-P INPUT ACCEPT\n-A INPUT -p icmp -j ACCEPT\n', ''], OK,
];

test('without CAP_NET_ADMIN a container changes nothing, and cannot read its tables; with --cap-add NET_ADMIN it does', async () => {
  const { result } = await runSim(LAB);
  expect(printed(result.steps.slice(2))).toEqual(EXPECTED);
});

test("iptables' own argument checks come before the refusal", async () => {
  const { result } = await runSim(`name: caps-args
hosts:
  r0: {}
steps:
  - r0: docker run -dit --name u0 ubuntu
  - u0: iptables -Q
  - u0: iptables-save -x
`);
  expect(printed(result.steps.slice(1))).toEqual([
    [2, '', 'iptables v1.8.9 (nf_tables): unknown option "-Q"\nTry `iptables -h\' or \'iptables --help\' for more information.\n'],
    [1, '', "iptables-save: invalid option -- 'x'\nLook at manual page `iptables-save.8' for more information.\n"],
  ]);
});

test('docker run --cap-add NET_ADMIN is in inspect; --privileged and other capabilities are not modelled', async () => {
  const { result } = await runSim(`name: caps-run
hosts:
  r0: {}
steps:
  - r0: docker run -dit --name n0 --cap-add net_admin ubuntu
  - r0: docker run -dit --name u0 ubuntu
  - r0: docker inspect -f '{{.HostConfig.CapAdd}}' n0 u0
  - r0: docker run -dit --cap-add SYS_ADMIN ubuntu
    expect: { exit: 127 }
  - r0: docker run -dit --privileged ubuntu
    expect: { exit: 127 }
  - n0: ip route add 10.9.0.0/24 dev eth0
`);
  expect(printed(result.steps.slice(2))).toEqual([
    [0, '[net_admin]\n[]\n', ''],
    [127, '', 'cnmlab: not modelled: docker run --cap-add SYS_ADMIN: a capability other than NET_ADMIN\n'],
    [127, '', 'cnmlab: not modelled: docker run -dit --privileged ubuntu\n'],
    OK,
  ]);
});

describeWith(['ip', 'tc', 'iptables'], true, "a container's capabilities on the real kernel", () => {
  test('emu prints what sim prints', () => {
    expectEmuPrints('container-caps.yaml', LAB, EXPECTED, { view: (steps) => printed(steps.slice(2)) });
  }, 120000);
});
