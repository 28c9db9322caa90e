/**
 * Netfilter in sim: the hooks where Linux runs them, conntrack's states, REJECT's answer
 * through the overlay, the statistic match's seeded draws; and the `iptables` program,
 * byte for byte against Debian 12's iptables 1.8.9 (nf_tables) in a real namespace.
 */
import { execFileSync, spawnSync } from 'child_process';
import { runSim, twoNodes } from './helpers/run';
import { describeWith } from './helpers/env';
import { SimKernel } from '../sim/kernel/kernel';
import { iptablesCommand, iptablesSave } from '../sim/kernel/iptables';
import { shellWords } from '../sim/text/words';
import { Conntrack, NfctHolder } from '../sim/kernel/net/netfilter/nf_conntrack';
import { doTable, PacketView } from '../sim/kernel/net/ipv4/netfilter/ip_tables';
import { iptablesHook } from '../sim/kernel/net/ipv4/netfilter/iptable_hooks';
import { NF_INET_HOOKS, NfInetHook, nfHookIndex } from '../sim/kernel/net/netfilter';
import { Skb } from '../sim/kernel/net/skb';
import type { Datapath } from '../sim/kernel/datapath';

const CONTAINERS = `  - r0: docker run -dit --name ubuntu0 --network test-net --cap-add NET_ADMIN ubuntu:14.04
  - r1: docker run -dit --name ubuntu1 --network test-net --cap-add NET_ADMIN ubuntu:14.04
`;

async function lab(steps: string) {
  const { result, backend } = await runSim(twoNodes(CONTAINERS + steps));
  const out = (i: number) => result.steps[result.steps.length + i];
  return { result, backend, out, flows: backend.datapath.flows };
}

function simNamespace() {
  const k = new SimKernel(1);
  k.apply({ op: 'host.add', host: 'h', iface: 'eth0', address: '198.51.100.10/24' });
  return k.netns('h', 'h');
}

/** A bare IPv4 header and UDP ports (all conntrack reads), at offset 0. */
function udpDatagram(src: number, dst: number, sport: number, dport: number): Uint8Array {
  const f = new Uint8Array(28);
  const v = new DataView(f.buffer);
  f[0] = 0x45;
  f[9] = 17;
  v.setUint32(12, src);
  v.setUint32(16, dst);
  v.setUint16(20, sport);
  v.setUint16(22, dport);
  return f;
}

/** An ICMP destination unreachable (port) from `src` to `dst`, quoting `quoted` (a bare IPv4 datagram). */
function icmpUnreachable(src: number, dst: number, quoted: Uint8Array): Uint8Array {
  const f = new Uint8Array(28 + quoted.length);
  const v = new DataView(f.buffer);
  f[0] = 0x45;
  v.setUint16(2, f.length);
  f[8] = 64;
  f[9] = 1;
  v.setUint32(12, src);
  v.setUint32(16, dst);
  f[20] = 3;
  f[21] = 3;
  f.set(quoted, 28);
  return f;
}

