/**
 * Real captures, each frame decoded as tshark decodes it: those cnmlab's emu recorded
 * (test/fixtures/captures, re-recorded by `npm run fixtures:record`), and those made here with
 * tcpdump in namespaces this test creates: a VXLAN overlay between two "hosts", captured as
 * Ethernet, Linux cooked v1 and v2, nanosecond pcap, cut by a snap length, and as pcapng.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { describeWith, REPO } from './helpers/env';
import { stopCapture, TestNamespaces } from './helpers/netns';
import { agreeWithTshark, cnmlab } from './helpers/tshark';

const FIXTURES = path.join(REPO, 'test', 'fixtures', 'captures');
const fixture = (name: string) => path.join(FIXTURES, name);
const decoded = (file: string) => JSON.parse(cnmlab(['decode', file, '--json']).stdout);

describeWith(['tshark'], false, 'decode agrees with tshark on the captures emu recorded', () => {
  test.each(fs.readdirSync(FIXTURES).filter((f) => /\.pcap(ng)?$/.test(f)))('%s', (name) => {
    const [, agreed, total] = agreeWithTshark(fixture(name)).match(/agree (\d+)\/(\d+)/)!;
    expect(Number(total)).toBeGreaterThanOrEqual(6);
    expect(agreed).toBe(total);
  });
});

describe('the captures emu recorded are in the formats they stand for', () => {
  test('Ethernet, SLL2 from tcpdump -i any, nanosecond pcap, and pcapng with Ethernet and SLL interfaces', () => {
    expect(decoded(fixture('underlay-vxlan.pcap'))).toMatchObject({ format: 'pcap', linktype: 1 });
    expect(decoded(fixture('r0-overlay-any.pcap'))).toMatchObject({ format: 'pcap', linktype: 276 });
    const nano = decoded(fixture('underlay-vxlan-nano.pcap'));
    expect(nano.format).toBe('pcap-ns');
    expect(nano.frames.some((f: { timeNs: number }) => f.timeNs % 1000 !== 0)).toBe(true);
    const ng = decoded(fixture('r0-overlay.pcapng'));
    expect(ng.format).toBe('pcapng');
    expect(new Set(ng.frames.map((f: { linktype?: number }) => f.linktype ?? ng.linktype))).toEqual(new Set([1, 113]));
  });

  test('the snap length cut the frames at 90 bytes: each decodes as far as its bytes go', () => {
    const frames = decoded(fixture('underlay-vxlan-snap90.pcap')).frames as { length: number; capturedLength: number; layers: { proto: string; truncated?: boolean }[] }[];
    const cut = frames.filter((f) => f.capturedLength < f.length);
    expect(cut.length).toBe(frames.length);
    for (const f of cut) {
      expect(f.capturedLength).toBe(90);
      expect(f.layers.some((l) => l.truncated)).toBe(true);
    }
    expect(cut[0].layers.map((l) => l.proto)).toEqual(['eth', 'ip', 'udp', 'vxlan', 'eth', 'ip', 'icmp']);
  });

  test('inside a container, queries to the port Docker NATs 127.0.0.11:53 to decode as DNS', () => {
    const frames = decoded(fixture('container-dns-dnat.pcap')).frames as { layers: Record<string, unknown>[] }[];
    const queries = frames.map((f) => f.layers).filter((l) => l[1]['ip.dst'] === '127.0.0.11');
    for (const q of queries) {
      expect(q[2]['udp.dstport']).not.toBe(53);
      expect(q[3]).toMatchObject({ proto: 'dns', 'dns.flags.response': false });
    }
    expect(queries.map((q) => q[3]['dns.qry.name'])).toEqual(['ubuntu1', 'ubuntu1', '4.1.0.10.in-addr.arpa', 'nosuchname']);
  });
});

describeWith(['ip', 'tcpdump', 'tshark', 'editcap', 'ping'], true, 'decode agrees with tshark on real captures', () => {
  const net = new TestNamespaces();
  let dir: string;
  const files: Record<string, string> = {};

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cnmlab-cap-'));
    try {
      net.add('h0');
      net.add('h1');
      net.veth('h0', 'ul0', 'h1', 'ul0');
      const hosts = [['h0', '198.51.100.10', '198.51.100.11', '10.9.0.1'], ['h1', '198.51.100.11', '198.51.100.10', '10.9.0.2']];
      for (const [h, me, peer, overlay] of hosts) {
        net.exec(h, ['ip', 'addr', 'add', `${me}/24`, 'dev', 'ul0']);
        net.exec(h, ['ip', 'link', 'set', 'ul0', 'up']);
        net.exec(h, ['ip', 'link', 'add', 'vxlan0', 'type', 'vxlan', 'id', '42', 'remote', peer, 'dstport', '4789', 'dev', 'ul0']);
        net.exec(h, ['ip', 'link', 'set', 'vxlan0', 'mtu', '1450', 'up']);
        net.exec(h, ['ip', 'addr', 'add', `${overlay}/24`, 'dev', 'vxlan0']);
      }
      const specs: Record<string, string[]> = {
        eth: ['-i', 'ul0', '-w'],
        sll2: ['-i', 'any', '-w'],
        sll1: ['-i', 'any', '-y', 'LINUX_SLL', '-w'],
        nano: ['-i', 'ul0', '--time-stamp-precision=nano', '-w'],
        snap: ['-i', 'ul0', '-s', '90', '-w'],
        inner: ['-i', 'vxlan0', '-w'],
      };
      const dumps = [];
      for (const [name, args] of Object.entries(specs)) {
        files[name] = path.join(dir, `${name}.pcap`);
        dumps.push(await net.tcpdump('h0', [...args, files[name]]));
      }
      net.exec('h0', ['ping', '-c', '3', '-i', '0.2', '10.9.0.2']);
      net.exec('h0', ['ping', '-c', '1', '-s', '3000', '10.9.0.2']);
      await Promise.all(dumps.map(stopCapture));
      files.pcapng = path.join(dir, 'eth.pcapng');
      execFileSync('editcap', ['-F', 'pcapng', files.eth, files.pcapng]);
    } finally {
      net.cleanup();
    }
  });

  afterAll(() => {
    net.cleanup();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test.each(['eth', 'sll2', 'sll1', 'nano', 'snap', 'inner', 'pcapng'])('%s capture', (name) => {
    const report = agreeWithTshark(files[name]);
    const [, agreed, total] = report.match(/agree (\d+)\/(\d+)/)!;
    expect(Number(total)).toBeGreaterThanOrEqual(8);
    expect(agreed).toBe(total);
  });

  test('link types and formats are what the capture options ask for', () => {
    const linktype = (name: string) => JSON.parse(cnmlab(['decode', files[name], '--json']).stdout);
    expect(linktype('eth')).toMatchObject({ linktype: 1, format: 'pcap' });
    expect(linktype('sll2')).toMatchObject({ linktype: 276 });
    expect(linktype('sll1')).toMatchObject({ linktype: 113 });
    expect(linktype('nano')).toMatchObject({ format: 'pcap-ns' });
    expect(linktype('pcapng')).toMatchObject({ format: 'pcapng', linktype: 1 });
  });

  test('the snap length cuts frames: they decode as far as their bytes go and are marked truncated', () => {
    const doc = JSON.parse(cnmlab(['decode', files.snap, '--json']).stdout);
    const cut = doc.frames.filter((f: { length: number; capturedLength: number }) => f.capturedLength < f.length);
    expect(cut.length).toBeGreaterThan(0);
    for (const f of cut) {
      expect(f.capturedLength).toBe(90);
      expect(f.layers.some((l: { truncated?: boolean }) => l.truncated)).toBe(true);
    }
    const vx = cut.find((f: { layers: { proto: string }[] }) => f.layers.some((l) => l.proto === 'icmp'));
    expect(vx.layers.map((l: { proto: string }) => l.proto)).toEqual(['eth', 'ip', 'udp', 'vxlan', 'eth', 'ip', 'icmp']);
  });

  test('nanosecond timestamps keep their precision', () => {
    const doc = JSON.parse(cnmlab(['decode', files.nano, '--json']).stdout);
    expect(doc.frames.some((f: { timeNs: number }) => f.timeNs % 1000 !== 0)).toBe(true);
  });
});
