import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { parseScenario } from '../sim/scenario/load';
import { cnmlab } from './helpers/tshark';

function loadError(text: string): string {
  try {
    parseScenario('lab.yaml', text);
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error('expected an error');
}

describe('scenario files', () => {
  test('the seed lab loads with default underlay addresses in host order', () => {
    const s = parseScenario('x.yaml', 'name: a\nhosts:\n  r0: {}\n  r1: { underlay: 198.51.100.11 }\n  r2:\nsteps:\n  - r0: docker swarm init\n');
    expect(s.hosts).toEqual([{ name: 'r0', underlay: '198.51.100.10' }, { name: 'r1', underlay: '198.51.100.11' }, { name: 'r2', underlay: '198.51.100.12' }]);
    expect(s.steps[0]).toMatchObject({ on: 'r0', command: 'docker swarm init', line: 7 });
  });

  test.each([
    ['invalid YAML', 'name: a\nhosts: [\n', /^lab\.yaml:3:1: invalid YAML/],
    ['missing name', 'hosts:\n  r0: {}\nsteps:\n  - r0: ls\n', /^lab\.yaml:1:1: expected string for 'name'/],
    ['bad name', 'name: Bad Name\nhosts:\n  r0: {}\nsteps:\n  - r0: ls\n', /^lab\.yaml:1:7: expected a name of lowercase letters/],
    ['unknown key', 'name: a\nhost:\n  r0: {}\nsteps:\n  - r0: ls\n', /^lab\.yaml:2:1: unexpected key 'host'/],
    ['a host name in capitals', 'name: a\nhosts:\n  R0: {}\nsteps:\n  - R0: ls\n', /^lab\.yaml:3:\d+: expected a host name of up to 12 lowercase letters, digits and dashes, starting with a letter, got 'R0' in 'hosts'$/],
    ['two targets in a step', 'name: a\nhosts:\n  r0: {}\n  r1: {}\nsteps:\n  - r0: ls\n    r1: ls\n', /^lab\.yaml:6:5: expected exactly one key naming a host or container/],
    ['unknown target', 'name: a\nhosts:\n  r0: {}\nsteps:\n  - r9: ls\n', /^lab\.yaml:5:5: 'r9' is neither a host \(r0\) nor a container started by an earlier step/],
    // Every path a registered model gives, the drivers' too (the message listed only the first three).
    ['bad expect path', 'name: a\nhosts:\n  r0: {}\nsteps:\n  - r0: ls\n    expect: { path: macvlann }\n', /^lab\.yaml:6:\d+: expected one of overlay, local, .*\bmacvlan, .*\bipvlan-l3, .*none for 'expect\.path'$/],
    ['bad exit type', 'name: a\nhosts:\n  r0: {}\nsteps:\n  - r0: ls\n    expect:\n      exit: zero\n', /^lab\.yaml:7:13: expected number for 'expect.exit'/],
    ['bad underlay', 'name: a\nhosts:\n  r0: { underlay: 300.1.1.1 }\nsteps:\n  - r0: ls\n', /^lab\.yaml:3:19: expected an IPv4 address/],
    ['no steps', 'name: a\nhosts:\n  r0: {}\nsteps: []\n', /^lab\.yaml:4:8: expected at least one step/],
    ['empty command', "name: a\nhosts:\n  r0: {}\nsteps:\n  - r0: ''\n", /^lab\.yaml:5:9: expected a command line for 'r0'/],
  ])('%s: the error names file, line, column and what was expected', (_what, text, message) => {
    expect(loadError(text)).toMatch(message);
  });

  test('sim delays are configurable in microseconds and change ping times', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cnmlab-delay-'));
    const text = fs.readFileSync('scenarios/overlay-standalone.yaml', 'utf8').replace('hosts:', 'delays: { underlay: 5000 }\nhosts:');
    fs.writeFileSync(path.join(dir, 'slow.yaml'), text);
    const r = cnmlab(['run', path.join(dir, 'slow.yaml')]);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/icmp_seq=2 ttl=64 time=10\.\d ms/);
    expect(loadError('name: a\ndelays: { warp: 1 }\nhosts:\n  r0: {}\nsteps:\n  - r0: ls\n')).toMatch(/^lab\.yaml:2:\d+: /);
    fs.rmSync(dir, { recursive: true });
  });

  test('containers named by --name in earlier steps are valid targets', () => {
    const s = parseScenario('x.yaml', 'name: a\nhosts:\n  r0: {}\nsteps:\n  - r0: docker run -dit --name web ubuntu\n  - web: ping -c 1 web\n');
    expect(s.steps[1].on).toBe('web');
  });

  test('the CLI reports a bad scenario on one line with exit 2 and no stack trace', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cnmlab-scn-'));
    const file = path.join(dir, 'bad.yaml');
    fs.writeFileSync(file, 'name: a\nhosts:\n  r0: {}\nsteps:\n  - r9: ls\n');
    for (const cmd of [['run', file], ['verify', file], ['explain', file]]) {
      const r = cnmlab(cmd);
      expect(r.status).toBe(2);
      expect(r.stderr.trim().split('\n')).toEqual([`cnmlab: ${file}:5:5: 'r9' is neither a host (r0) nor a container started by an earlier step`]);
    }
    expect(cnmlab(['run', path.join(dir, 'missing.yaml')])).toMatchObject({ status: 2, stderr: expect.stringMatching(/missing\.yaml: no such file/) });
    expect(cnmlab(['run', file, '--mode', 'warp'])).toMatchObject({ status: 2, stderr: expect.stringMatching(/Allowed choices are sim, emu/) });
    expect(cnmlab(['run', file, '--frobnicate'])).toMatchObject({ status: 2, stderr: expect.stringMatching(/unknown option '--frobnicate'/) });
    fs.rmSync(dir, { recursive: true });
  });
});
