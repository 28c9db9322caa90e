/**
 * emu's confinement (emu/confine.ts) on its own, with real programs the registry would
 * never let through: what a step's program could do if it got that far. The machine must
 * not change, and each attempt must meet the read-only view, the missing capability, the
 * timeout or the output cap.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { describeWith } from './helpers/env';
import { TestNamespaces } from './helpers/netns';
import { Confinement, viewFstab } from '../emu/confine';
import { Model } from '../sim/model/model';
import { EXIT_OUTPUT_CUT, EXIT_TIMED_OUT, OUTPUT_CAP_BYTES, stepBounds } from '../sim/runner/bounds';
import { etcFile } from '../sim/model/etc';

/** Names, sizes and times of every entry under dir: what "nothing changed" compares. */
function tree(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      const st = fs.lstatSync(p);
      out.push(`${p} ${st.mode} ${st.size} ${st.mtimeMs}`);
      if (e.isDirectory() && !e.isSymbolicLink()) walk(p);
    }
  };
  walk(dir);
  return out.sort();
}

describe('view fstab', () => {
  test('binds every mount read-only under the root, parents first, and leaves /sys, /etc and the masked folders to the view', () => {
    const lines = viewFstab(['/', '/proc', '/sys', '/sys/fs/cgroup', '/etc/hosts', '/run/netns', '/run/netns/x', '/home/a b', '/dev', '/dev/shm'], '/v/root', '/v/etc', '/v/empty').split('\n');
    expect(lines[0]).toBe('/ /v/root none bind,ro,nosuid,private 0 0');
    expect(lines).toContain('/dev/shm /v/root/dev/shm none bind,ro,nosuid,private 0 0');
    expect(lines).toContain('/run/netns /v/root/run/netns none rbind,ro,nosuid,nodev 0 0');
    expect(lines).toContain('sysfs /v/root/sys sysfs ro,nosuid,nodev,noexec,private 0 0');
    expect(lines).toContain('/proc/sys/net /v/root/proc/sys/net none bind,rw,nosuid,nodev,noexec,private 0 0');
    expect(lines).toContain('/v/etc /v/root/etc none bind,ro,nosuid,nodev,private 0 0');
    expect(lines.filter((l) => l.startsWith('/sys') || l.startsWith('/etc/') || l.startsWith('/run/netns/') || l.startsWith('/home'))).toEqual([]);
  });
  test("a container's view shows /run/netns empty (no namespace names, so a veth's peer reads link-netnsid N as on the engine); a host's keeps them", () => {
    const mounts = ['/', '/run/netns'];
    expect(viewFstab(mounts, '/v/root', '/v/etc', '/v/empty', true).split('\n')).toContain('/v/empty /v/root/run/netns none bind,ro,nosuid,nodev,private 0 0');
    expect(viewFstab(mounts, '/v/root', '/v/etc', '/v/empty', false).split('\n')).toContain('/run/netns /v/root/run/netns none rbind,ro,nosuid,nodev 0 0');
  });
  test("a container's /proc/sys stays read-only, as runc mounts it; a host's /proc/sys/net is writable", () => {
    const mounts = ['/', '/proc'];
    expect(viewFstab(mounts, '/v/root', '/v/etc', '/v/empty', true)).not.toContain('/proc/sys/net');
    expect(viewFstab(mounts, '/v/root', '/v/etc', '/v/empty', false).split('\n')).toContain('/proc/sys/net /v/root/proc/sys/net none bind,rw,nosuid,nodev,noexec,private 0 0');
  });
});

