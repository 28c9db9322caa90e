/**
 * The engine's own answers, kept in test/fixtures/engine-20.10/ (a real Docker 20.10.24
 * two-node swarm, busybox image; the README there says what each file is), replayed in sim
 * and, as root, in emu (the real kernel, iptables, ss and Debian's busybox), and compared as
 * text. Only what no two runs share is normalised: ids, times, the embedded
 * DNS's kernel-picked ports, ping's round-trip times, interface counters, a UDP socket's
 * momentary queue, and ifindexes
 * (emu-ifindex.test.ts owns those), the host's name, kernel, CPUs and memory, and `ss -p`'s process column
 * (sim's ss has no -p). Everything else (keys, their order, types, null against [], spacing,
 * blank lines) must be the engine's byte for byte.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { runSim, twoNodes } from './helpers/run';
import { describeWith, REPO } from './helpers/env';
import { cnmlab } from './helpers/tshark';
import { containerNamed } from './helpers/world';

const FIXTURES = path.join(REPO, 'test', 'fixtures', 'engine-20.10');
const fixture = (name: string) => fs.readFileSync(path.join(FIXTURES, name), 'utf8');

/** What differs between any two runs of the same session, engine or sim, made alike. */
function normalise(text: string): string {
  return text
    .replace(/[0-9a-f]{64}/g, '<id64>')
    .replace(/\b[0-9a-z]{25}\b/g, '<id25>')
    .replace(/\b[0-9a-f]{12}\b/g, '<id12>')
    .replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z/g, '<time>')
    .replace(/\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}/g, '<ctime>')
    .replace(/time=\d+\.\d+ ms/g, 'time=<rtt> ms')
    .replace(/min\/avg\/max = [\d./]+ ms/g, 'min/avg/max = <rtt> ms')
    // The embedded DNS's sockets: ports the kernel picked in the sandbox.
    .replace(/127\.0\.0\.11:\d{4,5}/g, '127.0.0.11:<port>')
    .replace(/--sport \d+/g, '--sport <port>')
    .replace(/"Pid": \d+/g, '"Pid": <pid>')
    .replace(/^\d+: (\w+)@if\d+:/gm, 'N: $1@ifN:')
    .replace(/(RX|TX) packets:\d+/g, '$1 packets:<n>')
    .replace(/(RX|TX) bytes:\d+ \([\d.]+ \w*B\)/g, '$1 bytes:<n>')
    // What docker info reads off the machine it runs on (sim/docker/machine.ts), the engine's machine in the fixture.
    .replace(/^( Kernel Version| Name| ID| CPUs| Total Memory): .*$/gm, '$1: <host>')
    // Datagrams a UDP socket holds unread at that instant (gossip arriving as ss looks) are the moment's, and so are
    // the connections a listener has not yet accepted (a peer's push/pull arriving as ss looks, the holder not yet scheduled).
    .replace(/^(udp +UNCONN )\d+ +/gm, '$1<queued> ')
    .replace(/^(tcp +LISTEN )\d+ +/gm, '$1<queued> ')
    // ss -p's process column, and the padding its width gave every line.
    .replace(/ *users:\(\(.*\)\)/g, '')
    .replace(/ +$/gm, '');
}

/**
 * BusyBox's nslookup asks for A and AAAA at once and prints each answer as it arrives; the
 * embedded DNS answers each query in a goroutine of its own, so which comes first is the
 * scheduler's (the engine printed ubuntu1's empty AAAA section first, ubuntu0's last).
 */
function answersInAnyOrder(output: string): string {
  const [head, ...sections] = output.split(/(?=^Non-authoritative answer:$)/m);
  return head + sections.sort().join('');
}

/**
 * ss lists UDP before TCP, and within one protocol as the kernel's socket hash has them: the
 * buckets depend on the namespace, so that order is no part of the text.
 */
function socketsInHashOrder(output: string): string {
  const runs: string[][] = [];
  for (const line of output.split('\n')) {
    const last = runs[runs.length - 1];
    if (last && last[0].split(' ')[0] === line.split(' ')[0] && /^(udp|tcp) /.test(line)) last.push(line);
    else runs.push([line]);
  }
  return runs.map((r) => r.sort().join('\n')).join('\n');
}

/** `$ [host] docker exec ubuntu0 CMD` blocks of a transcript: each command, what it printed (stdout and stderr as one terminal), its exit code. */
function transcript(text: string): { command: string; output: string; rc: number }[] {
  const blocks: { command: string; output: string; rc: number }[] = [];
  const re = /^\$ (?:\[\w+\] )?(.*)\n([\s\S]*?)^rc=(\d+)$/gm;
  for (let m = re.exec(text); m; m = re.exec(text)) blocks.push({ command: m[1], output: m[2], rc: Number(m[3]) });
  return blocks;
}

