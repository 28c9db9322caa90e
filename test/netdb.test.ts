/**
 * NetworkDB and memberlist as the model reads them (sim/model/netdb.ts): a host whose
 * underlay link is down is declared dead 5 s later and the peers' entries go both ways;
 * back up, they return within a second; a shorter outage changes nothing; a graceful
 * `docker swarm leave` withdraws at once.
 */
import { runSim, twoNodes } from './helpers/run';

const FDB_R0 = 'r0: ip netns exec @test-net bridge fdb show dev vxlan0';
const FDB_R1 = 'r1: ip netns exec @test-net bridge fdb show dev vxlan0';

/** Runs the two-node overlay with ubuntu0 on r0 and ubuntu1 on r1, then `steps`; returns each extra step's stdout. */
async function after(steps: string[]): Promise<string[]> {
  const text = twoNodes(`  - r0: docker run -dit --name ubuntu0 --network test-net ubuntu:14.04
  - r1: docker run -dit --name ubuntu1 --network test-net ubuntu:14.04
  - r0: ln -s /var/run/docker/netns /var/run/netns
  - r1: ln -s /var/run/docker/netns /var/run/netns
${steps.map((s) => `  - ${s}\n`).join('')}`);
  const { result } = await runSim(text);
  return result.steps.slice(-steps.length).map((s) => s.stdout);
}

const peerOfR1 = /^02:42:0a:00:01:04 dst 198\.51\.100\.11 /m;
const peerOfR0 = /^02:42:0a:00:01:02 dst 198\.51\.100\.10 /m;

