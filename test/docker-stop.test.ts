/**
 * `docker stop` and `docker kill` as Docker 20.10 does them (moby daemon/stop.go, kill.go;
 * docker/cli stop.go, kill.go): a PID 1 that ignores SIGTERM (sh, sleep) is killed after the
 * stop timeout, 10 s unless -t, and exits 137; nginx ends on SIGTERM with 0. The daemon's wait
 * is the step's (said to be modelled) and the model's clock moves by it, in sim and in emu.
 */
import { Model } from '../sim/model/model';
import { shellWords } from '../sim/text/words';
import { CommandOutput } from '../sim/backend';
import { dockerStep } from '../sim/docker/session';
import { describeWith } from './helpers/env';
import { runEmu, runSim } from './helpers/run';
import { hostOf, World } from '../sim/model/world';
import { notModelled } from '../sim/commands/registry';
import { containerNamed } from './helpers/world';

const STOPS = `name: docker-stop
hosts:
  r0: {}
steps:
  - r0: docker run -dit --name shell busybox
  - r0: docker run -d --name web nginx
  - r0: docker run -d --name nap busybox sleep 1000
  - r0: docker run -dit --name quick busybox
  - r0: docker stop shell nope web
  - r0: docker stop shell
  - r0: docker stop -t 3 nap
  - r0: docker stop --time=0 quick
  - r0: docker ps -a
  - r0: docker inspect -f '{{.Name}} {{.State.ExitCode}} {{.State.FinishedAt}} {{.Id}}' shell web nap quick
  - r0: docker start shell
  - r0: docker kill shell
  - r0: docker kill shell nope
  - r0: docker kill -s FOO shell
`;

interface Printed {
  exitCode: number;
  stdout: string;
  stderr: string;
  durationMs: number;
}

/** What both modes must print, step by step from the first stop; durations are the daemon's waits and what the step took beside them, under `slackMs`. */
function checkStops(steps: Printed[], slackMs: number): void {
  const [stop, again, nap, quick, ps, inspect, start, kill, killAgain, badSignal] = steps.slice(4);
  // The CLI stops its containers in parallel: one timeout for shell, none for nginx; the missing one named after.
  expect(stop).toMatchObject({ exitCode: 1, stdout: 'shell\nweb\n', stderr: 'Error response from daemon: No such container: nope\n' });
  expect(stop.durationMs).toBeGreaterThanOrEqual(10000);
  expect(stop.durationMs).toBeLessThan(10000 + slackMs);
  // Not running: the daemon's 304, no error and no wait.
  expect(again).toMatchObject({ exitCode: 0, stdout: 'shell\n', stderr: '' });
  expect(again.durationMs).toBeLessThan(slackMs);
  expect(nap).toMatchObject({ exitCode: 0, stdout: 'nap\n' });
  expect(nap.durationMs).toBeGreaterThanOrEqual(3000);
  expect(nap.durationMs).toBeLessThan(3000 + slackMs);
  expect(quick).toMatchObject({ exitCode: 0, stdout: 'quick\n' });
  expect(quick.durationMs).toBeLessThan(slackMs);
  const status = Object.fromEntries(ps.stdout.trim().split('\n').slice(1).map((l) => [l.split(/\s+/).pop(), /(Exited \(\d+\))/.exec(l)?.[1]]));
  expect(status).toEqual({ shell: 'Exited (137)', web: 'Exited (0)', nap: 'Exited (137)', quick: 'Exited (137)' });
  const rows = inspect.stdout.trim().split('\n').map((l) => l.split(' '));
  expect(rows.map(([name, code]) => `${name} ${code}`)).toEqual(['/shell 137', '/web 0', '/nap 137', '/quick 137']);
  // The SIGKILL came the timeout after nginx's own exit, on the daemon's clock.
  const at = (t: string) => Date.parse(t.replace(/\.\d+Z$/, 'Z')) / 1000 + Number(`0.${/\.(\d+)Z$/.exec(t)?.[1] ?? '0'}`);
  expect(at(rows[0][2]) - at(rows[1][2])).toBeCloseTo(10, 3);
  expect(start).toMatchObject({ exitCode: 0, stdout: 'shell\n' });
  expect(kill).toMatchObject({ exitCode: 0, stdout: 'shell\n', stderr: '' });
  expect(killAgain).toMatchObject({
    exitCode: 1, stdout: '',
    stderr: `Error response from daemon: Cannot kill container: shell: Container ${rows[0][3]} is not running\nError response from daemon: Cannot kill container: nope: No such container: nope\n`,
  });
  expect(badSignal).toMatchObject({ exitCode: 1, stdout: '', stderr: 'Error response from daemon: Invalid signal: FOO\n' });
}

