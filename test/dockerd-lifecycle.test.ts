/**
 * dockerd stopped and started by systemd on a swarm node (sim/model/dockerd.ts): the stop
 * leaves NetworkDB gracefully (its node leave event on the wire, the others dropping its
 * overlay entries at once), stops its containers, and the leader marks the node Down after
 * the heartbeat grace; while stopped the client cannot reach the daemon. The start rejoins
 * under a new node name (its node join event, its networks' join events and bulk syncs), and
 * the node is Ready again. emu's player, told of the same worlds, sends what sim's daemons send.
 */
import * as networkdb from '../sim/wire/networkdb';
import { parseScenario } from '../sim/scenario/load';
import { runScenario } from '../sim/runner/runner';
import { SimBackend } from '../sim/kernel/backend';
import { seedFromName } from '../sim/model/ids';
import { clusterView } from '../sim/model/cluster';
import type { PlanOp } from '../sim/plan/ops';
import { hostOf, World } from '../sim/model/world';
import { GossipSend, NetworkDbGossip } from '../emu/netdb';
import { memberlistPacket, userPacketMessage } from '../sim/wire/memberlist';
import type { Flow } from '../sim/trace/types';
import { runSim, twoNodes } from './helpers/run';
import { ScenarioSession } from '../sim/runner/session';

const DAEMON_DOWN = 'Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?\n';

const LAB = twoNodes(`  - r0: docker run -dit --name c0 --network test-net busybox
  - r1: docker run -dit --name c1 --network test-net busybox
  - r0: ln -s /var/run/docker/netns /var/run/netns
  - r1: ln -s /var/run/docker/netns /var/run/netns
  - r0: sleep 1
  - r1: systemctl stop docker
  - r1: docker ps
  - r0: ip netns exec @ingress bridge fdb show dev vxlan0
  - r1: ip netns exec 1-\${INGRESS} bridge fdb show dev vxlan0
  - r0: docker node ls
  - r0: sleep 17
  - r0: docker node ls
  - r1: systemctl start docker
  - r1: docker ps -a
  - r0: docker node ls
  - r0: ip netns exec @ingress bridge fdb show dev vxlan0
  - r0: sleep 1
`, 'name: lifecycle');
const STOP = 9, START = 16;

class KeepingWorlds extends SimBackend {
  readonly worlds: World[] = [];
  override async apply(ops: PlanOp[], world?: World): Promise<void> {
    await super.apply(ops, world);
    if (world) this.worlds.push(world);
  }
}

class KeepingOps extends SimBackend {
  readonly ops: PlanOp[][] = [];
  override async apply(ops: PlanOp[], world?: World): Promise<void> {
    this.ops.push(ops);
    await super.apply(ops, world);
  }
}

const ofStep = (flows: readonly Flow[], step: number, control: Flow['control']) => flows.filter((f) => f.origin?.step === step && f.control === control);
const udpLength = (f: Flow) => Number(f.hops.find((h) => h.event === 'send')!.layers.find((l) => l.proto === 'udp')!['udp.length']) - 8;
const status = (table: string, host: string) => table.split('\n').find((l) => l.includes(` ${host} `))?.split(/ {2,}/)[2];

