/**
 * The Go types of the documents `docker inspect` decodes (Docker 20.10's api/types:
 * ContainerJSON, NetworkResource and what they hold), as far as a `--format` template can
 * tell them apart. docker/cli runs the template on the typed struct first, so a field's Go
 * type decides what it prints: a nil slice `[]`, a nil map `map[]`, a nil pointer `<nil>`,
 * a time.Time its String(). Fields are listed in their struct's order with their Go names
 * (`ID`, `DNS`, `CPUShares`: not the JSON names, which a typed template cannot reach);
 * `json` is the JSON key when it differs. An embedded struct's fields are inlined in the
 * JSON object and promoted in templates, but %v prints it as a struct of its own.
 */
export type GoType =
  | { kind: 'string' }
  | { kind: 'int' }
  | { kind: 'bool' }
  | { kind: 'time' }
  | { kind: 'emptyStruct' }
  | { kind: 'slice'; elem: GoType }
  | { kind: 'map'; elem: GoType }
  | { kind: 'pointer'; elem: GoType }
  | { kind: 'struct'; name: string; fields: GoField[] };

export interface GoField {
  name: string;
  type: GoType;
  json?: string;
  embedded?: boolean;
}

const STRING: GoType = { kind: 'string' };
const INT: GoType = { kind: 'int' };
const BOOL: GoType = { kind: 'bool' };
const TIME: GoType = { kind: 'time' };
const sliceOf = (elem: GoType): GoType => ({ kind: 'slice', elem });
const mapOf = (elem: GoType): GoType => ({ kind: 'map', elem });
const pointerTo = (elem: GoType): GoType => ({ kind: 'pointer', elem });
const STRINGS = sliceOf(STRING);
const STRING_MAP = mapOf(STRING);

/** A struct from `Name: type` pairs; `Go=JSON` names a field whose JSON key differs, `*` marks an embedded one. */
function struct(name: string, fields: [string, GoType][]): GoType {
  return {
    kind: 'struct', name,
    fields: fields.map(([spec, type]) => {
      const embedded = spec.startsWith('*');
      const [goName, json] = spec.replace(/^\*/, '').split('=');
      return { name: goName, type, ...(json ? { json } : {}), ...(embedded ? { embedded } : {}) };
    }),
  };
}

/** The fields whose values cnmlab never fills (always empty) still need their type for printing. */
const OPAQUE = struct('opaque', []);

const THROTTLE_DEVICES = sliceOf(pointerTo(struct('ThrottleDevice', [['Path', STRING], ['Rate', INT]])));

const RESOURCES = struct('Resources', [
  ['CPUShares=CpuShares', INT], ['Memory', INT], ['NanoCPUs=NanoCpus', INT], ['CgroupParent', STRING], ['BlkioWeight', INT],
  ['BlkioWeightDevice', sliceOf(pointerTo(struct('WeightDevice', [['Path', STRING], ['Weight', INT]])))],
  ['BlkioDeviceReadBps', THROTTLE_DEVICES], ['BlkioDeviceWriteBps', THROTTLE_DEVICES], ['BlkioDeviceReadIOps', THROTTLE_DEVICES], ['BlkioDeviceWriteIOps', THROTTLE_DEVICES],
  ['CPUPeriod=CpuPeriod', INT], ['CPUQuota=CpuQuota', INT], ['CPURealtimePeriod=CpuRealtimePeriod', INT], ['CPURealtimeRuntime=CpuRealtimeRuntime', INT],
  ['CpusetCpus', STRING], ['CpusetMems', STRING],
  ['Devices', sliceOf(struct('DeviceMapping', [['PathOnHost', STRING], ['PathInContainer', STRING], ['CgroupPermissions', STRING]]))],
  ['DeviceCgroupRules', STRINGS], ['DeviceRequests', sliceOf(OPAQUE)], ['KernelMemory', INT], ['KernelMemoryTCP', INT], ['MemoryReservation', INT],
  ['MemorySwap', INT], ['MemorySwappiness', pointerTo(INT)], ['OomKillDisable', pointerTo(BOOL)], ['PidsLimit', pointerTo(INT)],
  ['Ulimits', sliceOf(pointerTo(struct('Ulimit', [['Name', STRING], ['Hard', INT], ['Soft', INT]])))],
  ['CPUCount=CpuCount', INT], ['CPUPercent=CpuPercent', INT], ['IOMaximumIOps', INT], ['IOMaximumBandwidth', INT],
]);

