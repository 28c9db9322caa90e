/** Containers and their sandboxes: run, connect, disconnect, stop, rm. */
import { Draft } from 'immer';
import { createEndpoint, gwbridgeOf, joinEndpoint, removeEndpoint } from './endpoints';
import { addNamespace, bindDefaultSandbox, delNamespace, RESOLV_CONF_EMBEDDED } from './sandbox';
import { sandboxResolvConf } from './resolvconf';
import { embeddedDnsRules, resolverPorts } from './firewall';
import { resolverSocketsOpen } from './listeners';
import { publishPorts, unpublishPorts } from './ports';
import { ensureGwbridge } from './swarm';
import { driverOf } from './drivers';
import { advance, containerMachine, initialState, sandboxMachine } from './machines';
import { allNetworks, findNetwork, lookUpNetwork, Tx } from './tx';
import { DaemonRefusal, NotModelled } from './refusal';
import { exitsAtOnce } from './main-process';
import { hexId } from './ids';
import { claim } from './ipam';
import { contains, ipv4ToNumber, isIpv4, parseCidr } from '../wire/addr';
import { isQueryableName } from '../wire/dns';
import { Container, PortBinding, containerNetns, endpointOf, endpointsOf, hostOf, inSwarm, Network, sharesHostNetns, swarmNetwork } from './world';
import { isUserDefinedNetworkMode } from './network-mode';
import { imageLacks } from '../commands/registry';

/** A lab's host has no /etc/resolv.conf (etc.ts), so libnetwork's filter of it gives Google's two servers: the same text for every such container. */
const HOSTLESS_RESOLV_CONF = sandboxResolvConf(undefined);

export interface RunRequest {
  name?: string;
  image: string;
  command: string[];
  network?: string;
  aliases: string[];
  ip?: string;
  hostname?: string;
  autoRemove: boolean;
  openStdin: boolean;
  tty: boolean;
  attached: boolean;
  /** --cap-add's values as typed (capabilities.ts: only NET_ADMIN reaches the model). */
  capAdd?: string[];
  /** --sysctl's keys and values (sim/docker/run-sysctl.ts: only keys the kernel models reach the model). */
  sysctls?: Record<string, string>;
  /** -p's bindings as docker/cli parsed them (sim/docker/publish.ts). */
  portBindings?: PortBinding[];
  /** The client's stdin is a terminal (the lab's), which stays open; a scenario step's input is at its end. */
  clientTerminal: boolean;
}

/**
 * Names a resolver can be asked for: Docker's own name characters ([a-zA-Z0-9][a-zA-Z0-9_.-])
 * in DNS's lengths. Docker 20.10 takes any alias, but one outside these (a newline, a space)
 * can never be asked for by name, and would reach a hosts file verbatim: cnmlab refuses it,
 * saying it is cnmlab's rule, not Docker's.
 */
const ALIAS_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

function checkAliases(aliases: string[]): void {
  for (const a of aliases) {
    if (!ALIAS_RE.test(a) || !isQueryableName(a)) {
      throw new NotModelled(`network alias ${JSON.stringify(a)} is not a DNS name: only [a-zA-Z0-9][a-zA-Z0-9_.-], labels of at most 63 characters, are taken here (Docker 20.10 takes it, but no resolver can ask for it)`);
    }
  }
}

function networkOf(tx: Tx, id: string, host: string): Draft<Network> {
  return swarmNetwork(tx.w.swarm, id) ?? tx.host(host).localNetworks[id];
}

/** A network whose containers cnmlab does not model is refused before anything is made for the container. */
function refuseUnmodelledDriver(found: Network | undefined): void {
  const why = found && driverOf(found).containersNotModelled;
  if (why) throw new NotModelled(why);
}

/**
 * The daemon's validateNetworkingConfig (moby v20.10 daemon/container_operations.go), as it
 * connects a container to a network, before any endpoint is made: an address or an alias
 * only on a user-defined network, and an address only where the network's subnet was asked
 * for (--subnet, or a swarm network's).
 */
