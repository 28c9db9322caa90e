/** Docker's output formats and every error text the model reproduces (Docker 20.10, docker-facts.md). */
import { Model } from '../sim/model/model';
import { hostOf } from '../sim/model/world';
import { shellWords } from '../sim/text/words';
import { CommandOutput } from '../sim/backend';
import { dockerStep } from '../sim/docker/session';

function swarm(): Model {
  const m = new Model([{ name: 'r0', underlay: '198.51.100.10' }, { name: 'r1', underlay: '198.51.100.11' }, { name: 'r2', underlay: '198.51.100.12' }], 7);
  m.boot();
  return m;
}

function docker(m: Model, host: string, line: string): CommandOutput {
  const o = dockerStep(m, host, shellWords(line).slice(1)).outcome;
  if ('exec' in o) throw new Error('unexpected exec');
  return o;
}

function ready(): Model {
  const m = swarm();
  docker(m, 'r0', 'docker swarm init');
  docker(m, 'r1', 'docker swarm join --token <...> 198.51.100.10:2377');
  docker(m, 'r0', 'docker network create --driver=overlay --attachable test-net');
  return m;
}

describe('docker CLI output', () => {
  test('swarm init prints the join command with a real-looking token', () => {
    const m = swarm();
    const o = docker(m, 'r0', 'docker swarm init');
    expect(o.exitCode).toBe(0);
    expect(o.stdout).toMatch(/^Swarm initialized: current node \([0-9a-z]{25}\) is now a manager\.\n\nTo add a worker to this swarm, run the following command:\n\n    docker swarm join --token SWMTKN-1-[0-9a-z]{50}-[0-9a-z]{25} 198\.51\.100\.10:2377\n\nTo add a manager to this swarm, run 'docker swarm join-token manager' and follow the instructions\.\n\n$/);
    const token = /--token (\S+)/.exec(o.stdout)![1];
    expect(docker(m, 'r0', 'docker swarm join-token -q worker').stdout).toBe(`${token}\n`);
    expect(docker(m, 'r1', `docker swarm join --token ${token} 198.51.100.10:2377`).stdout).toBe('This node joined a swarm as a worker.\n');
  });

  test('network ls: the tabwriter layout, sorted by name; a worker sees test-net only while it uses it', () => {
    const m = ready();
    const ls = docker(m, 'r0', 'docker network ls').stdout.split('\n');
    expect(ls[0]).toBe('NETWORK ID     NAME              DRIVER    SCOPE');
    expect(ls.slice(1, -1).map((l) => l.split(/\s+/).slice(1))).toEqual([
      ['bridge', 'bridge', 'local'], ['docker_gwbridge', 'bridge', 'local'], ['host', 'host', 'local'],
      ['ingress', 'overlay', 'swarm'], ['none', 'null', 'local'], ['test-net', 'overlay', 'swarm'],
    ]);
    expect(ls[1]).toMatch(/^[0-9a-f]{12}   bridge            bridge    local$/);
    expect(docker(m, 'r1', 'docker network ls').stdout).not.toContain('test-net');
    expect(docker(m, 'r1', 'docker network inspect test-net')).toEqual({ stdout: '[]\n', stderr: 'Error: No such network: test-net\n', exitCode: 1 });
    docker(m, 'r1', 'docker run -dit --name c1 --network test-net busybox');
    expect(docker(m, 'r1', 'docker network ls').stdout).toMatch(/test-net\s+overlay\s+swarm/);
    docker(m, 'r1', 'docker rm -f c1');
    expect(docker(m, 'r1', 'docker network ls').stdout).not.toContain('test-net');
    expect(docker(m, 'r0', 'docker network ls -q').stdout.trim().split('\n').every((l) => /^[0-9a-z]{12}$/.test(l))).toBe(true);
  });

  test('network ls and node ls sort names as the CLI does (sortorder.NaturalLess): numbers by value, upper case before lower case', () => {
    const m = ready();
    for (const name of ['net10', 'net9', 'Zeta', 'net09', 'alpha']) docker(m, 'r0', `docker network create -d overlay --attachable ${name}`);
    const names = docker(m, 'r0', 'docker network ls').stdout.trim().split('\n').slice(1).map((l) => l.split(/\s+/)[1]);
    expect(names).toEqual(['Zeta', 'alpha', 'bridge', 'docker_gwbridge', 'host', 'ingress', 'net9', 'net09', 'net10', 'none', 'test-net']);
    const big = new Model(['node10', 'node9', 'Node20'].map((name, i) => ({ name, underlay: `198.51.100.${10 + i}` })), 7);
    big.boot();
    docker(big, 'node10', 'docker swarm init');
    for (const h of ['node9', 'Node20']) docker(big, h, 'docker swarm join --token <...> 198.51.100.10:2377');
    expect(docker(big, 'node10', 'docker node ls').stdout.trim().split('\n').slice(1).map((l) => l.split(/\s+/).find((w) => /node/i.test(w)))).toEqual(['Node20', 'node9', 'node10']);
  });

  test('network inspect: 4-space JSON in Docker 20.10 field order, IPs in Docker order, Peers per node', () => {
    const m = ready();
    docker(m, 'r0', 'docker run -dit --name ubuntu0 --network test-net ubuntu:14.04');
    docker(m, 'r1', 'docker run -dit --name ubuntu1 --network test-net ubuntu:14.04');
    const o = docker(m, 'r0', 'docker network inspect test-net');
    expect(o.stdout.split('\n')[2]).toBe('        "Name": "test-net",');
    const [net] = JSON.parse(o.stdout);
    expect(Object.keys(net)).toEqual(['Name', 'Id', 'Created', 'Scope', 'Driver', 'EnableIPv6', 'IPAM', 'Internal', 'Attachable', 'Ingress', 'ConfigFrom', 'ConfigOnly', 'Containers', 'Options', 'Labels', 'Peers']);
    expect(net.Id).toMatch(/^[0-9a-z]{25}$/);
    expect(net.IPAM).toEqual({ Driver: 'default', Options: null, Config: [{ Subnet: '10.0.1.0/24', Gateway: '10.0.1.1' }] });
    expect(net.Options).toEqual({ 'com.docker.network.driver.overlay.vxlanid_list': '4097' });
    const containers = Object.values(net.Containers) as { Name: string; IPv4Address: string; MacAddress: string }[];
    expect(containers.map((c) => [c.Name, c.IPv4Address, c.MacAddress])).toEqual([['ubuntu0', '10.0.1.2/24', '02:42:0a:00:01:02'], ['test-net-endpoint', '10.0.1.3/24', '02:42:0a:00:01:03']]);
    expect(Object.keys(net.Containers)[1]).toBe('lb-test-net');
    expect(net.Peers).toEqual([{ Name: expect.stringMatching(/^[0-9a-f]{12}$/), IP: '198.51.100.10' }, { Name: expect.stringMatching(/^[0-9a-f]{12}$/), IP: '198.51.100.11' }]);
    const onR1 = JSON.parse(docker(m, 'r1', 'docker network inspect test-net').stdout)[0];
    expect((Object.values(onR1.Containers) as { IPv4Address: string }[]).map((c) => c.IPv4Address)).toEqual(['10.0.1.4/24', '10.0.1.5/24']);
    const ingress = JSON.parse(docker(m, 'r0', 'docker network inspect ingress').stdout)[0];
    expect(ingress.IPAM.Config).toEqual([{ Subnet: '10.0.0.0/24', Gateway: '10.0.0.1' }]);
    expect(ingress.Options['com.docker.network.driver.overlay.vxlanid_list']).toBe('4096');
    expect(ingress.Containers['ingress-sbox'].Name).toBe('ingress-endpoint');
  });

  test("a third container takes the next address after both nodes' lb endpoints (.6); one made after a removal takes the next again (.7), as swarmkit allocates serially", () => {
    const m = ready();
    docker(m, 'r0', 'docker run -dit --name ubuntu0 --network test-net busybox');
    docker(m, 'r1', 'docker run -dit --name ubuntu1 --network test-net busybox');
    docker(m, 'r0', 'docker run -dit --name ubuntu2 --network test-net busybox');
    const addresses = () => docker(m, 'r0', "docker network inspect test-net -f '{{range $k, $v := .Containers}}{{$v.Name}} {{$v.IPv4Address}} {{end}}'").stdout;
    const id = (name: string) => docker(m, 'r0', `docker inspect -f '{{.Id}}' ${name}`).stdout.trim();
    // Keyed by id, in byte order: the containers' 64-hex ids, then lb-test-net.
    const byId = (pairs: [string, string][]) => pairs.sort(([a], [b]) => (id(a) < id(b) ? -1 : 1)).map(([n, ip]) => `${n} ${ip} `).join('');
    expect(addresses()).toBe(`${byId([['ubuntu0', '10.0.1.2/24'], ['ubuntu2', '10.0.1.6/24']])}test-net-endpoint 10.0.1.3/24 \n`);
    docker(m, 'r0', 'docker rm -f ubuntu2');
    docker(m, 'r0', 'docker run -dit --name ubuntu3 --network test-net busybox');
    expect(addresses()).toBe(`${byId([['ubuntu0', '10.0.1.2/24'], ['ubuntu3', '10.0.1.7/24']])}test-net-endpoint 10.0.1.3/24 \n`);
  });

  test('inspect --format takes Go template fields, json and index', () => {
    const m = ready();
    expect(docker(m, 'r0', "docker network inspect -f '{{.Name}} {{.Driver}} {{json .IPAM.Config}}' test-net").stdout)
      .toBe('test-net overlay [{"Subnet":"10.0.1.0/24","Gateway":"10.0.1.1"}]\n');
    expect(docker(m, 'r0', `docker network inspect --format '{{index .Options "com.docker.network.driver.overlay.vxlanid_list"}}' test-net ingress`).stdout).toBe('4097\n4096\n');
    expect(docker(m, 'r0', "docker network inspect -f '{{.Nope}}' test-net")).toMatchObject({ exitCode: 1, stderr: expect.stringContaining('map has no entry for key "Nope"') });
  });

  test('a manager that has not instantiated a network shows Containers and Labels null, no Peers', () => {
    const m = ready();
    const [net] = JSON.parse(docker(m, 'r0', 'docker network inspect test-net').stdout);
    expect(net.Containers).toBeNull();
    expect(net).not.toHaveProperty('Peers');
  });

  test('run -d prints the 64-hex id; ps lists running containers', () => {
    const m = ready();
    expect(docker(m, 'r0', 'docker run -d --name web --network test-net nginx').stdout).toMatch(/^[0-9a-f]{64}\n$/);
    const ps = docker(m, 'r0', 'docker ps').stdout.split('\n');
    expect(ps[0]).toMatch(/^CONTAINER ID\s+IMAGE\s+COMMAND\s+CREATED\s+STATUS\s+PORTS\s+NAMES$/);
    // Made 2.65 s before it ran: the swarm network's attachment and join (the engine's own timing).
    expect(ps[1]).toMatch(/^[0-9a-f]{12}\s+nginx\s+"\/docker-entrypoint\.…"\s+2 seconds ago\s+Up Less than a second\s+web$/);
  });

  test('docker inspect CONTAINER shows its networks with the overlay address and MAC', () => {
    const m = ready();
    docker(m, 'r0', 'docker run -dit --name ubuntu0 --network test-net --network-alias app ubuntu:14.04');
    const [c] = JSON.parse(docker(m, 'r0', 'docker inspect ubuntu0').stdout);
    expect(c.Name).toBe('/ubuntu0');
    expect(c.NetworkSettings.Networks['test-net']).toMatchObject({ IPAddress: '10.0.1.2', IPPrefixLen: 24, MacAddress: '02:42:0a:00:01:02', Aliases: ['app', c.Id.slice(0, 12)] });
    // updateNetworkConfig appends the short id, then the hostname when it is another name; an alias asked for already is not repeated.
    docker(m, 'r0', 'docker run -dit --name named --hostname box --network test-net --network-alias box ubuntu:14.04');
    docker(m, 'r0', 'docker run -dit --name other --hostname web1 --network test-net ubuntu:14.04');
    const aliases = (name: string) => { const [x] = JSON.parse(docker(m, 'r0', `docker inspect ${name}`).stdout); return [x.Id.slice(0, 12), x.NetworkSettings.Networks['test-net'].Aliases]; };
    const [namedId, namedAliases] = aliases('named');
    expect(namedAliases).toEqual(['box', namedId]);
    const [otherId, otherAliases] = aliases('other');
    expect(otherAliases).toEqual([otherId, 'web1']);
    expect(c.NetworkSettings.SandboxKey).toMatch(/^\/var\/run\/docker\/netns\/[0-9a-f]{12}$/);
  });

  test('a --network none container has an endpoint on none with no address (the null driver plumbs nothing), listed by network inspect until it goes', () => {
    const m = ready();
    docker(m, 'r0', 'docker run -dit --name n0 --network none busybox');
    const [c] = JSON.parse(docker(m, 'r0', 'docker inspect n0').stdout);
    const ep = c.NetworkSettings.Networks.none;
    expect(ep).toMatchObject({ EndpointID: expect.stringMatching(/^[0-9a-f]{64}$/), IPAddress: '', MacAddress: '', Gateway: '', Aliases: null });
    expect(JSON.parse(docker(m, 'r0', "docker network inspect -f '{{json .Containers}}' none").stdout)).toEqual({
      [c.Id]: { Name: 'n0', EndpointID: ep.EndpointID, MacAddress: '', IPv4Address: '', IPv6Address: '' },
    });
    docker(m, 'r0', 'docker rm -f n0');
    expect(docker(m, 'r0', "docker network inspect -f '{{json .Containers}}' none").stdout).toBe('{}\n');
  });
});

