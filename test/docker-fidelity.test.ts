/**
 * What a Docker 20.10 engine answers that cnmlab once answered otherwise (issue 13, "CLI and
 * JSON"): Go's map order, the daemon's own networks' IPAM, nanosecond times, the whole
 * container inspect, --verbose, docker info, prune, the CLI's prompts, range in templates.
 */
import { Model } from '../sim/model/model';
import { shellWords } from '../sim/text/words';
import { CommandOutput } from '../sim/backend';
import { dockerStep } from '../sim/docker/session';
import { bytesSize, dockerInfo } from '../sim/docker/info';
import { lookupCommand } from '../sim/commands/registry';
import { runSim, twoNodes } from './helpers/run';
import { CONTAINER_JSON, GoType, NETWORK_RESOURCE } from '../sim/docker/api-types';
import * as fs from 'fs';
import * as path from 'path';

/** The registry's refusal of a host's line, or undefined when it lets it through. */
function refusal(line: string): string | undefined {
  const l = lookupCommand(shellWords(line), 'host');
  return l.modelled ? undefined : l.refusal.stderr;
}

function docker(m: Model, host: string, line: string): CommandOutput {
  const o = dockerStep(m, host, shellWords(line).slice(1)).outcome;
  if ('exec' in o) throw new Error('unexpected exec');
  return o;
}

/** The tutorial's swarm: r0 manager, r1 worker, test-net, a container on each. r2 stays out. */
function tutorial(): Model {
  const m = new Model([{ name: 'r0', underlay: '198.51.100.10' }, { name: 'r1', underlay: '198.51.100.11' }, { name: 'r2', underlay: '198.51.100.12' }], 11);
  m.boot();
  docker(m, 'r0', 'docker swarm init');
  docker(m, 'r1', 'docker swarm join --token <...> 198.51.100.10:2377');
  docker(m, 'r0', 'docker network create --driver=overlay --attachable test-net');
  docker(m, 'r0', 'docker run -dit --name ubuntu0 --network test-net busybox');
  m.tick(2e9);
  docker(m, 'r1', 'docker run -dit --name ubuntu1 --network test-net busybox');
  return m;
}

/** A parsed JSON document read by key path (the tests know the shape they expect). */
interface Doc {
  [key: string]: Doc;
}

function inspect(m: Model, host: string, line: string): Doc[] {
  const o = docker(m, host, line);
  expect(o.exitCode).toBe(0);
  return JSON.parse(o.stdout);
}

const byteOrder = (keys: string[]) => [...keys].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
const RFC3339_NANO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{0,8}[1-9]Z$/;

describe('inspect JSON as Go writes it', () => {
  test('maps keyed by id or option name come in byte order: a container id before lb-test-net, options alphabetically', () => {
    const m = tutorial();
    docker(m, 'r0', 'docker network create --opt zeta=1 --opt alpha=2 --label z=1 --label a=2 mine');
    const [net] = inspect(m, 'r0', 'docker network inspect test-net');
    const keys = Object.keys(net.Containers);
    expect(keys).toHaveLength(2);
    expect(keys[1]).toBe('lb-test-net');
    expect(keys[0]).toMatch(/^[0-9a-f]{64}$/);
    const [mine] = inspect(m, 'r0', 'docker network inspect mine');
    expect(Object.keys(mine.Options)).toEqual(['alpha', 'zeta']);
    expect(Object.keys(mine.Labels)).toEqual(['a', 'z']);
    const [gw] = inspect(m, 'r0', 'docker network inspect docker_gwbridge');
    expect(Object.keys(gw.Containers)).toEqual(byteOrder(Object.keys(gw.Containers)));
    expect(Object.keys(gw.Containers)).toContain('ingress-sbox');
  });

  test("networks dockerd makes itself carry no IPAM options; the default bridge's config names no gateway", () => {
    const m = tutorial();
    docker(m, 'r0', 'docker network create mine');
    const [bridge, gw, mine] = inspect(m, 'r0', 'docker network inspect bridge docker_gwbridge mine');
    expect(bridge.IPAM).toEqual({ Driver: 'default', Options: null, Config: [{ Subnet: '172.17.0.0/16' }] });
    expect(gw.IPAM).toEqual({ Driver: 'default', Options: null, Config: [{ Subnet: '172.18.0.0/16', Gateway: '172.18.0.1' }] });
    // A network made through the API keeps the (empty) options map the CLI sent.
    expect(mine.IPAM.Options).toEqual({});
    expect(String(mine.IPAM.Config[0].Gateway)).toMatch(/\.1$/);
  });

  test('Created is RFC 3339 with nanoseconds, each object its own, and stays put between calls', () => {
    const m = tutorial();
    const [testNet, bridge] = inspect(m, 'r0', 'docker network inspect test-net bridge');
    const [c] = inspect(m, 'r0', 'docker inspect ubuntu0');
    for (const t of [testNet.Created, bridge.Created, c.Created, c.State.StartedAt]) expect(t).toMatch(RFC3339_NANO);
    expect(new Set([testNet.Created, bridge.Created, c.Created]).size).toBe(3);
    expect(inspect(m, 'r0', 'docker network inspect test-net')[0].Created).toBe(testNet.Created);
    // The daemon stamps an object within a millisecond of the request; the start on a swarm network took it 2.65 s.
    const startedAfter = Date.parse(String(c.State.StartedAt)) - Date.parse(String(c.Created));
    expect(startedAfter).toBeGreaterThanOrEqual(2649);
    expect(startedAfter).toBeLessThanOrEqual(2651);
  });

  test('a network the manager failed to allocate: no IPAM driver, no config, no options', () => {
    const m = tutorial();
    docker(m, 'r0', 'docker network create -d overlay --subnet 10.0.1.0/24 clash');
    const [clash] = inspect(m, 'r0', 'docker network inspect clash');
    expect(clash.Driver).toBe('');
    expect(clash.IPAM).toEqual({ Driver: '', Options: null, Config: null });
    expect(clash.Options).toBeNull();
  });
});

