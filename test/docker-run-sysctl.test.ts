/**
 * `docker run --sysctl KEY=VALUE` (sim/docker/run-sysctl.ts): docker/cli v20.10's
 * ValidateSysctl refuses a key outside its list or a value without `=`; the keys the sim
 * kernel has are written in the container's namespace as it starts (runc, after eth0 is
 * there), in sim's kernel and on the real one; inspect shows them as HostConfig.Sysctls.
 */
import { describeWith } from './helpers/env';
import { expectEmuPrints, printed, PrintedStep, runSim } from './helpers/run';

const LAB = `name: run-sysctl
hosts:
  r0: {}
steps:
  - r0: docker run -dit --name s0 --sysctl net.ipv4.ip_forward=1 busybox
  - r0: docker run -dit --name s1 --sysctl net.ipv4.conf.lo.forwarding=1 --sysctl net.ipv4.conf.eth0.forwarding=1 busybox
  - r0: docker run -dit --name s2 busybox
  - s0: sysctl net.ipv4.ip_forward net.ipv4.conf.eth0.forwarding net.ipv4.conf.lo.forwarding
  - s1: sysctl net.ipv4.ip_forward net.ipv4.conf.eth0.forwarding net.ipv4.conf.lo.forwarding
  - s2: sysctl net.ipv4.ip_forward net.ipv4.conf.eth0.forwarding
  - r0: docker inspect -f '{{json .HostConfig.Sysctls}}' s1
  - r0: docker inspect -f '{{json .HostConfig.Sysctls}}' s2
  - r0: docker restart s0
  - s0: sysctl net.ipv4.ip_forward
  - r0: docker run -dit --name s3 --sysctl net.ipv4.conf.all.forwarding=1 busybox
  - s3: sysctl net.ipv4.ip_forward net.ipv4.conf.eth0.forwarding net.ipv4.conf.lo.forwarding
  - r0: docker run -dit --name s4 --sysctl net.ipv4.conf.default.forwarding=1 busybox
  - s4: sysctl net.ipv4.conf.default.forwarding net.ipv4.conf.eth0.forwarding net.ipv4.conf.lo.forwarding net.ipv4.ip_forward
  - r0: docker run -d --sysctl kernel.domainname=x busybox
  - r0: docker run -d --sysctl net.ipv4.ip_forward busybox
`;

const EXPECTED: [number, unknown, string][] = [
  [0, 'net.ipv4.ip_forward = 1\nnet.ipv4.conf.eth0.forwarding = 1\nnet.ipv4.conf.lo.forwarding = 1\n', ''],
  [0, 'net.ipv4.ip_forward = 0\nnet.ipv4.conf.eth0.forwarding = 1\nnet.ipv4.conf.lo.forwarding = 1\n', ''],
  [0, 'net.ipv4.ip_forward = 0\nnet.ipv4.conf.eth0.forwarding = 0\n', ''],
  // Go's map, its keys sorted; a container without --sysctl has none (nil, omitted from its JSON).
  [0, '{"net.ipv4.conf.eth0.forwarding":"1","net.ipv4.conf.lo.forwarding":"1"}\n', ''],
  [0, 'null\n', ''],
  [0, 's0\n', ''],
  // A new sandbox at each start: runc writes them again.
  [0, 'net.ipv4.ip_forward = 1\n', ''],
  // ip_forward is conf.all.forwarding under another name.
  [0, expect.stringMatching(/^[0-9a-f]{64}\n$/), ''],
  [0, 'net.ipv4.ip_forward = 1\nnet.ipv4.conf.eth0.forwarding = 1\nnet.ipv4.conf.lo.forwarding = 1\n', ''],
  // default reaches only devices made later: runc writes it once eth0 is in, so no device takes it.
  [0, expect.stringMatching(/^[0-9a-f]{64}\n$/), ''],
  [0, 'net.ipv4.conf.default.forwarding = 1\nnet.ipv4.conf.eth0.forwarding = 0\nnet.ipv4.conf.lo.forwarding = 0\nnet.ipv4.ip_forward = 0\n', ''],
  [125, '', "invalid argument \"kernel.domainname=x\" for \"--sysctl\" flag: sysctl 'kernel.domainname=x' is not whitelisted\nSee 'docker run --help'.\n"],
  [125, '', "invalid argument \"net.ipv4.ip_forward\" for \"--sysctl\" flag: sysctl 'net.ipv4.ip_forward' is not whitelisted\nSee 'docker run --help'.\n"],
];

const view = (steps: readonly PrintedStep[]) => printed(steps.slice(3));

