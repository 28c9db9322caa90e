/**
 * Typed refusals: the model throws the daemon's refusal in the daemon's words, and only
 * sim/docker/ turns it into the CLI's text (which depends on the command that asked).
 */
import { Model } from '../sim/model/model';
import { createNetwork, removeNetwork } from '../sim/model/networks';
import { DaemonRefusal, NoSuchObject, NotModelled } from '../sim/model/refusal';
import { modelStep } from '../sim/model/command-step';
import { asDockerError } from '../sim/docker/errors';
import { answering } from '../sim/runner/host-commands';
import { spawnSync } from 'child_process';
import path from 'path';
import { dockerStep } from '../sim/docker/session';
import { CommandOutput } from '../sim/backend';
import { shellWords } from '../sim/text/words';
import { hostOf } from '../sim/model/world';
import { weaveStep } from '../sim/weave/cli';
import { calicoctlStep } from '../sim/calico/calicoctl';
import { notModelled } from '../sim/commands/registry';

function ready(): Model {
  const m = new Model([{ name: 'r0', underlay: '198.51.100.10' }, { name: 'r1', underlay: '198.51.100.11' }], 7);
  m.boot();
  for (const [h, line] of [['r0', 'docker swarm init'], ['r1', 'docker swarm join --token <...> 198.51.100.10:2377'], ['r0', 'docker network create --driver=overlay --attachable test-net']]) {
    dockerStep(m, h, shellWords(line).slice(1));
  }
  return m;
}

function run(m: Model, host: string, line: string): CommandOutput {
  const o = dockerStep(m, host, shellWords(line).slice(1)).outcome;
  if ('exec' in o) throw new Error('unexpected exec');
  return o;
}

