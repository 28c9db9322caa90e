/**
 * BusyBox's ip asked to change the kernel in a busybox image's container, which Docker 20.10
 * starts without CAP_NET_ADMIN (sim/kernel/busybox_ip_change.ts): BusyBox reads its words and
 * looks a device up first, in its own texts (exit 1 for ip route and ip address, 2 for ip link),
 * then the kernel refuses: rtnetlink's `RTNETLINK answers: Operation not permitted`, the
 * SIOCSIF* ioctls' for ip link set, exit 2; a link already up needs no change and exits 0. A
 * flush deletes what it selects: refused when it selects something (exit 1), nothing to do
 * otherwise.
 * BusyBox's ip neigh has no add. The texts were measured with Debian 12's busybox 1.35 under
 * setpriv without CAP_NET_ADMIN, which is how emu runs a container's program. With --cap-add
 * NET_ADMIN, ip link set takes a device up or down and sets its MTU as BusyBox does (measured
 * as root in a namespace); any other change is not modelled for BusyBox's ip, in both modes.
 */
import { describeWith } from './helpers/env';
import { expectEmuPrints, printed, runSim } from './helpers/run';
import { BUSYBOX_LINK_VERBS, BUSYBOX_ROUTE_VERBS, busyboxKeyword, busyboxWordsFor } from '../sim/commands/ip-link-words';

type Printed = [number, string, string];
const RTNETLINK_EPERM: Printed = [2, '', 'ip: RTNETLINK answers: Operation not permitted\n'];
const NO_DEVICE = (exit: number): Printed => [exit, '', "ip: can't find device 'nope'\n"];
const OK: Printed = [0, '', ''];
const FLUSH_EPERM: Printed = [1, '', "ip: can't send flush request: Operation not permitted\n"];

