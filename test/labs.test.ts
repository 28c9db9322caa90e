/** Every lab in scenarios/ passes in sim, its trace is valid, and its pcaps satisfy tshark. */
import { networksByAge, swarmNetworks } from '../sim/model/world';
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { runLab } from './helpers/run';
import { traceProblem } from '../sim/trace/validate';
import { cnmlab, badChecksums } from './helpers/tshark';
import { describeWith, REPO } from './helpers/env';
import { classifyPath } from '../sim/trace/path';
import { parseScenario } from '../sim/scenario/load';
import { runScenario } from '../sim/runner/runner';
import { SimBackend } from '../sim/kernel/backend';
import { MAX_HOPS_PER_FLOW } from '../sim/trace/types';

const labs = fs.readdirSync(path.join(REPO, 'scenarios')).filter((f) => f.endsWith('.yaml')).map((f) => f.replace(/\.yaml$/, ''));

/** The seed lab in sim, its last ping replaced by `command` (without the lab's expectations). */
async function seedLabPinging(command: string) {
  const text = fs.readFileSync(path.join(REPO, 'scenarios', 'overlay-standalone.yaml'), 'utf8');
  const s = parseScenario('overlay-standalone.yaml', text);
  const last = s.steps.findIndex((st) => st.command.startsWith('ping'));
  s.steps = [...s.steps.slice(0, last), { ...s.steps[last], command, expect: undefined }];
  return (await runScenario(s, new SimBackend(1))).result;
}