describe('typed refusals', () => {
  test('the model throws typed refusals without any CLI text', () => {
    const m = ready();
    const thrown = (f: () => void) => {
      try {
        f();
      } catch (e) {
        return e;
      }
      throw new Error('no refusal');
    };
    const dup = thrown(() => m.change((tx) => createNetwork(tx, 'r0', { name: 'test-net', driver: 'overlay', attachable: true, internal: false, options: {}, labels: {} })));
    expect(dup).toBeInstanceOf(DaemonRefusal);
    expect((dup as Error).message).toBe('network with name test-net already exists');
    const missing = thrown(() => m.change((tx) => removeNetwork(tx, 'r0', 'nosuchnet')));
    expect(missing).toBeInstanceOf(NoSuchObject);
    expect(missing).toMatchObject({ kind: 'network', ref: 'nosuchnet' });
  });

  test('an address in use: docker run reports it as a start refusal (125, no help line, -d printed the id, the container left Created), docker network connect the daemon\'s way', () => {
    const m = ready();
    expect(run(m, 'r0', 'docker run -dit --name ca --network test-net --ip 10.0.1.9 busybox').exitCode).toBe(0);
    const refused = run(m, 'r0', 'docker run -dit --name cb --network test-net --ip 10.0.1.9 busybox');
    expect(refused).toMatchObject({ stderr: 'docker: Error response from daemon: Address already in use.\n', exitCode: 125 });
    expect(refused.stdout).toMatch(/^[0-9a-f]{64}\n$/);
    expect(run(m, 'r0', "docker inspect -f '{{.State.Status}}' cb").stdout).toBe('created\n');
    expect(run(m, 'r0', 'docker run -d --rm --name cr --network test-net --ip 10.0.1.9 busybox sleep 60')).toMatchObject({ stderr: 'docker: Error response from daemon: Address already in use.\n', exitCode: 125 });
    expect(run(m, 'r0', 'docker ps -aq --filter name=cr').stdout).toBe('');
    expect(run(m, 'r0', 'docker run -dit --name cc busybox').exitCode).toBe(0);
    expect(run(m, 'r0', 'docker network connect --ip 10.0.1.9 test-net cc')).toEqual({ stdout: '', stderr: 'Error response from daemon: Address already in use\n', exitCode: 1 });
  });

  test('--ip outside the subnet: on an attachable overlay the attachment times out (20 s), on a local network libnetwork finds no pool for it; both at start, the container left Created', () => {
    const m = ready();
    const before = m.world.clockNs;
    const o = run(m, 'r0', 'docker run -dit --name out --network test-net --ip 10.9.9.9 busybox');
    expect(o).toMatchObject({ exitCode: 125, stderr: 'docker: Error response from daemon: attaching to network failed, make sure your network options are correct and check manager logs: context deadline exceeded.\n' });
    expect(o.stdout).toMatch(/^[0-9a-f]{64}\n$/);
    expect(m.world.clockNs - before).toBe(20e9);
    expect(run(m, 'r0', 'docker ps -a').stdout).toMatch(/ Created +out\n/);
    // No sandbox was made: the endpoint comes before it.
    expect(hostOf(m.world, 'r0').netnsFiles).toEqual(['ingress_sbox', expect.stringMatching(/^1-[0-9a-z]{10}$/)]);
    expect(run(m, 'r0', 'docker network create --subnet 172.30.0.0/16 br').exitCode).toBe(0);
    expect(run(m, 'r0', 'docker run -dit --name out2 --network br --ip 10.9.9.9 busybox')).toMatchObject({
      exitCode: 125, stderr: "docker: Error response from daemon: Invalid address 10.9.9.9: It does not belong to any of this network's subnets.\n",
    });
    expect(run(m, 'r0', 'docker run -dit --name in --network br --ip 172.30.0.9 busybox').exitCode).toBe(0);
  });

  test('a network refused at start leaves the container Created: docker run -d still prints its id', () => {
    const m = ready();
    const o = run(m, 'r0', 'docker run -d --name cx --network nosuchnet busybox');
    expect(o).toMatchObject({ exitCode: 125, stderr: 'docker: Error response from daemon: Could not attach to network nosuchnet: rpc error: code = NotFound desc = network nosuchnet not found.\n' });
    expect(o.stdout).toMatch(/^[0-9a-f]{64}\n$/);
  });

  test('--ip and --network-alias where Docker 20.10 takes neither: the daemon refuses them at start (125, the container Created), an alias on a predefined network by name the CLI before anything', () => {
    const m = ready();
    const created = () => run(m, 'r0', 'docker ps -a -q').stdout.split('\n').filter(Boolean).length;
    const refusedAtStart = (line: string, text: string) => {
      const before = created();
      const o = run(m, 'r0', line);
      expect(o).toMatchObject({ exitCode: 125, stderr: `docker: Error response from daemon: ${text}.\n` });
      expect(o.stdout).toMatch(/^[0-9a-f]{64}\n$/);
      expect(created()).toBe(before + 1);
    };
    const ONLY_USER_DEFINED = 'user specified IP address is supported on user defined networks only';
    for (const net of ['bridge', 'host', 'none']) refusedAtStart(`docker run -dit --network ${net} --ip 172.17.0.9 busybox`, ONLY_USER_DEFINED);
    expect(run(m, 'r0', 'docker network create nosub').exitCode).toBe(0);
    refusedAtStart('docker run -dit --network nosub --ip 172.18.0.9 busybox', 'user specified IP address is supported only when connecting to networks with user configured subnets');
    // docker/cli checks the alias against --network as typed: a predefined name is its own refusal, nothing made.
    for (const net of ['bridge', 'host', 'none']) {
      const before = created();
      expect(run(m, 'r0', `docker run -dit --network ${net} --network-alias db busybox`)).toEqual({
        stdout: '', stderr: "docker: network-scoped aliases are only supported for user-defined networks.\nSee 'docker run --help'.\n", exitCode: 125,
      });
      expect(created()).toBe(before);
    }
    // By id the CLI cannot tell, and the daemon asks the network's name.
    const bridgeId = run(m, 'r0', 'docker network inspect -f {{.Id}} bridge').stdout.trim();
    refusedAtStart(`docker run -dit --network ${bridgeId} --network-alias db busybox`, 'network-scoped alias is supported only for containers in user defined networks');
    // Without --network docker/cli v20.10 puts --ip and --network-alias on no endpoint: they are dropped.
    expect(run(m, 'r0', 'docker run -dit --name plain --ip 10.9.9.9 --network-alias db busybox').exitCode).toBe(0);
    expect(run(m, 'r0', 'docker inspect -f "{{.NetworkSettings.IPAddress}} {{json .NetworkSettings.Networks.bridge.Aliases}}" plain').stdout).toBe('172.17.0.2 null\n');
    // docker network connect: the daemon's texts, exit 1.
    expect(run(m, 'r0', 'docker run -dit --name u1 --network nosub busybox').exitCode).toBe(0);
    expect(run(m, 'r0', 'docker network connect --alias db bridge u1')).toEqual({
      stdout: '', stderr: 'Error response from daemon: network-scoped alias is supported only for containers in user defined networks\n', exitCode: 1,
    });
    expect(run(m, 'r0', 'docker network connect --ip 172.18.0.9 nosub plain')).toEqual({
      stdout: '', stderr: 'Error response from daemon: user specified IP address is supported only when connecting to networks with user configured subnets\n', exitCode: 1,
    });
    expect(run(m, 'r0', 'docker network connect --alias db nosub plain')).toEqual({ stdout: '', stderr: '', exitCode: 0 });
  });
});

