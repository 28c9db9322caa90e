/**
 * Docker's embedded DNS server, one for both modes (sim/model/resolver.ts): the bytes of its
 * replies as tshark decodes them (libnetwork v20.10's flags: RA, RD and CD copied, never AA;
 * TTL 600; truncation; miekg's refusals; what Docker forwards, and to whom), and in emu the
 * real responder process behind the sandbox's real DNAT and SNAT, over UDP and TCP, the
 * texts BusyBox's and bind's nslookup print from it, and `cnmlab clean` finding it.
 */
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { describeWith, REPO } from './helpers/env';
import { eth, ip } from './helpers/frames';
import { runSim, twoNodes } from './helpers/run';
import { hostOf } from '../sim/model/world';
import { dnsView } from '../sim/model/dns';
import { DnsView, serveDns, serveDnsOutcome } from '../sim/model/resolver';
import { emitDns, DnsRepr } from '../sim/wire/dns';
import { emitUdp } from '../sim/wire/udp';
import { IPPROTO_UDP } from '../sim/wire/ipv4';
import { PcapWriter } from '../sim/pcap/writer';

const FIELDS = ['dns.id', 'dns.flags.response', 'dns.flags.opcode', 'dns.flags.authoritative', 'dns.flags.truncated', 'dns.flags.recdesired', 'dns.flags.recavail',
  'dns.flags.checkdisable', 'dns.flags.rcode', 'dns.count.queries', 'dns.count.answers', 'dns.qry.name', 'dns.qry.class', 'dns.a', 'dns.ptr.domain_name', 'dns.resp.ttl'];

/** tshark's decoding of DNS messages, each sent from 127.0.0.11:53 in a frame of its own: one record a message, its fields by name. */
function tsharkDecode(messages: Buffer[]): Record<string, string>[] {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cnmlab-dns-'));
  const pcap = path.join(dir, 'replies.pcap');
  const w = new PcapWriter();
  messages.forEach((m, i) => w.add(BigInt(i) * 1000n, eth('02:42:0a:00:01:02', '02:42:0a:00:01:02', ip('127.0.0.11', '127.0.0.1', IPPROTO_UDP),
    emitUdp({ srcPort: 53, dstPort: 40000 + i }, m, { src: '127.0.0.11', dst: '127.0.0.1' }))));
  w.writeFile(pcap);
  const out = execFileSync('tshark', ['-r', pcap, '-T', 'fields', '-E', 'occurrence=a', '-E', 'aggregator=,', '-E', 'separator=\t', ...FIELDS.flatMap((f) => ['-e', f])], { encoding: 'utf8' });
  fs.rmSync(dir, { recursive: true, force: true });
  return out.split('\n').filter(Boolean).map((line) => Object.fromEntries(line.split('\t').map((v, i) => [FIELDS[i], v])));
}

function query(name: string, type: string, flags = 0x0100, id = 0x1234): Buffer {
  return emitDns({ id, flags, questions: [{ name, type }], answers: [] });
}

/** A query with an EDNS OPT record advertising `size` bytes (as dig sends by default). */
function ednsQuery(name: string, size: number): Buffer {
  const q = query(name, 'A');
  q.writeUInt16BE(1, 10);
  const opt = Buffer.from([0, 0, 41, size >> 8, size & 0xff, 0, 0, 0, 0, 0, 0]);
  return Buffer.concat([q, opt]);
}

async function seedView(): Promise<DnsView> {
  const { model } = await runSim(twoNodes(`  - r0: docker run -dit --name Web --network test-net ubuntu:14.04
  - r1: docker run -dit --name ubuntu1 --network test-net ubuntu:14.04
`));
  const web = Object.values(hostOf(model.world, 'r0').containers)[0];
  return dnsView(model.world, web);
}

