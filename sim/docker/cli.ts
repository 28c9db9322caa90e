/**
 * The `docker` command on a scenario host: parses argv the way docker/cli does and runs it
 * against the model inside one transaction. `docker exec` is handed back to the caller,
 * since commands inside a container belong to the backend.
 */
import { all, FlagSpec, lastValue, parseFlags, ParsedFlags, requireArgs, sliceValues } from './argv';
import { inspectJson, networkInspectObject, networkLsTable, networkRows, psTable } from './format';
import { imageCommand, isInteractiveShell } from '../model/main-process';
import { networkLsFormatted } from './network-ls-format';
import { containerInspectObject } from './container-inspect';
import { dockerInfo } from './info';
import { connectNetwork, detachFromSwarmNetwork, disconnectNetwork, removeContainer, runContainer } from '../model/containers';
import { isUserDefinedNetworkMode } from '../model/network-mode';
import { capabilityModelled } from '../model/capabilities';
import { hostNetnsSysctl, parseSysctls, refuseUnmodelledSysctls } from './run-sysctl';
import { createNetwork, pruneNetworks, removeNetwork } from '../model/networks';
import { swarmInit, swarmJoin, swarmJoinToken, swarmLeave } from '../model/swarm';
import { executeTemplate, parseTemplate, TemplateExecError } from './template';
import { CONTAINER_JSON, GoType, NETWORK_RESOURCE } from './api-types';
import { findContainer, findNetwork, Tx, visibleNetworks } from '../model/tx';
import { DaemonRefusal, NotModelled } from '../model/refusal';
import { gatewayInSubnet } from '../model/swarm';
import { parseCidr } from '../wire/addr';
import { asDockerError, DockerError, notModelledError, runRefusal } from './errors';
import { filterNetworks, parseNetworkFilters } from './network-filter';
import { parsePublish, portCommandOutput } from './publish';
import { containerSubcommand, nodeLs, nodeRm, startContainers } from './nodes-and-start';
import { killCommand, restartCommand, stopCommand } from './stop';
import { killContainer } from '../model/stop';
import { CommandOutput, lookupCommand, TakenLookup } from '../commands/registry';
import { ok } from '../model/command-step';
import { Container, Network, sharesHostNetns, World } from '../model/world';

/** Container id → the pid of the real process holding its namespaces. */
export type ContainerProcesses = ReadonlyMap<string, number>;

/**
 * A command to run in a container: `docker exec`'s, or (`main`) the command `docker run`
 * gave a new container without -d: its end ends the container, and with -t (`main: 'tty'`)
 * it prints through the terminal Docker gives the container; without, the client is
 * attached to its stdout and stderr as they are.
 */
export type ContainerExec =
  | { container: string; argv: string[]; main?: undefined }
  /** `taken`: the CLI's lookup of the program in the image, which the run uses rather than looking it up again. */
  | { container: string; argv: string[]; main: 'tty' | 'attached'; taken: TakenLookup; /** The daemon's warnings the CLI printed before the start. */ warnings?: string };

export type DockerOutcome = CommandOutput | { exec: ContainerExec };

/** How docker's client is run: at a terminal (the lab) or not (a scenario file's step). */
export interface DockerClient {
  /** Its standard input is a terminal: `docker run -it` may attach to the container's. */
  terminal: boolean;
}

const NO_TERMINAL: DockerClient = { terminal: false };

// docker/cli's prompts, word for word (the ingress one with its "newly create").
const INGRESS_WARNING = 'WARNING! Before removing the routing-mesh network, make sure all the nodes in your swarm run the same docker engine version. Otherwise, removal may not be effective and functionality of newly create ingress networks will be impaired.\nAre you sure you want to continue?';
const PRUNE_WARNING = 'WARNING! This will remove all custom networks not used by at least one container.\nAre you sure you want to continue?';

/**
 * docker/cli's PromptForConfirmation with no answer: a scenario step has no input, so the
 * prompt reads end of input, which counts as no; the command then does nothing and exits 0.
 */
function confirm(message: string): string {
  return `${message} [y/N] `;
}

const NETWORK_USAGE = `Usage:  docker network COMMAND

Manage networks

Commands:
  connect     Connect a container to a network
  create      Create a network
  disconnect  Disconnect a container from a network
  inspect     Display detailed information on one or more networks
  ls          List networks
  prune       Remove all unused networks
  rm          Remove one or more networks

Run 'docker network COMMAND --help' for more information on a command.`;

