/**
 * `docker run -p` (issue 13): docker/cli v20.10's parsing and its errors, and the bridge
 * driver's port mappings as libnetwork v20.10 makes them on the default bridge and on a
 * user's bridge network: the nat DOCKER DNAT, the filter DOCKER accept and the container's
 * MASQUERADE to itself (iptables.ChainInfo.Forward), a docker-proxy on each host port (on
 * 0.0.0.0 and ::, or the address asked for), the allocator's refusal of a port taken, and
 * all of it gone at stop; inspect, ps, docker port. emu installs the same rules with the
 * real iptables and holds the proxies' sockets in the host's namespace: it prints the same.
 */
import { runSim, runEmu, PrintedStep, StepPrint } from './helpers/run';
import { describeWith } from './helpers/env';
import { hostOf } from '../sim/model/world';

const PUBLISH = `name: docker-publish
hosts:
  r0: {}
  r1: {}
steps:
  - r0: docker network create appnet
  - r0: docker run -dit --name web -p 8080:80 -p 127.0.0.1:5353:53/udp busybox
  - r0: docker run -dit --name api --network appnet -p 80 -p 9000-9001:7000-7001 busybox
  - r0: docker run -dit --name web2 -p 8080:80 busybox
  - r0: docker ps
  - r0: docker port web
  - r0: docker port api 80
  - r0: docker port web 81
  - r0: docker inspect -f '{{json .HostConfig.PortBindings}} {{json .NetworkSettings.Ports}} {{json .Config.ExposedPorts}}' web
  - r0: iptables -t nat -S DOCKER
  - r0: iptables -S DOCKER
  - r0: iptables -t nat -S POSTROUTING
  - r0: ss -lntu
  - r0: docker stop web
  - r0: docker inspect -f '{{json .NetworkSettings.Ports}}' web
  - r0: iptables -t nat -S DOCKER
  - r0: ss -lntu
  - r0: docker rm -f api
  - r0: iptables -S DOCKER
  - r0: iptables -t nat -S POSTROUTING
  - r0: ss -lntu
  - r0: docker start web2
  - r0: docker port web2
  - r0: docker run -d --network host -p 80:80 busybox
`;

/** Two mappings to one container port, on two host ports and on two addresses: ProgramRule's Exists keeps one accept and one masquerade for each. */
const SHARED = `name: docker-publish-shared
hosts:
  r0: {}
steps:
  - r0: docker run -dit --name two -p 8080:80 -p 8081:80 -p 127.0.0.1:9090:90 -p 127.0.0.2:9090:90 busybox
  - r0: iptables -t nat -S DOCKER
  - r0: iptables -S DOCKER
  - r0: iptables -t nat -S POSTROUTING
  - r0: docker stop two
  - r0: iptables -t nat -S DOCKER
  - r0: iptables -S DOCKER
  - r0: iptables -t nat -S POSTROUTING
`;

/** Proxies whose listen the host's sockets refuse: another container's proxy on the port, dockerd's swarm sockets. */
const TAKEN = `name: docker-publish-taken
hosts:
  r0: {}
steps:
  - r0: docker run -dit --name pa -p 127.0.0.1:8080:80 busybox
  - r0: docker run -dit --name pb -p 8080:80 busybox
  - r0: docker ps -a
  - r0: docker run -dit --name pd -p 8081:80 -p 127.0.0.1:8081:81 busybox
  - r0: iptables -t nat -S DOCKER
  - r0: ss -lntu
  - r0: docker swarm init
  - r0: docker run -dit --name pe -p 2377:80 busybox
  - r0: docker run -dit --name pf -p 7946:80/udp busybox
  - r0: docker run -dit --name pg -p 8082:80 busybox
  - r0: docker port pg
`;

