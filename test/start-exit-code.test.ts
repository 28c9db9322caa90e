/**
 * A start the daemon refuses leaves the container an exit code that is not 0, as moby v20.10's
 * containerStart leaves it (daemon/start.go: its deferred cleanup records the error as
 * State.Error and sets 128 "if no one else has set it"; translateContainerdStartErr sets 127
 * first for a program not found). A container that never ran stays Created in `docker ps -a`
 * (State.String: StartedAt is zero); one that ran keeps the code its run ended with. A later
 * start that succeeds clears the error (State.SetRunning). docker's commands are the model's
 * in both modes, so sim's run is emu's.
 */
import { printed, runSim } from './helpers/run';

const LAB = `name: start-exit-code
hosts:
  r0: {}
steps:
  - r0: docker network create --subnet 10.5.0.0/24 n1
  - r0: docker run -dit --name web --network n1 --ip 10.5.0.5 busybox
  - r0: docker run -dit --name dup --network n1 --ip 10.5.0.5 busybox
  - r0: docker inspect -f '{{.State.Status}} {{.State.ExitCode}} {{.State.Error}}' dup
  - r0: docker run -d --name absent busybox nosuchprogram
  - r0: docker inspect -f '{{.State.Status}} {{.State.ExitCode}}' absent
  - r0: docker run -dit --name lost --network nosuch busybox
  - r0: docker inspect -f '{{.State.Status}} {{.State.ExitCode}} {{.State.Error}}' lost
  - r0: docker stop web
  - r0: docker start dup
  - r0: docker inspect -f '{{.State.Status}} {{.State.ExitCode}} {{.State.Error}}' dup
  - r0: docker start web
  - r0: docker inspect -f '{{.State.Status}} {{.State.ExitCode}} {{.State.Error}}' web
  - r0: docker ps -a
`;

test('a refused start leaves 128 (127 for a missing program), the error, and the container Created', async () => {
  const { result } = await runSim(LAB);
  const inspected = result.steps.filter((s) => s.command.startsWith('docker inspect'));
  expect(printed(inspected)).toEqual([
    [0, 'created 128 Address already in use\n', ''],
    [0, 'created 127\n', ''],
    [0, 'created 128 network nosuch not found\n', ''],
    // Started once the address was free: running, the error gone.
    [0, 'running 0 \n', ''],
    // Refused after a run that ended by SIGKILL: the code stays that run's.
    [0, 'exited 137 Address already in use\n', ''],
  ]);
  const ps = result.steps[result.steps.length - 1].stdout.split('\n');
  const status = (name: string) => ps.find((l) => l.endsWith(` ${name}`))?.replace(/^.*?ago\s+/, '').replace(/\s+\S+$/, '');
  expect([status('lost'), status('absent'), status('web')]).toEqual(['Created', 'Created', 'Exited (137) 5 seconds ago']);
});