describeWith(['tshark'], false, "the embedded DNS server's replies, byte for byte (tshark decodes them)", () => {
  test("a name Docker owns: NOERROR, RA set, RD and CD as asked, never AA, TTL 600, the question's own spelling", async () => {
    const view = await seedView();
    const replies = [
      serveDns(view, query('ubuntu1', 'A'), 'udp')!,
      serveDns(view, query('UBUNTU1.test-net', 'A', 0x0010, 0x4321), 'udp')!,
      serveDns(view, query('ubuntu1', 'AAAA'), 'udp')!,
      serveDns(view, query('ubuntu1', 'MX'), 'udp')!,
      serveDns(view, query('2.1.0.10.in-addr.arpa', 'PTR'), 'udp')!,
    ];
    const d = tsharkDecode(replies);
    expect(d.map((r) => [r['dns.flags.response'], r['dns.flags.authoritative'], r['dns.flags.recavail'], r['dns.flags.recdesired'], r['dns.flags.checkdisable'], r['dns.flags.rcode']]))
      .toEqual([['1', '0', '1', '1', '0', '0'], ['1', '0', '1', '0', '1', '0'], ['1', '0', '1', '1', '0', '0'], ['1', '0', '1', '1', '0', '0'], ['1', '0', '1', '1', '0', '0']]);
    expect(d[0]).toMatchObject({ 'dns.id': '0x1234', 'dns.qry.name': 'ubuntu1', 'dns.count.answers': '1', 'dns.a': '10.0.1.4', 'dns.resp.ttl': '600' });
    expect(d[1]).toMatchObject({ 'dns.id': '0x4321', 'dns.qry.name': 'UBUNTU1.test-net', 'dns.a': '10.0.1.4' });
    expect(d[2]['dns.count.answers']).toBe('0');
    expect(d[3]['dns.count.answers']).toBe('0');
    // libnetwork's ipMap keeps the container's own spelling.
    expect(d[4]).toMatchObject({ 'dns.ptr.domain_name': 'Web.test-net', 'dns.resp.ttl': '600' });
  });

  test("what Docker forwards gets no reply of its own, only the external servers' (Google's two, in a lab); a response, a header alone, or a PTR spelled other than libnetwork's suffix gets nothing, and is not forwarded", async () => {
    const view = await seedView();
    expect(view.external).toEqual(['8.8.8.8', '8.8.4.4']);
    const forwarded = (q: Buffer) => {
      const outcome = serveDnsOutcome(view, q, 'udp');
      expect(outcome.reply).toBeUndefined();
      return outcome.forward && { query: Buffer.from(outcome.forward.query).toString('hex'), servers: outcome.forward.servers };
    };
    for (const [name, type] of [['test-net', 'A'], ['tasks.test-net', 'A'], ['example.com', 'AAAA'], ['3.1.0.10.in-addr.arpa', 'PTR'], ['1.0.0.0.ip6.arpa', 'PTR'],
      ['ubuntu1', 'TXT'], ['ubuntu1', 'SRV'], ['nosuch', 'MX']]) {
      // The query goes out as the asker sent it.
      expect([name, type, forwarded(query(name, type))]).toEqual([name, type, { query: query(name, type).toString('hex'), servers: ['8.8.8.8', '8.8.4.4'] }]);
    }
    // handlePTRQuery's suffixes are matched as written: another spelling is an error, logged, and the question dropped.
    expect(forwarded(query('2.1.0.10.IN-ADDR.ARPA', 'PTR'))).toBeUndefined();
    expect(forwarded(query('ubuntu1', 'A', 0x8100))).toBeUndefined();
    expect(forwarded(query('ubuntu1', 'A').subarray(0, 12))).toBeUndefined();
    // A name whose one label holds a dot is no name of Docker's (miekg escapes the dot): it is forwarded.
    const oneLabel = Buffer.concat([query('x', 'A').subarray(0, 12), Buffer.from([16]), Buffer.from('ubuntu1.test-net'), Buffer.from([0, 0, 1, 0, 1])]);
    expect(forwarded(oneLabel)?.servers).toEqual(['8.8.8.8', '8.8.4.4']);
    // A sandbox with no external servers forwards nothing; dockerd no longer serves a sandbox whose container is gone.
    expect(serveDnsOutcome({ ...view, external: [] }, query('example.com', 'A'), 'udp')).toEqual({});
    expect(serveDnsOutcome(undefined, query('example.com', 'A'), 'udp')).toEqual({});
  });

  test("miekg/dns refuses before libnetwork sees it: NOTIMP for another opcode, FORMERR for two questions or records that do not decode", async () => {
    const view = await seedView();
    const status = query('ubuntu1', 'A', (2 << 11) | 0x0100);
    const two: DnsRepr = { id: 9, flags: 0x0100, questions: [{ name: 'ubuntu1', type: 'A' }, { name: 'Web', type: 'A' }], answers: [] };
    const cut = ednsQuery('ubuntu1', 4096).subarray(0, -3);
    // A datagram is read into 512 bytes: a query padded past them (an EDNS padding option) loses its end over UDP, not over TCP.
    const padded = ednsQuery('ubuntu1', 4096);
    padded.writeUInt16BE(604, padded.length - 2);
    const big = Buffer.concat([padded, Buffer.from([0, 12, 2, 0x58]), Buffer.alloc(600)]);
    const d = tsharkDecode([serveDns(view, status, 'udp')!, serveDns(view, emitDns(two), 'udp')!, serveDns(view, cut, 'udp')!, serveDns(view, big, 'udp')!, serveDns(view, big, 'tcp')!]);
    expect(d.map((r) => [r['dns.flags.response'], r['dns.flags.opcode'], r['dns.flags.rcode'], r['dns.count.queries'], r['dns.count.answers'], r['dns.flags.recdesired']]))
      .toEqual([['1', '2', '4', '0', '0', '1'], ['1', '0', '1', '0', '0', '1'], ['1', '0', '1', '1', '0', '1'], ['1', '0', '1', '1', '0', '1'], ['1', '0', '0', '1', '1', '1']]);
  });

  test('over UDP an answer past 512 bytes (or the EDNS size asked) is cut to whole records with TC; over TCP it is whole, TC clear', () => {
    // 40 containers answering to one alias: 40 A records of 19 bytes each.
    const view: DnsView = { networks: [{ name: 'test-net', scope: 'swarm', ingress: false,
      endpoints: Array.from({ length: 40 }, (_, i) => ({ ip: `10.0.1.${i + 2}`, names: ['web', `c${i}`], owner: `c${i}` })) }], external: [] };
    const d = tsharkDecode([serveDns(view, query('web', 'A'), 'udp')!, serveDns(view, ednsQuery('web', 4096), 'udp')!, serveDns(view, query('web', 'A'), 'tcp')!]);
    expect(d.map((r) => [r['dns.flags.truncated'], r['dns.count.answers']])).toEqual([['1', '25'], ['0', '40'], ['0', '40']]);
    expect(serveDns(view, query('web', 'A'), 'udp')!.length).toBeLessThanOrEqual(512);
    expect(d[0]['dns.a'].split(',')).toEqual(Array.from({ length: 25 }, (_, i) => `10.0.1.${i + 2}`));
  });
});

