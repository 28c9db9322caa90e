/**
 * The one PlanOp → iproute2 rendering: every op kind once, as `cnmlab explain` prints it and
 * as emu batches it (the same argv, emu's names aside). No root needed.
 */
import { LinkKind, PlanOp } from '../sim/plan/ops';
import { opToCommands, UNDERLAY } from '../sim/plan/iproute2';
import { commandLine, PLAN_NAMES, planText } from '../sim/plan/explain';
import { restoreScript, toPhases } from '../emu/translate';
import { NameMap } from '../emu/names';
import { birdStep } from '../emu/bird';
import { EmuProgram, stepPrograms } from '../emu/programs';
import { StackedKind, StackedType, stackedTypes } from '../sim/plan/links';
import { SimKernel } from '../sim/kernel/kernel';
import { ipCommand } from '../sim/kernel/iproute';

const VXLAN = { type: 'vxlan' as const, vni: 4097, dstport: 4789, proxy: true, l2miss: true, l3miss: true, learning: true, ageing: 300 };

/** One op of each kind (the Record makes a new kind a compile error here) and the lines explain prints for it. */
const TABLE: Record<PlanOp['op'], [PlanOp, string[]]> = {
  'host.add': [{ op: 'host.add', host: 'r0', iface: 'eth0', address: '198.51.100.10/24' }, [
    'ip netns add r0',
    'ip link add u-r0 type veth peer name eth0 netns r0',
    'ip link set dev u-r0 master ul0 up',
    'ip link set lo up',
    'ip addr add 198.51.100.10/24 brd + dev eth0',
    'ip link set dev eth0 up',
  ]],
  'netns.add': [{ op: 'netns.add', host: 'r0', netns: '1-abc' }, ['ip netns add 1-abc']],
  'netns.del': [{ op: 'netns.del', host: 'r0', netns: '1-abc' }, ['ip netns del 1-abc']],
  'link.add': [{ op: 'link.add', host: 'r0', netns: 'r0', name: 'veth1a', kind: { type: 'veth', peer: 'veth1b' }, mtu: 1450, txqueuelen: 0 }, ['ip link add veth1a mtu 1450 txqueuelen 0 type veth peer name veth1b mtu 1450 txqueuelen 0']],
  'link.del': [{ op: 'link.del', host: 'r0', netns: '1-abc', name: 'veth0' }, ['ip -n 1-abc link del dev veth0']],
  'link.move': [{ op: 'link.move', host: 'r0', netns: 'r0', name: 'veth1a', to: '1-abc' }, ['ip link set dev veth1a netns 1-abc']],
  'link.rename': [{ op: 'link.rename', host: 'r0', netns: 'abc123', name: 'veth1b', to: 'eth0' }, ['ip -n abc123 link set dev veth1b name eth0']],
  'link.set': [{ op: 'link.set', host: 'r0', netns: 'abc123', name: 'eth0', mac: '02:42:0a:00:01:02', mtu: 1450, master: 'br0', up: true }, ['ip -n abc123 link set dev eth0 address 02:42:0a:00:01:02 mtu 1450 master br0 up']],
  'addr.add': [{ op: 'addr.add', host: 'r0', netns: 'abc123', dev: 'eth0', address: '10.0.1.2/24' }, ['ip -n abc123 addr add 10.0.1.2/24 brd + dev eth0']],
  'addr.del': [{ op: 'addr.del', host: 'r0', netns: 'r0', dev: 'docker0', address: '172.17.0.1/16' }, ['ip addr del 172.17.0.1/16 dev docker0']],
  'kv.put': [{ op: 'kv.put', host: 'r0', netns: 'r0', key: '/coreos.com/network/subnets/10.5.1.0-24', value: 'lease' }, ['etcdctl put /coreos.com/network/subnets/10.5.1.0-24 lease']],
  'route.add': [{ op: 'route.add', host: 'r0', netns: 'abc123', dst: 'default', via: '172.18.0.1', dev: 'eth1' }, ['ip -n abc123 route add default via 172.18.0.1 dev eth1']],
  'neigh.add': [{ op: 'neigh.add', host: 'r0', netns: '1-abc', dev: 'vxlan0', ip: '10.0.1.4', mac: '02:42:0a:00:01:04' }, ['ip -n 1-abc neigh replace 10.0.1.4 lladdr 02:42:0a:00:01:04 dev vxlan0 nud permanent']],
  'neigh.del': [{ op: 'neigh.del', host: 'r0', netns: '1-abc', dev: 'vxlan0', ip: '10.0.1.4', mac: '02:42:0a:00:01:04' }, ['ip -n 1-abc neigh del 10.0.1.4 dev vxlan0']],
  'fdb.add': [{ op: 'fdb.add', host: 'r0', netns: '1-abc', dev: 'vxlan0', mac: '02:42:0a:00:01:04', dst: '198.51.100.11' }, ['bridge -n 1-abc fdb replace 02:42:0a:00:01:04 dev vxlan0 dst 198.51.100.11 self permanent']],
  'fdb.del': [{ op: 'fdb.del', host: 'r0', netns: '1-abc', dev: 'vxlan0', mac: '02:42:0a:00:01:04', dst: '198.51.100.11' }, [
    'bridge -n 1-abc fdb del 02:42:0a:00:01:04 dev vxlan0 dst 198.51.100.11 self',
    'bridge -n 1-abc fdb del 02:42:0a:00:01:04 dev vxlan0 master || true',
  ]],
  'peers.add': [{ op: 'peers.add', hosts: ['r0'], netns: '1-abc', dev: 'vxlan0', peers: [{ ip: '10.0.1.4', mac: '02:42:0a:00:01:04', dst: '198.51.100.11' }, { ip: '10.0.1.5', mac: '02:42:0a:00:01:05', dst: '198.51.100.12' }] }, [
    'ip -n 1-abc neigh replace 10.0.1.4 lladdr 02:42:0a:00:01:04 dev vxlan0 nud permanent',
    'bridge -n 1-abc fdb replace 02:42:0a:00:01:04 dev vxlan0 dst 198.51.100.11 self permanent',
    'ip -n 1-abc neigh replace 10.0.1.5 lladdr 02:42:0a:00:01:05 dev vxlan0 nud permanent',
    'bridge -n 1-abc fdb replace 02:42:0a:00:01:05 dev vxlan0 dst 198.51.100.12 self permanent',
  ]],
  'peers.del': [{ op: 'peers.del', hosts: ['r0'], netns: '1-abc', dev: 'vxlan0', peers: [{ ip: '10.0.1.4', mac: '02:42:0a:00:01:04', dst: '198.51.100.11' }] }, [
    'ip -n 1-abc neigh del 10.0.1.4 dev vxlan0',
    'bridge -n 1-abc fdb del 02:42:0a:00:01:04 dev vxlan0 dst 198.51.100.11 self',
    'bridge -n 1-abc fdb del 02:42:0a:00:01:04 dev vxlan0 master || true',
  ]],
  'sysctl.set': [{ op: 'sysctl.set', host: 'r0', netns: '1-abc', key: 'net.ipv6.conf.all.disable_ipv6', value: '1' }, ['ip netns exec 1-abc sysctl -qw net.ipv6.conf.all.disable_ipv6=1']],
  iptables: [{ op: 'iptables', host: 'r0', netns: 'abc123', args: ['-t', 'nat', '-I', 'DOCKER_OUTPUT', '-d', '127.0.0.11', '-p', 'udp', '--dport', '53', '-j', 'DNAT', '--to-destination', '127.0.0.11:42039'] },
    ['ip netns exec abc123 iptables -t nat -I DOCKER_OUTPUT -d 127.0.0.11 -p udp --dport 53 -j DNAT --to-destination 127.0.0.11:42039']],
  'socket.listen': [{ op: 'socket.listen', host: 'r0', netns: 'r0', socket: { proto: 'tcp', address: '*', port: 2377, process: 'dockerd' } }, []],
  'socket.close': [{ op: 'socket.close', host: 'r0', netns: 'r0', socket: { proto: 'tcp', address: '*', port: 2377, process: 'dockerd' } }, []],
  'file.write': [{ op: 'file.write', host: 'r0', netns: 'abc123', path: '/etc/resolv.conf', content: 'nameserver 127.0.0.11\n' }, []],
  'route.blackhole': [{ op: 'route.blackhole', host: 'r0', netns: 'r0', dst: '192.168.1.64/26' }, ['ip route add blackhole 192.168.1.64/26']],
  // emu's BIRD takes the configuration itself (emu/bird.ts): no iproute2 command.
  'bird.config': [{ op: 'bird.config', host: 'r0', netns: 'r0', config: 'router id 198.51.100.10;\n' }, []],
  'weave.router': [{ op: 'weave.router', host: 'r0', netns: 'r0', router: { name: '7a:e4:00:00:00:01', nickname: 'r0', shortId: 1, datapath: 'sleeve', address: '198.51.100.10', device: 'vethwe-pcap', port: 6783, peers: [] } }, []],
  // Daemons' doings, not commands: emu starts the store and a miss handler for them.
  'kv.start': [{ op: 'kv.start', host: 'r0', netns: 'r0' }, []],
  'miss.watch': [{ op: 'miss.watch', host: 'r0', netns: '1-0123456789', dev: 'vxlan0', network: '0123456789', subnet: '10.0.0.0/24' }, []],
  'odp.datapath': [{ op: 'odp.datapath', host: 'r0', netns: 'r0', name: 'datapath' }, []],
  'odp.vport': [{ op: 'odp.vport', host: 'r0', netns: 'r0', datapath: 'datapath', vport: { type: 'vxlan', name: 'vxlan-6784', dstport: 6784 } }, []],
};

