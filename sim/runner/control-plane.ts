/**
 * The host commands of the control planes that ran beside Docker: the cluster store
 * (`etcdctl`), flanneld, and dockerd restarted with flannel's settings or a cluster store. The model answers
 * them (sim/model/drivers/flannel.ts) and the backend carries out the plan ops they emit.
 */
import { Backend, CommandOutput } from '../backend';
import { Model } from '../model/model';
import { etcdGet, etcdPut, etcdSet, FlannelError, readSubnetFile, restartDockerWithFlannel, startFlanneld } from '../model/drivers/flannel';
import { restartDockerWithClusterStore } from '../model/drivers/overlay-kv';
import { DaemonRefusal, NotModelled } from '../model/refusal';
import { Tx } from '../model/tx';
import { NOT_MODELLED_EXIT } from '../commands/registry';

export const CONTROL_PLANE_PROGRAMS: ReadonlySet<string> = new Set(['etcdctl', 'flanneld', 'systemctl', 'cat', 'dockerd']);

/** Runs a change that may refuse: its ops applied when it succeeds, its refusal's text when not. */
async function changing(model: Model, backend: Backend, change: (tx: Tx) => CommandOutput): Promise<CommandOutput> {
  let out: CommandOutput = { stdout: '', stderr: '', exitCode: 0 };
  const ops = model.change((tx) => {
    out = change(tx);
  });
  await backend.apply(ops, model.world);
  return out;
}

export async function controlPlaneCommand(model: Model, backend: Backend, host: string, argv: string[]): Promise<CommandOutput> {
  try {
    const [program, verb, ...rest] = argv;
    if (program === 'cat') return readSubnetFile(model.world, host);
    if (program === 'etcdctl' && verb === 'get') {
      const key = rest.find((a) => a !== '--prefix')!;
      return { stdout: etcdGet(model.world, key, rest.includes('--prefix')), stderr: '', exitCode: 0 };
    }
    if (program === 'etcdctl') {
      const [key, value] = rest;
      return await changing(model, backend, (tx) => ({ stdout: verb === 'set' ? etcdSet(tx, host, key, value) : etcdPut(tx, host, key, value), stderr: '', exitCode: 0 }));
    }
    if (program === 'dockerd') {
      return await changing(model, backend, (tx) => {
        restartDockerWithClusterStore(tx, host, argv.slice(1));
        return { stdout: '', stderr: '', exitCode: 0 };
      });
    }
    if (program === 'flanneld') return await changing(model, backend, (tx) => ({ stdout: '', stderr: startFlanneld(tx, host, argv.includes('--ip-masq')), exitCode: 0 }));
    return await changing(model, backend, (tx) => {
      restartDockerWithFlannel(tx, host);
      return { stdout: '', stderr: '', exitCode: 0 };
    });
  } catch (e) {
    if (e instanceof NotModelled) return { stdout: '', stderr: `cnmlab: ${e.message}\n`, exitCode: NOT_MODELLED_EXIT };
    if (e instanceof FlannelError || e instanceof DaemonRefusal) return { stdout: '', stderr: `${e.message}\n`, exitCode: e instanceof FlannelError && e.notModelled ? NOT_MODELLED_EXIT : 1 };
    throw e;
  }
}