/** A step as compared across modes: ps cut to its PORTS and NAMES, ss's lines sorted (the kernel lists them in its hash's order). */
function comparable(s: StepPrint & { command?: string }): [number, string, string] {
  let stdout = s.stdout;
  if (/^CONTAINER ID/.test(stdout)) {
    const lines = stdout.split('\n');
    const at = lines[0].indexOf('PORTS');
    stdout = lines.map((l) => l.slice(at)).join('\n');
  }
  if (/^Netid/.test(stdout)) {
    const [head, ...rows] = stdout.trimEnd().split('\n').map((l) => l.trimEnd());
    stdout = [head, ...rows.sort()].join('\n');
  }
  return [s.exitCode, stdout, s.stderr];
}

const out = (steps: readonly StepPrint[], i: number) => steps[i].stdout;

describe('docker run -p, as Docker 20.10 publishes ports on a bridge network', () => {
  test('the rules, the proxies, the views, and their end at stop and rm', async () => {
    const { result, model } = await runSim(PUBLISH);
    const s = result.steps;
    const web2 = Object.values(hostOf(model.world, 'r0').containers).find((c) => c.name === 'web2')!;
    // A port already allocated: the start is refused (the container stays Created), after -d printed its id.
    expect(s[3].exitCode).toBe(125);
    expect(s[3].stdout).toBe(`${web2.id}\n`);
    expect(s[3].stderr).toMatch(/^docker: Error response from daemon: driver failed programming external connectivity on endpoint web2 \([0-9a-f]{64}\): Bind for 0\.0\.0\.0:8080 failed: port is already allocated\.\n$/);
    // ps: DisplayablePorts, by container port, 0.0.0.0 before ::.
    expect(out(s, 4)).toMatch(/ {3}0\.0\.0\.0:32768->80\/tcp, :::32768->80\/tcp, 0\.0\.0\.0:9000->7000\/tcp, :::9000->7000\/tcp, 0\.0\.0\.0:9001->7001\/tcp, :::9001->7001\/tcp {3}api\n/);
    expect(out(s, 4)).toMatch(/ {3}127\.0\.0\.1:5353->53\/udp, 0\.0\.0\.0:8080->80\/tcp, :::8080->80\/tcp +web\n/);
    expect(out(s, 5)).toBe('53/udp -> 127.0.0.1:5353\n80/tcp -> 0.0.0.0:8080\n80/tcp -> :::8080\n');
    expect(out(s, 6)).toBe('0.0.0.0:32768\n:::32768\n');
    expect([s[7].exitCode, s[7].stderr]).toEqual([1, "Error: No public port '81/tcp' published for web\n"]);
    expect(out(s, 8)).toBe('{"53/udp":[{"HostIp":"127.0.0.1","HostPort":"5353"}],"80/tcp":[{"HostIp":"","HostPort":"8080"}]} '
      + '{"53/udp":[{"HostIp":"127.0.0.1","HostPort":"5353"}],"80/tcp":[{"HostIp":"0.0.0.0","HostPort":"8080"},{"HostIp":"::","HostPort":"8080"}]} '
      + '{"53/udp":{},"80/tcp":{}}\n');
    const br = hostOf(model.world, 'r0').localNetworks;
    const appnet = Object.values(br).find((n) => n.name === 'appnet')!.bridge!;
    // Forward's rules, appended in nat.SortPortMap's order (the larger host port first), as iptables 1.8.9 prints them.
    expect(out(s, 9)).toBe(`-N DOCKER
-A DOCKER -i br-${appnet.slice(3)} -j RETURN
-A DOCKER -i docker0 -j RETURN
-A DOCKER ! -i docker0 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 172.17.0.2:80
-A DOCKER -d 127.0.0.1/32 ! -i docker0 -p udp -m udp --dport 5353 -j DNAT --to-destination 172.17.0.2:53
-A DOCKER ! -i ${appnet} -p tcp -m tcp --dport 9001 -j DNAT --to-destination 172.18.0.2:7001
-A DOCKER ! -i ${appnet} -p tcp -m tcp --dport 9000 -j DNAT --to-destination 172.18.0.2:7000
-A DOCKER ! -i ${appnet} -p tcp -m tcp --dport 32768 -j DNAT --to-destination 172.18.0.2:80
`);
    expect(out(s, 10)).toBe(`-N DOCKER
-A DOCKER -d 172.17.0.2/32 ! -i docker0 -o docker0 -p tcp -m tcp --dport 80 -j ACCEPT
-A DOCKER -d 172.17.0.2/32 ! -i docker0 -o docker0 -p udp -m udp --dport 53 -j ACCEPT
-A DOCKER -d 172.18.0.2/32 ! -i ${appnet} -o ${appnet} -p tcp -m tcp --dport 7001 -j ACCEPT
-A DOCKER -d 172.18.0.2/32 ! -i ${appnet} -o ${appnet} -p tcp -m tcp --dport 7000 -j ACCEPT
-A DOCKER -d 172.18.0.2/32 ! -i ${appnet} -o ${appnet} -p tcp -m tcp --dport 80 -j ACCEPT
`);
    expect(out(s, 11)).toContain('-A POSTROUTING -s 172.17.0.2/32 -d 172.17.0.2/32 -p tcp -m tcp --dport 80 -j MASQUERADE\n');
    // docker-proxy: an IPv4 socket and an IPv6-only one (Go's tcp4 and tcp6) per port, or the address asked for alone.
    expect(out(s, 12)).toMatch(/^udp +UNCONN +0 +0 +127\.0\.0\.1:5353 +0\.0\.0\.0:\* *$/m);
    expect(out(s, 12)).toMatch(/^tcp +LISTEN +0 +4096 +0\.0\.0\.0:8080 +0\.0\.0\.0:\* *$/m);
    expect(out(s, 12)).toMatch(/^tcp +LISTEN +0 +4096 +\[::\]:8080 +\[::\]:\* *$/m);
    expect(out(s, 12).trimEnd().split('\n')).toHaveLength(10);
    // Stopped: no mappings in its settings, its rules and proxies gone; api's stay until it goes too.
    expect(out(s, 14)).toBe('{}\n');
    expect(out(s, 15)).not.toContain('172.17.0.2');
    expect(out(s, 16).trimEnd().split('\n')).toHaveLength(7);
    expect(out(s, 18)).toBe('-N DOCKER\n');
    expect(out(s, 19)).not.toMatch(/--dport/);
    expect(out(s, 20)).toBe('Netid State Recv-Q Send-Q Local Address:Port Peer Address:PortProcess\n');
    // 8080 is free again: web2 starts and takes it.
    expect(s[21].exitCode).toBe(0);
    expect(out(s, 22)).toBe('80/tcp -> 0.0.0.0:8080\n80/tcp -> :::8080\n');
    // --network host: the daemon's warning, the ports discarded.
    expect([s[23].exitCode, s[23].stderr]).toEqual([0, 'WARNING: Published ports are discarded when using host network mode\n']);
  });

  test.each([
    ['80:abc', 'docker: Invalid containerPort: abc.'],
    ['abc:80', 'docker: Invalid hostPort: abc.'],
    ['1.2.3:80:80', 'docker: Invalid ip address: 1.2.3.'],
    ['8080:80/icmp', 'docker: Invalid proto: icmp.'],
    ['8080-8081:80-82', 'docker: Invalid ranges specified for container and host Ports: 80-82 and 8080-8081.'],
    ['8080:', 'docker: No port specified: 8080:<empty>.'],
    ['80:90-80', 'docker: Invalid containerPort: 90-80.'],
    ['70000:80', 'docker: Invalid hostPort: 70000.'],
    ['published=8080,target', "docker: invalid publish opts format (should be name=value but got 'target')."],
  ])("docker/cli's refusal of -p %s", async (spec, message) => {
    const { result } = await runSim(`name: t\nhosts:\n  r0: {}\nsteps:\n  - r0: ${JSON.stringify(`docker run -d -p ${spec} busybox`)}\n`);
    const [step] = result.steps;
    expect([step.exitCode, step.stdout, step.stderr]).toEqual([125, '', `${message}\nSee 'docker run --help'.\n`]);
  });

  test('the long form, a host range with one container port, and a user bridge: what the daemon picks', async () => {
    const { result } = await runSim(`name: t
hosts:
  r0: {}
steps:
  - r0: docker run -dit --name pa -p published=8080,target=80,protocol=udp -p 5000-5010:80 busybox
  - r0: docker run -dit --name pb -p 5000-5010:80 -p 80 busybox
  - r0: docker port pa
  - r0: docker port pb
`);
    const s = result.steps;
    expect(out(s, 2)).toBe('80/tcp -> 0.0.0.0:5000\n80/tcp -> :::5000\n80/udp -> 0.0.0.0:8080\n80/udp -> :::8080\n');
    // The allocator goes on from the last port it gave in that range, and from the dynamic range's start.
    expect(out(s, 3)).toBe('80/tcp -> 0.0.0.0:5001\n80/tcp -> :::5001\n80/tcp -> 0.0.0.0:32768\n80/tcp -> :::32768\n');
  });

  test("Go's template prints the maps as the daemon's types do; an attached run on the host network warns before its command's output", async () => {
    const { result } = await runSim(`name: t
hosts:
  r0: {}
steps:
  - r0: docker run -dit --name web -p 8080:80 busybox
  - r0: docker inspect -f '{{.NetworkSettings.Ports}} {{.HostConfig.PortBindings}} {{.Config.ExposedPorts}}' web
  - r0: docker container port web 80/tcp
  - r0: docker run --rm --network host -p 80 busybox hostname
`);
    const s = result.steps;
    expect(out(s, 1)).toBe('map[80/tcp:[{0.0.0.0 8080} {:: 8080}]] map[80/tcp:[{ 8080}]] map[80/tcp:{}]\n');
    expect(out(s, 2)).toBe('0.0.0.0:8080\n:::8080\n');
    expect([s[3].exitCode, s[3].stdout, s[3].stderr]).toEqual([0, 'r0\n', 'WARNING: Published ports are discarded when using host network mode\n']);
  });

  test('two mappings to one container port share its accept and its masquerade (ProgramRule appends a rule only once), and both go at stop', async () => {
    const { result } = await runSim(SHARED);
    const s = result.steps;
    expect(out(s, 1).split('\n').filter((l) => l.includes('DNAT'))).toHaveLength(4);
    expect(out(s, 2)).toBe('-N DOCKER\n'
      + '-A DOCKER -d 172.17.0.2/32 ! -i docker0 -o docker0 -p tcp -m tcp --dport 90 -j ACCEPT\n'
      + '-A DOCKER -d 172.17.0.2/32 ! -i docker0 -o docker0 -p tcp -m tcp --dport 80 -j ACCEPT\n');
    expect(out(s, 3).split('\n').filter((l) => l.includes('-d 172.17.0.2/32'))).toEqual([
      '-A POSTROUTING -s 172.17.0.2/32 -d 172.17.0.2/32 -p tcp -m tcp --dport 90 -j MASQUERADE',
      '-A POSTROUTING -s 172.17.0.2/32 -d 172.17.0.2/32 -p tcp -m tcp --dport 80 -j MASQUERADE',
    ]);
    expect(s[4].exitCode).toBe(0);
    expect(out(s, 5)).toBe('-N DOCKER\n-A DOCKER -i docker0 -j RETURN\n');
    expect(out(s, 6)).toBe('-N DOCKER\n');
    expect(out(s, 7)).not.toMatch(/172\.17\.0\.2/);
  });

  test('network connect of a bridge network that would become the gateway endpoint (its name sorts first) is refused as not modelled; one that sorts after is connected', async () => {
    const { result } = await runSim(`name: t
hosts:
  r0: {}
steps:
  - r0: docker network create appnet
  - r0: docker network create zzz
  - r0: docker run -dit --name web -p 8080:80 busybox
  - r0: docker network connect appnet web
  - r0: docker network connect zzz web
  - r0: docker port web
  - r0: docker stop web
  - r0: docker network connect appnet web
`);
    const s = result.steps;
    const refused = "cnmlab: not modelled: docker network connect appnet: a network that would take the container's published ports from bridge (libnetwork moves them to the sandbox's new gateway endpoint)\n";
    expect([s[3].exitCode, s[3].stderr]).toEqual([127, refused]);
    expect(s[4].exitCode).toBe(0);
    expect(out(s, 5)).toBe('80/tcp -> 0.0.0.0:8080\n80/tcp -> :::8080\n');
    // Stopped, the next start would put the ports on appnet all the same.
    expect([s[7].exitCode, s[7].stderr]).toEqual([127, refused]);
  });

  test("a proxy's listen on a port a socket of the host's holds is refused with Go's bind error, and the container's ports are released", async () => {
    const { result } = await runSim(TAKEN);
    const s = result.steps;
    const refusal = (i: number) => s[i].stderr.replace(/on endpoint (\w+) \([0-9a-f]{64}\)/, 'on endpoint $1 (ID)');
    expect(s[1].exitCode).toBe(125);
    expect(refusal(1)).toBe('docker: Error response from daemon: driver failed programming external connectivity on endpoint pb (ID): Error starting userland proxy: listen tcp4 0.0.0.0:8080: bind: address already in use.\n');
    expect(out(s, 2)).toMatch(/Created +pb\n/);
    // One container's own mappings meet too: 8081 on 0.0.0.0 is taken by the time 127.0.0.1:8081 listens, or the other way round.
    expect(refusal(3)).toMatch(/on endpoint pd \(ID\): Error starting userland proxy: listen tcp4 (0\.0\.0\.0|127\.0\.0\.1):8081: bind: address already in use\.\n$/);
    expect(out(s, 4)).not.toMatch(/8081/);
    expect(out(s, 5)).not.toMatch(/8081/);
    expect(refusal(7)).toMatch(/on endpoint pe \(ID\): Error starting userland proxy: listen tcp4 0\.0\.0\.0:2377: bind: address already in use\.\n$/);
    expect(refusal(8)).toMatch(/on endpoint pf \(ID\): Error starting userland proxy: listen udp4 0\.0\.0\.0:7946: bind: address already in use\.\n$/);
    expect(out(s, 10)).toBe('80/tcp -> 0.0.0.0:8082\n80/tcp -> :::8082\n');
  });

  test('publishing through docker_gwbridge (an overlay) is refused as not modelled', async () => {
    const { result } = await runSim(`name: t
hosts:
  r0: {}
steps:
  - r0: docker swarm init
  - r0: docker network create -d overlay --attachable test-net
  - r0: docker run -dit --name ov --network test-net -p 8080:80 busybox
  - r0: docker ps -a -q
`);
    const s = result.steps;
    expect(s[2].exitCode).toBe(127);
    expect(s[2].stderr).toMatch(/^cnmlab: not modelled: docker run -p on the overlay network test-net/);
    expect(s[3].stdout).toBe('');
  });
});

describeWith(['ip', 'iptables', 'ss'], true, 'docker run -p on the real kernel', () => {
  test('prints what sim prints: the real iptables holds the same rules, ss the proxies\' sockets', async () => {
    const { result } = await runSim(PUBLISH);
    const r = runEmu('docker-publish.yaml', PUBLISH);
    expect(r.stderr).toBe('');
    expect(r.steps.map((s: PrintedStep) => comparable(s))).toEqual(result.steps.map(comparable));
  }, 180000);

  test("a proxy's listen refused: the real kernel's sockets hold what sim's do", async () => {
    const { result } = await runSim(TAKEN);
    const r = runEmu('docker-publish-taken.yaml', TAKEN);
    expect(r.stderr).toBe('');
    expect(r.steps.map((s: PrintedStep) => comparable(s))).toEqual(result.steps.map(comparable));
  }, 180000);

  test('two mappings to one container port: the real iptables holds what sim holds, before and after stop', async () => {
    const { result } = await runSim(SHARED);
    const r = runEmu('docker-publish-shared.yaml', SHARED);
    expect(r.stderr).toBe('');
    expect(r.steps.map((s: PrintedStep) => comparable(s))).toEqual(result.steps.map(comparable));
  }, 180000);
});
