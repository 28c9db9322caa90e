/**
 * The image decides the tools (sim/commands/family.ts): a busybox or alpine container
 * answers with BusyBox's applets, in the texts Debian's busybox 1.35 printed in network
 * namespaces and a Docker 20.10 busybox container printed on a real swarm; a program the
 * image lacks is its shell's "not found". And Docker's embedded DNS: names matched without
 * regard to case, everything it does not own forwarded and, with no reachable resolver,
 * never answered.
 */
import { hostOf, swarmNetworks } from '../sim/model/world';
import { answerQuery } from '../sim/model/dns';
import { imageRepository, toolFamilyOf } from '../sim/commands/family';
import { lookupCommand, notModelled, realProgram } from '../sim/commands/registry';
import { expectEmuPrints, printed, runEmu, runLab, runSim, StepPrint, twoNodes } from './helpers/run';
import { normaliseOutput } from '../sim/trace/compare';
import { checkBusybox } from '../emu/prereq';
import { describeWith } from './helpers/env';
import { containerNamed } from './helpers/world';

describe('the tool family of an image', () => {
  test.each([
    ['busybox', 'busybox'], ['busybox:1.36', 'busybox'], ['busybox:glibc', 'busybox'], ['docker.io/library/alpine:3.18', 'busybox'],
    ['registry.local:5000/library/busybox@sha256:0123abcd', 'busybox'], ['ALPINE', 'busybox'],
    ['ubuntu:14.04', 'gnu'], ['debian:12', 'gnu'], ['nginx', 'gnu'], ['myorg/busybox-tools', 'gnu'], ['alpine-like:1', 'gnu'],
  ])('%s → %s', (image, family) => {
    expect(toolFamilyOf(image)).toBe(family);
  });

  test('the repository name drops registry, namespace, tag and digest', () => {
    expect(imageRepository('registry.local:5000/org/alpine:3.18@sha256:ff')).toBe('alpine');
  });
});

describe('the registry knows each family', () => {
  test('a program no BusyBox applet provides is the shell\'s "not found" in a busybox image, bash\'s in a GNU one that lacks it too', () => {
    expect(lookupCommand(['dig', 'ubuntu1'], 'container', 'busybox')).toMatchObject({ modelled: true, answer: { stdout: '', stderr: 'sh: dig: not found\n', exitCode: 127 } });
    expect(lookupCommand(['getent', 'hosts', 'x'], 'container', 'busybox')).toMatchObject({ modelled: true, answer: { stderr: 'sh: getent: not found\n', exitCode: 127 } });
    expect(lookupCommand(['dig', 'ubuntu1'], 'container', 'ubuntu:14.04')).toMatchObject({ modelled: true, answer: { stdout: '', stderr: 'bash: dig: command not found\n', exitCode: 127 } });
    // Alpine has musl's getent beside BusyBox: cnmlab does not model it, so it is refused rather than "not found".
    expect(lookupCommand(['getent', 'hosts', 'x'], 'container', 'alpine')).toMatchObject({ modelled: false });
    // A real program never runs for an answer the shell gives itself.
    expect(realProgram(['dig', 'ubuntu1'], 'container', 'busybox').real).toBe(false);
  });

  test('an applet BusyBox has but cnmlab does not model (or a form of it) is refused', () => {
    // sysctl takes the modelled keys only: one sim does not model would run the real applet in emu.
    for (const argv of [['wget', 'x'], ['ip', 'neigh', 'flush', 'dev', 'eth0'], ['ip', 'neighbour'], ['ip', 'neigh', 'show', 'eth0'], ['arp'], ['ping', '-M', 'do', 'x'], ['ping', '-f', 'x'], ['nslookup', 'x', '127.0.0.11'], ['netstat', '-ltn'],
      ['sysctl', 'net.core.somaxconn=1'], ['sysctl', 'net.core.somaxconn'], ['sysctl', '-a']]) {
      expect(lookupCommand(argv, 'container', 'busybox')).toMatchObject({ modelled: false });
    }
  });

  test("each family's own forms: BusyBox's arp, ifconfig, netstat; iputils' -M and bind's nslookup in GNU images", () => {
    for (const argv of [['arp', '-n'], ['ifconfig'], ['ifconfig', 'eth0'], ['netstat', '-rn'], ['route', '-n'], ['ip', 'a'], ['ping', '-c', '1', '-W', '2', 'x'],
      ['sysctl', '-n', 'net.ipv4.ip_forward', 'net.ipv4.conf.eth0.forwarding'], ['sysctl', 'net.ipv4.ip_forward=1'], ['sysctl', '-w', 'net.ipv4.ip_forward=1']]) {
      expect(realProgram(argv, 'container', 'busybox').real).toBe(true);
    }
    // Debian's smallest system has no net-tools: bash says so.
    expect(lookupCommand(['ifconfig'], 'container', 'ubuntu:14.04')).toMatchObject({ modelled: true, answer: { stderr: 'bash: ifconfig: command not found\n', exitCode: 127 } });
    expect(realProgram(['ping', '-M', 'do', 'x'], 'container', 'ubuntu:14.04').real).toBe(true);
    // A host's shell is GNU.
    expect(lookupCommand(['ifconfig'], 'host').modelled).toBe(false);
  });
});

