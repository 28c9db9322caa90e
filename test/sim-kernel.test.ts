/** The sim kernel's subsystems, each as Linux has it: netfilter's hook points, the neighbour layer, the embedded DNS. */
import { runLab } from './helpers/run';
import { hostOf } from '../sim/model/world';

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
