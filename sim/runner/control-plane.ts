/**
 * dockerd's own lifecycle as host commands the model answers: stopped or started by systemd
 * (`systemctl stop|start docker`, sim/model/dockerd.ts), and restarted with a cluster store
 * (classic overlay mode, sim/model/drivers/overlay-kv.ts); the backend carries out the plan
 * ops they emit. The engine belongs to no driver, so no driver's bundle loads this file: the
 * shell (sim/runner/shell.ts) does, and so does what lists the registry without a shell
 * (scripts/commands-doc.ts). It registers its rows as the drivers' front ends do, after
 * theirs (its flannel restart, `systemctl restart docker`, is flannel's row).
 */
import { form } from '../commands/registry';
import { restartDockerWithClusterStore } from '../model/drivers/overlay-kv';
import { startDockerd, stopDockerd } from '../model/dockerd';
import { answering, changing, registerHostCommand } from './host-commands';

registerHostCommand('dockerd', {
  program: 'systemctl',
  summary: 'dockerd stopped (its containers stopped, a swarm node leaving NetworkDB) and started again (rejoining it); the lab\'s hosts run dockerd without socket activation (docker.io-style units, or `systemctl disable --now docker.socket`), so a stopped daemon stays stopped until started',
  forms: [form(['stop', 'docker'], 'systemctl stop docker'), form(['start', 'docker'], 'systemctl start docker')],
}, { rank: 900 }, answering((model, backend, host, argv) => changing(model, backend, argv, (tx) => {
  const verb = argv[1];
  if (verb === 'stop') stopDockerd(tx, host, backend.elapsedNs());
  else startDockerd(tx, host);
  return { stdout: '', stderr: '', exitCode: 0 };
})));

registerHostCommand('dockerd', {
  program: 'dockerd',
  summary: "Docker 20.10's daemon restarted with a cluster store (classic overlay mode), before any container exists, going on in the background; `docker info` shows the store and the advertised address. Its overlay networks are not modelled yet",
  forms: [form([], 'dockerd --cluster-store=etcd://HOST:PORT --cluster-advertise=eth0:PORT', [
    { flag: '--cluster-store', arg: 'URL', help: 'the key-value store (etcd:// or consul://)' },
    { flag: '--cluster-advertise', arg: 'IFACE:PORT', help: 'the address other daemons reach this one at (eth0:PORT or ADDRESS:PORT)' },
  ])],
}, { rank: 910 }, answering((model, backend, host, argv) => changing(model, backend, argv, (tx) => {
  restartDockerWithClusterStore(tx, host, argv.slice(1));
  return { stdout: '', stderr: '', exitCode: 0 };
})));
