import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { CaptureError, readCapture } from '../sim/pcap/reader';
import { PcapWriter } from '../sim/pcap/writer';
import { emitSll } from '../sim/wire/sll';
import { sampleFrames } from './helpers/frames';
import { describeWith } from './helpers/env';
import { agreeWithTshark, cnmlab } from './helpers/tshark';

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cnmlab-reader-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const T0 = 1_700_000_000_123_456_789n;

function file(name: string, content: Buffer): string {
  const p = path.join(dir, name);
  fs.writeFileSync(p, content);
  return p;
}

function samplePcap(precision: 'micro' | 'nano' = 'micro'): Buffer {
  const w = new PcapWriter(precision);
  sampleFrames().forEach((f, i) => w.add(T0 + BigInt(i) * 1000n, f));
  return w.toBuffer();
}

/** The same capture with every header field byte-swapped: a big-endian writer's file. */
function toBigEndian(le: Buffer): Buffer {
  const b = Buffer.from(le);
  b.writeUInt32BE(le.readUInt32LE(0), 0);
  b.writeUInt16BE(le.readUInt16LE(4), 4);
  b.writeUInt16BE(le.readUInt16LE(6), 6);
  for (const o of [8, 12, 16, 20]) b.writeUInt32BE(le.readUInt32LE(o), o);
  for (let off = 24; off < b.length; ) {
    const cap = le.readUInt32LE(off + 8);
    for (let i = 0; i < 16; i += 4) b.writeUInt32BE(le.readUInt32LE(off + i), off + i);
    off += 16 + cap;
  }
  return b;
}

/** A pcapng with two interfaces of different link types and resolutions, EPBs and an SPB. */
function twoInterfacePcapng(): Buffer {
  const blocks: Buffer[] = [];
  const block = (type: number, body: Buffer) => {
    const len = 12 + body.length;
    const b = Buffer.alloc(len);
    b.writeUInt32LE(type, 0);
    b.writeUInt32LE(len, 4);
    body.copy(b, 8);
    b.writeUInt32LE(len, len - 4);
    blocks.push(b);
  };
  const pad = (b: Buffer) => Buffer.concat([b, Buffer.alloc((4 - (b.length % 4)) % 4)]);
  const shb = Buffer.alloc(16);
  shb.writeUInt32LE(0x1a2b3c4d, 0);
  shb.writeUInt16LE(1, 4);
  shb.writeBigInt64LE(-1n, 8);
  block(0x0a0d0d0a, shb);
  const idb = (linktype: number, tsresol?: number) => {
    const b = Buffer.alloc(tsresol === undefined ? 8 : 20);
    b.writeUInt16LE(linktype, 0);
    b.writeUInt32LE(262144, 4);
    if (tsresol !== undefined) {
      b.writeUInt16LE(9, 8);
      b.writeUInt16LE(1, 10);
      b[12] = tsresol;
    }
    block(1, b);
  };
  idb(1);
  idb(276, 9);
  const epb = (iface: number, ts: bigint, data: Buffer) => {
    const h = Buffer.alloc(20);
    h.writeUInt32LE(iface, 0);
    h.writeUInt32LE(Number(ts >> 32n), 4);
    h.writeUInt32LE(Number(ts & 0xffffffffn), 8);
    h.writeUInt32LE(data.length, 12);
    h.writeUInt32LE(data.length, 16);
    block(6, pad(Buffer.concat([h, data])));
  };
  const frames = sampleFrames();
  epb(0, 1_700_000_000_000_001n, frames[0]);
  const inner = frames[1].subarray(14);
  epb(1, 1_700_000_000_000_001_500n, emitSll({ version: 2, pktType: 4, haType: 1, haLen: 6, src: '02:00:c6:33:64:0a', protocol: 0x0800, ifIndex: 3 }, inner));
  const spbHead = Buffer.alloc(4);
  spbHead.writeUInt32LE(frames[2].length, 0);
  block(3, pad(Buffer.concat([spbHead, frames[2]])));
  return Buffer.concat(blocks);
}