function validateNetworkingConfig(net: Network | Draft<Network>, aliases: readonly string[], ip: string | undefined, stage?: 'start'): void {
  if (!isUserDefinedNetworkMode(net.name)) {
    if (ip) throw new DaemonRefusal('user specified IP address is supported on user defined networks only', stage);
    if (aliases.length) throw new DaemonRefusal('network-scoped alias is supported only for containers in user defined networks', stage);
  }
  if (ip && !net.subnetConfigured) throw new DaemonRefusal('user specified IP address is supported only when connecting to networks with user configured subnets', stage);
}

const CONFLICT_HOST_NETWORK = 'container cannot be disconnected from host network or connected to host network';

/**
 * The daemon's updateNetworkSettings (moby v20.10 daemon/container_operations.go), as `docker
 * network connect` records a network: the host network (the only one of the host driver) is
 * joined only by a container run with --network host (HostConfig.NetworkMode, whatever it is
 * connected to now), and shares with nothing; `none` stays alone.
 */
function checkNetworkModes(tx: Tx, c: Draft<Container>, net: Network | Draft<Network>): void {
  if (net.name === 'host' && !sharesHostNetns(c)) throw new DaemonRefusal(CONFLICT_HOST_NETWORK);
  const names = c.networks.map((n) => networkOf(tx, n.networkId, c.host).name);
  for (const other of names) {
    if (other === 'host' || net.name === 'host') throw new DaemonRefusal('container sharing network namespace with another container or host cannot be connected to any other network');
    if (other === 'none' || net.name === 'none') throw new DaemonRefusal('container cannot be connected to multiple networks with one of the networks in private (none) mode');
  }
}

/** How long the daemon waits for the manager to allocate a swarm network attachment (swarmRequestTimeout). */
const SWARM_REQUEST_TIMEOUT_NS = 20e9;

/**
 * Resolves --network for run/connect; the refusal texts depend on swarm membership. A
 * container being run is refused while starting (it stays Created, unless --rm).
 */
function attachableNetwork(tx: Tx, host: string, ref: string, found: Network | undefined): Draft<Network> {
  const h = tx.host(host);
  const swarmNode = inSwarm(h.nodeState);
  const net = found ? networkOf(tx, found.id, host) : undefined;
  if (!net) {
    throw new DaemonRefusal(swarmNode ? `Could not attach to network ${ref}: rpc error: code = NotFound desc = network ${ref} not found` : `network ${ref} not found`, 'start');
  }
  if (net.scope === 'swarm' && !net.attachable) {
    throw new DaemonRefusal(`Could not attach to network ${ref}: rpc error: code = PermissionDenied desc = network ${ref} not manually attachable`, 'start');
  }
  if (!driverOf(net).attaches) return net;
  if (net.allocationFailed) throw attachmentTimedOut(tx);
  return net;
}

const DIGITS = /^\d*$/;

/**
 * libnetwork's interface name for a new endpoint: the driver's prefix numbered by how many of
 * the sandbox's interfaces already have it (osl's nextIfIndex, one counter per prefix).
 */
function nextIfname(tx: Tx, c: Draft<Container>, prefix: string): string {
  const names = c.networks.flatMap((n) => {
    const ep = n.endpointId ? endpointOf(networkOf(tx, n.networkId, c.host), n.endpointId) : undefined;
    return ep ? [ep.ifname] : [];
  });
  if (c.gatewayEndpoint) names.push('eth');
  return `${prefix}${names.filter((n) => n.startsWith(prefix) && DIGITS.test(n.slice(prefix.length))).length}`;
}

/**
 * How long dockerd 20.10 takes over a container's start on a swarm network, as the engine's
 * own session spent it (a busybox container on an attachable overlay, an idle two-node
 * swarm): the manager's attachment, until the network's instance on the node is made
 * (Created 0.53 s after the container's) …
 */
const SWARM_ATTACH_NS = 530_000_000;
/** … and from there until the container runs (StartedAt 2.12 s later): the endpoint, the sandbox's join, runc. */
const SWARM_START_NS = 2_120_000_000;