describe("BusyBox's applets in sim, as a Docker 20.10 busybox container prints them", () => {
  const session = twoNodes(`  - r0: docker run -dit --name ubuntu0 --network test-net busybox
  - r1: docker run -dit --name ubuntu1 --network test-net busybox
`);

  async function ubuntu0() {
    const lab = await runSim(session);
    const { backend, model } = lab;
    const c = containerNamed(model.world, 'r0', 'ubuntu0');
    const exec = (line: string) => backend.execSync('r0', c.sandbox, line.split(' '), { world: model.world, container: c.id, namesVisible: false });
    return { ...lab, c, exec };
  }

  test('ping: seq from 0, the address only, packets received, min/avg/max from whole µs', async () => {
    const { exec } = await ubuntu0();
    const out = exec('ping -c 3 ubuntu1');
    expect(out.exitCode).toBe(0);
    expect(out.stdout).toMatch(/^PING ubuntu1 \(10\.0\.1\.4\): 56 data bytes\n64 bytes from 10\.0\.1\.4: seq=0 ttl=64 time=\d+\.\d{3} ms\n64 bytes from 10\.0\.1\.4: seq=1 ttl=64 time=\d+\.\d{3} ms\n64 bytes from 10\.0\.1\.4: seq=2 ttl=64 time=\d+\.\d{3} ms\n\n--- ubuntu1 ping statistics ---\n3 packets transmitted, 3 packets received, 0% packet loss\nround-trip min\/avg\/max = \d+\.\d{3}\/\d+\.\d{3}\/\d+\.\d{3} ms\n$/);
  });

  test('ping: nobody answers: no error lines, a wait of -W after the last probe, exit 1', async () => {
    const { exec, backend } = await ubuntu0();
    const before = backend.elapsedNs();
    // Debian's busybox between two namespaces: 7.04 s for -c 2 -W 6, nothing on stderr.
    expect(exec('ping -c 2 -W 6 10.0.1.99')).toEqual({
      stdout: 'PING 10.0.1.99 (10.0.1.99): 56 data bytes\n\n--- 10.0.1.99 ping statistics ---\n2 packets transmitted, 0 packets received, 100% packet loss\n',
      stderr: '', exitCode: 1,
    });
    expect(backend.elapsedNs() - before).toBe(7e9);
    expect(exec('ping -c 1 nosuchname')).toEqual({ stdout: '', stderr: "ping: bad address 'nosuchname'\n", exitCode: 1 });
    expect(exec('ping -c x 10.0.1.4')).toEqual({ stdout: '', stderr: "ping: invalid number 'x'\n", exitCode: 1 });
  });

  test('ip addr, ip route, arp -n, netstat -rn: the engine\'s texts', async () => {
    const { exec } = await ubuntu0();
    exec('ping -c 1 ubuntu1');
    // The engine sample shows 15: eth0@if16 and 17: eth1@if18; the kernel numbers Docker's
    // devices from the host namespace's counter, which on a host with only lo and eth0 gives
    // one less (docker-layout.test.ts counts them): the sample's host had one device more.
    expect(exec('ip addr').stdout).toBe('1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue qlen 1000\n'
      + '    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00\n'
      + '    inet 127.0.0.1/8 scope host lo\n'
      + '       valid_lft forever preferred_lft forever\n'
      + '14: eth0@if15: <BROADCAST,MULTICAST,UP,LOWER_UP,M-DOWN> mtu 1450 qdisc noqueue \n'
      + '    link/ether 02:42:0a:00:01:02 brd ff:ff:ff:ff:ff:ff\n'
      + '    inet 10.0.1.2/24 brd 10.0.1.255 scope global eth0\n'
      + '       valid_lft forever preferred_lft forever\n'
      + '16: eth1@if17: <BROADCAST,MULTICAST,UP,LOWER_UP,M-DOWN> mtu 1500 qdisc noqueue \n'
      + '    link/ether 02:42:ac:12:00:03 brd ff:ff:ff:ff:ff:ff\n'
      + '    inet 172.18.0.3/16 brd 172.18.255.255 scope global eth1\n'
      + '       valid_lft forever preferred_lft forever\n');
    expect(exec('ip route').stdout).toBe('default via 172.18.0.1 dev eth1 \n10.0.1.0/24 dev eth0 scope link  src 10.0.1.2 \n172.18.0.0/16 dev eth1 scope link  src 172.18.0.3 \n');
    expect(exec('arp -n').stdout).toBe('? (10.0.1.4) at 02:42:0a:00:01:04 [ether]  on eth0\n');
    expect(exec('netstat -rn').stdout).toBe('Kernel IP routing table\n'
      + 'Destination     Gateway         Genmask         Flags   MSS Window  irtt Iface\n'
      + '0.0.0.0         172.18.0.1      0.0.0.0         UG        0 0          0 eth1\n'
      + '10.0.1.0        0.0.0.0         255.255.255.0   U         0 0          0 eth0\n'
      + '172.18.0.0      0.0.0.0         255.255.0.0     U         0 0          0 eth1\n');
    expect(exec('ip link show nosuch')).toEqual({ stdout: '', stderr: "ip: can't find device 'nosuch'\n", exitCode: 1 });
    // -4: no link-layer line (the bridge-local lab's `ip -4 addr show eth0 | grep inet` in alpine).
    expect(exec('ip -4 addr show eth0').stdout).toBe('14: eth0@if15: <BROADCAST,MULTICAST,UP,LOWER_UP,M-DOWN> mtu 1450 qdisc noqueue \n'
      + '    inet 10.0.1.2/24 brd 10.0.1.255 scope global eth0\n       valid_lft forever preferred_lft forever\n');
  });

  test("ip neigh: BusyBox's line (ref while a timer runs, used 0/0/0, the kernel's probes); ip -d: BusyBox's usage", async () => {
    const { exec } = await ubuntu0();
    exec('ping -c 1 ubuntu1');
    // One broadcast request answered: the kernel counts it after the three unicast probes resolution starts with.
    expect(exec('ip neigh')).toEqual({ stdout: '10.0.1.4 dev eth0 lladdr 02:42:0a:00:01:04 ref 1 used 0/0/0 probes 4 REACHABLE\n', stderr: '', exitCode: 0 });
    expect(exec('ip n show dev eth0').stdout).toBe('10.0.1.4 lladdr 02:42:0a:00:01:04 ref 1 used 0/0/0 probes 4 REACHABLE\n');
    expect(exec('ip neigh show dev nosuch')).toEqual({ stdout: '', stderr: "ip: can't find device 'nosuch'\n", exitCode: 1 });
    // Nobody holds 10.0.1.99: three broadcasts, then FAILED (no timer, no reference, no address), its two spaces kept.
    exec('ping -c 1 -W 1 10.0.1.99');
    expect(exec('ip neigh').stdout).toContain('10.0.1.99 dev eth0  ref 1 used 0/0/0 probes 5 INCOMPLETE\n');
    exec('sleep 5');
    expect(exec('ip neigh').stdout).toContain('10.0.1.99 dev eth0  used 0/0/0 probes 6 FAILED\n');
    const usage = exec('ip -d link');
    expect(usage).toMatchObject({ stdout: '', exitCode: 1 });
    expect(usage.stderr).toMatch(/^BusyBox v1\.35\.0 \(Debian [^)]*\) multi-call binary\.\n\nUsage: ip \[OPTIONS\] address\|route\|link\|tunnel\|neigh\|rule \[ARGS\]\n[\s\S]*\nip neigh show\|flush \[to PREFIX\] \[dev DEV\] \[nud STATE\]\nip rule \[list\] \| add\|del SELECTOR ACTION\n$/);
  });

  test('ifconfig: by name, upper-case MAC, the device layer\'s counters, lo counting what went through it', async () => {
    const { exec } = await ubuntu0();
    exec('ping -c 3 ubuntu1');
    const out = exec('ifconfig').stdout;
    // One ARP exchange and three echoes each way, as the engine's eth0 counted them (4 packets, 336 bytes).
    expect(out).toContain('eth0      Link encap:Ethernet  HWaddr 02:42:0A:00:01:02  \n'
      + '          inet addr:10.0.1.2  Bcast:10.0.1.255  Mask:255.255.255.0\n'
      + '          UP BROADCAST RUNNING MULTICAST  MTU:1450  Metric:1\n'
      + '          RX packets:4 errors:0 dropped:0 overruns:0 frame:0\n'
      + '          TX packets:4 errors:0 dropped:0 overruns:0 carrier:0\n'
      + '          collisions:0 txqueuelen:0 \n'
      + '          RX bytes:336 (336.0 B)  TX bytes:336 (336.0 B)\n\n');
    expect(out.indexOf('eth0 ')).toBeLessThan(out.indexOf('eth1 '));
    expect(out.indexOf('eth1 ')).toBeLessThan(out.indexOf('lo '));
    // The ping's name lookup went through lo: a query and its answer.
    expect(out).toMatch(/lo        Link encap:Local Loopback  \n          inet addr:127\.0\.0\.1  Mask:255\.0\.0\.0\n          UP LOOPBACK RUNNING  MTU:65536  Metric:1\n          RX packets:2 /);
    expect(exec('ifconfig nosuch')).toEqual({ stdout: '', stderr: 'ifconfig: nosuch: error fetching interface information: Device not found\n', exitCode: 1 });
  });

  test('hostname, cat /etc/hosts and cat /etc/hostname: the short id', async () => {
    const { exec, c } = await ubuntu0();
    expect(exec('hostname').stdout).toBe(`${c.id.slice(0, 12)}\n`);
    expect(exec('hostname -i').stdout).toBe('10.0.1.2\n');
    expect(exec('cat /etc/hosts').stdout).toMatch(new RegExp(`\\n10\\.0\\.1\\.2\\t${c.id.slice(0, 12)}\\n$`));
    expect(exec('cat /etc/hostname')).toEqual({ stdout: `${c.id.slice(0, 12)}\n`, stderr: '', exitCode: 0 });
  });

  test("cat of a missing file: BusyBox's words (open_or_warn), coreutils' in a GNU image; the other files printed, exit 1", async () => {
    const { exec, c } = await ubuntu0();
    expect(exec('cat /etc/nosuch /etc/hostname')).toEqual({ stdout: `${c.id.slice(0, 12)}\n`, stderr: "cat: can't open '/etc/nosuch': No such file or directory\n", exitCode: 1 });
    const gnu = await runSim(twoNodes('  - r0: docker run -dit --name u0 --network test-net ubuntu:14.04\n'));
    const u0 = containerNamed(gnu.model.world, 'r0', 'u0');
    expect(gnu.backend.execSync('r0', u0.sandbox, ['cat', '/etc/nosuch', '/etc/hostname'], { world: gnu.model.world, container: u0.id, namesVisible: false }))
      .toEqual({ stdout: `${u0.id.slice(0, 12)}\n`, stderr: 'cat: /etc/nosuch: No such file or directory\n', exitCode: 1 });
  });

  test("sysctl: the sandbox's own switches (no forwarding, no IPv6), BusyBox's words for a key /proc/sys lacks", async () => {
    const { exec } = await ubuntu0();
    expect(exec('sysctl net.ipv4.ip_forward net.ipv6.conf.all.disable_ipv6')).toEqual({ stdout: 'net.ipv4.ip_forward = 0\nnet.ipv6.conf.all.disable_ipv6 = 1\n', stderr: '', exitCode: 0 });
    expect(exec('sysctl -n net.ipv4.conf.all.forwarding net/bridge/bridge-nf-call-iptables')).toEqual({ stdout: '0\n1\n', stderr: '', exitCode: 0 });
    // Debian's busybox 1.35 in a namespace without eth9: the dots it could not make slashes are shown as slashes.
    expect(exec('sysctl net.ipv4.conf.eth9.forwarding net.ipv4.ip_forward')).toEqual({
      stdout: 'net.ipv4.ip_forward = 0\n', stderr: "sysctl: error: 'net.ipv4.conf.eth9/forwarding' is an unknown key\n", exitCode: 1,
    });
    expect(exec('sysctl -e net.ipv4.conf.eth9.forwarding')).toEqual({ stdout: '', stderr: '', exitCode: 1 });
  });

  test("sysctl KEY=VALUE in a container: runc's read-only /proc/sys refuses the write (EROFS), in BusyBox's words and in procps'", async () => {
    const { exec } = await ubuntu0();
    expect(exec('sysctl -w net.ipv4.ip_forward=1 net.ipv4.conf.all.forwarding=1')).toEqual({
      stdout: '', stderr: "sysctl: error setting key 'net.ipv4.ip_forward': Read-only file system\nsysctl: error setting key 'net.ipv4.conf.all.forwarding': Read-only file system\n", exitCode: 1,
    });
    expect(exec('sysctl net.ipv4.conf.eth9.forwarding=1')).toEqual({ stdout: '', stderr: "sysctl: error: 'net.ipv4.conf.eth9/forwarding' is an unknown key\n", exitCode: 1 });
    const gnu = await runSim(twoNodes('  - r0: docker run -dit --name u0 --network test-net ubuntu:14.04\n'));
    const u0 = containerNamed(gnu.model.world, 'r0', 'u0');
    const inU0 = (line: string) => gnu.backend.execSync('r0', u0.sandbox, line.split(' '), { world: gnu.model.world, container: u0.id, namesVisible: false });
    // procps-ng 4.0.2 words EROFS as a permission, and ORs the writes' failures into exit 1.
    expect(inU0('sysctl -w net.ipv4.ip_forward=1 net.ipv6.conf.all.disable_ipv6=0 net.ipv4.conf.eth9.forwarding=1')).toEqual({
      stdout: '',
      stderr: 'sysctl: permission denied on key "net.ipv4.ip_forward"\nsysctl: permission denied on key "net.ipv6.conf.all.disable_ipv6"\nsysctl: cannot stat /proc/sys/net/ipv4/conf/eth9/forwarding: No such file or directory\n',
      exitCode: 1,
    });
    expect(inU0('sysctl -n net.ipv4.ip_forward')).toEqual({ stdout: '0\n', stderr: '', exitCode: 0 });
    // The host writes the same namespace's keys (ip netns exec): its /proc/sys is writable.
    expect(gnu.backend.execSync('r0', u0.sandbox, ['sysctl', '-w', 'net.ipv4.ip_forward=1'], { world: gnu.model.world, namesVisible: false })).toEqual({ stdout: 'net.ipv4.ip_forward = 1\n', stderr: '', exitCode: 0 });
  });

  test("nslookup: A and AAAA at once, Docker's empty AAAA answer, PTR without a trailing dot", async () => {
    const { exec } = await ubuntu0();
    expect(exec('nslookup ubuntu1')).toEqual({
      stdout: 'Server:\t\t127.0.0.11\nAddress:\t127.0.0.11:53\n\nNon-authoritative answer:\nName:\tubuntu1\nAddress: 10.0.1.4\n\nNon-authoritative answer:\n\n',
      stderr: '', exitCode: 0,
    });
    expect(exec('nslookup 10.0.1.4')).toEqual({
      stdout: 'Server:\t\t127.0.0.11\nAddress:\t127.0.0.11:53\n\nNon-authoritative answer:\n4.1.0.10.in-addr.arpa\tname = ubuntu1.test-net\n\n',
      stderr: '', exitCode: 0,
    });
  });

  test('nslookup of what Docker forwards: timed out after 5 s (two sends of each question); a 64-character id cannot be sent', async () => {
    const { exec, backend, model } = await ubuntu0();
    for (const name of ['test-net', 'tasks.test-net', '10.0.1.3', 'example.com', 'ubuntu1.TEST-NET']) {
      const before = backend.elapsedNs();
      expect(exec(`nslookup ${name}`)).toEqual({ stdout: ';; connection timed out; no servers could be reached\n\n', stderr: '', exitCode: 1 });
      expect(backend.elapsedNs() - before).toBe(5e9);
    }
    // A and AAAA, each sent again at 2.5 s; no answer ever comes.
    const flow = backend.flows().find((f) => f.kind === 'dns' && f.to === 'test-net')!;
    const dns = flow.hops.map((h) => h.layers.find((l) => l.proto === 'dns')!);
    expect(dns.map((l) => [l['dns.flags.response'], l['dns.qry.type']])).toEqual([[false, 1], [false, 28], [false, 1], [false, 28]]);
    const ubuntu1 = Object.values(hostOf(model.world, 'r1').containers)[0];
    expect(exec(`nslookup ${ubuntu1.id}`)).toEqual({ stdout: ';; connection timed out; no servers could be reached\n\n', stderr: "nslookup: write to '127.0.0.11': Message too long\n", exitCode: 1 });
  });
});

