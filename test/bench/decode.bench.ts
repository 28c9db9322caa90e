/** Decode throughput on a 100 MB VXLAN capture (issue 2's goal: at least 200k frames/s). */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { decodeCapture } from '../../sim/pcap/decode';
import { PcapWriter } from '../../sim/pcap/writer';
import { vxlanOf, eth, ip, echo } from '../helpers/frames';
import { IPPROTO_ICMP } from '../../sim/wire/ipv4';
import { BenchResult } from './result';

export async function benchDecode(targetBytes = 100 * 1024 * 1024): Promise<BenchResult[]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cnmlab-bench-'));
  try {
    const file = path.join(dir, 'vxlan-100mb.pcap');
    const w = new PcapWriter('micro');
    const frames = [1, 2, 3, 4].map((seq) => vxlanOf(eth('02:42:0a:00:01:02', '02:42:0a:00:01:04', ip('10.0.1.2', '10.0.1.4', IPPROTO_ICMP), echo(seq % 2 ? 8 : 0, seq))));
    let n = 0;
    for (let size = 24; size < targetBytes; size += 16 + frames[n % 4].length, n++) w.add(BigInt(n) * 1_000_000n, frames[n % 4]);
    w.writeFile(file);
    const bytes = fs.statSync(file).size;
    const t0 = process.hrtime.bigint();
    let layers = 0;
    const r = await decodeCapture(file, (f) => {
      layers += f.layers.length;
    });
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    if (r.frames !== n || layers !== n * 7) throw new Error(`decoded ${r.frames} frames / ${layers} layers, expected ${n} / ${n * 7}`);
    return [
      { name: 'decode: frames per second (100 MB VXLAN pcap, read + dissect)', value: Math.round(n / seconds), unit: 'frames/s', goal: '>= 200000' },
      { name: 'decode: capture size', value: Math.round(bytes / 1e6), unit: 'MB' },
      { name: 'decode: wall time', value: Number(seconds.toFixed(2)), unit: 's' },
    ];
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