describe('docker inspect CONTAINER', () => {
  test("every key of Docker's ContainerJSON in its order: 23 at the top, 17 in Config, 18 in NetworkSettings", () => {
    const m = tutorial();
    const [c] = inspect(m, 'r0', 'docker inspect ubuntu0');
    expect(Object.keys(c)).toEqual([
      'Id', 'Created', 'Path', 'Args', 'State', 'Image', 'ResolvConfPath', 'HostnamePath', 'HostsPath', 'LogPath', 'Name', 'RestartCount',
      'Driver', 'Platform', 'MountLabel', 'ProcessLabel', 'AppArmorProfile', 'ExecIDs', 'HostConfig', 'GraphDriver', 'Mounts', 'Config', 'NetworkSettings',
    ]);
    expect(Object.keys(c.Config)).toEqual([
      'Hostname', 'Domainname', 'User', 'AttachStdin', 'AttachStdout', 'AttachStderr', 'Tty', 'OpenStdin', 'StdinOnce', 'Env', 'Cmd', 'Image',
      'Volumes', 'WorkingDir', 'Entrypoint', 'OnBuild', 'Labels',
    ]);
    expect(Object.keys(c.NetworkSettings)).toEqual([
      'Bridge', 'SandboxID', 'HairpinMode', 'LinkLocalIPv6Address', 'LinkLocalIPv6PrefixLen', 'Ports', 'SandboxKey', 'SecondaryIPAddresses',
      'SecondaryIPv6Addresses', 'EndpointID', 'Gateway', 'GlobalIPv6Address', 'GlobalIPv6PrefixLen', 'IPAddress', 'IPPrefixLen', 'IPv6Gateway',
      'MacAddress', 'Networks',
    ]);
    expect(c.HostConfig.NetworkMode).toBe('test-net');
    expect(c.HostConfig.Runtime).toBe('runc');
    expect(c.GraphDriver.Name).toBe('overlay2');
    expect(c.GraphDriver.Data.MergedDir).toMatch(/^\/var\/lib\/docker\/overlay2\/[0-9a-f]{64}\/merged$/);
    expect(c.Image).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(c.HostsPath).toBe(`/var/lib/docker/containers/${c.Id}/hosts`);
    expect(c.LogPath).toBe(`/var/lib/docker/containers/${c.Id}/${c.Id}-json.log`);
    expect(c.Config.Hostname).toBe(String(c.Id).slice(0, 12));
    expect(c.NetworkSettings.SandboxKey).toBe(`/var/run/docker/netns/${String(c.NetworkSettings.SandboxID).slice(0, 12)}`);
    // The overlay endpoint lives under Networks only; the legacy top-level fields belong to the default bridge.
    expect(c.NetworkSettings.IPAddress).toBe('');
    expect(c.NetworkSettings.Networks['test-net'].IPAddress).toBe('10.0.1.2');
    // The manager's attachment hands the address over as a requested one (the engine's own inspect shows it so).
    expect(c.NetworkSettings.Networks['test-net'].IPAMConfig).toEqual({ IPv4Address: '10.0.1.2' });
  });

  test("a swarm network's IPAMConfig holds the manager's address while the container runs; a local network's is null unless --ip asked", () => {
    const m = tutorial();
    docker(m, 'r0', 'docker network create -d bridge br9');
    docker(m, 'r0', 'docker run -dit --name local --network br9 busybox');
    expect(inspect(m, 'r0', 'docker inspect local')[0].NetworkSettings.Networks.br9.IPAMConfig).toBeNull();
    docker(m, 'r0', 'docker stop ubuntu0');
    const stopped = inspect(m, 'r0', 'docker inspect ubuntu0')[0].NetworkSettings.Networks['test-net'];
    expect(stopped.IPAMConfig).toBeNull();
    expect(stopped.IPAddress).toBe('');
    // Started again, it is a new attachment: the manager's next address, shown the same way.
    docker(m, 'r0', 'docker start ubuntu0');
    const again = inspect(m, 'r0', 'docker inspect ubuntu0')[0].NetworkSettings.Networks['test-net'];
    expect(again.IPAMConfig).toEqual({ IPv4Address: again.IPAddress });
  });

  test("State.Pid: a running container's process as its host numbers it, the next a start takes from the host's pids; 0 once stopped, a new one at a new start", () => {
    const m = tutorial();
    const pid = (host: string, name: string, model = m) => Number(inspect(model, host, `docker inspect ${name}`)[0].State.Pid);
    const first = pid('r0', 'ubuntu0');
    expect(first).toBeGreaterThan(300);
    docker(m, 'r0', 'docker run -dit --name later --network test-net busybox');
    // A start takes its runtime's processes' pids (containerd's shim, runc and its clones) before and after the container's own.
    expect(pid('r0', 'later') - first).toBe(8);
    // Each host numbers its own processes.
    expect(pid('r1', 'ubuntu1')).not.toBe(first);
    expect(docker(m, 'r0', `docker inspect -f '{{.State.Pid}}' ubuntu0`).stdout).toBe(`${first}\n`);
    docker(m, 'r0', 'docker stop ubuntu0');
    expect(pid('r0', 'ubuntu0')).toBe(0);
    docker(m, 'r0', 'docker start ubuntu0');
    expect(pid('r0', 'ubuntu0')).toBe(first + 16);
    // The same scenario numbers them the same way each run.
    expect(pid('r0', 'ubuntu0', tutorial())).toBe(first);
  });

  test('IPAMConfig holds the address asked for with --ip; a container on the default bridge fills the legacy fields', () => {
    const m = tutorial();
    docker(m, 'r0', 'docker run -dit --name fixed --network test-net --ip 10.0.1.50 busybox');
    expect(inspect(m, 'r0', 'docker inspect fixed')[0].NetworkSettings.Networks['test-net'].IPAMConfig).toEqual({ IPv4Address: '10.0.1.50' });
    docker(m, 'r2', 'docker run -dit --name plain busybox');
    const [plain] = inspect(m, 'r2', 'docker inspect plain');
    expect(plain.HostConfig.NetworkMode).toBe('default');
    expect(plain.NetworkSettings.IPAddress).toBe('172.17.0.2');
    expect(plain.NetworkSettings.Gateway).toBe('172.17.0.1');
    expect(plain.NetworkSettings.MacAddress).toBe(plain.NetworkSettings.Networks.bridge.MacAddress);
  });
});

