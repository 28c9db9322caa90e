/**
 * `docker inspect CONTAINER` as dockerd 20.10 answers it: every key of its ContainerJSON
 * (23 at the top, HostConfig, GraphDriver, Mounts, 17 in Config, 18 in NetworkSettings), in
 * its order. What the model decides (names, ids, addresses, state, times) comes from the
 * model; the rest is what `docker run` with only the flags cnmlab models leaves: Docker's
 * defaults (runc, json-file logs, the default masked paths, no limits).
 */
import { goMap, ofKnownImage } from './format';
import { imageEntrypoint, imageStopSignal, mainArgv, processArgv } from '../model/main-process';
import { hexId, seedFromName } from '../model/ids';
import { Container, daemonTime, endpointOf, formatTime, hostOf, sharesHostNetns, swarmNetwork, World } from '../model/world';
import { isUserDefinedNetworkMode } from '../model/network-mode';
import { driverOf } from '../model/drivers';
import { exposedPorts, hostConfigPortBindings, networkSettingsPorts } from './publish';

const DATA_ROOT = '/var/lib/docker';
/** Go's zero time.Time, which FinishedAt shows until the container stops. */
const ZERO_TIME = '0001-01-01T00:00:00Z';

/**
 * An id the model keeps no record of (the image's digest, the overlay2 layers), derived from
 * what it belongs to so that every run and both modes show the same one.
 */
function derivedId(key: string): string {
  return hexId({ rng: seedFromName(key) }, 64);
}

function hostConfig(c: Container): Record<string, unknown> {
  return {
    // NetworkMode is docker/cli's NetworkOpt.NetworkMode: the first --network as typed (a name, an id, `bridge`), `default` without one; connect and disconnect leave it.
    Binds: null, ContainerIDFile: '', LogConfig: { Type: 'json-file', Config: {} }, NetworkMode: c.networkMode, PortBindings: hostConfigPortBindings(c),
    RestartPolicy: { Name: 'no', MaximumRetryCount: 0 }, AutoRemove: c.autoRemove, VolumeDriver: '', VolumesFrom: null,
    CapAdd: c.capAdd ?? null, CapDrop: null, CgroupnsMode: 'host', Dns: [], DnsOptions: [], DnsSearch: [], ExtraHosts: null, GroupAdd: null,
    IpcMode: 'private', Cgroup: '', Links: null, OomScoreAdj: 0, PidMode: '', Privileged: false, PublishAllPorts: false,
    ReadonlyRootfs: false, SecurityOpt: null, UTSMode: '', UsernsMode: '', ShmSize: 67108864,
    // omitempty: absent without one; a Go map, its keys sorted.
    ...(c.sysctls ? { Sysctls: Object.fromEntries(Object.entries(c.sysctls).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) } : {}),
    Runtime: 'runc', ConsoleSize: [0, 0],
    Isolation: '', CpuShares: 0, Memory: 0, NanoCpus: 0, CgroupParent: '', BlkioWeight: 0, BlkioWeightDevice: [],
    BlkioDeviceReadBps: null, BlkioDeviceWriteBps: null, BlkioDeviceReadIOps: null, BlkioDeviceWriteIOps: null, CpuPeriod: 0,
    CpuQuota: 0, CpuRealtimePeriod: 0, CpuRealtimeRuntime: 0, CpusetCpus: '', CpusetMems: '', Devices: [], DeviceCgroupRules: null,
    DeviceRequests: null, KernelMemory: 0, KernelMemoryTCP: 0, MemoryReservation: 0, MemorySwap: 0, MemorySwappiness: null,
    OomKillDisable: false, PidsLimit: null, Ulimits: null, CpuCount: 0, CpuPercent: 0, IOMaximumIOps: 0, IOMaximumBandwidth: 0,
    MaskedPaths: ['/proc/asound', '/proc/acpi', '/proc/kcore', '/proc/keys', '/proc/latency_stats', '/proc/timer_list', '/proc/timer_stats', '/proc/sched_debug', '/proc/scsi', '/sys/firmware'],
    ReadonlyPaths: ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'],
  };
}

function graphDriver(c: Container): Record<string, unknown> {
  const layer = `${DATA_ROOT}/overlay2/${derivedId(`layer:${c.id}`)}`;
  const image = `${DATA_ROOT}/overlay2/${derivedId(`image-layer:${c.image}`)}`;
  return {
    Data: { LowerDir: `${layer}-init/diff:${image}/diff`, MergedDir: `${layer}/merged`, UpperDir: `${layer}/diff`, WorkDir: `${layer}/work` },
    Name: 'overlay2',
  };
}

/**
 * A container's aliases on a user-defined network as updateNetworkConfig leaves them: those asked
 * for, then its short id and its hostname, each appended unless already there (the container's
 * name, "/" and all, never equals its hostname, so the hostname is always asked about). On bridge,
 * host and none the list stays as asked (none).
 */
function endpointAliases(c: Container, asked: readonly string[]): string[] {
  const aliases = [...asked];
  for (const name of [c.id.slice(0, 12), c.hostname]) if (!aliases.includes(name)) aliases.push(name);
  return aliases;
}

/**
 * `docker inspect CONTAINER`: one element of the array the CLI prints. `pid`: the real process
 * holding the running container's namespaces (emu's), instead of the model's.
 */
