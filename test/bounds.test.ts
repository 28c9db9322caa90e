/**
 * Step bounds in sim (issue 12's "emu hangs where sim stops", issue 20): a step that never
 * ends stops at its timeout in virtual time, output stops at the cap, and both say so with
 * their own exit code; `timeout:` is part of the scenario format.
 */
import * as fs from 'fs';
import * as path from 'path';
import { parseScenario } from '../sim/scenario/load';
import { REPO } from './helpers/env';
import { EXIT_OUTPUT_CUT, EXIT_TIMED_OUT, OUTPUT_CAP_BYTES } from '../sim/runner/bounds';
import { runSim, twoNodes } from './helpers/run';

const CONTAINERS = `  - r0: docker run -dit --name ubuntu0 --network test-net ubuntu:14.04
  - r1: docker run -dit --name ubuntu1 --network test-net ubuntu:14.04
`;

function loadError(text: string): string {
  try {
    parseScenario('lab.yaml', text);
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error('expected an error');
}

describe('step bounds in sim', () => {
  test('ping without -c runs until the step timeout (virtual time), is killed without statistics, and the step says so', async () => {
    const { result, backend } = await runSim(`timeout: 5\n${twoNodes(CONTAINERS)}  - ubuntu0: ping ubuntu1\n  - ubuntu0: ping -c 1 ubuntu1\n`);
    const [endless, after] = result.steps.slice(-2);
    expect(endless.exitCode).toBe(EXIT_TIMED_OUT);
    expect(endless.stdout.match(/^64 bytes from ubuntu1\.test-net \(10\.0\.1\.4\): icmp_seq=\d+/gm)).toHaveLength(5);
    expect(endless.stdout).not.toContain('ping statistics');
    expect(endless.stderr).toBe('cnmlab: timed out after 5 s, its processes killed: ping ubuntu1\n');
    expect(endless.durationMs).toBe(5000);
    expect(endless.ok).toBe(false);
    expect(endless.checks).toEqual([{ what: 'exit', expected: 'the step to end within its timeout', got: 'cnmlab: timed out after 5 s, its processes killed: ping ubuntu1', ok: false }]);
    // The killed ping leaves nothing scheduled: the next ping sees only its own probes (dockerd's timers go on, as on a host).
    expect(after.exitCode).toBe(0);
    expect(after.stdout).toMatch(/1 packets transmitted, 1 received/);
    expect(backend.cluster.scheduled).toBeGreaterThan(0);
    expect(backend.datapath.clock.pending - backend.cluster.scheduled).toBeLessThan(10);
  });

  test('a step can set its own timeout, and one that expects the timeout passes', async () => {
    const { result } = await runSim(`${twoNodes(CONTAINERS)}  - ubuntu0: ping ubuntu1\n    timeout: 2.5\n    expect: { exit: 124 }\n`);
    const last = result.steps[result.steps.length - 1];
    expect(last.stdout.match(/icmp_seq=/g)).toHaveLength(3);
    expect(last.durationMs).toBe(2500);
    expect(last.ok).toBe(true);
    expect(result.ok).toBe(true);
  });

  test('a program that would print more than the cap is stopped there: the first bytes, the report line, exit 141', async () => {
    // 200,000 replies at 56 bytes a line is over 11 MB uncut.
    const { result } = await runSim(`${twoNodes(CONTAINERS)}  - r0: ping -i 0.0002 -c 200000 198.51.100.11\n    timeout: 60\n    expect: { exit: 141 }\n`);
    const last = result.steps[result.steps.length - 1];
    expect(last.exitCode).toBe(EXIT_OUTPUT_CUT);
    expect(Buffer.byteLength(last.stdout)).toBe(OUTPUT_CAP_BYTES);
    expect(last.stdout).toMatch(/^PING 198\.51\.100\.11 \(198\.51\.100\.11\) 56\(84\) bytes of data\.\n64 bytes from 198\.51\.100\.11: icmp_seq=1 ttl=64/);
    expect(last.stderr).toBe(`cnmlab: output cut at ${OUTPUT_CAP_BYTES} bytes, its processes killed: ping -i 0.0002 -c 200000 198.51.100.11\n`);
    expect(last.ok).toBe(true);
  });

  test('the default timeout is 30 s', async () => {
    const { result } = await runSim(`${twoNodes(CONTAINERS)}  - ubuntu0: ping -q ubuntu1\n`);
    expect(result.steps[result.steps.length - 1]).toMatchObject({ exitCode: EXIT_TIMED_OUT, durationMs: 30000 });
  });

  test.each([
    ['a scenario timeout that is not a number', 'name: a\ntimeout: soon\nhosts:\n  r0: {}\nsteps:\n  - r0: ls\n', /^lab\.yaml:2:10: expected number for 'timeout'/],
    ['a step timeout of zero', 'name: a\nhosts:\n  r0: {}\nsteps:\n  - r0: ls\n    timeout: 0\n', /^lab\.yaml:6:14: expected seconds from 0\.1 to 3600 for 'timeout'/],
  ])('%s is bad input with file:line:col', (_what, text, message) => {
    expect(loadError(text)).toMatch(message);
  });

  test("docs/scenarios.md's example runs as it says: the ping without -c is stopped at its step's timeout and passes, expecting 124", async () => {
    const doc = fs.readFileSync(path.join(REPO, 'docs', 'scenarios.md'), 'utf8');
    const { result } = await runSim(/```yaml\n([\s\S]*?)```/.exec(doc)![1]);
    expect(result.ok).toBe(true);
    expect(result.steps[result.steps.length - 1]).toMatchObject({ exitCode: EXIT_TIMED_OUT, durationMs: 3000, stderr: 'cnmlab: timed out after 3 s, its processes killed: ping ubuntu1\n' });
  });

  test('timeouts load: the scenario default and a step override', () => {
    const s = parseScenario('lab.yaml', 'name: a\ntimeout: 7\nhosts:\n  r0: {}\nsteps:\n  - r0: ls\n  - r0: ls\n    timeout: 0.5\n');
    expect(s.timeout).toBe(7);
    expect(s.steps.map((st) => st.timeout)).toEqual([undefined, 0.5]);
  });
});
