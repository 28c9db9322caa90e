/**
 * Flannel's host commands beside Docker, answered by the model (sim/model/drivers/flannel.ts):
 * the store (`etcdctl`), flanneld, its subnet file (`cat /run/flannel/subnet.env`) and
 * dockerd restarted with flannel's drop-in (`systemctl restart docker`); the backend carries
 * out the plan ops they emit. It is the driver's front end: it registers the programs with
 * the shell as it loads (the flannel bundle, `sim/drivers/flannel.ts`, loads it).
 */
import { CommandOutput } from '../backend';
import { NOT_MODELLED_EXIT } from '../commands/registry';
import { etcdGet, etcdPut, etcdSet, FlannelError, readSubnetFile, restartDockerWithFlannel, startFlanneld } from '../model/drivers/flannel';
import { DaemonRefusal, NotModelled } from '../model/refusal';
import { changing, HostCommand, registerHostCommand } from '../runner/host-commands';

/** A refusal of the store, flanneld or the daemon, as each prints it; a part cnmlab does not model says so (exit 127). */
function refused(e: unknown): CommandOutput | undefined {
  if (e instanceof NotModelled) return { stdout: '', stderr: `cnmlab: ${e.message}\n`, exitCode: NOT_MODELLED_EXIT };
  if (e instanceof FlannelError || e instanceof DaemonRefusal) return { stdout: '', stderr: `${e.message}\n`, exitCode: e instanceof FlannelError && e.notModelled ? NOT_MODELLED_EXIT : 1 };
  return undefined;
}

/** The command, its refusals printed as the program prints them. */
const answering = (run: HostCommand): HostCommand => async (model, backend, host, argv) => {
  try {
    return await run(model, backend, host, argv);
  } catch (e) {
    const out = refused(e);
    if (!out) throw e;
    return out;
  }
};

registerHostCommand('etcdctl', 'flannel', answering(async (model, backend, host, [, verb, ...rest]) => {
  if (verb === 'get') {
    const key = rest.find((a) => a !== '--prefix')!;
    return { stdout: etcdGet(model.world, key, rest.includes('--prefix')), stderr: '', exitCode: 0 };
  }
  const [key, value] = rest;
  return changing(model, backend, (tx) => ({ stdout: verb === 'set' ? etcdSet(tx, host, key, value) : etcdPut(tx, host, key, value), stderr: '', exitCode: 0 }));
}));

registerHostCommand('flanneld', 'flannel', answering((model, backend, host, argv) =>
  changing(model, backend, (tx) => ({ stdout: '', stderr: startFlanneld(tx, host, argv.includes('--ip-masq')), exitCode: 0 }))));

registerHostCommand('systemctl', 'flannel', answering((model, backend, host) => changing(model, backend, (tx) => {
  restartDockerWithFlannel(tx, host);
  return { stdout: '', stderr: '', exitCode: 0 };
})));

registerHostCommand('cat', 'flannel', answering(async (model, _backend, host) => readSubnetFile(model.world, host)));
