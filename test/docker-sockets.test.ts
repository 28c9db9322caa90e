/**
 * The sockets a Docker 20.10 node holds, as `ss` lists them (issue 13): the kernel's vxlan
 * socket, dockerd's memberlist (7946) and swarm API (2377, managers), the embedded DNS
 * resolver's in a sandbox; iproute2 6.1's columns.
 */
import { runSim, twoNodes } from './helpers/run';
import { hostOf } from '../sim/model/world';

async function steps(extra: string) {
  const { result, model } = await runSim(twoNodes(extra));
  const n = extra.split('\n').filter((l) => l.startsWith('  - ')).length;
  return { out: result.steps.slice(-n).map((s) => ({ stdout: s.stdout, stderr: s.stderr, exit: s.exitCode })), model };
}

describe('ss on a swarm node', () => {
  test("a manager: the kernel's UDP 4789 and dockerd's 7946 (TCP, UDP) and 2377, as a 20.10 node lists them (ss -lntu, without -p's Process)", async () => {
    const { out } = await steps('  - r0: ss -lntu\n');
    expect(out[0]).toEqual({
      stdout: [
        'Netid State  Recv-Q Send-Q Local Address:Port Peer Address:PortProcess',
        'udp   UNCONN 0      0            0.0.0.0:4789      0.0.0.0:*          ',
        'udp   UNCONN 0      0                  *:7946            *:*          ',
        'tcp   LISTEN 0      4096               *:7946            *:*          ',
        'tcp   LISTEN 0      4096               *:2377            *:*          ',
        '',
      ].join('\n'), stderr: '', exit: 0,
    });
  });

  test('a worker has no 2377; one protocol drops the Netid column; -H the header; no -l or -a lists connections, of which sim keeps none', async () => {
    const { out } = await steps(`  - r1: ss -ltn
  - r1: ss -lnu
  - r1: ss -lntuH
  - r1: ss -ntu
`);
    expect(out[0].stdout).toBe('State  Recv-Q Send-Q Local Address:Port Peer Address:PortProcess\nLISTEN 0      4096               *:7946            *:*          \n');
    expect(out[1].stdout).toBe('State  Recv-Q Send-Q Local Address:Port Peer Address:PortProcess\nUNCONN 0      0            0.0.0.0:4789      0.0.0.0:*          \nUNCONN 0      0                  *:7946            *:*          \n');
    expect(out[2].stdout).toBe('udp UNCONN 0      0      0.0.0.0:4789 0.0.0.0:*\nudp UNCONN 0      0            *:7946       *:*\ntcp LISTEN 0      4096         *:7946       *:*\n');
    expect(out[3].stdout).toBe('Netid State Recv-Q Send-Q Local Address:Port Peer Address:PortProcess\n');
  });

  test("swarm leave closes dockerd's sockets; the vxlan socket goes with the last overlay namespace", async () => {
    const { out } = await steps(`  - r1: docker swarm leave
  - r1: ss -lntu
`);
    expect(out[1].stdout).toBe('Netid State Recv-Q Send-Q Local Address:Port Peer Address:PortProcess\n');
  });

  test("a container's sandbox: the embedded DNS resolver's UDP and TCP sockets on 127.0.0.11, at the ports Docker's DNAT names", async () => {
    const { out, model } = await steps(`  - r0: docker run -dit --name ubuntu0 --network test-net ubuntu:14.04
  - ubuntu0: ss -lntu
`);
    const { udp, tcp } = Object.values(hostOf(model.world, 'r0').containers)[0].resolverPorts!;
    expect(out[1].stdout).toBe([
      'Netid State  Recv-Q Send-Q Local Address:Port  Peer Address:PortProcess',
      `udp   UNCONN 0      0         127.0.0.11:${udp}      0.0.0.0:*          `,
      `tcp   LISTEN 0      4096      127.0.0.11:${tcp}      0.0.0.0:*          `,
      '',
    ].join('\n'));
  });

  test('the registry refuses what sim\'s ss does not model (no protocol), as it refuses options it does not declare', async () => {
    const { out } = await steps(`  - r0: ss -ln
  - r0: ss -lntup
`);
    expect(out[0]).toEqual({ stdout: '', stderr: 'cnmlab: not modelled: ss -ln\n', exit: 127 });
    expect(out[1]).toEqual({ stdout: '', stderr: 'cnmlab: not modelled: ss -lntup\n', exit: 127 });
  });
});