/** Connects a running container's sandbox to one network (and to docker_gwbridge on its first overlay). */
function connect(tx: Tx, c: Draft<Container>, net: Draft<Network>, aliases: string[], ip?: string): void {
  const driver = driverOf(net);
  const entry = c.networks.find((n) => n.networkId === net.id)!;
  if (!driver.attaches) {
    // host and none: libnetwork still makes the endpoint and joins it (connectToNetwork), with no interface.
    const ep = createEndpoint(tx, net, { kind: 'container', host: c.host, sandbox: containerNetns(c), ifname: '', name: c.name, containerId: c.id });
    joinEndpoint(tx, net, ep);
    entry.endpointId = ep.id;
    return;
  }
  // The daemon's clock runs on while the manager allocates the attachment.
  if (net.scope === 'swarm') tx.w.clockNs += SWARM_ATTACH_NS;
  const ifname = nextIfname(tx, c, driver.interfacePrefix ?? 'eth');
  const ep = createEndpoint(tx, net, { kind: 'container', host: c.host, sandbox: c.sandbox, ifname, name: c.name, containerId: c.id, aliases, ip });
  entry.endpointId = ep.id;
  // libnetwork's needDefaultGW: a sandbox that already has an endpoint with a gateway keeps
  // it; a later network adds no second default route, and an overlay no docker_gwbridge endpoint.
  const hasGateway = c.networks.some((n) => n.endpointId && n.networkId !== net.id && driverOf(networkOf(tx, n.networkId, c.host)).providesGateway);
  joinEndpoint(tx, net, ep, driver.providesGateway && !hasGateway);
  // The sandbox's gateway endpoint carries its published ports (startContainer refused them anywhere but on a bridge, which gives a gateway).
  if (driver.publishesPorts && !hasGateway && !net.internal) publishPorts(tx, c, net, ep);
  if (driver.outsideThroughGwbridge && !net.internal && !c.gatewayEndpoint && !hasGateway) {
    // The network gives no default route: libnetwork adds an endpoint on docker_gwbridge (eth1) for it.
    const gw = ensureGwbridge(tx, c.host);
    const gep = createEndpoint(tx, gw, { kind: 'gateway', host: c.host, containerId: c.id, sandbox: c.sandbox, ifname: nextIfname(tx, c, 'eth'), name: `gateway_${c.sandboxId.slice(0, 12)}` });
    joinEndpoint(tx, gw, gep, true);
    c.gatewayEndpoint = gep.id;
  }
  if (driver.embeddedDns(net)) {
    tx.emit({ op: 'file.write', host: c.host, netns: c.sandbox, path: '/etc/resolv.conf', content: RESOLV_CONF_EMBEDDED });
    // The sandbox's resolver starts once (resolverOnce), on its first network with the embedded DNS.
    if (!c.resolverPorts) {
      c.resolverPorts = resolverPorts(`${c.sandboxId}/${c.startedNs ?? ''}`);
      resolverSocketsOpen(tx, c.host, c.sandbox, c.resolverPorts);
      embeddedDnsRules(tx, c.host, c.sandbox, c.resolverPorts);
    }
  }
}

export function runContainer(tx: Tx, host: string, req: RunRequest): Draft<Container> {
  // The daemon's verifyNetworkingConfig, before anything is created.
  if (req.ip && !isIpv4(req.ip)) throw new DaemonRefusal(`invalid IPv4 address: ${req.ip}`, 'create');
  checkAliases(req.aliases);
  const ref = req.network ?? 'bridge';
  // Looked up as the step began (reading the world is cheap, drafts are not).
  const found = lookUpNetwork(tx.before, host, ref);
  refuseUnmodelledDriver(found);
  // Known before anything is made: a network the start would find (one not found is the start's refusal).
  refuseUnmodelledPublishing({ portBindings: req.portBindings, networkMode: req.network ?? 'default' }, found);
  const h = tx.host(host);
  const existing = req.name ? containerNamed(tx, host, req.name) : undefined;
  if (existing) {
    throw new DaemonRefusal(`Conflict. The container name "/${req.name}" is already in use by container "${existing.id}". You have to remove (or rename) that container to be able to reuse that name.`, 'create');
  }
  const id = hexId(tx.rng);
  const sandboxId = hexId(tx.rng);
  // Lists of its own (command, aliases): the record is frozen when the step ends (Tx.made)
  // and immer's finalize does not look inside a frozen record for drafts to replace.
  const container: Container = {
    id, name: req.name ?? generatedName(tx, host, id), host, image: req.image, command: [...req.command], state: initialState(containerMachine),
    autoRemove: req.autoRemove, openStdin: req.openStdin, tty: req.tty, attached: req.attached, createdNs: String(tx.now()),
    // The daemon's newContainer: with --network host the daemon's own hostname (os.Hostname(), the host's), else the id's first 12 characters.
    hostname: req.hostname ?? (sharesHostNetns({ networkMode: req.network ?? 'default' }) ? host : id.slice(0, 12)),
    sandbox: sandboxId.slice(0, 12), sandboxId, sandboxState: initialState(sandboxMachine),
    networkMode: req.network ?? 'default', networks: [],
    ...(req.capAdd?.length ? { capAdd: [...req.capAdd] } : {}),
    ...(req.sysctls && Object.keys(req.sysctls).length ? { sysctls: { ...req.sysctls } } : {}),
    ...(req.portBindings?.length ? { portBindings: req.portBindings.map((b) => ({ ...b })) } : {}),
  };
  h.containers[id] = tx.made(container);
  const c = h.containers[id];
  startOrCleanUp(tx, c, () => {
    // The network is checked at start, so a bad --network leaves the container Created.
    const net = attachableNetwork(tx, host, ref, found);
    c.networks.push({ networkId: net.id, aliases: [...req.aliases], ip: req.ip });
    startContainer(tx, c, req.attached && req.openStdin && !req.clientTerminal);
  });
  return c;
}

