/**
 * `docker swarm leave` in emu, on the real kernel: the leaver's holder sends its node leave
 * event alone (its NetworkDB closed before its containers and networks went: moby v20.10
 * daemon/cluster/swarm.go Leave stops the node runner first) until the event has gone its
 * rounds, as clusterLeave waits for it, before its sockets close; the member that hears it
 * gossips it on. The leaver's running container stays, disconnected from the swarm network.
 */
import { describeWith } from './helpers/env';
import { parseScenario } from '../sim/scenario/load';
import { ScenarioSession } from '../sim/runner/session';
import { EmuBackend } from '../emu/backend';
import { hostOf } from '../sim/model/world';
import { nodeEvent, NODE_EVENT } from '../sim/wire/networkdb';
import { memberlistPacket, userPacketMessage } from '../sim/wire/memberlist';
import type { Flow } from '../sim/trace/types';

const STEPS = [
  ['r0', 'docker swarm init'],
  ['r1', 'docker swarm join --token <...> 198.51.100.10:2377'],
  ['r0', 'docker network create --driver=overlay --attachable test-net'],
  ['r0', 'docker run -dit --name ubuntu0 --network test-net busybox'],
  ['r1', 'docker run -dit --name ubuntu1 --network test-net busybox'],
  // A command on each host: their daemons are on the wire.
  ['r0', 'ss -lntu'],
  ['r1', 'ss -lntu'],
  // Their queued events gone their rounds, r0 has nothing of its own to batch with the leave it gossips on.
  ['r0', 'sleep 2'],
];

describeWith(['ip', 'tcpdump', 'tshark'], true, 'emu: a node leaves the swarm (real kernel)', () => {
  test("r1's holder gossips its leave alone before its sockets close, the step lasting its rounds; r0 gossips the leave on to r1; r1 is silent after", async () => {
    const s = parseScenario('emu-leave.yaml', 'name: emu-leave\nhosts:\n  r0: {}\n  r1: {}\nsteps:\n  - r0: docker swarm init\n');
    const backend = await EmuBackend.create(s, { quiet: true });
    try {
      const session = await ScenarioSession.start(s, backend);
      for (const [on, line] of STEPS) expect(await session.step(on, line)).toMatchObject({ exitCode: 0 });
      const r1 = hostOf(session.model.world, 'r1');
      // r1's network clock: the cluster, ingress and test-net joined, then the node leave (its network leaves never go out).
      const leave = memberlistPacket(userPacketMessage(nodeEvent({ type: NODE_EVENT.leave, lTime: 4, nodeName: r1.gossipName })), true, (n) => new Uint8Array(n)).length;
      const left = await session.step('r1', 'docker swarm leave');
      expect(left.exitCode).toBe(0);
      expect(left.durationMs).toBeGreaterThanOrEqual(200);
      expect((await session.step('r1', 'ss -lntu')).stdout).not.toContain(':7946');
      // DaemonLeavesCluster disconnects the running container from test-net: it runs on with its loopback alone (the real kernel's links).
      const links = (await session.step('ubuntu1', 'ip link')).stdout;
      expect([...links.matchAll(/^\d+: ([^:@]+)[:@]/gm)].map((m) => m[1])).toEqual(['lo']);
      const control = session.trace().control ?? [];
      const udpLengths = (step: number, from: string) => control.filter((f: Flow) => f.origin?.step === step && f.control === 'networkdb-gossip' && f.from === from)
        .map((f) => Number(f.hops.find((h) => h.event === 'send' || h.event === 'deliver')!.layers.find((l) => l.proto === 'udp')!['udp.length']) - 8);
      const leaveStep = STEPS.length + 1;
      // Its own leave goes alone, each packet the one event as the member's relay is.
      expect(udpLengths(leaveStep, 'r1').length).toBeGreaterThanOrEqual(2);
      expect(new Set(udpLengths(leaveStep, 'r1'))).toEqual(new Set([leave]));
      expect(udpLengths(leaveStep, 'r0')).toContain(leave);
      for (const step of [leaveStep + 1, leaveStep + 2]) expect(udpLengths(step, 'r1')).toEqual([]);
    } finally {
      await backend.close();
    }
  });
});
