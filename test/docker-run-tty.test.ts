/**
 * `docker run` with a terminal: -i with -t needs the client's own (docker/cli v20.10's
 * CheckTty: a scenario file's step has none, the lab is one), and without -d a command that
 * is no shell is the container's main process: it runs to its end, its output comes through
 * the container's terminal (CR LF, stderr on stdout), and the container exits.
 */
import { expectEmuPrints, printed, runSim } from './helpers/run';
import { describeWith } from './helpers/env';

const TTY_RUNS = `name: run-tty
hosts:
  r0: {}
steps:
  - r0: docker run -it alpine echo hi
  - r0: docker run -ti --name a0 busybox
  - r0: docker run -t --name t1 alpine echo hi there
  - r0: docker run -t --rm busybox ping -c 1 nosuch
  - r0: docker run -t --name u1 ubuntu echo from ubuntu
  - r0: docker run -dit --name d1 alpine
  - r0: docker ps -a
`;

/** docker ps's rows as NAME STATUS, without the status's age. */
const nameAndStatus = (table: string) => table.split('\n').slice(1, -1).map((row) => {
  const cells = row.split(/ {2,}/);
  return `${cells[cells.length - 1]} ${cells[4].replace(/(Up|Exited \(\d+\)) .*/, '$1')}\n`;
}).join('');

/** What each step printed: exit code, stdout, stderr; ps's table as its names and states. */
const printedPsStates = (steps: { command: string; exitCode: number; stdout: string; stderr: string }[]) =>
  printed(steps, (s) => (s.command === 'docker ps -a' || s.command === 'docker ps' ? nameAndStatus(s.stdout) : s.stdout));

const EXPECTED = [
  // The container's terminal needs the client's: nothing is created.
  [1, '', 'the input device is not a TTY\n'],
  [1, '', 'the input device is not a TTY\n'],
  [0, 'hi there\r\n', ''],
  // BusyBox's error on stderr reaches the client's stdout through the terminal; --rm removes the container.
  [1, "ping: bad address 'nosuch'\r\n", ''],
  [0, 'from ubuntu\r\n', ''],
  [0, expect.stringMatching(/^[0-9a-f]{64}\n$/), ''],
  [0, 'd1 Up\nu1 Exited (0)\nt1 Exited (0)\n', ''],
];

describe('docker run -t in a scenario file (no terminal)', () => {
  test('-i with -t is refused before anything is made; -t alone runs the command to its end and the container exits', async () => {
    const { result } = await runSim(TTY_RUNS);
    expect(printedPsStates(result.steps)).toEqual(EXPECTED);
  });

  test('-t with a program the image lacks is runc\'s refusal at start (exit 127, the container left Created); one not modelled is refused and makes nothing', async () => {
    const { result } = await runSim(`name: run-tty-refused
hosts:
  r0: {}
steps:
  - r0: docker run -t busybox dig x
  - r0: docker run -t alpine wget x
  - r0: docker ps -aq
`);
    expect(printedPsStates(result.steps)).toEqual([
      [127, '', 'docker: Error response from daemon: failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: exec: "dig": executable file not found in $PATH: unknown.\n'],
      [127, '', 'cnmlab: not modelled: docker run -t alpine wget x\n'],
      [0, expect.stringMatching(/^[0-9a-f]{12}\n$/), ''],
    ]);
  });
});

// Without -t or -d, docker/cli attaches to the container's stdout and stderr (v20.10
// runContainer): the command runs to its end, its streams stay apart with LF line endings,
// its exit status is the client's, and the container exits with it (Exited (N)).
const ATTACHED_RUNS = `name: run-attached
hosts:
  r0: {}
steps:
  - r0: docker run alpine echo hi
  - r0: docker run --name p1 busybox ping -c 1 nosuch
  - r0: docker inspect -f '{{.State.ExitCode}} {{.State.Status}}' p1
  - r0: docker run --rm --name r1 alpine echo gone
  - r0: docker ps -a
`;

const ATTACHED_EXPECTED = [
  [0, 'hi\n', ''],
  [1, '', "ping: bad address 'nosuch'\n"],
  [0, '1 exited\n', ''],
  [0, 'gone\n', ''],
  [0, expect.stringMatching(/^p1 Exited \(1\)\n[a-z]+_[a-z]+ Exited \(0\)\n$/), ''],
];

describe('docker run without -t or -d (attached, no terminal)', () => {
  test('runs the command to its end: stdout and stderr apart, LF, its exit status; the container exits with it', async () => {
    const { result } = await runSim(ATTACHED_RUNS);
    expect(printedPsStates(result.steps)).toEqual(ATTACHED_EXPECTED);
  });
});