const SWARM_USAGE = `Usage:  docker swarm COMMAND

Manage Swarm

Commands:
  ca          Display and rotate the root CA
  init        Initialize a swarm
  join        Join a swarm as a node and/or manager
  join-token  Manage join tokens
  leave       Leave the swarm
  unlock      Unlock swarm
  unlock-key  Manage the unlock key
  update      Update the swarm

Run 'docker swarm COMMAND --help' for more information on a command.`;

function mapOpts(values: string[]): Record<string, string> {
  const o: Record<string, string> = {};
  for (const v of values) {
    const eq = v.indexOf('=');
    o[eq < 0 ? v : v.slice(0, eq)] = eq < 0 ? '' : v.slice(eq + 1);
  }
  return o;
}

/**
 * inspect's output as docker/cli's Inspect writes it, each reference an object or its error:
 * the JSON array; or, with --format, the template parsed first (exit 64 when it does not),
 * then run on each object, one that fails reported with the references not found, and a
 * lone newline when nothing was printed.
 */
function inspectOutput(p: ParsedFlags, found: ({ object: unknown; type: GoType } | { error: string })[]): CommandOutput {
  const template = lastValue(p, 'format');
  const errors: string[] = [];
  let stdout = '';
  if (template === undefined || template === '') {
    for (const f of found) if ('error' in f) errors.push(f.error);
    stdout = inspectJson(found.flatMap((f) => ('object' in f ? [f.object] : [])));
  } else {
    const parsed = parseTemplate(template);
    for (const f of found) {
      if ('error' in f) {
        errors.push(f.error);
        continue;
      }
      try {
        stdout += executeTemplate(parsed, f.object, f.type) + '\n';
      } catch (e) {
        if (!(e instanceof TemplateExecError)) throw e;
        errors.push(e.message);
      }
    }
    stdout ||= '\n';
  }
  return { stdout, stderr: errors.map((e) => e + '\n').join(''), exitCode: errors.length ? 1 : 0 };
}