describe('flags given more than once, as docker/cli reads them', () => {
  test('docker run --network twice: the CLI refuses a network named twice or a predefined one beside a user-defined one; the daemon refuses two networks at create (125), nothing made', () => {
    const m = ready();
    dockerStep(m, 'r0', shellWords('docker network create a').slice(1));
    dockerStep(m, 'r0', shellWords('docker network create b').slice(1));
    const before = JSON.stringify(hostOf(m.world, 'r0').containers);
    expect(run(m, 'r0', 'docker run -d --network a --net b --name two busybox')).toEqual({
      stdout: '', stderr: "docker: Error response from daemon: Container cannot be connected to network endpoints: a, b.\nSee 'docker run --help'.\n", exitCode: 125,
    });
    // docker/cli checks the terminal (CheckTty) before it asks the daemon to create anything.
    expect(run(m, 'r0', 'docker run -it --network a --net b busybox')).toEqual({ stdout: '', stderr: 'the input device is not a TTY\n', exitCode: 1 });
    expect(run(m, 'r0', 'docker run -d --network a --network a busybox')).toEqual({ stdout: '', stderr: 'docker: network "a" is specified multiple times.\nSee \'docker run --help\'.\n', exitCode: 125 });
    expect(run(m, 'r0', 'docker run -d --network bridge --network a busybox')).toEqual({
      stdout: '', stderr: "docker: conflicting options: cannot attach both user-defined and non-user-defined network-modes.\nSee 'docker run --help'.\n", exitCode: 125,
    });
    expect(JSON.stringify(hostOf(m.world, 'r0').containers)).toBe(before);
    // A string flag keeps its last value (pflag).
    expect(run(m, 'r0', 'docker run -d --network a --name first --name last busybox').exitCode).toBe(0);
    expect(Object.values(hostOf(m.world, 'r0').containers).map((c) => c.name)).toContain('last');
  });

  test('list flags cnmlab models one value of (--subnet, --gateway, --default-addr-pool) refuse more as not modelled', () => {
    const m = ready();
    expect(run(m, 'r0', 'docker network create --subnet 10.1.0.0/24,10.2.0.0/24 two')).toEqual(notModelled('docker network create --subnet 10.1.0.0/24 --subnet 10.2.0.0/24: more than one subnet or gateway'));
    expect(run(m, 'r0', 'docker network create --subnet 10.1.0.0/24 --gateway 10.1.0.1 --gateway 10.1.0.2 two').exitCode).toBe(127);
    const fresh = new Model([{ name: 'r0', underlay: '198.51.100.10' }], 7);
    fresh.boot();
    expect(run(fresh, 'r0', 'docker swarm init --default-addr-pool 10.10.0.0/16 --default-addr-pool 10.20.0.0/16')).toEqual(notModelled('docker swarm init --default-addr-pool 10.10.0.0/16,10.20.0.0/16: more than one default address pool'));
  });
});