describe('docker stop and docker kill in sim', () => {
  test("sh and sleep are killed after the timeout (137), nginx exits 0 at once; the step lasts the daemon's wait and says it was modelled", async () => {
    const { result } = await runSim(STOPS, 'docker-stop.yaml');
    // sim's steps take no time of their own beside the daemon's waits.
    checkStops(result.steps, 1);
    expect(result.steps[4].daemonWaited).toEqual({ ms: 10000, note: "dockerd waited 10 s for the stop timeout: PID 1 of shell (sh) ignores SIGTERM; then SIGKILL; modelled: the step's duration counts it, cnmlab did not wait it" });
    expect(result.steps[6].daemonWaited?.ms).toBe(3000);
    expect(result.steps[7].daemonWaited).toBeUndefined();
  });
});

function docker(m: Model, host: string, line: string): CommandOutput {
  const o = dockerStep(m, host, shellWords(line).slice(1)).outcome;
  if ('exec' in o) throw new Error('unexpected exec');
  return o;
}

function oneHost(): Model {
  const m = new Model([{ name: 'r0', underlay: '198.51.100.10' }], 3);
  m.boot();
  return m;
}

describe("what the model does not know is said, and the CLI's own refusals", () => {
  test("a PID 1 whose SIGTERM handling the model does not know: the whole line refused as not modelled, nothing stopped", () => {
    const m = oneHost();
    docker(m, 'r0', 'docker run -dit --name shell busybox');
    docker(m, 'r0', 'docker run -d --name pinger busybox ping 127.0.0.1');
    expect(docker(m, 'r0', 'docker stop shell pinger')).toEqual(notModelled('docker stop pinger: how its PID 1 (ping) takes SIGTERM'));
    expect(docker(m, 'r0', 'docker ps -q').stdout.trim().split('\n')).toHaveLength(2);
    // A script that may trap SIGTERM, -t -1 (dockerd would wait for ever), and signals other than KILL and TERM are not modelled either.
    docker(m, 'r0', "docker run -d --name trapper busybox sh -c 'trap \"exit 0\" TERM; sleep 1000'");
    expect(docker(m, 'r0', 'docker stop trapper').stderr).toBe('cnmlab: not modelled: docker stop trapper: how its PID 1 (sh) takes SIGTERM\n');
    expect(docker(m, 'r0', 'docker stop -t -1 shell').stderr).toBe('cnmlab: not modelled: docker stop -t -1 shell: its PID 1 (sh) ignores its stop signal (SIGTERM), so dockerd would wait for ever\n');
    expect(docker(m, 'r0', 'docker kill -s HUP shell')).toMatchObject({ exitCode: 127, stderr: "cnmlab: not modelled: docker kill -s HUP: what the container's PID 1 does with that signal\n" });
  });

  test("an image the model does not know: its own command, its COMMAND column, its Cmd and its stop are refused, before anything changes", () => {
    const m = oneHost();
    // Attached, its own command would decide what the run does (redis-server runs on; busybox's sh would exit 0 at once).
    expect(docker(m, 'r0', 'docker run --name fg redis')).toEqual(notModelled('docker run redis: what its own command does (an image cnmlab does not know)'));
    expect(docker(m, 'r0', 'docker ps -aq').stdout).toBe('');
    expect(docker(m, 'r0', 'docker run -d --name rr redis').exitCode).toBe(0);
    expect(docker(m, 'r0', 'docker ps')).toEqual(notModelled('what rr starts (its entrypoint and command): its image (redis) is none cnmlab knows'));
    // Its entrypoint is unknown too: a command of its own does not tell what PID 1 runs.
    expect(docker(m, 'r0', 'docker run -d --name rs redis sleep 1000').exitCode).toBe(0);
    for (const name of ['rr', 'rs']) {
      expect(docker(m, 'r0', `docker stop ${name}`)).toEqual(notModelled(`docker stop ${name}: its image (redis): what its PID 1 runs`));
      expect(docker(m, 'r0', `docker kill -s TERM ${name}`)).toEqual(notModelled(`docker kill -s TERM ${name}: its image (redis): what its PID 1 runs`));
    }
    expect(docker(m, 'r0', 'docker ps -q').stdout.trim().split('\n')).toHaveLength(2);
    expect(docker(m, 'r0', "docker inspect -f '{{.Path}}' rr")).toMatchObject({ stderr: 'cnmlab: not modelled: what rr starts (its entrypoint and command): its image (redis) is none cnmlab knows\n', exitCode: 127 });
    expect(docker(m, 'r0', 'docker inspect rr').exitCode).toBe(127);
    expect(docker(m, 'r0', "docker inspect -f '{{.Name}} {{.State.Status}}' rr")).toEqual({ stdout: '/rr running\n', stderr: '', exitCode: 0 });
    // SIGKILL needs no knowledge of the process.
    expect(docker(m, 'r0', 'docker kill rr')).toEqual({ stdout: 'rr\n', stderr: '', exitCode: 0 });
    expect(docker(m, 'r0', "docker inspect -f '{{.State.ExitCode}}' rr").stdout).toBe('137\n');
  });

  test("the stop sends the image's stop signal: nginx's image declares SIGQUIT, which nginx ends on and sleep ignores", () => {
    const m = oneHost();
    docker(m, 'r0', 'docker run -d --name web nginx');
    docker(m, 'r0', 'docker run -d --name napper nginx sleep 1000');
    docker(m, 'r0', 'docker run -dit --name shell busybox');
    expect(docker(m, 'r0', 'docker stop -t 0 web').stderr).toBe('cnmlab: not modelled: docker stop -t 0 web: its PID 1 (nginx) exits on its stop signal (SIGQUIT) as the SIGKILL is sent\n');
    expect(docker(m, 'r0', 'docker stop -t -1 napper').stderr).toBe('cnmlab: not modelled: docker stop -t -1 napper: its PID 1 (sleep) ignores its stop signal (SIGQUIT), so dockerd would wait for ever\n');
    const stop = dockerStep(m, 'r0', ['stop', 'web', 'napper', 'shell']);
    expect(stop.waits).toEqual([expect.objectContaining({ ns: 10e9, why: 'the stop timeout: PID 1 of napper (sleep) ignores SIGQUIT, PID 1 of shell (sh) ignores SIGTERM; then SIGKILL' })]);
    expect(docker(m, 'r0', "docker inspect -f '{{.Name}} {{.State.ExitCode}}' web napper shell").stdout).toBe('/web 0\n/napper 137\n/shell 137\n');
  });

  test("kill -s takes what the daemon's ParseSignal takes: SignalMap's names, any number but 0; a number Linux lacks is refused per container, after its lookup", () => {
    const m = oneHost();
    docker(m, 'r0', 'docker run -dit --name shell busybox');
    docker(m, 'r0', 'docker run -d --name web nginx');
    const id = docker(m, 'r0', "docker inspect -f '{{.Id}}' shell").stdout.trim();
    for (const name of ['IOT', 'sigcld', 'POLL', 'RTMIN', 'RTMIN+3', 'RTMAX-14', 'SIGRTMAX', '1', '31', '34', '64']) {
      expect(docker(m, 'r0', `docker kill -s ${name} shell`)).toEqual(notModelled(`docker kill -s ${name}: what the container's PID 1 does with that signal`));
    }
    for (const name of ['RTMIN+16', 'RTMAX-15', 'FOO', '0', '+0', '9223372036854775808']) {
      expect(docker(m, 'r0', `docker kill -s ${name} shell nope`)).toEqual({ stdout: '', stderr: `Error response from daemon: Invalid signal: ${name}\nError response from daemon: Invalid signal: ${name}\n`, exitCode: 1 });
    }
    for (const [raw, number] of [['65', '65'], ['32', '32'], ['33', '33'], ['-5', '18446744073709551611']]) {
      expect(docker(m, 'r0', `docker kill -s ${raw} shell nope`)).toEqual({
        stdout: '',
        stderr: `Error response from daemon: Cannot kill container: shell: The linux daemon does not support signal ${number}\nError response from daemon: Cannot kill container: nope: No such container: nope\n`,
        exitCode: 1,
      });
    }
    // sh has no handler for SIGQUIT (3) or SIGTERM (15): it runs on; nginx ends on SIGQUIT with 0.
    expect(docker(m, 'r0', 'docker kill -s sigquit shell')).toEqual({ stdout: 'shell\n', stderr: '', exitCode: 0 });
    expect(docker(m, 'r0', 'docker kill -s +15 shell')).toEqual({ stdout: 'shell\n', stderr: '', exitCode: 0 });
    expect(docker(m, 'r0', 'docker kill --signal=3 web')).toEqual({ stdout: 'web\n', stderr: '', exitCode: 0 });
    expect(docker(m, 'r0', "docker inspect -f '{{.Name}} {{.State.Status}} {{.State.ExitCode}}' shell web").stdout).toBe('/shell running 0\n/web exited 0\n');
    // A stopped container: the signal is checked before the container's state.
    expect(docker(m, 'r0', 'docker kill -s 65 web').stderr).toBe('Error response from daemon: Cannot kill container: web: The linux daemon does not support signal 65\n');
    // An empty signal is no signal parameter: the daemon kills.
    expect(docker(m, 'r0', "docker kill -s '' shell")).toEqual({ stdout: 'shell\n', stderr: '', exitCode: 0 });
    expect(docker(m, 'r0', "docker inspect -f '{{.State.ExitCode}}' shell").stdout).toBe('137\n');
    expect(docker(m, 'r0', 'docker kill -s 9 shell').stderr).toBe(`Error response from daemon: Cannot kill container: shell: Container ${id} is not running\n`);
  });

  test('-t takes an int as pflag parses it (0x, leading 0 octal), else the CLI refuses it; kill -s TERM leaves an sh running', () => {
    const m = oneHost();
    docker(m, 'r0', 'docker run -dit --name shell busybox');
    expect(docker(m, 'r0', 'docker stop -t x shell')).toEqual({ stdout: '', stderr: `invalid argument "x" for "-t, --time" flag: strconv.ParseInt: parsing "x": invalid syntax\nSee 'docker stop --help'.\n`, exitCode: 125 });
    expect(docker(m, 'r0', 'docker kill -s TERM shell')).toEqual({ stdout: 'shell\n', stderr: '', exitCode: 0 });
    expect(docker(m, 'r0', 'docker ps').stdout).toMatch(/ Up .* shell\n$/);
    const before = m.world.clockNs;
    const stop = dockerStep(m, 'r0', ['stop', '-t', '0x10', 'shell']);
    expect(stop.waits).toEqual([expect.objectContaining({ ns: 16e9 })]);
    expect(m.world.clockNs - before).toBeGreaterThanOrEqual(16e9);
    expect(docker(m, 'r0', 'docker container ls -a').stdout).toMatch(/ Exited \(137\) .* shell\n$/);
  });
});