describe('systemctl stop docker and systemctl start docker on a swarm worker', () => {
  let steps: Awaited<ReturnType<typeof runScenario>>['result']['steps'];
  let control: Flow[];
  let backend: KeepingWorlds;
  let nodeEvents: { type: number; lTime: number; nodeName: string }[];
  let networkEvents: { type: number; lTime: number; nodeName: string; networkId: string }[];
  let names: { before: string; after: string };
  let ingressId: string;

  beforeAll(async () => {
    nodeEvents = [];
    networkEvents = [];
    const encodeNode = networkdb.nodeEvent, encodeNetwork = networkdb.networkEvent;
    const nodeSpy = jest.spyOn(networkdb, 'nodeEvent').mockImplementation((e) => (nodeEvents.push({ type: e.type, lTime: e.lTime, nodeName: e.nodeName }), encodeNode(e)));
    const networkSpy = jest.spyOn(networkdb, 'networkEvent').mockImplementation((e) => (networkEvents.push({ type: e.type, lTime: e.lTime, nodeName: e.nodeName, networkId: e.networkId }), encodeNetwork(e)));
    try {
      // The ingress network's namespace by name on the stopped host (`@ingress` asks the daemon's model, which is the same).
      const probe = await runSim(LAB.split('\n').slice(0, 8).join('\n') + '\n  - r0: docker network inspect -f "{{.Id}}" ingress\n');
      ingressId = probe.result.steps[3].stdout.trim();
      const s = parseScenario('t.yaml', LAB.replace('${INGRESS}', ingressId.slice(0, 10)));
      backend = new KeepingWorlds(s.seed ?? seedFromName(s.name));
      const { result } = await runScenario(s, backend);
      steps = result.steps;
      control = result.trace.control ?? [];
      const r1Names = backend.worlds.map((w) => clusterView(w)?.nodes.find((n) => n.host === 'r1')?.gossipName).filter((n): n is string => !!n);
      names = { before: r1Names[0], after: r1Names[r1Names.length - 1] };
    } finally {
      nodeSpy.mockRestore();
      networkSpy.mockRestore();
    }
  });

  test('stop and start print nothing; while stopped, docker on the host cannot reach the daemon (exit 1)', () => {
    expect(steps[STOP - 1]).toMatchObject({ exitCode: 0, stdout: '', stderr: '' });
    expect(steps[STOP]).toMatchObject({ exitCode: 1, stdout: '', stderr: DAEMON_DOWN });
    expect(steps[START - 1]).toMatchObject({ exitCode: 0, stdout: '', stderr: '' });
  });

  test("the others drop the stopped node's overlay entries at once; the stopped host's kernel keeps the ones it held", () => {
    const r1Ingress = /^02:42:0a:00:00:03 dst 198\.51\.100\.11 /m;
    const r0Ingress = /^02:42:0a:00:00:02 dst 198\.51\.100\.10 /m;
    expect(steps[STOP + 1].stdout).not.toMatch(r1Ingress);
    expect(steps[STOP + 2].stdout).toMatch(r0Ingress);
    // Started again, it is back in the others' entries.
    expect(steps[START + 2].stdout).toMatch(r1Ingress);
  });

  test('the leader marks the node Down after the heartbeat grace, Ready once its daemon started; its container stays Exited', () => {
    expect(status(steps[STOP + 3].stdout, 'r1')).toBe('Ready');
    expect(status(steps[STOP + 5].stdout, 'r1')).toBe('Down');
    expect(status(steps[START + 1].stdout, 'r1')).toBe('Ready');
    // sh as PID 1 ignores the shutdown's SIGTERM until its SIGKILL, the stop timeout later: the stop lasts it.
    expect(steps[START].stdout).toMatch(/ Exited \(137\) .* c1\n$/);
    expect(steps[STOP - 1].daemonWaited?.ms).toBe(10000);
  });

  test('the stop gossips its node leave event alone, which r0 gossips on; the stopped host sends nothing until it starts', () => {
    const leave = nodeEvents.filter((e) => e.type === networkdb.NODE_EVENT.leave);
    expect(leave.map((e) => e.nodeName)).toContain(names.before);
    // dockerd closes NetworkDB before it stops the containers (moby v20.10.24 cmd/dockerd/daemon.go:250, :254): no network
    // leave (test-net's, its container stopped) before the node leave, which comes next on its network clock.
    const ownNetworkEvents = networkEvents.filter((e) => e.nodeName === names.before);
    expect(ownNetworkEvents.filter((e) => e.type === networkdb.NETWORK_EVENT.leave)).toEqual([]);
    expect(leave.find((e) => e.nodeName === names.before)!.lTime).toBe(Math.max(...ownNetworkEvents.map((e) => e.lTime)) + 1);
    // What the member sends on: the event alone in a user message, encrypted.
    const relay = memberlistPacket(userPacketMessage(networkdb.nodeEvent({ type: networkdb.NODE_EVENT.leave, lTime: leave[0].lTime, nodeName: names.before })), true, (n) => new Uint8Array(n)).length;
    const gossip = ofStep(control, STOP, 'networkdb-gossip');
    expect(gossip.filter((f) => f.from === 'r1').length).toBeGreaterThanOrEqual(1);
    // r1 sends its leave alone (no table deletes): each of its packets the one event in a user message, as r0's relay is.
    expect(new Set(gossip.filter((f) => f.from === 'r1').map(udpLength))).toEqual(new Set([relay]));
    expect(gossip.filter((f) => f.from === 'r0').map(udpLength)).toContain(relay);
    for (let step = STOP + 1; step < START; step++) expect(control.filter((f) => f.origin?.step === step && f.from === 'r1')).toEqual([]);
    // Neither does anyone probe it while it is stopped.
    for (let step = STOP + 1; step < START; step++) expect(ofStep(control, step, 'memberlist-probe').filter((f) => f.to === 'r1')).toEqual([]);
  });

  test('the start joins under a new node name: its node join event, its networks joined again with bulk syncs to r0', () => {
    expect(names.after).not.toBe(names.before);
    expect(names.after).toMatch(/^[0-9a-f]{12}$/);
    expect(nodeEvents.filter((e) => e.nodeName === names.after).map((e) => [e.type, e.lTime])).toEqual([[networkdb.NODE_EVENT.join, 1]]);
    const joins = networkEvents.filter((e) => e.nodeName === names.after && e.type === networkdb.NETWORK_EVENT.join).map((e) => e.networkId);
    expect(joins).toContain(ingressId);
    const syncs = ofStep(control, START, 'networkdb-bulk-sync');
    expect(syncs.filter((f) => f.from === 'r1' && f.to === 'r0').length).toBeGreaterThanOrEqual(1);
    // Its network events go at its first memberlist round, when the clock next runs (the last step's sleep).
    expect(control.filter((f) => (f.origin?.step ?? 0) >= START && f.control === 'networkdb-gossip' && f.from === 'r1').length).toBeGreaterThanOrEqual(1);
  });

  test("emu's player, told of the same worlds, sends the stop's and the start's gossip as sim's daemons do, by length and sender", () => {
    const netdb = new NetworkDbGossip();
    const nodesIn = (w: World) => clusterView(w)?.nodes.length ?? 0;
    const worlds = backend.worlds;
    const stopWorld = worlds.findIndex((w, i) => i > 0 && nodesIn(w) < nodesIn(worlds[i - 1]));
    const startWorld = worlds.findIndex((w, i) => i > stopWorld && nodesIn(w) > nodesIn(worlds[i - 1]));
    let sent = new Map<string, GossipSend[]>(), started = new Map<string, GossipSend[]>();
    let stopsAt = NaN;
    for (const [i, w] of worlds.entries()) {
      const out = netdb.observe(clusterView(w), i * 60_000);
      if (i === startWorld) started = out;
      if (i !== stopWorld) continue;
      sent = out;
      stopsAt = netdb.departures().get('r1')! - i * 60_000;
    }
    const lengthsFrom = (host: string) => new Set((sent.get(host) ?? []).flatMap(([, , p]) => (typeof p === 'string' ? [p.length / 2] : [])));
    const simLengths = (host: string) => new Set(ofStep(control, STOP, 'networkdb-gossip').filter((f) => f.from === host).map(udpLength));
    for (const host of ['r0', 'r1']) expect(lengthsFrom(host)).toEqual(simLengths(host));
    // Started, r1 sends its join events as sim's r1 does from then on, and bulk-syncs with r0.
    const startLengths = new Set((started.get('r1') ?? []).flatMap(([, , p]) => (typeof p === 'string' ? [p.length / 2] : [])));
    const simStart = new Set(control.filter((f) => (f.origin?.step ?? 0) >= START && f.control === 'networkdb-gossip' && f.from === 'r1').map(udpLength));
    expect(startLengths).toEqual(simStart);
    expect((started.get('r1') ?? []).flatMap(([, syncs]) => (Array.isArray(syncs) ? syncs.map(([to]) => to) : []))).toContain('198.51.100.10');
    // r1 stops after its leave's last round, within sendNodeEvent's 5 s.
    expect(stopsAt).toBeGreaterThan(0);
    expect(stopsAt).toBeLessThan(5000);
  });
});

