/**
 * Docker's classic overlay mode, daemon side, in sim: dockerd restarted with a cluster store
 * and an advertised address, what `docker info` shows of them, and the mode's overlay
 * networks named as not modelled rather than refused in swarm's words.
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

  test("an overlay network off swarm on a host with a store is named as not modelled, not refused with swarm's text; without a store swarm's refusal stays", async () => {
    const o = await outputs(`  - r0: dockerd --cluster-store=${STORE} --cluster-advertise=eth0:2376
  - r0: docker network create -d overlay multihost
  - r1: docker network create -d overlay multihost
`);
    expect(o[1].err).toBe("cnmlab: not modelled: overlay networks of a cluster store (dockerd --cluster-store); only swarm-scope overlays are\n");
    expect(o[1].exit).not.toBe(0);
    expect(o[2].err).toContain('This node is not a swarm manager.');
  });
});
