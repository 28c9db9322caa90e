/**
 * The namespace worker's own rtnetlink requests (emu/nsworker.ts ip_requests): a container's
 * `ip -batch` of the few commands it speaks is sent by the worker itself, with no `ip` process,
 * and must leave the kernel exactly as ip leaves it, and fail in ip's words. Each batch runs
 * once through the worker and once through ip in a twin namespace made the same way.
 */
import { execFileSync, spawnSync } from 'child_process';
import { randomBytes } from 'crypto';
import { describeWith } from './helpers/env';
import { MACHINE_NAMESPACE, runInNamespaces, useNamespaceWorker } from '../emu/nsworker';

const ip = (...args: string[]) => execFileSync('ip', args, { encoding: 'utf8' });

/** What `ip -batch -` itself does with the input in a namespace: its exit code and words. */
function byIp(netns: string, input: string, force = false): { code: number; output: string } {
  const r = spawnSync('ip', ['-n', netns, ...(force ? ['-force'] : []), '-batch', '-'], { input, encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' } });
  return { code: r.status ?? 1, output: r.stdout + r.stderr };
}

/** What `bridge -batch -` itself does with the input in a namespace. */
function byBridge(netns: string, input: string, force = false): { code: number; output: string } {
  const r = spawnSync('bridge', ['-n', netns, ...(force ? ['-force'] : []), '-batch', '-'], { input, encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' } });
  return { code: r.status ?? 1, output: r.stdout + r.stderr };
}

/** A namespace's forwarding entries, as bridge shows them. */
const fdb = (netns: string) => execFileSync('bridge', ['-n', netns, 'fdb', 'show'], { encoding: 'utf8' });

/**
 * Each forwarding entry's state as the kernel dumps it (bridge fdb show prints `permanent`
 * whether or not NUD_NOARP is set with it), read from the dump's messages as strace decodes them.
 */
function fdbStates(netns: string): string[] {
  const r = spawnSync('ip', ['netns', 'exec', netns, 'strace', '-v', '-s', '4096', '-e', 'trace=recvmsg', 'bridge', 'fdb', 'show'], { encoding: 'utf8' });
  return [...r.stderr.matchAll(/ndm_ifindex=([^,]+), ndm_state=([A-Z_|]+).*?NDA_LLADDR\}, ([0-9a-f:]+)/g)].map((m) => `${m[3]} ${m[1]} ${m[2]}`);
}

/** Everything of a namespace the batch can change, as ip shows it. */
function state(netns: string): string {
  return ['link', 'addr', 'route', 'neigh'].map((what) => ip('-n', netns, '-d', ...(what === 'route' ? ['route', 'show', 'table', 'all'] : [what, 'show']))).join('\n');
}

/**
 * Both namespaces' states once the kernel's linkwatch has set each device's operstate (it
 * does so later, on its own work, up to a second after a device comes up).
 */
async function states(a: string, b: string): Promise<[string, string]> {
  const deadline = Date.now() + 3000;
  let pair: [string, string] = [state(a), state(b)];
  while (pair[0] !== pair[1] && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
    pair = [state(a), state(b)];
  }
  return pair;
}

describeWith(['ip', 'perl', 'strace'], true, "namespace worker's rtnetlink requests (real kernel)", () => {
  const prefix = `cnm${randomBytes(3).toString('hex')}`;
  const worker = `${prefix}.nlworker`, twin = `${prefix}.nltwin`;
  let release: () => Promise<void>;

  /** Both namespaces afresh, with the devices a container's batch finds (made where they end up, as emu makes them). */
  const fresh = () => {
    for (const n of [worker, twin]) {
      spawnSync('ip', ['netns', 'del', n]);
      ip('netns', 'add', n);
      ip('-n', n, 'link', 'add', 'veth3a1b2c4', 'address', '0a:00:00:00:00:01', 'type', 'veth', 'peer', 'name', 'veth9f8e7d6', 'address', '0a:00:00:00:00:02');
      ip('-n', n, 'link', 'add', 'vethgw', 'address', '0a:00:00:00:00:03', 'type', 'veth', 'peer', 'name', 'vethgwpeer', 'address', '0a:00:00:00:00:04');
    }
  };

  beforeAll(() => {
    release = useNamespaceWorker();
  });
  afterAll(async () => {
    await release();
    for (const n of [worker, twin]) spawnSync('ip', ['netns', 'del', n]);
  });

  test("a container's batch: the same links, addresses (broadcast too, none past /30) and routes as ip makes, and no program started", async () => {
    fresh();
    const input = [
      'link set lo up',
      'link set dev veth3a1b2c4 name eth0',
      'link set dev eth0 address 02:42:0a:00:01:04',
      'addr add 10.0.1.4/24 brd + dev eth0',
      'link set dev eth0 up',
      'link set dev vethgw name eth1',
      'link set dev eth1 address 02:42:ac:12:00:03',
      'addr add 172.18.0.3/16 brd + dev eth1',
      'addr add 192.0.2.7/31 brd + dev eth1',
      'addr add 192.0.2.9/32 brd + dev eth1',
      'link set dev eth1 up',
      'route add default via 172.18.0.1 dev eth1',
    ].join('\n') + '\n';
    const [r] = await runInNamespaces([{ netns: worker, program: ['ip', '-batch', '-'], input }]);
    expect(r).toEqual({ code: 0, output: '', inProcess: true });
    expect(byIp(twin, input)).toEqual({ code: 0, output: '' });
    const [made, real] = await states(worker, twin);
    expect(made).toBe(real);
  });

  test("failures in ip's words: no such device, the kernel's errno, the kernel's own message; the batch stops there unless forced", async () => {
    fresh();
    const setup = 'link set dev veth3a1b2c4 name eth0\naddr add 10.0.1.4/24 brd + dev eth0\nlink set dev eth0 up\n';
    const cases = [
      'link set dev nosuchdevice up\nlink set lo up\n',
      'addr add 10.0.1.4/24 brd + dev eth0\nlink set lo up\n',
      'link set dev veth9f8e7d6 name eth0\nlink set lo up\n',
      'route add default via 203.0.113.1 dev eth0\nlink set lo up\n',
    ];
    await runInNamespaces([{ netns: worker, program: ['ip', '-batch', '-'], input: setup }]);
    byIp(twin, setup);
    for (const input of cases) {
      for (const force of [false, true]) {
        const [r] = await runInNamespaces([{ netns: worker, program: ['ip', ...(force ? ['-force'] : []), '-batch', '-'], input }]);
        const said = byIp(twin, input, force);
        expect({ input, force, code: r.code, output: r.output }).toEqual({ input, force, code: said.code, output: said.output });
        expect(r.inProcess).toBe(true);
        const [made, real] = await states(worker, twin);
        expect(made).toBe(real);
      }
    }
  });

  test("an overlay's batches: a port set up on its bridge, a peer's neighbour entry, and (bridge) its forwarding entry on the VXLAN device, as ip and bridge make them, and no program started", async () => {
    fresh();
    for (const n of [worker, twin]) {
      ip('-n', n, 'link', 'add', 'br0', 'type', 'bridge');
      ip('-n', n, 'link', 'add', 'vxlan0', 'address', '0a:00:00:00:00:05', 'type', 'vxlan', 'id', '4097', 'dstport', '4789');
    }
    const ipInput = 'link set dev veth3a1b2c4 master br0 up\nneigh replace 10.0.1.7 lladdr 02:42:0a:00:01:07 dev vxlan0 nud permanent\nneigh replace 10.0.1.7 lladdr 02:42:0a:00:01:08 dev vxlan0 nud permanent\n';
    const bridgeInput = 'fdb replace 02:42:0a:00:01:07 dev vxlan0 dst 198.51.100.11 self permanent\nfdb replace 02:42:0a:00:01:07 dev vxlan0 dst 198.51.100.12 self permanent\n';
    const [r, b] = await runInNamespaces([{ netns: worker, program: ['ip', '-batch', '-'], input: ipInput }, { netns: worker, program: ['bridge', '-batch', '-'], input: bridgeInput }]);
    expect(r).toEqual({ code: 0, output: '', inProcess: true });
    expect(b).toEqual({ code: 0, output: '', inProcess: true });
    expect(byIp(twin, ipInput)).toEqual({ code: 0, output: '' });
    expect(byBridge(twin, bridgeInput)).toEqual({ code: 0, output: '' });
    const [made, real] = await states(worker, twin);
    expect(made).toBe(real);
    expect(fdb(worker)).toBe(fdb(twin));
    expect(fdb(worker)).toContain('02:42:0a:00:01:07 dev vxlan0 dst 198.51.100.12 self permanent');
    expect(fdbStates(worker)).toEqual(fdbStates(twin));
    expect(fdbStates(worker)).toContain('02:42:0a:00:01:07 if_nametoindex("vxlan0") NUD_NOARP|NUD_PERMANENT');
    // Failures: a master or device that is not there (ip stops at once on a master it cannot find, forced or not).
    const cases = ['link set dev veth3a1b2c4 master nosuch up\nlink set lo up\n', 'link set dev nosuch master br0 up\nlink set lo up\n', 'neigh replace 10.0.1.9 lladdr 02:42:0a:00:01:09 dev nosuch nud permanent\nlink set lo up\n'];
    for (const input of cases) {
      for (const force of [false, true]) {
        const [f] = await runInNamespaces([{ netns: worker, program: ['ip', ...(force ? ['-force'] : []), '-batch', '-'], input }]);
        expect({ input, force, code: f.code, output: f.output, inProcess: f.inProcess }).toEqual({ input, force, ...byIp(twin, input, force), inProcess: true });
      }
    }
    const wrongDevice = 'fdb replace 02:42:0a:00:01:09 dev nosuch dst 198.51.100.13 self permanent\nfdb replace 02:42:0a:00:01:09 dev vxlan0 dst 198.51.100.13 self permanent\n';
    for (const force of [false, true]) {
      const [f] = await runInNamespaces([{ netns: worker, program: ['bridge', ...(force ? ['-force'] : []), '-batch', '-'], input: wrongDevice }]);
      expect({ force, code: f.code, output: f.output }).toEqual({ force, ...byBridge(twin, wrongDevice, force) });
    }
    const [made2, real2] = await states(worker, twin);
    expect(made2).toBe(real2);
    expect(fdb(worker)).toBe(fdb(twin));
  });

  test("any other command leaves the batch to ip; in the machine's namespace the worker sends nothing, and refuses all but `ip netns` batches as before", async () => {
    fresh();
    const [machine] = await runInNamespaces([{ netns: MACHINE_NAMESPACE, program: ['ip', '-batch', '-'], input: 'link set lo up\n' }]);
    expect(machine.code).toBe(126);
    expect(machine.inProcess).toBeUndefined();
    const [r] = await runInNamespaces([{ netns: worker, program: ['ip', '-batch', '-'], input: 'link set lo up\nlink set dev veth3a1b2c4 mtu 1450\n' }]);
    expect(r).toEqual({ code: 0, output: '' });
    expect(ip('-n', worker, 'link', 'show', 'dev', 'veth3a1b2c4')).toContain('mtu 1450');
  });
});
