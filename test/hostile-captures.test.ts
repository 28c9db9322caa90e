/**
 * Hostile captures and output paths (issue 22): the reproducers that crashed, damage judged as
 * tshark judges it, captures from a pipe, and output paths that cannot be written.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { PcapWriter } from '../sim/pcap/writer';
import { readCapture, CaptureError } from '../sim/pcap/reader';
import { sampleFrames } from './helpers/frames';
import { describeWith, REPO } from './helpers/env';
import { cleanExitProblem, cnmlabMeasured, pcapngBlock, pcapngEpb, pcapngOf, pcapngSection } from './helpers/hostile';
import { spawnSync } from 'child_process';

const CRASHERS = path.join(REPO, 'test', 'fixtures', 'crashers');
let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cnmlab-hostile-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function file(name: string, content: Buffer): string {
  const p = path.join(dir, name);
  fs.writeFileSync(p, content);
  return p;
}

function samplePcap(precision: 'micro' | 'nano' = 'micro'): Buffer {
  const w = new PcapWriter(precision);
  sampleFrames().forEach((f, i) => w.add(1_700_000_000_000_000_000n + BigInt(i) * 1000n, f));
  return w.toBuffer();
}

describe('the crashing captures of issue 22', () => {
  const index = JSON.parse(fs.readFileSync(path.join(CRASHERS, 'INDEX.json'), 'utf8')) as { file: string; commands: string[] }[];
  const argsOf = { decode: (f: string) => ['decode', f], json: (f: string) => ['decode', '--json', f], replay: (f: string) => ['replay', f] } as const;

  test.each(index.map((c) => [c.file, c.commands]))('%s: every command that crashed ends in exit 0 or 2, no stack', (name, commands) => {
    for (const cmd of commands as (keyof typeof argsOf)[]) {
      const r = cnmlabMeasured(argsOf[cmd](path.join(CRASHERS, name as string)));
      expect(cleanExitProblem(r)).toBeUndefined();
      expect([0, 2]).toContain(r.status);
    }
  });

  test('a pcapng whose last EPB is 16 bytes is damage in wiretap\'s words, after the frames before it', () => {
    const r = cnmlabMeasured(['decode', path.join(CRASHERS, 'min-pcapng-epb16-at-eof.pcapng')]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/total block length 16 of an EPB is less than the minimum EPB size 32\n$/);
    const idb = cnmlabMeasured(['decode', path.join(CRASHERS, 'min-pcapng-idb12-at-eof.pcapng')]);
    expect(idb).toMatchObject({ status: 2, stderr: expect.stringMatching(/total block length 12 of an IDB is less than the minimum IDB size 20/) });
  });

  test('a 5-byte port-53 payload is a malformed DNS layer with the header bytes it has (tshark: opcode 13, id 0x6865)', () => {
    const r = cnmlabMeasured(['decode', '--json', path.join(CRASHERS, 'min-dns-5byte-payload.pcap')]);
    expect(r.status).toBe(0);
    const dns = JSON.parse(r.stdout).frames[0].layers.find((l: { proto: string }) => l.proto === 'dns');
    expect(dns).toMatchObject({ 'dns.id': 0x6865, 'dns.flags.opcode': 13, malformed: expect.any(String) });
    expect(cnmlabMeasured(['decode', path.join(CRASHERS, 'min-dns-5byte-payload.pcap')]).stdout).toMatch(/Unknown operation \(13\) 0x6865 \[Malformed/);
  });

  test('a DNS message cut by the snap length is truncated, not malformed (tshark: "Packet size limited during capture")', () => {
    const r = cnmlabMeasured(['decode', '--json', path.join(CRASHERS, 'min-dns-snaplen50.pcap')]);
    const dns = JSON.parse(r.stdout).frames[0].layers.find((l: { proto: string }) => l.proto === 'dns');
    expect(dns).toMatchObject({ 'dns.id': 0x1234, truncated: true });
    expect(dns.malformed).toBeUndefined();
  });
});

describe('damage judged as tshark judges it', () => {
  const damaged: Record<string, () => Buffer> = {
    'pcap major version 0': () => {
      const b = samplePcap();
      b.writeUInt16LE(0, 4);
      return b;
    },
    'a record announcing caplen 0xFFFFFFF0': () => {
      const b = samplePcap();
      b.writeUInt32LE(0xfffffff0, 24 + 8);
      return b;
    },
    'pcapng block lengths that differ': () => {
      const epb = pcapngEpb(1n, sampleFrames()[0]);
      epb.writeUInt32LE(epb.length + 4, epb.length - 4);
      return Buffer.concat([pcapngSection(), epb]);
    },
    'a 12-byte SPB': () => Buffer.concat([pcapngSection(), pcapngBlock(3, Buffer.alloc(0))]),
    'a short obsolete Packet Block': () => Buffer.concat([pcapngSection(), pcapngBlock(2, Buffer.alloc(12))]),
  };

  test.each(Object.keys(damaged))('%s: exit 2, one line', (name) => {
    const r = cnmlabMeasured(['decode', file(`${name.replace(/\W+/g, '-')}.cap`, damaged[name]())]);
    expect(r.status).toBe(2);
    expect(cleanExitProblem(r)).toBeUndefined();
  });

  test('a caplen of 0xFFFFFFF0 before 50 MB of junk is refused at once, not read', () => {
    const head = samplePcap().subarray(0, 24 + 16);
    head.writeUInt32LE(0xfffffff0, 24 + 8);
    const p = path.join(dir, 'huge-caplen.pcap');
    fs.writeFileSync(p, head);
    fs.appendFileSync(p, Buffer.alloc(50 << 20, 0x5a));
    const r = cnmlabMeasured(['decode', p]);
    expect(r.stderr).toBe(`cnmlab: ${p}: pcap: File has 4294967280-byte packet, bigger than maximum of 262144\n`);
    expect(r.maxRssKiB).toBeLessThan(200 * 1024);
  });

  test('an obsolete Packet Block (type 2) is read as a frame, as wiretap reads it', async () => {
    const frame = sampleFrames()[0];
    const body = Buffer.alloc(20);
    body.writeUInt16LE(0, 0);
    body.writeUInt32LE(0, 4);
    body.writeUInt32LE(5_000_000, 8);
    body.writeUInt32LE(frame.length, 12);
    body.writeUInt32LE(frame.length, 16);
    const padded = Buffer.concat([frame, Buffer.alloc((4 - (frame.length % 4)) % 4)]);
    const c = await readCapture(file('pb.pcapng', Buffer.concat([pcapngSection(1, false), pcapngBlock(2, Buffer.concat([body, padded]))])));
    expect(c.frames).toHaveLength(1);
    expect(c.frames[0]).toMatchObject({ seconds: 5, length: frame.length });
    expect(c.frames[0].data.equals(frame)).toBe(true);
  });

  test('link types are masked alike in every reader: FCS bits above the low 16 are not the link type', async () => {
    for (const precision of ['micro', 'nano'] as const) {
      const b = samplePcap(precision);
      b.writeUInt32LE(0x04000001, 20);
      const c = await readCapture(file(`fcs-${precision}.pcap`, b));
      expect(c.info.linktype).toBe(1);
      expect(c.frames.every((f) => f.linktype === 1)).toBe(true);
    }
  });

  test('a pcapng cut inside a block keeps the frames before it and warns', async () => {
    const frames = sampleFrames().map((data, i) => ({ timeNs: BigInt(i), data }));
    const whole = pcapngOf(frames);
    const c = await readCapture(file('cut.pcapng', whole.subarray(0, whole.length - 10)));
    expect(c.frames).toHaveLength(frames.length - 1);
    expect(c.warnings.join()).toMatch(/truncated/);
    await expect(readCapture(file('bad.pcapng', Buffer.concat([pcapngSection(), pcapngBlock(6, Buffer.alloc(4))])))).rejects.toBeInstanceOf(CaptureError);
  });
});

describeWith(['tshark'], false, 'tshark rejects the same damaged files', () => {
  test('major version 0, mismatched block lengths, a 12-byte SPB, a short PB, caplen 0xFFFFFFF0', () => {
    const cases = [
      (() => { const b = samplePcap(); b.writeUInt16LE(0, 4); return b; })(),
      (() => { const epb = pcapngEpb(1n, sampleFrames()[0]); epb.writeUInt32LE(epb.length + 4, epb.length - 4); return Buffer.concat([pcapngSection(), epb]); })(),
      Buffer.concat([pcapngSection(), pcapngBlock(3, Buffer.alloc(0))]),
      Buffer.concat([pcapngSection(), pcapngBlock(2, Buffer.alloc(12))]),
      (() => { const b = samplePcap(); b.writeUInt32LE(0xfffffff0, 24 + 8); return b; })(),
    ];
    for (const [i, content] of cases.entries()) {
      const p = file(`tshark-${i}.cap`, content);
      const t = spawnSync('tshark', ['-r', p], { encoding: 'utf8' });
      expect(t.stderr).toMatch(/damaged or corrupt|isn't a capture file in a format TShark understands|unsupported/);
      expect(cnmlabMeasured(['decode', p]).status).toBe(2);
    }
  });
});

describe('captures from a pipe', () => {
  test('`… | cnmlab decode /dev/stdin` decodes every format as the file itself decodes', () => {
    const frames = sampleFrames().map((data, i) => ({ timeNs: 1_700_000_000_000_000_000n + BigInt(i), data }));
    for (const [name, content] of [['micro.pcap', samplePcap()], ['nano.pcap', samplePcap('nano')], ['p.pcapng', pcapngOf(frames)]] as const) {
      const p = file(name, content);
      const direct = cnmlabMeasured(['decode', p]);
      const piped = cnmlabMeasured(['decode', '/dev/stdin'], { shell: `cat "${p}"` });
      expect(piped.status).toBe(0);
      expect(piped.stdout).toBe(direct.stdout);
      expect(direct.stdout.split('\n').length).toBeGreaterThan(frames.length);
    }
  });

  test('replay refuses a pipe in one line (it reads its captures twice)', () => {
    const p = file('r.pcap', samplePcap());
    const r = cnmlabMeasured(['replay', '/dev/stdin'], { shell: `cat "${p}"` });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/replay reads each capture twice: save it to a file first\n$/);
  });
});

describe('output paths that cannot be written: one line, exit 2, before any work', () => {
  const scenario = path.join(REPO, 'scenarios', 'overlay-standalone.yaml');
  test.each([
    [['run', scenario, '--trace', '/nonexistent-folder/t.json'], /--trace \/nonexistent-folder\/t\.json: no such folder \/nonexistent-folder$/],
    [['verify', scenario, '--junit', '/nonexistent-folder/j.xml'], /--junit \/nonexistent-folder\/j\.xml: no such folder/],
    [['viz', scenario, '-o', '/nonexistent-folder/r.html'], /-o \/nonexistent-folder\/r\.html: no such folder/],
    [['run', scenario, '--pcap-dir', '/etc/passwd'], /--pcap-dir \/etc\/passwd: not a folder$/],
    [['run', scenario, '--pcap-dir', '/etc/passwd/sub'], /--pcap-dir \/etc\/passwd\/sub: \/etc\/passwd is not a folder$/],
    [['run', scenario, '--pcap-dir', '/proc/nope'], /--pcap-dir \/proc\/nope: cannot make \/proc\/nope: no such file or folder$/],
    [['run', scenario, '--trace', os.tmpdir()], /is a folder$/],
  ])('%j', (args, said) => {
    const r = cnmlabMeasured(args as string[], { timeoutMs: 20_000 });
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim()).toMatch(said as RegExp);
    expect(cleanExitProblem(r)).toBeUndefined();
  });

  test('a --pcap-dir whose parents are missing is made', () => {
    const deep = path.join(dir, 'a', 'b', 'c');
    const r = cnmlabMeasured(['run', scenario, '--pcap-dir', deep]);
    expect(r.status).toBe(0);
    expect(fs.readdirSync(deep).some((f) => f.endsWith('.pcap'))).toBe(true);
  });
});
