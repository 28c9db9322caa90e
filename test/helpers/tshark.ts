import { execFileSync, spawnSync } from 'child_process';
import * as path from 'path';
import { REPO } from './env';

const CLI = path.join(REPO, 'bin', 'cnmlab.js');

export function cnmlab(args: string[]): { status: number; stdout: string; stderr: string } {
  // The test's own environment (a suite may set CNMLAB_STATE_DIR): jest hands children the process's, not the test's.
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', maxBuffer: 1 << 30, env: process.env });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** The protocols whose order in a frame's layer stack is judged (tshark's frame.protocols, filtered). */
const PROTOS = new Set(['sll', 'eth', 'arp', 'ip', 'icmp', 'udp', 'tcp', 'vxlan', 'dns', 'tls']);

/** The fields judged, by their Wireshark display-filter names (the keys of cnmlab's layers). */
const FIELDS = [
  'sll.pkttype', 'sll.etype',
  'eth.src', 'eth.dst', 'eth.type',
  'arp.opcode', 'arp.src.hw_mac', 'arp.src.proto_ipv4', 'arp.dst.hw_mac', 'arp.dst.proto_ipv4',
  'ip.src', 'ip.dst', 'ip.ttl', 'ip.id', 'ip.proto', 'ip.len', 'ip.frag_offset', 'ip.flags.mf', 'ip.flags.df',
  'icmp.type', 'icmp.code', 'icmp.seq', 'icmp.ident',
  'udp.srcport', 'udp.dstport', 'udp.length', 'tcp.srcport', 'tcp.dstport',
  'vxlan.vni',
  'dns.id', 'dns.flags.response', 'dns.flags.rcode', 'dns.qry.name', 'dns.qry.type', 'dns.a',
  'tls.record.content_type', 'tls.record.version', 'tls.record.length',
];

type Values = Record<string, string[]>;
interface Judged {
  stack: string[];
  values: Values;
}

/** One spelling for a value whichever side printed it: booleans as 1/0, hex and decimal numbers as decimal. */
function norm(v: unknown): string {
  if (typeof v === 'boolean') return v ? '1' : '0';
  const s = String(v).trim();
  const low = s.toLowerCase();
  if (low === 'true' || low === 'set') return '1';
  if (low === 'false' || low === 'not set') return '0';
  if (/^0x[0-9a-f]+$/.test(low)) return String(parseInt(low, 16));
  if (/^-?\d+$/.test(s)) return String(Number(s));
  return low;
}

/** tshark's view: one line a frame, each field's occurrences joined (outer layer first). */
function tsharkFrames(pcap: string): Judged[] {
  // Flannel's VXLAN is on the kernel's port 8472, weave's fast datapath's on 6784, swarmkit's TLS on 2377: Wireshark decodes them so only when told.
  const args = ['-o', 'ip.defragment:FALSE', '-d', 'udp.port==8472,vxlan', '-d', 'udp.port==6784,vxlan', '-d', 'tcp.port==2377,tls', '-r', pcap, '-T', 'fields', '-E', 'occurrence=a', '-E', 'aggregator=|', '-E', 'separator=\t', '-e', 'frame.protocols'];
  for (const f of FIELDS) args.push('-e', f);
  const out = execFileSync('tshark', args, { encoding: 'utf8', maxBuffer: 1 << 30, stdio: ['ignore', 'pipe', 'ignore'] });
  return out.split('\n').filter((line) => line !== '').map((line) => {
    const cols = line.split('\t');
    const values: Values = {};
    FIELDS.forEach((f, i) => {
      const c = cols[i + 1] ?? '';
      values[f] = c === '' ? [] : c.split('|').map(norm);
    });
    return { stack: cols[0].split(':').filter((p) => PROTOS.has(p)), values };
  });
}

interface DecodedLayer {
  proto: string;
  [field: string]: unknown;
}

/** cnmlab's view of the same frames, from `cnmlab decode --json`. */
function cnmlabFrames(doc: { frames: { layers: DecodedLayer[] }[] }): Judged[] {
  return doc.frames.map((fr) => {
    const values: Values = Object.fromEntries(FIELDS.map((f) => [f, [] as string[]]));
    for (const l of fr.layers) {
      for (const f of FIELDS) {
        const v = l[f];
        if (v === undefined || v === null) continue;
        values[f].push(...(Array.isArray(v) ? v.map(norm) : [norm(v)]));
      }
    }
    return { stack: fr.layers.map((l) => l.proto).filter((p) => PROTOS.has(p)), values };
  });
}

/**
 * The project's oracle: decodes a capture with `cnmlab decode --json` and with tshark, and
 * compares them frame by frame: the layer stack, then every field tshark shows (repeated
 * layers, outer then inner, in order). Returns `agree N/M frames (file)`; throws with the
 * first disagreements when any frame differs.
 */
export function agreeWithTshark(pcap: string): string {
  const d = cnmlab(['decode', pcap, '--json']);
  if (d.status !== 0) throw new Error(`decode ${pcap} failed: ${d.stderr}`);
  const ours = cnmlabFrames(JSON.parse(d.stdout));
  const theirs = tsharkFrames(pcap);
  const problems: string[] = [];
  if (ours.length !== theirs.length) problems.push(`frame count: tshark ${theirs.length} cnmlab ${ours.length}`);
  let agree = 0;
  theirs.forEach((t, i) => {
    const o = ours[i];
    if (!o) return;
    const diffs: string[] = [];
    if (t.stack.join(':') !== o.stack.join(':')) diffs.push(`layers tshark ${t.stack.join(':')} cnmlab ${o.stack.join(':')}`);
    for (const f of FIELDS) {
      // A field tshark does not show is not judged; one it shows must match in every occurrence.
      if (t.values[f].length && t.values[f].join('|') !== o.values[f].join('|')) diffs.push(`${f}: tshark ${t.values[f].join('|')} cnmlab ${o.values[f].join('|') || '(none)'}`);
    }
    if (diffs.length) problems.push(`frame ${i + 1}: ${diffs.slice(0, 4).join('; ')}`);
    else agree++;
  });
  const report = `agree ${agree}/${theirs.length} frames (${path.basename(pcap)})`;
  if (problems.length) throw new Error([...problems.slice(0, 15), report].join('\n'));
  return report;
}

/** Frames whose IP, UDP, ICMP or TCP checksum tshark finds bad, with validation switched on. */
export function badChecksums(pcap: string): string {
  return execFileSync('tshark', ['-r', pcap, '-o', 'ip.check_checksum:TRUE', '-o', 'udp.check_checksum:TRUE', '-o', 'tcp.check_checksum:TRUE',
    '-Y', 'ip.checksum.status == 0 || udp.checksum.status == 0 || icmp.checksum.status == 0 || tcp.checksum.status == 0'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
}