function networkCommand(tx: Tx, host: string, argv: string[]): CommandOutput {
  const [sub, ...rest] = argv;
  switch (sub) {
    case 'create': {
      const p = parseFlags('docker network create', rest, NETWORK_CREATE_FLAGS);
      requireArgs(p, 'docker network create', 'docker network create [OPTIONS] NETWORK', 'Create a network', 1);
      // --subnet and --gateway are lists (an IPAM pool each): cnmlab models one.
      const subnets = sliceValues(p, 'subnet'), gateways = sliceValues(p, 'gateway');
      if (subnets.length > 1 || gateways.length > 1) throw notModelledError(`docker network create ${[...subnets.map((v) => `--subnet ${v}`), ...gateways.map((v) => `--gateway ${v}`)].join(' ')}: more than one subnet or gateway`);
      const [subnet] = subnets, [gateway] = gateways;
      // The CLI's own check (an unparsable subnet is left to the daemon, which says so first).
      if (gateway && (!subnet || (parseCidr(subnet) && !gatewayInSubnet(subnet, gateway)))) throw new DockerError(`no matching subnet for gateway ${gateway}`);
      const net = createNetwork(tx, host, {
        name: p.args[0], driver: lastValue(p, 'driver') ?? 'bridge', attachable: p.bools.has('attachable'), internal: p.bools.has('internal'),
        subnet, gateway, options: mapOpts(all(p, 'opt')), labels: mapOpts(all(p, 'label')),
        ipamDriver: lastValue(p, 'ipam-driver'),
      });
      return ok(`${net.id}\n`);
    }
    case 'ls':
    case 'list': {
      const p = parseFlags('docker network ls', rest, NETWORK_LS_FLAGS);
      const filters = parseNetworkFilters(all(p, 'filter'));
      requireArgs(p, 'docker network ls', 'docker network ls [OPTIONS]', 'List networks', 0);
      const nets = filterNetworks(visibleNetworks(tx.w, host) as Network[], filters);
      const opts = { quiet: p.bools.has('quiet'), noTrunc: p.bools.has('no-trunc') };
      const format = lastValue(p, 'format');
      if (format) return ok(networkLsFormatted(networkRows(tx.w as World, host, nets), format, opts));
      return ok(networkLsTable(nets, opts));
    }
    case 'inspect': {
      const p = parseFlags('docker network inspect', rest, NETWORK_INSPECT_FLAGS);
      requireArgs(p, 'docker network inspect', 'docker network inspect [OPTIONS] NETWORK [NETWORK...]', 'Display detailed information on one or more networks', 1, Infinity);
      return inspectOutput(p, p.args.map((ref) => {
        const net = findNetwork(visibleNetworks(tx.w, host) as Network[], ref);
        return net ? { object: networkInspectObject(tx.w as World, host, net, p.bools.has('verbose')), type: NETWORK_RESOURCE } : { error: `Error: No such network: ${ref}` };
      }));
    }
    case 'rm':
    case 'remove': {
      // docker/cli v20.10's network rm takes no options (its --force came in 23.0).
      const p = parseFlags('docker network rm', rest, NO_FLAGS);
      requireArgs(p, 'docker network rm', 'docker network rm NETWORK [NETWORK...]', 'Remove one or more networks', 1, Infinity);
      let stdout = '';
      const errors: string[] = [];
      let unmodelled = false;
      for (const ref of p.args) {
        // The CLI asks before removing the routing mesh; a scenario's step has no input, which reads as no.
        const target = findNetwork(visibleNetworks(tx.w, host) as Network[], ref);
        if (target?.ingress) {
          stdout += confirm(INGRESS_WARNING);
          continue;
        }
        try {
          removeNetwork(tx, host, ref);
          stdout += `${ref}\n`;
        } catch (e) {
          const refused = asDockerError(e);
          if (!refused) throw e;
          errors.push(refused.stderr);
          unmodelled ||= refused.unmodelled;
        }
      }
      return { stdout, stderr: errors.map((e) => e + '\n').join(''), exitCode: errors.length ? 1 : 0, ...(unmodelled ? { refusedUnmodelled: true as const } : {}) };
    }
    case 'connect':
    case 'disconnect': {
      const p = parseFlags(`docker network ${sub}`, rest, sub === 'connect' ? NETWORK_CONNECT_FLAGS : NETWORK_DISCONNECT_FLAGS);
      requireArgs(p, `docker network ${sub}`, `docker network ${sub} [OPTIONS] NETWORK CONTAINER`, sub === 'connect' ? 'Connect a container to a network' : 'Disconnect a container from a network', 2);
      const c = findContainer(tx.host(host), p.args[1]);
      if (!c) throw new DockerError(`Error response from daemon: No such container: ${p.args[1]}`, 1);
      if (sub === 'connect') connectNetwork(tx, host, c, p.args[0], all(p, 'alias'), lastValue(p, 'ip'));
      else disconnectNetwork(tx, host, c, p.args[0], p.bools.has('force'));
      return ok();
    }
    case 'prune': {
      const p = parseFlags('docker network prune', rest, NETWORK_PRUNE_FLAGS);
      requireArgs(p, 'docker network prune', 'docker network prune [OPTIONS]', 'Remove all unused networks', 0);
      if (!p.bools.has('force')) return ok(confirm(PRUNE_WARNING));
      const removed = pruneNetworks(tx, host);
      // The CLI prints its report with Fprintln, so a blank line ends it.
      return ok(removed.length ? `Deleted Networks:\n${removed.map((n) => `${n}\n`).join('')}\n` : '');
    }
    case undefined:
      return ok(`\n${NETWORK_USAGE}\n`);
    default:
      throw new DockerError(`\n${NETWORK_USAGE}`, 1);
  }
}