const LAB = `name: busybox-caps
hosts:
  r0: {}
steps:
  - r0: docker run -dit --name b0 busybox
  - r0: docker run -dit --name n0 --cap-add NET_ADMIN busybox
  - r0: docker run -dit --name a0 alpine
  - b0: ip route add 10.9.0.0/24 dev eth0
  - b0: ip route add 10.9.0.0/24 dev nope
  - b0: ip route add 10.9.0.0/24 via bogus
  - b0: ip route add 10.9.0.0/33 dev eth0
  - b0: ip route add 10.9.0.0/24 10.8.0.0/24
  - b0: ip route del default
  - b0: ip route add 10.9.0.0/24 via 172.17.0.1 dev eth0
  - b0: ip addr add 10.1.1.1/24 dev eth0
  - b0: ip addr add 10.1.1.1/24
  - b0: ip addr del 172.17.0.2/16 dev nope
  - b0: ip addr del 172.17.0.2/16 dev eth0
  - b0: ip link add d0 type dummy
  - b0: ip link add name d0 type veth peer name d1
  - b0: ip link add d0 type
  - b0: ip link del eth0
  - b0: ip link del nope
  - b0: ip link set eth0 mtu 1400
  - b0: ip link set nope mtu 1400
  - b0: ip link set eth0 up
  - b0: ip link set dev eth0 down
  - b0: ip link set eth0 down up
  - b0: ip link set nope up
  - b0: ip link set eth0 mtu abc
  - b0: ip link set
  - b0: ip link set nope
  - b0: ip link del
  - b0: ip link add
  - b0: ip addr add dev eth0
  - b0: ip addr add 10.1.1.1/33 dev nope
  - b0: ip route append 10.9.0.0/24 dev eth0
  - b0: ip route change default via 172.17.0.9
  - b0: ip route replace 10.9.0.0/24 dev nope
  - b0: ip route prepend 10.9.0.0/24 via bogus
  - b0: ip route test 10.9.0.0/24 dev eth0
  - b0: ip route flush
  - b0: ip route flush 172.17.0.0/16
  - b0: ip route flush 10.9.0.0/16
  - b0: ip route flush 172.17.0.0/24
  - b0: ip route flush root 10.0.0.0/8
  - b0: ip route flush root 172.0.0.0/8
  - b0: ip route flush match 172.17.0.9
  - b0: ip route flush default
  - b0: ip route flush dev lo
  - b0: ip route flush dev nope
  - b0: ip route flush dev
  - b0: ip route fl exact 172.17.0.0/16 dev eth0
  - b0: ip addr flush dev eth0
  - b0: ip addr flush
  - b0: ip addr flush dev nope
  - b0: ip addr flush eth0 lo
  - b0: ip addr change 172.17.0.2/16 dev eth0
  - b0: ip addr r 10.1.1.1/24
  - b0: ip link set eth0 address 02:42:ac:11:00:09
  - b0: ip link set nope address 02:42:ac:11:00:09
  - b0: ip link set eth0 name eth9
  - b0: ip link set nope na eth9
  - b0: ip link set eth0 name eth0 up
  - b0: ip link set eth0 q 5
  - b0: ip link set eth0 qlen 5 qlen 6
  - b0: ip link set eth0 mtu 1400 mtu 1300
  - b0: ip link set eth0 qlen -1
  - b0: ip link set eth0 address
  - a0: ip route add default via 172.17.0.1
  - b0: ip r a 10.9.0.0/24 dev eth0
  - b0: ip a d 172.17.0.2/16 dev eth0
  - b0: ip l se eth0 down
  - b0: ip addr eth0
  - b0: ip link dev eth0
  - b0: ip neigh add 172.17.0.9 lladdr 02:42:ac:11:00:09 dev eth0
  - r0: docker exec b0 ip route add 10.8.0.0/24 dev eth0
  - b0: ip route
  - n0: ip neigh del 172.17.0.9 dev eth0
  - n0: ip link set eth0 address 02:42:ac:11:00:09
    expect: { exit: 127 }
`;
const EXPECTED: Printed[] = [
  RTNETLINK_EPERM,
  NO_DEVICE(1),
  [1, '', 'ip: an inet address is expected rather than "bogus"\n'],
  [1, '', 'ip: an inet prefix is expected rather than "10.9.0.0"\n'],
  [1, '', 'ip: either "to" is duplicate, or "10.8.0.0/24" is garbage\n'],
  RTNETLINK_EPERM,
  RTNETLINK_EPERM,
  RTNETLINK_EPERM,
  [1, '', 'ip: need "dev IFACE"\n'],
  NO_DEVICE(1),
  RTNETLINK_EPERM,
  RTNETLINK_EPERM,
  RTNETLINK_EPERM,
  [2, '', 'ip: command line is not complete, try "help"\n'],
  RTNETLINK_EPERM,
  NO_DEVICE(2),
  [2, '', 'ip: SIOCSIFMTU: Operation not permitted\n'],
  [2, '', 'ip: SIOCSIFMTU: Operation not permitted\n'],
  OK,
  [2, '', 'ip: SIOCSIFFLAGS: Operation not permitted\n'],
  OK,
  [2, '', 'ip: SIOCGIFFLAGS: No such device\n'],
  [2, '', "ip: invalid argument 'abc' to 'mtu'\n"],
  [2, '', 'ip: "dev" requires an argument\n'],
  OK,
  [1, '', ''],
  RTNETLINK_EPERM,
  RTNETLINK_EPERM,
  [1, '', 'ip: an inet prefix is expected rather than "10.1.1.1"\n'],
  // ip route's append, change, replace, prepend and test are read as add.
  RTNETLINK_EPERM,
  RTNETLINK_EPERM,
  NO_DEVICE(1),
  [1, '', 'ip: an inet address is expected rather than "bogus"\n'],
  RTNETLINK_EPERM,
  // A flush that selects a route asks the kernel to delete it; one that selects none succeeds.
  [1, '', 'ip: "ip route flush" requires an argument\n'],
  FLUSH_EPERM,
  OK,
  OK,
  OK,
  FLUSH_EPERM,
  FLUSH_EPERM,
  FLUSH_EPERM,
  OK,
  NO_DEVICE(1),
  [1, '', 'ip: command line is not complete, try "help"\n'],
  FLUSH_EPERM,
  FLUSH_EPERM,
  [1, '', 'ip: flush requires an argument\n'],
  NO_DEVICE(1),
  [1, '', 'ip: either "dev" is duplicate, or "lo" is garbage\n'],
  RTNETLINK_EPERM,
  [1, '', 'ip: need "dev IFACE"\n'],
  // ip link set's address, name and qlen: each ioctl refused, the address's after the device is looked up.
  [2, '', 'ip: SIOCSIFHWADDR: Operation not permitted\n'],
  [2, '', 'ip: SIOCGIFINDEX: No such device\n'],
  [2, '', 'ip: SIOCSIFNAME: Operation not permitted\n'],
  [2, '', 'ip: SIOCSIFNAME: Operation not permitted\n'],
  OK,
  [2, '', 'ip: SIOCSIFTXQLEN: Operation not permitted\n'],
  [2, '', 'ip: duplicate "qlen": "6" is the second value\n'],
  [2, '', 'ip: duplicate "mtu": "1300" is the second value\n'],
  [2, '', "ip: invalid argument '-1' to 'qlen'\n"],
  [2, '', 'ip: command line is not complete, try "help"\n'],
  RTNETLINK_EPERM,
  // Each verb by a prefix, as BusyBox's tables select them (ip-link-words.ts).
  RTNETLINK_EPERM,
  RTNETLINK_EPERM,
  [2, '', 'ip: SIOCSIFFLAGS: Operation not permitted\n'],
  // The verb comes first: a device in its place is no verb.
  [1, '', "ip: invalid argument 'eth0' to 'ip'\n"],
  [2, '', "ip: invalid argument 'dev' to 'ip'\n"],
  [1, '', "ip: invalid argument 'add' to 'ip'\n"],
  RTNETLINK_EPERM,
  [0, 'default via 172.17.0.1 dev eth0 \n172.17.0.0/16 dev eth0 scope link  src 172.17.0.2 \n', ''],
  [1, '', "ip: invalid argument 'del' to 'ip'\n"],
  [127, '', "cnmlab: not modelled: ip link set eth0 address 02:42:ac:11:00:09: BusyBox's ip changing the kernel other than ip link set up|down|mtu (in a container with --cap-add NET_ADMIN)\n"],
];

