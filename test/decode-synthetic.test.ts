import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as dnsPacket from 'dns-packet';
import { PcapWriter } from '../sim/pcap/writer';
import { emitUdp } from '../sim/wire/udp';
import { IPPROTO_UDP } from '../sim/wire/ipv4';
import { dissect, LINKTYPE_ETHERNET } from '../sim/wire/dissect';
import { describeWith } from './helpers/env';
import { eth, ip, sampleFrames } from './helpers/frames';
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

/** The port Docker's NAT might send 127.0.0.11:53 to: one tshark names no protocol for. */
const RESOLVER_PORT = 43475;

/** A UDP datagram between a container and its embedded DNS on the resolver's own port. */
function toResolver(payload: Buffer, reply = false): Buffer {
  const [src, dst, sp, dp] = reply ? ['127.0.0.11', '127.0.0.1', RESOLVER_PORT, 45000] : ['127.0.0.1', '127.0.0.11', 45000, RESOLVER_PORT];
  return eth('00:00:00:00:00:00', '00:00:00:00:00:00', ip(src, dst, IPPROTO_UDP), emitUdp({ srcPort: sp, dstPort: dp }, payload, { src, dst }));
}

const a = (i: number): dnsPacket.Answer => ({ name: `n${i}.test-net`, type: 'A', ttl: 600, class: 'IN', data: `10.0.${i >> 8}.${i & 255}` });
const many = (n: number) => Array.from({ length: n }, (_, i) => a(i));
// Authority and additional records as name servers: tshark's dns.a lists A records of every section, cnmlab's those of the answer.
const servers = (n: number): dnsPacket.Answer[] => Array.from({ length: n }, (_, i) => ({ name: 'test-net', type: 'NS', ttl: 600, class: 'IN', data: `ns${i}.test-net` }));
const question = [{ name: 'ubuntu1', type: 'A' as const, class: 'IN' as const }];
const query = (extra: Partial<dnsPacket.Packet> = {}) => dnsPacket.encode({ id: 7, type: 'query', flags: dnsPacket.RECURSION_DESIRED, questions: question, ...extra });
const response = (extra: Partial<dnsPacket.Packet> = {}) => dnsPacket.encode({ id: 7, type: 'response', flags: 0x0580, questions: question, ...extra });

/**
 * DNS on a port that names no protocol, each message on the edge of tshark's DNS heuristic
 * (whether it is DNS or plain data is what tshark decides; the comparison judges cnmlab).
 */
function heuristicEdges(): Buffer[] {
  return [
    toResolver(query()),
    toResolver(response({ answers: [a(4)] }), true),
    toResolver(response({ flags: 0x0583 }), true),
    toResolver(query({ questions: [...question, ...question] })),
    toResolver(query({ answers: [a(1)] })),
    toResolver(query({ additionals: servers(10) })),
    toResolver(query({ additionals: servers(11) })),
    toResolver(query({ flags: 2 << 11 })),
    toResolver(response({ answers: many(100) }), true),
    toResolver(response({ answers: many(101) }), true),
    toResolver(response({ authorities: servers(10) }), true),
    toResolver(response({ authorities: servers(11) }), true),
    toResolver(response({ questions: [...question, ...question] }), true),
    toResolver(query().subarray(0, 12)),
    toResolver(Buffer.concat([response({ questions: [] }), Buffer.alloc(1)]), true),
  ];
}

describeWith(['tshark'], false, 'decode agrees with tshark', () => {
  test('DNS to the embedded resolver on its own port (Docker NATs 127.0.0.11:53 there), by the heuristic tshark applies', () => {
    const w = new PcapWriter('micro');
    const frames = heuristicEdges();
    frames.forEach((f, i) => w.add(BigInt(i) * 1000n, f));
    const file = path.join(dir, 'dns-heuristic.pcap');
    w.writeFile(file);
    expect(agreeWithTshark(file)).toContain(`agree ${frames.length}/${frames.length}`);
  });

  test.each(['micro', 'nano'] as const)('every protocol cnmlab emits (%s pcap), with valid checksums', (precision) => {
    const file = writeSample(`sample-${precision}.pcap`, precision);
    const n = sampleFrames().length;
    expect(agreeWithTshark(file)).toContain(`agree ${n}/${n}`);
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

  test('DNS on an unregistered port is DNS when it looks like DNS, data when it does not', () => {
    const top = (f: Buffer) => dissect(f, LINKTYPE_ETHERNET).map((l) => l.proto).join(':');
    const [q, r, , twoQuestions] = heuristicEdges();
    expect(top(q)).toBe('eth:ip:udp:dns');
    expect(dissect(q, LINKTYPE_ETHERNET)[3]).toMatchObject({ 'dns.qry.name': 'ubuntu1', 'dns.flags.response': false });
    expect(dissect(r, LINKTYPE_ETHERNET)[3]).toMatchObject({ 'dns.a': ['10.0.0.4'], 'dns.flags.response': true });
    expect(top(twoQuestions)).toBe('eth:ip:udp');
    expect(top(toResolver(Buffer.alloc(40, 2)))).toBe('eth:ip:udp');
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