function swarmCommand(tx: Tx, host: string, argv: string[]): CommandOutput {
  const [sub, ...rest] = argv;
  switch (sub) {
    case 'init': {
      const p = parseFlags('docker swarm init', rest, SWARM_INIT_FLAGS);
      requireArgs(p, 'docker swarm init', 'docker swarm init [OPTIONS]', 'Initialize a swarm', 0);
      const port = lastValue(p, 'data-path-port');
      if (port !== undefined && !(Number(port) >= 1024 && Number(port) <= 49151)) {
        throw new DockerError(`Error response from daemon: data path port ${port} is outside the allowed range 1024-49151`, 1);
      }
      const mask = lastValue(p, 'default-addr-pool-mask-length');
      // A list of pools; cnmlab models one.
      const pools = sliceValues(p, 'default-addr-pool');
      if (pools.length > 1) throw notModelledError(`docker swarm init --default-addr-pool ${pools.join(',')}: more than one default address pool`);
      return ok(swarmInit(tx, host, { advertiseAddr: lastValue(p, 'advertise-addr'), dataPathPort: port ? Number(port) : undefined, defaultAddrPool: pools[0], defaultAddrPoolMaskLength: mask ? Number(mask) : undefined }));
    }
    case 'join': {
      const p = parseFlags('docker swarm join', rest, SWARM_JOIN_FLAGS);
      // cobra's ExactArgs(1) (docker/cli v20.10 cli/command/swarm/join.go): the manager's address is no option.
      requireArgs(p, 'docker swarm join', 'docker swarm join [OPTIONS] HOST:PORT', 'Join a swarm as a node and/or manager', 1);
      // No token is no CLI error: the daemon joins with an empty one, which the manager's CA server refuses.
      return ok(swarmJoin(tx, host, lastValue(p, 'token') ?? '', p.args[0]));
    }
    case 'leave': {
      const p = parseFlags('docker swarm leave', rest, SWARM_LEAVE_FLAGS);
      requireArgs(p, 'docker swarm leave', 'docker swarm leave [OPTIONS]', 'Leave the swarm', 0);
      return ok(swarmLeave(tx, host, p.bools.has('force'), (net) => detachFromSwarmNetwork(tx, host, net)));
    }
    case 'join-token': {
      const p = parseFlags('docker swarm join-token', rest, SWARM_JOIN_TOKEN_FLAGS);
      requireArgs(p, 'docker swarm join-token', 'docker swarm join-token [OPTIONS] (worker|manager)', 'Manage join tokens', 1);
      if (p.args[0] !== 'worker' && p.args[0] !== 'manager') throw new DockerError(`Error: unknown role ${p.args[0]}`);
      return ok(swarmJoinToken(tx, host, p.args[0], p.bools.has('quiet')));
    }
    case undefined:
      return ok(`\n${SWARM_USAGE}\n`);
    default:
      throw new DockerError(`\n${SWARM_USAGE}`, 1);
  }
}

/**
 * Each command's flags, one list per command: parseFlags makes a list's tables once, so a
 * command passes the same list every time.
 */
const NETWORK_CREATE_FLAGS: FlagSpec[] = [
  { long: 'driver', short: 'd', value: true }, { long: 'attachable' }, { long: 'subnet', value: true }, { long: 'gateway', value: true },
  { long: 'internal' }, { long: 'opt', short: 'o', value: true }, { long: 'label', value: true }, { long: 'ip-range', value: true },
  { long: 'ipv6' }, { long: 'scope', value: true }, { long: 'ipam-driver', value: true },
];
const NETWORK_LS_FLAGS: FlagSpec[] = [{ long: 'quiet', short: 'q' }, { long: 'no-trunc' }, { long: 'filter', short: 'f', value: true }, { long: 'format', value: true }];
const NETWORK_INSPECT_FLAGS: FlagSpec[] = [{ long: 'format', short: 'f', value: true }, { long: 'verbose', short: 'v' }];
const NETWORK_CONNECT_FLAGS: FlagSpec[] = [{ long: 'alias', value: true }, { long: 'ip', value: true }, { long: 'ip6', value: true }, { long: 'link', value: true }, { long: 'driver-opt', value: true }];
const NETWORK_DISCONNECT_FLAGS: FlagSpec[] = [{ long: 'force', short: 'f' }];
const NO_FLAGS: FlagSpec[] = [];
const NETWORK_PRUNE_FLAGS: FlagSpec[] = [{ long: 'force', short: 'f' }, { long: 'filter', value: true }];
const SWARM_INIT_FLAGS: FlagSpec[] = [
  { long: 'advertise-addr', value: true }, { long: 'listen-addr', value: true }, { long: 'data-path-port', value: true },
  { long: 'data-path-addr', value: true }, { long: 'default-addr-pool', value: true }, { long: 'default-addr-pool-mask-length', value: true },
  { long: 'force-new-cluster' }, { long: 'autolock' },
];
const SWARM_JOIN_FLAGS: FlagSpec[] = [{ long: 'token', value: true }, { long: 'advertise-addr', value: true }, { long: 'listen-addr', value: true }, { long: 'data-path-addr', value: true }, { long: 'availability', value: true }];
const SWARM_LEAVE_FLAGS: FlagSpec[] = [{ long: 'force', short: 'f' }];
const SWARM_JOIN_TOKEN_FLAGS: FlagSpec[] = [{ long: 'quiet', short: 'q' }, { long: 'rotate' }];
const PS_FLAGS: FlagSpec[] = [{ long: 'all', short: 'a' }, { long: 'quiet', short: 'q' }, { long: 'no-trunc' }];
const STOP_FLAGS: FlagSpec[] = [{ long: 'time', short: 't', value: true }];
const RESTART_FLAGS: FlagSpec[] = [{ long: 'time', short: 't', value: true }];
const KILL_FLAGS: FlagSpec[] = [{ long: 'signal', short: 's', value: true }];
const RM_FLAGS: FlagSpec[] = [{ long: 'force', short: 'f' }, { long: 'volumes', short: 'v' }];
const EXEC_FLAGS: FlagSpec[] = [{ long: 'interactive', short: 'i' }, { long: 'tty', short: 't' }, { long: 'detach', short: 'd' }, { long: 'env', short: 'e', value: true }, { long: 'user', short: 'u', value: true }, { long: 'workdir', short: 'w', value: true }];
const INSPECT_FLAGS: FlagSpec[] = [{ long: 'format', short: 'f', value: true }, { long: 'type', value: true }, { long: 'size', short: 's' }];
const NODE_RM_FLAGS: FlagSpec[] = [{ long: 'force', short: 'f' }];
const NODE_LS_FLAGS: FlagSpec[] = [{ long: 'quiet', short: 'q' }];