// A shell attached without -i or -t (named, or the image's own command: busybox's and
// alpine's sh, ubuntu's bash) reads end of file at once: it exits 0, having printed nothing.
// With -i it reads the client's stdin, which a scenario's step has closed: the same end.
const SHELL_RUNS = `name: run-shell-no-input
hosts:
  r0: {}
steps:
  - r0: docker run --name a1 alpine
  - r0: docker run --rm busybox
  - r0: docker run --name u1 ubuntu bash
  - r0: docker run -i --name i1 busybox
  - r0: docker inspect -f '{{.State.Status}} {{.State.ExitCode}}' a1
  - r0: docker inspect -f '{{.State.Status}} {{.State.ExitCode}} {{.Config.OpenStdin}}' i1
  - r0: docker inspect -f '{{.Config.AttachStdin}} {{.Config.AttachStdout}} {{.Config.AttachStderr}} {{.Config.StdinOnce}}' a1 i1
  - r0: docker ps -a
`;

const SHELL_EXPECTED = [
  [0, '', ''],
  [0, '', ''],
  [0, '', ''],
  [0, '', ''],
  [0, 'exited 0\n', ''],
  [0, 'exited 0 true\n', ''],
  // docker/cli attaches an attached run's stdout and stderr, and with -i its stdin, closed when the client goes (StdinOnce).
  [0, 'false true true false\ntrue true true true\n', ''],
  [0, 'i1 Exited (0)\nu1 Exited (0)\na1 Exited (0)\n', ''],
];

describe('docker run of a shell without -i or -t', () => {
  test('the shell reads end of file and exits 0: the container is Exited (0), removed with --rm', async () => {
    const { result } = await runSim(SHELL_RUNS);
    expect(printedPsStates(result.steps)).toEqual(SHELL_EXPECTED);
  });
});

// Detached, the same: without -i (stdin kept open) or -t (a terminal) a shell's stdin is
// /dev/null, so `docker run -d busybox` exits 0 as it starts, its endpoint released, and exec
// into it is refused (moby v20.10 daemon/exec.go). -di, -dt, -dit and a long-running command
// stay Up, as Docker's tutorials keep theirs (`docker run -dit --name alpine1 alpine ash`).
const DETACHED_RUNS = `name: run-detached
hosts:
  r0: {}
steps:
  - r0: docker swarm init
  - r0: docker network create -d overlay --attachable test-net
  - r0: docker run -d --name b0 --network test-net busybox
  - r0: docker run -d --name a0 --network test-net alpine
  - r0: docker run -d --name u0 ubuntu
  - r0: docker run -d --rm --name gone busybox sh
  - r0: docker run -di --name b1 --network test-net busybox
  - r0: docker run -dt --name b2 --network test-net busybox
  - r0: docker run -dit --name a1 --network test-net alpine ash
  - r0: docker run -d --name s0 --network test-net busybox sleep 3600
  - r0: docker ps
  - r0: docker ps -a
  - r0: docker network inspect -f '{{range .Containers}}{{.Name}} {{end}}' test-net
  - r0: docker inspect -f '{{.State.Status}} {{.State.ExitCode}} {{.Config.OpenStdin}} {{.Config.Tty}} {{.Config.AttachStdin}} {{.Config.AttachStdout}} {{.Config.StdinOnce}} {{.NetworkSettings.SandboxKey}}' b0 b1 b2
  - r0: docker exec b0 hostname
  - r0: docker start b0
  - r0: docker inspect -f '{{.State.Status}} {{.State.ExitCode}}' b0
`;

const ID = expect.stringMatching(/^[0-9a-f]{64}\n$/);

const DETACHED_EXPECTED = [
  [0, expect.any(String), ''],
  [0, expect.stringMatching(/^[0-9a-z]{25}\n$/), ''],
  [0, ID, ''],
  [0, ID, ''],
  [0, ID, ''],
  [0, ID, ''],
  [0, ID, ''],
  [0, ID, ''],
  [0, ID, ''],
  [0, ID, ''],
  [0, 's0 Up\na1 Up\nb2 Up\nb1 Up\n', ''],
  [0, 's0 Up\na1 Up\nb2 Up\nb1 Up\nu0 Exited (0)\na0 Exited (0)\nb0 Exited (0)\n', ''],
  [0, expect.stringMatching(/^(?=.*\bb1 )(?=.*\bb2 )(?=.*\ba1 )(?=.*\bs0 )(?!.*\bb0 )(?!.*\ba0 ).*\n$/), ''],
  // Its sandbox was made as it started and released as it exited: inspect keeps the key (moby's releaseNetwork).
  [0, expect.stringMatching(/^exited 0 false false false false false \/var\/run\/docker\/netns\/[0-9a-f]{12}\nrunning 0 true false false false false \/var\/run\/docker\/netns\/[0-9a-f]{12}\nrunning 0 false true false false false \/var\/run\/docker\/netns\/[0-9a-f]{12}\n$/), ''],
  [1, '', expect.stringMatching(/^Error response from daemon: Container [0-9a-f]{64} is not running\n$/)],
  [0, 'b0\n', ''],
  [0, 'exited 0\n', ''],
];