describe('netfilter in sim', () => {
  test('the hooks that pass a connection NAT leaves alone still rewrite a DNAT-bound connection both ways and its RELATED ICMP error', () => {
    const ns = simNamespace();
    const nat = ['-t', 'nat', '-A', 'PREROUTING', '-p', 'udp', '--dport', '53', '-j', 'DNAT', '--to-destination', '10.0.0.5:5353'];
    expect(iptablesCommand(ns, nat).exitCode).toBe(0);
    const nf = ns.netfilter!;
    // No filter rule anywhere: every hook passes a packet NAT leaves as it is without a walk.
    expect(nf.unboundHooks).toBe((1 << NF_INET_HOOKS.length) - 1);
    const client = 0xc6336414, host = 0xc633640a, server = 0x0a000005;
    const dp = undefined as unknown as Datapath;
    const through = (hook: NfInetHook, frame: Uint8Array) => {
      const skb = new Skb(frame, undefined, 'request');
      expect(iptablesHook(dp, nfHookIndex(hook), ns, skb, 0, undefined, undefined)).toBeUndefined();
      const v = new DataView(skb.frame.buffer);
      return { skb, src: v.getUint32(12), dst: v.getUint32(16), v };
    };
    const query = () => {
      const f = udpDatagram(client, host, 4000, 53);
      new DataView(f.buffer).setUint16(2, f.length);
      return f;
    };
    const first = through('PREROUTING', query());
    expect([first.skb.ctState, first.dst, first.v.getUint16(22)]).toEqual(['NEW', server, 5353]);
    // The connection's next packet: placed as bound (not unbound), and rewritten by the binding.
    const next = through('PREROUTING', query());
    expect([next.skb.ctState, next.skb.nfctUnbound, next.dst, next.v.getUint16(22)]).toEqual(['NEW', false, server, 5353]);
    // The answer, un-DNATed where the source is changed: from the address and port the client asked.
    const answer = udpDatagram(server, client, 5353, 4000);
    new DataView(answer.buffer).setUint16(2, answer.length);
    const back = through('POSTROUTING', answer);
    expect([back.skb.ctState, back.skb.nfctUnbound, back.src, back.v.getUint16(20)]).toEqual(['ESTABLISHED', false, host, 53]);
    // The server's port unreachable, quoting the query as it arrived: RELATED, and its quote and header changed to match.
    const error = through('POSTROUTING', icmpUnreachable(server, client, next.skb.frame));
    expect([error.skb.ctState, error.skb.nfctUnbound, error.src, error.v.getUint32(28 + 16), error.v.getUint16(28 + 22)]).toEqual(['RELATED', false, host, host, 53]);
  });

  test('conntrack keeps a thousand connections apart as its table grows: each first packet NEW, its answer and the next packet ESTABLISHED', () => {
    const ct = new Conntrack();
    const out: NfctHolder = { nfct: undefined, ctState: 'UNTRACKED', nfctUnbound: false };
    const conns = Array.from({ length: 1000 }, (_, i) => ({ a: 0x0a000000 + (i >> 4), b: 0xc6336400 + (i & 15), port: 1024 + i }));
    const states = (f: Uint8Array) => (ct.track(f, 0, out), out.ctState);
    expect(conns.map((c) => states(udpDatagram(c.a, c.b, c.port, 53)))).toEqual(conns.map(() => 'NEW'));
    const firsts = conns.map((c) => (ct.track(udpDatagram(c.a, c.b, c.port, 53), 0, out), out.nfct));
    expect(new Set(firsts.map((r) => r?.conn)).size).toBe(conns.length);
    expect(conns.map((c) => states(udpDatagram(c.b, c.a, 53, c.port)))).toEqual(conns.map(() => 'ESTABLISHED'));
    expect(conns.map((c, i) => (ct.track(udpDatagram(c.a, c.b, c.port, 53), 0, out), out.nfct?.conn === firsts[i]?.conn && out.ctState))).toEqual(conns.map(() => 'ESTABLISHED'));
  });

  test("a DROP in r1's INPUT for UDP 4789 stops the overlay at step 6, seen arriving on eth0, with the rule as the reason", async () => {
    const { out, flows } = await lab(`  - r1: iptables -A INPUT -p udp --dport 4789 -j DROP
  - ubuntu0: ping -c 1 -W 1 10.0.1.4
`);
    expect(out(-1).exitCode).toBe(1);
    const hops = flows[flows.length - 1].hops.filter((h) => h.step !== 0);
    const last = hops.slice(-2);
    expect(last.map((h) => [h.step, h.host, h.device, h.event])).toEqual([[6, 'r1', 'eth0', 'udp-deliver'], [6, 'r1', 'eth0', 'drop']]);
    expect(last[1].reason).toBe('r1 INPUT: -p udp -m udp --dport 4789 -j DROP');
  });

  test("REJECT's ICMP port unreachable comes back through the overlay to the pinging container", async () => {
    const { out, flows } = await lab(`  - ubuntu1: iptables -A INPUT -p icmp --icmp-type echo-request -j REJECT
  - ubuntu0: ping -c 2 -W 1 10.0.1.4
`);
    expect(out(-1).stdout).toContain('From 10.0.1.4 icmp_seq=1 Destination Port Unreachable\nFrom 10.0.1.4 icmp_seq=2 Destination Port Unreachable\n');
    expect(out(-1).stdout).toContain('2 packets transmitted, 0 received, +2 errors, 100% packet loss');
    const back = flows[flows.length - 1].hops.filter((h) => h.dir === 'reply' && h.step !== 0);
    // The error crosses the overlay as the reply would: eight steps, the last into ubuntu0.
    expect(back.filter((h) => h.layers.some((l) => l.proto === 'icmp' && l['icmp.type'] === 3)).map((h) => h.step)).toEqual(expect.arrayContaining([1, 4, 5, 6, 7, 8]));
    expect(back.find((h) => h.step === 8 && h.event === 'deliver')?.netns).not.toBe(back.find((h) => h.step === 1)?.netns);
  });

  test('--reject-with picks the code ping reports', async () => {
    const { out } = await lab(`  - ubuntu1: iptables -A INPUT -p icmp -j REJECT --reject-with icmp-admin-prohibited
  - ubuntu0: ping -c 1 -W 1 -n 10.0.1.4
`);
    expect(out(-1).stdout).toContain('From 10.0.1.4 icmp_seq=1 Packet filtered\n');
  });

  test('conntrack: with INPUT DROP and ESTABLISHED,RELATED accepted, ubuntu1 reaches out and nobody reaches in; only -P gives the policy counters', async () => {
    const { result, out } = await lab(`  - ubuntu1: iptables -A INPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
  - ubuntu1: iptables -P INPUT DROP
  - ubuntu1: ping -c 2 -n 10.0.1.2
  - ubuntu0: ping -c 1 -W 1 -n 10.0.1.4
  - ubuntu1: iptables -L -v -n -x
`);
    expect(result.steps[result.steps.length - 3].stdout).toContain('2 packets transmitted, 2 received');
    expect(out(-2).stdout).toContain('1 packets transmitted, 0 received');
    const listing = out(-1).stdout;
    // The two replies were ESTABLISHED; the request from ubuntu0 met the policy. OUTPUT never had -P: no counters.
    expect(listing).toMatch(/Chain INPUT \(policy DROP 1 packets, 84 bytes\)\n.*\n +2 +168 ACCEPT +0 +-- +\* +\* +0\.0\.0\.0\/0 +0\.0\.0\.0\/0 +ctstate RELATED,ESTABLISHED\n/);
    expect(listing).toContain('Chain OUTPUT (policy ACCEPT 0 packets, 0 bytes)');
  });

  test("rules added after a flow is established apply to its next packets at every hook, a namespace's later hooks too (INPUT after PREROUTING, POSTROUTING after OUTPUT)", async () => {
    const { result } = await lab(`  - ubuntu0: ping -c 3 -i 0 -q -n 10.0.1.4
  - ubuntu1: iptables -A INPUT -p icmp -j ACCEPT
  - ubuntu0: iptables -t nat -A POSTROUTING -p icmp -j ACCEPT
  - ubuntu0: ping -c 3 -i 0 -q -n 10.0.1.4
  - ubuntu1: iptables -L INPUT -v -n -x
  - ubuntu0: iptables -t nat -L POSTROUTING -v -n -x
  - ubuntu1: iptables -I INPUT -p icmp --icmp-type echo-request -j DROP
  - ubuntu0: ping -c 2 -i 0 -q -n 10.0.1.4
  - ubuntu0: iptables -A OUTPUT -p icmp --icmp-type echo-request -j DROP
  - ubuntu1: iptables -D INPUT 1
  - ubuntu0: ping -c 2 -i 0 -q -n 10.0.1.4
`);
    const step = (i: number) => result.steps[result.steps.length - 11 + i].stdout;
    expect(step(0)).toContain('3 packets transmitted, 3 received');
    expect(step(3)).toContain('3 packets transmitted, 3 received');
    // Each request met ubuntu1's new rule at INPUT, a hook its namespace reaches after
    // PREROUTING tracked the packet; nat's POSTROUTING sees a connection's first packet only.
    expect(step(4)).toMatch(/\n +3 +252 ACCEPT +1 /);
    expect(step(5)).toMatch(/\n +1 +84 ACCEPT +1 /);
    expect(step(7)).toContain('2 packets transmitted, 0 received');
    expect(step(10)).toMatch(/2 packets transmitted, 0 received|sendmsg: Operation not permitted/);
  });

  test("a datagram OUTPUT drops before its next hop's address is known has no Ethernet header: its drop hop reads as IP", async () => {
    const { backend } = await runSim(`name: t
hosts:
  r0: {}
steps:
  - r0: docker run -dit --name web alpine
  - r0: iptables -A OUTPUT -d 172.17.0.2 -j DROP
  - r0: ping -c 1 -W 1 172.17.0.2
`);
    const drops = backend.datapath.flows.flatMap((f) => f.hops).filter((h) => h.event === 'drop');
    expect(drops).toHaveLength(1);
    expect(drops[0].reason).toBe('r0 OUTPUT: -d 172.17.0.2/32 -j DROP');
    expect(drops[0].layers.map((l) => l.proto)).toEqual(['ip', 'icmp']);
    expect(drops[0].layers[0]).toMatchObject({ 'ip.src': '172.17.0.1', 'ip.dst': '172.17.0.2' });
  });

  test('a jump to a user chain and its RETURN: rules after the jump still see the packet; counters count each rule that matched', async () => {
    const { out } = await lab(`  - ubuntu1: iptables -N CHECK
  - ubuntu1: iptables -A CHECK -p icmp -j RETURN
  - ubuntu1: iptables -A CHECK -j DROP
  - ubuntu1: iptables -A INPUT -j CHECK
  - ubuntu1: iptables -A INPUT -p icmp -j REJECT
  - ubuntu0: ping -c 1 -W 1 -n 10.0.1.4
  - ubuntu1: iptables -L -v -n -x
`);
    expect(out(-2).stdout).toContain('Destination Port Unreachable');
    expect(out(-1).stdout).toContain('Chain CHECK (1 references)');
    expect(out(-1).stdout).toMatch(/ +1 +84 RETURN +1 /);
    expect(out(-1).stdout).toMatch(/ +0 +0 DROP +0 /);
    expect(out(-1).stdout).toMatch(/ +1 +84 REJECT +1 /);
  });

  test('the statistic match draws from a seeded source: the same run loses the same probes; probability 0 and 1 are exact', async () => {
    const flood = (p: string) => lab(`  - ubuntu1: iptables -A INPUT -p icmp -m statistic --mode random --probability ${p} -j DROP
  - ubuntu0: ping -c 200 -i 0 -q -n 10.0.1.4
`);
    const received = async (p: string) => /(\d+) received/.exec((await flood(p)).out(-1).stdout)![1];
    const half = await received('0.5');
    expect(Number(half)).toBeGreaterThan(60);
    expect(Number(half)).toBeLessThan(140);
    expect(await received('0.5')).toBe(half);
    expect(await received('0')).toBe('200');
    expect(await received('1')).toBe('0');
  });

  test("a namespace where iptables never ran has no tables: its hooks return at once; Docker's rules make the hosts' and the sandboxes'", async () => {
    const { backend } = await lab('  - ubuntu0: ping -c 1 10.0.1.4\n');
    for (const h of backend.kernel.hosts.values()) {
      for (const ns of h.namespaces.values()) {
        const docker = ns.name === h.name ? ['filter', 'nat'] : /^[0-9a-f]{12}$/.test(ns.name) ? ['nat'] : undefined;
        expect({ ns: ns.name, tables: ns.netfilter && [...ns.netfilter.tables.keys()].sort() }).toEqual({ ns: ns.name, tables: docker });
      }
    }
  });

  test('the same rule text given to two hosts, and twice to one, makes rules of their own: a packet one counts, a -Z or -R of one, leave the others as they were', () => {
    const k = new SimKernel(1);
    for (const [host, address] of [['h0', '198.51.100.10/24'], ['h1', '198.51.100.11/24']]) k.apply({ op: 'host.add', host, iface: 'eth0', address });
    const rule = ['-A', 'INPUT', '-s', '10.0.0.0/8', '-p', 'udp', '--dport', '53'];
    for (const host of ['h0', 'h1', 'h1']) k.apply({ op: 'iptables', host, netns: host, args: rule });
    const h0 = k.netns('h0', 'h0'), h1 = k.netns('h1', 'h1');
    const input = (ns: typeof h0) => ns.netfilter!.tables.get('filter')!.chains.get('INPUT')!;
    const [a, b, c] = [...input(h0).rules, ...input(h1).rules];
    expect(new Set([a, b, c]).size).toBe(3);
    const packet: PacketView = { src: 0x0a000001, dst: 0xc633640a, protocol: 17, icmpType: -1, sport: 4000, dport: 53, length: 60, ctState: 'NEW', dstLocal: true };
    doTable(h0.netfilter!.tables.get('filter')!, 'INPUT', packet, () => 0);
    const counts = (ns: typeof h0) => iptablesCommand(ns, ['-L', 'INPUT', '-v', '-x', '-n']).stdout.split('\n').slice(2, -1).map((l) => l.trim().split(/\s+/).slice(0, 2).join(' '));
    expect(counts(h0)).toEqual(['1 60']);
    expect(counts(h1)).toEqual(['0 0', '0 0']);
    doTable(h1.netfilter!.tables.get('filter')!, 'INPUT', packet, () => 0);
    expect(counts(h1)).toEqual(['1 60', '1 60']);
    expect(iptablesCommand(h1, ['-Z', 'INPUT']).exitCode).toBe(0);
    expect(iptablesCommand(h1, ['-R', 'INPUT', '2', '-s', '10.0.0.0/8', '-p', 'udp', '--dport', '53', '-j', 'DROP']).exitCode).toBe(0);
    expect(counts(h1)).toEqual(['0 0', '0 0']);
    expect(counts(h0)).toEqual(['1 60']);
    expect(iptablesCommand(h0, ['-S', 'INPUT']).stdout).toBe('-P INPUT ACCEPT\n-A INPUT -s 10.0.0.0/8 -p udp -m udp --dport 53\n');
    expect(iptablesCommand(h1, ['-S', 'INPUT']).stdout).toBe('-P INPUT ACCEPT\n-A INPUT -s 10.0.0.0/8 -p udp -m udp --dport 53\n-A INPUT -s 10.0.0.0/8 -p udp -m udp --dport 53 -j DROP\n');
    // A -R on h1 with the very text h0's rule was made of: h0's rule keeps its place and counters, and h1's new rule counts apart.
    const h0Rule = input(h0).rules[0];
    expect(iptablesCommand(h1, ['-R', 'INPUT', '1', ...rule.slice(2)]).exitCode).toBe(0);
    expect(input(h0).rules.length).toBe(1);
    expect(input(h0).rules[0]).toBe(h0Rule);
    expect(input(h1).rules[0]).not.toBe(h0Rule);
    doTable(h1.netfilter!.tables.get('filter')!, 'INPUT', packet, () => 0);
    expect(counts(h1)).toEqual(['1 60', '1 60']);
    expect(counts(h0)).toEqual(['1 60']);
    expect(iptablesCommand(h0, ['-S', 'INPUT']).stdout).toBe('-P INPUT ACCEPT\n-A INPUT -s 10.0.0.0/8 -p udp -m udp --dport 53\n');
  });

  test('refusals in the real texts and exit codes', () => {
    const ns = simNamespace();
    const run = (line: string) => iptablesCommand(ns, shellWords(line));
    expect(run('-D INPUT -p udp --dport 4789 -j DROP')).toEqual({ stdout: '', stderr: 'iptables: Bad rule (does a matching rule exist in that chain?).\n', exitCode: 1 });
    expect(run('-A INPUT --dport 80 -j DROP')).toEqual({ stdout: '', stderr: 'iptables v1.8.9 (nf_tables): unknown option "--dport"\nTry `iptables -h\' or \'iptables --help\' for more information.\n', exitCode: 2 });
    expect(run('-t mangle -L').stderr).toBe('cnmlab: iptables -t mangle is not modelled (tables filter and nat are)\n');
  });
});