describe('HostConfig.NetworkMode', () => {
  test("docker/cli's first --network as typed (a name, an id's prefix, bridge), default without one; network connect and disconnect leave it", () => {
    const m = tutorial();
    const mode = (name: string) => inspect(m, 'r2', `docker inspect ${name}`)[0].HostConfig.NetworkMode;
    docker(m, 'r2', 'docker network create blue');
    const blueId = docker(m, 'r2', "docker network inspect -f '{{.Id}}' blue").stdout.trim();
    docker(m, 'r2', 'docker run -dit --name plain busybox');
    docker(m, 'r2', 'docker run -dit --name bridged --network bridge busybox');
    docker(m, 'r2', `docker run -dit --name by-id --network ${blueId.slice(0, 6)} busybox`);
    docker(m, 'r2', 'docker run -dit --name blue0 --net blue busybox');
    expect(['plain', 'bridged', 'by-id', 'blue0'].map(mode)).toEqual(['default', 'bridge', blueId.slice(0, 6), 'blue']);
    expect(docker(m, 'r2', 'docker network connect blue plain').exitCode).toBe(0);
    expect(docker(m, 'r2', 'docker network disconnect bridge plain').exitCode).toBe(0);
    expect(docker(m, 'r2', 'docker network connect bridge blue0').exitCode).toBe(0);
    expect(docker(m, 'r2', 'docker network disconnect blue blue0').exitCode).toBe(0);
    expect(['plain', 'blue0'].map(mode)).toEqual(['default', 'blue']);
  });
});

describe("the daemon's clock", () => {
  test("--ip outside a swarm network's subnet: the step lasts the daemon's 20 s wait and says it was modelled; an unallocated network waits the same", async () => {
    const { result } = await runSim(twoNodes(`  - r0: docker run -dit --name out --network test-net --ip 10.9.9.9 busybox
  - r0: docker network create -d overlay --attachable --subnet 10.0.1.128/25 overlap
  - r0: docker run -dit --name c1 --network overlap busybox
  - r0: docker run -dit --name ok --network test-net busybox
`, 'name: waits'));
    const [out, , unallocated, ok] = result.steps.slice(-4);
    const waited = { ms: 20000, note: "dockerd waited 20 s for the manager's attachment, until its request timed out; modelled: the step's duration counts it, cnmlab did not wait it" };
    expect(out).toMatchObject({ exitCode: 125, durationMs: 20000, daemonWaited: waited });
    expect(unallocated).toMatchObject({ exitCode: 125, durationMs: 20000, daemonWaited: waited });
    // A command the daemon answers without waiting says nothing of a wait.
    expect(ok.exitCode).toBe(0);
    expect(ok.daemonWaited).toBeUndefined();
    expect(ok.durationMs).toBeLessThan(20000);
  });

  test("a start on a swarm network takes the engine's time: the network's instance made 0.53 s after the container, StartedAt 2.12 s after that; iptables-save dates by the same clock", async () => {
    const { result } = await runSim(`name: clock
hosts:
  r0: {}
  r1: {}
steps:
  - r0: docker swarm init
  - r1: docker swarm join --token x 198.51.100.10:2377
  - r0: docker network create --driver=overlay --attachable test-net
  - r0: docker run -dit --name ubuntu0 --network test-net busybox
  - r0: docker inspect -f '{{json .Created}} {{json .State.StartedAt}}' ubuntu0
  - r0: docker network inspect -f '{{json .Created}}' test-net
  - r0: sleep 30
  - r0: iptables-save -t nat
`);
    const out = result.steps.map((s) => s.stdout);
    const seconds = (t: string) => Number(t.slice(17, -1)) + 60 * Number(t.slice(14, 16));
    const [created, started] = JSON.parse(`[${out[4].trim().replace(' ', ',')}]`).map(seconds);
    const network = seconds(JSON.parse(out[5]));
    expect(network - created).toBeCloseTo(0.53, 2);
    expect(started - network).toBeCloseTo(2.12, 2);
    // Four steps later (a second between steps) and the sleep's 30 s, by the clock Docker's times read.
    const stamp = /^# Generated by iptables-save v1\.8\.9 \(nf_tables\) on Thu Jan  1 00:(\d\d):(\d\d) 2026$/m.exec(out[7])!;
    expect(60 * Number(stamp[1]) + Number(stamp[2])).toBe(Math.floor(started + 4 + 30));
  });
});