describe('capture reader', () => {
  test('micro- and nanosecond pcap, either byte order, give the same frames', async () => {
    const le = await readCapture(file('le.pcap', samplePcap()));
    const be = await readCapture(file('be.pcap', toBigEndian(samplePcap())));
    const ns = await readCapture(file('ns.pcap', samplePcap('nano')));
    const nsBe = await readCapture(file('ns-be.pcap', toBigEndian(samplePcap('nano'))));
    expect(le.frames).toHaveLength(sampleFrames().length);
    for (const c of [be, ns, nsBe]) {
      expect(c.frames.map((f) => f.data.toString('hex'))).toEqual(le.frames.map((f) => f.data.toString('hex')));
      expect(c.warnings).toEqual([]);
    }
    const ns0 = (f: { seconds: number; nanos: number }) => BigInt(f.seconds) * 1_000_000_000n + BigInt(f.nanos);
    expect(ns0(le.frames[0])).toBe((T0 / 1000n) * 1000n);
    expect(ns0(ns.frames[0])).toBe(T0);
    expect(ns0(nsBe.frames[1])).toBe(T0 + 1000n);
    expect(ns.info.format).toBe('pcap-ns');
  });

  test('pcapng with two interfaces of different link types and timestamp resolutions', async () => {
    const c = await readCapture(file('two.pcapng', twoInterfacePcapng()));
    expect(c.info).toMatchObject({ format: 'pcapng', linktype: 1 });
    expect(c.frames.map((f) => [f.linktype, f.interfaceId])).toEqual([[1, 0], [276, 1], [1, 0]]);
    expect([c.frames[0].seconds, c.frames[0].nanos]).toEqual([1_700_000_000, 1_000]);
    expect([c.frames[1].seconds, c.frames[1].nanos]).toEqual([1_700_000_000, 1_500]);
    const doc = JSON.parse(cnmlab(['decode', path.join(dir, 'two.pcapng'), '--json']).stdout);
    expect(doc.frames[1].linktype).toBe(276);
    expect(doc.frames[1].layers.map((l: { proto: string }) => l.proto)).toEqual(['sll', 'ip', 'udp', 'vxlan', 'eth', 'ip', 'icmp']);
  });

  test('a file cut mid-packet yields every complete frame and a truncation warning', async () => {
    const whole = samplePcap();
    for (const [name, content] of [['cut.pcap', whole.subarray(0, whole.length - 10)], ['cut-ns.pcap', samplePcap('nano').subarray(0, whole.length - 10)]] as const) {
      const c = await readCapture(file(name, content));
      expect(c.frames).toHaveLength(sampleFrames().length - 1);
      expect(c.warnings.join()).toMatch(/truncated/);
    }
    const r = cnmlab(['decode', path.join(dir, 'cut.pcap')]);
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/cut\.pcap: truncated/);
    expect(r.stdout.trim().split('\n')).toHaveLength(sampleFrames().length - 1);
  });

  test('a file cut inside a record header also warns', async () => {
    const c = await readCapture(file('cut-hdr.pcap', samplePcap().subarray(0, 24 + 16 + 98 + 7)));
    expect(c.frames).toHaveLength(1);
    expect(c.warnings.join()).toMatch(/truncated/);
  });

  test.each([
    ['empty.pcap', Buffer.alloc(0), /empty file/],
    ['text.pcap', Buffer.from('hello, this is not a capture\n'), /not a pcap or pcapng file/],
    ['short.pcap', Buffer.from([0xd4, 0xc3]), /too short/],
    ['header-only.pcap', samplePcap().subarray(0, 10), /global header is incomplete/],
  ])('bad input %s: one line naming the file, exit 2', (name, content, message) => {
    const p = file(name, content);
    const r = cnmlab(['decode', p]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).toContain(p);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  test('an unknown link type is refused clearly', () => {
    const w = new PcapWriter('micro', 105);
    w.add(T0, Buffer.alloc(30));
    const r = cnmlab(['decode', file('wifi.pcap', w.toBuffer())]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/unknown link type 105/);
  });

  test('a missing file and a directory are bad input', () => {
    expect(cnmlab(['decode', path.join(dir, 'nope.pcap')])).toMatchObject({ status: 2, stderr: expect.stringMatching(/no such file/) });
    expect(cnmlab(['decode', dir])).toMatchObject({ status: 2, stderr: expect.stringMatching(/is a directory/) });
  });

  test('failed parses leak no file descriptors', async () => {
    const bad = file('bad-version.pcap', Buffer.concat([Buffer.from('d4c3b2a1', 'hex'), Buffer.alloc(20, 0xff)]));
    const garbage = file('garbage.pcap', Buffer.from('d4c3b2a1', 'hex'));
    const before = fs.readdirSync('/proc/self/fd').length;
    for (let i = 0; i < 50; i++) {
      await readCapture(bad).catch(() => undefined);
      await readCapture(garbage).catch(() => undefined);
    }
    await new Promise((r) => setTimeout(r, 50));
    expect(fs.readdirSync('/proc/self/fd').length).toBeLessThanOrEqual(before + 2);
  });

  test('random bytes after a valid header are read or refused as damage (CaptureError), never crash the reader', async () => {
    const head = samplePcap().subarray(0, 24);
    for (let i = 0; i < 20; i++) {
      const junk = Buffer.from(Array.from({ length: 200 + i * 37 }, (_, k) => (k * 7919 + i * 104729) & 0xff));
      const outcome = await readCapture(file(`junk${i}.pcap`, Buffer.concat([head, junk]))).catch((e: Error) => e);
      if (outcome instanceof Error) expect(outcome).toBeInstanceOf(CaptureError);
      else expect(outcome.info.format).toBe('pcap');
    }
  });
});

describeWith(['tshark'], false, 'tshark reads the writer and the multi-interface pcapng the same way', () => {
  test('two-interface pcapng', () => {
    const p = file('two-t.pcapng', twoInterfacePcapng());
    expect(agreeWithTshark(p)).toContain('agree 3/3');
  });
});