/** Command lines run one after another in one namespace, real and simulated; every output must be the same. */
const SCRIPTS: Record<string, string[]> = {
  'user chains list by name, not in the order they were made (a chain deleted and made again: Docker restarting)': [
    'iptables -N ZED', 'iptables -N ALPHA', 'iptables -A ZED -j RETURN', 'iptables -A ALPHA -j ZED', 'iptables -A FORWARD -j ALPHA',
    'iptables -t nat -N ZED', 'iptables -t nat -N MID',
    'iptables -S', 'iptables -L', 'iptables -t nat -S', 'iptables -t nat -L -n', 'iptables-save',
  ],
  'filter rules, user chains, listings': [
    'iptables-save', 'iptables -S', 'iptables -L',
    'iptables -A INPUT -p udp --dport 4789 -j DROP',
    'iptables -A INPUT -s 10.0.0.0/8 ! -d 1.2.3.4 -i eth0 -p tcp --sport 22 -j REJECT',
    'iptables -A INPUT -p icmp -j REJECT --reject-with icmp-host-unreachable',
    'iptables -N FOO', 'iptables -A FOO -m state --state ESTABLISHED,RELATED -j ACCEPT',
    'iptables -A FOO -m conntrack --ctstate NEW -j RETURN',
    'iptables -A FOO -m statistic --mode random --probability 0.3 -j DROP',
    'iptables -A OUTPUT -o lo -j FOO', 'iptables -A OUTPUT ! -o eth+ -j ACCEPT', 'iptables -A INPUT ! -i eth0 -j ACCEPT',
    'iptables -P FORWARD DROP',
    'iptables -S', 'iptables -S -v', 'iptables -L', 'iptables -L -v', 'iptables -L -v -n --line-numbers', 'iptables -L -n -x -v', 'iptables -L -n --line-numbers',
    'iptables -L FOO', 'iptables -S FOO', 'iptables-save', 'iptables-save -c',
    'iptables -R INPUT 1 -p udp --dport 1 -j ACCEPT', 'iptables -I INPUT 2 -j ACCEPT', 'iptables -I INPUT -j DROP', 'iptables -D INPUT 1',
    'iptables -S INPUT 1', 'iptables -L INPUT 2', 'iptables -L INPUT 2 -v', 'iptables -Z',
    'iptables -A INPUT -p udp --dport 99999 -j DROP', 'iptables -A INPUT ! -p udp -j DROP', 'iptables -A INPUT -p udp --dport 53:60 ! --sport 5 -j DROP',
    'iptables -A INPUT -p tcp --dport domain -j DROP', 'iptables -A INPUT -s 10.1.2.3/8 -j DROP', 'iptables -A INPUT -s 10.1.2.3 -j DROP',
    'iptables -D INPUT -s 10.1.2.3 -j DROP', 'iptables -A INPUT', 'iptables -A INPUT -p udp',
    'iptables -A INPUT -p udp -m udp --dport 5 -m conntrack ! --ctstate NEW -j DROP', 'iptables -A INPUT -p udp -m state --state NEW --dport 5 -j DROP',
    'iptables -A INPUT -p icmp --icmp-type echo-reply -j DROP', 'iptables -A INPUT -p icmp -m icmp --icmp-type 5 -j DROP',
    'iptables -A INPUT -j REJECT --reject-with icmp-admin-prohibited', 'iptables -A INPUT -m addrtype ! --dst-type LOCAL -j DROP',
    'iptables -L INPUT', 'iptables -L INPUT -n', 'iptables -L -v -x', 'iptables -S',
    'iptables -X', 'iptables -F', 'iptables -S', 'iptables -X', 'iptables -S',
  ],
  "flanneld's rules, with comments": [
    'iptables -N FLANNEL-FWD', 'iptables -A FORWARD -m comment --comment "flanneld forward" -j FLANNEL-FWD',
    'iptables -A FLANNEL-FWD -s 10.5.0.0/16 -m comment --comment "flanneld forward" -j ACCEPT',
    'iptables -A FLANNEL-FWD -d 10.5.0.0/16 -m comment --comment "flanneld forward" -j ACCEPT',
    'iptables -A FLANNEL-FWD -m comment --comment one -j ACCEPT', 'iptables -A FLANNEL-FWD -m comment -j ACCEPT', 'iptables -A FLANNEL-FWD --comment x -j ACCEPT',
    'iptables -S', 'iptables -L', 'iptables -L -n -v', 'iptables-save',
  ],
  "flanneld --ip-masq's chain: a mark match, negated addresses, MASQUERADE": [
    'iptables -t nat -N FLANNEL-POSTRTG', 'iptables -t nat -I POSTROUTING -m comment --comment "flanneld masq" -j FLANNEL-POSTRTG',
    'iptables -t nat -A FLANNEL-POSTRTG -m mark --mark 0x4000/0x4000 -m comment --comment "flanneld masq" -j RETURN',
    'iptables -t nat -A FLANNEL-POSTRTG -s 10.5.0.0/16 ! -d 224.0.0.0/4 -m comment --comment "flanneld masq" -j MASQUERADE',
    'iptables -t nat -A FLANNEL-POSTRTG ! -s 10.5.0.0/16 -d 10.5.1.0/24 -m comment --comment "flanneld masq" -j RETURN',
    'iptables -t nat -A FLANNEL-POSTRTG -m mark ! --mark 7 -j RETURN', 'iptables -t nat -A FLANNEL-POSTRTG -m mark --mark 0x10/0xf0 -j RETURN',
    'iptables -t nat -A FLANNEL-POSTRTG -m mark -j RETURN', 'iptables -t nat -A FLANNEL-POSTRTG -m mark --mark x -j RETURN',
    'iptables -t nat -S', 'iptables -t nat -L -n -v', 'iptables-save -t nat',
  ],
  'nat rules as Docker writes them': [
    'iptables -t nat -A OUTPUT -d 127.0.0.11/32 -p udp -m udp --dport 53 -j DNAT --to-destination 127.0.0.11:42039',
    'iptables -t nat -A POSTROUTING -s 127.0.0.11/32 -p udp -m udp --sport 42039 -j SNAT --to-source :53',
    'iptables -t nat -A POSTROUTING -s 172.18.0.0/16 ! -o docker_gwbridge -j MASQUERADE',
    'iptables -t nat -N DOCKER', 'iptables -t nat -A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER',
    'iptables -t nat -A OUTPUT ! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -j DOCKER',
    'iptables -t nat -A DOCKER -i docker0 -j RETURN',
    'iptables -t nat -L', 'iptables -t nat -L -n -v', 'iptables -t nat -S', 'iptables-save', 'iptables-save -t nat', 'iptables-save -t filter',
  ],
  "a published port's rules as libnetwork's Forward writes them (0/0 for any address), and their deletion": [
    'iptables -t nat -N DOCKER', 'iptables -N DOCKER',
    'iptables -t nat -A DOCKER -p tcp -d 0/0 --dport 8080 -j DNAT --to-destination 172.17.0.2:80 ! -i docker0',
    'iptables -t nat -A DOCKER -p udp -d 127.0.0.1 --dport 5353 -j DNAT --to-destination 172.17.0.2:53 ! -i docker0',
    'iptables -t filter -A DOCKER ! -i docker0 -o docker0 -p tcp -d 172.17.0.2 --dport 80 -j ACCEPT',
    'iptables -t nat -A POSTROUTING -p tcp -s 172.17.0.2 -d 172.17.0.2 --dport 80 -j MASQUERADE',
    'iptables -A INPUT -s 10/8 -d 0.0.0.0/0 -j ACCEPT', 'iptables -A INPUT -d 1.2.3.4.5 -j DROP',
    'iptables-save', 'iptables -t nat -L -n -v', 'iptables -L -n',
    'iptables -t filter -D DOCKER ! -i docker0 -o docker0 -p tcp -d 172.17.0.2 --dport 80 -j ACCEPT',
    'iptables -t nat -D DOCKER -p tcp -d 0/0 --dport 8080 -j DNAT --to-destination 172.17.0.2:80 ! -i docker0',
    'iptables-save',
  ],
  refusals: [
    'iptables -A INPUT -p udp -j DROP', 'iptables -D INPUT -p udp --dport 4788 -j DROP', 'iptables -D INPUT 9', 'iptables -A NOPE -j DROP',
    'iptables -N FOO', 'iptables -N FOO', 'iptables -A FOO -j ACCEPT', 'iptables -X FOO', 'iptables -X INPUT', 'iptables -F NOPE',
    'iptables -P FOO DROP', 'iptables -P INPUT REJECT', 'iptables -A INPUT -j NOPE', 'iptables -A INPUT -p tcp --dport',
    'iptables -A INPUT --dport 80 -j DROP', 'iptables -A INPUT -p foo -j DROP', 'iptables -A INPUT -s 1.2.3.400 -j DROP',
    'iptables -t mangle2 -L', 'iptables -t nat -A INPUT -j DROP', 'iptables -t nat -A PREROUTING -j MASQUERADE',
    'iptables -A INPUT -j DNAT --to-destination 1.2.3.4', 'iptables -Q', 'iptables', 'iptables -L NOPE', 'iptables -S NOPE',
    'iptables -R INPUT 9 -j ACCEPT', 'iptables -I INPUT 9 -j ACCEPT', 'iptables -A INPUT -m statistic --mode random --probability 2 -j DROP',
    'iptables -A INPUT -j REJECT --reject-with tcp-reset', 'iptables -A INPUT -j REJECT --reject-with foo', 'iptables -A INPUT -m udp --dport 5 -j DROP',
    'iptables -A INPUT -p icmp -m icmp -j DROP', 'iptables -A INPUT -j ACCEPT extra', 'iptables -t nat -A POSTROUTING -j SNAT',
    'iptables -t nat -A OUTPUT -j DNAT --to-destination 1.2.3.4:80', 'iptables -t nat -A INPUT -j MASQUERADE',
    'iptables -t nat -A POSTROUTING -j DNAT --to-destination 1.1.1.1', 'iptables -A INPUT -m conntrack --ctstate FOO -j DROP',
    'iptables-save -t foo', 'iptables-save -x', 'iptables-save -t nat',
  ],
};