/**
 * A start the daemon refuses: containerStart's deferred cleanup (moby v20.10 daemon/start.go)
 * records the error (State.Error), leaves an exit code that is not 0 (128 unless one was set:
 * translateContainerdStartErr's 127 for a missing program, or the code its last run ended
 * with), releases what the start had made (daemon.Cleanup: a sandbox made before an
 * endpoint's address ran out) and removes a --rm container (AutoRemove), for every failure
 * after the container's own state checks: its network, its address, runc's create. Without
 * --rm the container stays Created (or Exited, once it ran); docker run's CLI waits for the removal before it exits.
 */
function startOrCleanUp(tx: Tx, c: Draft<Container>, start: () => void): void {
  try {
    start();
  } catch (e) {
    if (!(e instanceof DaemonRefusal)) throw e;
    c.startError = e.message;
    if (!c.exitCode) c.exitCode = START_FAILED_EXIT;
    if (c.sandboxState === 'running') releaseNetwork(tx, c);
    if (c.autoRemove) removeContainer(tx, c);
    // docker run's CLI printed the id of the container it created, -d or not, before it asked for the start.
    throw e.runStage === 'start' ? new DaemonRefusal(e.message, 'start', c.id) : e;
  }
}

/** containerStart's exit code for a start that failed with none set: "if no one else has set it, make sure we don't leave it at zero". */
const START_FAILED_EXIT = 128;

/** The manager could not allocate a swarm attachment: dockerd waits out its request, then says so. */
function attachmentTimedOut(tx: Tx): DaemonRefusal {
  tx.daemonWaits(SWARM_REQUEST_TIMEOUT_NS, "the manager's attachment, until its request timed out");
  return new DaemonRefusal('attaching to network failed, make sure your network options are correct and check manager logs: context deadline exceeded', 'start');
}

/**
 * A requested address outside the network's subnet, refused as the engine refuses it at
 * start, before any sandbox is made (the endpoint comes first in connectToNetwork). On a
 * swarm network the manager's allocator finds no address for the attachment ("could not
 * find an available IP", in its log) and the daemon gives up when its request times out
 * (moby v20.10 daemon/cluster/networks.go AttachNetwork, 20 s). On a local one, libnetwork's
 * assignAddressVersion finds no pool holding it.
 */
function checkRequestedAddress(tx: Tx, net: Network | Draft<Network>, ip: string): void {
  const subnet = parseCidr(net.ipam.subnet);
  if (!subnet || contains(subnet, ipv4ToNumber(ip))) return;
  if (net.scope === 'swarm') throw attachmentTimedOut(tx);
  throw new DaemonRefusal(`Invalid address ${ip}: It does not belong to any of this network's subnets`, 'start');
}

/**
 * The pids a container start takes from the host before its process (containerd's shim, which
 * starts itself again as a daemon, runc create, runc init and the two children nsexec clones;
 * the last becomes the container's process, keeping its pid across exec) …
 */
