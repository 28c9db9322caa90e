/**
 * Docker's classic overlay mode in sim: dockerd restarted with a cluster store and an
 * advertised address, what `docker info` shows of them, the mode's global-scope overlay
 * networks, serf's events that program peers, and the miss that asks the cluster for one.
 */
import { runSim } from './helpers/run';

function lab(steps: string): string {
  return `name: t\nhosts:\n  r0: {}\n  r1: {}\nsteps:\n${steps}`;
}

async function outputs(steps: string) {
  const { result } = await runSim(lab(steps));
  return result.steps.map((s) => ({ exit: s.exitCode, out: s.stdout, err: s.stderr }));
}

const STORE = 'etcd://198.51.100.10:2379';

describe('dockerd with a cluster store (classic overlay mode)', () => {
  test('docker info shows the store and eth0:PORT resolved to the host\'s address, after Experimental; without them neither line', async () => {
    const o = await outputs(`  - r1: dockerd --cluster-store=${STORE} --cluster-advertise=eth0:2376
  - r1: docker info
  - r0: docker info
`);
    expect(o[0]).toEqual({ exit: 0, out: '', err: '' });
    expect(o[1].out).toContain(` Experimental: false\n Cluster Store: ${STORE}\n Cluster Advertise: 198.51.100.11:2376\n Insecure Registries:\n`);
    expect(o[2].out).not.toContain('Cluster');
  });

  test('both flag spellings pflag takes, consul:// too, and an address advertised as given', async () => {
    const o = await outputs(`  - r0: dockerd --cluster-store consul://198.51.100.10:8500 --cluster-advertise 198.51.100.10:2376
  - r0: docker info
`);
    expect(o[0].exit).toBe(0);
    expect(o[1].out).toContain(' Cluster Store: consul://198.51.100.10:8500\n Cluster Advertise: 198.51.100.10:2376\n');
  });

  test('a dockerd started again without the flags has no store', async () => {
    const o = await outputs(`  - r0: dockerd --cluster-store=${STORE} --cluster-advertise=eth0:2376
  - r0: dockerd
  - r0: docker info
`);
    expect(o[2].out).not.toContain('Cluster');
  });

  test('what is not modelled says so (exit 127): other flags, other backends, other interfaces, advertise without store, a restart with containers', async () => {
    const o = await outputs(`  - r0: dockerd --debug
  - r0: dockerd --cluster-store=zk://198.51.100.10:2181
  - r0: dockerd --cluster-store=${STORE} --cluster-advertise=eth1:2376
  - r0: dockerd --cluster-advertise=eth0:2376
  - r1: docker run -dit --name c1 busybox
  - r1: dockerd --cluster-store=${STORE}
`);
    for (const i of [0, 1, 2, 3, 5]) {
      expect(o[i].exit).toBe(127);
      expect(o[i].err).toMatch(/^cnmlab: not modelled: .*\n$/);
    }
    expect(o[3].err).toContain('--cluster-advertise without --cluster-store');
  });

  test("the mode's overlay network: a 64-hex id, global scope on every dockerd of the store, the global pool's first /24, swarm's refusal without a store, the name taken", async () => {
    const o = await outputs(`  - r0: dockerd --cluster-store=${STORE} --cluster-advertise=eth0:2376
  - r1: dockerd --cluster-store=${STORE} --cluster-advertise=eth0:2376
  - r0: docker network create -d overlay multihost
  - r1: docker network ls
  - r1: docker network create -d overlay multihost
  - r0: docker network create -d overlay second
  - r0: docker network inspect -f '{{.Scope}} {{range .IPAM.Config}}{{.Subnet}} {{.Gateway}}{{end}}' multihost second
`);
    expect(o[2]).toMatchObject({ exit: 0, err: '' });
    expect(o[2].out).toMatch(/^[0-9a-f]{64}\n$/);
    expect(o[3].out).toContain(`${o[2].out.slice(0, 12)}   multihost   overlay   global\n`);
    expect(o[4]).toEqual({ exit: 1, out: '', err: 'Error response from daemon: network with name multihost already exists\n' });
    expect(o[6].out).toBe('global 10.0.0.0/24 10.0.0.1\nglobal 10.0.1.0/24 10.0.1.1\n');
  });

  test('a store without --cluster-advertise starts no discovery: its overlay networks are named as not modelled', async () => {
    const o = await outputs(`  - r0: dockerd --cluster-store=${STORE}
  - r0: docker network create -d overlay multihost
`);
    expect(o[1].exit).not.toBe(0);
    expect(o[1]).toMatchObject({ err: expect.stringMatching(/^cnmlab: not modelled: overlay networks of a dockerd with a cluster store but no --cluster-advertise/) });
  });
});

