/** Hostile scenarios (issue 22): each is refused at load in one file:line line, or answered on its step as Docker and Linux answer. */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { cleanExitProblem, cnmlabMeasured } from './helpers/hostile';

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cnmlab-hostile-scenarios-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function scenario(name: string, text: string): string {
  const p = path.join(dir, `${name}.yaml`);
  fs.writeFileSync(p, text);
  return p;
}

function loadRefusal(name: string, text: string): string {
  const p = scenario(name, text);
  const r = cnmlabMeasured(['run', p], { timeoutMs: 20_000 });
  expect(r.status).toBe(2);
  expect(r.stdout).toBe('');
  expect(cleanExitProblem(r)).toBeUndefined();
  return r.stderr.trim().replace(`${p}:`, 'FILE:');
}

interface StepJson { exitCode: number; stdout: string; stderr: string }
function steps(name: string, text: string): StepJson[] {
  const r = cnmlabMeasured(['run', '--json', scenario(name, text)], { timeoutMs: 20_000 });
  expect(cleanExitProblem(r)).toBeUndefined();
  return JSON.parse(r.stdout).steps;
}

describe('refused at load, at file:line:col', () => {
  test('a YAML alias bomb', () => {
    const bomb = ['a0: &a0 [x, x, x, x, x, x, x, x, x, x]'];
    for (let k = 1; k < 9; k++) bomb.push(`a${k}: &a${k} [${Array(10).fill(`*a${k - 1}`).join(', ')}]`);
    expect(loadRefusal('bomb', `name: bomb\n${bomb.join('\n')}\nhosts: { r0: {} }\nsteps:\n  - r0: ip link\n`))
      .toBe('cnmlab: FILE:3:10: invalid YAML: Excessive alias count indicates a resource exhaustion attack');
  });

  test('an alias to no anchor', () => {
    expect(loadRefusal('unresolved', 'name: unresolved\nhosts: { r0: {} }\nsteps:\n  - r0: *nowhere\n'))
      .toBe('cnmlab: FILE:4:9: invalid YAML: Unresolved alias (the anchor must be set before the alias): nowhere');
  });

  test('nesting too deep for the parser', () => {
    expect(loadRefusal('deep', `name: deep\nhosts: { r0: {} }\nsteps:\n  - r0: ${'['.repeat(50_000)}${']'.repeat(50_000)}\n`)).toMatch(/^cnmlab: FILE:\d+:\d+: invalid YAML: /);
  });

  test('a regular expression JavaScript refuses, before any step runs', () => {
    expect(loadRefusal('regex', "name: regex\nhosts: { r0: {} }\nsteps:\n  - r0: ip link\n  - r0: docker network ls\n    expect: { stdout: '/([a-z/' }\n"))
      .toBe("cnmlab: FILE:6:23: expected a valid regular expression for 'expect.stdout' (Invalid regular expression: /([a-z/: Unterminated character class)");
  });
});

describe('answered on the step, as Docker and Linux answer', () => {
  test('docker run --ip 10.0.1.300: the daemon refuses it before creating anything (exit 125)', () => {
    const r = steps('ip', [
      'name: ip', 'hosts: { r0: {} }', 'steps:',
      '  - r0: docker network create --subnet 10.0.1.0/24 n1',
      '  - r0: docker run -dit --name c1 --network n1 --ip 10.0.1.300 busybox',
      '  - r0: docker ps -a -q',
      '  - r0: docker run -dit --name c2 --network n1 busybox',
      '  - r0: docker network create --subnet 10.0.2.0/24 n2',
      '  - r0: docker network connect --ip 10.0.1.300 n2 c2',
      '  - r0: docker inspect -f "{{json .NetworkSettings.Networks}}" c2',
    ].join('\n'));
    expect(r[1]).toMatchObject({ exitCode: 125, stdout: '', stderr: "docker: Error response from daemon: invalid IPv4 address: 10.0.1.300.\nSee 'docker run --help'.\n" });
    expect(r[2].stdout).toBe('');
    expect(r[5]).toMatchObject({ exitCode: 1, stderr: 'Error response from daemon: Invalid IPv4 address: 10.0.1.300)\n' });
    expect(Object.keys(JSON.parse(r[6].stdout))).toEqual(['n1']);
  });

  test("ping to a 70,000-character name fails as BusyBox's ping (over glibc) fails it, without a query", () => {
    const r = steps('long', [
      'name: long', 'hosts: { r0: {} }', 'steps:',
      '  - r0: docker network create n1',
      '  - r0: docker run -dit --name c1 --network n1 busybox',
      `  - c1: ping -c 1 ${'a'.repeat(70_000)}`,
      `  - c1: ping -c 1 ${'b'.repeat(64)}.example`,
    ].join('\n'));
    expect(r[2]).toMatchObject({ exitCode: 1, stdout: '', stderr: `ping: bad address '${'a'.repeat(70_000)}'\n` });
    expect(r[3]).toMatchObject({ exitCode: 1, stderr: `ping: bad address '${'b'.repeat(64)}.example'\n` });
  });

  test('a network alias that is no DNS name is refused (cnmlab says so: Docker 20.10 has no such check), so no name is injected', () => {
    const r = steps('alias', [
      'name: alias', 'hosts: { r0: {} }', 'steps:',
      '  - r0: docker network create n1',
      '  - r0: "docker run -dit --name c1 --network n1 --network-alias \\"db\\n6.6.6.6 evil\\" busybox"',
      '  - r0: docker run -dit --name c2 --network n1 busybox',
      '  - r0: "docker network connect --alias \\"x y\\" n1 c2"',
      '  - c2: ping -c 1 evil',
    ].join('\n'));
    expect(r[1]).toMatchObject({ exitCode: 127, stdout: '', stderr: expect.stringMatching(/^cnmlab: not modelled: network alias "db\\n6\.6\.6\.6 evil" is not a DNS name/) });
    expect(r[3]).toMatchObject({ exitCode: 127, stderr: expect.stringMatching(/^cnmlab: not modelled: network alias "x y" is not a DNS name/) });
    // Not a name Docker owns: forwarded, unanswered; BusyBox's ping gives up.
    expect(r[4]).toMatchObject({ exitCode: 1, stderr: "ping: bad address 'evil'\n" });
  });
});