const PIDS_BEFORE_INIT = 6;
/** … and after it (libnetwork's setkey hook, which runc runs before the start, and runc start). */
const PIDS_AFTER_INIT = 2;

/**
 * A command the image does not have: runc finds no such program in $PATH as containerd
 * creates the task, after the daemon made the sandbox, which its cleanup removes again (moby
 * v20.10 daemon/start.go); translateContainerdStartErr sets the exit code 127 and the
 * container stays Created (or goes, with --rm: startOrCleanUp). runc 1.1's words through containerd 1.6's shim, as Docker
 * 20.10.24's containerd.io packages carry them (family.ts execNotFound: the same runc).
 */
function refuseMissingProgram(c: Draft<Container>): void {
  const program = c.command[0];
  if (program === undefined || !imageLacks(c.image, program, 'exec')) return;
  c.exitCode = 127;
  throw new DaemonRefusal(`failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: exec: ${JSON.stringify(program)}: executable file not found in $PATH: unknown`, 'start');
}

/**
 * A net.* sysctl for a container in its host's namespace: moby gives runc the default
 * sandbox's path as the network namespace and runc's validator finds it is its own (runc
 * v1.1 libcontainer/configs/validate sysctl), before it looks for the program, so nothing is
 * ever written in the host's namespace. translateContainerdStartErr knows no code for it and
 * containerStart leaves 128 (startOrCleanUp). The CLI lets through one such key
 * only (docker/run-sysctl.ts hostNetnsSysctl: with two, runc names the first of Go's map order).
 */
function refuseHostNetnsSysctl(c: Draft<Container>): void {
  const key = Object.keys(c.sysctls ?? {}).find((k) => k.startsWith('net.'));
  if (key === undefined || !sharesHostNetns(c)) return;
  throw new DaemonRefusal(`failed to create shim task: OCI runtime create failed: runc create failed: sysctl ${JSON.stringify(key)} not allowed in host network namespace: unknown`, 'start');
}

/**
 * Published ports cnmlab models on a bridge network only (the default bridge or a user's),
 * and with --network host, which discards them (the daemon's warning, sim/docker/cli.ts).
 * Through docker_gwbridge (an overlay), on an internal network, or on none, Docker would
 * publish differently or not at all: refused as not modelled.
 */
function refuseUnmodelledPublishing(c: Pick<Container, 'portBindings' | 'networkMode'>, first: Network | Draft<Network> | undefined): void {
  if (!c.portBindings?.length || sharesHostNetns(c) || !first) return;
  if (driverOf(first).publishesPorts && !first.internal) return;
  throw new NotModelled(`docker run -p on the ${first.internal ? 'internal ' : ''}${first.driver} network ${first.name}: ports published other than on a bridge network`);
}

