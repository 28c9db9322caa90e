import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { PcapWriter } from '../sim/pcap/writer';
import { describeWith, SHARED } from './helpers/env';
import { sampleFrames } from './helpers/frames';
import { agreeWithTshark, badChecksums, cnmlab } from './helpers/tshark';

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cnmlab-synth-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function writeSample(name: string, precision: 'micro' | 'nano'): string {
  const w = new PcapWriter(precision);
  sampleFrames().forEach((f, i) => w.add(1_700_000_000_000_000_000n + BigInt(i) * 1_234_567n, f));
  const file = path.join(dir, name);
  w.writeFile(file);
  return file;
}

describeWith(['tshark', 'python3'], false, 'decode agrees with tshark', () => {
  test('the public VXLAN capture', () => {
    expect(agreeWithTshark(path.join(SHARED, 'testdata', 'public-vxlan-icmp.pcap'), dir)).toMatch(/agree 4\/4/);
  });

  test.each(['micro', 'nano'] as const)('every protocol cnmlab emits (%s pcap), with valid checksums', (precision) => {
    const file = writeSample(`sample-${precision}.pcap`, precision);
    const n = sampleFrames().length;
    expect(agreeWithTshark(file, dir)).toContain(`agree ${n}/${n}`);
    expect(badChecksums(file)).toBe('');
  });
});

describe('decode output', () => {
  test('--json has the documented shape; timeNs counts from the first frame', () => {
    const file = writeSample('shape.pcap', 'nano');
    const r = cnmlab(['decode', file, '--json']);
    expect(r.status).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.file).toBe(file);
    expect(doc.linktype).toBe(1);
    expect(doc.frames[0]).toMatchObject({ index: 1, timeNs: 0, length: 98, capturedLength: 98 });
    expect(doc.frames[1].timeNs).toBe(1_234_567);
    const vx = doc.frames[1].layers;
    expect(vx.map((l: { proto: string }) => l.proto)).toEqual(['eth', 'ip', 'udp', 'vxlan', 'eth', 'ip', 'icmp']);
    expect(vx[3]['vxlan.vni']).toBe(4097);
    expect(vx[2]['udp.dstport']).toBe(4789);
    expect(vx[6]).toMatchObject({ 'icmp.type': 8, 'icmp.seq': 1, 'icmp.ident': 0x26 });
    expect(vx[5]['ip.flags.df']).toBe(true);
  });

  test('text: one summary line a frame; -V adds each layer', () => {
    const file = writeSample('text.pcap', 'micro');
    const r = cnmlab(['decode', file]);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(sampleFrames().length);
    expect(lines[1]).toMatch(/10\.0\.1\.2 → 10\.0\.1\.4 ICMP 148 \[VXLAN 4097\] Echo \(ping\) request/);
    expect(lines[2]).toMatch(/ARP .*Who has 10\.0\.1\.4\? Tell 10\.0\.1\.2/);
    const v = cnmlab(['decode', file, '-V']).stdout;
    expect(v).toContain('Virtual eXtensible Local Area Network');
    expect(v).toMatch(/vxlan\.vni: 4097/);
  });
});
