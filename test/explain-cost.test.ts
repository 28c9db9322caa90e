/**
 * `cnmlab explain` runs only what changes the kernel: a step that would ping or sleep for an
 * hour is answered without running, so explaining it costs what explaining any step costs.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { cnmlab } from './helpers/tshark';

/** Three hours of pings at 1 ms: running them took the sim some 15 s each. */
const PINGS = ['c0: ping -q -c 100000000 -i 0.001 c1', 'c1: ping -q -c 100000000 -i 0.001 c0', 'c0: ping -q -c 100000000 -i 0.001 c1'];

describe('explain does not run the steps that change nothing', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cnmlab-explain-cost-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('hours of pings at 1 ms and an hour of sleep explain at once; the route added after them is still in the plan', () => {
    const file = path.join(dir, 'cost.yaml');
    fs.writeFileSync(file, [
      'name: explain-cost',
      'timeout: 3600',
      'hosts:',
      '  r0: {}',
      'steps:',
      '  - r0: docker network create n',
      '  - r0: docker run -dit --name c0 --network n alpine',
      '  - r0: docker run -dit --name c1 --network n alpine',
      // Quiet: a ping that prints stops at the output cap long before its timeout.
      ...PINGS.map((p) => `  - ${p}`),
      '  - r0: sleep 3500',
      '  - r0: ip route add 10.9.2.0/24 dev docker0',
      '',
    ].join('\n'));
    const t0 = Date.now();
    const r = cnmlab(['explain', file]);
    const wallMs = Date.now() - t0;
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    PINGS.forEach((p, i) => expect(r.stdout).toContain(`# step ${i + 4}: ${p.replace(': ', '$ ')}\n    (no kernel changes)\n`));
    expect(r.stdout).toContain('# step 7: r0$ sleep 3500\n    (no kernel changes)\n');
    expect(r.stdout).toContain("# step 8: r0$ ip route add 10.9.2.0/24 dev docker0\n    (none of libnetwork's: the step's own command changes the kernel, as typed)\n");
    // Generous for a loaded machine: running the pings took minutes.
    expect(wallMs).toBeLessThan(20_000);
  });
});