export function startContainer(tx: Tx, c: Draft<Container>, attachedStdinAtEnd: boolean): void {
  const joining: Network[] = [];
  for (const n of c.networks) {
    const net = networkOf(tx, n.networkId, c.host);
    validateNetworkingConfig(net, n.aliases, n.ip, 'start');
    // updateNetworkSettings: the host network only for a container run with --network host (by its id, the mode is not IsHost).
    if (net.name === 'host' && !sharesHostNetns(c)) throw new DaemonRefusal(CONFLICT_HOST_NETWORK, 'start');
    if (n.ip) {
      checkRequestedAddress(tx, net, n.ip);
      // libnetwork's IPAM refuses it (ipamapi.ErrIPAlreadyAllocated) as the started container joins the network
      // (moby v20.10 connectToNetwork -> CreateEndpoint), so at start. Known before the sandbox is made:
      // a start refused for it leaves no namespace behind (the daemon's Cleanup).
      if (!driverOf(net).address && !claim(net.ipam, n.ip)) throw new DaemonRefusal('Address already in use', 'start');
    }
    driverOf(net).refuseJoin?.(tx, net, c.host, joining);
    joining.push(net);
  }
  refuseUnmodelledPublishing(c, c.networks[0] && networkOf(tx, c.networks[0].networkId, c.host));
  refuseHostNetnsSysctl(c);
  refuseMissingProgram(c);
  if (sharesHostNetns(c)) joinDefaultSandbox(tx, c);
  else addNamespace(tx, c.host, c.sandbox);
  c.sandboxState = advance(sandboxMachine, c.sandboxState, 'START');
  for (const n of c.networks) connect(tx, c, networkOf(tx, n.networkId, c.host), n.aliases, n.ip);
  // runc writes HostConfig.Sysctls in the container's namespace once libnetwork's hook has moved eth0 in.
  for (const [key, value] of Object.entries(c.sysctls ?? {})) tx.emit({ op: 'sysctl.set', host: c.host, netns: c.sandbox, key, value, afterDevices: true });
  // No network gave it the embedded DNS: it keeps the host's resolvers, as libnetwork filters them
  // (with --network host, a copy of the host's /etc/resolv.conf: etc.ts).
  if (!c.resolverPorts && !sharesHostNetns(c)) tx.emit({ op: 'file.write', host: c.host, netns: c.sandbox, path: '/etc/resolv.conf', content: HOSTLESS_RESOLV_CONF });
  if (c.networks.some((n) => n.endpointId && networkOf(tx, n.networkId, c.host).scope === 'swarm')) tx.w.clockNs += SWARM_START_NS;
  c.state = advance(containerMachine, c.state, 'START');
  c.startedNs = String(tx.now());
  // State.SetRunning clears the last start's error.
  delete c.startError;
  const h = tx.host(c.host);
  c.pid = h.lastPid + PIDS_BEFORE_INIT;
  h.lastPid = c.pid + PIDS_AFTER_INIT;
  // A shell with no input ends as it starts: the container is Exited (0), its sandbox gone.
  if (exitsAtOnce(c, attachedStdinAtEnd)) stopContainer(tx, c, 0);
}

/**
 * A container run with --network host joins libnetwork's default sandbox (OptionUseDefaultSandbox:
 * the host's own namespace, /var/run/docker/netns/default), so no namespace is made; its
 * endpoint on the host network (connect) plumbs nothing (the host driver's Join). After a `docker network
 * disconnect host` while stopped, Docker would start it in the host's namespace on whatever it
 * was connected to since, which cnmlab does not model.
 */
function joinDefaultSandbox(tx: Tx, c: Draft<Container>): void {
  const [entry, ...others] = c.networks;
  const net = entry && networkOf(tx, entry.networkId, c.host);
  if (!net || net.name !== 'host' || others.length) throw new NotModelled("a start of a container run with --network host that is no longer on the host network alone (Docker would give it the host's namespace with those networks)");
  bindDefaultSandbox(tx, c.host);
}

/**
 * A stopped container starts again (`docker start`, `docker restart`): in a new sandbox,
 * since libnetwork's NewSandbox draws a random id at each start (moby v20.10 vendored
 * libnetwork controller.go; the daemon's updateSandboxNetworkSettings records it and its key):
 * a new namespace, /var/run/docker/netns/ and the id's first 12 characters.
 */
export function startStopped(tx: Tx, c: Draft<Container>): void {
  if (c.sandboxState === 'removed') {
    c.sandboxId = hexId(tx.rng);
    c.sandbox = c.sandboxId.slice(0, 12);
    c.sandboxState = initialState(sandboxMachine);
  }
  // cnmlab's docker start takes no -a or -i: it attaches no stdin.
  startOrCleanUp(tx, c, () => startContainer(tx, c, false));
}

/**
 * The daemon's generateNewName (moby daemon/names.go): up to six of namesgenerator's names,
 * the first name a container of this engine does not hold wins; from the second try on
 * GetRandomName(retry) appends a random digit. After six taken, the id's first 12 characters.
 */
function generatedName(tx: Tx, host: string, id: string): string {
  for (let retry = 0; retry < 6; retry++) {
    const name = randomName(tx, retry);
    if (!containerNamed(tx, host, name)) return name;
  }
  return id.slice(0, 12);
}

/**
 * The container of `host`'s engine named `name`, read in the world as the step began
 * (reading drafts copies them): a step runs one command, so no container is new yet.
 */
function containerNamed(tx: Tx, host: string, name: string): Container | undefined {
  return Object.values(hostOf(tx.before, host).containers).find((c) => c.name === name);
}

