/**
 * `docker info` as the 20.10 CLI prints it for the engine cnmlab models (Debian's
 * docker.io 20.10.24 with containerd and runc, overlay2 on ext4, cgroup v1, json-file logs):
 * the counts and the Swarm section come from the model; the kernel, CPUs and memory are the
 * machine's own, in sim as in emu, since a scenario host stands on this machine.
 */
import { Machine, thisMachine } from './machine';
import { randomUint32, seedFromName } from '../model/ids';
import { clusterInfoLines } from '../model/drivers/overlay-kv';
import { hostOf, World } from '../model/world';

/** go-units BytesSize: binary units, four significant digits (`23.54GiB`). */
export function bytesSize(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let i = 0;
  let v = bytes;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${Number(v.toPrecision(4))}${units[i]}`;
}

/** The engine ID (libtrust key id): 12 groups of 4 base-32 characters, made once per daemon; derived from the host's name. */
function engineId(host: string): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  const rng = { rng: seedFromName(`engine:${host}`) };
  const groups: string[] = [];
  for (let g = 0; g < 12; g++) {
    let s = '';
    for (let i = 0; i < 4; i++) s += alphabet[randomUint32(rng) % 32];
    groups.push(s);
  }
  return groups.join(':');
}

function swarmSection(w: World, host: string): string[] {
  const h = hostOf(w, host);
  const swarm = w.swarm;
  if (!swarm || (h.nodeState !== 'manager' && h.nodeState !== 'worker')) return [' Swarm: inactive'];
  const managers = swarm.nodes.filter((n) => hostOf(w, n).nodeState === 'manager');
  const lines = [' Swarm: active', `  NodeID: ${h.nodeId}`, `  Is Manager: ${h.nodeState === 'manager'}`];
  if (h.nodeState === 'manager') {
    lines.push(
      `  ClusterID: ${swarm.id}`,
      `  Managers: ${managers.length}`,
      // Every node the manager's store holds (ListNodes): a worker that left, until `docker node rm`, too.
      `  Nodes: ${swarm.nodes.length + swarm.departed.length}`,
      // The CLI writes each pool followed by a space, and one more after the list.
      `  Default Address Pool: ${swarm.addrPool}  `,
      `  SubnetSize: ${swarm.addrPoolMaskLength}`,
      `  Data Path Port: ${swarm.dataPathPort}`,
      '  Orchestration:',
      '   Task History Retention Limit: 5',
      '  Raft:',
      '   Snapshot Interval: 10000',
      '   Number of Old Snapshots to Retain: 0',
      '   Heartbeat Tick: 1',
      '   Election Tick: 10',
      '  Dispatcher:',
      '   Heartbeat Period: 5 seconds',
      '  CA Configuration:',
      '   Expiry Duration: 3 months',
      '   Force Rotate: 0',
      '  Autolock Managers: false',
      '  Root Rotation In Progress: false',
    );
  }
  lines.push(`  Node Address: ${h.underlay}`, '  Manager Addresses:', ...managers.map((m) => `   ${hostOf(w, m).underlay}:2377`));
  return lines;
}

export function dockerInfo(w: World, host: string, machine: Machine = thisMachine()): string {
  const containers = Object.values(hostOf(w, host).containers);
  const running = containers.filter((c) => c.state === 'running').length;
  const images = new Set(containers.map((c) => c.image)).size;
  const lines = [
    'Client:',
    ' Context:    default',
    ' Debug Mode: false',
    '',
    'Server:',
    ` Containers: ${containers.length}`,
    `  Running: ${running}`,
    '  Paused: 0',
    `  Stopped: ${containers.length - running}`,
    ` Images: ${images}`,
    ' Server Version: 20.10.24+dfsg1',
    ' Storage Driver: overlay2',
    '  Backing Filesystem: extfs',
    '  Supports d_type: true',
    '  Native Overlay Diff: true',
    '  userxattr: false',
    ' Logging Driver: json-file',
    ' Cgroup Driver: cgroupfs',
    ' Cgroup Version: 1',
    ' Plugins:',
    '  Volume: local',
    '  Network: bridge host ipvlan macvlan null overlay',
    '  Log: awslogs fluentd gcplogs gelf journald json-file local logentries splunk syslog',
    ...swarmSection(w, host),
    ' Runtimes: io.containerd.runc.v2 io.containerd.runtime.v1.linux runc',
    ' Default Runtime: runc',
    ' Init Binary: docker-init',
    ' containerd version: 1.6.20~ds1-1+deb12u3',
    ' runc version: 1.1.5+ds1-1+deb12u1',
    ' init version: ',
    ' Security Options:',
    '  seccomp',
    '   Profile: default',
    ` Kernel Version: ${machine.kernel}`,
    ` Operating System: ${machine.operatingSystem}`,
    ' OSType: linux',
    ` Architecture: ${machine.architecture}`,
    ` CPUs: ${machine.cpus}`,
    ` Total Memory: ${bytesSize(machine.memoryBytes)}`,
    ` Name: ${host}`,
    ` ID: ${engineId(host)}`,
    ' Docker Root Dir: /var/lib/docker',
    ' Debug Mode: false',
    ' Registry: https://index.docker.io/v1/',
    ' Labels:',
    ' Experimental: false',
    ...clusterInfoLines(hostOf(w, host)),
    ' Insecure Registries:',
    '  127.0.0.0/8',
    ' Live Restore Enabled: false',
    '',
  ];
  return lines.join('\n') + '\n';
}
