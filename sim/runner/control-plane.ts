/**
 * dockerd restarted with a cluster store (classic overlay mode), a host command the model
 * answers (sim/model/drivers/overlay-kv.ts); the backend carries out the plan ops it emits.
 */
import { Backend, CommandOutput } from '../backend';
import { Model } from '../model/model';
import { restartDockerWithClusterStore } from '../model/drivers/overlay-kv';
import { DaemonRefusal, NotModelled } from '../model/refusal';
import { NOT_MODELLED_EXIT } from '../commands/registry';
import { changing } from './host-commands';

export const CONTROL_PLANE_PROGRAMS: ReadonlySet<string> = new Set(['dockerd']);

export async function controlPlaneCommand(model: Model, backend: Backend, host: string, argv: string[]): Promise<CommandOutput> {
  try {
    return await changing(model, backend, (tx) => {
      restartDockerWithClusterStore(tx, host, argv.slice(1));
      return { stdout: '', stderr: '', exitCode: 0 };
    });
  } catch (e) {
    if (e instanceof NotModelled) return { stdout: '', stderr: `cnmlab: ${e.message}\n`, exitCode: NOT_MODELLED_EXIT };
    if (e instanceof DaemonRefusal) return { stdout: '', stderr: `${e.message}\n`, exitCode: 1 };
    throw e;
  }
}