/** namesgenerator's GetRandomName(retry), from a shorter list: an adjective, a scientist, and a digit on a retry. */
function randomName(tx: Tx, retry: number): string {
  const left = ['admiring', 'brave', 'clever', 'eager', 'focused', 'gallant', 'happy', 'keen', 'nifty', 'quirky'];
  const right = ['bell', 'curie', 'darwin', 'euler', 'fermi', 'hopper', 'lovelace', 'noether', 'pike', 'turing'];
  const v = hexId(tx.rng, 2);
  const name = `${left[parseInt(v[0], 16) % 10]}_${right[parseInt(v[1], 16) % 10]}`;
  return retry > 0 ? `${name}${parseInt(hexId(tx.rng, 1), 16) % 10}` : name;
}

export function connectNetwork(tx: Tx, host: string, c: Draft<Container>, ref: string, aliases: string[], ip?: string): void {
  checkAliases(aliases);
  // Looked up as the step began (reading the world is cheap, drafts are not).
  const found = lookUpNetwork(tx.before, host, ref);
  refuseUnmodelledDriver(found);
  const net = attachableNetwork(tx, host, ref, found);
  if (c.networks.some((n) => n.networkId === net.id)) throw new DaemonRefusal(`${c.name} is already attached to network ${net.name}`);
  validateNetworkingConfig(net, aliases, ip);
  checkNetworkModes(tx, c, net);
  // The daemon's buildCreateEndpointOptions, stray parenthesis and all; checked before the
  // container records the network, as the endpoint it would make is never made.
  if (ip && !isIpv4(ip)) throw new DaemonRefusal(`Invalid IPv4 address: ${ip})`);
  if (c.state === 'running') driverOf(net).refuseJoin?.(tx, net, host, []);
  refuseMovingPublishedPorts(tx, c, net, ref);
  c.networks.push({ networkId: net.id, aliases, ip });
  if (c.state === 'running') connect(tx, c, net, aliases, ip);
}

/**
 * libnetwork's sbJoin gives external connectivity to the sandbox's gateway endpoint, the first
 * of its endpoints with a gateway in epHeap's order (docker_gwbridge's last, internal ones
 * after the others, then by network name): a bridge network whose name sorts before the one
 * that carries (or, at the next start, would carry) the published ports takes them
 * (RevokeExternalConnectivity there, ProgramExternalConnectivity on it), with the default
 * route. cnmlab does not model that move: refused before the network is recorded.
 */
function refuseMovingPublishedPorts(tx: Tx, c: Draft<Container>, net: Draft<Network>, ref: string): void {
  if (!c.portBindings?.length || sharesHostNetns(c) || !driverOf(net).publishesPorts || net.internal) return;
  const carrying = c.networks.map((n) => networkOf(tx, n.networkId, c.host)).find((n) => n && driverOf(n).publishesPorts && !n.internal);
  if (!carrying || net.name >= carrying.name) return;
  throw new NotModelled(`docker network connect ${ref}: a network that would take the container's published ports from ${carrying.name} (libnetwork moves them to the sandbox's new gateway endpoint)`);
}

/**
 * The daemon's DisconnectFromNetwork (moby v20.10 daemon/container_operations.go): a container
 * not running (or, forced, a network not found) only loses the network from its settings, each
 * refusal in that branch's words ("the network", by the network's name or as given); a running
 * one is disconnected from a network found, whose endpoint it must have (libnetwork's words).
 */
export function disconnectNetwork(tx: Tx, host: string, c: Draft<Container>, ref: string, force: boolean): void {
  const net = findNetwork(allNetworks(tx.w, host), ref) as Draft<Network> | undefined;
  const entry = net && c.networks.find((n) => n.networkId === net.id);
  if (c.state !== 'running' || (!net && force)) {
    if (!net || !entry) throw new DaemonRefusal(`container ${c.id} is not connected to the network ${net?.name ?? ref}`);
  } else {
    if (!net) throw new DaemonRefusal(`network ${ref} not found`);
    // A running container run with --network host keeps it (disconnectFromNetwork asks HostConfig.NetworkMode).
    if (net.name === 'host' && sharesHostNetns(c)) throw new DaemonRefusal(CONFLICT_HOST_NETWORK);
    if (!entry) throw new DaemonRefusal(`container ${c.id} is not connected to network ${net.name}`);
  }
  // libnetwork would revoke the mappings and look for another gateway endpoint to carry them.
  if (entry.endpointId && c.publishedPorts?.some((p) => p.bridge === net.bridge)) throw new NotModelled(`docker network disconnect ${ref}: the network that carries the container's published ports`);
  if (entry.endpointId) {
    const ep = endpointOf(net, entry.endpointId);
    if (ep) removeEndpoint(tx, net, ep, false);
  }
  c.networks = c.networks.filter((n) => n !== entry);
  releaseGatewayIfUnneeded(tx, c, false);
}