describe('network inspect --verbose', () => {
  test('Services lists the containers of every node as tasks of the unnamed service, with their node', () => {
    const m = tutorial();
    expect(inspect(m, 'r0', 'docker network inspect test-net')[0]).not.toHaveProperty('Services');
    const [net] = inspect(m, 'r0', 'docker network inspect --verbose test-net');
    expect(Object.keys(net).slice(-2)).toEqual(['Peers', 'Services']);
    const service = net.Services[''];
    expect(Object.keys(service)).toEqual(['VIP', 'Ports', 'LocalLBIndex', 'Tasks']);
    expect(service.VIP).toBe('<nil>');
    expect((service.Tasks as unknown as Doc[]).map((t) => [t.Name, t.EndpointIP, t.Info])).toEqual([
      ['ubuntu1', '10.0.1.4', { 'Host IP': '198.51.100.11' }],
      ['ubuntu0', '10.0.1.2', { 'Host IP': '198.51.100.10' }],
    ]);
    expect(service.Tasks[1].EndpointID).toBe(net.Containers[Object.keys(net.Containers)[0]].EndpointID);
  });

  test('no task on the network: no Services at all (omitempty leaves an empty map out)', () => {
    const m = tutorial();
    const [ingress] = inspect(m, 'r0', 'docker network inspect --verbose ingress');
    expect(Object.keys(ingress).slice(-2)).toEqual(['Labels', 'Peers']);
  });
});

describe('docker info', () => {
  const machine = { kernel: '6.1.0-test', operatingSystem: 'Debian GNU/Linux 12 (bookworm)', architecture: 'x86_64', cpus: 2, memoryBytes: 25275416576 };

  test("a manager's Swarm section: cluster, pool, raft and the managers' addresses", () => {
    const m = tutorial();
    const text = dockerInfo(m.world, 'r0', machine);
    const swarm = text.slice(text.indexOf(' Swarm:'), text.indexOf(' Runtimes:')).split('\n');
    expect(swarm[0]).toBe(' Swarm: active');
    expect(swarm[1]).toMatch(/^  NodeID: [0-9a-z]{25}$/);
    expect(swarm.slice(2, 7)).toEqual(['  Is Manager: true', expect.stringMatching(/^  ClusterID: [0-9a-z]{25}$/), '  Managers: 1', '  Nodes: 2', '  Default Address Pool: 10.0.0.0/8  ']);
    expect(swarm.slice(-4)).toEqual(['  Node Address: 198.51.100.10', '  Manager Addresses:', '   198.51.100.10:2377', '']);
    expect(text).toContain(' Containers: 1\n  Running: 1\n  Paused: 0\n  Stopped: 0\n Images: 1\n Server Version: 20.10.24+dfsg1\n');
    expect(text).toContain(' Total Memory: 23.54GiB\n Name: r0\n');
    expect(text.endsWith(' Live Restore Enabled: false\n\n')).toBe(true);
    expect(docker(m, 'r0', 'docker info').stdout).toMatch(/^Client:\n Context:    default\n/);
  });

  test('a worker shows only its node and the managers; a node outside a swarm says inactive', () => {
    const m = tutorial();
    const worker = dockerInfo(m.world, 'r1', machine);
    expect(worker).toContain(' Swarm: active\n');
    expect(worker).toMatch(/  Is Manager: false\n  Node Address: 198\.51\.100\.11\n  Manager Addresses:\n   198\.51\.100\.10:2377\n Runtimes:/);
    expect(dockerInfo(m.world, 'r2', machine)).toContain('\n Swarm: inactive\n Runtimes:');
  });

  test('memory in go-units binary sizes, four significant digits', () => {
    expect(bytesSize(25275416576)).toBe('23.54GiB');
    expect(bytesSize(8 * 1024 ** 3)).toBe('8GiB');
    expect(bytesSize(2080374784)).toBe('1.938GiB');
  });
});