describe('docker run -d of a shell without -i or -t', () => {
  test('exits 0 as it starts: not in docker ps, Exited (0) in ps -a, no endpoint, exec refused; -di, -dt, -dit and sleep stay Up', async () => {
    const { result } = await runSim(DETACHED_RUNS);
    expect(printedPsStates(result.steps)).toEqual(DETACHED_EXPECTED);
  });

  test('docker ps -a, right after: it exited as long ago as it was created, its command the image\'s own (busybox\'s sh, alpine\'s /bin/sh, debian\'s bash)', async () => {
    const { result } = await runSim('name: run-detached-ps\nhosts:\n  r0: {}\nsteps:\n  - r0: docker run -d --name b0 busybox\n  - r0: docker run -d --name a0 alpine\n  - r0: docker run -d --name d0 debian\n  - r0: docker ps -a\n');
    const rows = result.steps[3].stdout.split('\n').slice(1, -1).map((row) => row.split(/ {2,}/).slice(1));
    expect(rows).toEqual([
      ['debian', '"bash"', '1 second ago', 'Exited (0) 1 second ago', 'd0'],
      ['alpine', '"/bin/sh"', '2 seconds ago', 'Exited (0) 2 seconds ago', 'a0'],
      ['busybox', '"sh"', '3 seconds ago', 'Exited (0) 3 seconds ago', 'b0'],
    ]);
  });
});

describe('a shell named by its path or as dash', () => {
  test('docker run -d debian dash, /bin/dash and /usr/bin/bash exit 0 as they start; docker stop of a dash left running (-dit) waits for its SIGKILL', async () => {
    const { result } = await runSim('name: run-detached-dash\nhosts:\n  r0: {}\nsteps:\n  - r0: docker run -d --name d0 debian dash\n  - r0: docker run -d --name d1 debian /bin/dash\n  - r0: docker run -d --name d2 debian /usr/bin/bash\n  - r0: docker run -dit --name d3 debian dash\n  - r0: docker inspect -f \'{{.State.Status}} {{.State.ExitCode}}\' d0 d1 d2 d3\n  - r0: docker stop d3\n  - r0: docker inspect -f \'{{.State.Status}} {{.State.ExitCode}}\' d3\n');
    expect(result.steps[4].stdout).toBe('exited 0\nexited 0\nexited 0\nrunning 0\n');
    expect(result.steps[5]).toMatchObject({ exitCode: 0, stdout: 'd3\n' });
    expect(result.steps[6].stdout).toBe('exited 137\n');
  });
});

describe('an exited container\'s times', () => {
  // busybox's ping -c 3 with no reply: three probes a second apart, then its 10 s wait for the last.
  test('docker ps counts "Exited … ago" from when the main process ended (State.FinishedAt), not from its start', async () => {
    const { result } = await runSim(`name: run-finished
hosts:
  r0: {}
steps:
  - r0: docker run --name p3 busybox ping -c 3 10.99.99.99
  - r0: docker ps -a
  - r0: docker inspect -f '{{.State.StartedAt}} {{.State.FinishedAt}}' p3
`);
    const [run, ps, inspect] = result.steps;
    expect(run.exitCode).toBe(1);
    const row = ps.stdout.split('\n')[1].split(/ {2,}/);
    expect([row[3], row[4]]).toEqual(['13 seconds ago', 'Exited (1) 1 second ago']);
    const [started, finished] = inspect.stdout.trim().split(' ');
    expect(started).toMatch(/^2026-01-01T00:00:01\.\d{1,9}Z$/);
    expect(finished).toMatch(/^2026-01-01T00:00:13\.\d{1,9}Z$/);
  });
});

describeWith(['ip', 'busybox'], true, 'docker run -t on the real kernel', () => {
  test("prints what sim prints (busybox's and the host's programs in the container's namespace)", async () => {
    expectEmuPrints('run-tty.yaml', TTY_RUNS, EXPECTED, { view: printedPsStates });
  }, 120000);

  test('a shell without -i or -t exits at once, as in sim', async () => {
    expectEmuPrints('run-shell-no-input.yaml', SHELL_RUNS, SHELL_EXPECTED, { view: printedPsStates });
  }, 120000);

  test('detached without -i or -t, a shell exits at once, as in sim', async () => {
    expectEmuPrints('run-detached.yaml', DETACHED_RUNS, DETACHED_EXPECTED, { view: printedPsStates });
  }, 180000);

  test('attached without -t, prints what sim prints', async () => {
    expectEmuPrints('run-attached.yaml', ATTACHED_RUNS, ATTACHED_EXPECTED, { view: printedPsStates });
  }, 120000);
});
