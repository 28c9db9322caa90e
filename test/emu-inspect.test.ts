/**
 * What `docker inspect` and a refused `docker run` show in emu that the model alone cannot:
 * State.Pid is the real process holding the container's namespaces (what a user would give
 * `nsenter -t`), and the daemon's modelled 20 s wait before it refuses an address outside a
 * swarm network's subnet is counted in the step's duration, though emu does not sleep it.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import { describeWith } from './helpers/env';
import { parseScenario } from '../sim/scenario/load';
import { ScenarioSession } from '../sim/runner/session';
import { containerByName } from '../sim/runner/shell';
import { EmuBackend } from '../emu/backend';

describeWith(['ip', 'nsenter', 'unshare', 'setpriv', 'mount'], true, "emu: a container's process and the daemon's waits (real kernel)", () => {
  test("State.Pid names the process holding the container's network, mount and UTS namespaces, the same on each asking, 0 once stopped; a refused --ip counts the daemon's 20 s without sleeping them", async () => {
    const s = parseScenario('emu-inspect.yaml', 'name: emu-inspect\nhosts:\n  r0: {}\nsteps:\n  - r0: docker swarm init\n');
    const backend = await EmuBackend.create(s, { quiet: true });
    try {
      const session = await ScenarioSession.start(s, backend, { topology: false });
      const step = (line: string) => session.step('r0', line);
      for (const line of ['docker swarm init', 'docker network create --driver=overlay --attachable test-net', 'docker run -dit --name ubuntu0 --network test-net busybox']) {
        expect(await step(line)).toMatchObject({ exitCode: 0 });
      }
      // Asked before any step ran in the container: its process is made for the asking.
      const pid = Number((await step("docker inspect -f '{{.State.Pid}}' ubuntu0")).stdout);
      const c = containerByName(session.model, 'ubuntu0')!;
      expect(pid).not.toBe(c.pid);
      const real = backend.names.netns('r0', c.sandbox);
      expect(fs.statSync(`/proc/${pid}/ns/net`).ino).toBe(fs.statSync(`/run/netns/${real}`).ino);
      expect(execFileSync('nsenter', ['-t', String(pid), '-u', 'hostname'], { encoding: 'utf8' })).toBe(`${c.hostname}\n`);
      // A command in the container runs where that process is: its own hostname, not the machine's.
      expect((await session.step('ubuntu0', 'hostname')).stdout).toBe(`${c.hostname}\n`);
      expect(JSON.parse((await step('docker inspect ubuntu0')).stdout)[0].State.Pid).toBe(pid);

      const t0 = Date.now();
      const refused = await step('docker run -dit --name out --network test-net --ip 10.9.9.9 busybox');
      const wallMs = Date.now() - t0;
      expect(refused).toMatchObject({ exitCode: 125, stderr: expect.stringContaining('context deadline exceeded') });
      expect(wallMs).toBeLessThan(20000);
      expect(refused.durationMs).toBeGreaterThanOrEqual(20000);
      expect(refused.durationMs).toBeLessThan(20000 + wallMs + 1);
      expect(refused.daemonWaited).toEqual({ ms: 20000, note: "dockerd waited 20 s for the manager's attachment, until its request timed out; modelled: the step's duration counts it, cnmlab did not wait it" });

      expect(await step('docker stop ubuntu0')).toMatchObject({ exitCode: 0 });
      expect((await step("docker inspect -f '{{.State.Pid}}' ubuntu0")).stdout).toBe('0\n');
      expect(fs.existsSync(`/proc/${pid}`)).toBe(false);
    } finally {
      await backend.close();
    }
  });
});
