/**
 * `cnmlab explain` says a step's own command changed the kernel from what the step did: its
 * command is one that changes the kernel as the registry reads it (iproute2's abbreviations,
 * `ip -n NS`, `ip netns exec NS`), it succeeded in the sim kernel, and the kernel is no longer
 * what it was (a device set up that was up, an MTU it already had, change nothing).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { cnmlab } from './helpers/tshark';
import { SimKernel } from '../sim/kernel/kernel';
import { deferEngineCommand } from '../sim/kernel/iptables';
import { namespaceState } from '../sim/kernel/netns-state';

const CHANGED = "    (none of libnetwork's: the step's own command changes the kernel, as typed)\n";
const NOTHING = '    (no kernel changes)\n';

const STEPS = [
  'docker swarm init',
  'docker network create --driver=overlay --attachable test-net',
  'docker run -dit --name c0 --network test-net alpine',
  'ln -s /var/run/docker/netns /var/run/netns',
  // A link type cnmlab does not model: it runs nothing, so the next step finds no bond0.
  'ip link add bond0 type bond',
  'ip link set bond0 up',
  'ip r add 10.9.2.0/24 via 198.51.100.11',
  'ip -n @test-net route add 10.9.3.0/24 dev br0',
  'ip netns exec @test-net ip route del 10.9.3.0/24 dev br0',
  'ip ro',
  'iptables -L -n',
  'iptables -I FORWARD -j ACCEPT',
  'ip link set eth0 up',
  'ip link set dev eth0 mtu 1400',
  'ip link set eth0 mtu 1400 up',
  'sysctl -w net.ipv4.ip_forward=1',
  'sysctl -w net.ipv4.conf.eth0.forwarding=0',
];

describe('explain decides from what a step did whether its own command changed the kernel', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cnmlab-explain-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  /** What explain says under each step's header (1-based): one line for a step without libnetwork's ops. */
  let said: (n: number) => string;

  beforeAll(() => {
    const file = path.join(dir, 'typed.yaml');
    fs.writeFileSync(file, `name: explain-typed\nhosts:\n  r0: {}\nsteps:\n${STEPS.map((c) => `  - r0: ${c}\n`).join('')}`);
    const r = cnmlab(['explain', file]);
    expect(r.stderr).toBe('');
    said = (n) => {
      const after = r.stdout.split(`# step ${n}: r0$ ${STEPS[n - 1]}\n`)[1] ?? '';
      return after.slice(0, after.indexOf('\n') + 1);
    };
  });

  test('a failed ip link set changes nothing; ip r add, ip -n NS route add, ip netns exec … route del and iptables -I do', () => {
    expect([5, 6, 7, 8, 9, 10, 11, 12].map((n) => said(n))).toEqual([NOTHING, NOTHING, CHANGED, CHANGED, CHANGED, NOTHING, NOTHING, CHANGED]);
  });

  test('a command that succeeds and leaves the kernel as it was changes nothing', () => {
    // eth0 is up; its MTU once set is set; a swarm node forwards already (the engine's sysctl); one device's forwarding is its own.
    expect([13, 14, 15, 16, 17].map((n) => said(n))).toEqual([NOTHING, CHANGED, NOTHING, NOTHING, CHANGED]);
  });
});

describe("the engine's deferred rules are no part of a step's own change", () => {
  test('reading the namespace runs none of them', () => {
    const kernel = new SimKernel(1);
    kernel.apply({ op: 'host.add', host: 'r0', iface: 'eth0', address: '198.51.100.10/24' });
    const ns = kernel.netns('r0', 'r0');
    const ran: string[] = [];
    deferEngineCommand(ns, ['-t', 'nat', '-N', 'DOCKER_OUTPUT'], (_, args) => ran.push(args.join(' ')));
    expect(namespaceState(ns)).toBe(namespaceState(ns));
    expect(ran).toEqual([]);
    expect(ns.netfilter?.deferred).toHaveLength(1);
  });

  test("an iptables command that leaves the tables as the engine's rules made them changes nothing", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cnmlab-explain-'));
    try {
      const file = path.join(dir, 'deferred.yaml');
      // The container's resolver chains (nat) are the engine's, deferred until something reads the tables.
      const steps = ['r0: docker network create n1', 'r0: docker run -dit --name c1 --network n1 --cap-add NET_ADMIN ubuntu:14.04',
        'c1: ip link set eth0 up', 'c1: iptables -t nat -P OUTPUT ACCEPT', 'c1: iptables -t nat -P OUTPUT DROP'];
      fs.writeFileSync(file, `name: explain-deferred\nhosts:\n  r0: {}\nsteps:\n${steps.map((x) => `  - ${x}\n`).join('')}`);
      const r = cnmlab(['explain', file]);
      expect(r.stderr).toBe('');
      const said = (header: string) => r.stdout.split(`${header}\n`)[1].split('\n')[0] + '\n';
      expect(said('# step 3: c1$ ip link set eth0 up')).toBe(NOTHING);
      expect(said('# step 4: c1$ iptables -t nat -P OUTPUT ACCEPT')).toBe(NOTHING);
      expect(said('# step 5: c1$ iptables -t nat -P OUTPUT DROP')).toBe(CHANGED);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