describeWith(['iptables', 'iptables-save'], true, "the iptables program prints what Debian 12's iptables 1.8.9 prints", () => {
  const real = `cnmt${process.pid}nf`;
  beforeAll(() => execFileSync('ip', ['netns', 'add', real]));
  afterAll(() => execFileSync('ip', ['netns', 'del', real]));
  afterEach(() => {
    for (const t of ['filter', 'nat']) spawnSync('ip', ['netns', 'exec', real, 'iptables', '-t', t, '-F']);
    for (const t of ['filter', 'nat']) spawnSync('ip', ['netns', 'exec', real, 'iptables', '-t', t, '-X']);
    spawnSync('ip', ['netns', 'exec', real, 'nft', 'flush', 'ruleset']);
  });

  test.each(Object.keys(SCRIPTS))('%s', (name) => {
    const ns = simNamespace();
    const undated = (s: string) => s.replace(/ on \w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}$/gm, ' on (date)');
    for (const line of SCRIPTS[name]) {
      const argv = shellWords(line);
      const r = spawnSync('ip', ['netns', 'exec', real, ...argv], { encoding: 'utf8' });
      const s = argv[0] === 'iptables' ? iptablesCommand(ns, argv.slice(1)) : iptablesSave(ns, argv.slice(1), new Date());
      expect({ line, stdout: undated(s.stdout), stderr: s.stderr, exitCode: s.exitCode }).toEqual({ line, stdout: undated(r.stdout), stderr: r.stderr, exitCode: r.status });
    }
  });
});
