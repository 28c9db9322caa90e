/** The tutorial's docker commands beyond run/network: start, the `container` forms, node ls, network ls --filter, --help. */
import { Model } from '../sim/model/model';
import { shellWords } from '../sim/text/words';
import { dockerStep } from '../sim/docker/session';
import { CommandOutput } from '../sim/backend';
import { runSim, twoNodes } from './helpers/run';
import { notModelled } from '../sim/commands/registry';

function docker(m: Model, host: string, line: string): CommandOutput {
  const o = dockerStep(m, host, shellWords(line).slice(1)).outcome;
  if ('exec' in o) throw new Error('unexpected exec');
  return o;
}

function ready(): Model {
  const m = new Model([{ name: 'r0', underlay: '198.51.100.10' }, { name: 'r1', underlay: '198.51.100.11' }], 7);
  m.boot();
  docker(m, 'r0', 'docker swarm init');
  docker(m, 'r1', 'docker swarm join --token <...> 198.51.100.10:2377');
  docker(m, 'r0', 'docker network create --driver=overlay --attachable test-net');
  return m;
}

describe('docker container stop|rm|start|ls and docker start', () => {
  test('stop, start again (the endpoint comes back), ls shows the states, rm removes', () => {
    const m = ready();
    const id = docker(m, 'r0', 'docker run -dit --name ubuntu0 --network test-net ubuntu:14.04').stdout.trim();
    expect(docker(m, 'r0', 'docker container stop ubuntu0')).toEqual({ stdout: 'ubuntu0\n', stderr: '', exitCode: 0 });
    expect(docker(m, 'r0', 'docker container ls').stdout).not.toContain('ubuntu0');
    // The image's bash as PID 1 ignores SIGTERM: the stop kills it after its timeout.
    expect(docker(m, 'r0', 'docker container ls -a').stdout).toMatch(/Exited \(137\).*ubuntu0/);
    expect(docker(m, 'r0', 'docker container start ubuntu0')).toEqual({ stdout: 'ubuntu0\n', stderr: '', exitCode: 0 });
    expect(docker(m, 'r0', 'docker container list -q').stdout).toBe(`${id.slice(0, 12)}\n`);
    const [net] = JSON.parse(docker(m, 'r0', 'docker network inspect test-net').stdout);
    expect(Object.keys(net.Containers)).toContain(id);
    expect(docker(m, 'r0', 'docker start ubuntu0')).toEqual({ stdout: 'ubuntu0\n', stderr: '', exitCode: 0 });
    expect(docker(m, 'r0', 'docker container rm -f ubuntu0')).toEqual({ stdout: 'ubuntu0\n', stderr: '', exitCode: 0 });
    expect(docker(m, 'r0', 'docker container ps -a').stdout.split('\n').length).toBe(2);
  });

  test('start names each failure, then all of them', () => {
    const m = ready();
    docker(m, 'r0', 'docker run -dit --name c1 busybox');
    expect(docker(m, 'r0', 'docker start nope c1 gone')).toEqual({
      stdout: 'c1\n', exitCode: 1,
      stderr: 'Error response from daemon: No such container: nope\nError response from daemon: No such container: gone\nError: failed to start containers: nope, gone\n',
    });
  });
});

describe('docker node ls', () => {
  test('the manager lists the nodes as 20.10 does; the worker and a node outside a swarm are refused', () => {
    const m = ready();
    const ls = docker(m, 'r0', 'docker node ls');
    const lines = ls.stdout.split('\n');
    expect(lines[0]).toBe('ID                            HOSTNAME   STATUS    AVAILABILITY   MANAGER STATUS   ENGINE VERSION');
    expect(lines[1]).toMatch(/^[0-9a-z]{25} \*   r0         Ready     Active         Leader           20\.10\.24\+dfsg1$/);
    expect(lines[2]).toMatch(/^[0-9a-z]{25}     r1         Ready     Active                          20\.10\.24\+dfsg1$/);
    expect(lines.length).toBe(4);
    expect(docker(m, 'r0', 'docker node ls -q').stdout).toMatch(/^[0-9a-z]{25}\n[0-9a-z]{25}\n$/);
    expect(docker(m, 'r1', 'docker node ls')).toEqual({ stdout: '', exitCode: 1, stderr: "Error response from daemon: This node is not a swarm manager. Worker nodes can't be used to view or modify cluster state. Please run this command on a manager node or promote the current node to a manager.\n" });
    const lone = new Model([{ name: 'r0', underlay: '198.51.100.10' }], 7);
    lone.boot();
    expect(docker(lone, 'r0', 'docker node ls').stderr).toBe('Error response from daemon: This node is not a swarm manager. Use "docker swarm init" or "docker swarm join" to connect this node to swarm and try again.\n');
  });
});

