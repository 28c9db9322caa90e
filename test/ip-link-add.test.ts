/**
 * `ip link add NAME type dummy` and `ip link del NAME` typed on a host: iproute2 6.1's and
 * the kernel's texts and exit codes in sim, the same commands run (as root) in a real
 * network namespace, and, on a kernel without dummy devices (CONFIG_DUMMY unset, as on this
 * project's machine), emu's report that the step is not available in this kernel.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawnSync } from 'child_process';
import { SimKernel } from '../sim/kernel/kernel';
import { ipCommand } from '../sim/kernel/iproute';
import { typedLinkChange } from '../sim/commands/ip-link-words';
import { missingKernelFeature } from '../sim/commands/kernel-features';
import { changesKernel, lookupCommand } from '../sim/commands/registry';
import { kernelHas } from '../emu/features';
import { DUMMY_DEVICES } from '../sim/model/drivers/driver';
import { describeWith } from './helpers/env';
import { cnmlab } from './helpers/tshark';
import { expectEmuPrints, printed, runSim } from './helpers/run';

type Out = { stdout: string; stderr: string; exitCode: number; refusedUnmodelled?: true };
const ok: Out = { stdout: '', stderr: '', exitCode: 0 };
const fails = (stderr: string, exitCode: number): Out => ({ stdout: '', stderr, exitCode });
/** cnmlab's refusal of words it does not model: exit 2, and the step marked not modelled. */
const unmodelled = (stderr: string): Out => ({ ...fails(stderr, 2), refusedUnmodelled: true });
const words = (command: string) => command.split(' ');

/** Answered by iproute2 or the kernel before any dummy device is made or looked for: the same on any kernel (eth0 exists, as a host's NIC). */
const KIND_FREE: [string, Out][] = [
  ['link add', fails('Not enough information: "type" argument is required\n', 1)],
  ['link add d0', fails('Not enough information: "type" argument is required\n', 1)],
  ['link add name', fails('Command line is not complete. Try option "help"\n', 255)],
  ['link add d0 type', fails('Command line is not complete. Try option "help"\n', 255)],
  ['link add name x name y type dummy', fails('Error: duplicate "name": "y" is the second value.\n', 255)],
  ['link add x y type dummy', fails('Error: either "dev" is duplicate, or "y" is a garbage.\n', 255)],
  ['link add dev x name y type dummy', fails('both "name" and "dev" cannot be used when creating devices.\n', 255)],
  ['link add a/b type dummy', fails('Error: argument "a/b" is wrong: "dev" not a valid ifname\n', 255)],
  ['link add name aaaaaaaaaaaaaaab type dummy', fails('Error: argument "aaaaaaaaaaaaaaab" is wrong: "name" not a valid ifname\n', 255)],
  // The kernel checks the attributes, then the name, before it looks for the kind.
  ['link add aaaaaaaaaaaaaaab type dummy', fails('Error: Attribute failed policy validation.\n', 2)],
  ['link add eth0 type dummy', fails('RTNETLINK answers: File exists\n', 2)],
  ['link del', fails('Not enough information: "dev" argument is required.\n', 255)],
  ['link del d0 extra', fails('Error: either "dev" is duplicate, or "extra" is a garbage.\n', 255)],
  ['link del d0', fails('Cannot find device "d0"\n', 1)],
  ['link delete dev d0', fails('Cannot find device "d0"\n', 1)],
  ['link del lo', fails('RTNETLINK answers: Operation not supported\n', 2)],
];

/** Answered once the kernel has found the dummy kind, in this order. */
const WITH_DUMMY: [string, Out][] = [
  ['link add d0 type dummy', ok],
  ['link add d0 type dummy', fails('RTNETLINK answers: File exists\n', 2)],
  ['link add x:y type dummy', fails('RTNETLINK answers: Invalid argument\n', 2)],
  ['link add type dummy', ok],
  ['link del d0', ok],
  ['link del d0', fails('Cannot find device "d0"\n', 1)],
  ['link delete dev dummy0', ok],
  // -d and -j change nothing of an add: it prints nothing either way.
  ['-d link add d9 type dummy', ok],
  ['-j link del d9', ok],
];