describe("the CLI's confirmations read no input as no", () => {
  test('network rm ingress asks, exits 0, and the ingress stays', () => {
    const m = tutorial();
    expect(docker(m, 'r0', 'docker network rm ingress')).toEqual({
      stdout: 'WARNING! Before removing the routing-mesh network, make sure all the nodes in your swarm run the same docker engine version. Otherwise, removal may not be effective and functionality of newly create ingress networks will be impaired.\nAre you sure you want to continue? [y/N] ',
      stderr: '', exitCode: 0,
    });
    expect(docker(m, 'r0', 'docker network ls').stdout).toMatch(/ingress\s+overlay\s+swarm/);
  });

  test('network prune asks; -f removes the unused custom networks, the swarm ones first, and keeps those in use', () => {
    const m = tutorial();
    docker(m, 'r0', 'docker network create spare');
    docker(m, 'r0', 'docker network create -d overlay idle');
    expect(docker(m, 'r0', 'docker network prune')).toEqual({
      stdout: 'WARNING! This will remove all custom networks not used by at least one container.\nAre you sure you want to continue? [y/N] ', stderr: '', exitCode: 0,
    });
    expect(docker(m, 'r0', 'docker network ls').stdout).toContain('spare');
    // dockerd reports the manager's networks before its own (NetworksPrune); the CLI's Fprintln adds the blank line.
    expect(docker(m, 'r0', 'docker network prune -f')).toEqual({ stdout: 'Deleted Networks:\nidle\nspare\n\n', stderr: '', exitCode: 0 });
    const left = docker(m, 'r0', 'docker network ls').stdout;
    for (const kept of ['test-net', 'ingress', 'docker_gwbridge', 'bridge']) expect(left).toContain(kept);
    expect(docker(m, 'r0', 'docker network prune -f').stdout).toBe('');
  });
});

describe('the command registry lets these lines through', () => {
  test('docker info, network prune -f and network inspect --verbose are modelled commands; info --format is not', () => {
    for (const line of ['docker info', 'docker network prune -f', 'docker network inspect --verbose test-net']) expect({ line, refused: refusal(line) }).toEqual({ line, refused: undefined });
    expect(refusal('docker info --format x')).toMatch(/not modelled/);
  });
});