test("without CAP_NET_ADMIN BusyBox's ip changes nothing: its own checks, then the kernel's refusal", async () => {
  const { result } = await runSim(LAB);
  expect(printed(result.steps.slice(3))).toEqual(EXPECTED);
});

test("with --cap-add NET_ADMIN BusyBox's ip changing the kernel is not modelled but for ip link set up|down|mtu; what it only reads is", async () => {
  const { result } = await runSim(`name: busybox-caps-admin
hosts:
  r0: {}
steps:
  - r0: docker run -dit --name n0 --cap-add NET_ADMIN busybox
  - n0: ip route add 10.9.0.0/24 dev eth0
    expect: { exit: 127 }
  - r0: docker exec n0 ip link set eth0 name eth9
    expect: { exit: 127 }
  - n0: ip route
`);
  expect(printed(result.steps.slice(1))).toEqual([
    [127, '', "cnmlab: not modelled: ip route add 10.9.0.0/24 dev eth0: BusyBox's ip changing the kernel other than ip link set up|down|mtu (in a container with --cap-add NET_ADMIN)\n"],
    // docker exec's line is refused whole, in the words typed.
    [127, '', 'cnmlab: not modelled: docker exec n0 ip link set eth0 name eth9\n'],
    [0, 'default via 172.17.0.1 dev eth0 \n172.17.0.0/16 dev eth0 scope link  src 172.17.0.2 \n', ''],
  ]);
});

test('words BusyBox reads that cnmlab does not model are refused as not modelled', async () => {
  const { result } = await runSim(`name: busybox-caps-words
hosts:
  r0: {}
steps:
  - r0: docker run -dit --name b0 busybox
  - b0: ip route add 10.9.0.0/24 dev eth0 metric 5
    expect: { exit: 2 }
  - b0: ip link set eth0 arp off
    expect: { exit: 2 }
  - b0: ip route flush table main
    expect: { exit: 2 }
  - b0: ip addr flush dev eth0 scope global
    expect: { exit: 2 }
`);
  expect(printed(result.steps.slice(1))).toEqual([
    [2, '', 'cnmlab: ip route add … metric: not modelled in a BusyBox image (a prefix, via and dev are)\n'],
    [2, '', 'cnmlab: ip link set … arp: not modelled in a BusyBox image (up, down, mtu, qlen, name and address are)\n'],
    [2, '', 'cnmlab: ip route flush … table: not modelled in a BusyBox image (a prefix, root, match, exact and dev are)\n'],
    [2, '', 'cnmlab: ip address flush … scope: not modelled in a BusyBox image (the device is)\n'],
  ]);
});

test("BusyBox's index_in_substrings walks its table in order: a word whole returns at once, a second word only begun ends the walk", () => {
  expect(busyboxKeyword(BUSYBOX_ROUTE_VERBS, 'a')).toBe('a');
  expect(busyboxKeyword(BUSYBOX_ROUTE_VERBS, 'ap')).toBe('append');
  expect(busyboxKeyword(BUSYBOX_ROUTE_VERBS, 'ch')).toBeUndefined();
  expect(busyboxKeyword(BUSYBOX_ROUTE_VERBS, '')).toBeUndefined();
  expect(busyboxKeyword(BUSYBOX_LINK_VERBS, 's')).toBeUndefined();
  expect(busyboxWordsFor(BUSYBOX_LINK_VERBS, 'set')).toBe('se|set');
  // One word begun before the word itself: the word. Two: none, though the word comes later.
  expect(busyboxKeyword(['abc', 'ab'], 'ab')).toBe('ab');
  expect(busyboxKeyword(['abc', 'abd', 'ab'], 'ab')).toBeUndefined();
});

