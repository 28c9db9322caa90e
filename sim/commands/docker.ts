/**
 * The `docker` commands cnmlab models, as docker/cli 20.10 declares them (cobra commands,
 * pflag flags): the registry checks a `docker …` line against them, `--help` prints
 * Docker's own text rendered from them, and docs/commands.md is generated from them.
 * A flag Docker has but the model does not act on is declared with `modelled: false`: it
 * shows in `--help`, and a line that uses it is refused as not modelled.
 */

export interface DockerFlag {
  long: string;
  short?: string;
  /** pflag's value type name as help prints it ('string', 'int', 'list', …); absent for booleans. */
  arg?: string;
  /** The default as pflag prints it, when not the type's zero value. */
  default?: string;
  help: string;
  modelled: boolean;
}

export interface DockerCommand {
  /** Words after `docker`, e.g. ['network', 'ls']. */
  path: string[];
  /** cobra's `Use`: the name and its arguments. */
  use: string;
  aliases?: string[];
  short: string;
  flags: DockerFlag[];
  /** Docker's whole flag set is declared, so `--help` prints Docker's text and an unknown flag is Docker's own error. */
  complete: boolean;
  /** Options end at the first argument (`docker run IMAGE CMD -x`), as with pflag's SetInterspersed(false). */
  stopsAtFirstArg?: boolean;
  /** The arguments after the container name are a command run inside it, checked against the container shell. */
  runsInContainer?: boolean;
}

/** A management command (`docker network`): with no subcommand it prints its command list. */
export interface DockerGroup {
  name: string;
  short: string;
  /** Every subcommand Docker has, modelled or not, for the group's help. */
  commands: [name: string, short: string][];
}

const f = (long: string, short: string | undefined, arg: string | undefined, help: string, modelled: boolean, dflt?: string): DockerFlag => ({ long, short, arg, help, modelled, default: dflt });

const PS_FLAGS: DockerFlag[] = [
  f('all', 'a', undefined, 'Show all containers (default shows just running)', true),
  f('filter', 'f', 'filter', 'Filter output based on conditions provided', false),
  f('format', undefined, 'string', 'Pretty-print containers using a Go template', false),
  f('last', 'n', 'int', 'Show n last created containers (includes all states)', false, '-1'),
  f('latest', 'l', undefined, 'Show the latest created container (includes all states)', false),
  f('no-trunc', undefined, undefined, "Don't truncate output", true),
  f('quiet', 'q', undefined, 'Only display container IDs', true),
  f('size', 's', undefined, 'Display total file sizes', false),
];
const STOP_FLAGS = [f('time', 't', 'int', 'Seconds to wait for stop before killing it', true, '10')];
const RESTART_FLAGS = [f('time', 't', 'int', 'Seconds to wait for stop before killing the container', true, '10')];
const KILL_FLAGS = [f('signal', 's', 'string', 'Signal to send to the container', true, '"KILL"')];
const RM_FLAGS = [
  f('force', 'f', undefined, 'Force the removal of a running container (uses SIGKILL)', true),
  f('link', 'l', undefined, 'Remove the specified link', false),
  f('volumes', 'v', undefined, 'Remove anonymous volumes associated with the container', true),
];
// --checkpoint and --checkpoint-dir are experimental: a 20.10 CLI hides them.
const START_FLAGS = [
  f('attach', 'a', undefined, 'Attach STDOUT/STDERR and forward signals', false),
  f('detach-keys', undefined, 'string', 'Override the key sequence for detaching a container', false),
  f('interactive', 'i', undefined, "Attach container's STDIN", false),
];
const RUN_FLAGS = [
  f('cap-add', undefined, 'list', 'Add Linux capabilities', true),
  f('detach', 'd', undefined, 'Run container in background and print container ID', true),
  f('hostname', 'h', 'string', 'Container host name', true),
  f('interactive', 'i', undefined, 'Keep STDIN open even if not attached', true),
  f('ip', undefined, 'string', 'IPv4 address (e.g., 172.30.100.104)', true),
  // Modelled as Docker refuses it with --network host (validateNetContainerMode); elsewhere the CLI refuses it as not modelled.
  f('mac-address', undefined, 'string', 'Container MAC address (e.g., 92:d0:c6:0a:29:33)', true),
  f('name', undefined, 'string', 'Assign a name to the container', true),
  f('net', undefined, 'network', 'Connect a container to a network', true),
  f('net-alias', undefined, 'list', 'Add network-scoped alias for the container', true),
  f('network', undefined, 'network', 'Connect a container to a network', true),
  f('network-alias', undefined, 'list', 'Add network-scoped alias for the container', true),
  f('publish', 'p', 'list', "Publish a container's port(s) to the host", true),
  f('rm', undefined, undefined, 'Automatically remove the container when it exits', true),
  f('sysctl', undefined, 'map', 'Sysctl options', true, 'map[]'),
  f('tty', 't', undefined, 'Allocate a pseudo-TTY', true),
];