const HOST_CONFIG = struct('HostConfig', [
  ['Binds', STRINGS], ['ContainerIDFile', STRING], ['LogConfig', struct('LogConfig', [['Type', STRING], ['Config', STRING_MAP]])], ['NetworkMode', STRING],
  ['PortBindings', mapOf(sliceOf(struct('PortBinding', [['HostIP=HostIp', STRING], ['HostPort', STRING]])))],
  ['RestartPolicy', struct('RestartPolicy', [['Name', STRING], ['MaximumRetryCount', INT]])], ['AutoRemove', BOOL], ['VolumeDriver', STRING], ['VolumesFrom', STRINGS],
  ['CapAdd', STRINGS], ['CapDrop', STRINGS], ['CgroupnsMode', STRING], ['DNS=Dns', STRINGS], ['DNSOptions=DnsOptions', STRINGS], ['DNSSearch=DnsSearch', STRINGS],
  ['ExtraHosts', STRINGS], ['GroupAdd', STRINGS], ['IpcMode', STRING], ['Cgroup', STRING], ['Links', STRINGS], ['OomScoreAdj', INT], ['PidMode', STRING],
  ['Privileged', BOOL], ['PublishAllPorts', BOOL], ['ReadonlyRootfs', BOOL], ['SecurityOpt', STRINGS], ['StorageOpt', STRING_MAP], ['Tmpfs', STRING_MAP],
  ['UTSMode', STRING], ['UsernsMode', STRING], ['ShmSize', INT], ['Sysctls', STRING_MAP], ['Runtime', STRING], ['ConsoleSize', sliceOf(INT)], ['Isolation', STRING],
  ['*Resources', RESOURCES], ['Mounts', sliceOf(OPAQUE)], ['MaskedPaths', STRINGS], ['ReadonlyPaths', STRINGS], ['Init', pointerTo(BOOL)],
]);

const CONTAINER_STATE = struct('ContainerState', [
  ['Status', STRING], ['Running', BOOL], ['Paused', BOOL], ['Restarting', BOOL], ['OOMKilled', BOOL], ['Dead', BOOL], ['Pid', INT], ['ExitCode', INT],
  ['Error', STRING], ['StartedAt', STRING], ['FinishedAt', STRING], ['Health', pointerTo(OPAQUE)],
]);

const CONTAINER_JSON_BASE = struct('ContainerJSONBase', [
  ['ID=Id', STRING], ['Created', STRING], ['Path', STRING], ['Args', STRINGS], ['State', pointerTo(CONTAINER_STATE)], ['Image', STRING],
  ['ResolvConfPath', STRING], ['HostnamePath', STRING], ['HostsPath', STRING], ['LogPath', STRING], ['Node', pointerTo(OPAQUE)], ['Name', STRING],
  ['RestartCount', INT], ['Driver', STRING], ['Platform', STRING], ['MountLabel', STRING], ['ProcessLabel', STRING], ['AppArmorProfile', STRING],
  ['ExecIDs', STRINGS], ['HostConfig', pointerTo(HOST_CONFIG)], ['GraphDriver', struct('GraphDriverData', [['Data', STRING_MAP], ['Name', STRING]])],
  ['SizeRw', pointerTo(INT)], ['SizeRootFs', pointerTo(INT)],
]);

const CONFIG = struct('Config', [
  ['Hostname', STRING], ['Domainname', STRING], ['User', STRING], ['AttachStdin', BOOL], ['AttachStdout', BOOL], ['AttachStderr', BOOL],
  ['ExposedPorts', mapOf({ kind: 'emptyStruct' })], ['Tty', BOOL], ['OpenStdin', BOOL], ['StdinOnce', BOOL], ['Env', STRINGS], ['Cmd', STRINGS],
  ['Healthcheck', pointerTo(OPAQUE)], ['ArgsEscaped', BOOL], ['Image', STRING], ['Volumes', mapOf({ kind: 'emptyStruct' })], ['WorkingDir', STRING],
  ['Entrypoint', STRINGS], ['NetworkDisabled', BOOL], ['MacAddress', STRING], ['OnBuild', STRINGS], ['Labels', STRING_MAP], ['StopSignal', STRING],
  ['StopTimeout', pointerTo(INT)], ['Shell', STRINGS],
]);

