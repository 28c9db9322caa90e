/**
 * `cnmlab lab` at a pseudo-terminal, in sim and in emu: the seed tutorial typed line by line
 * (prompts, completion of commands, networks, namespaces and containers, `docker exec -it`,
 * ssh and `:on`), a ping that prints as time passes, Ctrl-C on a ping without -c, `:path`,
 * then `:save` and `cnmlab run` of the saved file printing what the lab printed.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { describeWith, REPO } from './helpers/env';
import { Pty } from './helpers/pty';

const CLI = path.join(REPO, 'bin', 'cnmlab.js');
const PROMPT = /(r[01]\$|root@ubuntu[01]:\/#) $/;

interface Typed {
  on: string;
  command: string;
  /** What the screen showed between the command's line and the next prompt. */
  shown: string;
}

/** Emu's round trips are the real kernel's: the figures differ from run to run, the rest may not. */
const timings = (s: string) => s.replace(/time[= ][0-9.]+ ?ms/g, 'time=T ms').replace(/rtt min\/avg\/max\/mdev = .*/g, 'rtt …');

function labSession(mode: 'sim' | 'emu', timeoutMs: number) {
  let dir: string;
  let stateDir: string;
  let pty: Pty | undefined;
  const env = () => ({ CNMLAB_STATE_DIR: stateDir });

  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), `cnmlab-lab-${mode}-`));
    stateDir = path.join(dir, 'state');
  });
  afterAll(() => {
    pty?.kill();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('the seed tutorial typed at the prompt; :save then run prints the same outputs', async () => {
    const p = (pty = new Pty([process.execPath, CLI, 'lab', 'scenarios/overlay-standalone.yaml', '--mode', mode], { cwd: REPO, env: env() }));
    await p.waitFor(/r0\$ $/, 0, timeoutMs);
    const typed: Typed[] = [];
    let on = 'r0';
    /** Types a command and keeps what it printed; the prompt after it tells where the shell is. */
    const type = async (command: string, wait = timeoutMs): Promise<string> => {
      const text = await p.run(command, PROMPT, wait);
      const lines = text.split('\n');
      const next = PROMPT.exec(lines[lines.length - 1])![1];
      const shown = lines.slice(1, -1).join('\n') + (lines.length > 2 ? '\n' : '');
      if (!command.startsWith(':') && !/^(ssh|exit|docker exec -it \S+ sh)\b/.test(command)) typed.push({ on, command, shown });
      on = next.endsWith('$') ? next.slice(0, -1) : next.slice(5, -3);
      return shown;
    };
    /** Tab after `start`: the screen shows the line as completed; Ctrl-U clears it again. */
    const completes = async (start: string, completed: RegExp) => {
      const from = p.screen.length;
      p.type(start + '\t');
      await p.waitFor(completed, from);
      p.type('\x15');
    };

    await completes('dock', /docker $/);
    await completes('docker net', /docker network $/);
    expect(await type('docker swarm init')).toMatch(/^Swarm initialized: current node \(\w{25}\) is now a manager\.\n/);
    expect(await type(':on r1')).toBe('');
    expect(on).toBe('r1');
    expect(await type('docker swarm join --token <...> 198.51.100.10:2377')).toMatch(/^This node joined a swarm as a worker\.\n✓ expect exit: 0\n✓ expect stdout: /);
    await type(':on r0');
    await type('docker network create --driver=overlay --attachable test-net');
    await completes('docker network inspect te', /inspect test-net $/);
    await type('docker run -dit --name ubuntu0 --network test-net ubuntu:14.04');
    await type('ssh r1');
    expect(on).toBe('r1');
    await type('docker network ls');
    await type('docker run -dit --name ubuntu1 --network test-net ubuntu:14.04');
    await type('docker network ls');
    expect(await type('exit')).toBe('logout\nConnection to r1 closed.\n');
    expect(on).toBe('r0');
    await type('ln -s /var/run/docker/netns /var/run/netns');
    expect(await type('ip netns ls')).toMatch(/^1-[0-9a-z]{10}\n/m);
    await completes('ip netns exec lb', /exec lb_[0-9a-z]+ $/);
    await completes('docker exec -it ub', /exec -it ubuntu0 $/);
    await completes('docker exec -it ubuntu0 s', /ubuntu0 sh $/);
    await type('docker exec -it ubuntu0 sh');
    expect(on).toBe('ubuntu0');

    // The replies come a second apart, as they come at a terminal.
    const from = p.screen.length;
    p.type('ping -c 3 ubuntu1\r');
    await p.waitFor('icmp_seq=1 ', from);
    const first = Date.now();
    const text = await p.waitFor(/statistics ---[\s\S]*root@ubuntu0:\/# $/, from, timeoutMs);
    expect(Date.now() - first).toBeGreaterThan(1500);
    typed.push({ on, command: 'ping -c 3 ubuntu1', shown: text.split('\n').slice(1, -1).join('\n') + '\n' });
    expect(typed[typed.length - 1].shown).toMatch(/3 packets transmitted, 3 received/);
    expect(typed[typed.length - 1].shown).toMatch(/✓ expect path: overlay\n$/);

    expect(await type(':path')).toMatch(/^path of ping-1 \(icmp-echo ubuntu0 → ubuntu1, step 10 · ubuntu0: ping -c 3 ubuntu1\):\nSTEP +DIR/);

    // Ctrl-C stops a ping that would go on for ever, and it prints its statistics.
    const before = p.screen.length;
    p.type('ping ubuntu1\r');
    await p.waitFor('icmp_seq=2 ', before, timeoutMs);
    p.type('\x03');
    const stopped = await p.waitFor(/root@ubuntu0:\/# $/, before, timeoutMs);
    expect(stopped).toMatch(/icmp_seq=2 [^\n]*\n\^C\n--- ubuntu1 ping statistics ---\n[23] packets transmitted, [23] received/);
    typed.push({ on, command: 'ping ubuntu1', shown: stopped.split('\n').slice(1, -1).join('\n').replace('^C', '') + '\n' });

    // Ctrl-C at an idle prompt drops the line, as bash does.
    const idle = p.screen.length;
    p.type('hostname -i\x03');
    await p.waitFor(/hostname -i\^C\nroot@ubuntu0:\/# $/, idle);

    await type('exit');
    expect(on).toBe('r0');
    expect(await type('docker network rm test-net')).toMatch(/in use/);
    const saved = path.join(dir, 'session.yaml');
    expect(await type(`:save ${saved}`)).toBe(`wrote ${saved} (${typed.length} step(s))\n`);
    expect(fs.readFileSync(saved, 'utf8')).toMatch(/# typed as 'ping ubuntu1', stopped with Ctrl-C after [23] probe\(s\)\n\s*- ubuntu0: ping -c [23] ubuntu1\n/);
    const report = path.join(dir, 'report.html');
    expect(await type(`:viz ${report}`)).toMatch(new RegExp(`^wrote ${report} \\([1-9]\\d* flow\\(s\\)\\)\n$`));
    expect(fs.readFileSync(report, 'utf8')).toMatch(/^<!doctype html>[\s\S]*"kind":"icmp-echo"/);
    expect(await type(':reset')).toBe('overlay-standalone: started again\n');
    // Not a step of the saved session: the world is new, nothing of it is left.
    expect(await p.run('docker network ls', /r0\$ $/)).not.toMatch(/test-net|ingress/);
    if (mode === 'emu') expect(fs.readdirSync(stateDir).filter((f) => f.endsWith('.json'))).toHaveLength(1);
    p.type('\x04');
    expect(await p.exitCode(timeoutMs)).toBe(0);
    if (mode === 'emu') {
      // Leaving tears the run down, as the end of `cnmlab run` does.
      expect(fs.readdirSync(stateDir).filter((f) => f.endsWith('.json'))).toEqual([]);
    }

    const r = spawnSync(process.execPath, [CLI, 'run', saved, '--mode', mode, '--json'], { cwd: REPO, encoding: 'utf8', env: { ...process.env, ...env() }, maxBuffer: 1 << 26 });
    expect(r.stderr).toBe('');
    const result = JSON.parse(r.stdout) as { ok: boolean; steps: { on: string; command: string; stdout: string; stderr: string }[] };
    expect(result.ok).toBe(true);
    expect(result.steps.map((s) => s.on)).toEqual(typed.map((t) => t.on));
    const shownOf = (t: Typed) => t.shown.replace(/^[✓✗] expect .*\n/gm, '');
    const norm = mode === 'emu' ? timings : (s: string) => s;
    expect(result.steps.map((s) => norm(s.stdout + s.stderr))).toEqual(typed.map((t) => norm(shownOf(t))));
  }, timeoutMs * 12);
}

describe('cnmlab lab at a terminal (sim)', () => labSession('sim', 20000));

describe('cnmlab lab, what a student mistypes', () => {
  test("a command it does not model says so once (no expectation line: none was written), and `help` points to the lab's :help", () => {
    const r = spawnSync(process.execPath, [CLI, 'lab', 'scenarios/macvlan.yaml'], { cwd: REPO, encoding: 'utf8', input: 'help\ndokcer ps\nip route\n' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).not.toContain('expect modelled');
    expect(r.stdout).toContain('r0$ cnmlab: not modelled: help\ncnmlab lab: its own commands begin with a colon: :help lists them\n');
    expect(r.stdout).toContain('r0$ cnmlab: not modelled: dokcer ps\nr0$ ');
  });
});

describeWith(['ip', 'bridge', 'tcpdump', 'ping', 'mount', 'script'], true, 'cnmlab lab at a terminal (emu, real kernel)', () => labSession('emu', 60000));