export const DOCKER_COMMANDS: DockerCommand[] = [
  { path: ['swarm', 'init'], use: 'init [OPTIONS]', short: 'Initialize a swarm', complete: false, flags: [
    f('advertise-addr', undefined, 'string', 'Advertised address (format: <ip|interface>[:port])', true),
    f('data-path-port', undefined, 'uint32', 'Port number to use for data path traffic (1024 - 49151). If no value is set or is set to 0, the default port (4789) is used.', true),
    f('default-addr-pool', undefined, 'ipNetSlice', 'default address pool in CIDR format', true),
    f('default-addr-pool-mask-length', undefined, 'uint32', 'default address pool subnet mask length', true, '24'),
  ] },
  { path: ['swarm', 'join'], use: 'join [OPTIONS] HOST:PORT', short: 'Join a swarm as a node and/or manager', complete: false, flags: [
    // A scenario host has one underlay address: the tutorial's --advertise-addr names it.
    f('advertise-addr', undefined, 'string', 'Advertised address (format: <ip|interface>[:port])', true),
    f('token', undefined, 'string', 'Token for entry into the swarm', true),
  ] },
  { path: ['swarm', 'join-token'], use: 'join-token [OPTIONS] (worker|manager)', short: 'Manage join tokens', complete: true, flags: [
    f('quiet', 'q', undefined, 'Only display token', true),
    f('rotate', undefined, undefined, 'Rotate join token', false),
  ] },
  { path: ['swarm', 'leave'], use: 'leave [OPTIONS]', short: 'Leave the swarm', complete: true, flags: [
    f('force', 'f', undefined, 'Force this node to leave the swarm, ignoring warnings', true),
  ] },
  { path: ['node', 'ls'], use: 'ls [OPTIONS]', aliases: ['list'], short: 'List nodes in the swarm', complete: true, flags: [
    f('filter', 'f', 'filter', 'Filter output based on conditions provided', false),
    f('format', undefined, 'string', 'Pretty-print nodes using a Go template', false),
    f('quiet', 'q', undefined, 'Only display IDs', true),
  ] },
  { path: ['node', 'rm'], use: 'rm [OPTIONS] NODE [NODE...]', aliases: ['remove'], short: 'Remove one or more nodes from the swarm', complete: true, flags: [
    f('force', 'f', undefined, 'Force remove a node from the swarm', true),
  ] },
  { path: ['network', 'connect'], use: 'connect [OPTIONS] NETWORK CONTAINER', short: 'Connect a container to a network', complete: true, flags: [
    f('alias', undefined, 'strings', 'Add network-scoped alias for the container', true),
    f('driver-opt', undefined, 'strings', 'driver options for the network', false),
    f('ip', undefined, 'string', 'IPv4 address (e.g., 172.30.100.104)', true),
    f('ip6', undefined, 'string', 'IPv6 address (e.g., 2001:db8::33)', false),
    f('link', undefined, 'list', 'Add link to another container', false),
    f('link-local-ip', undefined, 'strings', 'Add a link-local address for the container', false),
  ] },
  { path: ['network', 'create'], use: 'create [OPTIONS] NETWORK', short: 'Create a network', complete: true, flags: [
    f('attachable', undefined, undefined, 'Enable manual container attachment', true),
    f('aux-address', undefined, 'map', 'Auxiliary IPv4 or IPv6 addresses used by Network driver', false, 'map[]'),
    f('config-from', undefined, 'string', 'The network from which to copy the configuration', false),
    f('config-only', undefined, undefined, 'Create a configuration only network', false),
    f('driver', 'd', 'string', 'Driver to manage the Network', true, '"bridge"'),
    f('gateway', undefined, 'strings', 'IPv4 or IPv6 Gateway for the master subnet', true),
    f('ingress', undefined, undefined, 'Create swarm routing-mesh network', false),
    f('internal', undefined, undefined, 'Restrict external access to the network', true),
    f('ip-range', undefined, 'strings', 'Allocate container ip from a sub-range', false),
    f('ipam-driver', undefined, 'string', 'IP Address Management Driver', true, '"default"'),
    f('ipam-opt', undefined, 'map', 'Set IPAM driver specific options', false, 'map[]'),
    f('ipv6', undefined, undefined, 'Enable IPv6 networking', false),
    f('label', undefined, 'list', 'Set metadata on a network', true),
    f('opt', 'o', 'map', 'Set driver specific options', true, 'map[]'),
    f('scope', undefined, 'string', "Control the network's scope", false),
    f('subnet', undefined, 'strings', 'Subnet in CIDR format that represents a network segment', true),
  ] },
  { path: ['network', 'disconnect'], use: 'disconnect [OPTIONS] NETWORK CONTAINER', short: 'Disconnect a container from a network', complete: true, flags: [
    f('force', 'f', undefined, 'Force the container to disconnect from a network', true),
  ] },
  { path: ['network', 'inspect'], use: 'inspect [OPTIONS] NETWORK [NETWORK...]', short: 'Display detailed information on one or more networks', complete: true, flags: [
    f('format', 'f', 'string', 'Format the output using the given Go template', true),
    f('verbose', 'v', undefined, 'Verbose output for diagnostics', true),
  ] },
  { path: ['network', 'ls'], use: 'ls [OPTIONS]', aliases: ['list'], short: 'List networks', complete: true, flags: [
    f('filter', 'f', 'filter', "Provide filter values (e.g. 'driver=bridge')", true),
    f('format', undefined, 'string', 'Pretty-print networks using a Go template', true),
    f('no-trunc', undefined, undefined, 'Do not truncate the output', true),
    f('quiet', 'q', undefined, 'Only display network IDs', true),
  ] },
  { path: ['network', 'prune'], use: 'prune [OPTIONS]', short: 'Remove all unused networks', complete: true, flags: [
    f('filter', undefined, 'filter', "Provide filter values (e.g. 'until=<timestamp>')", false),
    f('force', 'f', undefined, 'Do not prompt for confirmation', true),
  ] },
  { path: ['network', 'rm'], use: 'rm NETWORK [NETWORK...]', aliases: ['remove'], short: 'Remove one or more networks', complete: true, flags: [] },
  { path: ['container', 'kill'], use: 'kill [OPTIONS] CONTAINER [CONTAINER...]', short: 'Kill one or more running containers', complete: true, flags: KILL_FLAGS },
  { path: ['container', 'ls'], use: 'ls [OPTIONS]', aliases: ['ps', 'list'], short: 'List containers', complete: true, flags: PS_FLAGS },
  { path: ['container', 'port'], use: 'port CONTAINER [PRIVATE_PORT[/PROTO]]', short: 'List port mappings or a specific mapping for the container', complete: true, flags: [] },
  { path: ['container', 'restart'], use: 'restart [OPTIONS] CONTAINER [CONTAINER...]', short: 'Restart one or more containers', complete: true, flags: RESTART_FLAGS },
  { path: ['container', 'rm'], use: 'rm [OPTIONS] CONTAINER [CONTAINER...]', short: 'Remove one or more containers', complete: true, flags: RM_FLAGS },
  { path: ['container', 'start'], use: 'start [OPTIONS] CONTAINER [CONTAINER...]', short: 'Start one or more stopped containers', complete: true, flags: START_FLAGS },
  { path: ['container', 'stop'], use: 'stop [OPTIONS] CONTAINER [CONTAINER...]', short: 'Stop one or more running containers', complete: true, flags: STOP_FLAGS },
  { path: ['exec'], use: 'exec [OPTIONS] CONTAINER COMMAND [ARG...]', short: 'Run a command in a running container', complete: false, stopsAtFirstArg: true, runsInContainer: true, flags: [
    f('interactive', 'i', undefined, 'Keep STDIN open even if not attached', true),
    f('tty', 't', undefined, 'Allocate a pseudo-TTY', true),
  ] },
  { path: ['info'], use: 'info [OPTIONS]', short: 'Display system-wide information', complete: true, flags: [
    f('format', 'f', 'string', 'Format the output using the given Go template', false),
  ] },
  { path: ['inspect'], use: 'inspect [OPTIONS] NAME|ID [NAME|ID...]', short: 'Return low-level information on Docker objects', complete: true, flags: [
    f('format', 'f', 'string', 'Format the output using the given Go template', true),
    f('size', 's', undefined, 'Display total file sizes if the type is container', false),
    f('type', undefined, 'string', 'Return JSON for specified type', false),
  ] },
  { path: ['kill'], use: 'kill [OPTIONS] CONTAINER [CONTAINER...]', short: 'Kill one or more running containers', complete: true, flags: KILL_FLAGS },
  { path: ['port'], use: 'port CONTAINER [PRIVATE_PORT[/PROTO]]', short: 'List port mappings or a specific mapping for the container', complete: true, flags: [] },
  { path: ['ps'], use: 'ps [OPTIONS]', short: 'List containers', complete: true, flags: PS_FLAGS },
  { path: ['restart'], use: 'restart [OPTIONS] CONTAINER [CONTAINER...]', short: 'Restart one or more containers', complete: true, flags: RESTART_FLAGS },
  { path: ['rm'], use: 'rm [OPTIONS] CONTAINER [CONTAINER...]', short: 'Remove one or more containers', complete: true, flags: RM_FLAGS },
  { path: ['run'], use: 'run [OPTIONS] IMAGE [COMMAND] [ARG...]', short: 'Run a command in a new container', complete: false, stopsAtFirstArg: true, flags: RUN_FLAGS },
  { path: ['start'], use: 'start [OPTIONS] CONTAINER [CONTAINER...]', short: 'Start one or more stopped containers', complete: true, flags: START_FLAGS },
  { path: ['stop'], use: 'stop [OPTIONS] CONTAINER [CONTAINER...]', short: 'Stop one or more running containers', complete: true, flags: STOP_FLAGS },
];