const ADDRESSES = sliceOf(struct('Address', [['Addr', STRING], ['PrefixLen', INT]]));

const ENDPOINT_SETTINGS = struct('EndpointSettings', [
  ['IPAMConfig', pointerTo(struct('EndpointIPAMConfig', [['IPv4Address', STRING], ['IPv6Address', STRING], ['LinkLocalIPs', STRINGS]]))],
  ['Links', STRINGS], ['Aliases', STRINGS], ['NetworkID', STRING], ['EndpointID', STRING], ['Gateway', STRING], ['IPAddress', STRING], ['IPPrefixLen', INT],
  ['IPv6Gateway', STRING], ['GlobalIPv6Address', STRING], ['GlobalIPv6PrefixLen', INT], ['MacAddress', STRING], ['DriverOpts', STRING_MAP],
]);

const NETWORK_SETTINGS = struct('NetworkSettings', [
  ['*NetworkSettingsBase', struct('NetworkSettingsBase', [
    ['Bridge', STRING], ['SandboxID', STRING], ['HairpinMode', BOOL], ['LinkLocalIPv6Address', STRING], ['LinkLocalIPv6PrefixLen', INT],
    ['Ports', mapOf(sliceOf(struct('PortBinding', [['HostIP=HostIp', STRING], ['HostPort', STRING]])))], ['SandboxKey', STRING],
    ['SecondaryIPAddresses', ADDRESSES], ['SecondaryIPv6Addresses', ADDRESSES],
  ])],
  ['*DefaultNetworkSettings', struct('DefaultNetworkSettings', [
    ['EndpointID', STRING], ['Gateway', STRING], ['GlobalIPv6Address', STRING], ['GlobalIPv6PrefixLen', INT], ['IPAddress', STRING], ['IPPrefixLen', INT],
    ['IPv6Gateway', STRING], ['MacAddress', STRING],
  ])],
  ['Networks', mapOf(pointerTo(ENDPOINT_SETTINGS))],
]);

/** types.ContainerJSON: what `docker inspect CONTAINER` decodes. */
export const CONTAINER_JSON: GoType = struct('ContainerJSON', [
  ['*ContainerJSONBase', pointerTo(CONTAINER_JSON_BASE)], ['Mounts', sliceOf(OPAQUE)], ['Config', pointerTo(CONFIG)], ['NetworkSettings', pointerTo(NETWORK_SETTINGS)],
]);

/** types.NetworkResource: what `docker network inspect` (and `docker inspect NETWORK`) decodes. */
export const NETWORK_RESOURCE: GoType = struct('NetworkResource', [
  ['Name', STRING], ['ID=Id', STRING], ['Created', TIME], ['Scope', STRING], ['Driver', STRING], ['EnableIPv6', BOOL],
  ['IPAM', struct('IPAM', [
    ['Driver', STRING], ['Options', STRING_MAP],
    ['Config', sliceOf(struct('IPAMConfig', [['Subnet', STRING], ['IPRange', STRING], ['Gateway', STRING], ['AuxAddress=AuxiliaryAddresses', STRING_MAP]]))],
  ])],
  ['Internal', BOOL], ['Attachable', BOOL], ['Ingress', BOOL], ['ConfigFrom', struct('ConfigReference', [['Network', STRING]])], ['ConfigOnly', BOOL],
  ['Containers', mapOf(struct('EndpointResource', [['Name', STRING], ['EndpointID', STRING], ['MacAddress', STRING], ['IPv4Address', STRING], ['IPv6Address', STRING]]))],
  ['Options', STRING_MAP], ['Labels', STRING_MAP], ['Peers', sliceOf(struct('PeerInfo', [['Name', STRING], ['IP', STRING]]))],
  ['Services', mapOf(struct('ServiceInfo', [
    ['VIP', STRING], ['Ports', STRINGS], ['LocalLBIndex', INT],
    ['Tasks', sliceOf(struct('Task', [['Name', STRING], ['EndpointID', STRING], ['EndpointIP', STRING], ['Info', STRING_MAP]]))],
  ]))],
]);
