/**
 * emu's per-process helpers on the real kernel (root): the namespace worker (emu/nsworker.ts)
 * works inside the namespace it is given and nowhere else (the machine's only for `ip netns`
 * batches), a capture drained before it stops loses nothing, and a run's teardown does not
 * wait for a socket holder still starting, nor start one for a lab that only sets up (emu/listeners.ts).
 */
import { execFileSync, spawn } from 'child_process';
import { randomBytes } from 'crypto';
import { describeWith } from './helpers/env';
import { linksIn, MACHINE_NAMESPACE, OPER_DOWN, runInNamespaces, startActivated, startWatched, SYSCALLS, useNamespaceWorker } from '../emu/nsworker';
import { SUPPLIER } from '../emu/listeners';
import { batch } from '../emu/exec';
import { Capture, CapturePoint } from '../emu/capture';
import { readCapture } from '../sim/pcap/reader';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { EmuBackend } from '../emu/backend';
import { Model } from '../sim/model/model';
import { parseScenario } from '../sim/scenario/load';
import { dockerStep } from '../sim/docker/session';

const ip = (...args: string[]) => execFileSync('ip', args, { encoding: 'utf8' });

describeWith(['ip', 'iptables-restore', 'perl'], true, 'namespace worker (real kernel)', () => {
  const netns = `cnm${randomBytes(3).toString('hex')}.worker`;
  let release: () => Promise<void>;

  beforeAll(() => {
    ip('netns', 'add', netns);
    release = useNamespaceWorker();
  });
  afterAll(async () => {
    await release();
    ip('netns', 'del', netns);
  });

  test("sysctls and a program's input land in the job's namespace, not the machine's", async () => {
    const machineForwarding = execFileSync('cat', ['/proc/sys/net/ipv4/conf/default/forwarding'], { encoding: 'utf8' });
    const [r] = await runInNamespaces([{ netns, sysctls: [{ key: 'net.ipv4.conf.default.forwarding', value: machineForwarding.trim() === '1' ? '0' : '1' }], program: ['ip', '-batch', '-'], input: 'link add cnmtest0 type bridge\nlink set lo up\n' }]);
    expect(r).toEqual({ code: 0, output: '' });
    expect(ip('-n', netns, '-br', 'link', 'show', 'dev', 'cnmtest0')).toMatch(/^cnmtest0 /);
    expect(ip('-br', 'link', 'show')).not.toMatch(/^cnmtest0 /m);
    expect(execFileSync('ip', ['netns', 'exec', netns, 'cat', '/proc/sys/net/ipv4/conf/default/forwarding'], { encoding: 'utf8' })).not.toBe(machineForwarding);
    expect(execFileSync('cat', ['/proc/sys/net/ipv4/conf/default/forwarding'], { encoding: 'utf8' })).toBe(machineForwarding);
  });

  test('several jobs at once, each told by its own code and output; iptables-restore reads its rules from stdin', async () => {
    const rules = '*nat\n-N CNMTEST\n-A OUTPUT -d 127.0.0.11 -j CNMTEST\nCOMMIT\n';
    const results = await runInNamespaces([
      { netns, program: ['iptables-restore', '--noflush'], input: rules },
      { netns, program: ['ip', '-batch', '-'], input: 'link set dev nosuchdevice up\n' },
      { netns, program: ['sh', '-c', 'exit 3'] },
    ]);
    expect(results[0]).toEqual({ code: 0, output: '' });
    expect(results[1].code).not.toBe(0);
    expect(results[1].output).toContain('Command failed -:1');
    expect(results[2]).toEqual({ code: 3, output: '' });
    expect(execFileSync('ip', ['netns', 'exec', netns, 'iptables', '-t', 'nat', '-S', 'OUTPUT'], { encoding: 'utf8' })).toContain('-A OUTPUT -d 127.0.0.11/32 -j CNMTEST');
  });

  test('a watched program (a capture) runs in the namespace, told by its pid at once and its stderr as it comes, and takes no place among the parallel jobs', async () => {
    const said: string[] = [];
    // More watched programs than the worker runs jobs at once: a waited job still gets its turn.
    const watched = await Promise.all(Array.from({ length: 12 }, (_, i) => startWatched({ netns, program: ['sh', '-c', `echo started ${i} >&2; exec sleep 30`] }, (text) => said.push(text))));
    const [r] = await runInNamespaces([{ netns, program: ['ip', '-br', 'link', 'show', 'dev', 'lo'] }]);
    expect(r.code).toBe(0);
    for (const w of watched) {
      expect(fs.statSync(`/proc/${w.pid}/ns/net`).ino).toBe(fs.statSync(`/run/netns/${netns}`).ino);
      expect(w.ended()).toBe(false);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(said.join('').split('\n').filter(Boolean).sort()).toEqual(Array.from({ length: 12 }, (_, i) => `started ${i}`).sort());
    for (const w of watched) process.kill(w.pid, 'SIGKILL');
    expect(await Promise.all(watched.map((w) => w.exited))).toEqual(watched.map(() => 137));
    expect(watched.every((w) => w.ended())).toBe(true);
    await expect(startWatched({ netns: 'someone-elses', program: ['sleep', '30'] }, () => undefined)).rejects.toThrow('refusing namespace someone-elses');
  });

  test("a program marked as the run's (env -u NAME NAME=VALUE … program) gets its variables, whatever '=' they hold, without the one unset, under the pid the worker told", async () => {
    const said: string[] = [];
    // The worker's own environment has LC_ALL (exec.ts's ENV).
    const w = await startWatched({ netns, program: ['env', '-u', 'LC_ALL', 'CNMLAB_A=1', 'CNMLAB_B=x=y z', 'sh', '-c', 'echo "$CNMLAB_A|$CNMLAB_B|${LC_ALL-unset}" >&2; exec sleep 30'] }, (text) => said.push(text));
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(said.join('')).toBe('1|x=y z|unset\n');
    expect(fs.readFileSync(`/proc/${w.pid}/comm`, 'utf8')).toBe('sleep\n');
    expect(fs.readFileSync(`/proc/${w.pid}/environ`, 'utf8').split('\0')).toEqual(expect.arrayContaining(['CNMLAB_A=1', 'CNMLAB_B=x=y z']));
    process.kill(w.pid, 'SIGKILL');
    expect(await w.exited).toBe(137);
  });

  test('socket activation: the sockets are bound in the namespace at once, the program starts on the first datagram with them as fds 3 and 4, and what waited is not lost', async () => {
    await runInNamespaces([{ netns, program: ['ip', 'link', 'set', 'lo', 'up'] }]);
    const said: string[] = [];
    const pids: number[] = [];
    // The program: the datagram read from fd 3, and whether fd 4 is a listening socket (SO_ACCEPTCONN).
    const program = ['perl', '-MSocket', '-e', 'open(my $u, "<&=", 3) or die; open(my $t, "<&=", 4) or die; recv($u, my $m, 100, 0); print STDERR "got $m, listening ", unpack("i", getsockopt($t, SOL_SOCKET, SO_ACCEPTCONN)), "\\n"; sleep 30'];
    const activated = await startActivated({ netns, program, sockets: [{ proto: 'udp', address: '127.0.0.1', port: 5399 }, { proto: 'tcp', address: '127.0.0.1', port: 5399, backlog: 4096 }] }, (pid) => pids.push(pid), (text) => said.push(text));
    const listed = execFileSync('ip', ['netns', 'exec', netns, 'ss', '-Hlnt', 'sport = :5399'], { encoding: 'utf8' });
    expect(listed).toMatch(/LISTEN\s+0\s+4096\s+127\.0\.0\.1:5399/);
    expect(execFileSync('ip', ['netns', 'exec', netns, 'ss', '-Hlnu', 'sport = :5399'], { encoding: 'utf8' })).toContain('127.0.0.1:5399');
    expect(activated.pid()).toBeUndefined();
    await runInNamespaces([{ netns, program: ['perl', '-MSocket', '-e', 'socket(my $s, AF_INET, SOCK_DGRAM, 0); send($s, "hello", 0, pack_sockaddr_in(5399, inet_aton("127.0.0.1"))) or die'] }]);
    for (let i = 0; i < 500 && !said.join('').includes('\n'); i++) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(said.join('')).toBe('got hello, listening 1\n');
    expect(pids).toEqual([activated.pid()]);
    expect(fs.statSync(`/proc/${activated.pid()}/ns/net`).ino).toBe(fs.statSync(`/run/netns/${netns}`).ino);
    await activated.stop();
    expect(await activated.exited).toBe(137);
    // One that nothing woke: stopping it closes its sockets, and no program ever ran.
    const idle = await startActivated({ netns, program: ['sleep', '30'], sockets: [{ proto: 'udp', address: '127.0.0.1', port: 5400 }] }, (pid) => pids.push(pid), () => undefined);
    await idle.stop();
    expect(idle.pid()).toBeUndefined();
    expect(execFileSync('ip', ['netns', 'exec', netns, 'ss', '-Hlnu', 'sport = :5400'], { encoding: 'utf8' })).toBe('');
    // A socket that cannot be bound: the worker's words.
    await expect(startActivated({ netns, program: ['sleep', '30'], sockets: [{ proto: 'udp', address: '192.0.2.1', port: 5401 }] }, () => undefined, () => undefined)).rejects.toThrow('bind udp 192.0.2.1:5401: Cannot assign requested address');
  });

  test("the worker lists a namespace's devices as `ip link show` does (name, up, carrier, operstate), with no program; a namespace gone lists nothing", async () => {
    const [r] = await runInNamespaces([{ netns, program: ['ip', '-batch', '-'], input: 'link add cnmlist0 type veth peer name cnmlist1\nlink set cnmlist0 up\nlink add cnmlist2 type bridge\n' }]);
    expect(r.code).toBe(0);
    try {
      const [listed, gone, refused] = await linksIn([netns, `${netns}-gone`, 'someone-elses']);
      const shown = JSON.parse(ip('-n', netns, '-j', 'link', 'show')) as { ifname: string; flags: string[]; operstate: string }[];
      // Every device ip lists, in its order, with the same flags and state (a veth up whose peer is down has no carrier).
      expect(listed?.map((l) => l.name)).toEqual(shown.map((l) => l.ifname));
      for (const [i, l] of shown.entries()) {
        expect(listed?.[i]).toEqual({ name: l.ifname, up: l.flags.includes('UP'), lowerUp: l.flags.includes('LOWER_UP'), operstate: expect.any(Number) });
        if (l.operstate === 'DOWN') expect(listed?.[i].operstate).toBe(OPER_DOWN);
      }
      expect(listed?.find((l) => l.name === 'cnmlist0')).toMatchObject({ up: true, lowerUp: false });
      expect(gone).toBeUndefined();
      expect(refused).toBeUndefined();
    } finally {
      ip('-n', netns, 'link', 'del', 'cnmlist0');
      ip('-n', netns, 'link', 'del', 'cnmlist2');
    }
  });

  test('refuses a namespace emu does not name, and a sysctl key that would leave /proc/sys', async () => {
    const [other, allowed] = await runInNamespaces([
      { netns: 'someone-elses', program: ['ip', 'link', 'add', 'cnmtest1', 'type', 'bridge'] },
      { netns, sysctls: [{ key: 'net.ipv4.ip_forward', value: '1' }, { key: 'net.ipv4.conf.all.forwarding', value: '1' }] },
    ]);
    expect(other).toEqual({ code: 126, output: 'refusing namespace someone-elses\n' });
    expect(ip('-br', 'link', 'show')).not.toMatch(/^cnmtest1 /m);
    expect(allowed.code).toBe(0);
    await expect(runInNamespaces([{ netns, sysctls: [{ key: 'net.ipv4..x', value: '1' }] }])).rejects.toThrow('refusing sysctl key');
    await expect(runInNamespaces([{ netns, program: ['ip', 'link\tx'] }])).rejects.toThrow('refusing a namespace job field');
  });

  // The socket supplier enters namespaces as the worker does (nsworker.ts ENTER_NETNS): a name that is not emu's is refused, whatever the holder asks.
  (SYSCALLS.sendmsg ? test : test.skip)("listeners' socket supplier makes a socket in emu's namespace, and refuses any other", async () => {
    const supplier = spawn('perl', ['-e', SUPPLIER, String(SYSCALLS.setns), String(SYSCALLS.sendmsg)], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    const names = [netns, 'someone-elses', '../../proc/1/ns/net', `${netns}/../../../proc/1/ns/net`, `${netns}\n`, 'cnm12345.short'];
    const answers = new Map<number, { error?: string; handle?: { address(): { address: string; port: number }; close(): void } }>();
    const answered = new Promise<void>((resolve) => supplier.on('message', (m: { id: number; error?: string }, handle) => {
      answers.set(m.id, { error: m.error, handle: handle as never });
      if (answers.size === names.length) resolve();
    }));
    try {
      names.forEach((ns, i) => supplier.send({ want: 'udp', ns, address: '127.0.0.1', port: 0, id: i + 1 }));
      await answered;
      const made = answers.get(1)!;
      expect(made.error).toBeUndefined();
      expect(made.handle!.address().address).toBe('127.0.0.1');
      made.handle!.close();
      const refused = names.slice(1).map((_, i) => answers.get(i + 2)!);
      expect(refused.map((a) => a.handle)).toEqual(names.slice(1).map(() => undefined));
      expect(refused.map((a) => a.error)).toEqual([
        'refusing namespace someone-elses',
        'refusing namespace ../../proc/1/ns/net',
        `refusing namespace ${netns}/../../../proc/1/ns/net`,
        // Its newline reaches the supplier escaped (JSON's \\n), and its answer leaves out the backslash.
        `refusing namespace ${netns}n`,
        'refusing namespace cnm12345.short',
      ]);
    } finally {
      supplier.kill();
    }
  });

  test("the machine's namespace: `ip netns` batches run there (no fork of Node), but no sysctl, capture or socket", async () => {
    const other = `cnm${randomBytes(3).toString('hex')}.machine`;
    await batch('ip', [['netns', 'add', other]]);
    try {
      expect(ip('netns', 'list')).toContain(other);
      // Nothing but those batches, of the run's own names, runs there.
      const refused = await runInNamespaces([
        { netns: MACHINE_NAMESPACE, program: ['readlink', '/proc/self/ns/net'] },
        { netns: MACHINE_NAMESPACE, program: ['ip', '-batch', '-'], input: 'link add cnmtest9 type dummy\n' },
        { netns: MACHINE_NAMESPACE, program: ['ip', '-batch', '-'], input: `netns add ${other}x\nnetns del someone-elses\n` },
        { netns: MACHINE_NAMESPACE, program: ['ip', '-batch', '/etc/hosts'] },
      ]);
      expect(refused.map((r) => r.code)).toEqual([126, 126, 126, 126]);
      expect(refused[0].output).toBe("refusing in the machine's namespace: readlink /proc/self/ns/net\n");
      expect(ip('netns', 'list')).not.toContain(`${other}x`);
      // Forced on past a failing line, a batch the worker refused is still an error: nothing of it ran.
      await expect(batch('ip', [['netns', 'del', 'someone-elses']], true)).rejects.toThrow("refusing in the machine's namespace");
      const [sysctl] = await runInNamespaces([{ netns: MACHINE_NAMESPACE, sysctls: [{ key: 'net.ipv4.ip_forward', value: '1' }] }]);
      expect(sysctl).toEqual({ code: 126, output: "refusing sysctls in the machine's namespace\n" });
      await expect(startWatched({ netns: MACHINE_NAMESPACE, program: ['sleep', '30'] }, () => undefined)).rejects.toThrow("refusing the machine's namespace for watched jobs");
      await expect(startActivated({ netns: MACHINE_NAMESPACE, program: ['sleep', '30'], sockets: [{ proto: 'udp', address: '127.0.0.1', port: 5402 }] }, () => undefined, () => undefined)).rejects.toThrow("refusing the machine's namespace for activated jobs");
      // A line that fails stops the batch, unless forced on (a namespace already gone).
      await expect(batch('ip', [['netns', 'del', `${other}x`], ['netns', 'del', other]])).rejects.toThrow(`ip -batch -: Cannot remove namespace file "/run/netns/${other}x"`);
      await batch('ip', [['netns', 'del', `${other}x`], ['netns', 'del', other]], true);
      expect(ip('netns', 'list')).not.toContain(other);
    } finally {
      if (ip('netns', 'list').includes(other)) ip('netns', 'del', other);
    }
  });

  test("Ctrl-C (SIGINT to the terminal's process group) leaves the worker serving the run's teardown; its programs still take it", async () => {
    const parent = async () => Number((await runInNamespaces([{ netns, program: ['sh', '-c', 'echo $PPID'] }]))[0].output);
    const worker = await parent();
    process.kill(worker, 'SIGINT');
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await parent()).toBe(worker);
    // Once it runs (as a capture is stopped once it listens), a program takes SIGINT as its own.
    let up!: () => void;
    const running = new Promise<void>((resolve) => (up = resolve));
    const sleeper = await startWatched({ netns, program: ['sh', '-c', 'echo up >&2; exec sleep 30'] }, () => up());
    await running;
    process.kill(sleeper.pid, 'SIGINT');
    expect(await sleeper.exited).toBe(130);
  });

  test('a capture stopped once drained holds every frame the kernel queued to it, however late its tcpdump runs', async () => {
    await runInNamespaces([{ netns, program: ['ip', 'link', 'set', 'lo', 'up'] }]);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cnmlab-drain-'));
    try {
      const point: CapturePoint = { host: 'h', netns: 'n', device: 'lo', realNetns: netns, iface: 'lo', role: 'container', mine: [], file: path.join(dir, 'lo.pcap') };
      const capture = new Capture([point]);
      await capture.start({ addPid: () => undefined, marked: (argv) => argv });
      // A tcpdump that has not run since the ping (a loaded machine): its frames wait in its ring, which SIGINT alone would drop.
      const [tcpdump] = capture.pids;
      process.kill(tcpdump, 'SIGSTOP');
      const [ping] = await runInNamespaces([{ netns, program: ['ping', '-q', '-i', '0.002', '-c', '5', '127.0.0.1'] }]);
      expect(ping.code).toBe(0);
      let drained = false;
      const draining = capture.drained(10000).then(() => (drained = true));
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(drained).toBe(false);
      process.kill(tcpdump, 'SIGCONT');
      await draining;
      await capture.stop();
      expect((await readCapture(point.file)).frames.length).toBe(10);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describeWith(['ip', 'bridge', 'ss'], true, 'emu teardown (real kernel)', () => {
  const s = parseScenario('teardown.yaml', 'name: teardown\nhosts:\n  r0: {}\n  r1: {}\nsteps:\n  - r0: docker swarm init\n  - r1: docker swarm join --token <...> 198.51.100.10:2377\n');
  /** The swarm's setup, applied as a run applies it (the steps deferred, then settled). */
  async function swarm(backend: EmuBackend): Promise<Model> {
    const model = new Model(s.hosts, 1);
    await backend.apply(model.boot(), model.world);
    for (const step of s.steps) await backend.apply(dockerStep(model, step.on, step.command.split(' ').slice(1)).ops, model.world);
    await backend.settle();
    return model;
  }
  /** The run's socket holders (listeners.ts), by the pids its record holds. */
  const holders = (backend: EmuBackend) => backend.record.state.pids.filter((pid) => execFileSync('cat', [`/proc/${pid}/cmdline`], { encoding: 'utf8' }).includes('cnmlab-listener'));

  test("closing right after a command does not wait for a worker's socket holder still waiting for its manager", async () => {
    const backend = await EmuBackend.create(s, { quiet: true });
    try {
      const model = await swarm(backend);
      // A command on r0 waits for r0's holder and starts r1's in the background.
      await backend.exec('r0', 'r0', ['ss', '-ltn'], { world: model.world, namesVisible: false });
      expect(holders(backend)).toHaveLength(1);
    } finally {
      // Closing kills the manager's holder, and the worker's would wait two seconds for a
      // session before it says it is ready.
      const t0 = Date.now();
      await backend.close();
      expect(Date.now() - t0).toBeLessThan(1500);
    }
  });

  test('a lab that only sets up starts no socket holder; the first command starts every node\'s', async () => {
    const backend = await EmuBackend.create(s, { quiet: true });
    try {
      const model = await swarm(backend);
      expect(backend.record.state.pids).toEqual([]);
      const r = await backend.exec('r1', 'r1', ['ss', '-ltn'], { world: model.world, namesVisible: false });
      // Recv-Q is the moment's accept queue: r0's holder may have connected before r1's accepted it.
      expect(r.stdout).toMatch(/LISTEN +\d+ +4096 +\*:7946 /);
      expect(holders(backend)).toHaveLength(1);
    } finally {
      await backend.close();
    }
  });
});