export const DOCKER_GROUPS: DockerGroup[] = [
  { name: 'network', short: 'Manage networks', commands: [
    ['connect', 'Connect a container to a network'], ['create', 'Create a network'], ['disconnect', 'Disconnect a container from a network'],
    ['inspect', 'Display detailed information on one or more networks'], ['ls', 'List networks'], ['prune', 'Remove all unused networks'], ['rm', 'Remove one or more networks'],
  ] },
  { name: 'node', short: 'Manage Swarm nodes', commands: [
    ['demote', 'Demote one or more nodes from manager in the swarm'], ['inspect', 'Display detailed information on one or more nodes'], ['ls', 'List nodes in the swarm'],
    ['promote', 'Promote one or more nodes to manager in the swarm'], ['ps', 'List tasks running on one or more nodes, defaults to current node'],
    ['rm', 'Remove one or more nodes from the swarm'], ['update', 'Update a node'],
  ] },
  { name: 'swarm', short: 'Manage Swarm', commands: [
    ['ca', 'Display and rotate the root CA'], ['init', 'Initialize a swarm'], ['join', 'Join a swarm as a node and/or manager'], ['join-token', 'Manage join tokens'],
    ['leave', 'Leave the swarm'], ['unlock', 'Unlock swarm'], ['unlock-key', 'Manage the unlock key'], ['update', 'Update the swarm'],
  ] },
];