function simHost(): { kernel: SimKernel; ip: (command: string) => Out } {
  const kernel = new SimKernel(1);
  kernel.apply({ op: 'host.add', host: 'r0', iface: 'eth0', address: '198.51.100.10/24' });
  const ns = kernel.netns('r0', 'r0');
  return { kernel, ip: (command) => ipCommand(ns, words(command), { namesVisible: false }, kernel) };
}

describe('ip link add|del in sim', () => {
  test("iproute2's and the kernel's texts and exit codes", () => {
    const { ip } = simHost();
    expect([...KIND_FREE, ...WITH_DUMMY].map(([command]) => [command, ip(command)])).toEqual([...KIND_FREE, ...WITH_DUMMY]);
  });

  test('the dummy device as the kernel makes it: the next index, down, NOARP, then up with state UNKNOWN; the name is free again once deleted', () => {
    const { ip } = simHost();
    expect(ip('link add d0 type dummy')).toEqual(ok);
    expect(ip('link show d0').stdout).toMatch(/^3: d0: <BROADCAST,NOARP> mtu 1500 qdisc noop state DOWN mode DEFAULT group default qlen 1000\n {4}link\/ether [0-9a-f:]{17} brd ff:ff:ff:ff:ff:ff\n$/);
    expect(ip('link set d0 up')).toEqual(ok);
    expect(ip('-d link show d0').stdout).toMatch(/^3: d0: <BROADCAST,NOARP,UP,LOWER_UP> mtu 1500 qdisc noqueue state UNKNOWN .*\n.* minmtu 0 maxmtu 0 \n {4}dummy addrgenmode/);
    expect(ip('link del d0')).toEqual(ok);
    expect(ip('link add d0 type dummy')).toEqual(ok);
    // Indexes are not reused (lo 1, eth0 2): the second d0 is 4.
    expect(ip('link show d0').stdout).toMatch(/^4: d0: /);
  });

  test("what is not modelled says so: other kinds, other attributes, and deleting a device the model made", () => {
    const { ip } = simHost();
    expect(ip('link add x type veth')).toEqual(unmodelled('cnmlab: ip link add … type veth: not modelled (type dummy is, with nothing after it)\n'));
    expect(ip('link add x mtu 1400 type dummy')).toEqual(unmodelled('cnmlab: ip link add … mtu: not modelled (a name and type dummy are)\n'));
    expect(ip('link del eth0')).toEqual(unmodelled("cnmlab: ip link del eth0: deleting a device the model made (Docker's, a driver's, the host's NIC) is not modelled; one ip link add made is\n"));
  });

  test('the registry refuses, in both modes and before anything runs, the words sim does not model: another kind, an attribute', () => {
    const refused = ['link add x type veth', 'link add x type veth peer name y', 'link add type bridge', 'link add x type dummy extra', 'link add x mtu 1400 type dummy', 'link add name x up type dummy', 'link del x type dummy', 'link del dev x down'];
    expect(refused.map((command) => [command, lookupCommand(['ip', ...words(command)], 'host')])).toEqual(refused.map((command) => [command, { modelled: false, refusal: {
      stdout: '', stderr: `cnmlab: not modelled: ip ${command}\n`, exitCode: 127, refusedUnmodelled: true,
    } }]));
    // iproute2's own errors on the name's words, and a line that stops at type, are its to print.
    for (const [command] of [...KIND_FREE, ...WITH_DUMMY]) expect([command, lookupCommand(['ip', ...words(command)], 'host').modelled]).toEqual([command, true]);
    expect(lookupCommand(words('ip link add name type type dummy'), 'host').modelled).toBe(true);
  });

  test('the registry takes both forms as changing the kernel; `ip link del d0` is no `ip link show del`', () => {
    for (const argv of [['ip', 'link', 'add', 'd0', 'type', 'dummy'], ['ip', '-d', 'link', 'add', 'd0', 'type', 'dummy'], ['ip', 'link', 'del', 'd0'], ['ip', 'link', 'delete', 'dev', 'd0'], ['ip', '-n', 'r0', 'link', 'del', 'd0']]) {
      expect([argv, lookupCommand(argv, 'host').modelled, changesKernel(argv, 'host')]).toEqual([argv, true, true]);
    }
  });

  test('emu counts the device a typed ip link add|del made or deleted, by the name the words give (none: the kernel names it)', () => {
    expect(typedLinkChange(words('ip link add d0 type dummy'))).toEqual({ verb: 'add', name: 'd0' });
    expect(typedLinkChange(words('ip -d link add name d1 type dummy'))).toEqual({ verb: 'add', name: 'd1' });
    expect(typedLinkChange(words('ip link add type dummy'))).toEqual({ verb: 'add' });
    expect(typedLinkChange(words('ip link delete dev d0'))).toEqual({ verb: 'del', name: 'd0' });
    expect(typedLinkChange(words('ip link set d0 up'))).toBeUndefined();
    // iproute2's prefixes, as sim's ip reads them (linkChangeVerb for both).
    expect(typedLinkChange(words('ip l a d2 type dummy'))).toEqual({ verb: 'add', name: 'd2' });
    expect(typedLinkChange(words('ip li de d2'))).toEqual({ verb: 'del', name: 'd2' });
    expect(typedLinkChange(words('ip link d dev d2'))).toEqual({ verb: 'del', name: 'd2' });
    expect(typedLinkChange(['ip', 'link', ''])).toBeUndefined();
    expect(typedLinkChange(words('ip route add 10.0.0.0/8 dev d0'))).toBeUndefined();
  });

  test("emu: the kernel's 'Unknown device type' for a dummy is the step not available in this kernel; other answers are not", () => {
    const unknown = fails('Error: Unknown device type.\n', 2);
    expect(missingKernelFeature(['ip', 'link', 'add', 'd0', 'type', 'dummy'], unknown)).toBe('dummy devices (CONFIG_DUMMY)');
    expect(missingKernelFeature(['ip', '-d', 'link', 'add', 'name', 'd0', 'type', 'dummy'], unknown)).toBe('dummy devices (CONFIG_DUMMY)');
    expect(missingKernelFeature(['ip', 'link', 'add', 'd0', 'type', 'dummy'], fails('RTNETLINK answers: File exists\n', 2))).toBeUndefined();
    expect(missingKernelFeature(['ip', 'link', 'add', 'd0', 'type', 'nosuchkind'], unknown)).toBeUndefined();
    expect(missingKernelFeature(['ip', 'link', 'del', 'd0'], unknown)).toBeUndefined();
  });
});