describe("bind's nslookup reads Docker's reply as bind 9.18 does (sim)", () => {
  test('an address: no server heading, the name, then where authoritative answers are, since Docker\'s is not', async () => {
    const { result } = await runSim(twoNodes(`  - r0: docker run -dit --name ubuntu0 --network test-net ubuntu:14.04
  - r1: docker run -dit --name ubuntu1 --network test-net ubuntu:14.04
  - ubuntu0: nslookup 10.0.1.4
  - ubuntu0: nslookup ubuntu1
`));
    expect(result.steps.slice(-2).map((s) => s.stdout)).toEqual([
      '4.1.0.10.in-addr.arpa\tname = ubuntu1.test-net.\n\nAuthoritative answers can be found from:\n\n',
      'Server:\t\t127.0.0.11\nAddress:\t127.0.0.11#53\n\nNon-authoritative answer:\nName:\tubuntu1\nAddress: 10.0.1.4\n\n',
    ]);
  });
});

const CLI = path.join(REPO, 'bin', 'cnmlab.js');

describeWith(['ip', 'bridge', 'tcpdump', 'ping', 'busybox', 'nslookup', 'tshark'], true, "emu's responder on the real kernel", () => {
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cnmlab-dns-state-'));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cnmlab-dns-lab-'));
  const env = { ...process.env, CNMLAB_STATE_DIR: stateDir };
  const cnmlab = (args: string[]) => {
    const r = spawnSync(process.execPath, [CLI, ...args], { cwd: REPO, encoding: 'utf8', env, maxBuffer: 1 << 28 });
    return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
  };
  const responders = (prefix: string) => execFileSync('sh', ['-c', `pgrep -f "[c]nmlab-dns ${prefix}" || true`], { encoding: 'utf8' }).trim().split('\n').filter(Boolean);
  const lab = path.join(dir, 'dns-families.yaml');
  fs.writeFileSync(lab, twoNodes(`  - r0: docker run -dit --name ubuntu0 --network test-net busybox
  - r0: docker run -dit --name ubuntu2 --network test-net ubuntu:14.04
  - r1: docker run -dit --name ubuntu1 --network test-net busybox
  - ubuntu0: nslookup ubuntu1
  - ubuntu2: nslookup ubuntu1
  - ubuntu0: nslookup 10.0.1.4
  - ubuntu2: nslookup 10.0.1.4
  - ubuntu2: ping -c 1 ubuntu1
  - ubuntu0: ping -c 1 ubuntu1
`, 'name: dns-families'));

  afterAll(() => {
    cnmlab(['clean']);
    fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  test("BusyBox's and bind's nslookup print what sim prints, \"Non-authoritative answer:\" included; the real bytes carry RA and no AA, from :53", () => {
    const run = (mode: string, extra: string[] = []) => {
      const r = cnmlab(['run', lab, '--mode', mode, '--json', ...extra]);
      expect(r.status).toBe(0);
      return (JSON.parse(r.stdout) as { steps: { command: string; on: string; stdout: string; exitCode: number }[] }).steps.filter((s) => s.command.startsWith('nslookup'));
    };
    const pcaps = path.join(dir, 'pcaps');
    const emu = run('emu', ['--pcap-dir', pcaps]);
    const sim = run('sim');
    expect(emu.map((s) => [s.on, s.exitCode, s.stdout])).toEqual(sim.map((s) => [s.on, s.exitCode, s.stdout]));
    // Each program says the answer is not authoritative: bind's nslookup of an address by pointing elsewhere for authoritative ones.
    expect(emu.map((s) => /Non-authoritative answer:\n|Authoritative answers can be found from:\n/.exec(s.stdout)?.[0]))
      .toEqual(['Non-authoritative answer:\n', 'Non-authoritative answer:\n', 'Non-authoritative answer:\n', 'Authoritative answers can be found from:\n']);
    // BusyBox asks A and AAAA and heads each reply.
    expect(emu[0].stdout).toBe('Server:\t\t127.0.0.11\nAddress:\t127.0.0.11:53\n\nNon-authoritative answer:\nName:\tubuntu1\nAddress: 10.0.1.5\n\nNon-authoritative answer:\n\n');
    // The pings' names were asked on each container's lo, where emu captures a traced flow's DNS.
    const lo = fs.readdirSync(pcaps).filter((f) => /lo/.test(f)).map((f) => path.join(pcaps, f));
    expect(lo.length).toBe(2);
    const rows = lo.flatMap((f) => execFileSync('tshark', ['-r', f, '-Y', 'dns.flags.response == 1', '-T', 'fields', '-E', 'separator=\t',
      '-e', 'udp.srcport', '-e', 'dns.flags.authoritative', '-e', 'dns.flags.recavail', '-e', 'dns.flags.rcode'], { encoding: 'utf8' }).split('\n').filter(Boolean));
    expect(rows.length).toBeGreaterThanOrEqual(3);
    expect(new Set(rows)).toEqual(new Set(['53\t0\t1\t0']));
  }, 240000);

  test('a kept lab answers over UDP and TCP through the DNAT to the resolver\'s ports; clean stops its responders, even those its state file lost', () => {
    const r = cnmlab(['run', lab, '--mode', 'emu', '--keep']);
    expect(r.status).toBe(0);
    const ns = /container ubuntu2 on r0 +ip netns exec (\S+) bash/.exec(r.stdout)![1];
    const prefix = ns.slice(0, 9);
    // Both protocols to 127.0.0.11:53, as a stub resolver asks; the replies' bytes come back as hex.
    const client = `
const dgram = require('dgram'), net = require('net');
const q = Buffer.from(process.argv[1], 'hex');
const out = {};
const u = dgram.createSocket('udp4');
u.on('message', (m, from) => { out.udp = { port: from.port, hex: m.toString('hex') }; u.close(); tcp(); });
u.send(q, 53, '127.0.0.11');
function tcp() {
  const c = net.connect(53, '127.0.0.11', () => { const l = Buffer.alloc(2); l.writeUInt16BE(q.length); c.write(Buffer.concat([l, q])); });
  let got = Buffer.alloc(0);
  c.on('data', (d) => { got = Buffer.concat([got, d]); if (got.length >= 2 && got.length >= 2 + got.readUInt16BE(0)) { out.tcp = got.subarray(2).toString('hex'); console.log(JSON.stringify(out)); process.exit(0); } });
}
setTimeout(() => { console.log(JSON.stringify(out)); process.exit(1); }, 5000);
`;
    const res = JSON.parse(execFileSync('ip', ['netns', 'exec', ns, process.execPath, '-e', client, query('ubuntu1', 'A').toString('hex')], { encoding: 'utf8' })) as { udp: { port: number; hex: string }; tcp: string };
    expect(res.udp.port).toBe(53);
    const d = tsharkDecode([Buffer.from(res.udp.hex, 'hex'), Buffer.from(res.tcp, 'hex')]);
    expect(d.map((x) => [x['dns.flags.authoritative'], x['dns.flags.recavail'], x['dns.a']])).toEqual([['0', '1', '10.0.1.5'], ['0', '1', '10.0.1.5']]);
    // The sockets are dockerd's: at the ports the sandbox's DNAT names, TCP with Go's backlog.
    const rules = execFileSync('ip', ['netns', 'exec', ns, 'iptables-save', '-t', 'nat'], { encoding: 'utf8' });
    const ss = execFileSync('ip', ['netns', 'exec', ns, 'ss', '-lntu'], { encoding: 'utf8' });
    const udpPort = /-p udp -m udp --dport 53 -j DNAT --to-destination 127\.0\.0\.11:(\d+)/.exec(rules)![1];
    const tcpPort = /-p tcp -m tcp --dport 53 -j DNAT --to-destination 127\.0\.0\.11:(\d+)/.exec(rules)![1];
    expect(ss).toMatch(new RegExp(`udp +UNCONN +0 +0 +127\\.0\\.0\\.11:${udpPort} `));
    expect(ss).toMatch(new RegExp(`tcp +LISTEN +0 +4096 +127\\.0\\.0\\.11:${tcpPort} `));
    // A state file that lost the responders' pids (a run killed before it wrote them): clean still finds them by their mark.
    const running = responders(prefix);
    expect(running.length).toBeGreaterThanOrEqual(3);
    const stateFile = path.join(stateDir, `${prefix}.json`);
    const state = JSON.parse(fs.readFileSync(stateFile, 'utf8')) as { pids: number[] };
    fs.writeFileSync(stateFile, JSON.stringify({ ...state, pids: state.pids.filter((p) => !running.includes(String(p))) }));
    expect(cnmlab(['clean']).status).toBe(0);
    expect(responders(prefix)).toEqual([]);
  }, 240000);
});