describe("Docker's embedded DNS: its own names in any case, the rest forwarded and unanswered", () => {
  async function world() {
    const { model } = await runSim(twoNodes(`  - r0: docker run -dit --name Web --network test-net ubuntu:14.04
  - r1: docker run -dit --name ubuntu1 --network test-net ubuntu:14.04
`));
    const web = Object.values(hostOf(model.world, 'r0').containers)[0];
    return { w: model.world, web };
  }

  test('names match without regard to case; the network part as the network is named; the answer keeps the question', async () => {
    const { w, web } = await world();
    expect(answerQuery(w, web, 'UBUNTU1', 'A')).toEqual({ rcode: 0, answers: [{ name: 'UBUNTU1', type: 'A', ttl: 600, data: '10.0.1.4' }] });
    expect(answerQuery(w, web, 'web', 'A')?.answers[0]?.data).toBe('10.0.1.2');
    expect(answerQuery(w, web, 'Ubuntu1.test-net', 'A')?.answers[0]?.data).toBe('10.0.1.4');
    expect(answerQuery(w, web, 'ubuntu1.TEST-NET', 'A')).toBeUndefined();
    // The PTR name keeps the container's own spelling (libnetwork's ipMap is not lowered).
    expect(answerQuery(w, web, '2.1.0.10.in-addr.arpa', 'PTR')?.answers[0]?.data).toBe('Web.test-net');
  });

  test("AAAA and MX of Docker's names are empty answers; the network's name, tasks.NET, unknown addresses and outside names are not Docker's", async () => {
    const { w, web } = await world();
    expect(answerQuery(w, web, 'ubuntu1', 'AAAA')).toEqual({ rcode: 0, answers: [] });
    expect(answerQuery(w, web, 'ubuntu1', 'MX')).toEqual({ rcode: 0, answers: [] });
    expect(answerQuery(w, web, 'ubuntu1', 'TXT')).toBeUndefined();
    for (const [name, type] of [['test-net', 'A'], ['tasks.test-net', 'A'], ['example.com', 'AAAA'], ['3.1.0.10.in-addr.arpa', 'PTR'], ['nosuch', 'MX']]) {
      expect(answerQuery(w, web, name, type)).toBeUndefined();
    }
    expect(swarmNetworks(w.swarm).some((n) => n.name === 'test-net')).toBe(true);
  });

  test('GNU tools: bind\'s nslookup tries three times 5 s apart, glibc twice', async () => {
    const { result } = await runLab('dns-scoping');
    const step = (cmd: string) => result.steps.find((s) => s.command === cmd)!;
    expect(step('nslookup gamma')).toMatchObject({
      stdout: ';; communications error to 127.0.0.11#53: timed out\n'.repeat(3) + ';; no servers could be reached\n\n', stderr: '', exitCode: 1, durationMs: 15000,
    });
    expect(step('ping -c 1 gamma')).toMatchObject({ stdout: '', stderr: 'ping: gamma: Temporary failure in name resolution\n', exitCode: 2, durationMs: 10000 });
    // getent hosts: AAAA first, then A, each given up after 10 s (20.03 s in a namespace).
    const { result: r2 } = await runSim(twoNodes(`  - r0: docker run -dit --name ubuntu0 --network test-net ubuntu:14.04
  - ubuntu0: getent hosts nosuch
  - ubuntu0: getent ahosts nosuch
`));
    expect(r2.steps.slice(-2).map((x) => [x.exitCode, x.stdout, x.durationMs])).toEqual([[2, '', 20000], [2, '', 10000]]);
  });
});

