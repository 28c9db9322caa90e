/**
 * dockerd's own lifecycle as host commands the model answers: restarted with a cluster store
 * (classic overlay mode, sim/model/drivers/overlay-kv.ts), and stopped or started by systemd
 * (`systemctl stop|start docker`, sim/model/dockerd.ts); the backend carries out the plan ops
 * they emit.
 */
import { Backend, CommandOutput } from '../backend';
import { Model } from '../model/model';
import { restartDockerWithClusterStore } from '../model/drivers/overlay-kv';
import { startDockerd, stopDockerd } from '../model/dockerd';
import { DaemonRefusal, NotModelled } from '../model/refusal';
import { NOT_MODELLED_EXIT } from '../commands/registry';
import { changing } from './host-commands';

export const CONTROL_PLANE_PROGRAMS: ReadonlySet<string> = new Set(['dockerd']);

/** `systemctl stop docker` or `systemctl start docker` (restart is flannel's drop-in, sim/flannel/flanneld.ts). */
export function isDockerServiceCommand(argv: string[]): boolean {
  return argv[0] === 'systemctl' && (argv[1] === 'stop' || argv[1] === 'start') && argv[2] === 'docker' && argv.length === 3;
}

export async function controlPlaneCommand(model: Model, backend: Backend, host: string, argv: string[]): Promise<CommandOutput> {
  try {
    return await changing(model, backend, (tx) => {
      if (argv[0] === 'systemctl') {
        if (argv[1] === 'stop') stopDockerd(tx, host, backend.elapsedNs());
        else startDockerd(tx, host);
      } else {
        restartDockerWithClusterStore(tx, host, argv.slice(1));
      }
      return { stdout: '', stderr: '', exitCode: 0 };
    });
  } catch (e) {
    if (e instanceof NotModelled) return { stdout: '', stderr: `cnmlab: ${e.message}\n`, exitCode: NOT_MODELLED_EXIT };
    if (e instanceof DaemonRefusal) return { stdout: '', stderr: `${e.message}\n`, exitCode: 1 };
    throw e;
  }
}
