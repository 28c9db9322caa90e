/**
 * Big captures decode and replay in bounded memory (issue 22), in every format. The captures
 * are made here, in a temporary folder, and deleted. 20 MB a format always runs; 200 MB a
 * format runs under CNMLAB_BIG_CAPTURES=1 (too slow for every CI run on a shared machine).
 *
 * The bounds, at any size: decode holds a 1 MiB read chunk, the frame in hand and 64 KiB of
 * output (waiting for a slow reader rather than queueing), so its peak is Node's own (about
 * 80 MiB with the bundle) and garbage not yet collected: under DECODE_BOUND_MIB. Replay adds at
 * most MAX_REPLAY_HOPS decoded hops, a window of recent packets and the trace's JSON: under
 * REPLAY_BOUND_MIB. What stays above Node's own is mostly garbage the collector has not yet
 * reclaimed, so the peaks wander by tens of MiB from run to run, not with the size.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { vxlanOf, eth, ip, echo } from './helpers/frames';
import { cleanExitProblem, cnmlabMeasured, pcapngEpb, pcapngSection } from './helpers/hostile';
import { IPPROTO_ICMP } from '../sim/wire/ipv4';

const MIB = 1 << 20;
const SIZES_MIB = process.env.CNMLAB_BIG_CAPTURES === '1' ? [20, 200] : [20];
const DECODE_BOUND_MIB = 256;
const REPLAY_BOUND_MIB = 400;

type Format = 'pcap' | 'pcap-ns' | 'pcapng';

/** Pings over VXLAN, as an underlay capture shows them, until the file holds `bytes`. */
function writeCapture(file: string, format: Format, bytes: number): number {
  const fd = fs.openSync(file, 'w');
  const chunks: Buffer[] = [];
  let size = 0;
  let pending = 0;
  const put = (b: Buffer) => {
    chunks.push(b);
    pending += b.length;
    size += b.length;
    if (pending >= 4 * MIB) {
      fs.writeSync(fd, Buffer.concat(chunks));
      chunks.length = 0;
      pending = 0;
    }
  };
  if (format === 'pcapng') put(pcapngSection());
  else {
    const h = Buffer.alloc(24);
    h.writeUInt32LE(format === 'pcap' ? 0xa1b2c3d4 : 0xa1b23c4d, 0);
    h.writeUInt16LE(2, 4);
    h.writeUInt16LE(4, 6);
    h.writeUInt32LE(262144, 16);
    h.writeUInt32LE(1, 20);
    put(h);
  }
  let frames = 0;
  const t0 = 1_700_000_000_000_000_000n;
  for (let i = 0; size < bytes; i++) {
    const seq = i & 0xffff;
    for (const type of [8, 0] as const) {
      const [src, dst] = type === 8 ? ['10.0.1.2', '10.0.1.4'] : ['10.0.1.4', '10.0.1.2'];
      const inner = eth('02:42:0a:00:01:02', '02:42:0a:00:01:04', ip(src, dst, IPPROTO_ICMP, { id: (i * 2 + type) & 0xffff }), echo(type, seq));
      const frame = vxlanOf(inner);
      const timeNs = t0 + BigInt(frames) * 1_000_000n;
      if (format === 'pcapng') put(pcapngEpb(timeNs, frame));
      else {
        const r = Buffer.alloc(16);
        r.writeUInt32LE(Number(timeNs / 1_000_000_000n), 0);
        r.writeUInt32LE(Number(format === 'pcap' ? (timeNs % 1_000_000_000n) / 1000n : timeNs % 1_000_000_000n), 4);
        r.writeUInt32LE(frame.length, 8);
        r.writeUInt32LE(frame.length, 12);
        put(r);
        put(frame);
      }
      frames++;
    }
  }
  fs.writeSync(fd, Buffer.concat(chunks));
  fs.closeSync(fd);
  return frames;
}

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cnmlab-big-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe.each(SIZES_MIB)('a %i MB capture', (mib) => {
  test.each(['pcap', 'pcap-ns', 'pcapng'] as Format[])(`%s: decode stays under ${DECODE_BOUND_MIB} MiB (to a file and to a slow pipe), replay under ${REPLAY_BOUND_MIB} MiB`, (format) => {
    const file = path.join(dir, `big-${mib}.${format === 'pcapng' ? 'pcapng' : 'pcap'}`);
    const frames = writeCapture(file, format, mib * MIB);
    const out = path.join(dir, 'out');
    try {
      const decoded = cnmlabMeasured(['decode', file], { stdoutFile: out, timeoutMs: 600_000 });
      expect(cleanExitProblem(decoded)).toBeUndefined();
      expect(decoded.status).toBe(0);
      expect(fs.statSync(out).size).toBeGreaterThan(frames * 40);
      const replayed = cnmlabMeasured(['replay', file, '--json'], { stdoutFile: out, timeoutMs: 600_000 });
      expect(cleanExitProblem(replayed)).toBeUndefined();
      expect(replayed.status).toBe(0);
      const trace = JSON.parse(fs.readFileSync(out, 'utf8'));
      const kept = trace.flows.reduce((a: number, f: { hops: unknown[]; hopsNotKept?: number }) => a + f.hops.length + (f.hopsNotKept ?? 0), 0);
      expect(kept).toBe(frames);
      process.stdout.write(`${mib} MB ${format}: ${frames} frames; decode ${decoded.ms} ms, peak ${Math.round(decoded.maxRssKiB / 1024)} MiB; replay ${replayed.ms} ms, peak ${Math.round(replayed.maxRssKiB / 1024)} MiB\n`);
      const slowReader = cnmlabMeasured(['decode', file], { pipeTo: '(sleep 2; wc -l)', timeoutMs: 600_000 });
      expect(slowReader.status).toBe(0);
      expect(Number(slowReader.stdout.trim())).toBe(frames);
      process.stdout.write(`${mib} MB ${format}: decode into a slow pipe, peak ${Math.round(slowReader.maxRssKiB / 1024)} MiB\n`);
      expect(decoded.maxRssKiB).toBeLessThan(DECODE_BOUND_MIB * 1024);
      expect(slowReader.maxRssKiB).toBeLessThan(DECODE_BOUND_MIB * 1024);
      expect(replayed.maxRssKiB).toBeLessThan(REPLAY_BOUND_MIB * 1024);
    } finally {
      fs.rmSync(file, { force: true });
      fs.rmSync(out, { force: true });
    }
  }, 1_200_000);
});