const BUSYBOX_FILES = ['busybox-ping.txt', 'busybox-exec-arp_-n.txt', 'busybox-exec-cat__etc_hosts.txt', 'busybox-exec-hostname.txt', 'busybox-exec-ip_addr.txt',
  'busybox-exec-ip_route.txt', 'busybox-exec-netstat_-rn.txt', 'busybox-exec-ifconfig.txt', 'busybox-dns-and-reachability.txt'];

const HOST_STEPS: [string, string][] = [
  ['r0: docker info', 'docker-info.txt'],
  ['r0: docker node ls', 'node-ls.txt'],
  ['r0: docker network inspect --verbose test-net', 'network-inspect-verbose-test-net.json'],
  ['r0: docker inspect ubuntu0', 'container-inspect.json'],
  ['r0: iptables-save', 'host-iptables-save.txt'],
  ['r0: sysctl net.ipv4.ip_forward net.ipv4.conf.all.forwarding net.bridge.bridge-nf-call-iptables', 'host-sysctl.txt'],
  ['r0: ss -lntu', 'host-ss-listen.txt'],
  ['r0: ip netns exec SANDBOX iptables-save -t nat', 'container-iptables-save-nat.txt'],
  ['r0: ip netns exec SANDBOX ss -lntu', 'container-ss-listen.txt'],
];

interface Expected { step: string; file: string; output: string; rc: number }

/**
 * The engine's session as one scenario: the swarm, a busybox container on each node, the
 * host's documents, then each command the engine's transcripts ran in a container, in their
 * order. The engine's ubuntu1 was f4e628c626b5…; sim's (and emu's: the same model) has a
 * seeded id of its own, and ubuntu0 its own sandbox: learnt from a first sim run.
 */
async function engineSession(): Promise<{ yaml: string; expected: Expected[] }> {
  const build = (ubuntu1: string, sandbox: string) => {
    const expected: Expected[] = HOST_STEPS.map(([step, file]) => ({ step: step.replace('SANDBOX', sandbox), file, output: fixture(file), rc: 0 }));
    for (const file of BUSYBOX_FILES) {
      for (const b of transcript(fixture(file))) {
        const [, name, argv] = /^docker exec (ubuntu[01]) (.*)$/.exec(b.command)!;
        expected.push({ step: `${name}: ${argv.replace(/f4e628c626b5[0-9a-f]*/, (id) => ubuntu1.slice(0, id.length))}`, file, output: b.output, rc: b.rc });
      }
    }
    const yaml = twoNodes(`  - r0: docker run -dit --name ubuntu0 --network test-net busybox
  - r1: docker run -dit --name ubuntu1 --network test-net busybox
  - r0: ln -s /var/run/docker/netns /var/run/netns
${expected.map((e) => `  - ${e.step.slice(0, e.step.indexOf(': '))}: ${JSON.stringify(e.step.slice(e.step.indexOf(': ') + 2))}\n`).join('')}`, 'name: engine-samples');
    return { yaml, expected };
  };
  const { model } = await runSim(build('0'.repeat(64), 'unknown00000').yaml);
  const find = (host: string, name: string) => containerNamed(model.world, host, name);
  return build(find('r1', 'ubuntu1').id, find('r0', 'ubuntu0').sandbox);
}

interface Step { stdout: string; stderr: string; exitCode: number; durationMs: number }

/** BusyBox's nslookup giving up on a name nobody answers: its default timeout (5 s), whatever the embedded DNS forwards it to. */
const NSLOOKUP_TIMED_OUT = ';; connection timed out; no servers could be reached\n';

/**
 * Each expected document against the run's step, as the engine's terminal showed it (stderr,
 * then stdout). The engine's transcripts keep no times, but a BusyBox nslookup that timed out
 * took busybox's own 5 s (not bind's 15 s, nor two rounds of it), and one whose query could not
 * even be written gave up at once: `timedOutMs` bounds the step's duration for those.
 */
