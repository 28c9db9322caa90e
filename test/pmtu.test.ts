/** The underlay's MTU below the overlay's 1450 + 50: vxlan's PMTU answer, the cached path MTU, outer fragments (issue 15; measured in emu). */
import { runSim, twoNodes } from './helpers/run';
import { Hop } from '../sim/trace/types';

const smallUnderlay = `  - r0: docker run -dit --name ubuntu0 --network test-net ubuntu:14.04
  - r1: docker run -dit --name ubuntu1 --network test-net ubuntu:14.04
  - r0: ip link set eth0 mtu 1400
  - r1: ip link set eth0 mtu 1400
`;

async function run(extra: string) {
  const { result } = await runSim(twoNodes(smallUnderlay + extra));
  const n = extra.trim().split('\n').filter((l) => /^\s*- /.test(l)).length;
  const out = result.steps.slice(-n).map((s) => ({ stdout: s.stdout, stderr: s.stderr, exit: s.exitCode }));
  const flows = result.trace.flows.filter((f) => f.kind === 'icmp-echo');
  return { out, flows };
}

const ipLayers = (h: Hop) => h.layers.filter((l) => l.proto === 'ip');

describe('vxlan meets a DF packet that will not fit the underlay', () => {
  test('it answers "fragmentation needed" for the destination, with the tunnel MTU; ping prints what iputils prints', async () => {
    const { out, flows } = await run('  - ubuntu0: ping -c 1 -s 1422 10.0.1.4\n');
    expect(out[0].exit).toBe(1);
    expect(out[0].stdout).toContain('\nFrom 10.0.1.4 icmp_seq=1 Frag needed and DF set (mtu = 1350)\n\n--- 10.0.1.4 ping statistics ---\n1 packets transmitted, 0 received, +1 errors, 100% packet loss');
    const hops = flows[0].hops;
    expect(hops.find((h) => h.event === 'drop')).toMatchObject({ step: 4, host: 'r0', device: 'vxlan0', reason: 'MTU 1400 < 1500, DF set' });
    const answer = hops.find((h) => h.step === 7 && h.event === 'decap')!;
    // As the kernel built it in emu: 576 bytes from the destination's addresses, DF, id 0, quoting the packet.
    expect(answer.layers[0]).toMatchObject({ 'eth.src': '02:42:0a:00:01:04', 'eth.dst': '02:42:0a:00:01:02' });
    expect(ipLayers(answer)[0]).toMatchObject({ 'ip.src': '10.0.1.4', 'ip.dst': '10.0.1.2', 'ip.len': 576, 'ip.id': 0, 'ip.flags.df': true, 'ip.ttl': 64 });
    expect(answer.layers.find((l) => l.proto === 'icmp')).toMatchObject({ 'icmp.type': 3, 'icmp.code': 4, 'icmp.mtu': 1350 });
    expect(ipLayers(answer)[1]).toMatchObject({ 'ip.len': 1450, 'ip.flags.df': true });
    expect(hops.filter((h) => h.step === 8).map((h) => h.event)).toEqual(['bridge-forward', 'deliver']);
  });

  test('a packet that just fits (inner 1350) passes; one byte more is answered', async () => {
    const { out } = await run('  - ubuntu0: ping -c 1 -M do -s 1322 10.0.1.4\n  - ubuntu0: ping -c 1 -M do -s 1323 10.0.1.4\n');
    expect(out[0].exit).toBe(0);
    expect(out[1].stdout).toContain('Frag needed and DF set (mtu = 1350)');
  });

  test('the container caches the path MTU for 600 s: ip route get shows it, -M do fails locally, the next pings fragment and arrive', async () => {
    const { out, flows } = await run(`  - ubuntu0: ping -c 1 -s 1422 10.0.1.4
  - ubuntu0: ip route get 10.0.1.4
  - ubuntu0: ping -c 1 -M do -s 1422 10.0.1.4
  - ubuntu0: ping -c 2 -s 1422 10.0.1.4
`);
    expect(out[1].stdout).toBe('10.0.1.4 dev eth0 src 10.0.1.2 uid 0 \n    cache expires 600sec mtu 1350 \n');
    expect(out[2]).toMatchObject({ exit: 1, stderr: 'ping: local error: message too long, mtu=1350\n' });
    expect(out[3].exit).toBe(0);
    expect(out[3].stdout).toContain('1430 bytes from 10.0.1.4: icmp_seq=2');
    const sent = flows[flows.length - 1].hops.filter((h) => h.step === 1 && h.dir === 'request' && h.event === 'send');
    expect(sent.map((h) => ipLayers(h)[0]['ip.len'])).toEqual([1348, 122, 1348, 122]);
  });

  test('the learned path MTU expires after 600 s', async () => {
    const { out } = await run(`  - ubuntu0: ping -c 1 -s 1422 10.0.1.4
  - ubuntu0: ping -c 2 -i 300 10.0.1.4
    timeout: 400
  - ubuntu0: ip route get 10.0.1.4
  - ubuntu0: ping -c 2 -i 300 10.0.1.4
    timeout: 400
  - ubuntu0: ip route get 10.0.1.4
  - ubuntu0: ping -c 1 -s 1422 10.0.1.4
`);
    expect(out[2].stdout).toMatch(/^ {4}cache expires 29\dsec mtu 1350 $/m);
    expect(out[4].stdout).toBe('10.0.1.4 dev eth0 src 10.0.1.2 uid 0 \n    cache \n');
    // Forgotten, the path MTU is learned again the same way.
    expect(out[5].stdout).toContain('Frag needed and DF set (mtu = 1350)');
  });
});

describe('a packet without DF that will not fit the underlay', () => {
  test('the outer datagram (DF clear) leaves in fragments; steps 4 to 6 show the first, as captures on the devices do', async () => {
    const { out, flows } = await run('  - ubuntu0: ping -c 1 -M dont -s 1422 10.0.1.4\n');
    expect(out[0].exit).toBe(0);
    // The datagram's own hops (r0's ARP for the peer VTEP is step 4's too).
    const hops = flows[0].hops.filter((h) => h.dir === 'request' && h.step !== undefined && h.step >= 4 && h.step <= 6 && !h.layers.some((l) => l.proto === 'arp'));
    expect(hops.map((h) => h.step)).toEqual([4, 5, 6]);
    for (const h of hops) {
      expect(ipLayers(h)[0]).toMatchObject({ 'ip.len': 1396, 'ip.flags.df': false, 'ip.flags.mf': true, 'ip.frag_offset': 0 });
      expect(h.layers.some((l) => l.proto === 'vxlan')).toBe(true);
    }
    expect(hops[0].actor).toBe('vxlan0');
  });
});
