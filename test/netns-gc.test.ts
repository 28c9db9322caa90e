/**
 * Docker's namespaces outlive their last user by up to a minute (issue 13): libnetwork
 * unmounts a namespace at once (the kernel frees it and its devices) but leaves its file in
 * /var/run/docker/netns until the daemon's 60 s garbage collector removes it. `ip netns ls`
 * lists such a file (iproute2 reports the kernel's refusal of its id on stderr) and `ip netns
 * exec` cannot enter it. sim counts the collector's ticks in virtual time (`sleep`); emu
 * answers `ip netns` from the same model, its kernel namespaces gone at once.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { runSim, twoNodes } from './helpers/run';
import { describeWith } from './helpers/env';
import { cnmlab } from './helpers/tshark';

const REMOVAL = `  - r0: docker run -dit --name ubuntu0 --network test-net busybox
  - r0: ln -s /var/run/docker/netns /var/run/netns
  - r0: ip netns ls
  - r0: docker rm -f ubuntu0
  - r0: ip netns ls
`;

const PEER_REFUSED = 'Error: Peer netns reference is invalid.\n';

describe('namespace files after docker rm (sim)', () => {
  test('listed until the collector ticks (60 s after the first namespace, then every 60 s), refused by ip netns exec meanwhile', async () => {
    const { result } = await runSim(twoNodes(`${REMOVAL}  - r0: sleep 30
  - r0: ip netns ls
  - r0: sleep 30
    timeout: 40
  - r0: ip netns ls
`));
    const out = (i: number) => result.steps[i];
    const before = out(5).stdout;
    const names = before.trim().split('\n');
    expect(names).toHaveLength(5);
    // Right after rm: the same five files, three of them (1-…, lb_…, the sandbox) without a namespace.
    expect(out(7)).toMatchObject({ stdout: before, stderr: PEER_REFUSED.repeat(6), exitCode: 0 });
    // Still there 30 s later (the collector started with the ingress namespace at swarm init, second 1).
    expect(out(9).stdout).toBe(before);
    // Gone after the tick at second 61.
    expect(out(11).stdout.trim().split('\n')).toEqual(names.filter((n) => /^(1-|ingress_sbox)/.test(n)).slice(-2));
    expect(out(11).stderr).toBe('');
  });

  test('ip netns exec into a destroyed namespace: setns refuses the file (255)', async () => {
    const first = await runSim(twoNodes(REMOVAL));
    const sandbox = first.result.steps[5].stdout.split('\n')[2];
    expect(sandbox).toMatch(/^[0-9a-f]{12}$/);
    const { result } = await runSim(twoNodes(`${REMOVAL}  - r0: ip netns exec ${sandbox} ip link\n`));
    expect(result.steps[8]).toMatchObject({ stdout: '', stderr: `setting the network namespace "${sandbox}" failed: Invalid argument\n`, exitCode: 255 });
  });

  test('a namespace made again before the collector runs is live again (its file taken over)', async () => {
    const { result } = await runSim(twoNodes(`${REMOVAL}  - r0: docker run -dit --name ubuntu0 --network test-net busybox
  - r0: ip netns ls
  - r0: ip netns exec @test-net ip link show br0
`));
    expect(result.steps[9].stderr).toBe(PEER_REFUSED.repeat(2));
    expect(result.steps[10].exitCode).toBe(0);
  });
});

describeWith(['ip'], true, 'namespace files after docker rm (emu)', () => {
  test('the same listing as sim right after rm, from the same model', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cnmlab-gc-'));
    try {
      const file = path.join(dir, 'gc.yaml');
      fs.writeFileSync(file, twoNodes(REMOVAL));
      const runs = (['sim', 'emu'] as const).map((mode) => JSON.parse(cnmlab(['run', file, '--mode', mode, '--json']).stdout) as { steps: { stdout: string; stderr: string }[] });
      expect(runs[1].steps[7]).toMatchObject({ stdout: runs[0].steps[7].stdout, stderr: PEER_REFUSED.repeat(6) });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
