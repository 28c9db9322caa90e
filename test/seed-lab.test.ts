/** The seed lab in sim: golden transcript and trace, and the eight steps one by one. */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { cnmlab } from './helpers/tshark';
import { expectGolden, runLab } from './helpers/run';
import { traceProblem } from '../sim/trace/validate';
import { classifyPath, firstRequestHops } from '../sim/trace/path';
import { Hop } from '../sim/trace/types';
import { containerNamed } from './helpers/world';

describe('seed lab (overlay-standalone) in sim', () => {
  let lab: Awaited<ReturnType<typeof runLab>>;
  beforeAll(async () => {
    lab = await runLab('overlay-standalone');
  });

  test('every expectation holds', () => {
    expect(lab.result.steps.flatMap((s) => s.checks.filter((c) => !c.ok))).toEqual([]);
    expect(lab.result.ok).toBe(true);
  });

  test('golden transcript (cnmlab run)', () => {
    const r = cnmlab(['run', 'scenarios/overlay-standalone.yaml']);
    expect(r.status).toBe(0);
    expectGolden('overlay-standalone.sim.txt', r.stdout);
  });

  test('a missing golden file fails the test and is not written (only npm run golden:update writes one)', () => {
    const saved = process.env.UPDATE_GOLDEN;
    delete process.env.UPDATE_GOLDEN;
    try {
      expect(() => expectGolden('missing-on-purpose.txt', 'anything')).toThrow(/golden file test\/golden\/missing-on-purpose\.txt is missing/);
      expect(fs.existsSync(path.join(__dirname, 'golden', 'missing-on-purpose.txt'))).toBe(false);
    } finally {
      if (saved !== undefined) process.env.UPDATE_GOLDEN = saved;
    }
  });

  test('golden trace (cnmlab run --trace), valid against the schema', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cnmlab-seed-'));
    const file = path.join(dir, 'trace.json');
    expect(cnmlab(['run', 'scenarios/overlay-standalone.yaml', '--trace', file]).status).toBe(0);
    const text = fs.readFileSync(file, 'utf8');
    expect(traceProblem(JSON.parse(text))).toBeUndefined();
    expectGolden('overlay-standalone.sim.trace.json', text);
    fs.rmSync(dir, { recursive: true });
  });

  test('the first echo request walks steps 1 to 8 through the devices of DESIGN §2', () => {
    const flow = lab.result.trace.flows.find((f) => f.kind === 'icmp-echo')!;
    expect(classifyPath(flow)).toMatchObject({ kind: 'overlay' });
    const icmp = firstRequestHops(flow).filter((h) => h.layers.some((l) => l.proto === 'icmp'));
    const where = (h: Hop) => [h.step, h.host, h.netns.replace(/^1-[0-9a-z]{10}$/, 'overlay').replace(/^[0-9a-f]{12}$/, 'sandbox'), h.device, h.event];
    expect(icmp.map(where)).toEqual([
      [1, 'r0', 'sandbox', 'eth0', 'send'],
      [2, 'r0', 'overlay', 'veth1', 'veth-cross'],
      [3, 'r0', 'overlay', 'vxlan0', 'bridge-forward'],
      [4, 'r0', 'r0', 'eth0', 'encap'],
      [5, 'underlay', 'underlay', 'segment', 'underlay'],
      [6, 'r1', 'r1', 'eth0', 'udp-deliver'],
      [7, 'r1', 'overlay', 'vxlan0', 'decap'],
      [8, 'r1', 'overlay', 'veth1', 'bridge-forward'],
      [8, 'r1', 'sandbox', 'eth0', 'deliver'],
    ]);
    const step4 = icmp[3];
    expect(step4.layers.map((l) => l.proto)).toEqual(['eth', 'ip', 'udp', 'vxlan', 'eth', 'ip', 'icmp']);
    expect(step4.layers[1]).toMatchObject({ 'ip.src': '198.51.100.10', 'ip.dst': '198.51.100.11', 'ip.ttl': 64, 'ip.flags.df': false });
    expect(step4.layers[2]).toMatchObject({ 'udp.dstport': 4789 });
    expect(step4.layers[3]).toMatchObject({ 'vxlan.vni': 4097, 'vxlan.flags': 0x0800 });
    expect(step4.layers[4]).toMatchObject({ 'eth.src': '02:42:0a:00:01:02', 'eth.dst': '02:42:0a:00:01:04' });
    expect(step4.layers[5]).toMatchObject({ 'ip.src': '10.0.1.2', 'ip.dst': '10.0.1.4' });
    expect(step4.note).toBe('FDB 02:42:0a:00:01:04 -> 198.51.100.11');
  });

  test("br0 forgets a MAC it has not seen for its ageing time (300 s) and floods until it learns it again", async () => {
    const { backend, model } = await runLab('overlay-standalone');
    const c = containerNamed(model.world, 'r0', 'ubuntu0');
    const ping = () => {
      backend.execSync('r0', c.sandbox, ['ping', '-c', '1', '-n', '10.0.1.4'], { world: model.world, container: c.id, namesVisible: false });
      const flow = backend.datapath.flows[backend.datapath.flows.length - 1];
      return flow.hops.filter((h) => h.dir === 'request' && h.step === 3).map((h) => h.event);
    };
    expect(ping()).toEqual(['bridge-forward']);
    const clock = backend.datapath.clock;
    clock.runUntil(clock.now + 301e9);
    expect(ping()).toEqual(['bridge-flood']);
    expect(ping()).toEqual(['bridge-forward']);
  });

  test('the reply walks the same steps back, with the same UDP source port', () => {
    const flow = lab.result.trace.flows[0];
    const replies = flow.hops.filter((h) => h.dir === 'reply' && h.layers.some((l) => l.proto === 'icmp' && l['icmp.type'] === 0));
    const seq1 = replies.filter((h) => h.layers.find((l) => l.proto === 'icmp')!['icmp.seq'] === 1);
    expect(seq1.map((h) => h.step)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 8]);
    expect(seq1.map((h) => h.host)).toEqual(['r1', 'r1', 'r1', 'r1', 'underlay', 'r1', 'r0', 'r0', 'r0'].map((h, i) => (i === 5 ? 'r0' : h)));
    const sport = (h: Hop) => h.layers.find((l) => l.proto === 'udp')?.['udp.srcport'];
    const reqEncap = flow.hops.find((h) => h.dir === 'request' && h.event === 'encap')!;
    expect(sport(seq1[3])).toBe(sport(reqEncap));
  });

  test('ARP for the remote container is answered by vxlan0 (proxy); no ARP crosses the underlay', () => {
    const flow = lab.result.trace.flows[0];
    expect(flow.hops.some((h) => h.event === 'arp-proxy-reply' && h.device === 'vxlan0' && h.step === 3)).toBe(true);
    const underlay = flow.hops.filter((h) => h.step === 5);
    expect(underlay.length).toBeGreaterThan(0);
    for (const h of underlay) expect(h.layers.some((l) => l.proto === 'arp')).toBe(false);
    const overOverlay = flow.hops.filter((h) => h.layers.some((l) => l.proto === 'vxlan') && h.layers.some((l) => l.proto === 'arp'));
    expect(overOverlay).toEqual([]);
  });

  test('step 0: the name is resolved by the embedded DNS server at 127.0.0.11', () => {
    const dns = lab.result.trace.flows[0].hops.filter((h) => h.step === 0);
    expect(dns[0]).toMatchObject({ event: 'dns-query', device: 'lo' });
    expect(dns[0].layers.find((l) => l.proto === 'ip')).toMatchObject({ 'ip.dst': '127.0.0.11' });
    expect(dns[0].layers.find((l) => l.proto === 'dns')).toMatchObject({ 'dns.qry.name': 'ubuntu1', 'dns.flags.response': false });
    expect(dns[1].layers.find((l) => l.proto === 'dns')).toMatchObject({ 'dns.a': ['10.0.1.4'], 'dns.flags.rcode': 0 });
  });

  test('a second run is identical (seeded ids, virtual time)', async () => {
    const again = await runLab('overlay-standalone');
    const a = JSON.stringify(again.result), b = JSON.stringify(lab.result);
    const at = [...a].findIndex((ch, i) => ch !== b[i]);
    expect(at < 0 ? 'identical' : `differs at ${at}: ${a.slice(at - 80, at + 80)}`).toBe('identical');
  });

  test('--json prints the documented result object', () => {
    const r = cnmlab(['run', 'scenarios/overlay-standalone.yaml', '--json']);
    expect(r.status).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(Object.keys(doc)).toEqual(['scenario', 'mode', 'ok', 'steps', 'trace']);
    expect(doc).toMatchObject({ scenario: 'overlay-standalone', mode: 'sim', ok: true });
    expect(Object.keys(doc.steps[0])).toEqual(['index', 'on', 'command', 'exitCode', 'stdout', 'stderr', 'durationMs', 'ok']);
    expect(doc.trace.format).toBe('cnmlab-trace/1');
  });
});