/** `docker run`'s flags (lab/save.ts parses a typed run's options with them too). */
export const RUN_FLAGS = [
  { long: 'detach', short: 'd' }, { long: 'interactive', short: 'i' }, { long: 'tty', short: 't' }, { long: 'rm' },
  { long: 'name', value: true }, { long: 'network', value: true }, { long: 'net', value: true, sameValueAs: 'network' }, { long: 'network-alias', value: true },
  { long: 'net-alias', value: true, sameValueAs: 'network-alias' }, { long: 'ip', value: true }, { long: 'hostname', short: 'h', value: true }, { long: 'env', short: 'e', value: true },
  { long: 'privileged' }, { long: 'cap-add', value: true }, { long: 'publish', short: 'p', value: true }, { long: 'volume', short: 'v', value: true },
  { long: 'entrypoint', value: true }, { long: 'workdir', short: 'w', value: true }, { long: 'user', short: 'u', value: true }, { long: 'sysctl', value: true },
  { long: 'mac-address', value: true },
];

/**
 * Go's net.ParseMAC, as docker/cli's ValidateMACAddress asks it: 6, 8 or 20 bytes, as
 * pairs of hex digits joined by ':' or '-', or as groups of four joined by '.'.
 */
function goParsesMac(s: string): boolean {
  const sizes = [6, 8, 20];
  if (s.length < 14) return false;
  if (s[2] === ':' || s[2] === '-') {
    if ((s.length + 1) % 3 !== 0 || !sizes.includes((s.length + 1) / 3)) return false;
    return s.split(s[2]).every((pair) => /^[0-9a-fA-F]{2}$/.test(pair));
  }
  if (s[4] === '.') {
    if ((s.length + 1) % 5 !== 0 || !sizes.includes((2 * (s.length + 1)) / 5)) return false;
    return s.split('.').every((group) => /^[0-9a-fA-F]{4}$/.test(group));
  }
  return false;
}

/** A `docker run` option word (`--name`, `-e`) whose value is the next word. */
export function runOptionTakesValue(word: string): boolean {
  return RUN_FLAGS.some((f) => f.value && (word === `--${f.long}` || (f.short !== undefined && word === `-${f.short}`)));
}