describe('range in -f templates', () => {
  test('over a map in key order with $k, $v; over a list with . as the element; an empty map prints nothing', () => {
    const m = tutorial();
    expect(docker(m, 'r0', `docker network inspect -f '{{range $k, $v := .Containers}}{{$v.Name}}={{$v.IPv4Address}};{{end}}' test-net`).stdout).toBe('ubuntu0=10.0.1.2/24;test-net-endpoint=10.0.1.3/24;\n');
    expect(docker(m, 'r0', `docker network inspect -f '{{range .Peers}}{{.IP}} {{end}}' test-net`).stdout).toBe('198.51.100.10 198.51.100.11 \n');
    expect(docker(m, 'r0', `docker network inspect -f '[{{range .Labels}}x{{end}}]' test-net`).stdout).toBe('[]\n');
    expect(docker(m, 'r0', `docker inspect -f '{{range $n, $e := .NetworkSettings.Networks}}{{$n}} {{$e.IPAddress}}{{end}}' ubuntu0`).stdout).toBe('test-net 10.0.1.2\n');
  });

  test("a template that does not parse is docker/cli's usage error: exit 64, nothing printed, nothing looked up", () => {
    const m = tutorial();
    expect(docker(m, 'r0', `docker network inspect -f '{{range .Peers}}{{.IP}}' test-net nosuch`)).toEqual({ stdout: '', stderr: 'template parsing error: template: :1: unexpected EOF\n', exitCode: 64 });
    expect(docker(m, 'r0', `docker network inspect -f '{{nosuchfn .Name}}' test-net`)).toEqual({ stdout: '', stderr: 'template parsing error: template: :1: function "nosuchfn" not defined\n', exitCode: 64 });
  });

  test('a template that fails on one object: the error at its place in the template, the other objects printed, a lone newline when none was', () => {
    const m = tutorial();
    expect(docker(m, 'r0', `docker network inspect -f '{{.Name}} {{.Nope}}' test-net`)).toEqual({
      stdout: '\n', stderr: 'template parsing error: template: :1:12: executing "" at <.Nope>: map has no entry for key "Nope"\n', exitCode: 1,
    });
    expect(docker(m, 'r0', `docker network inspect -f '{{.Name}}' nosuch test-net`)).toEqual({ stdout: 'test-net\n', stderr: 'Error: No such network: nosuch\n', exitCode: 1 });
  });

  test("string constants as text/template takes them: printed as they are, escapes read, `raw` strings not, operands of json, len and index; a }} inside one is no action's end", () => {
    const m = tutorial();
    expect(docker(m, 'r0', `docker network inspect -f '{{"net: "}}{{.Name}}{{" }} \\t|"}}' test-net`).stdout).toBe('net: test-net }} \t|\n');
    expect(docker(m, 'r0', `docker network inspect -f '{{\`a\\n\`}}|{{len "abc"}}|{{json "a\\"b"}}|{{index .Options "com.docker.network.driver.overlay.vxlanid_list"}}|{{"\\u00e9\\x41\\101"}}' test-net`).stdout).toBe('a\\n|3|"a\\"b"|4097|éAA\n');
    // strconv.Unquote refuses an escape Go does not know: the parser's error, exit 64.
    expect(docker(m, 'r0', `docker network inspect -f '{{"\\q"}}' test-net`)).toEqual({ stdout: '', stderr: 'template parsing error: template: :1: invalid syntax\n', exitCode: 64 });
    // A constant is no function: given an argument, the template fails on the object.
    expect(docker(m, 'r0', `docker network inspect -f '{{"a" .Name}}' test-net`)).toEqual({
      stdout: '\n', stderr: 'template parsing error: template: :1:2: executing "" at <"a">: can\'t give argument to non-function "a"\n', exitCode: 1,
    });
  });

  test("a constant's escapes are read as the template parses, wherever it stands; a quote left open is the lexer's error; a | inside a constant is no pipeline, one after a constant is", () => {
    const m = tutorial();
    for (const f of ['{{index .Options "\\q"}}', '{{json "\\q"}}', '{{range index .Options "\\q"}}{{end}}']) {
      expect({ f, ...docker(m, 'r0', `docker network inspect -f '${f}' nosuch`) }).toEqual({ f, stdout: '', stderr: 'template parsing error: template: :1: invalid syntax\n', exitCode: 64 });
    }
    const lexErrors: [string, string][] = [['{{"abc}}', 'unterminated quoted string'], ['{{.Name}} {{`abc}}', 'unterminated raw quoted string'], ['{{"a}}\nb"}}', 'unterminated quoted string'], ['{{.Name', 'unclosed action']];
    for (const [f, msg] of lexErrors) {
      expect({ f, ...docker(m, 'r0', `docker network inspect -f '${f}' nosuch`) }).toEqual({ f, stdout: '', stderr: `template parsing error: template: :1: ${msg}\n`, exitCode: 64 });
    }
    expect(docker(m, 'r0', `docker network inspect -f '{{index .Options "a|b"}}x' test-net`)).toEqual({ stdout: 'x\n', stderr: '', exitCode: 0 });
    const o = docker(m, 'r0', `docker network inspect -f '{{"a" | len}}' test-net`);
    expect({ exit: o.exitCode, stderr: o.stderr }).toEqual({ exit: 127, stderr: expect.stringMatching(/^cnmlab: not modelled: docker inspect --format: a pipeline \(json, index, len and range are\)\n$/) });
  });

  test("an action with no command is text/template's parse error (checkPipeline), exit 64; a comment prints nothing; trim markers take the white space beside them", () => {
    const m = tutorial();
    const missing: [string, string][] = [['{{}}', 'command'], ['{{ }}', 'command'], ['{{.Name}}{{- }}', 'command'], ['{{ -}}', 'command'], ['{{range}}{{end}}', 'range'], ['{{range $v := }}{{end}}', 'range'], ['{{range $k, $v :=}}{{end}}', 'range']];
    for (const [f, what] of missing) {
      expect({ f, ...docker(m, 'r0', `docker inspect -f '${f}' nosuch`) }).toEqual({ f, stdout: '', stderr: `template parsing error: template: :1: missing value for ${what}\n`, exitCode: 64 });
    }
    expect(docker(m, 'r0', `docker network inspect -f 'a {{/* the name */}}b{{- /* c }} d */ -}} {{.Name}}' test-net`)).toEqual({ stdout: 'a btest-net\n', stderr: '', exitCode: 0 });
    expect(docker(m, 'r0', `docker network inspect -f '[ {{- .Name -}} ] [ {{.Name}} ]' test-net`).stdout).toBe('[test-net] [ test-net ]\n');
    // lexComment: the comment must close, and right before the action's end.
    for (const [f, msg] of [['{{/* x }}', 'unclosed comment'], ['{{/* x */ .Name}}', 'comment ends before closing delimiter']]) {
      expect({ f, ...docker(m, 'r0', `docker inspect -f '${f}' nosuch`) }).toEqual({ f, stdout: '', stderr: `template parsing error: template: :1: ${msg}\n`, exitCode: 64 });
    }
  });

  test('len, and range with else; the functions Go and docker/cli define beyond those are not modelled rather than undefined', () => {
    const m = tutorial();
    expect(docker(m, 'r0', `docker network inspect -f '{{len .Containers}} {{len .Peers}} {{len .Name}}' test-net`).stdout).toBe('2 2 8\n');
    expect(docker(m, 'r0', `docker network inspect -f '{{range .Containers}}{{.Name}}{{else}}none{{end}}' bridge`).stdout).toBe('none\n');
    for (const f of ['{{upper .Name}}', '{{println .Name}}', '{{if .Internal}}x{{end}}', '{{.Name | printf "%s"}}']) {
      const o = docker(m, 'r0', `docker network inspect -f '${f}' test-net`);
      expect({ f, exit: o.exitCode, stderr: o.stderr }).toEqual({ f, exit: 127, stderr: expect.stringMatching(/^cnmlab: not modelled: docker inspect --format: (?!.*not modelled)/) });
    }
  });
});