describe('docker restart', () => {
  const inspect = (m: Model, ref: string) => docker(m, 'r0', `docker inspect -f '{{.State.Status}} {{.NetworkSettings.SandboxKey}} {{.NetworkSettings.IPAddress}}' ${ref}`).stdout.trim().split(' ');

  test('one container at a time: each running one stopped as docker stop does (its own wait), then started in a new sandbox; a stopped one just starts', () => {
    const m = oneHost();
    docker(m, 'r0', 'docker run -dit --name shell busybox');
    docker(m, 'r0', 'docker run -d --name web nginx');
    docker(m, 'r0', 'docker run -dit --name idle busybox');
    docker(m, 'r0', 'docker stop idle');
    const [, key, address] = inspect(m, 'shell');
    // A stopped container still names its last sandbox (docker/for-linux#662: the key of a namespace already gone).
    expect(inspect(m, 'idle').slice(0, 2)).toEqual(['exited', expect.stringMatching(/^\/var\/run\/docker\/netns\/[0-9a-f]{12}$/)]);
    const before = m.world.clockNs;
    const restart = dockerStep(m, 'r0', ['restart', 'shell', 'nope', 'web', 'idle', 'shell']);
    expect(restart.outcome).toEqual({ stdout: 'shell\nweb\nidle\nshell\n', stderr: 'Error response from daemon: No such container: nope\n', exitCode: 1 });
    // Unlike docker stop's parallel stops, each restart of shell waits its own timeout; nginx and the stopped idle none.
    expect(restart.waits).toEqual([
      { ns: 10e9, why: 'the stop timeout: PID 1 of shell (sh) ignores SIGTERM; then SIGKILL' },
      { ns: 10e9, why: 'the stop timeout: PID 1 of shell (sh) ignores SIGTERM; then SIGKILL' },
    ]);
    expect(m.world.clockNs - before).toBeGreaterThanOrEqual(20e9);
    const [status, newKey, newAddress] = inspect(m, 'shell');
    expect(status).toBe('running');
    // docker0 is a local network: libnetwork's IPAM hands out its first free address, the one the stop released.
    expect([address, newAddress]).toEqual(['172.17.0.2', '172.17.0.2']);
    expect(newKey).toMatch(/^\/var\/run\/docker\/netns\/[0-9a-f]{12}$/);
    expect(newKey).not.toBe(key);
    expect(inspect(m, 'idle')[0]).toBe('running');
    expect(docker(m, 'r0', 'docker ps -q').stdout.trim().split('\n')).toHaveLength(3);
    // Each stop's kernel changes are a stage of their own, with the world after it: the start comes after (emu orders one op list its own way).
    const stateOf = (w: World, name: string) => containerNamed(w, 'r0', name).state;
    expect(restart.stages?.map((st) => [stateOf(st.world, 'shell'), stateOf(st.world, 'web')])).toEqual([['exited', 'running'], ['running', 'exited'], ['exited', 'running']]);
  });

  test('a --rm container is not removed by the restart\'s stop; -t sets the wait; docker container restart is the same command', () => {
    const m = oneHost();
    docker(m, 'r0', 'docker run -dit --rm --name temp busybox');
    const restart = dockerStep(m, 'r0', ['container', 'restart', '-t', '3', 'temp']);
    expect(restart.outcome).toEqual({ stdout: 'temp\n', stderr: '', exitCode: 0 });
    expect(restart.waits).toEqual([expect.objectContaining({ ns: 3e9 })]);
    expect(inspect(m, 'temp')[0]).toBe('running');
    expect(docker(m, 'r0', 'docker stop temp').stdout).toBe('temp\n');
    expect(docker(m, 'r0', 'docker ps -aq').stdout).toBe('');
  });

  test('a start the daemon refuses is named "Cannot restart container"; the other names still restart', () => {
    const m = oneHost();
    docker(m, 'r0', 'docker network create --subnet 10.9.0.0/24 lan');
    docker(m, 'r0', 'docker run -dit --name first --network lan --ip 10.9.0.50 busybox');
    docker(m, 'r0', 'docker stop first');
    docker(m, 'r0', 'docker run -dit --name second --network lan --ip 10.9.0.50 busybox');
    expect(docker(m, 'r0', 'docker restart first second')).toEqual({ stdout: 'second\n', stderr: 'Error response from daemon: Cannot restart container first: Address already in use\n', exitCode: 1 });
    expect(docker(m, 'r0', "docker inspect -f '{{.Name}} {{.State.Status}}' first second").stdout).toBe('/first exited\n/second running\n');
    // The refused start made no sandbox: the host holds the namespaces of second alone.
    expect(hostOf(m.world, 'r0').namespaces.filter((n) => /^[0-9a-f]{12}$/.test(n))).toEqual([docker(m, 'r0', "docker inspect -f '{{.NetworkSettings.SandboxKey}}' second").stdout.trim().slice(-12)]);
  });

  test("what the model cannot tell refuses the whole line before anything changes; the CLI's own errors", () => {
    const m = oneHost();
    docker(m, 'r0', 'docker run -dit --name shell busybox');
    docker(m, 'r0', 'docker run -d --name pinger busybox ping 127.0.0.1');
    docker(m, 'r0', 'docker run -d --name web nginx');
    const [, key] = inspect(m, 'shell');
    expect(docker(m, 'r0', 'docker restart shell pinger')).toEqual(notModelled('docker restart pinger: how its PID 1 (ping) takes SIGTERM'));
    expect(docker(m, 'r0', 'docker restart -t 0 shell web').stderr).toBe('cnmlab: not modelled: docker restart -t 0 web: its PID 1 (nginx) exits on its stop signal (SIGQUIT) as the SIGKILL is sent\n');
    expect(inspect(m, 'shell')).toEqual(['running', key, expect.any(String)]);
    // Its --network refused at run, the container holds none: which one its start would attach is the HostConfig's, not kept.
    docker(m, 'r0', 'docker run -dit --name lost --network nosuchnet busybox');
    expect(docker(m, 'r0', 'docker restart shell lost')).toEqual(notModelled('docker restart lost (it holds no network: the one it was run with was refused or left with the swarm)'));
    expect(docker(m, 'r0', 'docker start lost').exitCode).toBe(127);
    expect(inspect(m, 'shell')).toEqual(['running', key, expect.any(String)]);
    // docker start too checks every name before the first starts: shell, named first, stays stopped.
    docker(m, 'r0', 'docker stop -t 0 shell');
    expect(docker(m, 'r0', 'docker start shell lost')).toEqual(notModelled('docker start lost (it holds no network: the one it was run with was refused or left with the swarm)'));
    expect(inspect(m, 'shell')[0]).toBe('exited');
    expect(docker(m, 'r0', 'docker restart -t x shell')).toEqual({ stdout: '', stderr: `invalid argument "x" for "-t, --time" flag: strconv.ParseInt: parsing "x": invalid syntax\nSee 'docker restart --help'.\n`, exitCode: 125 });
    expect(docker(m, 'r0', 'docker restart')).toEqual({ stdout: '', stderr: `"docker restart" requires at least 1 argument.\nSee 'docker restart --help'.\n\nUsage:  docker restart [OPTIONS] CONTAINER [CONTAINER...]\n\nRestart one or more containers\n`, exitCode: 1 });
  });
});

describeWith(['ip'], true, 'docker stop and docker kill on the real kernel', () => {
  test('print, wait and exit as in sim', () => {
    const r = runEmu('docker-stop.yaml', STOPS);
    expect(r.stderr).toBe('');
    // emu's take real time too: a few seconds at most on a loaded machine.
    checkStops(r.steps, 5000);
  }, 180000);
});