/**
 * Typed in a container, which Docker 20.10 starts without CAP_NET_ADMIN: rtnetlink_rcv_msg
 * refuses the change before any handler reads it, the device's own checks too (eth0 exists,
 * lo cannot be deleted); a delete's name is looked up first, which needs no capability.
 */
const IN_CONTAINER = `name: link-in-container
hosts:
  r0: {}
steps:
  - r0: docker run -dit --name u0 ubuntu
  - u0: ip link add d0 type dummy
  - u0: ip link add type dummy
  - u0: ip link add eth0 type dummy
  - u0: ip link del eth0
  - u0: ip link delete dev lo
  - u0: ip link del d0
`;
const NOT_PERMITTED = fails('RTNETLINK answers: Operation not permitted\n', 2);
const IN_CONTAINER_EXPECTED = [NOT_PERMITTED, NOT_PERMITTED, NOT_PERMITTED, NOT_PERMITTED, NOT_PERMITTED, fails('Cannot find device "d0"\n', 1)].map((o) => [o.exitCode, o.stdout, o.stderr]);

test('in a container (no CAP_NET_ADMIN), sim: Operation not permitted, and nothing made', async () => {
  const { result } = await runSim(IN_CONTAINER + '  - u0: ip -o link show\n');
  expect(printed(result.steps.slice(1, 7))).toEqual(IN_CONTAINER_EXPECTED);
  expect(result.steps[7].stdout).not.toMatch(/dummy|d0/);
});

