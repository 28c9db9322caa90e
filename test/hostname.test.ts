/**
 * GNU hostname in a Debian/Ubuntu container (the hostname package, 3.23 on Debian 12):
 * -i resolves the host name, which glibc answers from the /etc/hosts Docker wrote, and
 * prints its addresses joined by a space, none after the last; measured with the real tool
 * in a namespace whose /etc/hosts is bind-mounted (`172.17.0.2\n`). Without a line for the
 * name glibc asks the nameserver, which a container on --network none cannot reach: exit 1,
 * `hostname: Temporary failure in name resolution` (EAI_AGAIN), as the real tool prints it.
 */
import { runEmu, runSim } from './helpers/run';
import { describeWith } from './helpers/env';

const HOSTNAME = `name: hostname-i
hosts:
  r0: {}
steps:
  - r0: docker run -d --name u0 ubuntu
  - r0: docker exec u0 hostname -i
  - r0: docker run -d --name u1 -h box ubuntu
  - r0: docker exec u1 hostname -i
  - r0: docker run -d --name u2 --network none ubuntu
  - r0: docker exec u2 hostname -i
`;

const printed = (steps: { exitCode: number; stdout: string; stderr: string }[]) => steps.slice(1).filter((_s, i) => i % 2 === 0).map((s) => [s.exitCode, s.stdout, s.stderr]);

const EXPECTED = [
  [0, '172.17.0.2\n', ''],
  [0, '172.17.0.3\n', ''],
  // No network: /etc/hosts has no line for the name, and the nameserver cannot be reached.
  [1, '', 'hostname: Temporary failure in name resolution\n'],
];

describe('GNU hostname -i', () => {
  test("prints the name's addresses from /etc/hosts with no space after the last", async () => {
    const { result } = await runSim(HOSTNAME);
    expect(printed(result.steps)).toEqual(EXPECTED);
  });
});

describeWith(['ip'], true, 'GNU hostname -i on the real kernel', () => {
  test('prints what sim prints', () => {
    const r = runEmu('hostname-i.yaml', HOSTNAME);
    expect(r.stderr).toBe('');
    expect(printed(r.steps)).toEqual(EXPECTED);
  }, 120000);
});
