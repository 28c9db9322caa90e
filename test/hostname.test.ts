/**
 * GNU hostname in a Debian/Ubuntu container (the hostname package, 3.23 on Debian 12):
 * -i resolves the host name, which glibc answers from the /etc/hosts Docker wrote, and
 * prints its addresses joined by a space, none after the last; measured with the real tool
 * in a namespace whose /etc/hosts is bind-mounted (`172.17.0.2\n`). Without a line for the
 * name glibc asks the nameserver, which a container on --network none cannot reach: exit 1,
 * `hostname: Temporary failure in name resolution` (EAI_AGAIN), as the real tool prints it.
 */
import { expectEmuPrints, printed, runSim, StepPrint } from './helpers/run';
import { describeWith } from './helpers/env';

const HOSTNAME = `name: hostname-i
hosts:
  r0: {}
steps:
  - r0: docker run -dit --name u0 ubuntu
  - r0: docker exec u0 hostname -i
  - r0: docker run -dit --name u1 -h box ubuntu
  - r0: docker exec u1 hostname -i
  - r0: docker run -dit --name u2 --network none ubuntu
  - r0: docker exec u2 hostname -i
`;

/** What each `hostname -i` printed (every other step, after the first run). */
const asked = (steps: StepPrint[]) => printed(steps.slice(1).filter((_s, i) => i % 2 === 0));

const EXPECTED = [
  [0, '172.17.0.2\n', ''],
  [0, '172.17.0.3\n', ''],
  // No network: /etc/hosts has no line for the name, and the nameserver cannot be reached.
  [1, '', 'hostname: Temporary failure in name resolution\n'],
];

describe('GNU hostname -i', () => {
  test("prints the name's addresses from /etc/hosts with no space after the last", async () => {
    const { result } = await runSim(HOSTNAME);
    expect(asked(result.steps)).toEqual(EXPECTED);
  });
});

describeWith(['ip'], true, 'GNU hostname -i on the real kernel', () => {
  test('prints what sim prints', () => {
    expectEmuPrints('hostname-i.yaml', HOSTNAME, EXPECTED, { view: asked });
  }, 120000);
});