describe('labs in sim', () => {
  test.each(labs)('%s: every expectation holds and the trace validates', async (name) => {
    const { result } = await runLab(name);
    const failed = result.steps.flatMap((s) => s.checks.filter((c) => !c.ok).map((c) => `step ${s.index + 1} ${c.what}: expected ${c.expected}, got ${c.got}`));
    expect(failed).toEqual([]);
    expect(traceProblem(result.trace)).toBeUndefined();
  });

  test('a long flood: the flow keeps its first 10,000 hops whole, counts the rest, and still validates', async () => {
    const result = await seedLabPinging('ping -f -q -n -c 600 10.0.1.4');
    const flow = result.trace.flows[result.trace.flows.length - 1];
    // 600 echoes of 18 hops each (9 each way, the underlay segment included), and the first one's ARP.
    const arpHops = flow.hops.filter((h) => h.layers.some((l) => l.proto === 'arp')).length;
    expect(arpHops).toBeGreaterThan(0);
    expect(flow.hops.length).toBe(MAX_HOPS_PER_FLOW);
    expect(flow.hopsNotKept).toBe(600 * 18 + arpHops - MAX_HOPS_PER_FLOW);
    expect(result.steps[result.steps.length - 1].stdout).toContain('600 packets transmitted, 600 received');
    expect(traceProblem(result.trace)).toBeUndefined();
  });

  test('a flood longer than the 16-bit sequence space reports its statistics (150,000 echoes)', async () => {
    const result = await seedLabPinging('ping -f -q -n -c 150000 10.0.1.4');
    const out = result.steps[result.steps.length - 1];
    expect(out.stdout).toContain('150000 packets transmitted, 150000 received, 0% packet loss');
    expect(out.stdout).toMatch(/^rtt min\/avg\/max\/mdev = [\d.]+\/[\d.]+\/[\d.]+\/[\d.]+ ms/m);
  });

  test('ping -s 8 (data too small for a timestamp) prints no times and no rtt line, as iputils does', async () => {
    const result = await seedLabPinging('ping -c 2 -s 8 10.0.1.4');
    const out = result.steps[result.steps.length - 1].stdout;
    expect(out).toMatch(/^PING 10\.0\.1\.4 \(10\.0\.1\.4\) 8\(36\) bytes of data\.$/m);
    expect(out).toMatch(/^16 bytes from 10\.0\.1\.4: icmp_seq=1 ttl=64$/m);
    expect(out).toContain('2 packets transmitted, 2 received, 0% packet loss');
    expect(out).not.toContain('time=');
    expect(out).not.toContain('rtt ');
  });

  test('ping -f shows a dot per probe, erased by its reply, and ends with ipg/ewma, as iputils does', async () => {
    const result = await seedLabPinging('ping -f -c 5 -n 10.0.1.4');
    const out = result.steps[result.steps.length - 1].stdout;
    expect(out).toContain('bytes of data.\n' + '.\b \b'.repeat(5) + '\n--- 10.0.1.4 ping statistics ---\n');
    expect(out).toMatch(/^rtt min\/avg\/max\/mdev = [\d.\/]+ ms, ipg\/ewma \d+\.\d{3}\/\d+\.\d{3} ms$/m);
    expect(out).not.toContain('icmp_seq=');
  });

  test('ping -i 0 sends back to back: several probes in flight show as pipe', async () => {
    const result = await seedLabPinging('ping -i 0 -c 3 -n 10.0.1.4');
    const out = result.steps[result.steps.length - 1].stdout;
    expect(out).toMatch(/^rtt min\/avg\/max\/mdev = [\d.\/]+ ms, pipe 3, ipg\/ewma 0\.000\/\d+\.\d{3} ms$/m);
  });

  test('cnmlab verify scenarios/*.yaml passes, with a JUnit report', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cnmlab-verify-'));
    const junit = path.join(dir, 'junit.xml');
    const r = cnmlab(['verify', ...labs.map((l) => `scenarios/${l}.yaml`), '--junit', junit]);
    expect(r.stdout).toMatch(/^\d+ passed, 0 failed$/m);
    expect(r.status).toBe(0);
    const xml = fs.readFileSync(junit, 'utf8');
    expect((xml.match(/<testsuite /g) ?? []).length).toBe(labs.length);
    expect(xml).not.toContain('<failure');
    fs.rmSync(dir, { recursive: true });
  });

  test('isolation: two overlays have their own VNI, subnet and namespace', async () => {
    const { model } = await runLab('two-overlays');
    const nets = networksByAge(swarmNetworks(model.world.swarm)).filter((n) => !n.ingress);
    expect(nets.map((n) => [n.name, n.vni, n.ipam.subnet])).toEqual([['front', 4097, '10.0.1.0/24'], ['back', 4098, '10.0.2.0/24']]);
  });

  test('peer removal: the ping after the container left drops at step 4 for want of an FDB entry', async () => {
    const { result } = await runLab('container-leaves');
    const flow = result.trace.flows[result.trace.flows.length - 1];
    const v = classifyPath(flow);
    expect(v).toMatchObject({ kind: 'none', dropAt: 4 });
    expect(flow.hops.find((h) => h.event === 'drop')!.reason).toMatch(/^no fdb entry for 02:42:0a:00:01:04/);
  });

  test('fragmentation: a 1600-byte ping leaves ubuntu0 as two fragments and comes back whole', async () => {
    const { result } = await runLab('mtu-fragmentation');
    const flow = result.trace.flows.find((f) => f.hops.some((h) => h.layers.some((l) => l.proto === 'ip' && l['ip.flags.mf'] === true)))!;
    const sent = flow.hops.filter((h) => h.step === 1 && h.dir === 'request' && h.event === 'send');
    const ips = sent.slice(0, 2).map((h) => h.layers.find((l) => l.proto === 'ip')!);
    expect(ips.map((l) => [l['ip.flags.mf'], l['ip.frag_offset'], l['ip.len']])).toEqual([[true, 0, 1444], [false, 178, 204]]);
    expect(ips[0]['ip.id']).toBe(ips[1]['ip.id']);
    const dfFlow = result.trace.flows[result.trace.flows.length - 1];
    const drop = dfFlow.hops.find((h) => h.event === 'drop')!;
    expect(drop.step).toBe(1);
    expect(drop.layers.find((l) => l.proto === 'icmp')).toMatchObject({ 'icmp.type': 3, 'icmp.code': 4, 'icmp.mtu': 1450 });
  });
});

describeWith(['tshark'], false, 'sim pcaps', () => {
  test('--pcap-dir writes one pcap per capture point; tshark reads them and finds no bad checksum', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cnmlab-pcaps-'));
    expect(cnmlab(['run', 'scenarios/mtu-fragmentation.yaml', '--pcap-dir', dir]).status).toBe(0);
    const files = fs.readdirSync(dir).sort();
    expect(files.some((f) => /^r0-[0-9a-f]{12}-eth0\.pcap$/.test(f))).toBe(true);
    expect(files.some((f) => /^r0-1-[0-9a-z]{10}-vxlan0\.pcap$/.test(f))).toBe(true);
    expect(files).toContain('r0-r0-eth0.pcap');
    for (const f of files) {
      const p = path.join(dir, f);
      expect(execFileSync('tshark', ['-r', p, '-T', 'fields', '-e', 'frame.number'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim().length).toBeGreaterThan(0);
      expect(badChecksums(p)).toBe('');
    }
    const vx = execFileSync('tshark', ['-r', path.join(dir, 'r0-r0-eth0.pcap'), '-Y', 'vxlan.vni == 4097 && icmp', '-T', 'fields', '-e', 'icmp.type'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    expect(vx.split('\n').filter(Boolean).length).toBeGreaterThanOrEqual(4);
    fs.rmSync(dir, { recursive: true });
  });
});
