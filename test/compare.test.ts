/**
 * `cnmlab compare`: the drivers it is given, refused by name when not implemented; the
 * facts of each driver's run read off its trace; the bundle viz draws one tab per driver.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { execFileSync } from 'child_process';
import { agreeWithTshark, badChecksums, cnmlab } from './helpers/tshark';
import { compared, partsFor } from '../sim/compare';
import { describeWith, REPO } from './helpers/env';
import { normaliseOutput } from '../sim/trace/compare';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'cnmlab-compare-'));
process.env.CNMLAB_STATE_DIR = fs.mkdtempSync(path.join(os.tmpdir(), 'cnmlab-compare-state-'));

describe('cnmlab compare', () => {
  test('an unknown driver is refused by name, with the registered parts, exit 2, one line', () => {
    // The registry's parts, in its order; the first ten are the ones it began with.
    expect(compared().slice(0, 10)).toEqual(['overlay', 'overlay-kv', 'flannel-vxlan', 'flannel-host-gw', 'calico-bgp', 'calico-ipip', 'calico-vxlan', 'weave-fastdp', 'weave-sleeve', 'macvlan']);
    for (const [drivers, line] of [
      ['overlay,weave', `--drivers: unknown driver "weave" (expected some of ${compared().join(', ')})`],
    ]) {
      const r = cnmlab(['compare', '--drivers', drivers]);
      expect(r.status).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toContain(line);
    }
    expect(partsFor(' ,')).toBe('--drivers: expected a comma-separated list of drivers');
  });

  test('without --drivers: every registered part, in the order the help names them, each ping answered', () => {
    const r = cnmlab(['compare', '--json']);
    expect(r.status).toBe(0);
    const drivers: { driver: string; ok: boolean }[] = JSON.parse(r.stdout).drivers;
    expect(drivers.map((d) => d.driver)).toEqual(compared());
    expect(drivers.every((d) => d.ok)).toBe(true);
  });

  test("macvlan's row: five steps, the parent's MTU, TTL 64 (L2), the packet itself on the wire (no overhead, no outer header), the peer answers its own ARP, no control plane", () => {
    const r = cnmlab(['compare', '--drivers', 'macvlan', '--json']);
    expect(r.status).toBe(0);
    const [m] = JSON.parse(r.stdout).drivers;
    expect(m).toMatchObject({
      driver: 'macvlan', ok: true, steps: [1, 2, 3, 4, 5], containerMtu: 1500, ttl: 64, layer: 'L2',
      underlayBytes: 98, containerBytes: 98, overhead: 0, outer: 'none (the packet itself, unencapsulated)',
      arp: '10.9.0.3 is-at 02:42:0a:09:00:03: the peer container itself',
    });
    expect(m.devices).toEqual(['r0:eth0', 'underlay:segment', 'r1:eth0']);
    expect(m.peersFrom).toMatch(/^none/);
  });

  test("ipvlan-l3's row: the hosts' routes the part adds by `ip route add` carry the ping; five steps, no gateway, no ARP of the containers' own (NOARP), TTL 64 (the host's namespace sends it as its own), the packet itself on the wire", () => {
    const r = cnmlab(['compare', '--drivers', 'ipvlan-l3', '--json']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const [l3] = JSON.parse(r.stdout).drivers;
    expect(l3).toMatchObject({
      driver: 'ipvlan-l3', ok: true, steps: [1, 2, 3, 4, 5], containerMtu: 1500, ttl: 64,
      underlayBytes: 98, containerBytes: 98, overhead: 0, outer: 'none (the packet itself, unencapsulated)',
    });
    expect(l3.gateway).toBeUndefined();
    expect(l3.arp).toBeUndefined();
    expect(l3.devices).toEqual(['r0:eth0', 'underlay:segment', 'r1:eth0']);
    expect(l3.peersFrom).toMatch(/^the user's routes: `ip route add`/);
  });

  test("the overlay's row: its eight steps, MTU 1450, TTL 64 (L2), 148 bytes on the wire for a 98-byte frame, UDP 4789 with the network's VNI, peers from gossip", () => {
    const r = cnmlab(['compare', '--drivers', 'overlay', '--json']);
    expect(r.status).toBe(0);
    const [o] = JSON.parse(r.stdout).drivers;
    expect(o).toMatchObject({
      driver: 'overlay', ok: true, steps: [1, 2, 3, 4, 5, 6, 7, 8], containerMtu: 1450, ttl: 64, layer: 'L2',
      underlayBytes: 148, containerBytes: 98, overhead: 50, outer: 'UDP 4789 (VXLAN, VNI 4097)',
    });
    expect(o.arp).toMatch(/^10\.0\.1\.\d+ is-at 02:42:0a:00:01:\w\w: the peer container itself, by proxy \(vxlan0\)$/);
    expect(o.peersFrom).toMatch(/^gossip/);
    expect(o.devices[0]).toBe('r0:eth0');
    expect(o.devices).toContain('underlay:segment');
  });

  test("the classic overlay's row: the overlay's eight steps and bytes, the first VNI of the store's allocator (256), peers from serf", () => {
    const r = cnmlab(['compare', '--drivers', 'overlay-kv', '--json']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const [o] = JSON.parse(r.stdout).drivers;
    expect(o).toMatchObject({
      driver: 'overlay-kv', ok: true, steps: [1, 2, 3, 4, 5, 6, 7, 8], containerMtu: 1450, ttl: 64, layer: 'L2',
      underlayBytes: 148, containerBytes: 98, overhead: 50, outer: 'UDP 4789 (VXLAN, VNI 256)',
    });
    expect(o.arp).toMatch(/^10\.0\.0\.3 is-at 02:42:0a:00:00:03: the peer container itself, by proxy \(vxlan0\)$/);
    expect(o.peersFrom).toMatch(/^serf/);
  });

  test("weave-sleeve's row: eight steps, ethwe0's MTU 65535, TTL 64 (L2), the remote container answers its own ARP, 62 bytes more in UDP 6783, peers from the data plane", () => {
    const r = cnmlab(['compare', '--drivers', 'weave-sleeve', '--json']);
    expect(r.status).toBe(0);
    const [w] = JSON.parse(r.stdout).drivers;
    expect(w).toMatchObject({
      driver: 'weave-sleeve', ok: true, steps: [1, 2, 3, 4, 5, 6, 7, 8], containerMtu: 65535, ttl: 64, layer: 'L2',
      underlayBytes: 160, containerBytes: 98, overhead: 62, outer: "UDP 6783 (the router's own framing)",
    });
    expect(w.arp).toMatch(/^10\.(32|40)\.0\.[01] is-at \S+: the peer container itself$/);
    expect(w.peersFrom).toMatch(/^the data plane/);
    expect(w.devices).toEqual(expect.arrayContaining(['r0:ethwe0', 'r0:vethwe-pcap', 'underlay:segment', 'r1:vethwe-pcap', 'r1:ethwe0']));
  });

  test("weave-fastdp's row: eight steps, MTU 1376, TTL 64 (L2), 50 bytes more in UDP 6784 with a VNI made of the peers' short ids", () => {
    const r = cnmlab(['compare', '--drivers', 'weave-fastdp', '--json']);
    expect(r.status).toBe(0);
    const [w] = JSON.parse(r.stdout).drivers;
    expect(w).toMatchObject({ driver: 'weave-fastdp', ok: true, steps: [1, 2, 3, 4, 5, 6, 7, 8], containerMtu: 1376, ttl: 64, layer: 'L2', underlayBytes: 148, containerBytes: 98, overhead: 50 });
    expect(w.outer).toMatch(/^UDP 6784 \(VXLAN, VNI \d+\)$/);
    expect(w.devices).toEqual(expect.arrayContaining(['r0:ethwe0', 'r0:datapath', 'r0:eth0', 'underlay:segment', 'r1:datapath', 'r1:ethwe0']));
  });

  test("flannel's rows: routed twice (TTL 62, L3), docker0 answers the ARP for its own address; vxlan adds 50 bytes in UDP 8472 with VNI 1 at MTU 1450, host-gw nothing at 1500; peers from etcd", () => {
    const r = cnmlab(['compare', '--drivers', 'flannel-vxlan,flannel-host-gw', '--json']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const [vx, hg] = JSON.parse(r.stdout).drivers;
    expect(vx).toMatchObject({
      driver: 'flannel-vxlan', ok: true, steps: [1, 2, 3, 4, 5, 6, 7, 8, 9], containerMtu: 1450, gateway: '10.5.1.1', ttl: 62, layer: 'L3',
      underlayBytes: 148, containerBytes: 98, overhead: 50, outer: 'UDP 8472 (VXLAN, VNI 1)',
    });
    expect(vx.devices).toEqual(expect.arrayContaining(['r0:flannel.1', 'underlay:segment', 'r1:flannel.1']));
    expect(vx.arp).toMatch(/^10\.5\.1\.1 is-at 02:42:\S+: the gateway itself \(its own address\)$/);
    expect(vx.peersFrom).toMatch(/^etcd/);
    expect(hg).toMatchObject({
      driver: 'flannel-host-gw', ok: true, steps: [1, 2, 3, 4, 5, 6], containerMtu: 1500, gateway: '10.5.1.1', ttl: 62, layer: 'L3',
      underlayBytes: 98, containerBytes: 98, overhead: 0, outer: 'none (the packet itself, unencapsulated)',
    });
    expect(hg.devices).not.toContain('r0:flannel.1');
  });

  test("flannel's captures decode in tshark as cnmlab decodes them (VXLAN on 8472 through tshark's decode-as), with no bad checksum", () => {
    const dir = tmp();
    expect(cnmlab(['run', 'scenarios/flannel-vxlan.yaml', '--pcap-dir', dir]).status).toBe(0);
    const files = fs.readdirSync(dir);
    expect(files).toEqual(expect.arrayContaining(['r0-r0-eth0.pcap', 'r0-r0-flannel.1.pcap']));
    for (const f of files) {
      expect(agreeWithTshark(path.join(dir, f))).toMatch(/^agree (\d+)\/\1 frames/);
      expect(badChecksums(path.join(dir, f))).toBe('');
    }
    const vni = execFileSync('tshark', ['-d', 'udp.port==8472,vxlan', '-r', path.join(dir, 'r0-r0-eth0.pcap'), '-Y', 'vxlan.vni == 1 && icmp', '-T', 'fields', '-e', 'ip.ttl'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    // Outer TTL 64, inner 63: the request routed once on its way into flannel.1; the reply's inner 63 too.
    expect(vni.split('\n').filter(Boolean).every((l) => l === '64,63')).toBe(true);
  });

  // Each driver's lab as its own capture on r0's underlay interface shows it: the echo's protocols as tshark names them.
  const ON_THE_WIRE: [string, string][] = [
    ['overlay-standalone', 'eth:ethertype:ip:udp:vxlan:eth:ethertype:ip:icmp:data'],
    ['flannel-vxlan', 'eth:ethertype:ip:udp:vxlan:eth:ethertype:ip:icmp:data'],
    ['flannel-host-gw', 'eth:ethertype:ip:icmp:data'],
    ['calico-bgp', 'eth:ethertype:ip:icmp:data'],
    ['calico-ipip', 'eth:ethertype:ip:ip:icmp:data'],
    ['calico-vxlan', 'eth:ethertype:ip:udp:vxlan:eth:ethertype:ip:icmp:data'],
  ];
  test.each(ON_THE_WIRE)("%s's captures of r0's own devices (its underlay interface, tunnel, container ports) decode in tshark as cnmlab decodes them, no bad checksum; on the underlay the echo is %s", (lab, stack) => {
    const dir = tmp();
    expect(cnmlab(['run', `scenarios/${lab}.yaml`, '--pcap-dir', dir]).status).toBe(0);
    for (const f of fs.readdirSync(dir).filter((name) => name.startsWith('r0-r0-'))) {
      expect(agreeWithTshark(path.join(dir, f))).toMatch(/^agree (\d+)\/\1 frames/);
      expect(badChecksums(path.join(dir, f))).toBe('');
    }
    const wire = (decodeAs: string[]) => execFileSync('tshark', [...decodeAs, '-r', path.join(dir, 'r0-r0-eth0.pcap'), '-Y', 'icmp.type == 8 || icmp.type == 0', '-T', 'fields', '-e', 'frame.protocols', '-e', 'ip.proto'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
      .split('\n').filter(Boolean);
    const echoes = wire(['-d', 'udp.port==8472,vxlan']);
    expect(echoes.length).toBeGreaterThan(0);
    // IP in IP is IP protocol 4 in the outer header (1, ICMP, in the inner).
    expect(new Set(echoes)).toEqual(new Set([`${stack}\t${stack.includes(':ip:ip:') ? '4,1' : stack.includes('udp') ? '17,1' : '1'}`]));
    // Flannel's VXLAN is on the kernel's port 8472: without the decode-as tshark sees UDP data, and no echo.
    if (lab === 'flannel-vxlan') expect(wire([])).toEqual([]);
  }, 120_000);

  test("Calico's rows: routed twice (TTL 62), the gateway 169.254.1.1 answered by proxy, 0, 20 or 50 bytes more on the wire, the outer protocol, peers from BGP or the datastore", () => {
    const r = cnmlab(['compare', '--drivers', 'calico-bgp,calico-ipip,calico-vxlan', '--json']);
    expect(r.status).toBe(0);
    const [bgp, ipip, vxlan] = JSON.parse(r.stdout).drivers;
    const common = { ok: true, containerMtu: 1500, gateway: '169.254.1.1', ttl: 62, containerBytes: 98 };
    expect(bgp).toMatchObject({ ...common, driver: 'calico-bgp', steps: [1, 2, 3, 5, 6, 7, 8], underlayBytes: 98, overhead: 0 });
    expect(ipip).toMatchObject({ ...common, driver: 'calico-ipip', steps: [1, 2, 3, 4, 5, 6, 7, 8], underlayBytes: 118, overhead: 20, outer: 'IP protocol 4 (IPIP)' });
    expect(vxlan).toMatchObject({ ...common, driver: 'calico-vxlan', steps: [1, 2, 3, 4, 5, 6, 7, 8], underlayBytes: 148, overhead: 50, outer: 'UDP 4789 (VXLAN, VNI 4096)' });
    for (const row of [bgp, ipip, vxlan]) expect(row.arp).toMatch(/^169\.254\.1\.1 is-at [0-9a-f:]{17}: the gateway, by proxy \(cali[0-9a-f]{11}\)$/);
    expect([bgp.peersFrom, ipip.peersFrom, vxlan.peersFrom].map((p: string) => p.split(' ')[0])).toEqual(['BGP', 'BGP', 'the']);
    expect(ipip.devices).toEqual(expect.arrayContaining(['r0:tunl0', 'r1:tunl0']));
    expect(vxlan.devices).toEqual(expect.arrayContaining(['r0:vxlan.calico', 'r1:vxlan.calico']));
  });

  test("FILE lends its hosts: the table names them, and --trace writes a bundle viz turns into one tab per driver", () => {
    const dir = tmp();
    const file = path.join(dir, 'hosts.yaml');
    fs.writeFileSync(file, 'name: two\nhosts:\n  alpha: { underlay: 203.0.113.5 }\n  beta: { underlay: 203.0.113.6 }\nsteps:\n  - alpha: docker info\n');
    const bundle = path.join(dir, 'compare.json');
    const r = cnmlab(['compare', file, '--drivers', 'overlay,overlay', '--trace', bundle]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^DRIVER +STEPS +MTU +GATEWAY +TTL +LAYER +UNDERLAY BYTES +OVERHEAD +OUTER\n/);
    expect(r.stdout).toContain('alpha:eth0');
    expect(r.stdout).toContain('path of ping-1');
    const doc = JSON.parse(fs.readFileSync(bundle, 'utf8'));
    expect(doc.format).toBe('cnmlab-compare/1');
    expect(doc.lab.hosts).toEqual([{ name: 'alpha', underlay: '203.0.113.5' }, { name: 'beta', underlay: '203.0.113.6' }]);
    expect(doc.runs.map((x: { driver: string }) => x.driver)).toEqual(['overlay', 'overlay']);
    const html = path.join(dir, 'report.html');
    const v = cnmlab(['viz', bundle, '-o', html]);
    expect(v.status).toBe(0);
    expect(v.stderr).toContain('2 driver tab(s)');
    const page = fs.readFileSync(html, 'utf8');
    expect(page).toContain('<nav id="tabs" role="tablist" aria-label="drivers"></nav>');
    expect(page).toContain('"format":"cnmlab-compare/1"');
  });

  test('a bundle whose run holds no trace is refused in one line, exit 2', () => {
    const dir = tmp();
    const bad = path.join(dir, 'bad.json');
    fs.writeFileSync(bad, JSON.stringify({ format: 'cnmlab-compare/1', runs: [{ driver: 'overlay', trace: { format: 'nope' } }] }));
    const v = cnmlab(['viz', bad, '-o', path.join(dir, 'r.html')]);
    expect(v.status).toBe(2);
    expect(v.stderr).toMatch(/bad\.json: runs\[0\] is not a driver's run with a cnmlab-trace\/1 trace/);
  });

  test('README documents compare and the decode-as note for VXLAN on 8472', () => {
    const readme = fs.readFileSync(path.join(REPO, 'README.md'), 'utf8');
    expect(readme).toContain('cnmlab compare');
    expect(readme).toContain('-d udp.port==8472,vxlan');
  });
});

describeWith(['ip', 'bridge', 'tcpdump', 'ping', 'etcd', 'etcdctl', 'bird', 'birdc', 'busybox'], true, 'cnmlab compare --mode emu (real kernel)', () => {
  test("emu's table is sim's for every driver the kernel runs (who answers the container's ARP too, its MAC when the kernel picks it aside); one it cannot run gets a row saying so", () => {
    const drivers = 'overlay,flannel-vxlan,flannel-host-gw,calico-bgp,calico-ipip,calico-vxlan';
    const emu = cnmlab(['compare', '--drivers', drivers, '--mode', 'emu', '--json']);
    expect(emu.stderr).toBe('');
    expect(emu.status).toBe(0);
    const sim = cnmlab(['compare', '--drivers', drivers, '--json']);
    expect(sim.status).toBe(0);
    type Row = Record<string, unknown> & { driver: string; arp?: string; unavailable?: string };
    const rows = (out: string): Row[] => JSON.parse(out).drivers.map((r: Row) => ({ ...r, ...(r.arp ? { arp: normaliseOutput(r.arp) } : {}) }));
    const emuRows = rows(emu.stdout), simRows = rows(sim.stdout);
    expect(emuRows.map((r) => r.driver)).toEqual(simRows.map((r) => r.driver));
    for (const [i, row] of emuRows.entries()) {
      if (row.driver === 'calico-ipip' && row.unavailable) {
        expect(row.unavailable).toContain('CONFIG_NET_IPIP');
        continue;
      }
      expect(row).toEqual(simRows[i]);
      expect(row.arp).toMatch(/ is-at /);
    }
  }, 300_000);
});
