/**
 * Real captures, made here with tcpdump in namespaces this test creates: a VXLAN overlay
 * between two "hosts", captured as Ethernet, Linux cooked v1 and v2, nanosecond pcap, cut by
 * a snap length, and as pcapng. Every frame must decode as tshark decodes it.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { describeWith } from './helpers/env';
import { stopCapture, TestNamespaces } from './helpers/netns';
import { agreeWithTshark, cnmlab } from './helpers/tshark';

describeWith(['ip', 'tcpdump', 'tshark', 'editcap', 'ping', 'python3'], true, 'decode agrees with tshark on real captures', () => {
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
    const report = agreeWithTshark(files[name], dir);
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
