/** cnmlab replay: retelling traces, and turning real captures into the eight steps. */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { replayCaptures } from '../sim/trace/replay';
import { traceProblem } from '../sim/trace/validate';
import { describeWith, REPO } from './helpers/env';
import { stopCapture, TestNamespaces } from './helpers/netns';
import { cnmlab } from './helpers/tshark';
import { PcapWriter } from '../sim/pcap/writer';
import { echo, eth, ip, sampleFrames } from './helpers/frames';
import { emitEthernet, ETHERTYPE_ARP } from '../sim/wire/ethernet';
import { emitArp } from '../sim/wire/arp';
import { IPPROTO_ICMP } from '../sim/wire/ipv4';
import { Hop, Trace } from '../sim/trace/types';

/** Captures emu recorded (test/fixtures/README.md). */
const fixture = (name: string) => path.join(REPO, 'test', 'fixtures', 'captures', name);

describe('replay', () => {
  test('an underlay capture becomes the ping flow seen on the underlay (step 5), VNI 4097', async () => {
    const { trace } = await replayCaptures([{ file: fixture('underlay-vxlan.pcap') }]);
    expect(traceProblem(trace)).toBeUndefined();
    const f = trace.flows.find((x) => x.kind === 'icmp-echo')!;
    expect(f).toMatchObject({ from: '10.0.1.2', to: '10.0.1.4' });
    // Two pings and a fragmented one: each request and reply at step 5.
    expect(f.hops.map((h) => [h.step, h.dir])).toEqual([[5, 'request'], [5, 'reply'], [5, 'request'], [5, 'reply'], [5, 'request'], [5, 'reply']]);
    expect(f.hops.every((h) => h.layers.find((l) => l.proto === 'vxlan')!['vxlan.vni'] === 4097)).toBe(true);
    expect(trace.topology.hosts.map((h) => h.underlay)).toEqual(['198.51.100.10', '198.51.100.11']);
  });

  test('captures of both containers, an overlay namespace and the underlay rebuild steps 1–8', async () => {
    const { trace } = await replayCaptures([
      { file: fixture('ubuntu0-eth0.pcap'), point: 'container' }, { file: fixture('r0-overlay-any.pcap') },
      { file: fixture('underlay-vxlan.pcap') }, { file: fixture('ubuntu1-eth0.pcap'), point: 'container' },
    ]);
    expect(traceProblem(trace)).toBeUndefined();
    // The echo request's hops (ARP frames are placed on the path too, with the events sim gives them).
    const requests = trace.flows.find((f) => f.kind === 'icmp-echo')!.hops.filter((h) => h.dir === 'request' && !h.layers.some((l) => l.proto === 'arp'));
    expect(requests.slice(0, 5).map((h) => [h.step, h.host, h.event])).toEqual([
      [1, 'ubuntu0-eth0', 'send'], [2, 'r0-overlay-any', 'veth-cross'], [3, 'r0-overlay-any', 'bridge-forward'], [5, 'underlay', 'underlay'], [8, 'ubuntu1-eth0', 'deliver'],
    ]);
  });

  test('DNS inside a container, sent by Docker\'s NAT to the resolver\'s own port, is step 0', async () => {
    const { trace } = await replayCaptures([{ file: fixture('container-dns-dnat.pcap') }]);
    expect(trace.flows).toHaveLength(1);
    const dns = trace.flows[0];
    expect(dns).toMatchObject({ kind: 'dns', from: '127.0.0.1', to: '127.0.0.11' });
    // A, AAAA and PTR are answered; the name nobody holds is not (nothing to forward it to).
    expect(dns.hops.map((h) => [h.step, h.dir, h.event])).toEqual([
      ...[0, 1, 2].flatMap(() => [[0, 'request', 'dns-query'], [0, 'reply', 'dns-answer']]), [0, 'request', 'dns-query'],
    ]);
    const port = dns.hops[0].layers.find((l) => l.proto === 'udp')!['udp.dstport'];
    expect(port).not.toBe(53);
    expect(dns.hops[0].note).toBe(`embedded DNS (127.0.0.11:${port}, Docker's NAT of port 53)`);
    expect(dns.hops[1].note).toBe('embedded DNS (127.0.0.11)');
  });

  test('labels DNS to 127.0.0.11 as step 0, swarm gossip and control traffic by port', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cnmlab-replay-'));
    const file = path.join(dir, 'mixed.pcap');
    const w = new PcapWriter('micro');
    sampleFrames().forEach((f, i) => w.add(BigInt(i) * 1000n, f));
    w.writeFile(file);
    const { trace } = await replayCaptures([{ file }]);
    const dns = trace.flows.find((f) => f.kind === 'dns')!;
    expect(dns.hops.every((h) => h.step === 0)).toBe(true);
    const notes = trace.flows.filter((f) => f.kind === 'other').flatMap((f) => f.hops.map((h) => h.note));
    expect(notes).toContain('swarm gossip (memberlist UDP 7946)');
    expect(notes).toContain('swarm control (TCP 2377)');
    fs.rmSync(dir, { recursive: true });
  });

  test("an overlay namespace's capture (-i any): the ARP exchange is told as sim tells it, step, event and note (each frame seen twice, vxlan0's proxied reply noted)", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cnmlab-replay-'));
    const file = path.join(dir, 'overlay.pcap');
    const A = '02:42:0a:00:01:02', B = '02:42:0a:00:01:04';
    const request = emitEthernet({ src: A, dst: 'ff:ff:ff:ff:ff:ff', ethertype: ETHERTYPE_ARP }, emitArp({ opcode: 1, senderMac: A, senderIp: '10.0.1.2', targetMac: '00:00:00:00:00:00', targetIp: '10.0.1.4' }));
    const reply = emitEthernet({ src: B, dst: A, ethertype: ETHERTYPE_ARP }, emitArp({ opcode: 2, senderMac: B, senderIp: '10.0.1.4', targetMac: A, targetIp: '10.0.1.2' }));
    const ping = eth(A, B, ip('10.0.1.2', '10.0.1.4', IPPROTO_ICMP), echo(8, 1));
    // -i any in the overlay namespace sees each frame twice: through the container's veth and at vxlan0.
    const w = new PcapWriter('micro');
    [request, request, reply, reply, ping, ping].forEach((f, i) => w.add(BigInt(i) * 1000n, f));
    w.writeFile(file);
    const { trace } = await replayCaptures([{ file, point: 'overlay' }]);
    const arps = trace.flows.find((f) => f.kind === 'icmp-echo')!.hops.filter((h) => h.layers.some((l) => l.proto === 'arp'));
    // Sim's golden trace of the same lab, in r0's overlay namespace: the same steps, events and notes.
    const golden: Trace = JSON.parse(fs.readFileSync(path.join(REPO, 'test', 'golden', 'overlay-standalone.sim.trace.json'), 'utf8'));
    const sim = golden.flows.find((f) => f.kind === 'icmp-echo')!.hops.filter((h) => h.dir === 'request' && h.host === 'r0' && h.netns.startsWith('1-') && h.layers.some((l) => l.proto === 'arp'));
    const told = (hops: Hop[]) => hops.map((h) => [h.step, h.event, h.note]);
    expect(told(sim)).toEqual([[2, 'veth-cross', undefined], [3, 'bridge-flood', undefined], [3, 'arp-proxy-reply', 'vxlan0 proxy: 10.0.1.4 is at 02:42:0a:00:01:04 (static neighbour)'], [1, 'bridge-forward', undefined]]);
    expect(told(arps)).toEqual(told(sim));
    fs.rmSync(dir, { recursive: true });
  });

  test('cnmlab replay TRACE.json retells it; a capture gives --json and --trace; bad input is exit 2', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cnmlab-replay-'));
    const tr = path.join(dir, 'seed.json');
    expect(cnmlab(['run', 'scenarios/overlay-standalone.yaml', '--trace', tr]).status).toBe(0);
    const r = cnmlab(['replay', tr]);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^path of ping-1 \(icmp-echo ubuntu0 → ubuntu1, step 10 · ubuntu0: ping -c 3 ubuntu1\):/m);
    expect(r.stdout).toMatch(/hop \d+: step 4 request r0 r0\/eth0 encap — FDB 02:42:0a:00:01:04 -> 198\.51\.100\.11/);
    expect(r.stdout).toMatch(/vxlan: flags=2048 vni=4097/);
    const out = path.join(dir, 'public.json');
    const j = cnmlab(['replay', fixture('container-dns-dnat.pcap'), '--json', '--trace', out]);
    expect(JSON.parse(j.stdout).mode).toBe('replay');
    expect(JSON.parse(fs.readFileSync(out, 'utf8')).flows).toHaveLength(1);
    fs.writeFileSync(path.join(dir, 'junk.pcap'), 'junk');
    const bad = cnmlab(['replay', path.join(dir, 'junk.pcap')]);
    expect(bad.status).toBe(2);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(cnmlab(['replay', tr, '--point', 'sideways']).status).toBe(2);
    fs.rmSync(dir, { recursive: true });
  });
});