/**
 * The node left the swarm: each running container of `host` on the swarm network `net` is
 * disconnected from it, as DaemonLeavesCluster's clearAttachableNetworks does (moby v20.10
 * daemon/network.go: DisconnectContainerFromNetwork, forced, for every endpoint with a
 * sandbox): the container runs on without the network (gone from its NetworkSettings), and
 * without its docker_gwbridge endpoint once no network of its needs it (libnetwork's
 * sbLeave: clearDefaultGW). A stopped container has no endpoint and keeps the network in its
 * settings.
 */
export function detachFromSwarmNetwork(tx: Tx, host: string, net: Draft<Network>): void {
  for (const ep of endpointsOf(net).filter((e) => e.host === host && e.kind === 'container')) {
    removeEndpoint(tx, net, ep, false);
    const c = ep.containerId === undefined ? undefined : tx.host(host).containers[ep.containerId];
    if (!c) continue;
    c.networks = c.networks.filter((n) => n.networkId !== net.id);
    releaseGatewayIfUnneeded(tx, c, false);
  }
}

/** docker_gwbridge stays only while the container has a network that reaches the outside through it. */
function releaseGatewayIfUnneeded(tx: Tx, c: Draft<Container>, sandboxGoing: boolean): void {
  if (!c.gatewayEndpoint) return;
  const stillNeeded = !sandboxGoing && c.networks.some((n) => {
    const net = networkOf(tx, n.networkId, c.host);
    return !!net && !!n.endpointId && driverOf(net).outsideThroughGwbridge;
  });
  if (stillNeeded) return;
  const gw = gwbridgeOf(tx, c.host);
  const ep = (gw ? endpointOf(gw, c.gatewayEndpoint) : undefined);
  if (gw && ep) removeEndpoint(tx, gw, ep, sandboxGoing);
  c.gatewayEndpoint = undefined;
}

/**
 * The container stops; its main process exited with `exitCode`, when the model knows it (a
 * stop's depends on how PID 1 takes SIGTERM, main-process.ts). --rm removes it then, unless
 * `remove` says otherwise (a restart's stop keeps it).
 */
export function stopContainer(tx: Tx, c: Draft<Container>, exitCode?: number, remove = c.autoRemove): void {
  if (c.state !== 'running') return;
  c.exitCode = exitCode;
  c.finishedNs = String(tx.now());
  releaseNetwork(tx, c);
  c.pid = undefined;
  c.state = advance(containerMachine, c.state, 'STOP');
  if (remove) removeContainer(tx, c);
}

/**
 * The container's sandbox goes, with its endpoints and the gateway's (moby v20.10
 * daemon.releaseNetwork): as it stops, or when its start is refused after the sandbox was made.
 */
function releaseNetwork(tx: Tx, c: Draft<Container>): void {
  unpublishPorts(tx, c);
  for (const n of c.networks) {
    const net = networkOf(tx, n.networkId, c.host);
    const ep = n.endpointId ? (net ? endpointOf(net, n.endpointId) : undefined) : undefined;
    if (net && ep) removeEndpoint(tx, net, ep, true);
    n.endpointId = undefined;
  }
  releaseGatewayIfUnneeded(tx, c, true);
  c.resolverPorts = undefined;
  c.sandboxState = advance(sandboxMachine, c.sandboxState, 'REMOVE');
  // The default sandbox's namespace is the host's: libnetwork never destroys it.
  if (!sharesHostNetns(c)) delNamespace(tx, c.host, c.sandbox);
}

export function removeContainer(tx: Tx, c: Draft<Container>): void {
  c.state = advance(containerMachine, c.state, 'REMOVE');
  delete tx.host(c.host).containers[c.id];
}