function runCommand(tx: Tx, host: string, p: ParsedFlags, client: DockerClient): DockerOutcome {
  // pflag validates each --sysctl as it reads the flags, before the command runs.
  const sysctls = parseSysctls(all(p, 'sysctl'));
  requireArgs(p, 'docker run', 'docker run [OPTIONS] IMAGE [COMMAND] [ARG...]', 'Run a command in a new container', 1, Infinity);
  const detach = p.bools.has('detach');
  const tty = p.bools.has('tty');
  // docker/cli's parse checks the MAC's form first (ValidateMACAddress, v20.10 opts.go).
  const mac = lastValue(p, 'mac-address');
  if (mac && !goParsesMac(mac.trim())) throw new DockerError(`docker: ${mac} is not a valid mac address.\nSee 'docker run --help'.`, 125);
  // Then the published ports (convertToStandardNotation, nat.ParsePortSpecs), before the networks.
  const portBindings = parsePublish(all(p, 'publish'));
  // docker/cli v20.10's parseNetworkOpts: --ip and --network-alias go on the endpoint of the
  // first --network; without one there is no endpoint to hold them, and they are dropped
  // unread. An alias on a network that is not user-defined (as typed) is the CLI's refusal.
  // --network and --net fill one list (opts.NetworkOpt), in the order typed; its first is the network mode.
  const networks = all(p, 'network');
  const network = networks[0];
  const aliases = network === undefined ? [] : all(p, 'network-alias');
  const ip = network === undefined ? undefined : lastValue(p, 'ip');
  if (network !== undefined && aliases.length && !isUserDefinedNetworkMode(network)) {
    throw new DockerError("docker: network-scoped aliases are only supported for user-defined networks.\nSee 'docker run --help'.", 125);
  }
  // The rest of parseNetworkOpts: a network named twice, then user-defined networks mixed with others.
  const twice = networks.find((n, i) => networks.indexOf(n) < i);
  if (twice !== undefined) throw new DockerError(`docker: network ${JSON.stringify(twice)} is specified multiple times.\nSee 'docker run --help'.`, 125);
  if (networks.some(isUserDefinedNetworkMode) && !networks.every(isUserDefinedNetworkMode)) {
    throw new DockerError("docker: conflicting options: cannot attach both user-defined and non-user-defined network-modes.\nSee 'docker run --help'.", 125);
  }
  // The CLI's own refusal above comes first: container:NAME is no user-defined network either.
  if (network?.startsWith('container:')) throw notModelledError(`docker run --network ${network}: a container sharing another's network namespace`);
  const capAdd = all(p, 'cap-add');
  const unmodelledCap = capAdd.find((name) => !capabilityModelled(name));
  if (unmodelledCap !== undefined) throw notModelledError(`docker run --cap-add ${unmodelledCap}: a capability other than NET_ADMIN`);
  // In its host's namespace runc refuses any net.* key as the container starts (model/containers.ts), whatever the kernel has.
  const hostMode = network !== undefined && sharesHostNetns({ networkMode: network });
  if (!(hostMode && hostNetnsSysctl(sysctls) !== undefined)) refuseUnmodelledSysctls(sysctls, network !== 'none');
  // docker/cli's CheckTty (v20.10 cli/command/container/run.go), before anything is created:
  // attaching stdin to the container's terminal needs a terminal of its own.
  if (!detach && tty && p.bools.has('interactive') && !client.terminal) throw new DockerError('the input device is not a TTY', 1);
  // The daemon decodes the request first (runconfig validateNetContainerMode): a MAC of its own for a container sharing
  // the host's namespace is refused; anywhere else cnmlab does not give a container the MAC asked for.
  // The daemon's verifyPlatformContainerSettings warns, in the create's answer, and the CLI prints it before the start.
  const warnings = hostMode && portBindings.length ? 'WARNING: Published ports are discarded when using host network mode\n' : '';
  if (mac) {
    if (hostMode) throw runRefusal(new DaemonRefusal('conflicting options: mac-address and the network mode', 'create'));
    throw notModelledError(`docker run --mac-address ${mac}: a container MAC address of the user's choosing`);
  }
  // The daemon creates a container on one network (moby v20.10 daemon/create.go
  // verifyNetworkingConfig), after the CLI's own checks and before it looks any network up; it names them in Go's map
  // order, which varies from run to run: here, as typed.
  if (networks.length > 1) throw runRefusal(new DaemonRefusal(`Container cannot be connected to network endpoints: ${networks.join(', ')}`, 'create'));
  const command = p.args.slice(1);
  // Without -d and with a command that is no shell: the command is the container's main
  // process, and docker/cli attaches to it (v20.10 runContainer: attach unless -d), so it
  // runs to its end. (A shell waits on the terminal: the lab enters it.)
  const runsToEnd = !detach && command.length > 0 && !isInteractiveShell(command);
  let taken: TakenLookup | undefined;
  // Attached, the image's own command decides what the run does: the model knows only its
  // images' (main-process.ts). A shell without input ends as it starts (exitsAtOnce), and
  // prints nothing.
  if (!detach && command.length === 0 && imageCommand(p.args[0]) === undefined) throw notModelledError(`docker run ${p.args[0]}: what its own command does (an image cnmlab does not know)`);
  if (runsToEnd) {
    // runc starts the program itself, as for docker exec: no shell, so no builtin (cd, source)
    // either. One the image lacks is runc's refusal at start (model/containers.ts refuseMissingProgram).
    const l = lookupCommand(command, 'container', p.args[0], 'exec');
    if (!l.modelled) throw notModelledError(`docker run${tty ? ' -t' : ''} ${p.args[0]} ${command.join(' ')}`);
    taken = l;
  }
  const name = lastValue(p, 'name');
  if (name !== undefined && !/^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/.test(name)) {
    throw new DockerError(`docker: Error response from daemon: Invalid container name (${name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed.\nSee 'docker run --help'.`, 125);
  }
  let created: string | undefined;
  try {
    const c = runContainer(tx, host, {
      name, image: p.args[0], command, network, aliases, ip, hostname: lastValue(p, 'hostname'),
      autoRemove: p.bools.has('rm'), openStdin: p.bools.has('interactive'), tty, attached: !detach, capAdd, sysctls, clientTerminal: client.terminal, portBindings,
    });
    created = c.id;
  } catch (e) {
    // What the model cannot run is not modelled (exit 127); a daemon's refusal exits 125.
    if (e instanceof NotModelled) throw asDockerError(e);
    if (!(e instanceof DaemonRefusal) || !e.runStage) throw e;
    // A refusal at start comes after the container was created: -d still printed its id.
    const refusal = runRefusal(e, detach && e.containerId ? `${e.containerId}\n` : '');
    throw new DockerError(warnings + refusal.stderr, refusal.exitCode, refusal.stdout);
  }
  if (taken) return { exec: { container: created, argv: command, main: tty ? 'tty' : 'attached', taken, ...(warnings ? { warnings } : {}) } };
  return { stdout: detach ? `${created}\n` : '', stderr: warnings, exitCode: 0 };
}