/** A command's words: each the path's word, the last one also each alias. */
function commandNames(c: DockerCommand): string[][] {
  return c.path.map((word, i) => (i === c.path.length - 1 ? [word, ...(c.aliases ?? [])] : [word]));
}

/** The commands by each name their first word may take, in the table's order: every step looks its command up. */
let commandsByFirstWord: Map<string, { command: DockerCommand; names: string[][] }[]> | undefined;

/** The command `argv` (words after `docker`) names, by name or alias, and how many words named it. */
export function findDockerCommand(argv: string[]): { command: DockerCommand; words: number } | undefined {
  if (!commandsByFirstWord) {
    commandsByFirstWord = new Map();
    for (const command of DOCKER_COMMANDS) {
      const names = commandNames(command);
      for (const first of new Set(names[0])) {
        const list = commandsByFirstWord.get(first) ?? [];
        list.push({ command, names });
        commandsByFirstWord.set(first, list);
      }
    }
  }
  for (const { command, names } of commandsByFirstWord.get(argv[0]) ?? []) {
    if (names.every((words, i) => words.includes(argv[i]))) return { command, words: command.path.length };
  }
  return undefined;
}

/** pflag's wrapN: the longest prefix of `s` up to `i` characters that ends at a space. */
function wrapN(i: number, slop: number, s: string): [string, string] {
  if (i + slop > s.length) return [s, ''];
  const w = Math.max(s.lastIndexOf(' ', i - 1), s.lastIndexOf('\t', i - 1));
  if (w <= 0) return [s, ''];
  return [s.slice(0, w), s.slice(w + 1)];
}