function compare(expected: Expected[], steps: Step[], timedOutMs: [number, number]): void {
  const shown = steps.slice(-expected.length);
  expected.forEach((e, i) => {
    const out = shown[i];
    if (e.output.includes(NSLOOKUP_TIMED_OUT)) {
      const [min, max] = e.output.includes('Message too long') ? [0, timedOutMs[0]] : timedOutMs;
      expect({ step: e.step, durationMs: out.durationMs, within: out.durationMs >= min && out.durationMs < max }).toEqual({ step: e.step, durationMs: out.durationMs, within: true });
    }
    let mine = normalise(out.stderr + out.stdout), theirs = normalise(e.output);
    if (e.step.endsWith('ss -lntu')) {
      mine = socketsInHashOrder(mine);
      theirs = socketsInHashOrder(theirs);
    }
    if (e.file === 'container-inspect.json') theirs = theirs.replace('"bbox:latest"', '"busybox"');
    if (e.file === 'node-ls.txt') {
      // Both nodes of the engine's swarm were called vm, so the CLI listed them by id; r0 and r1 come by name.
      const rows = (t: string) => t.replace(/ (vm|r0|r1) /g, ' <host>').split('\n').sort().join('\n');
      mine = rows(mine);
      theirs = rows(theirs);
    }
    expect({ step: e.step, output: answersInAnyOrder(mine), rc: out.exitCode }).toEqual({ step: e.step, output: answersInAnyOrder(theirs), rc: e.rc });
  });
}

describe("the engine's own output, replayed in sim", () => {
  test('docker info, node ls, network inspect --verbose, docker inspect, the rules, sysctls and sockets of host and sandbox, and the busybox applets: the engine\'s texts', async () => {
    const { yaml, expected } = await engineSession();
    const { result } = await runSim(yaml);
    expect(result.steps.length).toBe(expected.length + 6);
    // sim's clock: exactly BusyBox's 5 s.
    compare(expected, result.steps, [5000, 5000.001]);
  });
});

/**
 * The one text the replay normalises that is no run's own: the engine's ubuntu0 reads
 * `15: eth0@if16` and `17: eth1@if18`, cnmlab (and the real kernel given libnetwork's steps,
 * docker-layout.test.ts) one less each. In libnetwork v20.10.24 the devices made in the
 * host's namespace are its bridges (drivers/bridge/setup_device.go:34: docker0,
 * docker_gwbridge), veth pairs (drivers/bridge/bridge.go:1021, drivers/overlay/ov_utils.go:51)
 * and vxlans (ov_utils.go:71, networkOnceInit's testvxlan among them); br0 is made inside
 * the overlay's namespace (osl/interface_linux.go:254), and nothing else in moby calls
 * LinkAdd. Before ubuntu0's veth that is 11 devices after lo and eth0, all of which cnmlab
 * makes, in libnetwork's order. The recording does not show the host's own devices (no
 * `ip link` of r0), so the engine's extra index cannot be placed: a node setup that made
 * both ends of eth0's veth inside the node's namespace and moved one out (two indexes where
 * cnmlab's setup takes one) would account for it and for nothing else. Pinned here: every
 * index the engine shows is cnmlab's plus one, so a change on either side is seen.
 */
describe("the engine's interface indexes against libnetwork's own steps", () => {
  test('ubuntu0\'s eth0 and eth1 and their peers: the engine\'s are one above what libnetwork\'s devices give', async () => {
    const pairs = (text: string) => [...text.matchAll(/^(\d+): (eth\d)@if(\d+):/gm)].map((m) => ({ dev: m[2], index: Number(m[1]), peer: Number(m[3]) }));
    const { result } = await runSim(twoNodes('  - r0: docker run -dit --name ubuntu0 --network test-net busybox\n  - ubuntu0: ip addr\n  - r0: ip link\n'));
    const [container, host] = result.steps.slice(-2).map((s) => s.stdout);
    const mine = pairs(container);
    // lo, eth0, docker0, docker_gwbridge, and the host ends of the gateway veths are what stays in r0.
    expect([...host.matchAll(/^(\d+): ([\w@]+):/gm)].map((m) => `${m[1]}: ${m[2].replace(/^veth\w+/, 'veth')}`)).toEqual(['1: lo', '2: eth0', '3: docker0', '4: docker_gwbridge', '10: veth@if9', '17: veth@if16']);
    expect(mine).toEqual([{ dev: 'eth0', index: 14, peer: 15 }, { dev: 'eth1', index: 16, peer: 17 }]);
    expect(pairs(fixture('busybox-exec-ip_addr.txt'))).toEqual(mine.map((p) => ({ dev: p.dev, index: p.index + 1, peer: p.peer + 1 })));
  });
});

describeWith(['ip', 'iptables-save', 'ss', 'busybox'], true, "the engine's own output, replayed in emu", () => {
  test("the same session on the real kernel: Debian's busybox, iptables and ss print the engine's texts", async () => {
    const { yaml, expected } = await engineSession();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cnmlab-engine-'));
    try {
      const file = path.join(dir, 'engine-samples.yaml');
      fs.writeFileSync(file, yaml);
      const r = cnmlab(['run', file, '--mode', 'emu', '--json']);
      expect(r.stderr).toBe('');
      // The real busybox's own timer, and the moment a loaded machine adds to it.
      compare(expected, JSON.parse(r.stdout).steps as Step[], [5000, 7000]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 240_000);
});