// sim only: a device with IPv6 addresses alone is the host's dummy here, and this machine's kernel has no CONFIG_DUMMY.
test('ip -4 address flush selects IPv4 addresses only, as BusyBox asks the dump for the family given', async () => {
  const { result } = await runSim(`name: busybox-caps-family
hosts:
  r0: {}
steps:
  - r0: ip link add d0 type dummy
  - r0: ip link set d0 up
  - r0: docker run -dit --name h0 --network host busybox
  - h0: ip -4 addr flush dev d0
  - h0: ip addr flush dev d0
    expect: { exit: 1 }
  - h0: ip -4 addr flush dev lo
    expect: { exit: 1 }
`);
  expect(printed(result.steps.slice(3))).toEqual([
    // d0 has its link-local IPv6 address alone: nothing of inet to flush.
    OK,
    FLUSH_EPERM,
    FLUSH_EPERM,
  ]);
});

/** ip link set holding CAP_NET_ADMIN, in a container and in a --network host container (the host's eth0, which NetworkDB follows). */
const ADMIN_LAB = `name: busybox-caps-link-set
hosts:
  r0: {}
  r1: {}
steps:
  - r0: docker swarm init
  - r1: docker swarm join --token <...> 198.51.100.10:2377
  - r0: docker network create --driver=overlay --attachable test-net
  - r0: docker run -dit --name n0 --network test-net --cap-add NET_ADMIN busybox
  - r1: docker run -dit --name n1 --network test-net busybox
  - r1: docker run -dit --name h1 --network host --cap-add NET_ADMIN busybox
  - r0: ln -s /var/run/docker/netns /var/run/netns
  - n0: ip link set eth0 mtu 1400
  - n0: ip link set eth0 mtu 10
  - n0: ip link set eth0 mtu 99999
  - n0: ip link set nope mtu 1400
  - n0: ip link set nope up
  - n0: ip link set eth0 up mtu 1300 down
  - n0: ip link show eth0
  - n0: ip li se dev eth0 up
  - n0: ip link show eth0
  - h1: ip l set eth0 down
  - r0: sleep 5.5
  - r0: ip netns exec @test-net bridge fdb show dev vxlan0
  - h1: ip link set eth0 up
`;
const ADMIN_EXPECTED = (mac: string): Printed[] => [
  OK,
  [2, '', 'ip: SIOCSIFMTU: Invalid argument\n'],
  [2, '', 'ip: SIOCSIFMTU: Invalid argument\n'],
  [2, '', 'ip: SIOCSIFMTU: No such device\n'],
  [2, '', 'ip: SIOCGIFFLAGS: No such device\n'],
  // The MTU first, then the flags: the last of up and down.
  OK,
  [0, expect.stringMatching(/^\d+: eth0@if\d+: <BROADCAST,MULTICAST,M-DOWN> mtu 1300 qdisc noqueue /), ''],
  OK,
  [0, expect.stringMatching(/^\d+: eth0@if\d+: <BROADCAST,MULTICAST,UP,LOWER_UP,M-DOWN> mtu 1300 qdisc noqueue /), ''],
  OK,
  OK,
  // r1's link down for 5.5 s: NetworkDB declared it dead, so r0 holds none of its entries.
  [0, `${mac} master br0 permanent\n`, ''],
  OK,
] as Printed[];

test("with --cap-add NET_ADMIN BusyBox's ip link set takes a device up or down and sets its MTU, in its texts; on the host's eth0 NetworkDB notices", async () => {
  const { result } = await runSim(ADMIN_LAB);
  const steps = printed(result.steps.slice(7));
  const br0 = /^(\S+) master br0 permanent/.exec(steps[11][1])?.[1] ?? '?';
  expect(steps).toEqual(ADMIN_EXPECTED(br0));
});

describeWith(['ip', 'busybox'], true, "BusyBox's ip without CAP_NET_ADMIN on the real kernel", () => {
  test('emu prints what sim prints', () => {
    expectEmuPrints('busybox-caps.yaml', LAB, EXPECTED, { view: (steps) => printed(steps.slice(3)) });
  }, 120000);

  test('holding CAP_NET_ADMIN, ip link set: emu prints what sim prints', () => {
    expectEmuPrints('busybox-caps-link-set.yaml', ADMIN_LAB, expect.anything(), { view: (steps) => {
      const p = printed(steps.slice(7));
      const br0 = /^(\S+) master br0 permanent/.exec(p[11][1])?.[1] ?? '?';
      expect(p).toEqual(ADMIN_EXPECTED(br0));
      return p;
    } });
  }, 120000);
});
