/**
 * `cnmlab explain` prints what emu runs: its commands for the seed lab, executed one by one
 * in fresh namespaces under a private prefix, build the layout an emu run of the same lab
 * builds, namespace by namespace and name for name (links, addresses, permanent neighbours,
 * static FDB entries, the netfilter rules). Root only; nothing runs in the root namespace but
 * `ip netns add/del` (a host's own `iptables …` line runs inside that host's namespace;
 * test/helpers/explain-script.ts turns explain's text into those commands).
 */
import { execFileSync, spawnSync } from 'child_process';
import * as path from 'path';
import { describeWith, REPO } from './helpers/env';
import { cnmlab } from './helpers/tshark';
import { loadScenario } from '../sim/scenario/load';
import { runScenario } from '../sim/runner/runner';
import { EmuBackend } from '../emu/backend';
import { explainScript } from './helpers/explain-script';

const SEED = path.join(REPO, 'scenarios', 'overlay-standalone.yaml');

type Json = Record<string, unknown>;

const json = (tool: string, argv: string[]): Json[] => JSON.parse(execFileSync(tool, argv, { encoding: 'utf8' }) || '[]');

/** Docker's own MAC addresses (the plan sets them); the kernel draws the others at random. */
const planned = (mac: unknown) => typeof mac === 'string' && mac.startsWith('02:42:');

/** Bridge attributes that hold a random MAC or a running timer. */
const UNSTABLE = /timer|_id$|^root_|^topology_change/;

function link(l: Json): Json {
  const info = (l.linkinfo ?? {}) as Json;
  const data = Object.fromEntries(Object.entries((info.info_data ?? {}) as Json).filter(([k, v]) => typeof v !== 'object' && !UNSTABLE.test(k)));
  return {
    ifname: l.ifname, mtu: l.mtu, master: l.master, link: l.link, type: l.link_type,
    // Carrier follows the link's age, not the layout.
    flags: (l.flags as string[]).filter((f) => f !== 'LOWER_UP' && f !== 'NO-CARRIER' && f !== 'M-DOWN'),
    address: planned(l.address) ? l.address : undefined, kind: info.info_kind, data, port: info.info_slave_kind,
  };
}

/** One namespace's layout, ordered by name. */
function layout(ns: string): Json {
  const byName = (a: Json, b: Json) => JSON.stringify(a).localeCompare(JSON.stringify(b));
  return {
    links: json('ip', ['-n', ns, '-d', '-j', 'link', 'show']).map(link).sort(byName),
    addrs: json('ip', ['-n', ns, '-j', 'addr', 'show']).flatMap((l) => ((l.addr_info ?? []) as Json[]).filter((a) => a.family === 'inet')
      .map((a) => ({ dev: l.ifname, local: a.local, prefixlen: a.prefixlen, broadcast: a.broadcast, scope: a.scope }))).sort(byName),
    neigh: json('ip', ['-n', ns, '-j', 'neigh', 'show', 'nud', 'permanent']).map((n) => ({ dst: n.dst, dev: n.dev, lladdr: n.lladdr, state: n.state })).sort(byName),
    // What the bridge learned from traffic, and its ports' own random MACs, are no part of the plan.
    fdb: json('bridge', ['-n', ns, '-j', 'fdb', 'show']).filter((f) => f.dst !== undefined || (planned(f.mac) && !!f.state))
      .map((f) => ({ mac: f.mac, dev: f.ifname, dst: f.dst, master: f.master, flags: f.flags, state: f.state })).sort(byName),
    // The rules without iptables-save's dates and counters.
    netfilter: execFileSync('ip', ['netns', 'exec', ns, 'iptables-save'], { encoding: 'utf8' }).split('\n').filter((l) => !l.startsWith('#')).map((l) => l.replace(/ \[\d+:\d+\]$/, '')),
  };
}

/** Every namespace under prefix p, by its name without the prefix. */
function layouts(p: string): Record<string, Json> {
  const all = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }).split('\n').map((l) => l.split(' ')[0]).filter((n) => n.startsWith(`${p}.`)).sort();
  return Object.fromEntries(all.map((ns) => [ns.slice(p.length + 1), layout(ns)]));
}

describe('explain of a step that is itself a kernel change', () => {
  test("says the step's own command changes the kernel (no op of libnetwork's), where other steps without ops change nothing", () => {
    const r = cnmlab(['explain', 'scenarios/ipvlan-l3.yaml']);
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain("# step 10: r0$ ip route add 10.9.2.0/24 via 198.51.100.11\n    (none of libnetwork's: the step's own command changes the kernel, as typed)\n");
    expect(r.stdout).toContain('# step 12: c0$ ping -c 2 10.9.2.21\n    (no kernel changes)\n');
  });
});

describeWith(['ip', 'bridge', 'tcpdump', 'ping'], true, 'explain builds what emu builds (real kernel)', () => {
  // Not an emu run's prefix (cnm + 6 hex digits), so `cnmlab clean` never takes these for a run's.
  const prefix = `cnmx${process.pid}`;
  let made: string[] = [];
  afterAll(() => {
    for (const ns of made.reverse()) spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
  });

  test('the seed lab: explain\'s commands and an emu run give the same namespaces, links, addresses, neighbours, FDB and rules', async () => {
    const explained = cnmlab(['explain', SEED]);
    expect(explained.stderr).toBe('');
    expect(explained.status).toBe(0);
    const script = explainScript(explained.stdout, prefix);
    made = script.namespaces;
    const ran = spawnSync('bash', ['-e'], { input: script.lines.join('\n') + '\n', encoding: 'utf8' });
    // Lines explain marks `|| true` may complain; the script fails only where one that must not fail did.
    expect(ran.status === 0 ? '' : ran.stderr).toBe('');
    const fromExplain = layouts(prefix);

    const s = loadScenario(SEED);
    const emu = await EmuBackend.create(s, { quiet: true });
    let fromEmu: Record<string, Json>;
    try {
      await runScenario(s, emu);
      fromEmu = layouts(emu.names.prefix);
    } finally {
      await emu.close();
    }
    expect(Object.keys(fromExplain).length).toBeGreaterThan(8);
    // The container's eth0 has the overlay's MTU, as in Docker: the renderer gives the veth peer the MTU too.
    const sandbox = Object.entries(fromExplain).find(([, l]) => (l.addrs as Json[]).some((a) => a.dev === 'eth0' && a.local === '10.0.1.2'));
    expect((sandbox?.[1].links as Json[]).find((l) => l.ifname === 'eth0')).toMatchObject({ mtu: 1450, address: '02:42:0a:00:01:02' });
    expect(sandbox?.[1].netfilter).toContain('-A OUTPUT -d 127.0.0.11/32 -j DOCKER_OUTPUT');
    expect(fromExplain.r0.netfilter).toContain(':FORWARD DROP');
    expect(fromExplain).toEqual(fromEmu);
  });
});