export function containerInspectObject(w: World, c: Container, pid?: number): Record<string, unknown> {
  const networks: Record<string, Record<string, unknown>> = {};
  for (const n of c.networks) {
    const net = swarmNetwork(w.swarm, n.networkId) ?? hostOf(w, c.host).localNetworks[n.networkId];
    if (!net) continue;
    const ep = n.endpointId ? endpointOf(net, n.endpointId) : undefined;
    // A swarm network's address comes from the manager (the attachment task), and dockerd
    // copies it into the endpoint's IPAMConfig as if it had been asked for; it clears it again
    // when the container stops, unless the user did ask (--ip).
    const requested = n.ip ?? (ep && swarmNetwork(w.swarm, net.id) ? ep.ip : undefined);
    networks[net.name] = {
      IPAMConfig: requested ? { IPv4Address: requested } : null,
      Links: null,
      Aliases: isUserDefinedNetworkMode(net.name) ? endpointAliases(c, n.aliases) : null,
      NetworkID: net.id,
      EndpointID: ep?.id ?? '',
      Gateway: ep && driverOf(net).providesGateway ? net.ipam.gateway : '',
      IPAddress: ep?.ip ?? '',
      IPPrefixLen: ep?.prefixLength ?? 0,
      IPv6Gateway: '',
      GlobalIPv6Address: '',
      GlobalIPv6PrefixLen: 0,
      MacAddress: ep?.mac ?? '',
      DriverOpts: null,
    };
  }
  const running = c.state === 'running';
  // A sandbox was made for it once (running, or removed by its stop); never for one whose start was refused.
  const hadSandbox = c.sandboxState !== 'created';
  // Read only when printed: what an unknown image decides is refused, and a template that does not name it still runs.
  const argv = () => ofKnownImage(c, processArgv(c));
  const dir = `${DATA_ROOT}/containers/${c.id}`;
  const declaredStopSignal = imageStopSignal(c.image);
  // The default bridge's endpoint is also shown at the top of NetworkSettings (the legacy fields).
  const legacy = networks.bridge;
  return {
    Id: c.id,
    Created: formatTime(daemonTime(c.createdNs, c.id)),
    get Path() {
      return argv()[0];
    },
    get Args() {
      return argv().slice(1);
    },
    State: {
      Status: c.state, Running: running, Paused: false, Restarting: false, OOMKilled: false, Dead: false, Pid: pid ?? c.pid ?? 0, ExitCode: c.state === 'exited' || c.state === 'created' ? c.exitCode ?? 0 : 0, Error: c.startError ?? '',
      StartedAt: c.startedNs ? formatTime(daemonTime(c.startedNs, `start:${c.id}`)) : ZERO_TIME, FinishedAt: c.finishedNs ? formatTime(daemonTime(c.finishedNs, `finish:${c.id}`)) : ZERO_TIME,
    },
    Image: `sha256:${derivedId(`image:${c.image}`)}`,
    ResolvConfPath: `${dir}/resolv.conf`,
    HostnamePath: `${dir}/hostname`,
    HostsPath: `${dir}/hosts`,
    LogPath: `${dir}/${c.id}-json.log`,
    Name: `/${c.name}`,
    RestartCount: 0,
    Driver: 'overlay2',
    Platform: 'linux',
    MountLabel: '',
    ProcessLabel: '',
    AppArmorProfile: '',
    ExecIDs: null,
    HostConfig: hostConfig(c),
    GraphDriver: graphDriver(c),
    Mounts: [],
    Config: {
      // docker/cli's parse: an attached run takes the container's stdout and stderr, and with -i its
      // stdin, closed when the client goes (StdinOnce); -d attaches nothing (v20.10 run.go).
      Hostname: c.hostname, Domainname: '', User: '', AttachStdin: c.attached && c.openStdin, AttachStdout: c.attached, AttachStderr: c.attached,
      // omitempty: the published ports (docker/cli's parse puts every -p port in it), absent without one.
      ...(exposedPorts(c) && { ExposedPorts: exposedPorts(c) }),
      Tty: c.tty, OpenStdin: c.openStdin, StdinOnce: c.attached && c.openStdin, Env: null, get Cmd() {
        return ofKnownImage(c, mainArgv(c.image, c.command));
      }, Image: c.image, Volumes: null,
      WorkingDir: '', get Entrypoint() {
        return ofKnownImage(c, imageEntrypoint(c.image));
      }, OnBuild: null, Labels: {},
      // Go's omitempty: shown only for an image that declares one (nginx's SIGQUIT).
      ...(declaredStopSignal && { StopSignal: declaredStopSignal }),
    },
    NetworkSettings: {
      Bridge: '',
      // A stopped container keeps its last sandbox's id and key (releaseNetwork deletes the sandbox, not the settings): its start draws new ones.
      SandboxID: hadSandbox ? c.sandboxId : '',
      HairpinMode: false,
      LinkLocalIPv6Address: '',
      LinkLocalIPv6PrefixLen: 0,
      Ports: networkSettingsPorts(c),
      // --network host: libnetwork's default sandbox, whose key names the host's namespace (osl.GenerateKey("default")).
      SandboxKey: hadSandbox ? `/var/run/docker/netns/${sharesHostNetns(c) ? 'default' : c.sandbox}` : '',
      SecondaryIPAddresses: null,
      SecondaryIPv6Addresses: null,
      EndpointID: legacy?.EndpointID ?? '',
      Gateway: legacy?.Gateway ?? '',
      GlobalIPv6Address: '',
      GlobalIPv6PrefixLen: 0,
      IPAddress: legacy?.IPAddress ?? '',
      IPPrefixLen: legacy?.IPPrefixLen ?? 0,
      IPv6Gateway: '',
      MacAddress: legacy?.MacAddress ?? '',
      Networks: goMap(networks),
    },
  };
}
