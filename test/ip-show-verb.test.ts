/**
 * `ip address` and `ip link` list with no word after them, or after their listing verb (show,
 * list; then the device, `dev` or not); a device or `dev` in the verb's place is no verb, in
 * both families: iproute2 6.1's do_ipaddr/do_iplink refuse it ("Command … is unknown", exit
 * 255, measured on this machine), BusyBox 1.35's index_in_substrings finds it in no table
 * (exit 1 for ip address, 2 for ip link). The registry's forms say so: `[show [[dev] DEVICE]]`.
 */
import { describeWith } from './helpers/env';
import { expectEmuPrints, printed, PrintedStep, runSim } from './helpers/run';

const LAB = `name: ip-show-verb
hosts:
  r0: {}
steps:
  - r0: docker run -dit --name u0 ubuntu
  - r0: docker run -dit --name b0 busybox
  - r0: ip addr lo
  - r0: ip link dev lo
  - u0: ip -4 addr show dev eth0
  - u0: ip addr eth0
  - u0: ip link eth0
  - b0: ip addr eth0
  - b0: ip link dev eth0
`;

const EXPECTED = [
  [255, '', 'Command "lo" is unknown, try "ip address help".\n'],
  [255, '', 'Command "dev" is unknown, try "ip link help".\n'],
  [0, expect.stringMatching(/^\d+: eth0@if\d+: .*\n    inet 172\.17\.0\.2\/16 brd 172\.17\.255\.255 scope global eth0\n/), ''],
  [255, '', 'Command "eth0" is unknown, try "ip address help".\n'],
  [255, '', 'Command "eth0" is unknown, try "ip link help".\n'],
  [1, '', "ip: invalid argument 'eth0' to 'ip'\n"],
  [2, '', "ip: invalid argument 'dev' to 'ip'\n"],
];

const view = (steps: readonly PrintedStep[]) => printed(steps.slice(2));

test("a device or dev in the verb's place is each family's refusal (sim)", async () => {
  const { result } = await runSim(LAB);
  expect(view(result.steps)).toEqual(EXPECTED);
});

describeWith(['ip', 'busybox'], true, "the listing verb's place on the real programs", () => {
  test('emu prints what sim prints', () => {
    expectEmuPrints('ip-show-verb.yaml', LAB, EXPECTED, { view });
  }, 120000);
});