describe("systemctl stop docker's order", () => {
  test("the node leaves NetworkDB before the daemon stops its containers: the others drop its entries, each once, then its containers' namespaces go", async () => {
    const s = parseScenario('t.yaml', twoNodes(`  - r0: docker run -dit --name c0 --network test-net busybox
  - r1: docker run -dit --name c1 --network test-net busybox
  - r1: systemctl stop docker
`));
    const backend = new KeepingOps(seedFromName(s.name));
    const { result } = await runScenario(s, backend);
    expect(result.steps[5].daemonWaited?.ms).toBe(10000);
    const ops = backend.ops[backend.ops.length - 1];
    const kinds = ops.map((o) => `${o.op} ${'host' in o ? o.host : o.hosts.join(',')}`);
    const lastPeerDel = kinds.lastIndexOf('peers.del r0'), firstNetnsDel = kinds.indexOf('netns.del r1');
    expect(lastPeerDel).toBeGreaterThanOrEqual(0);
    expect(firstNetnsDel).toBeGreaterThan(lastPeerDel);
    // c1's address on test-net and r1's ingress endpoint: deleted from r0's vxlan0 once each.
    const deleted = ops.flatMap((o) => (o.op === 'peers.del' ? o.peers.map((p) => `${o.netns} ${p.ip}`) : []));
    expect(deleted).toHaveLength(new Set(deleted).size);
    expect(deleted).toHaveLength(3);
  });
});