test('the keys the kernel has are written in the container at each start, and inspect shows them; ValidateSysctl refuses the rest', async () => {
  const { result } = await runSim(LAB);
  expect(view(result.steps)).toEqual(EXPECTED);
});

test('a key or value the sim kernel does not have, and keys whose outcome is runc\'s map order, are refused as not modelled', async () => {
  const { result } = await runSim(`name: run-sysctl-unmodelled
hosts:
  r0: {}
steps:
  - r0: docker run -d --sysctl net.ipv4.tcp_syncookies=1 busybox
    expect: { exit: 127 }
  - r0: docker run -d --sysctl net.ipv4.ip_forward=2 busybox
    expect: { exit: 127 }
  - r0: docker run -d --sysctl net.ipv4.ip_forward=1 --sysctl net.ipv4.conf.eth0.forwarding=0 busybox
    expect: { exit: 127 }
  - r0: docker run -d --network none --sysctl net.ipv4.conf.eth0.forwarding=1 busybox
    expect: { exit: 127 }
`);
  expect(printed(result.steps)).toEqual([
    [127, '', 'cnmlab: not modelled: docker run --sysctl net.ipv4.tcp_syncookies=1: a key other than net.ipv4.ip_forward and net.ipv4.conf.{all,default,lo,eth0}.forwarding\n'],
    [127, '', 'cnmlab: not modelled: docker run --sysctl net.ipv4.ip_forward=2: a value other than 0 or 1\n'],
    [127, '', "cnmlab: not modelled: docker run --sysctl net.ipv4.ip_forward=1 --sysctl net.ipv4.conf.eth0.forwarding=0: the all-devices forwarding switch with other forwarding keys (runc writes them in Go's map order)\n"],
    [127, '', 'cnmlab: not modelled: docker run --sysctl net.ipv4.conf.eth0.forwarding=1: a key other than net.ipv4.ip_forward and net.ipv4.conf.{all,default,lo,eth0}.forwarding\n'],
  ]);
});

const HOST_LAB = `name: run-sysctl-host
hosts:
  r0: {}
steps:
  - r0: docker run -d --name h0 --network host --sysctl net.ipv4.ip_forward=0 busybox
    expect: { exit: 125 }
  - r0: docker inspect -f '{{.State.Status}} {{.State.ExitCode}} {{.State.Error}}' h0
  - r0: sysctl net.ipv4.ip_forward
  - r0: docker run --rm --network host --sysctl net.core.somaxconn=5 busybox true
    expect: { exit: 125 }
`;

const REFUSED = (key: string) => `failed to create shim task: OCI runtime create failed: runc create failed: sysctl "${key}" not allowed in host network namespace: unknown`;

const HOST_EXPECTED: [number, unknown, string][] = [
  // Created, then refused at start: -d printed the id first.
  [125, expect.stringMatching(/^[0-9a-f]{64}\n$/), `docker: Error response from daemon: ${REFUSED('net.ipv4.ip_forward')}.\n`],
  [0, `created 128 ${REFUSED('net.ipv4.ip_forward')}\n`, ''],
  // Never written: the host's namespace keeps its own.
  [0, 'net.ipv4.ip_forward = 1\n', ''],
  // Any net.* key, one the sim kernel has or not.
  [125, '', `docker: Error response from daemon: ${REFUSED('net.core.somaxconn')}.\n`],
];

test("with --network host runc refuses a net.* key as the container starts, and the host's namespace is left as it was", async () => {
  const { result } = await runSim(HOST_LAB);
  expect(printed(result.steps)).toEqual(HOST_EXPECTED);
  const two = await runSim(`name: run-sysctl-host-two
hosts:
  r0: {}
steps:
  - r0: docker run -d --network host --sysctl net.ipv4.ip_forward=0 --sysctl net.core.somaxconn=5 busybox
    expect: { exit: 127 }
`);
  expect(printed(two.result.steps)).toEqual([
    [127, '', "cnmlab: not modelled: docker run --network host --sysctl net.ipv4.ip_forward=0 --sysctl net.core.somaxconn=5: which key runc names as it refuses them (Go's map order)\n"],
  ]);
});

describeWith(['busybox', 'sysctl'], true, 'docker run --sysctl on the real kernel', () => {
  test('emu writes the same keys in the container\'s namespace and prints what sim prints', () => {
    expectEmuPrints('run-sysctl.yaml', LAB, EXPECTED, { view });
  }, 120000);

  test("with --network host the start is refused before anything is written in the host's namespace", () => {
    expectEmuPrints('run-sysctl-host.yaml', HOST_LAB, HOST_EXPECTED);
  }, 120000);
});
