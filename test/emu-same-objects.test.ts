/**
 * emu makes devices directly in the namespaces they end up in and numbers them itself
 * (emu/ifindex.ts); libnetwork makes them in the host namespace and moves them, and the
 * kernel numbers them. The kernel is the judge: each lab's docker steps, kept by emu, and
 * `cnmlab explain`'s commands run one by one in plan order (test/helpers/explain-script.ts),
 * must leave the same objects in every namespace: devices with their indexes, peers,
 * masters and attributes, addresses, routes, static neighbours and FDB entries, iptables and
 * sysctls. Only what the kernel draws at random (MAC addresses nobody sets, the link-local
 * addresses and bridge ids made from them, timers) is masked.
 */
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { describeWith, REPO } from './helpers/env';
import { explainScript } from './helpers/explain-script';

const CLI = path.join(REPO, 'bin', 'cnmlab.js');
// Runs kept here are this file's alone: its `cnmlab clean` meets no other suite's.
const STATE = fs.mkdtempSync(path.join(os.tmpdir(), 'cnmlab-same-objects-'));
const env = { ...process.env, CNMLAB_STATE_DIR: STATE };

const sh = (argv: string[]) => execFileSync(argv[0], argv.slice(1), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

/** A scenario of the lab's docker steps only: what a step's own program does to the kernel is not the plan's. */
function dockerSteps(lab: string, dir: string): string {
  const text = fs.readFileSync(path.join(REPO, 'scenarios', `${lab}.yaml`), 'utf8');
  const hosts = /^hosts:\n((?: {2}.*\n)+)/m.exec(text)![1];
  const steps = [...text.matchAll(/^ {2}- (\w+): (docker .*)$/gm)].map((m) => `  - ${m[1]}: ${m[2]}\n`);
  const file = path.join(dir, `${lab}.yaml`);
  fs.writeFileSync(file, `name: ${lab}\nhosts:\n${hosts}steps:\n${steps.join('')}`);
  return file;
}

const MAC = /\b(?:[0-9a-f]{1,2}:){5}[0-9a-f]{1,2}\b/g;
// Multicast and broadcast addresses are the kernel's own and fixed; a random unicast MAC may begin 02:42 by chance (1 in 16,384).
const FIXED_MAC = /^(?:33:33:00|0?1:0?0:5e|ff:ff)/;

/** What every namespace of a prefix holds, random parts masked (every unicast MAC the plan does not set), each section's lines sorted. */
function kernelObjects(prefix: string, planMacs: Set<string>): Record<string, Record<string, string[]>> {
  // A device's operational state follows its carrier on the kernel's linkwatch work, up to a second late (a bridge turns UP once a port forwards).
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1500);
  const namespaces = sh(['ip', 'netns', 'list']).split('\n').map((l) => l.split(' ')[0]).filter((n) => n.startsWith(`${prefix}.`)).sort();
  const mask = (text: string) => text.split(`${prefix}.`).join('PREFIX.').replace(MAC, (mac) => (planMacs.has(mac) || FIXED_MAC.test(mac) ? mac : 'MAC')).replace(/33:33:ff:MAC|33:33:ff(?::[0-9a-f]{2}){3}/g, '33:33:ff:X')
    .replace(/(\w+_timer)\s+[\d.]+/g, '$1 T').replace(/fe80::[0-9a-f:]+/g, 'fe80::X').replace(/ tentative/g, '');
  const lines = (text: string) => mask(text).split('\n').filter((l) => l.trim() !== '').sort();
  const out: Record<string, Record<string, string[]>> = {};
  for (const ns of namespaces) {
    const inNs = (argv: string[]) => sh(['ip', 'netns', 'exec', ns, ...argv]);
    out[ns.slice(prefix.length + 1)] = {
      link: lines(sh(['ip', '-n', ns, '-d', 'link'])),
      addr: lines(sh(['ip', '-n', ns, 'addr'])),
      route: lines(sh(['ip', '-n', ns, 'route'])),
      // What traffic taught (learned entries, resolved neighbours) is not the plan's.
      neigh: lines(sh(['ip', '-n', ns, 'neigh'])).filter((l) => l.includes('PERMANENT')),
      fdb: lines(sh(['bridge', '-n', ns, 'fdb'])).filter((l) => l.includes('permanent') || l.includes('static')),
      iptables: lines(inNs(['iptables-save'])).filter((l) => !l.startsWith('#')).map((l) => l.replace(/\[\d+:\d+\]/, '[0:0]')),
      sysctl: lines(inNs(['sysctl', 'net.ipv6.conf.all.disable_ipv6', 'net.ipv6.conf.default.disable_ipv6', 'net.ipv4.ip_forward'])),
    };
  }
  return out;
}

describeWith(['ip', 'bridge', 'iptables-save', 'tcpdump', 'ping'], true, 'emu makes the objects explain\'s commands make, one by one', () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cnmlab-same-objects-'));
  });
  afterAll(() => {
    spawnSync(process.execPath, [CLI, 'clean'], { env, stdio: 'ignore' });
    fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(STATE, { recursive: true, force: true });
  });

  test.each(['overlay-standalone', 'two-overlays', 'bridge-local'])('%s: the same devices, numbered alike, and the same addresses, routes, entries, rules and sysctls; a device made afterwards in the kept lab numbered alike too', (lab) => {
    const file = dockerSteps(lab, dir);
    const explained = sh([process.execPath, CLI, 'explain', file]);
    const script = explainScript(explained);
    const planMacs = new Set(explained.match(MAC) ?? []);
    try {
      const r = spawnSync('bash', ['-e'], { input: script.lines.join('\n') + '\n', encoding: 'utf8' });
      expect(r.stderr).toBe('');
      const oneByOne = kernelObjects(script.names.prefix, planMacs);
      const kept = spawnSync(process.execPath, [CLI, 'run', file, '--mode', 'emu', '--keep'], { env, encoding: 'utf8' });
      expect(kept.status).toBe(0);
      const prefix = /kept lab (cnm[0-9a-f]{6})/.exec(kept.stdout)![1];
      const emu = kernelObjects(prefix, planMacs);
      // A kept lab's user may make a device: each namespace's kernel counter must give it the index it gets after the moves.
      const nextIndex = (ns: string) => {
        sh(['ip', '-n', ns, 'link', 'add', 'probe0', 'type', 'bridge']);
        return sh(['ip', '-n', ns, '-o', 'link', 'show', 'probe0']).split(':')[0];
      };
      const probed = Object.keys(emu).map((ns) => [ns, nextIndex(`${prefix}.${ns}`), nextIndex(`${script.names.prefix}.${ns}`)]);
      spawnSync(process.execPath, [CLI, 'clean'], { env, stdio: 'ignore' });
      expect(Object.keys(emu).length).toBeGreaterThan(3);
      expect(emu).toEqual(oneByOne);
      for (const [ns, kept, moved] of probed) expect({ ns, index: kept }).toEqual({ ns, index: moved });
    } finally {
      for (const ns of [...script.namespaces].reverse()) spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
    }
  }, 120_000);
});