describe('docker CLI errors (texts and exit codes of Docker 20.10)', () => {
  const cases: [string, (m: Model) => CommandOutput, Partial<CommandOutput>][] = [
    ['network name already exists', (m) => docker(m, 'r0', 'docker network create -d overlay --attachable test-net'), { exitCode: 1, stderr: 'Error response from daemon: network with name test-net already exists\n' }],
    ['overlay outside swarm', (m) => docker(m, 'r2', 'docker network create -d overlay x'), { exitCode: 1, stderr: 'Error response from daemon: This node is not a swarm manager. Use "docker swarm init" or "docker swarm join" to connect this node to swarm and try again.\n' }],
    ['overlay on a worker', (m) => docker(m, 'r1', 'docker network create -d overlay x'), { exitCode: 1, stderr: 'Error response from daemon: Cannot create a multi-host network from a worker node. Please create the network from a manager node.\n' }],
    ['network rm on a worker', (m) => {
      docker(m, 'r1', 'docker run -dit --name c1 --network test-net busybox');
      return docker(m, 'r1', 'docker network rm test-net');
    }, { exitCode: 1, stderr: "Error response from daemon: This node is not a swarm manager. Worker nodes can't be used to view or modify cluster state. Please run this command on a manager node or promote the current node to a manager.\n" }],
    ['not manually attachable (run)', (m) => {
      docker(m, 'r0', 'docker network create -d overlay noattach-net');
      return docker(m, 'r0', 'docker run -dit --name c1 --network noattach-net busybox');
    }, { exitCode: 125, stderr: 'docker: Error response from daemon: Could not attach to network noattach-net: rpc error: code = PermissionDenied desc = network noattach-net not manually attachable.\n' }],
    ['not manually attachable (connect)', (m) => {
      docker(m, 'r0', 'docker network create -d overlay noattach-net');
      docker(m, 'r0', 'docker run -dit --name c1 busybox');
      return docker(m, 'r0', 'docker network connect noattach-net c1');
    }, { exitCode: 1, stderr: 'Error response from daemon: Could not attach to network noattach-net: rpc error: code = PermissionDenied desc = network noattach-net not manually attachable\n' }],
    ['name conflict', (m) => {
      docker(m, 'r0', 'docker run -dit --name ubuntu0 busybox');
      return docker(m, 'r0', 'docker run -dit --name ubuntu0 busybox');
    }, { exitCode: 125, stderr: expect.stringMatching(/^docker: Error response from daemon: Conflict\. The container name "\/ubuntu0" is already in use by container "[0-9a-f]{64}"\. You have to remove \(or rename\) that container to be able to reuse that name\.\nSee 'docker run --help'\.\n$/) }],
    ['no such network (swarm): the id is still printed', (m) => docker(m, 'r0', 'docker run -dit --name c1 --network nosuchnet busybox'),
      { exitCode: 125, stdout: expect.stringMatching(/^[0-9a-f]{64}\n$/), stderr: 'docker: Error response from daemon: Could not attach to network nosuchnet: rpc error: code = NotFound desc = network nosuchnet not found.\n' }],
    ['no such network (outside swarm)', (m) => docker(m, 'r2', 'docker run -dit --name c1 --network nosuchnet busybox'), { exitCode: 125, stderr: 'docker: Error response from daemon: network nosuchnet not found.\n' }],
    ['invalid subnet', (m) => docker(m, 'r0', 'docker network create -d overlay --subnet 10.0.0.0/33 x'), { exitCode: 1, stderr: 'Error response from daemon: Invalid subnet 10.0.0.0/33 : invalid CIDR address: 10.0.0.0/33\n' }],
    ['gateway outside subnet', (m) => docker(m, 'r0', 'docker network create -d overlay --subnet 10.0.9.0/24 --gateway 10.0.10.1 x'), { exitCode: 1, stderr: 'no matching subnet for gateway 10.0.10.1\n' }],
    ['in use by task', (m) => {
      docker(m, 'r1', 'docker run -dit --name c1 --network test-net busybox');
      return docker(m, 'r0', 'docker network rm test-net');
    }, { exitCode: 1, stderr: expect.stringMatching(/^Error response from daemon: rpc error: code = FailedPrecondition desc = network [0-9a-z]{25} is in use by task [0-9a-z]{25}\n$/) }],
    ['leave without --force on a manager', (m) => docker(m, 'r0', 'docker swarm leave'), { exitCode: 1, stderr: 'Error response from daemon: You are attempting to leave the swarm on a node that is participating as a manager. Removing the last manager erases all current state of the swarm. Use `--force` to ignore this message.\n' }],
    // moby's managerStats over the leader's list: two reachable managers lose quorum, three keep it.
    ['leave without --force on one of two managers: the quorum text', (m) => {
      const token = docker(m, 'r0', 'docker swarm join-token -q manager').stdout.trim();
      docker(m, 'r2', `docker swarm join --token ${token} 198.51.100.10:2377`);
      return docker(m, 'r2', 'docker swarm leave');
    }, { exitCode: 1, stderr: 'Error response from daemon: You are attempting to leave the swarm on a node that is participating as a manager. Removing this node leaves 1 managers out of 2. Without a Raft quorum your swarm will be inaccessible. The only way to restore a swarm that has lost consensus is to reinitialize it with `--force-new-cluster`. Use `--force` to suppress this message.\n' }],
    ['leave without --force on one of three managers: quorum kept', (m) => {
      const token = docker(m, 'r0', 'docker swarm join-token -q manager').stdout.trim();
      docker(m, 'r1', 'docker swarm leave');
      for (const h of ['r1', 'r2']) docker(m, h, `docker swarm join --token ${token} 198.51.100.10:2377`);
      return docker(m, 'r0', 'docker swarm leave');
    }, { exitCode: 1, stderr: 'Error response from daemon: You are attempting to leave the swarm on a node that is participating as a manager. The only way to restore a swarm that has lost consensus is to reinitialize it with `--force-new-cluster`. Use `--force` to suppress this message.\n' }],
    ['already part of a swarm', (m) => docker(m, 'r1', 'docker swarm join --token <...> 198.51.100.10:2377'), { exitCode: 1, stderr: 'Error response from daemon: This node is already part of a swarm. Use "docker swarm leave" to leave this swarm and join another one.\n' }],
    ['init on a manager: already part of a swarm', (m) => docker(m, 'r0', 'docker swarm init'), { exitCode: 1, stderr: 'Error response from daemon: This node is already part of a swarm. Use "docker swarm leave" to leave this swarm and join another one.\n' }],
    // The engine would make a second swarm there, which the model has no room for: said so, never Docker's words.
    ['the last manager leaving its workers: not modelled', (m) => docker(m, 'r0', 'docker swarm leave --force'),
      { exitCode: 127, stdout: '', stderr: 'cnmlab: not modelled: docker swarm leave --force on r0, the last manager, with r1 still in the swarm (they stay in a swarm no manager runs)\n' }],
    ['init outside the swarm: not modelled', (m) => docker(m, 'r2', 'docker swarm init'), { exitCode: 127, stdout: '', stderr: 'cnmlab: not modelled: docker swarm init on r2, outside the swarm of r0, r1: a second swarm (cnmlab models one)\n' }],
    ['already attached', (m) => {
      docker(m, 'r0', 'docker run -dit --name ubuntu0 --network test-net busybox');
      return docker(m, 'r0', 'docker network connect test-net ubuntu0');
    }, { exitCode: 1, stderr: 'Error response from daemon: ubuntu0 is already attached to network test-net\n' }],
    ['no such container', (m) => docker(m, 'r0', 'docker rm nosuchcontainer'), { exitCode: 1, stderr: 'Error: No such container: nosuchcontainer\n' }],
    ['no such network', (m) => docker(m, 'r0', 'docker network rm nosuchnet'), { exitCode: 1, stderr: 'Error: No such network: nosuchnet\n' }],
    ['another cluster\'s join token: its CA digest is not this manager\'s', (m) => docker(m, 'r2', `docker swarm join --token SWMTKN-1-${'1'.repeat(50)}-${'b'.repeat(25)} 198.51.100.10:2377`),
      // 50 base-36 ones are the number sum(36^i, i<50), which swarmkit prints in hex.
      { exitCode: 1, stderr: `Error response from daemon: remote CA does not match fingerprint. Expected: ${Array.from({ length: 50 }, (_, i) => 36n ** BigInt(i)).reduce((a, b) => a + b).toString(16).padStart(64, '0')}\n` }],
    ['this cluster\'s CA with a wrong secret', (m) => {
      const token = docker(m, 'r0', 'docker swarm join-token -q worker').stdout.trim();
      return docker(m, 'r2', `docker swarm join --token ${token.slice(0, -25)}${'b'.repeat(25)} 198.51.100.10:2377`);
    }, { exitCode: 1, stderr: 'Error response from daemon: rpc error: code = InvalidArgument desc = A valid join token is necessary to join this cluster\n' }],
    ['no join token: the CA server refuses the empty one', (m) => docker(m, 'r2', 'docker swarm join 198.51.100.10:2377'),
      { exitCode: 1, stderr: 'Error response from daemon: rpc error: code = InvalidArgument desc = A valid join token is necessary to join this cluster\n' }],
    // docker/cli's ExactArgs(1) (cli/required.go), before the daemon is asked: with a token and no address too.
    ['join with no manager address: the CLI\'s usage error', (m) => docker(m, 'r2', 'docker swarm join'),
      { exitCode: 1, stdout: '', stderr: '"docker swarm join" requires exactly 1 argument.\nSee \'docker swarm join --help\'.\n\nUsage:  docker swarm join [OPTIONS] HOST:PORT\n\nJoin a swarm as a node and/or manager\n' }],
    ['join with a token and no manager address', (m) => docker(m, 'r2', 'docker swarm join --token <...>'),
      { exitCode: 1, stderr: expect.stringMatching(/^"docker swarm join" requires exactly 1 argument\.\n/) }],
    ['malformed join token', (m) => docker(m, 'r2', 'docker swarm join --token nonsense 198.51.100.10:2377'), { exitCode: 1, stderr: 'Error response from daemon: invalid join token\n' }],
    ['predefined network', (m) => docker(m, 'r0', 'docker network rm bridge'), { exitCode: 1, stderr: 'Error response from daemon: bridge is a pre-defined network and cannot be removed\n' }],
    ['running container without -f', (m) => {
      docker(m, 'r0', 'docker run -dit --name c1 busybox');
      return docker(m, 'r0', 'docker rm c1');
    }, { exitCode: 1, stderr: expect.stringMatching(/^Error response from daemon: You cannot remove a running container [0-9a-f]{64}\. Stop the container before attempting removal or force remove\n$/) }],
    ['unknown command', (m) => docker(m, 'r0', 'docker frobnicate'), { exitCode: 1, stderr: "docker: 'frobnicate' is not a docker command.\nSee 'docker --help'\n" }],
    ['unknown flag', (m) => docker(m, 'r0', 'docker run --frob x busybox'), { exitCode: 125, stderr: "unknown flag: --frob\nSee 'docker run --help'.\n" }],
    // moby v20.10 updateNetworkSettings: host shares with nothing, none stays alone.
    ['connect to host: only a container started there has it', (m) => {
      docker(m, 'r0', 'docker run -dit --name c1 busybox');
      return docker(m, 'r0', 'docker network connect host c1');
    }, { exitCode: 1, stderr: 'Error response from daemon: container cannot be disconnected from host network or connected to host network\n' }],
    // A container run with --network host shares the host's namespace: it joins nothing else, and keeps host while it runs (updateNetworkSettings, DisconnectFromNetwork).
    ['--network host, then connect to another network', (m) => {
      docker(m, 'r0', 'docker run -dit --name c1 --network host busybox');
      return docker(m, 'r0', 'docker network connect bridge c1');
    }, { exitCode: 1, stderr: 'Error response from daemon: container sharing network namespace with another container or host cannot be connected to any other network\n' }],
    ['--net=host, then disconnect from host while running', (m) => {
      docker(m, 'r0', 'docker run -dit --name c1 --net=host busybox');
      return docker(m, 'r0', 'docker network disconnect host c1');
    }, { exitCode: 1, stderr: 'Error response from daemon: container cannot be disconnected from host network or connected to host network\n' }],
    // The daemon decodes the create request first (validateNetContainerMode): nothing is created.
    ['--mac-address with --network host', (m) => docker(m, 'r0', 'docker run -dit --network host --mac-address 02:42:ac:11:00:09 busybox'),
      { exitCode: 125, stdout: '', stderr: "docker: Error response from daemon: conflicting options: mac-address and the network mode.\nSee 'docker run --help'.\n" }],
    ["--mac-address not a MAC: docker/cli's own check (ValidateMACAddress) comes first", (m) => docker(m, 'r0', 'docker run -dit --network host --mac-address 02:42:ac:11:00 busybox'),
      { exitCode: 125, stdout: '', stderr: "docker: 02:42:ac:11:00 is not a valid mac address.\nSee 'docker run --help'.\n" }],
    ['--mac-address elsewhere: not modelled', (m) => docker(m, 'r0', 'docker run -dit --mac-address 02-42-AC-11-00-09 busybox'),
      { exitCode: 127, stdout: '', stderr: "cnmlab: not modelled: docker run --mac-address 02-42-AC-11-00-09: a container MAC address of the user's choosing\n" }],
    // By its id the network mode is no IsHost(): the start's updateNetworkSettings refuses the host network.
    ['--network with the host network\'s id: refused at start', (m) => {
      const id = docker(m, 'r0', 'docker network inspect -f {{.Id}} host').stdout.trim();
      return docker(m, 'r0', `docker run -dit --name c1 --network ${id.slice(0, 12)} busybox`);
    }, { exitCode: 125, stdout: expect.stringMatching(/^[0-9a-f]{64}\n$/), stderr: 'docker: Error response from daemon: container cannot be disconnected from host network or connected to host network.\n' }],
    ['none beside another network', (m) => {
      docker(m, 'r0', 'docker run -dit --name c1 --network none busybox');
      return docker(m, 'r0', 'docker network connect bridge c1');
    }, { exitCode: 1, stderr: 'Error response from daemon: container cannot be connected to multiple networks with one of the networks in private (none) mode\n' }],
    ['another network beside none', (m) => {
      docker(m, 'r0', 'docker run -dit --name c1 busybox');
      return docker(m, 'r0', 'docker network connect none c1');
    }, { exitCode: 1, stderr: 'Error response from daemon: container cannot be connected to multiple networks with one of the networks in private (none) mode\n' }],
    ["--network container:NAME: not modelled (the engine shares that container's namespace)", (m) => {
      docker(m, 'r0', 'docker run -dit --name c1 busybox');
      return docker(m, 'r0', 'docker run -dit --name c2 --network container:c1 busybox');
    }, { exitCode: 127, stdout: '', stderr: "cnmlab: not modelled: docker run --network container:c1: a container sharing another's network namespace\n" }],
    ["--network container:NAME with an alias: docker/cli's own refusal (parseNetworkAttachmentOpt), before anything not modelled", (m) => {
      docker(m, 'r0', 'docker run -dit --name c1 busybox');
      return docker(m, 'r0', 'docker run -dit --name c2 --network container:c1 --network-alias a busybox');
    }, { exitCode: 125, stdout: '', stderr: "docker: network-scoped aliases are only supported for user-defined networks.\nSee 'docker run --help'.\n" }],
    ['create a network of a predefined name (PredefinedNetworkError, its trailing space too)', (m) => docker(m, 'r0', 'docker network create -d overlay bridge'),
      { exitCode: 1, stderr: 'Error response from daemon: operation is not permitted on predefined bridge network \n' }],
    ['create a network named default', (m) => docker(m, 'r0', 'docker network create default'), { exitCode: 1, stderr: 'Error response from daemon: operation is not permitted on predefined default network \n' }],
    // DisconnectFromNetwork: a stopped container's settings in one branch's words, a running one's endpoint in libnetwork's, by the network's name.
    ['disconnect a running container from a network it is not on (given by id)', (m) => {
      docker(m, 'r0', 'docker run -dit --name c1 busybox');
      const net = docker(m, 'r0', 'docker network create n1').stdout.trim();
      return docker(m, 'r0', `docker network disconnect ${net.slice(0, 12)} c1`);
    }, { exitCode: 1, stderr: expect.stringMatching(/^Error response from daemon: container [0-9a-f]{64} is not connected to network n1\n$/) }],
    ['disconnect a stopped container from a network it is not on, or one that does not exist', (m) => {
      docker(m, 'r0', 'docker run -dit --name c1 busybox');
      docker(m, 'r0', 'docker stop c1');
      docker(m, 'r0', 'docker network create n1');
      const two = [docker(m, 'r0', 'docker network disconnect n1 c1'), docker(m, 'r0', 'docker network disconnect nosuchnet c1')];
      return { stdout: '', exitCode: two[0].exitCode + two[1].exitCode, stderr: two[0].stderr + two[1].stderr };
    }, { exitCode: 2, stderr: expect.stringMatching(/^Error response from daemon: container [0-9a-f]{64} is not connected to the network n1\nError response from daemon: container [0-9a-f]{64} is not connected to the network nosuchnet\n$/) }],
    ['network rm has no -f in 20.10', (m) => docker(m, 'r0', 'docker network rm -f test-net'), { exitCode: 125, stderr: "unknown shorthand flag: 'f' in -f\nSee 'docker network rm --help'.\n" }],
    ['unknown shorthand flag', (m) => docker(m, 'r0', 'docker network ls -z'), { exitCode: 125, stderr: "unknown shorthand flag: 'z' in -z\nSee 'docker network ls --help'.\n" }],
    ['missing argument', (m) => docker(m, 'r0', 'docker network create'), { exitCode: 1, stderr: '"docker network create" requires exactly 1 argument.\nSee \'docker network create --help\'.\n\nUsage:  docker network create [OPTIONS] NETWORK\n\nCreate a network\n' }],
    ['exec in a stopped container', (m) => {
      docker(m, 'r0', 'docker run -dit --name c1 busybox');
      docker(m, 'r0', 'docker stop c1');
      return docker(m, 'r0', 'docker exec c1 ping x');
    }, { exitCode: 1, stderr: expect.stringMatching(/^Error response from daemon: Container [0-9a-f]{64} is not running\n$/) }],
  ];
  test.each(cases)('%s', (_name, run, expected) => {
    expect(run(ready())).toMatchObject(expected);
  });

  test('overlapping --subnet is accepted; the network has no driver and run fails later', () => {
    const m = ready();
    const o = docker(m, 'r0', 'docker network create -d overlay --attachable --subnet 10.0.1.128/25 overlap');
    expect(o).toMatchObject({ exitCode: 0, stdout: expect.stringMatching(/^[0-9a-z]{25}\n$/) });
    expect(docker(m, 'r0', 'docker network ls').stdout).toMatch(/overlap\s{3,}swarm/);
    const [net] = JSON.parse(docker(m, 'r0', 'docker network inspect overlap').stdout);
    expect(net.Driver).toBe('');
    expect(net.IPAM.Config).toBeNull();
    expect(docker(m, 'r0', 'docker run -dit --name c1 --network overlap busybox')).toMatchObject({ exitCode: 125, stderr: 'docker: Error response from daemon: attaching to network failed, make sure your network options are correct and check manager logs: context deadline exceeded.\n' });
  });

  test('the host network is a container\'s by its HostConfig.NetworkMode: one run elsewhere is refused it even with no network left', () => {
    const m = ready();
    docker(m, 'r0', 'docker run -dit --name c2 busybox');
    expect(docker(m, 'r0', 'docker stop c2').exitCode).toBe(0);
    expect(docker(m, 'r0', 'docker network disconnect bridge c2')).toMatchObject({ exitCode: 0, stderr: '' });
    expect(docker(m, 'r0', 'docker network connect host c2')).toMatchObject({ exitCode: 1, stderr: 'Error response from daemon: container cannot be disconnected from host network or connected to host network\n' });
  });

  test("a command the image lacks: runc's refusal as the task is created (exit 127, docker/cli's runStartContainerErr), -d having printed the id; the container stays Created with exit code 127, and a start is refused again", () => {
    const m = ready();
    const notFound = (program: string) => `docker: Error response from daemon: failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: exec: "${program}": executable file not found in $PATH: unknown.\n`;
    expect(docker(m, 'r0', 'docker run -d --name m0 busybox bash')).toMatchObject({ exitCode: 127, stdout: expect.stringMatching(/^[0-9a-f]{64}\n$/), stderr: notFound('bash') });
    expect(docker(m, 'r0', 'docker run ubuntu missing-cmd')).toMatchObject({ exitCode: 127, stdout: '', stderr: notFound('missing-cmd') });
    // runc starts the program itself: a shell's builtin is no program, attached or not.
    expect(docker(m, 'r0', 'docker run ubuntu cd /')).toMatchObject({ exitCode: 127, stdout: '', stderr: notFound('cd') });
    expect(docker(m, 'r0', 'docker run -d ubuntu cd /')).toMatchObject({ exitCode: 127, stdout: expect.stringMatching(/^[0-9a-f]{64}\n$/), stderr: notFound('cd') });
    expect(docker(m, 'r0', 'docker ps -a').stdout).toMatch(/"bash" .* ago +Created +m0\n/);
    expect(docker(m, 'r0', "docker inspect -f '{{.State.Status}} {{.State.ExitCode}} {{.State.Error}}' m0").stdout).toBe(`created 127 ${notFound('bash').slice('docker: Error response from daemon: '.length, -2)}\n`);
    expect(docker(m, 'r0', 'docker start m0')).toMatchObject({ exitCode: 1, stderr: `Error response from daemon: ${notFound('bash').slice('docker: Error response from daemon: '.length, -2)}\nError: failed to start containers: m0\n` });
  });

  test("an attached run's program is looked up once, by the CLI: the outcome carries the registry's entry to the run", () => {
    const m = ready();
    const o = dockerStep(m, 'r0', shellWords('docker run --name m3 busybox ip addr').slice(1)).outcome;
    expect(o).toMatchObject({ exec: { argv: ['ip', 'addr'], main: 'attached', taken: { modelled: true, entry: { program: 'ip' } } } });
    if (!('exec' in o) || !o.exec.main) throw new Error('expected the main process');
    expect(o.exec.taken.answer).toBeUndefined();
  });

  test('a start refused to a --rm container: the daemon\'s start-failure cleanup removes it (moby v20.10 daemon/start.go), -d having printed its id; without --rm it stays Created', () => {
    const m = ready();
    const names = () => docker(m, 'r0', 'docker ps -a').stdout.split('\n').slice(1, -1).map((row) => row.split(' ').pop());
    expect(docker(m, 'r0', 'docker run --rm --name m1 busybox bash')).toMatchObject({ exitCode: 127, stdout: '' });
    expect(docker(m, 'r0', 'docker run -d --rm --name m2 busybox bash')).toMatchObject({ exitCode: 127, stdout: expect.stringMatching(/^[0-9a-f]{64}\n$/) });
    expect(docker(m, 'r0', 'docker run -d --rm --name m3 --network bridge --ip 172.17.0.9 busybox')).toMatchObject({
      exitCode: 125, stdout: expect.stringMatching(/^[0-9a-f]{64}\n$/), stderr: 'docker: Error response from daemon: user specified IP address is supported on user defined networks only.\n',
    });
    expect(docker(m, 'r0', 'docker run -d --rm --name m4 --network nosuchnet busybox').exitCode).toBe(125);
    expect(names()).toEqual([]);
    // The name is free again.
    expect(docker(m, 'r0', 'docker run -d --name m1 busybox bash').exitCode).toBe(127);
    expect(names()).toEqual(['m1']);
  });

  test("a start refused once the sandbox was made (the network's pool has no address left) releases the sandbox (daemon.Cleanup); the container stays Created, or goes with --rm", () => {
    const m = ready();
    docker(m, 'r0', 'docker network create --subnet 10.9.0.0/30 small');
    expect(docker(m, 'r0', 'docker run -dit --name full0 --network small busybox').exitCode).toBe(0);
    const namespaces = () => hostOf(m.world, 'r0').namespaces;
    const before = namespaces();
    const out = docker(m, 'r0', 'docker run -d --name full1 --network small busybox');
    expect(out).toMatchObject({ exitCode: 125, stdout: expect.stringMatching(/^[0-9a-f]{64}\n$/) });
    expect(out.stderr).toMatch(/^docker: Error response from daemon: no available IPv4 addresses on this network's address pools: small \([0-9a-f]{64}\)\.\n$/);
    expect(namespaces()).toEqual(before);
    expect(docker(m, 'r0', "docker inspect -f '{{.State.Status}}' full1").stdout).toBe('created\n');
    expect(docker(m, 'r0', 'docker run -d --rm --name full2 --network small busybox').exitCode).toBe(125);
    expect(namespaces()).toEqual(before);
    expect(docker(m, 'r0', 'docker ps -a --format "{{.Names}}"').stdout.split('\n')).not.toContain('full2');
  });

  test('a refused command changes nothing', () => {
    const m = ready();
    const before = m.world;
    docker(m, 'r0', 'docker network create -d overlay --attachable test-net');
    expect(JSON.stringify(m.world)).toBe(JSON.stringify(before));
  });
});