describeWith(['ip', 'nsenter', 'unshare', 'setpriv', 'mount', 'ping'], true, 'emu confinement (real kernel)', () => {
  const ns = new TestNamespaces();
  let other: string;
  let stateDir: string;
  let marker: string;
  let confine: Confinement;
  let world: Model['world'];
  const run = (argv: string[], timeoutS = 5) => confine.run(ns.name('a'), { host: 'r9' }, world, argv, stepBounds(argv.join(' '), timeoutS));

  beforeAll(() => {
    ns.add('a');
    other = ns.add('other');
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cnmlab-confine-'));
    marker = fs.mkdtempSync(path.join(os.tmpdir(), 'cnmlab-marker-'));
    fs.writeFileSync(path.join(marker, 'keep'), 'x');
    confine = new Confinement(path.join(stateDir, 'views'), new Map());
    world = new Model([{ name: 'r9', underlay: '198.51.100.10' }], 1).world;
  });
  afterAll(async () => {
    await confine.releaseAll();
    ns.cleanup();
    fs.rmSync(stateDir, { recursive: true, force: true });
    fs.rmSync(marker, { recursive: true, force: true });
  });

  test('nothing a program does changes the machine; each attempt is refused by the view or a missing capability', async () => {
    const etcBefore = fs.readdirSync('/etc').sort();
    const markerBefore = tree(marker);
    const refused: [string[], RegExp][] = [
      [['touch', path.join(marker, 'new')], /Read-only file system/],
      [['rm', '-rf', marker], /Read-only file system/],
      [['touch', '/etc/cnmlab-confine-test'], /Read-only file system/],
      [['cp', '/etc/hostname', '/etc/passwd'], /Read-only file system/],
      [['cat', '/etc/shadow'], /No such file or directory/],
      [['ip', 'netns', 'exec', other, 'true'], /setting the network namespace .* failed: Operation not permitted/],
      [['nsenter', '-t', '1', '-n', 'true'], /Permission denied|Operation not permitted/],
      [['ip', 'link', 'add', 'cnmx0', 'type', 'veth', 'peer', 'name', 'cnmx1'], /^$/],
      [['mount', '-t', 'tmpfs', 'x', '/tmp'], /permission denied/i],
      [['sysctl', '-w', 'kernel.hostname=pwned'], /Read-only file system|denied/],
    ];
    for (const [argv, why] of refused) {
      const r = await run(argv);
      if (argv[1] === 'link') {
        // ip works, but only in the step's own namespace.
        expect(r.exitCode).toBe(0);
        continue;
      }
      expect({ argv, exit: r.exitCode === 0 ? 'succeeded' : 'refused' }).toEqual({ argv, exit: 'refused' });
      expect(r.stderr).toMatch(why);
    }
    expect(fs.readdirSync('/etc').sort()).toEqual(etcBefore);
    expect(tree(marker)).toEqual(markerBefore);
    expect(execFileSync('ip', ['-o', 'link'], { encoding: 'utf8' })).not.toContain('cnmx0');
    expect(execFileSync('hostname', { encoding: 'utf8' })).not.toContain('pwned');
    expect(ns.exec('a', ['ip', '-o', 'link'])).toContain('cnmx0');
  });

  test("sysctl -w changes the step's own namespace only (its /proc/sys/net is writable, the machine's and another namespace's stay as they were)", async () => {
    const machineBefore = fs.readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8');
    expect(await run(['sysctl', '-w', 'net.ipv4.ip_forward=1'])).toMatchObject({ stdout: 'net.ipv4.ip_forward = 1\n', exitCode: 0 });
    expect(ns.exec('a', ['sysctl', '-n', 'net.ipv4.ip_forward'])).toBe('1\n');
    expect(ns.exec('other', ['sysctl', '-n', 'net.ipv4.ip_forward'])).toBe('0\n');
    expect(fs.readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8')).toBe(machineBefore);
    expect((await run(['sysctl', '-w', 'net.ipv4.ip_forward=0'])).exitCode).toBe(0);
  });

  test('the view has its own /etc files and UTS name, and nothing of the machine\'s secrets', async () => {
    expect((await run(['hostname'])).stdout).toBe('r9\n');
    expect((await run(['cat', '/etc/hosts'])).stdout).toBe(etcFile(world, { host: 'r9' }, '/etc/hosts'));
    expect((await run(['ls', '/root', '/home'])).stdout).toBe('/home:\n\n/root:\n');
    const caps = (await run(['grep', '^Cap', '/proc/self/status'])).stdout;
    // net_admin (12), net_raw (13), setgid (6), setuid (7) and nothing more, none inheritable.
    expect(caps).toMatch(/CapEff:\t00000000000030c0/);
    expect(caps).toMatch(/CapBnd:\t00000000000030c0/);
    expect(caps).toMatch(/CapInh:\t0000000000000000/);
    expect((await run(['ip', '-o', 'link'])).stdout).not.toMatch(/: eth0|: ens|: enp/);
  });

  test('stdin is closed, a program that never ends is killed at the timeout with its whole process group, and output stops at the cap', async () => {
    const cat = await run(['cat']);
    expect(cat).toEqual({ stdout: '', stderr: '', exitCode: 0 });
    const t0 = Date.now();
    const endless = await run(['sh', '-c', 'sleep 4242 & sleep 4243'], 0.5);
    expect(Date.now() - t0).toBeLessThan(4000);
    expect(endless.exitCode).toBe(EXIT_TIMED_OUT);
    expect(endless.stderr).toBe("cnmlab: timed out after 0.5 s, its processes killed: sh -c sleep 4242 & sleep 4243\n");
    const left = execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' }).split('\n').filter((l) => /^sleep 424[23]$/.test(l));
    expect(left).toEqual([]);
    const flood = await run(['cat', '/dev/zero']);
    expect(flood.exitCode).toBe(EXIT_OUTPUT_CUT);
    expect(flood.stdout.length).toBe(OUTPUT_CAP_BYTES);
    expect(flood.stderr).toBe(`cnmlab: output cut at ${OUTPUT_CAP_BYTES} bytes, its processes killed: cat /dev/zero\n`);
  });

  test('a view whose network namespace goes is released first, so the namespace can be freed', async () => {
    await run(['true']);
    await confine.release(ns.name('a'));
    const holders = execFileSync('ps', ['-eo', 'pid,args'], { encoding: 'utf8' }).split('\n').filter((l) => l.includes('sleep infinity'));
    const ours = holders.filter((l) => {
      try {
        return fs.readlinkSync(`/proc/${l.trim().split(' ')[0]}/root`).startsWith(stateDir);
      } catch {
        return false;
      }
    });
    expect(ours).toEqual([]);
  });
});