describe('emu needs busybox only for a BusyBox image', () => {
  test('without it, the first such command is refused in one line naming the package', () => {
    const path = process.env.PATH;
    process.env.PATH = '/nonexistent';
    try {
      expect(() => checkBusybox()).toThrow("--mode emu runs a busybox or alpine container's commands with busybox (Debian: apt-get install busybox)");
    } finally {
      process.env.PATH = path;
    }
  });
});

/** A host's `busybox ping`, before and after its OUTPUT chain drops everything, beside iputils' ping. */
const HOST_PING = `name: busybox-host-ping
hosts:
  r0: {}
  r1: {}
steps:
  - r0: busybox ping -c 1 198.51.100.11
  - r0: iptables -P OUTPUT DROP
  - r0: busybox ping -c 1 -W 1 198.51.100.11
  - r0: ping -c 1 -W 1 198.51.100.11
`;

/** What each step printed, its round-trip times blanked (they are the clock's). */
const printedTimesBlanked = (steps: StepPrint[]) =>
  printed(steps, (s) => s.stdout.replace(/time=[\d.]+ ms/g, 'time=T ms').replace(/= [\d.]+\/[\d.]+\/[\d.]+ ms/g, '= T ms'));

describe("a host's busybox ping", () => {
  test("is BusyBox's ping; a send its firewall drops ends it with BusyBox's sendto error, where iputils says nothing", async () => {
    expect(lookupCommand(['busybox', 'ping', '-c', '1', '10.0.0.1'], 'host').modelled).toBe(true);
    const { result } = await runSim(HOST_PING);
    expect(printedTimesBlanked(result.steps)).toEqual([
      [0, 'PING 198.51.100.11 (198.51.100.11): 56 data bytes\n64 bytes from 198.51.100.11: seq=0 ttl=64 time=T ms\n\n--- 198.51.100.11 ping statistics ---\n1 packets transmitted, 1 packets received, 0% packet loss\nround-trip min/avg/max = T ms\n', ''],
      [0, '', ''],
      // Debian's busybox 1.35 in a namespace whose OUTPUT policy is DROP: the header, then EPERM at its first sendto.
      [1, 'PING 198.51.100.11 (198.51.100.11): 56 data bytes\n', 'ping: sendto: Operation not permitted\n'],
      [1, 'PING 198.51.100.11 (198.51.100.11) 56(84) bytes of data.\n\n--- 198.51.100.11 ping statistics ---\n1 packets transmitted, 0 received, 100% packet loss, time 0ms\n\n', ''],
    ]);
    // Only its ping is modelled.
    expect(lookupCommand(['busybox', 'nslookup', 'r1'], 'host')).toEqual({ modelled: false, refusal: notModelled('busybox nslookup r1') });
  });
});

