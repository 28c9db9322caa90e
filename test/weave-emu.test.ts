/**
 * Weave Net's sleeve router in emu (root), on real namespaces. This machine's kernel has no
 * dummy devices, so emu refuses a lab with `weave launch` (whose vethwedu is one) before it
 * starts. The router itself needs none, so it is proved here on
 * the layout weave launch makes, built by hand: two hosts on a link, each with the weave
 * bridge, vethwe-bridge/vethwe-pcap and a container on the bridge. The ping crosses only
 * if the routers capture, flood, learn and inject; the datagrams are weave's sleeve, as
 * sim makes them.
 */
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { randomBytes } from 'crypto';
import { describeWith } from './helpers/env';
import { RunRecord } from '../emu/state';
import { WeaveRouters } from '../emu/weaver';
import { teardown } from '../emu/clean';
import { parseSleeve } from '../sim/wire/sleeve';
import { readCapture } from '../sim/pcap/reader';

const STATE = fs.mkdtempSync(path.join(os.tmpdir(), 'cnmlab-weave-state-'));
process.env.CNMLAB_STATE_DIR = STATE;

const prefix = `cnm${randomBytes(3).toString('hex')}`;
const ns = (n: string) => `${prefix}.${n}`;
const ip = (n: string, ...args: string[]) => execFileSync('ip', ['-n', ns(n), ...args], { stdio: 'pipe' });
const NAMES = { r0: '02:aa:00:00:00:01', r1: '02:aa:00:00:00:02' };
const ADDR = { r0: '198.51.100.10', r1: '198.51.100.11' };
const CTR = { r0: '10.32.0.1', r1: '10.40.0.0' };

describeWith(['ip', 'perl', 'tcpdump'], true, "weave's sleeve router in emu", () => {
  let record: RunRecord;
  let routers: WeaveRouters;

  beforeAll(async () => {
    record = new RunRecord(prefix, 'weave-emu', false);
    const all = ['r0', 'r1', 'c0', 'c1'];
    for (const n of all) execFileSync('ip', ['netns', 'add', ns(n)]);
    record.addNamespaces(all.map(ns));
    execFileSync('ip', ['link', 'add', `${prefix}a`, 'netns', ns('r0'), 'type', 'veth', 'peer', 'name', `${prefix}b`, 'netns', ns('r1')]);
    for (const [h, dev, c] of [['r0', `${prefix}a`, 'c0'], ['r1', `${prefix}b`, 'c1']] as const) {
      ip(h, 'link', 'set', dev, 'name', 'eth0');
      ip(h, 'addr', 'add', `${ADDR[h]}/24`, 'dev', 'eth0');
      ip(h, 'link', 'set', 'lo', 'up');
      ip(h, 'link', 'set', 'eth0', 'up');
      ip(h, 'link', 'add', 'weave', 'type', 'bridge');
      ip(h, 'link', 'set', 'weave', 'address', NAMES[h], 'mtu', '65535');
      ip(h, 'link', 'add', 'vethwe-bridge', 'mtu', '65535', 'type', 'veth', 'peer', 'name', 'vethwe-pcap', 'mtu', '65535');
      ip(h, 'link', 'set', 'vethwe-bridge', 'master', 'weave');
      for (const d of ['vethwe-bridge', 'vethwe-pcap', 'weave']) ip(h, 'link', 'set', d, 'up');
      ip(h, 'link', 'add', 'vethwl1', 'mtu', '65535', 'type', 'veth', 'peer', 'name', 'ethwe0', 'mtu', '65535', 'netns', ns(c));
      ip(h, 'link', 'set', 'vethwl1', 'master', 'weave');
      ip(h, 'link', 'set', 'vethwl1', 'up');
      ip(c, 'addr', 'add', `${CTR[h]}/12`, 'dev', 'ethwe0');
      ip(c, 'link', 'set', 'ethwe0', 'up');
      ip(c, 'link', 'set', 'lo', 'up');
    }
    routers = new WeaveRouters(record);
    const ref = (h: 'r0' | 'r1') => ({ name: NAMES[h], nickname: h, shortId: h === 'r0' ? 1 : 2, address: ADDR[h] });
    await routers.startRouter(ns('r0'), { name: NAMES.r0, nickname: 'r0', shortId: 1, datapath: 'sleeve', address: ADDR.r0, device: 'vethwe-pcap', port: 6783, peers: [ref('r1')] });
    await routers.startRouter(ns('r1'), { name: NAMES.r1, nickname: 'r1', shortId: 2, datapath: 'sleeve', address: ADDR.r1, device: 'vethwe-pcap', port: 6783, peers: [ref('r0')] });
  });

  afterAll(async () => {
    routers?.stopAll();
    if (record) await teardown(record.state);
    record?.remove();
    fs.rmSync(STATE, { recursive: true, force: true });
  });

  test('a ping crosses: the ARP flooded and answered by the remote container, the echo in sleeve datagrams (DF, no UDP checksum), TTL 64', async () => {
    const pcap = path.join(STATE, 'eth0.pcap');
    const dump = spawnSync('sh', ['-c', `ip netns exec ${ns('r0')} timeout 4 tcpdump -i eth0 -n -U -w ${pcap} udp port 6783 & sleep 1; ip netns exec ${ns('c0')} ping -c 2 -W 2 ${CTR.r1}; wait`], { encoding: 'utf8' });
    expect(dump.stdout).toMatch(/2 received/);
    expect(dump.stdout).toMatch(/ttl=64/);
    const frames = (await readCapture(pcap)).frames.map((f) => f.data);
    const sleeve = frames.map((f) => ({ df: (f.readUInt16BE(14 + 6) & 0x4000) !== 0, checksum: f.readUInt16BE(34 + 6), p: parseSleeve(f.subarray(42)) }));
    expect(sleeve.every((s) => s.p.ok)).toBe(true);
    const inner = (s: (typeof sleeve)[number]) => (s.p.ok ? s.p.repr.frames[0].frame : Buffer.alloc(0));
    // The flooded ARP request (through the UDP socket: DF clear, checksummed), to r1's name.
    const arp = sleeve.find((s) => inner(s).readUInt16BE(12) === 0x0806 && inner(s)[21] === 1)!;
    expect(arp.df).toBe(false);
    expect(arp.checksum).not.toBe(0);
    expect(arp.p.ok && arp.p.repr).toMatchObject({ sender: NAMES.r0, frames: [{ srcPeer: NAMES.r0, dstPeer: NAMES.r1 }] });
    // The remote container's own answer comes back from r1.
    expect(sleeve.some((s) => s.p.ok && s.p.repr.sender === NAMES.r1 && inner(s).readUInt16BE(12) === 0x0806 && inner(s)[21] === 2)).toBe(true);
    const echo = sleeve.find((s) => inner(s).readUInt16BE(12) === 0x0800 && inner(s)[34] === 8)!;
    expect(echo.df).toBe(true);
    expect(echo.checksum).toBe(0);
    expect(inner(echo)[22]).toBe(64);
  });

  test('`cnmlab clean` recognises a router of the run by its mark and stops it', () => {
    const pids = record.state.pids;
    expect(pids.length).toBe(2);
    for (const pid of pids) expect(fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8')).toContain('cnmlab-weaver');
  });
});