/**
 * One device of every link kind the plan names itself (the Record makes a new kind a compile
 * error here) and the line explain prints for it; the kinds registered on a lower device have
 * theirs in STACKED below, so the two tables render every link kind once.
 */
const LINK_KINDS: Record<Exclude<LinkKind['type'], StackedType>, [PlanOp & { op: 'link.add' }, string]> = {
  bridge: [{ op: 'link.add', host: 'r0', netns: '1-abc', name: 'br0', kind: { type: 'bridge' }, mtu: 1450 }, 'ip -n 1-abc link add br0 mtu 1450 type bridge'],
  veth: [{ op: 'link.add', host: 'r0', netns: 'r0', name: 'veth1a', kind: { type: 'veth', peer: 'veth1b' } }, 'ip link add veth1a type veth peer name veth1b'],
  dummy: [{ op: 'link.add', host: 'r0', netns: 'r0', name: 'dm-0123456789', kind: { type: 'dummy' } }, 'ip link add dm-0123456789 type dummy'],
  vxlan: [{ op: 'link.add', host: 'r0', netns: 'r0', name: 'vxlan0', kind: VXLAN, mtu: 1450 }, 'ip link add vxlan0 mtu 1450 type vxlan id 4097 dstport 4789 proxy l2miss l3miss learning ageing 300'],
  ipip: [{ op: 'link.add', host: 'r0', netns: 'r0', name: 'tunl0', kind: { type: 'ipip' }, mtu: 1480 }, 'ip link add name tunl0 mtu 1480 type ipip'],
};