const CONTAINER_SYSCTL = `name: container-sysctl
hosts: { r0: {} }
steps:
  - r0: docker run -dit --name b0 busybox
  - r0: docker run -dit --name u0 ubuntu:14.04
  - b0: sysctl -w net.ipv4.ip_forward=1
    expect: { exit: 1 }
  - b0: sysctl net.ipv4.conf.all.forwarding=1 net.ipv4.ip_forward
    expect: { exit: 1 }
  - u0: sysctl -w net.ipv4.ip_forward=1 net.ipv6.conf.all.disable_ipv6=0
    expect: { exit: 1 }
  - u0: sysctl -n net.ipv4.ip_forward
  - b0: sysctl -w net.ipv4.ip_forward net.ipv4.conf.eth9.forwarding
    expect: { exit: 1 }
`;

describeWith(['ip', 'busybox', 'sysctl'], true, "a container's sysctl -w on the real kernel", () => {
  test("the container's read-only /proc/sys refuses the write in both modes, with BusyBox's and procps' words", async () => {
    const { result } = await runSim(CONTAINER_SYSCTL);
    const sim = printed(result.steps).slice(2);
    expect(sim[0]).toEqual([1, '', "sysctl: error setting key 'net.ipv4.ip_forward': Read-only file system\n"]);
    expect(sim[3]).toEqual([0, '0\n', '']);
    // -w with a key alone: BusyBox asks for its value before it opens the key (the missing one too).
    expect(sim[4]).toEqual([1, '', "sysctl: error: 'net.ipv4.ip_forward' must be of the form name=value\nsysctl: error: 'net.ipv4.conf.eth9/forwarding' must be of the form name=value\n"]);
    expectEmuPrints('container-sysctl.yaml', CONTAINER_SYSCTL, sim, { view: (steps) => printed(steps).slice(2) });
  });
});

