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
  printed(steps, (s) => (s.command === 'docker ps -a' ? nameAndStatus(s.stdout) : s.stdout));

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

  test('-t with a program the image lacks, or one not modelled, is refused and makes nothing', async () => {
    const { result } = await runSim(`name: run-tty-refused
hosts:
  r0: {}
steps:
  - r0: docker run -t busybox dig x
  - r0: docker run -t alpine wget x
  - r0: docker ps -aq
`);
    expect(printedPsStates(result.steps)).toEqual([
      [127, '', 'cnmlab: not modelled: docker run -t busybox dig x: a program the image lacks (runc refuses to start it)\n'],
      [127, '', 'cnmlab: not modelled: docker run -t alpine wget x\n'],
      [0, '', ''],
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
const SHELL_RUNS = `name: run-shell-no-input
hosts:
  r0: {}
steps:
  - r0: docker run --name a1 alpine
  - r0: docker run --rm busybox
  - r0: docker run --name u1 ubuntu bash
  - r0: docker inspect -f '{{.State.Status}} {{.State.ExitCode}}' a1
  - r0: docker ps -a
`;

const SHELL_EXPECTED = [
  [0, '', ''],
  [0, '', ''],
  [0, '', ''],
  [0, 'exited 0\n', ''],
  [0, 'u1 Exited (0)\na1 Exited (0)\n', ''],
];

describe('docker run of a shell without -i or -t', () => {
  test('the shell reads end of file and exits 0: the container is Exited (0), removed with --rm', async () => {
    const { result } = await runSim(SHELL_RUNS);
    expect(printedPsStates(result.steps)).toEqual(SHELL_EXPECTED);
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

  test('attached without -t, prints what sim prints', async () => {
    expectEmuPrints('run-attached.yaml', ATTACHED_RUNS, ATTACHED_EXPECTED, { view: printedPsStates });
  }, 120000);
});