describeWith(['ip'], true, 'ip link add|del in a container on the real kernel', () => {
  test('prints what sim prints', () => {
    expectEmuPrints('link-in-container.yaml', IN_CONTAINER, IN_CONTAINER_EXPECTED, { view: (steps) => printed(steps.slice(1)) });
  }, 120000);
});

describeWith(['ip'], true, 'ip link add|del on the real kernel', () => {
  /** Runs `body` with `ip -n` in a real namespace of its own that has an eth0, as a host has. */
  function withRealNetns(body: (ip: (command: string) => Out) => void): void {
    const name = `fk-${process.pid}-link`;
    const ip = (command: string): Out => {
      const r = spawnSync('ip', ['-n', name, ...words(command)], { encoding: 'utf8' });
      return { stdout: r.stdout, stderr: r.stderr, exitCode: r.status ?? -1 };
    };
    expect(spawnSync('ip', ['netns', 'add', name], { encoding: 'utf8' }).stderr).toBe('');
    try {
      expect(ip('link add eth0 type veth peer name eth0p')).toEqual(ok);
      body(ip);
    } finally {
      spawnSync('ip', ['netns', 'del', name]);
    }
  }

  test('answers what sim answers; where it has no dummy devices, each dummy step is Unknown device type, which emu reports not available', () => {
    withRealNetns((ip) => {
      expect(KIND_FREE.map(([command]) => [command, ip(command)])).toEqual(KIND_FREE);
      const probe = ip('link add d0 type dummy');
      if (probe.exitCode === 0) {
        expect(ip('link del d0')).toEqual(ok);
        expect(WITH_DUMMY.map(([command]) => [command, ip(command)])).toEqual(WITH_DUMMY);
      } else {
        expect(probe).toEqual(fails('Error: Unknown device type.\n', 2));
        expect(missingKernelFeature(['ip', ...words('link add d0 type dummy')], probe)).toBe('dummy devices (CONFIG_DUMMY)');
      }
    });
  });

  test('another kind is refused in emu as in sim, and the real ip never makes it', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cnmlab-veth-'));
    try {
      const file = path.join(dir, 'v.yaml');
      fs.writeFileSync(file, 'name: v\nhosts:\n  r0: {}\nsteps:\n  - r0: ip link add x type veth\n    expect: { exit: 127 }\n  - r0: ip link show x\n    expect: { exit: 1 }\n');
      const steps = (['sim', 'emu'] as const).map((mode) => {
        const out = JSON.parse(cnmlab(['run', file, '--mode', mode, '--json']).stdout) as { steps: { exitCode: number; stderr: string }[] };
        return out.steps.map(({ exitCode, stderr }) => ({ exitCode, stderr }));
      });
      expect(steps[1]).toEqual(steps[0]);
      expect(steps[0]).toEqual([{ exitCode: 127, stderr: 'cnmlab: not modelled: ip link add x type veth\n' }, { exitCode: 1, stderr: 'Device "x" does not exist.\n' }]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 120000);

  test('a scenario that adds a dummy runs in emu, or stops at that step, not available in this kernel', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cnmlab-dummy-'));
    try {
      const file = path.join(dir, 'd.yaml');
      fs.writeFileSync(file, 'name: d\nhosts:\n  r0: {}\nsteps:\n  - r0: ip link add d0 type dummy\n  - r0: ip link del d0\n');
      const r = cnmlab(['run', file, '--mode', 'emu', '--json']);
      const out = JSON.parse(r.stdout) as { unavailable?: { step: number; feature: string }; steps: { exitCode: number }[] };
      // Which answer is right is the kernel's to say (emu's own probe), not the output's under test.
      if (!kernelHas(DUMMY_DEVICES)) expect(out.unavailable).toEqual({ step: 1, feature: 'dummy devices (CONFIG_DUMMY)' });
      else {
        expect(out.unavailable).toBeUndefined();
        expect(out.steps.map((s) => s.exitCode)).toEqual([0, 0]);
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
