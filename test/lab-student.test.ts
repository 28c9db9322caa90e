/**
 * The lab as a student following Docker's overlay tutorial types it: what each line does to
 * where the shell is, and to the world.
 */
import { containerNamed } from './helpers/world';
import { complete } from '../lab/complete';
import { sessionScenario } from '../lab/save';
import { runSim } from './helpers/run';
import { typedTwoNodeLab } from './helpers/lab';
import { StepResult } from '../sim/runner/session';

const tutorialLab = () => typedTwoNodeLab();

describe('lab as the overlay tutorial is typed', () => {
  test('docker run -it without -d puts the shell in the container; exit leaves and stops it, as Docker does', async () => {
    const lab = await tutorialLab();
    const term = lab.terminal();
    // The tutorial's first container: `docker run -it --name alpine1 --network test-net alpine`.
    expect(await term.line('docker run -it --name alpine1 --network test-net alpine')).toMatchObject({ kind: 'step', result: { exitCode: 0 } });
    expect(term.place).toMatchObject({ host: 'r0', container: 'alpine1' });
    // BusyBox's ash as root in /, as Docker's alpine image runs it.
    expect(term.prompt()).toBe('/ # ');
    expect(await term.line('hostname')).toMatchObject({ kind: 'step', result: { on: 'alpine1' } });
    // Leaving the shell goes back to the host (not out of the lab) and the container stops.
    expect(await term.line('exit')).toEqual({ kind: 'moved', output: '' });
    expect(term.prompt()).toBe('r0$ ');
    expect(lab.containersOn('r0')).toEqual([]);
    expect(sessionScenario(lab)).toMatch(/# typed as 'exit' in the shell 'docker run -it' started: the container stopped with it\n\s*- r0: docker stop alpine1\n/);

    // Without a name, the container the run made; detached (-dit) or exec'd shells are as before.
    await term.line('docker run -ti --network test-net alpine sh');
    expect(term.place.container).toMatch(/^\w+_\w+$/);
    await term.line('exit');
    await term.line('docker run -dit --name alpine2 --network test-net alpine');
    expect(term.prompt()).toBe('r0$ ');
    await term.line('docker exec -it alpine2 sh');
    await term.line('exit');
    expect(lab.containersOn('r0')).toEqual(['alpine2']);
  });

  test('docker run -it with a command that is not a shell runs it and leaves the terminal on the host', async () => {
    const lab = await tutorialLab();
    const term = lab.terminal();
    // Its output through the container's terminal (CR LF); the container exits with it.
    expect(await term.line('docker run -it --name once --network test-net alpine echo hi')).toMatchObject({ kind: 'step', result: { exitCode: 0, stdout: 'hi\r\n', stderr: '' } });
    expect(term.place).toEqual({ host: 'r0' });
    expect(term.prompt()).toBe('r0$ ');
    expect(lab.containersOn('r0')).toEqual([]);
    expect(containerNamed(lab.session.model.world, 'r0', 'once').state).toBe('exited');
    // A shell named alone is the shell the terminal moves into.
    await term.line('docker run -it --name alpine1 --network test-net alpine /bin/sh');
    expect(term.place).toMatchObject({ host: 'r0', container: 'alpine1', attached: true });
  });

  test('a GNU image\'s shell is bash as root (root@NAME:/# ), a BusyBox image\'s is ash (/ # )', async () => {
    const lab = await tutorialLab();
    const term = lab.terminal();
    await term.line('docker run -dit --name u0 --network test-net ubuntu');
    await term.line('docker exec -it u0 bash');
    expect(term.prompt()).toBe('root@u0:/# ');
    await term.line('exit');
    await term.line('docker run -it --name b0 --network test-net busybox');
    expect(term.prompt()).toBe('/ # ');
    expect(lab.prompt('b0')).toBe('/ # ');
    expect(lab.prompt('r1')).toBe('r1$ ');
  });

  test('a saved session replays docker run -it of a shell as -dit and of a command that ends as -t (a file has no terminal, and Docker refuses -i with -t without one)', async () => {
    const lab = await tutorialLab();
    const term = lab.terminal();
    await term.line('docker run -it --name alpine1 --network test-net alpine');
    await term.line('exit');
    await term.line('docker run --rm -ti -h box --network test-net alpine hostname');
    await term.line('docker run --name alpine2 -ti --network test-net alpine /bin/sh');
    const saved = sessionScenario(lab);
    // With -t and no -i, real Docker keeps the client attached to a shell nobody types into,
    // forever: the shell's container is started detached instead.
    expect(saved).toMatch(/# typed as 'docker run -it --name alpine1 --network test-net alpine' at the lab's terminal; a file has none, and Docker refuses -i with -t without one: -dit starts the same container detached \(its shell would wait on a terminal nobody types into\) and prints its id\n\s*- r0: docker run -dit --name alpine1 --network test-net alpine\n/);
    expect(saved).toContain('- r0: docker stop alpine1\n');
    expect(saved).toMatch(/-t alone runs the same container to its end\n\s*- r0: docker run --rm -t -h box --network test-net alpine hostname\n/);
    expect(saved).toContain('- r0: docker run --name alpine2 -dit --network test-net alpine /bin/sh\n');
    const replay = await runSim(saved, 'saved.yaml');
    expect(replay.result.ok).toBe(true);
    // cnmlab run prints what the lab printed, step by step, and the container id -dit prints
    // where the lab, attached to the shell, printed nothing.
    const typed = lab.session.steps.map((r) => r.command);
    const detached = [typed.indexOf('docker run -it --name alpine1 --network test-net alpine'), typed.indexOf('docker run --name alpine2 -ti --network test-net alpine /bin/sh')];
    expect(detached.map((i) => lab.session.steps[i].stdout)).toEqual(['', '']);
    expect(detached.map((i) => replay.result.steps[i].stdout)).toEqual([expect.stringMatching(/^[0-9a-f]{64}\n$/), expect.stringMatching(/^[0-9a-f]{64}\n$/)]);
    const printed = (steps: StepResult[], idLines: boolean) => steps.map((r, i) => [r.exitCode, idLines && detached.includes(i) ? '' : r.stdout, r.stderr]);
    expect(printed(replay.result.steps, true)).toEqual(printed(lab.session.steps, false));
    expect(containerNamed(replay.model.world, 'r0', 'alpine2').state).toBe('running');
  });

  test('a saved session replays docker run -i of a shell, which the lab\'s input kept waiting, as -di (a file\'s input is closed); -i of a command that ends stays as typed', async () => {
    const lab = await tutorialLab();
    const term = lab.terminal();
    await term.line('docker run -i --name b1 --network test-net busybox');
    await term.line('docker run --rm -i --network test-net alpine hostname');
    const saved = sessionScenario(lab);
    expect(saved).toMatch(/# typed as 'docker run -i --name b1 --network test-net busybox' at the lab's terminal, whose input kept its shell waiting; a file's input is closed, where the shell would exit at once: -di starts the same container detached, its input open, and prints its id\n\s*- r0: docker run -di --name b1 --network test-net busybox\n/);
    expect(saved).toContain('- r0: docker run --rm -i --network test-net alpine hostname\n');
    const replay = await runSim(saved, 'saved.yaml');
    expect(replay.result.ok).toBe(true);
    const state = (world: typeof replay.model.world) => containerNamed(world, 'r0', 'b1').state;
    expect(state(lab.session.model.world)).toBe('running');
    expect(state(replay.model.world)).toBe('running');
  });

  test('a saved session drops -i from a flag cluster whose last letter takes the next word as its value (-itp 8080:80, -ite X=1), the value kept as typed', async () => {
    const lab = await tutorialLab();
    const term = lab.terminal();
    await term.line('docker run -itp 8080:80 --name web --network test-net alpine');
    await term.line('exit');
    await term.line('docker run --rm -ite X=1 --network test-net alpine hostname');
    await term.line('docker run --rm -ith box --network test-net alpine hostname');
    // The value's own letters are not flags: X=i keeps its i.
    await term.line('docker run --rm -iteX=i --network test-net alpine hostname');
    const saved = sessionScenario(lab);
    expect(saved).toContain('- r0: docker run -dit -p 8080:80 --name web --network test-net alpine\n');
    expect(saved).toContain('- r0: docker run --rm -te X=1 --network test-net alpine hostname\n');
    expect(saved).toContain('- r0: docker run --rm -th box --network test-net alpine hostname\n');
    expect(saved).toContain('- r0: docker run --rm -teX=i --network test-net alpine hostname\n');
    // -h is modelled: the replay runs it and prints what the lab printed.
    const replay = await runSim(saved, 'saved.yaml');
    const at = lab.session.steps.findIndex((r) => r.command === 'docker run --rm -ith box --network test-net alpine hostname');
    expect(replay.result.steps[at]).toMatchObject({ exitCode: 0, stdout: 'box\r\n', stderr: '' });
    expect(lab.session.steps[at]).toMatchObject({ exitCode: 0, stdout: 'box\r\n', stderr: '' });
  });

  test('a saved session drops --interactive=true as it drops -i, and --tty=true too where it starts the container detached', async () => {
    const lab = await tutorialLab();
    const term = lab.terminal();
    await term.line('docker run --rm --interactive=true -t -h box --network test-net alpine hostname');
    await term.line('docker run --interactive=true --tty=true --name alpine1 --network test-net alpine');
    await term.line('exit');
    // Docker reads the last word: --interactive=false before -i leaves -i set, and goes with it.
    await term.line('docker run --rm --interactive=false -it -h box2 --network test-net alpine hostname');
    const saved = sessionScenario(lab);
    expect(saved).toContain('- r0: docker run --rm -t -h box --network test-net alpine hostname\n');
    expect(saved).toContain('- r0: docker run -dit --name alpine1 --network test-net alpine\n');
    expect(saved).toContain('- r0: docker run --rm -t -h box2 --network test-net alpine hostname\n');
    const replay = await runSim(saved, 'saved.yaml');
    expect(replay.result.ok).toBe(true);
    const runs = lab.session.steps.flatMap((r, i) => (r.command.startsWith('docker run --rm') ? [i] : []));
    expect(runs.map((i) => replay.result.steps[i].stdout)).toEqual(['box\r\n', 'box2\r\n']);
    expect(runs.map((i) => lab.session.steps[i].stdout)).toEqual(['box\r\n', 'box2\r\n']);
  });

  test("exit from docker run -it's shell after its container was removed elsewhere stops nothing and says so", async () => {
    const lab = await tutorialLab();
    const term = lab.terminal();
    await term.line('docker run -it --name alpine1 --network test-net alpine');
    expect(term.place.container).toBe('alpine1');
    const other = lab.terminal();
    expect(await other.line('docker rm -f alpine1')).toMatchObject({ kind: 'step', result: { exitCode: 0 } });
    const steps = lab.session.steps.length;
    expect(await term.line('exit')).toEqual({ kind: 'moved', output: 'cnmlab lab: alpine1 was removed meanwhile; its shell is gone, nothing to stop\n' });
    expect(term.prompt()).toBe('r0$ ');
    expect(lab.session.steps.length).toBe(steps);
    expect(sessionScenario(lab)).not.toContain("typed as 'exit'");
    expect(sessionScenario(lab)).not.toContain('docker stop alpine1');

    // Stopped elsewhere: the same, in its own words.
    await term.line('docker run -it --name alpine2 --network test-net alpine');
    await other.line('docker stop alpine2');
    expect(await term.line('exit')).toEqual({ kind: 'moved', output: 'cnmlab lab: alpine2 was stopped meanwhile; its shell is gone, nothing to stop\n' });
    expect(sessionScenario(lab)).not.toContain("typed as 'exit'");
  });

  test("exit from docker run -it's shell after its container was removed and another made under its name leaves the other running", async () => {
    const lab = await tutorialLab();
    const term = lab.terminal();
    await term.line('docker run -it --name alpine1 --network test-net alpine');
    const other = lab.terminal();
    await other.line('docker rm -f alpine1');
    expect(await other.line('docker run -dit --name alpine1 --network test-net alpine')).toMatchObject({ kind: 'step', result: { exitCode: 0 } });
    const steps = lab.session.steps.length;
    expect(await term.line('exit')).toEqual({ kind: 'moved', output: 'cnmlab lab: alpine1 was removed meanwhile; its shell is gone, nothing to stop\n' });
    expect(lab.session.steps.length).toBe(steps);
    expect(lab.containersOn('r0')).toEqual(['alpine1']);
  });

  test('Tab after ip netns exec NS completes the command to run there, not container names', async () => {
    const lab = await tutorialLab();
    const term = lab.terminal();
    await term.line('docker run -dit --name alpine1 --network test-net alpine');
    await term.line('ln -s /var/run/docker/netns /var/run/netns');
    const [namespaces] = complete(term, 'sudo ip netns exec ');
    const ns = namespaces.find((n) => n.startsWith('1-'))!;
    expect(ns).toBeDefined();
    expect(complete(term, `sudo ip netns exec ${ns} `)[0]).toEqual(['bridge', 'cat', 'docker', 'getent', 'hostname', 'ip', 'ln', 'nslookup', 'ping']);
    expect(complete(term, `ip netns exec ${ns} br`)[0]).toEqual(['bridge ']);
  });
});
