/**
 * `cnmlab clean` and the processes of runs no state file lists any more: a run interrupted
 * in a test whose temporary state folder was then deleted leaves BIRD and etcd running, with
 * nothing on disk naming them. clean finds them by the mark every process a run starts
 * carries in its environment (RunRecord.marked), and only them: another program's bird or
 * etcd, even one whose arguments look like a run's, is left, as is a process of a run whose
 * owner still runs, and one whose mark is forged (a user's, or in another pid namespace).
 */
import { ChildProcess, execFileSync, spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { describeWith, REPO } from './helpers/env';
import { parseRunMark, processStartTime, RUN_MARK } from '../emu/state';

const CLI = path.join(REPO, 'bin', 'cnmlab.js');

const alive = (pid: number) => {
  try {
    // A killed process its parent has not reaped yet is a zombie: gone for this test's purpose.
    return !/^\d+ \(.*\) Z /.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
};

/** Every process whose environment carries the mark of run `prefix`. */
function markedBy(prefix: string): number[] {
  return fs.readdirSync('/proc').filter((e) => /^\d+$/.test(e)).map(Number).filter((pid) => {
    try {
      return parseRunMark(fs.readFileSync(`/proc/${pid}/environ`, 'latin1'))?.prefix === prefix && alive(pid);
    } catch {
      return false;
    }
  });
}

const comm = (pid: number) => fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim();

describe('the run mark', () => {
  test('is read back from an environment as /proc/PID/environ holds it, and nothing else passes for one', () => {
    expect(parseRunMark(`PATH=/bin\0${RUN_MARK}=cnm0a1b2c 4242 987 /run/cnmlab/cnm0a1b2c.json\0LC_ALL=C\0`))
      .toEqual({ prefix: 'cnm0a1b2c', owner: { pid: 4242, startTime: 987 }, stateFile: '/run/cnmlab/cnm0a1b2c.json' });
    expect(parseRunMark(`${RUN_MARK}=cnm0a1b2c 4242  /tmp/s/cnm0a1b2c.json\0`)?.owner).toEqual({ pid: 4242 });
    for (const other of ['PATH=/bin\0', `${RUN_MARK}=bird 1 2 /x.json\0`, `X${RUN_MARK}=cnm0a1b2c 1 2 /x.json\0`, `${RUN_MARK}=cnm0a1b2c 1 2 relative.json\0`]) {
      expect(parseRunMark(other)).toBeUndefined();
    }
  });
});

describeWith(['ip', 'bird', 'birdc', 'etcd', 'etcdctl'], true, 'cnmlab clean and the daemons of runs whose state folder is gone (real BIRD, real etcd)', () => {
  let dir: string;
  let prefix: string | undefined;
  const decoys: ChildProcess[] = [];
  const cnmlab = (args: string[], stateDir: string) => spawnSync(process.execPath, [CLI, ...args], { cwd: REPO, encoding: 'utf8', env: { ...process.env, CNMLAB_STATE_DIR: stateDir }, maxBuffer: 1 << 28 });

  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cnmlab-orphans-'));
  });

  afterAll(() => {
    for (const d of decoys) if (d.pid && alive(d.pid)) process.kill(d.pid, 'SIGKILL');
    if (prefix) {
      // This test's own run, whose state it deleted: its daemons (should clean have missed them) and namespaces go by hand.
      for (const pid of markedBy(prefix)) process.kill(pid, 'SIGKILL');
      const own = (d: string) => (fs.existsSync(d) ? fs.readdirSync(d).filter((n) => n.startsWith(`${prefix}.`)) : []);
      for (const n of own('/run/netns')) spawnSync('ip', ['netns', 'del', n]);
      for (const n of own('/etc/netns')) fs.rmSync(path.join('/etc/netns', n), { recursive: true, force: true });
    }
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test("a kept lab's BIRD and etcd carry its mark, and are stopped once its state folder is gone; a look-alike bird and etcd, and a live run's process, are not", async () => {
    const stateDir = path.join(dir, 'state');
    const lab = path.join(dir, 'orphans.yaml');
    fs.writeFileSync(lab, `name: orphans
hosts:
  r0: {}
  r1: {}
steps:
  - r0: calicoctl node run --name r0 --ip 198.51.100.10
  - r1: calicoctl node run --name r1 --ip 198.51.100.11
  - r0: etcdctl put /cnmlab/orphans here
`);
    const r = cnmlab(['run', lab, '--mode', 'emu', '--keep'], stateDir);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    prefix = /ip netns exec (cnm[0-9a-f]{6})\.r0 bash/.exec(r.stdout)![1];
    const run = prefix;
    const daemons = markedBy(run);
    const names = new Map(daemons.map((pid) => [comm(pid), pid]));
    expect(new Set(daemons.map(comm))).toEqual(new Set(['bird', 'etcd']));
    // Every process inside the run's namespaces carries the mark (a daemon started without it would be missed).
    const inodes = new Set(fs.readdirSync('/run/netns').filter((n) => n.startsWith(`${run}.`)).map((n) => fs.statSync(`/run/netns/${n}`).ino));
    const inside = fs.readdirSync('/proc').filter((e) => /^\d+$/.test(e)).map(Number).filter((pid) => {
      try {
        return inodes.has(fs.statSync(`/proc/${pid}/ns/net`).ino) && alive(pid);
      } catch {
        return false;
      }
    });
    expect(inside.length).toBeGreaterThanOrEqual(3);
    expect(inside.filter((pid) => !daemons.includes(pid))).toEqual([]);

    // Look-alikes: programs named bird and etcd whose arguments name the run's prefix and state folder, without the mark.
    const lookAlike = (name: string) => {
      const file = path.join(dir, name);
      fs.writeFileSync(file, '#!/bin/sh\nsleep 600\n:\n', { mode: 0o755 });
      return spawn(file, ['-c', path.join(stateDir, run, name, `${run}.r0.conf`)], { stdio: 'ignore', detached: true });
    };
    decoys.push(lookAlike('bird'), lookAlike('etcd'));
    // A process of a run whose owner (this test) still runs, its state file gone: not clean's to stop.
    const ownerStart = processStartTime(process.pid);
    decoys.push(spawn('sleep', ['600'], { stdio: 'ignore', detached: true, env: { ...process.env, [RUN_MARK]: `cnm0ff1ce ${process.pid} ${ownerStart} ${path.join(dir, 'gone', 'cnm0ff1ce.json')}` } }));
    // A forged mark naming a dead owner and a lost state file: on a user's process (set-uid or not, never ours), and on
    // root's in a pid namespace of its own (a run inside a container, whose owner and state file clean cannot see).
    const forged = { ...process.env, [RUN_MARK]: `cnm0f0f0f 999999999 1 ${path.join(dir, 'gone', 'cnm0f0f0f.json')}` };
    decoys.push(spawn('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'sleep', '600'], { stdio: 'ignore', detached: true, env: forged }));
    const container = spawn('unshare', ['--pid', '--fork', '--kill-child', 'env', `${RUN_MARK}=${forged[RUN_MARK]}`, 'sleep', '600'], { stdio: 'ignore', detached: true });
    decoys.push(container);
    await new Promise((res) => setTimeout(res, 200));
    const inContainer = Number(fs.readFileSync(`/proc/${container.pid}/task/${container.pid}/children`, 'utf8').trim());
    expect(parseRunMark(fs.readFileSync(`/proc/${inContainer}/environ`, 'latin1'))?.prefix).toBe('cnm0f0f0f');
    const decoysAlive = () => [...decoys.map((d) => alive(d.pid!)), alive(inContainer)];
    expect(decoysAlive()).toEqual([true, true, true, true, true, true]);

    // The state folder is lost, as a test's temporary one is after an interrupted run.
    fs.rmSync(stateDir, { recursive: true, force: true });
    const c = cnmlab(['clean'], stateDir);
    expect(c.stderr).toBe('');
    expect(c.status).toBe(0);
    expect(c.stdout).toMatch(new RegExp(`^stopped \\d+ process\\(es\\) of runs no state file lists: .*bird \\d+ \\(${run}\\).*\n$`));
    expect(c.stdout).toContain(`etcd ${names.get('etcd')} (${run})`);
    const deadline = Date.now() + 5000;
    while (daemons.some(alive) && Date.now() < deadline) await new Promise((res) => setTimeout(res, 50));
    expect(daemons.filter(alive)).toEqual([]);
    expect(decoysAlive()).toEqual([true, true, true, true, true, true]);
    expect(execFileSync('sh', ['-c', `ls /run/netns | grep -c '^${run}\\.' || true`], { encoding: 'utf8' }).trim()).not.toBe('0');
  }, 240000);
});