describe('link kinds', () => {
  test.each(Object.entries(LINK_KINDS))('%s renders as explain prints it', (type, [op, line]) => {
    expect(op.kind.type).toBe(type);
    expect(opToCommands(op, PLAN_NAMES).map(commandLine)).toEqual([line]);
  });
});

/**
 * One device of each kind registered on a lower device (the Record makes a new kind a compile
 * error here), the line explain prints for it, and the kind's line of `ip -d link` in sim.
 */
const STACKED: Record<StackedType, [StackedKind, string, string]> = {
  macvlan: [{ type: 'macvlan', parent: 'eth0', mode: 'bridge' }, 'ip link add veth1a txqueuelen 0 link eth0 type macvlan mode bridge', '    macvlan mode bridge bcqueuelen 1000 usedbcqueuelen 1000 '],
  ipvlan: [{ type: 'ipvlan', parent: 'eth0', mode: 'l2' }, 'ip link add veth1a txqueuelen 0 link eth0 type ipvlan mode l2', '    ipvlan  mode l2 bridge '],
};

describe('link kinds on a lower device', () => {
  test.each(stackedTypes())('%s: rendered by its spec, made by its sim device, shown by ip -d', (type) => {
    const [kind, line, details] = STACKED[type];
    const op: PlanOp = { op: 'link.add', host: 'r0', netns: 'r0', name: 'veth1a', kind, txqueuelen: 0 };
    expect(opToCommands(op, PLAN_NAMES).map(commandLine)).toEqual([line]);
    const k = new SimKernel(1);
    k.apply({ op: 'host.add', host: 'r0', iface: 'eth0', address: '198.51.100.10/24' });
    k.apply(op);
    const dev = k.link('r0', 'r0', 'veth1a');
    expect(dev.stacked?.lower).toBe(k.link('r0', 'r0', 'eth0'));
    expect(ipCommand(k.netns('r0', 'r0'), ['-d', 'link', 'show', 'veth1a'], { namesVisible: true }).stdout).toContain(`\n${details}`);
  });
});