describeWith(['ip', 'iptables', 'busybox', 'ping'], true, "a host's busybox ping on the real kernel", () => {
  test('prints what sim prints, the sendto error at the firewall included', async () => {
    // As verify compares them: iputils' loss summary counts the kernel's real milliseconds (0 or 1 for one lost probe).
    const elapsedBlanked = (steps: StepPrint[]) => printedTimesBlanked(steps).map(([code, out, err]) => [code, normaliseOutput(out), err]);
    const sim = elapsedBlanked((await runSim(HOST_PING)).result.steps);
    const r = expectEmuPrints('busybox-host-ping.yaml', HOST_PING, sim, { status: 0, view: elapsedBlanked });
    expect(r.steps[2].stderr).toBe('ping: sendto: Operation not permitted\n');
  }, 120000);
});

/** Pings to broadcast addresses without -b: the bridge's subnet, the limited broadcast, lo's; from iputils and from BusyBox. */
const BROADCAST_PING = `name: broadcast-ping
hosts:
  r0: {}
steps:
  - r0: docker run -dit --name u0 ubuntu
  - r0: docker run -dit --name b0 busybox
  - u0: ping -c 1 -W 1 172.17.255.255
  - u0: ping -c 1 -W 1 255.255.255.255
  - u0: ping -c 1 -W 1 127.255.255.255
  - b0: ping -c 1 -W 1 172.17.255.255
  - b0: ping -c 1 -W 1 255.255.255.255
  - b0: ping -c 1 -W 1 127.255.255.255
  - b0: ip neigh
`;

