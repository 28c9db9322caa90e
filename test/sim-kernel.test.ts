/** The sim kernel's subsystems, each as Linux has it: netfilter's hook points, the neighbour layer, the embedded DNS. */
import { runLab, runSim, twoNodes } from './helpers/run';
import { endpointOf, hostOf, swarmNetworks } from '../sim/model/world';
import { hostsFileFor } from '../emu/dns';

async function seedLab() {
  const lab = await runLab('overlay-standalone');
  const { backend, model } = lab;
  const c = Object.values(hostOf(model.world, 'r0').containers).find((x) => x.name === 'ubuntu0')!;
  const exec = (argv: string[]) => backend.execSync('r0', c.sandbox, argv, { world: model.world, container: c.id, namesVisible: false });
  return { ...lab, c, exec };
}

describe('netfilter hook points', () => {
  test('a function registered at INPUT that drops stops the echo where Linux would: at the receiving namespace', async () => {
    const { backend, exec } = await seedLab();
    const dp = backend.datapath;
    dp.netfilter.register('INPUT', (ns, skb) => !(ns.role.get() === 'sandbox' && skb.dir === 'request' && ns.host.name === 'r1'));
    const out = exec(['ping', '-c', '1', '-n', '10.0.1.4']);
    expect(out.stdout).toContain('1 packets transmitted, 0 received');
    const drop = dp.flows[dp.flows.length - 1].hops.find((h) => h.event === 'drop');
    expect(drop).toMatchObject({ host: 'r1', device: 'eth0', reason: 'dropped by netfilter INPUT' });
  });
});

describe("the embedded DNS answers from the world as it is when the query arrives, and follows Docker's lifecycle", () => {
  const lastOutput = (result: Awaited<ReturnType<typeof runSim>>['result']) => {
    const { stdout, stderr, exitCode } = result.steps[result.steps.length - 1];
    return { stdout, stderr, exitCode };
  };

  test('a container started after the first lookup resolves', async () => {
    const { result } = await runSim(twoNodes(`  - r0: docker run -dit --name ubuntu0 --network test-net ubuntu:14.04
  - r1: docker run -dit --name ubuntu1 --network test-net ubuntu:14.04
  - ubuntu0: ping -c 1 ubuntu1
  - r1: docker run -dit --name ubuntu2 --network test-net ubuntu:14.04
  - ubuntu0: ping -c 1 ubuntu2
`));
    expect(lastOutput(result)).toMatchObject({ exitCode: 0 });
  });

  test.each([
    ['docker stop', 'docker stop ubuntu1'],
    ['docker rm -f', 'docker rm -f ubuntu1'],
  ])('after %s the name no longer resolves', async (_what, command) => {
    const { result } = await runSim(twoNodes(`  - r0: docker run -dit --name ubuntu0 --network test-net ubuntu:14.04
  - r1: docker run -dit --name ubuntu1 --network test-net ubuntu:14.04
  - ubuntu0: ping -c 1 ubuntu1
  - r1: ${command}
  - ubuntu0: ping -c 1 ubuntu1
`));
    expect(lastOutput(result)).toEqual({ stdout: '', stderr: 'ping: ubuntu1: Name or service not known\n', exitCode: 2 });
  });

  test('a container connected to the network on another host resolves', async () => {
    const { result } = await runSim(twoNodes(`  - r0: docker run -dit --name ubuntu0 --network test-net ubuntu:14.04
  - r1: docker run -dit --name ubuntu1 ubuntu:14.04
  - ubuntu0: ping -c 1 ubuntu0
  - r1: docker network connect test-net ubuntu1
  - ubuntu0: ping -c 1 ubuntu1
`));
    expect(lastOutput(result)).toMatchObject({ exitCode: 0 });
  });
});

describe("one DNS scoping rule for sim and emu: libnetwork's, when a name is on several of a container's networks", () => {
  const scenario = twoNodes(`  - r0: docker network create --driver=overlay --attachable b-net
  - r0: docker network create --driver=overlay --attachable a-net
  - r0: docker run -dit --name ubuntu0 --network b-net ubuntu:14.04
  - r0: docker network connect a-net ubuntu0
  - r1: docker run -dit --name ubuntu1 --network b-net ubuntu:14.04
  - r1: docker network connect a-net ubuntu1
  - ubuntu0: nslookup ubuntu1
`);

  test('the first network in the sandbox order (by network name at equal priority) answers, with its address only', async () => {
    const { result, model } = await runSim(scenario);
    const ubuntu1 = Object.values(hostOf(model.world, 'r1').containers).find((c) => c.name === 'ubuntu1')!;
    const ipOn = (net: string) => {
      const n = swarmNetworks(model.world.swarm).find((x) => x.name === net)!;
      return endpointOf(n, ubuntu1.networks.find((a) => a.networkId === n.id)!.endpointId!)!.ip;
    };
    const out = result.steps[result.steps.length - 1].stdout;
    expect(out).toContain(`Address: ${ipOn('a-net')}\n`);
    expect(out).not.toContain(`Address: ${ipOn('b-net')}\n`);
  });

  test("emu's dnsmasq hosts file holds the same answer: ubuntu1 only at its a-net address", async () => {
    const { model } = await runSim(scenario);
    const ubuntu0 = Object.values(hostOf(model.world, 'r0').containers).find((c) => c.name === 'ubuntu0')!;
    const lines = hostsFileFor(model.world, ubuntu0).split('\n').filter((l) => l.split(' ').slice(1).includes('ubuntu1'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^\S+ ubuntu1\.a-net /);
  });
});
