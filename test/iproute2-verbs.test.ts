/**
 * iproute2 6.1 selects an object and its verb by walking its own tables in order, the first
 * word the typed one begins winning (matches(); iproute2-words.ts): `ip link s` is set, not
 * show; `ip addr a` is add; `tc qdisc l` is link; `bridge fdb fl` is no verb (flush only
 * whole); `help` in the verb's place prints the object's usage on stderr (exit 255; tc
 * qdisc's exit 0). The registry reads the words as the programs do, so a verb cnmlab does not
 * model is refused in both modes rather than read as a listing, and sim's ip, bridge and tc
 * answer what the real ones answer (texts measured on this machine).
 */
import { BRIDGE_FDB_USAGE, BRIDGE_LINK_USAGE, IP_ADDRESS_USAGE, IP_LINK_USAGE, IP_NEIGH_USAGE, IP_ROUTE_USAGE, IP_USAGE, TC_QDISC_USAGE } from '../sim/kernel/iproute_help';
import { lookupCommand } from '../sim/commands/registry';
import { selectWord, IP_VERBS, TC_VERBS, BRIDGE_VERBS } from '../sim/commands/iproute2-words';
import { describeWith } from './helpers/env';
import { expectEmuPrints, runSim } from './helpers/run';

const LAB = `name: iproute2-verbs
hosts:
  r0: {}
steps:
  - r0: ip help
  - r0: ip addr help
  - r0: ip a h
  - r0: ip link help
  - r0: ip l he
  - r0: ip route help
  - r0: ip neigh help
  - r0: ip neighbour h
  - r0: bridge fdb help
  - r0: bridge l h
  - r0: tc qdisc help
  - r0: ip link s
  - r0: ip l s lo up
  - r0: ip li sh lo | grep -c LOOPBACK
  - r0: ip a l lo | grep -c 127.0.0.1
  - r0: ip r s | grep -c eth0
  - r0: ip r a 10.9.0.0/16 dev eth0
  - r0: ip r d 10.9.0.0/16 dev eth0
  - r0: ip addr a 10.0.0.1/24 dev lo
  - r0: bridge f s dev docker0 | grep -c 01:00:5e:00:00:01
  - r0: bridge fdb bogus
  - r0: bridge link s dev docker0 cost 5
  - r0: tc q s dev eth0
  - r0: tc qdisc l dev eth0 root netem delay 1ms
`;

const usage = (text: string, exitCode = 255) => [exitCode, '', text];
const notModelled = (command: string) => [127, '', `cnmlab: not modelled: ${command}\n`];
const EXPECTED = [
  usage(IP_USAGE), usage(IP_ADDRESS_USAGE), usage(IP_ADDRESS_USAGE), usage(IP_LINK_USAGE), usage(IP_LINK_USAGE), usage(IP_ROUTE_USAGE), usage(IP_NEIGH_USAGE), usage(IP_NEIGH_USAGE),
  usage(BRIDGE_FDB_USAGE), usage(BRIDGE_LINK_USAGE), usage(TC_QDISC_USAGE, 0),
  [255, '', 'Not enough information: "dev" argument is required.\n'],
  [0, '', ''], [0, '1\n', ''], [0, '1\n', ''], [0, '1\n', ''], [0, '', ''], [0, '', ''],
  notModelled('ip addr a 10.0.0.1/24 dev lo'),
  [0, '1\n', ''],
  [255, '', 'Command "bogus" is unknown, try "bridge fdb help".\n'],
  notModelled('bridge link s dev docker0 cost 5'),
  [0, 'qdisc noqueue 0: root refcnt 2 \n', ''],
  notModelled('tc qdisc l dev eth0 root netem delay 1ms'),
];

const seen = (steps: readonly { exitCode: number; stdout: string; stderr: string }[]) => steps.map((s) => [s.exitCode, s.stdout, s.stderr]);

test("each table selects as iproute2's does: the first word the typed one begins, some only whole", () => {
  expect(['s', 'c', 'd', 'sh', 'l', 'h'].map((w) => selectWord(IP_VERBS.link, w))).toEqual(['set', 'change', 'delete', 'show', 'lst', 'help']);
  expect(['a', 's', 'chg', 'ch', 'r', 'sa'].map((w) => selectWord(IP_VERBS.address, w))).toEqual(['add', 'show', 'chg', 'change', 'replace', 'save']);
  expect(['l', 'ls', 'd', ''].map((w) => selectWord(TC_VERBS.qdisc, w))).toEqual(['link', 'lst', 'delete', undefined]);
  expect(['fl', 'flush', 's'].map((w) => selectWord(BRIDGE_VERBS.fdb, w))).toEqual([undefined, 'flush', 'show']);
  // Read so by the registry too: a verb it does not model is no listing.
  expect(lookupCommand(['ip', 'link', 's', 'lo'], 'host').modelled).toBe(true);
  expect(lookupCommand(['ip', 'addr', 'a', 'lo'], 'host').modelled).toBe(false);
  expect(lookupCommand(['ip', 'neigh', 'f'], 'host').modelled).toBe(false);
});

test('sim answers each line as iproute2 6.1 does', async () => {
  const { result } = await runSim(LAB);
  expect(seen(result.steps)).toEqual(EXPECTED);
});

describeWith(['ip', 'bridge', 'tc'], true, 'the same lines on the real iproute2', () => {
  test('emu prints what sim prints', () => {
    expectEmuPrints('iproute2-verbs.yaml', LAB, EXPECTED);
  }, 120000);
});
