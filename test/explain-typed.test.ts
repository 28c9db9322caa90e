/**
 * `cnmlab explain` says a step's own command changed the kernel from what the step did: its
 * command is one that changes the kernel as the registry reads it (iproute2's abbreviations,
 * `ip -n NS`, `ip netns exec NS`), and it succeeded in the sim kernel.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { cnmlab } from './helpers/tshark';

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
];

describe('explain decides from what a step did whether its own command changed the kernel', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cnmlab-explain-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('a failed ip link set changes nothing; ip r add, ip -n NS route add, ip netns exec … route del and iptables -I do', () => {
    const file = path.join(dir, 'typed.yaml');
    fs.writeFileSync(file, `name: explain-typed\nhosts:\n  r0: {}\nsteps:\n${STEPS.map((c) => `  - r0: ${c}\n`).join('')}`);
    const r = cnmlab(['explain', file]);
    expect(r.stderr).toBe('');
    // What explain says under a step's header: one line for a step without libnetwork's ops.
    const said = (n: number) => {
      const after = r.stdout.split(`# step ${n}: r0$ ${STEPS[n - 1]}\n`)[1] ?? '';
      return after.slice(0, after.indexOf('\n') + 1);
    };
    expect(said(5)).toBe(NOTHING);
    expect(said(6)).toBe(NOTHING);
    expect(said(7)).toBe(CHANGED);
    expect(said(8)).toBe(CHANGED);
    expect(said(9)).toBe(CHANGED);
    expect(said(10)).toBe(NOTHING);
    expect(said(11)).toBe(NOTHING);
    expect(said(12)).toBe(CHANGED);
  });
});
