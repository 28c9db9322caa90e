/**
 * A command the container's image does not have, told apart from one cnmlab does not model
 * (sim/commands/family.ts): typed at the container's shell, BusyBox ash's `sh: NAME: not
 * found` or bash's `bash: NAME: command not found`, exit 127; run by `docker exec`, which
 * runs no shell, runc's refusal as dockerd writes it into the exec's output, exit 126. A
 * program the image holds but cnmlab does not model stays `cnmlab: not modelled`, exit 127.
 */
import { lookupCommand } from '../sim/commands/registry';
import { execNotFound, imageHas } from '../sim/commands/family';
import { runEmu, runSim } from './helpers/run';
import { describeWith } from './helpers/env';

const OCI = (name: string) => `OCI runtime exec failed: exec failed: unable to start container process: exec: "${name}": executable file not found in $PATH: unknown\r\n`;

describe('what an image holds', () => {
  test("a GNU image: Debian 12's smallest system and the tools cnmlab models for it; bash's builtins at its shell", () => {
    for (const p of ['ls', 'sort', 'awk', 'which', 'mount', 'perl', 'apt-get']) expect(imageHas('ubuntu:14.04', p, 'exec')).toBe(true);
    for (const p of ['curl', 'wget', 'dig', 'tcpdump', 'ifconfig', 'ps', 'vi']) expect(imageHas('debian:12', p, 'exec')).toBe(false);
    expect(imageHas('ubuntu', 'cd', 'shell')).toBe(true);
    expect(imageHas('ubuntu', 'cd', 'exec')).toBe(false);
  });

  test("only a Debian-based image is judged by Debian's list; nginx's own programs are its; another image's are not known", () => {
    expect(imageHas('nginx:1.25', 'curl', 'exec')).toBe(true);
    expect(imageHas('nginx', 'wget', 'exec')).toBe(false);
    for (const image of ['nicolaka/netshoot', 'redis', 'python:3.12', 'centos:7', 'fedora', 'nginx:alpine']) {
      expect(imageHas(image, 'curl', 'exec')).toBe(true);
      expect(lookupCommand(['curl', 'x'], 'container', image)).toMatchObject({ modelled: false, refusal: { stderr: 'cnmlab: not modelled: curl x\n', exitCode: 127 } });
    }
  });

  test("the shell's answer, or the refusal, by image", () => {
    expect(lookupCommand(['curl', 'x'], 'container', 'ubuntu')).toMatchObject({ modelled: true, answer: { stdout: '', stderr: 'bash: curl: command not found\n', exitCode: 127 } });
    expect(lookupCommand(['curl', 'x'], 'container', 'busybox')).toMatchObject({ modelled: true, answer: { stdout: '', stderr: 'sh: curl: not found\n', exitCode: 127 } });
    // Held by the image, not modelled: refused, in both families; a modelled program's other form too.
    for (const image of ['ubuntu', 'busybox']) {
      for (const argv of [['ls', '/'], ['cd', '/'], ['ip', 'foo']]) expect(lookupCommand(argv, 'container', image)).toMatchObject({ modelled: false, refusal: { stderr: `cnmlab: not modelled: ${argv.join(' ')}\n`, exitCode: 127 } });
    }
    expect(execNotFound('curl')).toEqual({ stdout: OCI('curl'), stderr: '', exitCode: 126 });
  });
});

const ABSENT = `name: absent-programs
hosts:
  r0: {}
steps:
  - r0: docker run -dit --name b0 busybox
  - r0: docker run -dit --name u0 ubuntu:14.04
  - b0: curl example.com
  - u0: curl example.com
  - u0: ls /
    expect: { exit: 127 }
  - r0: docker exec b0 curl example.com
  - r0: docker exec u0 curl example.com
  - r0: docker exec u0 cd /
  - r0: docker exec u0 ls /
    expect: { exit: 127 }
  - r0: docker exec u0 ip foo
    expect: { exit: 127 }
  - r0: docker run -dit --name a0 alpine
  - r0: docker exec a0 getent hosts x
    expect: { exit: 127 }
`;

const EXPECTED = [
  [127, '', 'sh: curl: not found\n'],
  [127, '', 'bash: curl: command not found\n'],
  [127, '', 'cnmlab: not modelled: ls /\n'],
  [126, OCI('curl'), ''],
  [126, OCI('curl'), ''],
  [126, OCI('cd'), ''],
  [127, '', 'cnmlab: not modelled: docker exec u0 ls /\n'],
  [127, '', 'cnmlab: not modelled: docker exec u0 ip foo\n'],
  [0, expect.stringMatching(/^[0-9a-f]{64}\n$/), ''],
  // getent is a program some image lacks: judged once a0's image (Alpine, whose musl getent is not modelled) is known.
  [127, '', 'cnmlab: not modelled: docker exec a0 getent hosts x\n'],
];

describe('absent programs in sim', () => {
  test("each shell's words and docker exec's, apart from cnmlab's own refusal; only the refusals are steps not modelled", async () => {
    const { result } = await runSim(ABSENT);
    const steps = result.steps.slice(2);
    expect(steps.map((s) => [s.exitCode, s.stdout, s.stderr])).toEqual(EXPECTED);
    expect(steps.map((s) => s.unmodelled !== undefined)).toEqual([false, false, true, false, false, false, true, true, false, true]);
  });
});

describeWith(['ip', 'busybox'], true, 'absent programs in emu', () => {
  test('print what sim prints; nothing runs for them', () => {
    const r = runEmu('absent-programs.yaml', ABSENT);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.steps.slice(2).map((s) => [s.exitCode, s.stdout, s.stderr])).toEqual(EXPECTED);
  }, 120000);
});