describeWith(['ip', 'tcpdump', 'ping'], true, 'replay of captures made in emu', () => {
  test('the underlay, an overlay namespace (-i any) and both containers rebuild steps 1–8', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cnmlab-replay-emu-'));
    // A state folder of its own: a `cnmlab clean` elsewhere on the machine cannot meet this kept lab.
    const stateDir = path.join(dir, 'state');
    process.env.CNMLAB_STATE_DIR = stateDir;
    expect(cnmlab(['run', 'scenarios/overlay-standalone.yaml', '--mode', 'emu', '--keep']).status).toBe(0);
    const stateFile = fs.readdirSync(stateDir).find((f) => f.endsWith('.json'))!;
    const state = JSON.parse(fs.readFileSync(path.join(stateDir, stateFile), 'utf8'));
    const net = new TestNamespaces();
    try {
      const ns = (suffix: string) => state.namespaces.find((n: string) => n.endsWith(suffix)) as string;
      const sandboxes = state.namespaces.filter((n: string) => /\.[0-9a-f]{12}$/.test(n)) as string[];
      // Ids are seeded, so sim names the same overlay namespace as emu.
      const sim = JSON.parse(cnmlab(['run', 'scenarios/overlay-standalone.yaml', '--json']).stdout);
      const testNet = sim.trace.topology.namespaces.find((n: { host: string; network?: string }) => n.host === 'r0' && n.network === 'test-net').name;
      const overlayR0 = ns(`.r0.${testNet}`);
      const src = sandboxes.find((n) => n.includes('.r0.'))!, dst = sandboxes.find((n) => n.includes('.r1.'))!;
      const files = { underlay: path.join(dir, 'underlay.pcap'), overlay: path.join(dir, 'r0-overlay.pcap'), c0: path.join(dir, 'ubuntu0.pcap'), c1: path.join(dir, 'ubuntu1.pcap') };
      const dumps = await Promise.all([
        tcpdumpIn(net, ns('._underlay'), ['-i', 'ul0', '-w', files.underlay, 'udp', 'port', '4789']),
        tcpdumpIn(net, overlayR0, ['-i', 'any', '-w', files.overlay, 'icmp']),
        tcpdumpIn(net, src, ['-i', 'eth0', '-w', files.c0, 'icmp']),
        tcpdumpIn(net, dst, ['-i', 'eth0', '-w', files.c1, 'icmp']),
      ]);
      execFileSync('ip', ['netns', 'exec', src, 'ping', '-c', '1', '10.0.1.4']);
      await new Promise((r) => setTimeout(r, 200));
      await Promise.all(dumps.map(stopCapture));
      const { trace } = await replayCaptures([
        { file: files.c0, point: 'container' }, { file: files.overlay }, { file: files.underlay }, { file: files.c1, point: 'container' },
      ]);
      expect(traceProblem(trace)).toBeUndefined();
      const flow = trace.flows.find((f) => f.kind === 'icmp-echo')!;
      const steps = flow.hops.filter((h) => h.dir === 'request').map((h) => h.step);
      for (const s of [1, 2, 3, 5, 8]) expect(steps).toContain(s);
      expect(trace.flows.find((f) => f.kind === 'icmp-echo')!.hops.find((h) => h.step === 5)!.layers.find((l) => l.proto === 'vxlan')!['vxlan.vni']).toBe(4097);
    } finally {
      cnmlab(['clean']);
      delete process.env.CNMLAB_STATE_DIR;
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

function tcpdumpIn(net: TestNamespaces, realNs: string, args: string[]) {
  // The namespace is the emu run's; TestNamespaces only starts the capture in it.
  return net.tcpdumpReal(realNs, args);
}