describe('PlanOp → iproute2', () => {
  test.each(Object.entries(TABLE))('%s renders as explain prints it', (_kind, [op, lines]) => {
    expect(opToCommands(op, PLAN_NAMES).map(commandLine)).toEqual(lines);
  });

  test('an onlink route, a vxlan device tied to the underlay, and a JSON value as sh reads it back', () => {
    expect(commandLine(opToCommands({ op: 'route.add', host: 'r0', netns: 'r0', dst: '10.5.2.0/24', via: '10.5.2.0', dev: 'flannel.1', onlink: true }, PLAN_NAMES)[0]))
      .toBe('ip route add 10.5.2.0/24 via 10.5.2.0 dev flannel.1 onlink');
    const vx: PlanOp = { op: 'link.add', host: 'r0', netns: 'r0', name: 'flannel.1', mtu: 1450, kind: { ...VXLAN, vni: 1, dstport: 8472, proxy: false, l2miss: false, l3miss: false, learning: false, local: '198.51.100.10', dev: 'eth0' } };
    expect(commandLine(opToCommands(vx, PLAN_NAMES)[0])).toBe('ip link add flannel.1 mtu 1450 type vxlan id 1 dstport 8472 nolearning ageing 300 local 198.51.100.10 dev eth0');
    const config = '{"Network":"10.5.0.0/16","Backend":{"Type":"vxlan"}}';
    expect(commandLine(opToCommands({ op: 'kv.put', host: 'r0', netns: 'r0', key: '/coreos.com/network/config', value: config }, PLAN_NAMES)[0]))
      .toBe(`etcdctl put /coreos.com/network/config '${config}'`);
  });

  test('a vxlan device carries every attribute of the plan', () => {
    const op: PlanOp = { op: 'link.add', host: 'r0', netns: 'r0', name: 'vx-001001-abc', kind: VXLAN, mtu: 1450 };
    expect(opToCommands(op, PLAN_NAMES).map(commandLine)).toEqual(['ip link add vx-001001-abc mtu 1450 type vxlan id 4097 dstport 4789 proxy l2miss l3miss learning ageing 300']);
    expect(opToCommands({ ...op, kind: { ...VXLAN, proxy: false, l2miss: false, l3miss: false, learning: false } }, PLAN_NAMES).map(commandLine)).toEqual(['ip link add vx-001001-abc mtu 1450 type vxlan id 4097 dstport 4789 nolearning ageing 300']);
    expect(opToCommands({ ...op, name: 'vxlan.calico', kind: { ...VXLAN, vni: 4096, local: '198.51.100.10', dev: 'eth0', proxy: false, l2miss: false, l3miss: false, learning: false } }, PLAN_NAMES).map(commandLine))
      .toEqual(['ip link add vxlan.calico mtu 1450 type vxlan id 4096 dstport 4789 nolearning ageing 300 local 198.51.100.10 dev eth0']);
  });

  test('a route keeps its protocol, scope and onlink flag; an ipip device is named first', () => {
    const route: PlanOp = { op: 'route.add', host: 'r0', netns: 'r0', dst: '192.168.2.0/26', via: '198.51.100.11', dev: 'tunl0', proto: 'bird', onlink: true };
    expect(opToCommands(route, PLAN_NAMES).map(commandLine)).toEqual(['ip route add 192.168.2.0/26 via 198.51.100.11 dev tunl0 proto bird onlink']);
    const link: PlanOp = { op: 'route.add', host: 'r0', netns: 'r0', dst: '192.168.1.65/32', dev: 'cali0123456789a', scope: 'link' };
    expect(opToCommands(link, PLAN_NAMES).map(commandLine)).toEqual(['ip route add 192.168.1.65/32 dev cali0123456789a scope link']);
    expect(opToCommands({ op: 'link.add', host: 'r0', netns: 'r0', name: 'tunl0', kind: { type: 'ipip' }, mtu: 1480 }, PLAN_NAMES).map(commandLine))
      .toEqual(['ip link add name tunl0 mtu 1480 type ipip']);
  });

  test('explain shows what BIRD installs; emu leaves those routes to its BIRD and waits for them, and hands it the configuration', () => {
    const ops: PlanOp[] = [
      { op: 'bird.config', host: 'r0', netns: 'r0', config: 'router id 198.51.100.10;\n' },
      { op: 'route.blackhole', host: 'r0', netns: 'r0', dst: '192.168.1.64/26', proto: 'bird' },
      { op: 'route.add', host: 'r0', netns: 'r0', dst: '192.168.2.0/26', via: '198.51.100.11', dev: 'eth0', proto: 'bird' },
    ];
    expect(ops.flatMap((op) => opToCommands(op, PLAN_NAMES)).map(commandLine)).toEqual(['ip route add blackhole 192.168.1.64/26 proto bird', 'ip route add 192.168.2.0/26 via 198.51.100.11 dev eth0 proto bird']);
    const names = new NameMap('cnm0a1b2c');
    const p = toPhases(ops, names);
    expect(p.hostBatches).toEqual([]);
    expect(p.programs).toEqual(ops.map((op) => ({ program: 'bird', netns: names.netns('r0', 'r0'), op })));
    expect(birdStep(p.programs)).toEqual({
      configs: [{ netns: names.netns('r0', 'r0'), config: 'router id 198.51.100.10;\n' }],
      routes: [{ netns: names.netns('r0', 'r0'), dst: '192.168.1.64/26' }, { netns: names.netns('r0', 'r0'), dst: '192.168.2.0/26' }],
    });
  });

  test("a step's programs all configure before any waits: BIRD's wait for its routes does not hold back weave's routers", async () => {
    const calls: string[] = [];
    const program = (name: string): EmuProgram => ({
      configure: async (ops) => void calls.push(`${name} configures ${ops.map((t) => t.op.op).join(' ')}`),
      settle: async () => void calls.push(`${name} settles`),
      stopAll: () => undefined,
    });
    const config = { name: '7a:e4:00:00:00:01', nickname: 'r0', shortId: 1, datapath: 'sleeve' as const, address: '198.51.100.10', device: 'vethwe-pcap', port: 6783, peers: [] };
    await stepPrograms(new Map([['bird', program('bird')], ['weaver', program('weaver')]]), [
      { program: 'bird', netns: 'r0', op: { op: 'bird.config', host: 'r0', netns: 'r0', config: '' } },
      { program: 'weaver', netns: 'r0', op: { op: 'weave.router', host: 'r0', netns: 'r0', router: config } },
      { program: 'bird', netns: 'r0', op: { op: 'route.blackhole', host: 'r0', netns: 'r0', dst: '192.168.1.64/26', proto: 'bird' } },
    ]);
    expect(calls).toEqual(['bird configures bird.config route.blackhole', 'weaver configures weave.router', 'bird settles', 'weaver settles']);
  });

  test("explain prints BIRD's configuration as its file reads, a comment line for each line", () => {
    const config = 'router id 198.51.100.10;\n\nprotocol bgp Mesh_198_51_100_11 from bgp_template {\n  neighbor 198.51.100.11 as 64512;\n}\n';
    expect(planText([{ op: 'bird.config', host: 'r0', netns: 'r0', config }])).toBe(['  [r0]',
      "    # r0: BIRD (re)reads its configuration, as calico/node's confd renders it:",
      '    #   router id 198.51.100.10;', '    #', '    #   protocol bgp Mesh_198_51_100_11 from bgp_template {', '    #     neighbor 198.51.100.11 as 64512;', '    #   }', ''].join('\n'));
  });

  test('a device\'s sysctl waits in its namespace\'s commands, after the device is made', () => {
    const names = new NameMap('cnm0a1b2c');
    const p = toPhases([
      { op: 'link.add', host: 'r0', netns: 'r0', name: 'cali0123456789a', kind: { type: 'veth', peer: 'temp0123456789a' } },
      { op: 'sysctl.set', host: 'r0', netns: 'r0', key: 'net.ipv4.conf.cali0123456789a.proxy_arp', value: '1' },
    ], names);
    expect(p.setup).toEqual([]);
    expect(p.hostBatches[0].ip).toEqual([
      ['link', 'add', 'cali0123456789a', 'type', 'veth', 'peer', 'name', 'temp0123456789a'],
      ['netns', 'exec', names.netns('r0', 'r0'), 'sysctl', '-qw', 'net.ipv4.conf.cali0123456789a.proxy_arp=1'],
    ]);
  });

  test('emu batches the same argv for every op kind, in its own names', () => {
    const names = new NameMap('cnm0a1b2c');
    const real = (host: string, ns: string) => (host === UNDERLAY ? names.underlay : names.netns(host, ns));
    for (const [kind, [op, lines]] of Object.entries(TABLE)) {
      const p = toPhases([op], names);
      const emu = [
        ...p.add.map((n) => `ip netns add ${n}`),
        ...p.setup.map((c) => `ip netns exec ${c.netns} sysctl -qw ${c.key}=${c.value}`),
        ...[...p.underlay, ...p.hostBatches, ...p.otherBatches].flatMap((b) => [...b.ip.map((l) => `ip -n ${b.netns} ${l.join(' ')}`), ...b.bridge.map((l) => `bridge -n ${b.netns} ${l.join(' ')}`),
          ...b.iptables.map((l) => `ip netns exec ${b.netns} iptables ${l.join(' ')}`)]),
        ...p.del.map((n) => `ip netns del ${n}`),
        ...p.kv.map((k) => `etcdctl -n ${k.netns} ${k.argv.join(' ')}`),
      ];
      // explain's lines with every namespace named as emu names it; a host's own namespace gets its -n.
      const host = 'hosts' in op ? op.hosts[0] : op.host;
      const group = (l: string) => (l.includes(' u-r0 ') ? UNDERLAY : host);
      const expected = lines.map((l) => {
        const g = group(l);
        const w = l.replace(/ \|\| true$/, '').split(' ');
        if (w[1] === 'netns') return ['ip', 'netns', w[2], real(host, w[3]), ...w.slice(4)].join(' ');
        const ns = w[1] === '-n' ? w.splice(1, 2)[1] : g;
        const netnsArg = w.indexOf('netns');
        if (netnsArg > 0) w[netnsArg + 1] = g === UNDERLAY ? real(w[netnsArg + 1], w[netnsArg + 1]) : real(host, w[netnsArg + 1]);
        return [w[0], '-n', real(g, ns), ...w.slice(1)].join(' ');
      });
      expect({ kind, emu: emu.sort() }).toEqual({ kind, emu: expected.sort() });
      if (kind === 'fdb.del' || kind === 'peers.del') expect(p.otherBatches[0].bridgeMayFail).toBe(true);
      if (kind === 'iptables') expect(restoreScript(p.otherBatches[0].iptables)).toBe('*nat\n-I DOCKER_OUTPUT -d 127.0.0.11 -p udp --dport 53 -j DNAT --to-destination 127.0.0.11:42039\nCOMMIT\n');
      if (kind === 'file.write') expect(p.files).toEqual([{ netns: names.netns('r0', 'abc123'), name: 'resolv.conf', content: 'nameserver 127.0.0.11\n' }]);
    }
  });

  test("a host's own iptables commands carry no namespace; emu gives each namespace one iptables-restore input, a block per run of one table, in plan order", () => {
    const ops: PlanOp[] = [
      { op: 'iptables', host: 'r0', netns: 'r0', args: ['-P', 'FORWARD', 'DROP'] },
      { op: 'iptables', host: 'r0', netns: 'r0', args: ['-t', 'nat', '-N', 'DOCKER'] },
      { op: 'iptables', host: 'r0', netns: 'r0', args: ['-t', 'filter', '-N', 'DOCKER'] },
      { op: 'iptables', host: 'r0', netns: 'r0', args: ['-I', 'FORWARD', '-i', 'docker0', '!', '-o', 'docker0', '-j', 'ACCEPT'] },
    ];
    expect(opToCommands(ops[0], PLAN_NAMES).map(commandLine)).toEqual(['iptables -P FORWARD DROP']);
    const p = toPhases(ops, new NameMap('cnm0a1b2c'));
    expect(p.hostBatches.map((b) => restoreScript(b.iptables))).toEqual([
      '*filter\n-P FORWARD DROP\nCOMMIT\n*nat\n-N DOCKER\nCOMMIT\n*filter\n-N DOCKER\n-I FORWARD -i docker0 ! -o docker0 -j ACCEPT\nCOMMIT\n',
    ]);
    expect(() => restoreScript([['-A', 'INPUT', '-j', 'DROP\n-F']])).toThrow(/unsafe iptables word/);
  });
});