describe("docker inspect of an image's own process: its entrypoint, command and stop signal", () => {
  // nginx:latest of 2023: ENTRYPOINT ["/docker-entrypoint.sh"], CMD ["nginx", "-g", "daemon off;"], STOPSIGNAL SIGQUIT.
  test('nginx: Path is the entrypoint, Args its command; Config holds Entrypoint, Cmd and StopSignal (after Labels, where Go puts it)', () => {
    const m = tutorial();
    docker(m, 'r0', 'docker run -d --name web --network test-net nginx');
    docker(m, 'r0', 'docker run -d --name napper --network test-net nginx sleep 1000');
    const [web, napper] = inspect(m, 'r0', 'docker inspect web napper');
    expect([web.Path, web.Args]).toEqual(['/docker-entrypoint.sh', ['nginx', '-g', 'daemon off;']]);
    expect([web.Config.Entrypoint, web.Config.Cmd, web.Config.StopSignal]).toEqual([['/docker-entrypoint.sh'], ['nginx', '-g', 'daemon off;'], 'SIGQUIT']);
    expect(Object.keys(web.Config).slice(-3)).toEqual(['OnBuild', 'Labels', 'StopSignal']);
    // A command given replaces Cmd, not the entrypoint, which execs it.
    expect([napper.Path, napper.Args, napper.Config.Cmd]).toEqual(['/docker-entrypoint.sh', ['sleep', '1000'], ['sleep', '1000']]);
    expect(docker(m, 'r0', "docker inspect -f '{{.Config.StopSignal}}|{{.Config.Entrypoint}}' web ubuntu0").stdout).toBe('SIGQUIT|[/docker-entrypoint.sh]\n|[]\n');
    // docker ps joins Path and Args, quoting an argument that holds a space (moby container/view.go).
    expect(docker(m, 'r0', 'docker ps --no-trunc').stdout).toContain(`"/docker-entrypoint.sh nginx -g 'daemon off;'"`);
    expect(docker(m, 'r0', 'docker ps --no-trunc').stdout).toContain('"/docker-entrypoint.sh sleep 1000"');
  });

  test('busybox: no entrypoint and no stop signal of its own: Path is its sh, Config.StopSignal absent', () => {
    const m = tutorial();
    const [c] = inspect(m, 'r0', 'docker inspect ubuntu0');
    expect([c.Path, c.Args, c.Config.Entrypoint, c.Config.Cmd]).toEqual(['sh', [], null, ['sh']]);
    expect(c.Config).not.toHaveProperty('StopSignal');
  });
});

describe("-f templates run on Docker's typed structs first (docker/cli's TemplateInspector), then on the raw JSON", () => {
  const f = (m: Model, what: string, template: string, ref: string) => docker(m, 'r0', `docker ${what} -f '${template}' ${ref}`);

  test('a nil slice prints [], a nil map map[], a nil pointer <nil>, as the Go type of the field has it', () => {
    const m = tutorial();
    const printed = (t: string) => f(m, 'inspect', t, 'ubuntu0').stdout;
    expect(printed('{{.Config.Env}}|{{.Config.Entrypoint}}|{{.Config.Volumes}}|{{.ExecIDs}}|{{.HostConfig.Binds}}|{{.HostConfig.Ulimits}}')).toBe('[]|[]|map[]|[]|[]|[]\n');
    expect(printed('{{.NetworkSettings.Ports}}|{{.NetworkSettings.SecondaryIPAddresses}}|{{.HostConfig.PidsLimit}}|{{.HostConfig.ConsoleSize}}')).toBe('map[]|[]|<nil>|[0 0]\n');
    expect(printed('{{.HostConfig.LogConfig}}')).toBe('{json-file map[]}\n');
    // A pointer to a struct is followed at the top; a struct prints its fields, those the JSON leaves out (Health) at their zero value.
    expect(printed('{{.State}}')).toMatch(/^\{running true false false false false \d+ 0  \S+Z 0001-01-01T00:00:00Z <nil>\}\n$/);
    expect(printed('{{.Config}}')).toMatch(/^\{[0-9a-f]{12}   false false false map\[\] true true false \[\] \[sh\] <nil> false busybox map\[\]  \[\] false  \[\] map\[\]  <nil> \[\]\}\n$/);
    // len, range and index on them as Go's: a nil slice is empty; a missing key gives the element's zero value ("" for a string, a nil pointer).
    expect(printed('{{len .Config.Env}} {{range .Config.Env}}x{{else}}none{{end}} [{{index .Config.Labels "x"}}] {{index .NetworkSettings.Networks "x"}}')).toBe('0 none [] <nil>\n');
    // A missing map key met as a field is nothing, and so is a field of it.
    expect(printed('{{.NetworkSettings.Networks.nosuch}} {{.NetworkSettings.Networks.nosuch.IPAddress}}')).toBe('<no value> <no value>\n');
  });

  test("a network: Created is a time.Time (its String()), IPAM and the endpoints are structs, a nil map of options map[]", () => {
    const m = tutorial();
    const net = (t: string) => f(m, 'network inspect', t, 'test-net').stdout;
    expect(net('{{.Created}}')).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+ \+0000 UTC\n$/);
    expect(net('{{.IPAM}}')).toBe('{default map[] [{10.0.1.0/24  10.0.1.1 map[]}]}\n');
    expect(net('{{.ConfigFrom}} {{.Labels}} [{{index .Options "x"}}]')).toBe('{} map[] []\n');
    expect(net('{{range .Containers}}{{.}};{{end}}')).toMatch(/^\{ubuntu0 [0-9a-f]{64} 02:42:0a:00:01:02 10\.0\.1\.2\/24 \};\{test-net-endpoint [0-9a-f]{64} 02:42:0a:00:01:03 10\.0\.1\.3\/24 \};\n$/);
  });

  test("a JSON name that is not the Go field's (Id, not ID) fails the typed run: the raw one prints a null as <no value>, a missing index the same", () => {
    const m = tutorial();
    expect(f(m, 'inspect', '{{.Id}} {{.Config.Env}}', 'ubuntu0').stdout).toMatch(/^[0-9a-f]{64} <no value>\n$/);
    expect(f(m, 'network inspect', '{{.Id}} {{index .Options "x"}}', 'test-net').stdout).toMatch(/^[0-9a-z]{25} <no value>\n$/);
    // len of an int fails typed; the raw JSON's number is a json.Number, a string.
    const pid = JSON.parse(docker(m, 'r0', 'docker inspect ubuntu0').stdout)[0].State.Pid;
    expect(f(m, 'inspect', '{{len .State.Pid}}', 'ubuntu0').stdout).toBe(`${String(pid).length}\n`);
    // A field of a null: Go's own words for a nil interface.
    expect(f(m, 'inspect', '{{.Id}}{{.Config.Env.X}}', 'ubuntu0')).toMatchObject({ exitCode: 1, stderr: 'template parsing error: template: :1:9: executing "" at <.Config.Env.X>: nil pointer evaluating interface {}.X\n' });
  });

  test("the type table holds every key the model's inspect documents have, in their order", () => {
    const m = tutorial();
    /** The JSON keys a Go type writes, in order: embedded structs inline. */
    const jsonKeys = (t: GoType): string[] => {
      const s = t.kind === 'pointer' ? t.elem : t;
      return s.kind === 'struct' ? s.fields.flatMap((fd) => (fd.embedded ? jsonKeys(fd.type) : [fd.json ?? fd.name])) : [];
    };
    const typeOf = (t: GoType, key: string): GoType => {
      const s = t.kind === 'pointer' ? t.elem : t;
      if (s.kind !== 'struct') throw new Error(`no struct for ${key}`);
      for (const fd of s.fields) {
        if (fd.embedded) { if (jsonKeys(fd.type).includes(key)) return typeOf(fd.type, key); } else if ((fd.json ?? fd.name) === key) return fd.type;
      }
      throw new Error(`no field ${key}`);
    };
    const check = (doc: unknown, t: GoType, at: string): void => {
      const s = t.kind === 'pointer' ? t.elem : t;
      if (doc === null || typeof doc !== 'object') return;
      if (s.kind === 'struct') {
        const keys = Object.keys(doc);
        expect({ at, keys }).toEqual({ at, keys: jsonKeys(s).filter((k) => keys.includes(k)) });
        for (const k of keys) check((doc as Doc)[k], typeOf(s, k), `${at}.${k}`);
      } else if (s.kind === 'map' || s.kind === 'slice') {
        for (const v of Object.values(doc)) check(v, s.elem, `${at}[]`);
      }
    };
    check(inspect(m, 'r0', 'docker inspect ubuntu0')[0], CONTAINER_JSON, 'ContainerJSON');
    check(inspect(m, 'r0', 'docker network inspect --verbose test-net')[0], NETWORK_RESOURCE, 'NetworkResource');
  });

  test('a value holding a pointer, which Go prints as its address, is not modelled; json prints it', () => {
    const m = tutorial();
    expect(f(m, 'inspect', '{{.NetworkSettings.Networks}}', 'ubuntu0')).toMatchObject({ exitCode: 127, stderr: expect.stringMatching(/^cnmlab: not modelled: docker inspect --format: a value holding a pointer \(Go prints its address; \{\{json …\}\} prints it\)\n$/) });
    expect(JSON.parse(f(m, 'inspect', '{{json .NetworkSettings.Networks}}', 'ubuntu0').stdout)['test-net'].IPAddress).toBe('10.0.1.2');
  });
});