describe('NetworkDB when a host stops answering', () => {
  test('dead 5 s after its link went down, on both sides; back 1 s after it came up', async () => {
    const out = await after([
      'r1: ip link set eth0 down', 'r0: sleep 4.9', FDB_R0, FDB_R1,
      'r0: sleep 0.2', FDB_R0, FDB_R1, 'r0: ip netns exec @test-net ip neigh show',
      'r1: ip link set eth0 up', 'r0: sleep 0.9', FDB_R0,
      'r0: sleep 0.2', FDB_R0, FDB_R1, 'r0: ip netns exec @test-net ip neigh show',
    ]);
    expect(out[2]).toMatch(peerOfR1);
    expect(out[3]).toMatch(peerOfR0);
    expect(out[5]).not.toMatch(peerOfR1);
    expect(out[6]).not.toMatch(peerOfR0);
    expect(out[7]).not.toContain('10.0.1.4 ');
    expect(out[10]).not.toMatch(peerOfR1);
    expect(out[12]).toMatch(peerOfR1);
    expect(out[13]).toMatch(peerOfR0);
    expect(out[14]).toMatch(/^10\.0\.1\.4 dev vxlan0 lladdr 02:42:0a:00:01:04 PERMANENT/m);
  });

  // The host's own namespace reached another way: the default sandbox's file, or a --network host container allowed to change it.
  test.each([
    ['ip netns exec default', 'r1: ip netns exec default ip link set eth0 down'],
    ['a --network host container with NET_ADMIN', 'h1: ip link set eth0 down'],
  ])('the link taken down through %s is the host\'s: its peer is dead 5 s later', async (_way, down) => {
    const out = await after(['r1: docker run -dit --name h1 --network host --cap-add NET_ADMIN ubuntu:14.04', down, 'r0: sleep 5.1', FDB_R0]);
    expect(out[3]).not.toMatch(peerOfR1);
  });

  // The link's state is read from the namespace after the command, however it was spelled.
  test.each([
    ['ip l s eth0 down', false],
    ['ip link set dev eth0 down', false],
    ['ip link set eth0 mtu 1400 down', false],
    ['ip li ch dev eth0 down', false],
    ['ip li se dev eth0 do', true],
    ['ip link set eth0 down up', true],
    ['ip link set eth0 mtu 1400', true],
    ['ip link set nope down', true],
  ])('r1: %s; 5.1 s later r0 still holds its peer: %s', async (line, alive) => {
    const out = await after([`r1: ${line}`, 'r0: sleep 5.1', FDB_R0]);
    if (alive) expect(out[2]).toMatch(peerOfR1);
    else expect(out[2]).not.toMatch(peerOfR1);
  });

  test('an outage shorter than memberlist\'s suspicion changes nothing', async () => {
    const out = await after(['r1: ip link set eth0 down', 'r0: sleep 3', 'r1: ip link set eth0 up', 'r0: sleep 10', FDB_R0, FDB_R1]);
    expect(out[4]).toMatch(peerOfR1);
    expect(out[5]).toMatch(peerOfR0);
  });

  test('a container started while a node is dead reaches it by the bulk sync after it reconnects', async () => {
    const out = await after([
      'r1: ip link set eth0 down', 'r0: sleep 6', 'r0: docker run -dit --name ubuntu2 --network test-net ubuntu:14.04', FDB_R1,
      'r1: ip link set eth0 up', 'r0: sleep 2', FDB_R1,
    ]);
    expect(out[3]).not.toContain('02:42:0a:00:01:06 dst');
    expect(out[6]).toMatch(/^02:42:0a:00:01:06 dst 198\.51\.100\.10 /m);
    expect(out[6]).toMatch(peerOfR0);
  });

  test('docker node ls: the worker is Down once the leader\'s heartbeat grace (3 × 5.5 s) has passed, Ready again within the agent\'s 8 s session backoff', async () => {
    const out = await after([
      'r0: docker node ls', 'r1: ip link set eth0 down', 'r0: sleep 16', 'r0: docker node ls', 'r0: sleep 1', 'r0: docker node ls',
      'r1: ip link set eth0 up', 'r0: sleep 7.5', 'r0: docker node ls', 'r0: sleep 1', 'r0: docker node ls',
    ]);
    const status = (table: string, host: string) => table.split('\n').find((l) => l.includes(` ${host} `))?.split(/ {2,}/)[2];
    expect(out[0]).toMatch(/^ID {28}HOSTNAME   STATUS    AVAILABILITY   MANAGER STATUS   ENGINE VERSION\n/);
    expect(out.filter((_, i) => [0, 3, 5, 8, 10].includes(i)).map((t) => `${status(t, 'r0')} ${status(t, 'r1')}`)).toEqual([
      'Ready Ready', 'Ready Ready', 'Ready Down', 'Ready Down', 'Ready Ready',
    ]);
    // The table keeps the engine's columns: a Down worker has no manager status.
    expect(out[5]).toMatch(/^[0-9a-z]{25} {5}r1 {9}Down {6}Active {26}20\.10\.24\+dfsg1$/m);
  });

  test('docker node ls: a manager whose heartbeats stopped is Down and Unreachable in the leader\'s raft view; the leader stays Leader', async () => {
    // Three managers: with one cut off the other two keep raft's quorum (two managers would lose it, which the model does not show, netdb.ts).
    // A manager join needs this swarm's manager token: the same name seeds the same token.
    const header = 'name: unreachable-manager\nhosts:\n  r0: {}\n  r1: {}\n  r2: {}\nsteps:\n  - r0: docker swarm init\n';
    const token = (await runSim(`${header}  - r0: docker swarm join-token -q manager\n`)).result.steps[1].stdout.trim();
    const { result } = await runSim(`${header}  - r1: docker swarm join --token ${token} 198.51.100.10:2377
  - r2: docker swarm join --token ${token} 198.51.100.10:2377
  - r0: docker node ls
  - r2: ip link set eth0 down
  - r0: sleep 17
  - r0: docker node ls
`);
    const [joined1, joined2, before, , , after] = result.steps.slice(1);
    expect([joined1.stdout, joined2.stdout]).toEqual(['This node joined a swarm as a manager.\n', 'This node joined a swarm as a manager.\n']);
    const row = (table: string, host: string) => table.split('\n').find((l) => l.includes(` ${host} `))?.split(/ {2,}/).slice(1, 5);
    const rows = (table: string) => ['r0', 'r1', 'r2'].map((h) => row(table, h));
    expect(rows(before.stdout)).toEqual([['r0', 'Ready', 'Active', 'Leader'], ['r1', 'Ready', 'Active', 'Reachable'], ['r2', 'Ready', 'Active', 'Reachable']]);
    expect(rows(after.stdout)).toEqual([['r0', 'Ready', 'Active', 'Leader'], ['r1', 'Ready', 'Active', 'Reachable'], ['r2', 'Down', 'Active', 'Unreachable']]);
  });

  test('a graceful swarm leave withdraws the node\'s entries at once', async () => {
    const out = await after([FDB_R0, 'r1: docker swarm leave --force', FDB_R0]);
    expect(out[0]).toMatch(peerOfR1);
    expect(out[2]).not.toMatch(peerOfR1);
  });
});

describe('sleep', () => {
  test('waits on the run\'s clock, refuses what GNU sleep refuses, and stops at the step\'s timeout', async () => {
    const { result } = await runSim(`name: t
hosts:
  r0: {}
steps:
  - r0: sleep 1.5
  - r0: sleep 2m
    timeout: 3
  - r0: sleep soon
`);
    const [a, b, c] = result.steps;
    expect(a.exitCode).toBe(0);
    expect(a.durationMs).toBe(1500);
    expect(b.exitCode).toBe(124);
    expect(b.stderr).toBe('cnmlab: timed out after 3 s, its processes killed: sleep 2m\n');
    expect(c).toMatchObject({ exitCode: 1, stderr: "sleep: invalid time interval 'soon'\nTry 'sleep --help' for more information.\n" });
  });
});