/** pflag's wrap: usage text from column `indent`, lines at most `width` wide (a little over to avoid an orphan word). */
function wrap(indent: number, width: number, s: string): string {
  let room = width - indent;
  let r = '';
  if (room < 24) {
    indent = 16;
    room = width - indent;
    r = '\n' + ' '.repeat(indent);
  }
  if (room < 24) return s;
  const slop = 5;
  room -= slop;
  let [line, rest] = wrapN(room, slop, s);
  r += line;
  while (rest !== '') {
    [line, rest] = wrapN(room, slop, rest);
    r += '\n' + ' '.repeat(indent) + line;
  }
  return r;
}

/**
 * pflag's FlagUsagesWrapped as docker/cli calls it without a terminal (80 columns less one):
 * flags sorted by name, usage aligned one column past the longest flag.
 */
function flagUsages(flags: DockerFlag[]): string {
  const sorted = [...flags].sort((a, b) => (a.long < b.long ? -1 : 1));
  const heads = sorted.map((x) => (x.short ? `  -${x.short}, --${x.long}` : `      --${x.long}`) + (x.arg ? ` ${x.arg}` : ''));
  const maxlen = Math.max(...heads.map((h) => h.length)) + 1;
  return sorted.map((x, i) => {
    const usage = x.help + (x.default !== undefined ? ` (default ${x.default})` : '');
    return `${heads[i]} ${' '.repeat(maxlen - heads[i].length)} ${wrap(maxlen + 2, 79, usage)}`;
  }).join('\n');
}

/** `docker … --help`: docker/cli's usage template for a command, with the blank line its help template starts with. */
export function dockerHelp(c: DockerCommand): string {
  let s = `\nUsage:  docker ${[...c.path.slice(0, -1), c.use].join(' ')}\n\n${c.short}\n`;
  if (c.aliases?.length) s += `\nAliases:\n  ${[c.path[c.path.length - 1], ...c.aliases].join(', ')}\n`;
  if (c.flags.length) s += `\nOptions:\n${flagUsages(c.flags)}\n`;
  return s;
}

/** A management command's help: its commands, padded as cobra pads names (at least 11 columns). */
export function dockerGroupHelp(g: DockerGroup): string {
  const pad = Math.max(11, ...g.commands.map(([n]) => n.length));
  const rows = g.commands.map(([n, s]) => `  ${n.padEnd(pad)} ${s}`).join('\n');
  return `\nUsage:  docker ${g.name} COMMAND\n\n${g.short}\n\nCommands:\n${rows}\n\nRun 'docker ${g.name} COMMAND --help' for more information on a command.\n`;
}