describe("a container's view of its veths' peers", () => {
  test('a container names no namespace: its eth0 (overlay) and eth1 (the host, docker_gwbridge) read link-netnsid 0 and 1, as on the engine and in emu', async () => {
    const { result } = await runSim(fs.readFileSync(path.join(__dirname, '..', 'scenarios', 'two-overlays.yaml'), 'utf8'), 'two-overlays.yaml');
    const step = result.steps.find((s) => s.command === 'ip addr' && s.on === 'app');
    expect(step?.stdout).toMatch(/eth0@if\d+: [^\n]*\n[^\n]*link-netnsid 0\n/);
    expect(step?.stdout).toMatch(/eth1@if\d+: [^\n]*\n[^\n]*link-netnsid 1\n/);
    expect(step?.stdout).not.toContain('link-netns ');
  });
});

describe('docker swarm leave (moby v20.10 daemon/cluster/swarm.go Leave, then DaemonLeavesCluster)', () => {
  test("the leaver's running container stays up, disconnected from the swarm network and from docker_gwbridge; the manager lists its entries no more", async () => {
    const { result } = await runSim(twoNodes(`  - r0: docker run -dit --name ubuntu0 --network test-net busybox
  - r1: docker run -dit --name ubuntu1 --network test-net busybox
  - r1: docker swarm leave
  - r1: docker ps
  - r1: docker inspect -f '{{json .NetworkSettings.Networks}}' ubuntu1
  - ubuntu1: ip link
  - r0: docker network inspect -f '{{range .Containers}}{{.Name}} {{end}}' test-net
`, 'name: leave'));
    const [left, ps, networks, links, members] = result.steps.slice(-5);
    expect(left).toMatchObject({ exitCode: 0, stdout: 'Node left the swarm.\n' });
    expect(ps.stdout).toMatch(/ Up \d+ seconds? +ubuntu1\n$/);
    expect(networks.stdout).toBe('{}\n');
    // Only its loopback: the overlay's eth0 and docker_gwbridge's eth1 are gone with their endpoints.
    expect([...links.stdout.matchAll(/^\d+: ([^:@]+)[:@]/gm)].map((m) => m[1])).toEqual(['lo']);
    expect(members.stdout).toBe('ubuntu0 test-net-endpoint \n');
  });
});