function containerRef(tx: Tx, host: string, ref: string) {
  const c = findContainer(tx.host(host), ref);
  if (!c) throw new DockerError(`Error: No such container: ${ref}`, 1);
  return c;
}

/**
 * Runs one `docker …` command line on a host. Throws DockerError for Docker's refusals.
 * `processes`: the real process holding each running container's namespaces, by container id,
 * where the backend has one (emu): `docker inspect` names it as State.Pid. Without one, the
 * model's pid.
 */
export function dockerCommand(tx: Tx, host: string, argv: string[], processes?: ContainerProcesses, client: DockerClient = NO_TERMINAL): DockerOutcome {
  const [cmd, ...rest] = argv;
  switch (cmd) {
    case 'swarm':
      return swarmCommand(tx, host, rest);
    case 'network':
      return networkCommand(tx, host, rest);
    case 'run':
      return runCommand(tx, host, parseFlags('docker run', rest, RUN_FLAGS, true), client);
    case 'ps': {
      const p = parseFlags('docker ps', rest, PS_FLAGS);
      return ok(psTable(Object.values(tx.host(host).containers), tx.now(), { all: p.bools.has('all'), quiet: p.bools.has('quiet'), noTrunc: p.bools.has('no-trunc') }));
    }
    case 'stop': {
      const p = parseFlags('docker stop', rest, STOP_FLAGS);
      requireArgs(p, 'docker stop', 'docker stop [OPTIONS] CONTAINER [CONTAINER...]', 'Stop one or more running containers', 1, Infinity);
      return stopCommand(tx, host, p);
    }
    case 'restart': {
      const p = parseFlags('docker restart', rest, RESTART_FLAGS);
      requireArgs(p, 'docker restart', 'docker restart [OPTIONS] CONTAINER [CONTAINER...]', 'Restart one or more containers', 1, Infinity);
      return restartCommand(tx, host, p);
    }
    case 'kill': {
      const p = parseFlags('docker kill', rest, KILL_FLAGS);
      requireArgs(p, 'docker kill', 'docker kill [OPTIONS] CONTAINER [CONTAINER...]', 'Kill one or more running containers', 1, Infinity);
      return killCommand(tx, host, p);
    }
    case 'rm': {
      const p = parseFlags('docker rm', rest, RM_FLAGS);
      requireArgs(p, 'docker rm', 'docker rm [OPTIONS] CONTAINER [CONTAINER...]', 'Remove one or more containers', 1, Infinity);
      let stdout = '';
      for (const ref of p.args) {
        const c = findContainer(tx.host(host), ref);
        if (!c) throw new DockerError(`Error: No such container: ${ref}`, 1);
        if (c.state === 'running' && !p.bools.has('force')) {
          throw new DockerError(`Error response from daemon: You cannot remove a running container ${c.id}. Stop the container before attempting removal or force remove`, 1);
        }
        const autoRemove = c.autoRemove;
        // -f kills (cleanupContainer's Kill), then removes; a --rm container is removed by its end.
        if (c.state === 'running') killContainer(tx, c);
        if (!autoRemove) removeContainer(tx, c);
        stdout += `${ref}\n`;
      }
      return ok(stdout);
    }
    case 'exec': {
      const p = parseFlags('docker exec', rest, EXEC_FLAGS, true);
      requireArgs(p, 'docker exec', 'docker exec [OPTIONS] CONTAINER COMMAND [ARG...]', 'Run a command in a running container', 2, Infinity);
      const c = containerRef(tx, host, p.args[0]);
      if (c.state !== 'running') throw new DockerError(`Error response from daemon: Container ${c.id} is not running`, 1);
      return { exec: { container: c.id, argv: p.args.slice(1) } };
    }
    case 'inspect': {
      const p = parseFlags('docker inspect', rest, INSPECT_FLAGS);
      requireArgs(p, 'docker inspect', 'docker inspect [OPTIONS] NAME|ID [NAME|ID...]', 'Return low-level information on Docker objects', 1, Infinity);
      return inspectOutput(p, p.args.map((ref) => {
        const c = findContainer(tx.host(host), ref);
        const net = c ? undefined : findNetwork(visibleNetworks(tx.w, host) as Network[], ref);
        if (c) return { object: containerInspectObject(tx.w as World, c, processes?.get(c.id)), type: CONTAINER_JSON };
        return net ? { object: networkInspectObject(tx.w as World, host, net), type: NETWORK_RESOURCE } : { error: `Error: No such object: ${ref}` };
      }));
    }
    case 'port': {
      const p = parseFlags('docker port', rest, NO_FLAGS);
      requireArgs(p, 'docker port', 'docker port CONTAINER [PRIVATE_PORT[/PROTO]]', 'List port mappings or a specific mapping for the container', 1, 2);
      const c = containerRef(tx, host, p.args[0]);
      const out = portCommandOutput(c as Container, p.args[0], p.args[1]);
      return { stdout: out.stdout, stderr: out.error ? `${out.error}\n` : '', exitCode: out.error ? 1 : 0 };
    }
    case 'info': {
      const p = parseFlags('docker info', rest, NO_FLAGS);
      requireArgs(p, 'docker info', 'docker info [OPTIONS]', 'Display system-wide information', 0);
      return ok(dockerInfo(tx.w as World, host));
    }
    case 'start': {
      const p = parseFlags('docker start', rest, NO_FLAGS);
      requireArgs(p, 'docker start', 'docker start [OPTIONS] CONTAINER [CONTAINER...]', 'Start one or more stopped containers', 1, Infinity);
      return startContainers(tx, host, p.args);
    }
    case 'container': {
      const [sub, ...args] = rest;
      const same = containerSubcommand(sub);
      if (!same) throw notModelledError(['docker', ...argv].join(' '));
      return dockerCommand(tx, host, [same, ...args], processes, client);
    }
    case 'node': {
      const [sub, ...args] = rest;
      if (sub === 'rm' || sub === 'remove') {
        const p = parseFlags('docker node rm', args, NODE_RM_FLAGS);
        requireArgs(p, 'docker node rm', 'docker node rm [OPTIONS] NODE [NODE...]', 'Remove one or more nodes from the swarm', 1, Infinity);
        return nodeRm(tx, host, p.args, p.bools.has('force'));
      }
      if (sub !== 'ls' && sub !== 'list') throw notModelledError(['docker', ...argv].join(' '));
      const p = parseFlags('docker node ls', args, NODE_LS_FLAGS);
      requireArgs(p, 'docker node ls', 'docker node ls [OPTIONS]', 'List nodes in the swarm', 0);
      return nodeLs(tx, host, p.bools.has('quiet'));
    }
    case undefined:
      return ok('\nUsage:  docker [OPTIONS] COMMAND\n\nA self-sufficient runtime for containers\n');
    default:
      throw new DockerError(`docker: '${cmd}' is not a docker command.\nSee 'docker --help'`, 1);
  }
}