const IPUTILS_BROADCAST = [2, '', 'ping: Do you want to ping broadcast? Then -b. If not, check your local firewall rules\n'];
// BusyBox sets SO_BROADCAST and sends; the kernel ignores echo requests to a broadcast address (icmp_echo_ignore_broadcasts).
const busyboxBroadcast = (dst: string) => [1, `PING ${dst} (${dst}): 56 data bytes\n\n--- ${dst} ping statistics ---\n1 packets transmitted, 0 packets received, 100% packet loss\n`, ''];
// The route to either is RTN_BROADCAST (__mkroute_output: the limited broadcast leaves by the default route's device, to no
// gateway), and its neighbour entry NUD_NOARP with the device's broadcast address (arp_constructor): no ARP, and no entry
// ip neigh shows (it hides NOARP ones).
// lo's 127.255.255.255 is in its local 127.0.0.0/8 too, but the lookup's longest match is its broadcast /32: ignored as well.
const BROADCAST_EXPECTED = [IPUTILS_BROADCAST, IPUTILS_BROADCAST, IPUTILS_BROADCAST, busyboxBroadcast('172.17.255.255'), busyboxBroadcast('255.255.255.255'), busyboxBroadcast('127.255.255.255'), [0, '', '']];

describe('a ping to a broadcast address', () => {
  test("iputils refuses it without -b (the kernel's EACCES at connect, exit 2); BusyBox sends and hears nothing; the network's own address is no broadcast", async () => {
    const { result, backend } = await runSim(BROADCAST_PING + '  - u0: ping -c 1 -W 1 172.17.0.0\n');
    expect(printedTimesBlanked(result.steps.slice(2, 9))).toEqual(BROADCAST_EXPECTED);
    expect(result.steps[9]).toMatchObject({ exitCode: 1, stdout: expect.stringMatching(/^PING 172\.17\.0\.0 \(172\.17\.0\.0\) 56\(84\) bytes of data\.\n/) });
    // BusyBox's echoes leave b0 to the broadcast MAC at once: no ARP, no gateway.
    for (const dst of ['172.17.255.255', '255.255.255.255']) {
      const flow = backend.flows().find((f) => f.kind === 'icmp-echo' && f.from === 'b0' && f.to === dst)!;
      expect(flow.hops.filter((h) => h.event === 'arp-request')).toEqual([]);
      expect(flow.hops[0].layers.find((l) => l.proto === 'eth')).toMatchObject({ 'eth.dst': 'ff:ff:ff:ff:ff:ff' });
      expect(flow.hops.some((h) => h.dir === 'reply')).toBe(false);
    }
  });
});

