/**
 * The registry in emu: a command cnmlab does not model gets the same refusal as in sim and
 * never reaches a real program (root, real namespaces); pipelines and @NETWORK give the
 * same text in both modes.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { describeWith } from './helpers/env';
import { cnmlab } from './helpers/tshark';
import { twoNodes } from './helpers/run';

interface JsonRun {
  steps: { command: string; exitCode: number; stdout: string; stderr: string; unmodelled?: string }[];
}

describeWith(['ip', 'bridge', 'tcpdump', 'ping'], true, 'the command registry in emu', () => {
  test('refusals are the same in sim and emu, and nothing of them runs on the machine', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cnmlab-reg-'));
    const marker = path.join(dir, 'touched');
    const file = path.join(dir, 'lab.yaml');
    fs.writeFileSync(file, twoNodes(`  - r0: docker run -dit --name ubuntu0 --network test-net ubuntu:14.04
  - r1: docker run -dit --name ubuntu1 --network test-net ubuntu:14.04
  - r0: ln -s /var/run/docker/netns /var/run/netns
  - r0: touch ${marker}
  - ubuntu0: touch ${marker}
  - r0: ip netns exec @test-net touch ${marker}
  - r0: docker exec ubuntu0 touch ${marker}
  - r0: echo x > ${marker}
  - ubuntu0: ip link ; touch ${marker}
  - r0: ip netns exec @test-net bridge fdb show dev vxlan0 | grep -c permanent
  - ubuntu0: ip route | head -n 1
`, 'name: registry-emu'));
    const runs = (['sim', 'emu'] as const).map((mode) => {
      const r = cnmlab(['run', file, '--mode', mode, '--json']);
      expect(r.status).toBe(1);
      return JSON.parse(r.stdout) as JsonRun;
    });
    expect(fs.existsSync(marker)).toBe(false);
    const [sim, emu] = runs.map((r) => r.steps.slice(6).map(({ exitCode, stdout, stderr, unmodelled }) => ({ exitCode, stdout, stderr, unmodelled })));
    expect(emu).toEqual(sim);
    expect(sim.slice(0, 6).map((s) => s.stderr)).toEqual([
      `cnmlab: not modelled: touch ${marker}\n`, `cnmlab: not modelled: touch ${marker}\n`, `cnmlab: not modelled: ip netns exec @test-net touch ${marker}\n`,
      `cnmlab: not modelled: docker exec ubuntu0 touch ${marker}\n`, `cnmlab: not modelled: echo x > ${marker}\n`, `cnmlab: not modelled: touch ${marker}\n`,
    ]);
    expect(sim[6]).toEqual({ exitCode: 0, stdout: '3\n', stderr: '' });
    expect(sim[7].stdout).toBe('default via 172.18.0.1 dev eth1 \n');
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
