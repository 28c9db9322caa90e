/**
 * Flannel's host commands beside Docker, answered by the model (sim/model/drivers/flannel.ts):
 * the store (`etcdctl`), flanneld, its subnet file (`cat /run/flannel/subnet.env`) and
 * dockerd restarted with flannel's drop-in (`systemctl restart docker`); the backend carries
 * out the plan ops they emit. It is the driver's front end: it registers the programs, their
 * forms with the code that answers them, with the shell as it loads (the flannel bundle,
 * `sim/drivers/flannel.ts`, loads it).
 */
import { CommandOutput } from '../backend';
import { form } from '../commands/registry';
import { etcdGet, etcdPut, etcdSet, FlannelError, readSubnetFile, restartDockerWithFlannel, startFlanneld, SUBNET_FILE } from '../model/drivers/flannel';
import { answering, changing, HostCommand, registerHostCommand } from '../runner/host-commands';

/** A refusal of the store or flanneld as each prints it (what cnmlab does not model, answering's modelRefusal prints). */
function flannelRefusal(e: unknown): CommandOutput | undefined {
  if (e instanceof FlannelError) return { stdout: '', stderr: `${e.message}\n`, exitCode: 1 };
  return undefined;
}

/** The command, its refusals printed as the program prints them. */
const answeringFlannel = (run: HostCommand): HostCommand => answering(run, flannelRefusal);

registerHostCommand('flannel', {
  program: 'etcdctl',
  summary: "etcd 3.4's etcdctl against the lab's cluster store (the model's; emu writes each key to a real etcd too); `set` is the v2 API's form of `put`",
  forms: [
    form(['put'], 'etcdctl put KEY VALUE', [], { min: 2, max: 2, names: 'KEY VALUE' }),
    form(['set'], 'etcdctl set KEY VALUE', [], { min: 2, max: 2, names: 'KEY VALUE' }),
    form(['get'], 'etcdctl get KEY [--prefix]', [{ flag: '--prefix', help: 'every key that begins with KEY' }], { min: 1, max: 1, names: 'KEY' }),
  ],
}, { rank: 230 }, answeringFlannel(async (model, backend, host, argv) => {
  const [, verb, ...rest] = argv;
  if (verb === 'get') {
    const key = rest.find((a) => a !== '--prefix')!;
    return { stdout: etcdGet(model.world, key, rest.includes('--prefix')), stderr: '', exitCode: 0 };
  }
  const [key, value] = rest;
  return changing(model, backend, argv, (tx) => ({ stdout: verb === 'set' ? etcdSet(tx, host, key, value) : etcdPut(tx, host, key, value), stderr: '', exitCode: 0 }));
}));

registerHostCommand('flannel', {
  program: 'flanneld',
  summary: `flannel's daemon, modelled (flanneld is not packaged): leases a subnet from the store, writes ${SUBNET_FILE}, programs the vxlan or host-gw backend, and goes on in the background`,
  forms: [form([], 'flanneld [--ip-masq]', [{ flag: '--ip-masq', help: 'masquerade traffic that leaves the flannel network (the FLANNEL-POSTRTG chain)' }])],
}, { rank: 240 }, answeringFlannel((model, backend, host, argv) =>
  changing(model, backend, argv, (tx) => ({ stdout: '', stderr: startFlanneld(tx, host, argv.includes('--ip-masq')), exitCode: 0 }))));

registerHostCommand('flannel', {
  program: 'systemctl',
  summary: `dockerd restarted with flannel's drop-in (--bip=$FLANNEL_SUBNET --mtu=$FLANNEL_MTU from ${SUBNET_FILE}), before any container exists`,
  forms: [form(['restart', 'docker'], 'systemctl restart docker')],
}, { rank: 250 }, answeringFlannel((model, backend, host, argv) => changing(model, backend, argv, (tx) => {
  restartDockerWithFlannel(tx, host);
  return { stdout: '', stderr: '', exitCode: 0 };
})));

registerHostCommand('flannel', {
  program: 'cat', summary: "flanneld's subnet file",
  forms: [form([], `cat ${SUBNET_FILE}`, [], { min: 1, max: 1, names: 'FILE', allowed: [[SUBNET_FILE]] })],
}, { rank: 260 }, answeringFlannel(async (model, _backend, host) => readSubnetFile(model.world, host)));