describe('systemctl stop docker elsewhere', () => {
  test('on a host outside a swarm: its containers stop; started again, docker answers', async () => {
    const { result } = await runSim(`name: t
hosts:
  h: {}
steps:
  - h: docker run -dit --name c0 busybox
  - h: systemctl stop docker
  - h: docker ps
  - h: systemctl stop docker
  - h: systemctl start docker
  - h: docker ps -a
`);
    const [, stop, ps, again, start, psA] = result.steps;
    expect([stop.exitCode, again.exitCode, start.exitCode]).toEqual([0, 0, 0]);
    expect(ps).toMatchObject({ exitCode: 1, stderr: DAEMON_DOWN });
    // sh as PID 1 ignores the shutdown's SIGTERM until its SIGKILL, the stop timeout later; a stopped daemon's stop waits nothing.
    expect(psA.stdout).toMatch(/ Exited \(137\) .* c0\n$/);
    expect([stop.durationMs, again.durationMs]).toEqual([10000, 0]);
    expect(stop.daemonWaited?.note).toBe("dockerd waited 10 s for the stop timeout of its containers: PID 1 of c0 (sh) ignores SIGTERM; then SIGKILL; modelled: the step's duration counts it, cnmlab did not wait it");
  });

  test("with a container whose PID 1's SIGTERM the model does not know: not modelled, the daemon still runs", async () => {
    const { result } = await runSim(`name: t
hosts:
  h: {}
steps:
  - h: docker run -d --name pinger busybox ping 127.0.0.1
  - h: systemctl stop docker
  - h: docker ps -q
`);
    const [, stop, ps] = result.steps;
    expect(stop).toMatchObject({ exitCode: 127, stderr: 'cnmlab: not modelled: systemctl stop docker with pinger running: how its PID 1 (ping) takes SIGTERM\n' });
    expect(ps).toMatchObject({ exitCode: 0, stdout: expect.stringMatching(/^[0-9a-f]{12}\n$/) });
  });

  test('with a container of an image the model does not know: not modelled, the daemon still runs', async () => {
    const { result } = await runSim(`name: t
hosts:
  h: {}
steps:
  - h: docker run -d --name rr redis
  - h: systemctl stop docker
  - h: docker ps -q
`);
    const [, stop, ps] = result.steps;
    expect(stop).toMatchObject({ exitCode: 127, stderr: 'cnmlab: not modelled: systemctl stop docker with rr running: its image (redis): what its PID 1 runs\n' });
    expect(ps).toMatchObject({ exitCode: 0, stdout: expect.stringMatching(/^[0-9a-f]{12}\n$/) });
  });

  test('on the leader of a swarm with another manager: not modelled (raft would elect another leader)', async () => {
    const header = 'name: stop-leader\nhosts:\n  r0: {}\n  r1: {}\nsteps:\n  - r0: docker swarm init\n';
    const token = (await runSim(`${header}  - r0: docker swarm join-token -q manager\n`)).result.steps[1].stdout.trim();
    const { result } = await runSim(`${header}  - r1: docker swarm join --token ${token} 198.51.100.10:2377\n  - r0: systemctl stop docker\n  - r0: docker node ls\n`);
    const [, , stop, ls] = result.steps;
    expect(stop).toMatchObject({ exitCode: 127, stderr: 'cnmlab: not modelled: systemctl stop docker on the leader of a swarm with other managers (raft electing a new leader)\n' });
    expect(ls.exitCode).toBe(0);
  });

  test("on a manager whose stop would leave half the managers or fewer running: not modelled (raft would lose its quorum)", async () => {
    const header = 'name: stop-quorum\nhosts:\n  r0: {}\n  r1: {}\n  r2: {}\nsteps:\n  - r0: docker swarm init\n';
    const token = (await runSim(`${header}  - r0: docker swarm join-token -q manager\n`)).result.steps[1].stdout.trim();
    const join = (host: string) => `  - ${host}: docker swarm join --token ${token} 198.51.100.10:2377\n`;
    const refusal = 'cnmlab: not modelled: systemctl stop docker leaving half the swarm\'s managers or fewer running (raft losing its quorum)\n';
    // Two managers: stopping the one that is not the leader leaves one of two.
    const two = (await runSim(`${header}${join('r1')}  - r1: systemctl stop docker\n  - r1: docker node ls\n`)).result.steps;
    expect(two[2]).toMatchObject({ exitCode: 127, stderr: refusal });
    expect(two[3].exitCode).toBe(0);
    // Three: the first stop leaves two of three running; the second would leave one.
    const three = (await runSim(`${header}${join('r1')}${join('r2')}  - r2: systemctl stop docker\n  - r1: systemctl stop docker\n`)).result.steps;
    expect(three[3]).toMatchObject({ exitCode: 0, stderr: '' });
    expect(three[4]).toMatchObject({ exitCode: 127, stderr: refusal });
  });

  test("on a worker whose link is down and whom the others have not declared dead: not modelled (its leave would reach no one); the others keep its entries", async () => {
    const { result } = await runSim(twoNodes(`  - r0: docker run -dit --name c0 --network test-net busybox
  - r1: docker run -dit --name c1 --network test-net busybox
  - r0: ln -s /var/run/docker/netns /var/run/netns
  - r0: sleep 1
  - r1: ip link set eth0 down
  - r1: systemctl stop docker
  - r0: ip netns exec @ingress bridge fdb show dev vxlan0
  - r0: sleep 6
  - r0: ip netns exec @ingress bridge fdb show dev vxlan0
`, 'name: stop-cut'));
    const r1Ingress = /^02:42:0a:00:00:03 dst 198\.51\.100\.11 /m;
    const [stop, before, , after] = result.steps.slice(8);
    expect(stop).toMatchObject({ exitCode: 127, stderr: 'cnmlab: not modelled: systemctl stop docker on a swarm node whose link is down (its NetworkDB leave reaching no one)\n' });
    expect(before.stdout).toMatch(r1Ingress);
    // Declared dead, as for any node cut off (netdb.ts).
    expect(after.stdout).not.toMatch(r1Ingress);
  });

  test("a worker started while the leader's daemon is stopped stays Down until the leader is back", async () => {
    const s = parseScenario('t.yaml', 'name: stop-leader-alone\nhosts:\n  r0: {}\n  r1: {}\nsteps:\n  - r0: docker swarm init\n');
    const session = await ScenarioSession.start(s, new SimBackend(s.seed ?? seedFromName(s.name)));
    const down = () => hostOf(session.model.world, 'r1').heartbeatDown;
    for (const [on, line] of [['r0', 'docker swarm init'], ['r1', 'docker swarm join --token <...> 198.51.100.10:2377'], ['r1', 'systemctl stop docker'], ['r0', 'sleep 17']]) {
      expect((await session.step(on, line)).exitCode).toBe(0);
    }
    expect(status((await session.step('r0', 'docker node ls')).stdout, 'r1')).toBe('Down');
    expect(down()).toBe(true);
    expect((await session.step('r0', 'systemctl stop docker')).exitCode).toBe(0);
    expect((await session.step('r1', 'systemctl start docker')).exitCode).toBe(0);
    expect(down()).toBe(true);
    expect((await session.step('r0', 'sleep 17')).exitCode).toBe(0);
    expect(down()).toBe(true);
    expect((await session.step('r0', 'systemctl start docker')).exitCode).toBe(0);
    const ls = await session.step('r0', 'docker node ls');
    expect(status(ls.stdout, 'r1')).toBe('Ready');
  });
});