describe("the other tools' refusals, one step against the model each", () => {
  const tool = (step: typeof weaveStep, m: Model, host: string, line: string) => step(m, host, shellWords(line).slice(1));

  test("weave: its own errors with their exit codes, what cnmlab does not model with 127; the launch before a refusal stays", () => {
    const m = new Model([{ name: 'r0', underlay: '198.51.100.10' }], 7);
    m.boot();
    expect(tool(weaveStep, m, 'r0', 'weave ps').outcome).toEqual({ stdout: '', stderr: 'weave container is not present. Have you launched it?\n', exitCode: 1 });
    const launched = tool(weaveStep, m, 'r0', 'weave launch --no-fastdp');
    expect(launched.outcome).toMatchObject({ stderr: '', exitCode: 0 });
    expect(launched.ops.length).toBeGreaterThan(0);
    const again = tool(weaveStep, m, 'r0', 'weave launch --no-fastdp');
    expect(again).toEqual({ outcome: { stdout: '', stderr: "weave is already running; you can stop it with 'weave stop'.\n", exitCode: 3 }, ops: [] });
    expect(tool(weaveStep, m, 'r0', 'weave status bogus').outcome).toEqual({ stdout: '', stderr: "Invalid 'weave status' sub-command: bogus\n", exitCode: 1 });
    expect(tool(weaveStep, m, 'r0', 'weave stop').outcome).toEqual(notModelled('weave stop'));
    expect(m.world.weave?.peers.r0).toBeDefined();
  });

  test('calicoctl: its usage error and its own errors exit 1, what cnmlab does not model 127', () => {
    const m = new Model([{ name: 'r0', underlay: '198.51.100.10' }], 7);
    m.boot();
    expect(tool(calicoctlStep, m, 'r0', 'calicoctl node status').outcome).toEqual({ stdout: '', stderr: 'Calico process is not running.\n', exitCode: 1 });
    expect(tool(calicoctlStep, m, 'r0', 'calicoctl node status extra').outcome).toEqual({
      stdout: '', stderr: "Invalid option: 'calicoctl node status extra'. Use flag '--help' to read about a specific subcommand.\n", exitCode: 1,
    });
    expect(tool(calicoctlStep, m, 'r0', 'calicoctl node run --ip 10.0.0.300').outcome).toEqual({ stdout: '', stderr: 'Error executing command: invalid IP address specified.\n', exitCode: 1 });
    expect(tool(calicoctlStep, m, 'r0', 'calicoctl delete ippool x').outcome).toEqual(notModelled('calicoctl delete ippool x'));
  });
});

describe("cnmlab's own refusal (NotModelled)", () => {
  test('every front end prints it through the registry\'s notModelled: the prefix once, exit 127, the step marked not modelled', async () => {
    const m = new Model([{ name: 'r0', underlay: '198.51.100.10' }], 7);
    m.boot();
    const what = 'systemctl stop docker on the leader of a swarm with other managers';
    const refuse = () => {
      throw new NotModelled(what);
    };
    expect(modelStep(m, refuse).outcome).toEqual(notModelled(what));
    const docker = asDockerError(new NotModelled(what))!;
    expect({ stderr: docker.stderr + '\n', exitCode: docker.exitCode, unmodelled: docker.unmodelled }).toEqual({ stderr: notModelled(what).stderr, exitCode: 127, unmodelled: true });
    const hostCommand = answering(async () => refuse());
    expect(await hostCommand(m, undefined as never, 'r0', ['systemctl', 'stop', 'docker'])).toEqual(notModelled(what));
  });

  test('no message says "not modelled" before what it is (the registry writes that prefix)', () => {
    // grep exits 1 when no file matches.
    const found = spawnSync('grep', ['-rlE', '--include=*.ts', 'new NotModelled\\([`\'"]not modelled', 'sim'], { cwd: path.join(__dirname, '..'), encoding: 'utf8' });
    expect({ files: found.stdout, status: found.status }).toEqual({ files: '', status: 1 });
  });
});