const THREE = (steps: string) => `name: t\nhosts:\n  r0: {}\n  r1: {}\n  r2: {}\nsteps:\n${steps}`;
const DOCKERD = (h: string) => `  - ${h}: dockerd --cluster-store=${STORE} --cluster-advertise=eth0:2376\n`;

describe('classic mode: serf events program peers eagerly, a miss asks the cluster', () => {
  test('VNIs from 256 at each network\'s first join; vxlan0 with proxy l2miss l3miss in 1-<id>; the peers of the hosts that were there, programmed from serf events', async () => {
    const { result, model } = await runSim(THREE(`${DOCKERD('r0')}${DOCKERD('r1')}  - r0: docker network create -d overlay a
  - r0: docker network create -d overlay b
  - r0: docker run -dit --name c0 --net b busybox
  - r1: docker run -dit --name c1 --net b busybox
  - r1: docker run -dit --name c2 --net a busybox
  - r1: ln -s /var/run/docker/netns /var/run/netns
  - r1: ip netns exec @b ip -d link show vxlan0
  - r1: ip netns exec @a ip -d link show vxlan0
  - r1: ip netns exec @b ip neigh show
  - r1: ip netns ls
`));
    const out = result.steps.map((s) => s.stdout);
    expect(out[8]).toMatch(/vxlan id 256 srcport 0 0 dstport 4789 proxy l2miss l3miss ttl auto ageing 300 /);
    expect(out[9]).toMatch(/vxlan id 257 /);
    expect(out[10]).toBe('10.0.1.2 dev vxlan0 lladdr 02:42:0a:00:01:02 PERMANENT \n');
    const b = Object.values(model.world.hosts.flatMap((s) => Object.values(s ?? {})).find((h) => h.name === 'r1')!.localNetworks).find((n) => n.name === 'b')!;
    expect(out[11]).toContain(`1-${b.id.slice(0, 10)}\n`);
  });

  test('a dockerd that joins after every member has joined hears of no older endpoint: its first echo waits for the miss, the query (next 200 ms gossip round) and the ARP sent again a second later; the next ping goes straight', async () => {
    const { result, backend } = await runSim(THREE(`${DOCKERD('r0')}${DOCKERD('r1')}  - r0: docker network create -d overlay multihost
  - r0: docker run -dit --name c0 --net multihost busybox
${DOCKERD('r2')}  - r2: docker run -dit --name c2 --net multihost busybox
  - r2: ln -s /var/run/docker/netns /var/run/netns
  - r2: ip netns exec @multihost ip neigh show
  - r0: ln -s /var/run/docker/netns /var/run/netns
  - r0: ip netns exec @multihost ip neigh show
  - c2: ping -c 1 c0
  - r2: ip netns exec @multihost ip neigh show
  - c2: ping -c 1 c0
`));
    const out = result.steps.map((s) => s.stdout);
    // r2 knows nobody; r0 heard of c2 (an event sent once r2 was a member).
    expect(out[7]).toBe('');
    expect(out[9]).toBe('10.0.0.3 dev vxlan0 lladdr 02:42:0a:00:00:03 PERMANENT \n');
    expect(out[10]).toMatch(/seq=0 ttl=64 time=1000\.\d+ ms/);
    expect(out[11]).toBe('10.0.0.2 dev vxlan0 lladdr 02:42:0a:00:00:02 PERMANENT \n');
    expect(out[12]).toMatch(/seq=0 ttl=64 time=0\.\d+ ms/);
    const [first, second] = backend.flows().filter((f) => f.kind === 'icmp-echo');
    const control = first.hops.filter((h) => h.layers.length === 0 || h.event === 'drop');
    expect(control.map((h) => `${h.step} ${h.host} ${h.device} ${h.event}`)).toEqual([
      '3 r2 vxlan0 drop', '3 r2 vxlan0 miss', '4 r2 eth0 peer-query', '4 r2 eth0 peer-answer', '4 r2 vxlan0 peer-programmed',
    ]);
    const [drop, miss, query, answer, programmed] = control;
    expect(drop.reason).toBe('no neighbour entry for 10.0.0.2 (l3miss)');
    expect(miss.timeNs).toBe(drop.timeNs);
    expect(query.timeNs % 200_000_000).toBe(0);
    expect(query.timeNs).toBeGreaterThan(miss.timeNs);
    expect(query.timeNs - miss.timeNs).toBeLessThanOrEqual(200_000_000);
    expect(answer.note).toContain('r0 answers peerlookup for 10.0.0.2');
    expect(answer.note).toContain('"02:42:0a:00:00:02 255.255.255.0 198.51.100.10"');
    expect(answer.timeNs - query.timeNs).toBe(2 * backend.datapath.delays.underlay);
    expect(programmed.note).toBe('peerAdd: 10.0.0.2 lladdr 02:42:0a:00:00:02 PERMANENT; 02:42:0a:00:00:02 dst 198.51.100.10 self permanent');
    // The container asks again a second after its first request, and vxlan0 answers now.
    const arps = first.hops.filter((h) => h.event === 'arp-request' && h.host === 'r2' && h.device === 'eth0' && h.step === 1);
    expect(arps.map((h) => h.timeNs - arps[0].timeNs)).toEqual([0, 1_000_000_000]);
    expect(first.hops.some((h) => h.event === 'arp-proxy-reply' && h.host === 'r2' && h.timeNs > programmed.timeNs)).toBe(true);
    expect(second.hops.some((h) => h.layers.length === 0 || h.event === 'drop')).toBe(false);
  });

  test("a dockerd alone in the cluster has not joined anyone: when the next one comes it joins it and pushes its endpoints, so that one's sandbox starts with them (no miss)", async () => {
    const { result, backend } = await runSim(THREE(`${DOCKERD('r0')}  - r0: docker network create -d overlay multihost
  - r0: docker run -dit --name c0 --net multihost busybox
${DOCKERD('r1')}  - r1: docker run -dit --name c1 --net multihost busybox
  - r1: ln -s /var/run/docker/netns /var/run/netns
  - r1: ip netns exec @multihost ip neigh show
  - c1: ping -c 1 c0
`));
    expect(result.steps[6].stdout).toBe('10.0.0.2 dev vxlan0 lladdr 02:42:0a:00:00:02 PERMANENT \n');
    expect(result.steps[7].stdout).toMatch(/time=0\.\d+ ms/);
    expect(backend.flows()[0].hops.some((h) => h.event === 'miss')).toBe(false);
  });

  test('a miss nobody can answer: the query times out a second after the miss, and the ARP that asked fails', async () => {
    const { result, backend } = await runSim(THREE(`${DOCKERD('r0')}${DOCKERD('r1')}  - r0: docker network create -d overlay multihost
  - r0: docker run -dit --name c0 --net multihost busybox
  - c0: ping -c 1 -W 3 10.0.0.99
`));
    expect(result.steps[4].exitCode).toBe(1);
    const flow = backend.flows().find((f) => f.kind === 'icmp-echo')!;
    const timeouts = flow.hops.filter((h) => h.event === 'drop' && h.host === 'r0' && h.device === 'eth0');
    expect(timeouts[0].reason).toBe('could not resolve peer "10.0.0.99": timed out resolving peer by querying the cluster');
    const misses = flow.hops.filter((h) => h.event === 'miss');
    expect(timeouts[0].timeNs - misses[0].timeNs).toBe(1_000_000_000);
  });

  test("a container's leave is a serf event: the others remove its entries", async () => {
    const { result } = await runSim(THREE(`${DOCKERD('r0')}${DOCKERD('r1')}  - r0: docker network create -d overlay multihost
  - r0: docker run -dit --name c0 --net multihost busybox
  - r1: docker run -dit --name c1 --net multihost busybox
  - r1: ln -s /var/run/docker/netns /var/run/netns
  - r1: ip netns exec @multihost ip neigh show
  - r0: docker rm -f c0
  - r1: ip netns exec @multihost ip neigh show
  - r1: ip netns exec @multihost bridge fdb show dev vxlan0
`));
    expect(result.steps[6].stdout).toContain('10.0.0.2 dev vxlan0');
    expect(result.steps[8].stdout).toBe('');
    expect(result.steps[9].stdout).not.toContain('02:42:0a:00:00:02');
  });
});
