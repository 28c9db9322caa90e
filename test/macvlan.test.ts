/**
 * `docker network create -d macvlan` (issue 13): 20.10 makes the network, and with no
 * `-o parent=` its driver makes a dummy device for a parent (dm- and the network's short id,
 * up, txqueuelen 0) that `docker network rm` removes (libnetwork drivers/macvlan). A container
 * on it is not modelled, and says so before anything is made. emu needs the kernel's dummy
 * devices; on a kernel without them the step is not available there.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { runSim } from './helpers/run';
import { describeWith } from './helpers/env';
import { cnmlab } from './helpers/tshark';

const STEPS = `name: macvlan
hosts:
  r0: {}
steps:
  - r0: docker network create -d macvlan mac
  - r0: docker network ls
  - r0: ip -d link show
  - r0: docker run -dit --name m0 --network mac busybox
  - r0: docker ps -a
  - r0: docker network create -d macvlan -o parent=eth0 mac2
  - r0: docker network create -d macvlan -o parent=eth0 mac3
  - r0: docker network create -d macvlan -o macvlan_mode=foo mac4
  - r0: docker network create -d macvlan -o parent=lo mac5
  - r0: docker network rm mac mac2
  - r0: ip link show
`;

describe('docker network create -d macvlan (sim)', () => {
  test('the network, its dummy parent dm-<id12> in the host namespace, removed with it; containers on it not modelled', async () => {
    const { result } = await runSim(STEPS);
    const s = result.steps;
    const id = s[0].stdout.trim();
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    expect(s[1].stdout).toMatch(new RegExp(`^${id.slice(0, 12)}   mac       macvlan   local\\n`, 'm'));
    const dm = `dm-${id.slice(0, 12)}`;
    expect(s[2].stdout).toMatch(new RegExp(`^4: ${dm}: <BROADCAST,NOARP,UP,LOWER_UP> mtu 1500 qdisc noqueue state UNKNOWN mode DEFAULT group default \\n {4}link/ether \\S+ brd ff:ff:ff:ff:ff:ff promiscuity 0  allmulti 0 minmtu 0 maxmtu 0 \\n {4}dummy addrgenmode eui64 numtxqueues 1 `, 'm'));
    expect(s[3]).toMatchObject({ exitCode: 125, stderr: 'cnmlab: a container on a macvlan network is not modelled (the network and its parent link are)\n' });
    expect(s[4].stdout.trim().split('\n')).toHaveLength(1);
    const id2 = s[5].stdout.trim();
    // libnetwork names the network using the parent as dm-<its short id>, dummy or not.
    expect(s[6]).toMatchObject({ exitCode: 1, stderr: `Error response from daemon: network dm-${id2.slice(0, 12)} is already using parent interface eth0\n` });
    expect(s[7].stderr).toBe("Error response from daemon: requested macvlan mode 'foo' is not valid, 'bridge' mode is the macvlan driver default\n");
    expect(s[8].stderr).toBe('Error response from daemon: loopback interface is not a valid macvlan parent link\n');
    expect(s[9].stdout).toBe('mac\nmac2\n');
    expect(s[10].stdout).not.toContain('dm-');
  });

  test('explain: the dummy as the driver makes it', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cnmlab-macvlan-'));
    try {
      const file = path.join(dir, 'm.yaml');
      fs.writeFileSync(file, 'name: m\nhosts:\n  r0: {}\nsteps:\n  - r0: docker network create -d macvlan mac\n');
      const plan = cnmlab(['explain', file]).stdout;
      expect(plan).toMatch(/ip link add dm-[0-9a-f]{12} txqueuelen 0 type dummy\n(.*\n)?.*ip link set dev dm-[0-9a-f]{12} up/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describeWith(['ip'], true, 'docker network create -d macvlan (emu)', () => {
  test("the real kernel's dummy device, or the step not available in this kernel", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cnmlab-macvlan-'));
    try {
      const file = path.join(dir, 'macvlan.yaml');
      fs.writeFileSync(file, STEPS);
      const r = cnmlab(['run', file, '--mode', 'emu', '--json']);
      const out = JSON.parse(r.stdout) as { unavailable?: { step: number; feature: string }; steps: { stdout: string }[] };
      if (out.unavailable) {
        expect(out.unavailable).toEqual({ step: 1, feature: 'dummy devices (CONFIG_DUMMY)' });
        expect(r.stderr).toContain('is not available in this kernel: dummy devices (CONFIG_DUMMY)');
      } else {
        expect(out.steps[2].stdout).toMatch(/: dm-[0-9a-f]{12}: <BROADCAST,NOARP,UP,LOWER_UP> .*\n.* minmtu 0 maxmtu 0 \n {4}dummy addrgenmode/);
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
