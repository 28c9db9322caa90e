/**
 * `systemctl stop docker` and `systemctl start docker` on a swarm worker in emu, on the real
 * kernel: the same texts as sim, the kernel's overlay entries as sim's, and on the wire the
 * stopped node's holder gossiping its node leave before its sockets close, silent while
 * stopped, then its join's gossip and bulk sync once started (sim/model/dockerd.ts).
 */
import { describeWith } from './helpers/env';
import { parseScenario } from '../sim/scenario/load';
import { ScenarioSession } from '../sim/runner/session';
import { SimBackend } from '../sim/kernel/backend';
import { EmuBackend } from '../emu/backend';
import { seedFromName } from '../sim/model/ids';
import { hostOf } from '../sim/model/world';
import { normaliseOutput } from '../sim/trace/compare';
import { nodeEvent, NODE_EVENT } from '../sim/wire/networkdb';
import { memberlistPacket, userPacketMessage } from '../sim/wire/memberlist';
import type { Backend } from '../sim/backend';
import type { Flow } from '../sim/trace/types';

const STEPS = [
  ['r0', 'docker swarm init'],
  ['r1', 'docker swarm join --token <...> 198.51.100.10:2377'],
  ['r0', 'docker network create --driver=overlay --attachable test-net'],
  ['r0', 'docker run -dit --name c0 --network test-net busybox'],
  ['r1', 'docker run -dit --name c1 --network test-net busybox'],
  ['r0', 'ln -s /var/run/docker/netns /var/run/netns'],
  // A command on each host that looks at its kernel: their daemons are on the wire.
  ['r0', 'ip netns exec @ingress bridge fdb show dev vxlan0'],
  ['r1', 'ss -lntu'],
  ['r0', 'sleep 2'],
];
const STOPPED = [
  ['r1', 'systemctl stop docker'],
  ['r1', 'docker ps'],
  ['r1', 'ss -lntu'],
  ['r0', 'ip netns exec @ingress bridge fdb show dev vxlan0'],
  ['r0', 'sleep 2'],
  ['r1', 'systemctl start docker'],
  ['r1', 'ss -lntu'],
  ['r0', 'ip netns exec @ingress bridge fdb show dev vxlan0'],
  ['r0', 'ip netns exec @ingress ip neigh show'],
  ['r1', 'docker ps -a --format "{{.Names}}"'],
  ['r0', 'sleep 2'],
];

/** Every step's exit, stdout and stderr, and the control flows, in a backend. */
async function play(backend: Backend, s: ReturnType<typeof parseScenario>) {
  const session = await ScenarioSession.start(s, backend);
  const out: { exitCode: number; stdout: string; stderr: string }[] = [];
  let leaveName = '';
  for (const [on, line] of [...STEPS, ...STOPPED]) {
    if (line === 'systemctl stop docker') leaveName = hostOf(session.model.world, 'r1').gossipName;
    const r = await session.step(on, line);
    out.push({ exitCode: r.exitCode, stdout: r.stdout, stderr: r.stderr });
  }
  return { out, control: session.trace().control ?? [], leaveName };
}

describeWith(['ip', 'tcpdump', 'tshark'], true, 'emu: dockerd stopped and started on a swarm worker (real kernel)', () => {
  test('the texts and overlay entries are sim\'s; r1 gossips its leave and goes silent, then joins again', async () => {
    const s = parseScenario('emu-stop.yaml', 'name: emu-stop\nhosts:\n  r0: {}\n  r1: {}\nsteps:\n  - r0: docker swarm init\n');
    const sim = await play(new SimBackend(s.seed ?? seedFromName(s.name)), s);
    const backend = await EmuBackend.create(s, { quiet: true });
    let emu: Awaited<ReturnType<typeof play>>;
    try {
      emu = await play(backend, s);
    } finally {
      await backend.close();
    }
    // br0's own entry carries a MAC the kernel draws: the peers' entries are compared.
    const peers = (text: string) => text.split('\n').filter((l) => !l.includes(' master br0 ')).join('\n');
    // ss lists a namespace's sockets in its hash tables' order, which a random per-namespace
    // value drawn at creation decides (net_hash_mix): its rows are compared as a set, each as
    // verify compares it (a listener's accept queue holds a peer's connection only by timing).
    const lines = [...STEPS, ...STOPPED].map(([, line]) => line);
    const comparable = (o: { stdout: string }, i: number) => {
      const text = peers(o.stdout);
      if (!lines[i].startsWith('ss ')) return text;
      const [header, ...rows] = normaliseOutput(text).split('\n');
      return [header, ...rows.sort()].join('\n');
    };
    const stop = STEPS.length;
    expect(emu.out.map((o, i) => ({ ...o, stdout: comparable(o, i) }))).toEqual(sim.out.map((o, i) => ({ ...o, stdout: comparable(o, i) })));
    expect(emu.out[stop + 1]).toMatchObject({ exitCode: 1, stderr: 'Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?\n' });
    expect(emu.out[stop + 2].stdout).not.toContain(':7946');
    expect(emu.out[stop + 8].stdout).toMatch(/^10\.0\.0\.3 dev vxlan0 lladdr 02:42:0a:00:00:03 PERMANENT/m);

    const gossipOf = (step: number, from: string) => emu.control.filter((f: Flow) => f.origin?.step === step && f.control === 'networkdb-gossip' && f.from === from);
    const udpLength = (f: Flow) => Number(f.hops.find((h) => h.event === 'send' || h.event === 'deliver')!.layers.find((l) => l.proto === 'udp')!['udp.length']) - 8;
    // r1's network clock: the cluster, ingress and test-net joined, then the node leave; test-net's leave (its container
    // stopped) never goes out, NetworkDB closing before the containers stop (moby v20.10.24 cmd/dockerd/daemon.go:250, :254).
    const leave = memberlistPacket(userPacketMessage(nodeEvent({ type: NODE_EVENT.leave, lTime: 4, nodeName: emu.leaveName })), true, (n) => new Uint8Array(n)).length;
    const stopStep = stop + 1, startStep = stop + STOPPED.indexOf(STOPPED.find(([, l]) => l === 'systemctl start docker')!) + 1;
    expect(gossipOf(stopStep, 'r1').length).toBeGreaterThanOrEqual(1);
    // r1 sends its leave alone, each packet the one event as r0's relay is.
    expect(new Set(gossipOf(stopStep, 'r1').map(udpLength))).toEqual(new Set([leave]));
    expect(gossipOf(stopStep, 'r0').map(udpLength)).toContain(leave);
    for (let step = stopStep + 1; step < startStep; step++) expect(emu.control.filter((f) => f.origin?.step === step && f.from === 'r1')).toEqual([]);
    const afterStart = emu.control.filter((f) => (f.origin?.step ?? 0) >= startStep && f.from === 'r1');
    expect(afterStart.some((f) => f.control === 'networkdb-gossip')).toBe(true);
    expect(afterStart.some((f) => f.control === 'memberlist-probe')).toBe(true);
  });
});