describeWith(['ip', 'busybox', 'ping'], true, 'a ping to a broadcast address on the real kernel', () => {
  test('prints what sim prints, in each family', async () => {
    expectEmuPrints('broadcast-ping.yaml', BROADCAST_PING, BROADCAST_EXPECTED, { view: (steps) => printedTimesBlanked(steps.slice(2)) });
  }, 120000);
});

/** A name Docker does not own, asked from a BusyBox image and from a GNU one on the same network: the host has no resolver that answers. */
const FORWARDED_BY_IMAGE = twoNodes(`  - r0: docker run -dit --name b0 --network test-net busybox
  - r0: docker run -dit --name u0 --network test-net ubuntu
  - b0: nslookup example.com
  - u0: nslookup example.com
`, 'name: forwarded-by-image');

describeWith(['ip', 'busybox', 'nslookup'], true, 'a forwarded name nobody answers, by image, on the real kernel', () => {
  test("BusyBox's nslookup gives up after its 5 s, bind's after three tries 5 s apart, each in its own words, as sim says", async () => {
    const sim = (await runSim(FORWARDED_BY_IMAGE)).result.steps.slice(-2);
    const busybox = { exitCode: 1, stdout: ';; connection timed out; no servers could be reached\n\n', stderr: '' };
    const bind = { exitCode: 1, stdout: ';; communications error to 127.0.0.11#53: timed out\n'.repeat(3) + ';; no servers could be reached\n\n', stderr: '' };
    expect(sim.map(({ exitCode, stdout, stderr, durationMs }) => ({ exitCode, stdout, stderr, durationMs }))).toEqual([{ ...busybox, durationMs: 5000 }, { ...bind, durationMs: 15000 }]);
    const r = runEmu('forwarded-by-image.yaml', FORWARDED_BY_IMAGE);
    expect(r.stderr).toBe('');
    const emu = r.steps.slice(-2);
    expect(emu.map(({ exitCode, stdout, stderr }) => ({ exitCode, stdout, stderr }))).toEqual([busybox, bind]);
    // The real programs' own timers (Debian's busybox 1.35, bind 9.18), and what a loaded machine adds to them:
    // up to 4 s, short of the 5 s one more try would add, so the count of tries is still what is checked.
    const within = ([min, max]: number[], ms: number) => ms >= min && ms < max;
    expect(emu.map((s, i) => [s.durationMs, within([[5000, 9000], [15000, 19000]][i], s.durationMs)])).toEqual(emu.map((s) => [s.durationMs, true]));
  }, 180000);
});