describe('a worker that left: node ls and node rm on the manager', () => {
  const row = (ls: CommandOutput, id: string) => ls.stdout.split('\n').find((l) => l.startsWith(`${id} `));
  test('listed Ready, then Down after the heartbeat grace, Active still; node rm refuses it until then, removes it after', () => {
    const m = ready();
    const id = docker(m, 'r1', 'docker info').stdout.match(/NodeID: (\S+)/)![1];
    expect(docker(m, 'r1', 'docker swarm leave')).toMatchObject({ exitCode: 0, stdout: 'Node left the swarm.\n' });
    // The leave tells the manager nothing: until its heartbeats have stopped for the grace, the node is Ready.
    m.gossipTimers(1e9);
    expect(row(docker(m, 'r0', 'docker node ls'), id)).toBe(`${id}     r1         Ready     Active                          20.10.24+dfsg1`);
    expect(docker(m, 'r0', 'docker node rm r1')).toEqual({ stdout: '', exitCode: 1, stderr: `Error response from daemon: rpc error: code = FailedPrecondition desc = node ${id} is not down and can't be removed\n` });
    m.gossipTimers(1e9 + 16.5e9);
    const ls = docker(m, 'r0', 'docker node ls');
    expect(row(ls, id)).toBe(`${id}     r1         Down      Active                          20.10.24+dfsg1`);
    expect(ls.stdout.split('\n')).toHaveLength(4);
    expect(docker(m, 'r0', 'docker info').stdout).toContain('  Managers: 1\n  Nodes: 2\n');
    expect(docker(m, 'r0', `docker node rm nope ${id.slice(0, 5)}`)).toEqual({ stdout: `${id.slice(0, 5)}\n`, exitCode: 1, stderr: 'Error response from daemon: node nope not found\n' });
    expect(docker(m, 'r0', 'docker node ls').stdout.split('\n')).toHaveLength(3);
    expect(docker(m, 'r0', 'docker node rm r1').stderr).toBe('Error response from daemon: node r1 not found\n');
  });

  test('left and joined again: two nodes of one name (by id), node rm by that name is ambiguous, by id removes the one that left; the manager and a live node are refused', () => {
    const m = ready();
    const old = docker(m, 'r1', 'docker info').stdout.match(/NodeID: (\S+)/)![1];
    docker(m, 'r1', 'docker swarm leave');
    m.gossipTimers(1e9);
    m.gossipTimers(20e9);
    docker(m, 'r1', 'docker swarm join --token <...> 198.51.100.10:2377');
    const fresh = docker(m, 'r1', 'docker info').stdout.match(/NodeID: (\S+)/)![1];
    const manager = docker(m, 'r0', 'docker info').stdout.match(/NodeID: (\S+)/)![1];
    const r1Rows = docker(m, 'r0', 'docker node ls').stdout.split('\n').filter((l) => / r1 /.test(l));
    expect(r1Rows.map((l) => l.slice(0, 25))).toEqual([old, fresh].sort());
    expect(r1Rows.map((l) => l.split(/\s+/)[2])).toEqual([old, fresh].sort().map((id) => (id === old ? 'Down' : 'Ready')));
    expect(docker(m, 'r0', 'docker node ls -q').stdout.trim().split('\n')).toEqual([manager, ...[old, fresh].sort()]);
    expect(docker(m, 'r0', 'docker node rm r1').stderr).toBe('Error response from daemon: node r1 is ambiguous (2 matches found)\n');
    expect(docker(m, 'r0', `docker node rm ${fresh}`).stderr).toBe(`Error response from daemon: rpc error: code = FailedPrecondition desc = node ${fresh} is not down and can't be removed\n`);
    expect(docker(m, 'r0', 'docker node rm r0').stderr).toBe(`Error response from daemon: rpc error: code = FailedPrecondition desc = node ${manager} is a cluster manager and is a member of the raft cluster. It must be demoted to worker before removal\n`);
    expect(docker(m, 'r0', `docker node rm -f ${fresh}`)).toMatchObject({ exitCode: 127, stderr: `cnmlab: not modelled: docker node rm ${fresh}: a node still in the swarm (its daemon would find itself removed when it next reaches the manager)\n` });
    expect(docker(m, 'r0', `docker node remove ${old}`)).toEqual({ stdout: `${old}\n`, stderr: '', exitCode: 0 });
    expect(docker(m, 'r1', `docker node rm ${old}`).stderr).toMatch(/^Error response from daemon: This node is not a swarm manager\. Worker nodes can't/);
    expect(docker(m, 'r0', 'docker node rm')).toMatchObject({ exitCode: 1, stderr: '"docker node rm" requires at least 1 argument.\nSee \'docker node rm --help\'.\n\nUsage:  docker node rm [OPTIONS] NODE [NODE...]\n\nRemove one or more nodes from the swarm\n' });
  });
});

test("a manager's forced leave while other managers remain is not modelled (raft keeps it a member until demoted): refused before anything changes", () => {
  const managers = new Model([{ name: 'r0', underlay: '198.51.100.10' }, { name: 'r1', underlay: '198.51.100.11' }], 7);
  managers.boot();
  docker(managers, 'r0', 'docker swarm init');
  const managerToken = docker(managers, 'r0', 'docker swarm join-token -q manager').stdout.trim();
  expect(docker(managers, 'r1', `docker swarm join --token ${managerToken} 198.51.100.10:2377`).stdout).toBe('This node joined a swarm as a manager.\n');
  const before = managers.world;
  expect(docker(managers, 'r1', 'docker swarm leave --force')).toEqual(notModelled('docker swarm leave --force on a manager of a swarm with other managers (raft keeps it a member, Down and Unreachable, until it is demoted)'));
  expect(managers.world.swarm).toBe(before.swarm);
});

describe('docker network ls --filter', () => {
  const names = (o: CommandOutput) => o.stdout.trim().split('\n').slice(1).map((l) => l.split(/\s+/)[1]);
  test('driver, name (a regular expression), scope, type, dangling; keys AND, values OR', () => {
    const m = ready();
    expect(names(docker(m, 'r0', 'docker network ls --filter driver=overlay'))).toEqual(['ingress', 'test-net']);
    expect(names(docker(m, 'r0', 'docker network ls -f name=^t'))).toEqual(['test-net']);
    expect(names(docker(m, 'r0', 'docker network ls -f name=net -f name=host'))).toEqual(['host', 'test-net']);
    expect(names(docker(m, 'r0', 'docker network ls -f scope=local -f driver=bridge'))).toEqual(['bridge', 'docker_gwbridge']);
    expect(names(docker(m, 'r0', 'docker network ls -f type=builtin'))).toEqual(['bridge', 'host', 'none']);
    expect(names(docker(m, 'r0', 'docker network ls -f type=custom -f driver=overlay'))).toEqual(['ingress', 'test-net']);
    expect(names(docker(m, 'r0', 'docker network ls -f dangling=true'))).toContain('test-net');
    docker(m, 'r0', 'docker run -dit --name c1 --network test-net busybox');
    expect(names(docker(m, 'r0', 'docker network ls -f dangling=true'))).not.toContain('test-net');
  });

  test('a value without = is the CLI\'s error, an unknown key the daemon\'s', () => {
    const m = ready();
    expect(docker(m, 'r0', 'docker network ls --filter overlay')).toEqual({ stdout: '', exitCode: 125, stderr: 'invalid argument "overlay" for "-f, --filter" flag: bad format of filter (expected name=value)\nSee \'docker network ls --help\'.\n' });
    expect(docker(m, 'r0', 'docker network ls --filter colour=red')).toEqual({ stdout: '', exitCode: 1, stderr: "Error response from daemon: invalid filter 'colour'\n" });
  });
});

describe('through the shell', () => {
  test('--help prints Docker\'s text on stdout; a bare management command its list on stderr; an incomplete one is not modelled', async () => {
    const { result } = await runSim(twoNodes(`  - r0: docker network ls --help
  - r0: docker node
  - r0: docker run --help
  - r1: docker node ls
`));
    expect(result.steps[3]).toMatchObject({ exitCode: 0, stderr: '', stdout: expect.stringContaining("\nUsage:  docker network ls [OPTIONS]\n\nList networks\n\nAliases:\n  ls, list\n\nOptions:\n  -f, --filter filter   Provide filter values (e.g. 'driver=bridge')\n") });
    expect(result.steps[4]).toMatchObject({ exitCode: 0, stdout: '', stderr: expect.stringContaining('\nUsage:  docker node COMMAND\n\nManage Swarm nodes\n\nCommands:\n  demote      Demote one or more nodes from manager in the swarm\n') });
    expect(result.steps[5]).toMatchObject({ exitCode: 127, stderr: 'cnmlab: not modelled: docker run --help\n' });
    expect(result.steps[6]).toMatchObject({ exitCode: 1, stderr: expect.stringContaining("Worker nodes can't be used") });
  });
});
