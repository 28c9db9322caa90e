/**
 * A capture on a macvlan's parent sees the frames the macvlan takes: __netif_receive_skb_core
 * delivers to the ptype_all taps (tcpdump) before the lower's rx_handler hands the frame to
 * the macvlan. Shown by a host pinging a container on another host's macvlan network (a
 * flow whose path has no step at the parent: the capture must have the frames all the same),
 * and measured on the real kernel with a real macvlan and tcpdump on its parent.
 */
import { execFileSync, spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { cnmlab } from './helpers/tshark';
import { describeWith } from './helpers/env';
import { runSim } from './helpers/run';
import { devRecv } from '../sim/kernel/net/dev';
import { Skb } from '../sim/kernel/net/skb';
import { StackedPort } from '../sim/kernel/net/stacked_port';
import { underlayOps } from '../sim/kernel/net/underlay';
import { emitEthernet, ETHERTYPE_IPV4 } from '../sim/wire/ethernet';
import { emitIcmp, ICMP_ECHO_REQUEST } from '../sim/wire/icmp';
import { emitIpv4, IPPROTO_ICMP } from '../sim/wire/ipv4';
import { containerNamed } from './helpers/world';

const HOST_TO_MACVLAN = `name: host-to-macvlan
hosts:
  r0: {}
  r1: {}
steps:
  - r0: docker network create -d macvlan --subnet 198.51.100.0/24 --gateway 198.51.100.1 -o parent=eth0 mv
  - r0: docker run -dit --name c0 --network mv --ip 198.51.100.20 alpine
  - r1: ping -c 1 198.51.100.20
`;

/** Each frame of a capture as what it is: an ARP request or reply, an echo request or reply (IPv6 and IGMP left out). */
function frames(pcap: string): string[] {
  const out = execFileSync('tshark', ['-r', pcap, '-Y', 'arp || icmp', '-T', 'fields', '-e', 'arp.opcode', '-e', 'icmp.type'], { encoding: 'utf8' });
  return out.split('\n').filter(Boolean).map((l) => {
    const [arp, icmp] = l.split('\t');
    return arp ? (arp === '1' ? 'arp request' : 'arp reply') : icmp === '8' ? 'echo request' : 'echo reply';
  });
}

const BOTH_WAYS = ['arp request', 'arp reply', 'echo request', 'echo reply'];

describe("the lower's port", () => {
  test('looks a frame up once: the device layer asks it which macvlan a frame is for, and hands it that answer', async () => {
    const { backend, model } = await runSim(HOST_TO_MACVLAN);
    const c0 = containerNamed(model.world, 'r0', 'c0');
    const eth0 = backend.kernel.netns('r0', 'r0').links.get('eth0')!;
    const macvlan = backend.kernel.netns('r0', c0.sandbox).links.get('eth0')!;
    const port = eth0.rxHandler as StackedPort;
    expect(port).toBeInstanceOf(StackedPort);
    // A frame to the macvlan's MAC from r1's eth0: the port's claim names the macvlan itself.
    const frame = new Uint8Array(60);
    frame.set(macvlan.mac.split(':').map((x) => parseInt(x, 16)), 0);
    frame.set([0x02, 0, 0, 0, 0, 1, 0x08, 0x00], 6);
    expect(port.claim(frame)).toBe(macvlan);
    const lookup = jest.spyOn(port as unknown as { lookup(mac: string): unknown }, 'lookup');
    const before = macvlan.rxPackets;
    devRecv(backend.datapath, eth0, new Skb(frame, undefined, 'request'));
    expect(macvlan.rxPackets).toBe(before + 1);
    expect(lookup).toHaveBeenCalledTimes(1);
  });

  test("records a broadcast both a macvlan and the parent's own stack take once at the parent, as its taps see it once", async () => {
    const { backend } = await runSim(HOST_TO_MACVLAN);
    const eth0 = backend.kernel.netns('r0', 'r0').links.get('eth0')!;
    // An echo request to r0's own address in an Ethernet broadcast: the macvlan takes the
    // broadcast (the port claims it for its group), the parent's stack takes the datagram.
    const icmp = emitIcmp({ kind: 'echo', type: ICMP_ECHO_REQUEST, code: 0, ident: 7, seq: 1, data: Buffer.alloc(8) });
    const ip = emitIpv4({ src: '198.51.100.11', dst: eth0.addrs[0].ip, protocol: IPPROTO_ICMP, ttl: 64, id: 1, tos: 0, dontFragment: true, moreFragments: false, fragmentOffset: 0, options: Buffer.alloc(0) }, icmp);
    const frame = emitEthernet({ src: '02:00:00:00:00:01', dst: 'ff:ff:ff:ff:ff:ff', ethertype: ETHERTYPE_IPV4 }, ip);
    const port = eth0.rxHandler as StackedPort;
    expect(port).toBeInstanceOf(StackedPort);
    expect(port.claim(frame)).toBe('group');
    const flow = backend.datapath.newFlow('icmp-echo', 'r1', eth0.addrs[0].ip);
    flow.path = 'macvlan';
    devRecv(backend.datapath, eth0, new Skb(frame, flow, 'request'));
    const atParent = flow.hops.filter((h) => h.dir === 'request' && h.host === 'r0' && h.netns === 'r0' && h.device === 'eth0');
    expect(atParent.map((h) => `${h.step} ${h.event}`)).toEqual(['4 bridge-forward']);
  });

  test("records a broadcast the segment floods at each host's uplink once: the lower that tapped it skips it, another host does not", async () => {
    const { backend } = await runSim(`name: flood-past-macvlan
hosts:
  r0: {}
  r1: {}
  r2: {}
steps:
  - r0: docker network create -d macvlan --subnet 198.51.100.0/24 --gateway 198.51.100.1 -o parent=eth0 mv
  - r0: docker run -dit --name c0 --network mv --ip 198.51.100.20 alpine
  - r0: sysctl -w net.ipv4.ip_forward=0
`);
    const eth0 = (host: string) => backend.kernel.netns(host, host).links.get('eth0')!;
    // r2 sends an echo request for r1 in an Ethernet broadcast: the segment hands the same
    // frame to r0 first (whose macvlan port claims it for its group, its stack drops it:
    // not its address, forwarding off), then to r1, whose stack takes it.
    const icmp = emitIcmp({ kind: 'echo', type: ICMP_ECHO_REQUEST, code: 0, ident: 7, seq: 1, data: Buffer.alloc(8) });
    const ip = emitIpv4({ src: eth0('r2').addrs[0].ip, dst: eth0('r1').addrs[0].ip, protocol: IPPROTO_ICMP, ttl: 64, id: 1, tos: 0, dontFragment: true, moreFragments: false, fragmentOffset: 0, options: Buffer.alloc(0) }, icmp);
    const frame = emitEthernet({ src: eth0('r2').mac, dst: 'ff:ff:ff:ff:ff:ff', ethertype: ETHERTYPE_IPV4 }, ip);
    const port = eth0('r0').rxHandler as StackedPort;
    expect(port).toBeInstanceOf(StackedPort);
    expect(port.claim(frame)).toBe('group');
    const flow = backend.datapath.newFlow('icmp-echo', 'r2', eth0('r1').addrs[0].ip);
    flow.path = 'macvlan';
    underlayOps.xmit(backend.datapath, eth0('r2'), new Skb(frame, flow, 'request'));
    backend.datapath.clock.runUntil(backend.datapath.clock.now + 1e9);
    const uplinkHops = (host: string) => flow.hops.filter((h) => h.dir === 'request' && h.host === host && h.netns === host && h.device === 'eth0' && h.step !== undefined).map((h) => `${h.step} ${h.event}`);
    expect(uplinkHops('r0')).toEqual(['4 bridge-forward']);
    expect(uplinkHops('r1')).toEqual(['4 bridge-forward']);
  });
});

describeWith(['tshark'], false, "a capture on a macvlan's parent", () => {
  test('has the frames the macvlan takes as well as those it sends, where the flow has no step at the parent', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cnmlab-lowercap-'));
    try {
      const lab = path.join(dir, 'host-to-macvlan.yaml');
      fs.writeFileSync(lab, HOST_TO_MACVLAN);
      const r = cnmlab(['run', lab, '--pcap-dir', path.join(dir, 'pcaps')]);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(frames(path.join(dir, 'pcaps', 'r0-r0-eth0.pcap'))).toEqual(BOTH_WAYS);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describeWith(['ip', 'tcpdump', 'tshark', 'ping'], true, "a capture on a macvlan's parent on the real kernel", () => {
  test('has the frames the macvlan takes (tcpdump -p on the parent, a peer pinging the macvlan)', async () => {
    const tag = `lowcap${process.pid}`;
    const [peer, host, box] = ['a', 'b', 'c'].map((n) => `${tag}${n}`);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cnmlab-lowercap-'));
    const ip = (...args: string[]) => execFileSync('ip', args, { stdio: 'pipe' });
    try {
      for (const n of [peer, host, box]) ip('netns', 'add', n);
      ip('-n', peer, 'link', 'add', 'a0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', host);
      ip('-n', peer, 'addr', 'add', '10.5.0.11/24', 'dev', 'a0');
      ip('-n', peer, 'link', 'set', 'a0', 'up');
      ip('-n', host, 'link', 'set', 'eth0', 'up');
      ip('-n', host, 'link', 'add', 'm0', 'link', 'eth0', 'type', 'macvlan', 'mode', 'bridge');
      ip('-n', host, 'link', 'set', 'm0', 'netns', box);
      ip('-n', box, 'addr', 'add', '10.5.0.20/24', 'dev', 'm0');
      ip('-n', box, 'link', 'set', 'm0', 'up');
      const pcap = path.join(dir, 'eth0.pcap');
      const dump = spawn('ip', ['netns', 'exec', host, 'tcpdump', '-p', '-U', '--immediate-mode', '-c', '4', '-i', 'eth0', '-w', pcap, 'arp or icmp'], { stdio: ['ignore', 'ignore', 'pipe'] });
      // tcpdump says it is listening once its socket is bound.
      await new Promise<void>((resolve) => dump.stderr.on('data', (d: Buffer) => { if (d.toString().includes('listening')) resolve(); }));
      const exited = new Promise((resolve) => dump.on('exit', resolve));
      expect(spawnSync('ip', ['netns', 'exec', peer, 'ping', '-c', '1', '-W', '2', '10.5.0.20']).status).toBe(0);
      // tcpdump leaves by itself once it has written its 4 frames; were one missing, it is stopped after a while.
      const stop = setTimeout(() => dump.kill('SIGINT'), 5000);
      await exited;
      clearTimeout(stop);
      expect(frames(pcap)).toEqual(BOTH_WAYS);
    } finally {
      for (const n of [box, host, peer]) spawnSync('ip', ['netns', 'del', n]);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 30000);
});
