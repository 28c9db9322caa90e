/**
 * The one command registry: every program a scenario's host or container shell understands,
 * with its subcommands, options and operands, declared once as data. sim implements each
 * entry; emu runs the same argv with the real program (`kernel` entries) or answers from the
 * model (`model` entries); the text filters of a pipeline are cnmlab's own in both modes
 * (`cnmlab` entries). Anything else is refused the same way in both modes, before any
 * process starts: `cnmlab: not modelled: <command>` on stderr, exit 127.
 *
 * Every row is registered with a rank (`registerCommand`): the shell's own programs here, a
 * driver's programs by its front end (sim/runner/host-commands.ts), so the registry names no
 * driver's program. `lookupCommand(argv, shell)` is the one question both modes ask.
 * docs/commands.md is generated from the registered rows, by rank (scripts/commands-doc.ts).
 */
import { DOCKER_GROUPS, DockerCommand, DockerFlag, dockerGroupHelp, dockerHelp, findDockerCommand } from './docker';
import { RankedRegistry } from '../registry/ranked';
import { BRIDGE_OBJECTS, BRIDGE_VERBS, IP_OBJECTS, IP_VERBS, selectWord, TableWord, TC_OBJECTS, TC_VERBS } from './iproute2-words';
import { execNotFound, imageHas, shellNotFound, someImageMayLack, TOOL_FAMILIES, ToolFamily, toolFamilyOf } from './family';
import { iptablesChangesTables, iptablesNotModelled, iptablesSaveNotModelled, iptablesSaveToFile } from './iptables-commands';
import { ssNotModelled } from './ss-words';
import { tcOptionsNotModelled } from './tc-words';
import { busyboxSysctlOperandModelled, sysctlNotModelled } from './sysctl-words';
import { ipJsonWithDetails, linkSetNotModelledWord, routeNotModelledWord } from './ip-change-words';
import { BUSYBOX_ADDRESS_MODIFY, BUSYBOX_ADDRESS_VERBS, BUSYBOX_LINK_VERBS, BUSYBOX_ROUTE_MODIFY, BUSYBOX_ROUTE_VERBS, busyboxWordsFor, linkChangeModelled } from './ip-link-words';

export type ShellKind = 'host' | 'container';

/** Who answers an entry: the model (docker, the netns link), the namespace's kernel and programs, or cnmlab's text filter. */
export type AnsweredBy = 'model' | 'kernel' | 'cnmlab';

export interface OptionSpec {
  /** As typed: `-c`, `-M`. */
  flag: string;
  /** Name of its value, when it takes one (`-c 3` or `-c3`). */
  arg?: string;
  /** The values allowed, when only some are modelled. */
  values?: string[];
  help: string;
}

/** One form of a program: fixed leading words, then options, then operands. */
export interface CommandForm {
  /** Words after the program name that select this form, e.g. ['fdb', 'show']. */
  words: string[];
  /** Words that may be left out (iproute2 assumes `show`). */
  optionalWords?: number;
  options: OptionSpec[];
  /** The first operand ends the options (`ip netns exec NS CMD -x`, `echo x -n`); otherwise options may follow operands, as GNU getopt permutes them. */
  operandsEndOptions?: boolean;
  /** Boolean single-letter options may be clustered (`-vi`), as getopt allows. */
  clusters?: boolean;
  /**
   * Operands: how many, for each position the values allowed (undefined: any word), a shape
   * every one must have, and a test of them all together where their grammar is richer.
   */
  operands: { min: number; max: number; names: string; allowed?: (string[] | undefined)[]; shape?: RegExp; fit?: (operands: readonly string[]) => boolean };
  synopsis: string;
  /** The form changes the namespace's kernel when it succeeds (`ip route add`, `ip link set`), not only reads it. */
  changesKernel?: boolean;
  /**
   * The form dumps a kernel hash table (FDB, sockets, neighbours), whose order depends on the
   * kernel's version and a per-boot or per-namespace salt: verify compares its lines as a set.
   */
  unorderedOutput?: boolean;
}

export interface ProgramEntry {
  program: string;
  shells: ShellKind[];
  answeredBy: AnsweredBy;
  summary: string;
  forms: CommandForm[];
  /** Global options before the first word (iproute2's `-d`). */
  globalOptions?: OptionSpec[];
  /** Global options that together are not modelled (ip's -j with -d): the line is refused whatever its form. */
  globalOptionsRefused?: (options: readonly string[]) => boolean;
  /** iproute2-style: the first word may be any prefix that selects it in `wordOrder`. */
  wordOrder?: readonly TableWord[];
  /**
   * iproute2's: the second word, each object's verb, selected as the object's table does
   * (iproute2-words.ts selectWord: `ip link s` is set). A word that is no verb leaves the verb
   * out only where a form lets it (the program's own "Command … is unknown" then).
   */
  verbOrder?: Readonly<Record<string, readonly TableWord[]>>;
  /**
   * The program checks its own arguments as the real one does, and names what it does not
   * model with a `cnmlab: … is not modelled` line of its own (iptables' rule grammar is too
   * rich to restate here); its forms are then only its synopsis.
   */
  checksOwnArguments?: boolean;
  /**
   * The lines whose words the program refuses as not modelled (where its forms cannot say
   * it), refused here instead, before either mode runs, so that emu never runs the real
   * program on them (`shell`: a container's /proc/sys is read-only, which comes first).
   */
  refusesOwnArguments?: (args: string[], shell: ShellKind) => boolean;
  /**
   * The lines the program refuses as not modelled only where it holds CAP_NET_ADMIN (it asks
   * the kernel something first that a program without it is refused): always in a host's shell,
   * in a container's when it was run with --cap-add NET_ADMIN, which the shell asks once it
   * knows the container (refusedHoldingNetAdmin).
   */
  refusesHoldingNetAdmin?: (args: string[]) => boolean;
  /** For a program that checks its own arguments (no form says it): do these arguments change the kernel when it succeeds? */
  changesKernelWith?: (args: string[]) => boolean;
  /** The tool families whose containers have this program (family.ts); GNU's alone when absent. A host's shell is GNU. */
  families?: ToolFamily[];
}

/** Why a step was stopped: its timeout, or the output cap. */
export type StepEnd = 'timed-out' | 'output-cut';

/** What a command printed and its exit status: every program's, tool's and refusal's, in both modes (sim/backend.ts hands it on). */
export interface CommandOutput {
  stdout: string;
  stderr: string;
  exitCode: number;
  /** Set when the step was stopped by its timeout or the output cap (runner/bounds). */
  end?: StepEnd;
  /** Set by emu when the real kernel lacks a feature sim models (commands/kernel-features): what it lacks. */
  unavailable?: string;
  /** The daemon's waits the model decided while the command ran (model/tx.ts DaemonWait): neither mode sleeps them. */
  daemonWaits?: { ns: number; why: string }[];
  /**
   * cnmlab refused the command as one it does not model: its own refusal (notModelled, exit
   * 127), the model's NotModelled as a command prints it, or a modelled program's refusal of
   * words it does not model (ip's, iptables', tc's, ss's, sysctl's and ping's `cnmlab: … not
   * modelled`, exit 2: iproute_utils.ts unmodelledWords).
   * Nothing ran for it, so verify fails the step (runner/shell.ts runLine).
   */
  refusedUnmodelled?: true;
}

export type Lookup =
  /** `answer`: the output when the shell answers without running the program (Docker's help text, a BusyBox image's `not found`). */
  | { modelled: true; entry: ProgramEntry; answer?: CommandOutput }
  | { modelled: false; refusal: CommandOutput };

/** A lookup that found what answers the command: the program, or the shell's own answer. */
export type TakenLookup = Extract<Lookup, { modelled: true }>;

export const NOT_MODELLED_EXIT = 127;

export function notModelled(command: string): CommandOutput {
  return { stdout: '', stderr: `cnmlab: not modelled: ${command}\n`, exitCode: NOT_MODELLED_EXIT, refusedUnmodelled: true };
}

export const form = (words: string[], synopsis: string, options: OptionSpec[] = [], operands: CommandForm['operands'] = { min: 0, max: 0, names: '' }, extra: Partial<CommandForm> = {}): CommandForm =>
  ({ words, synopsis, options, operands, ...extra });

const IP_SHOW_DEV = { min: 0, max: 2, names: '[dev] DEVICE' };
// The device, then up, down, mtu N or address MAC in any order (iproute.ts checks them as iplink does);
// an attribute the model does not change is refused here, as sim's ip refuses it (ip-change-words.ts).
const LINK_SET = { min: 0, max: Infinity, names: 'DEVICE up|down|mtu N|address MAC', fit: (words: readonly string[]) => !linkSetNotModelledWord(words) };
const LINK_SET_DEV = { ...LINK_SET, fit: (words: readonly string[]) => !linkSetNotModelledWord(['dev', ...words]) };
/** A route's words: a type or attribute the model does not have is refused, as sim's ip refuses it (ip-change-words.ts). */
const ROUTE_CHANGE = (names: string) => ({ min: 1, max: Infinity, names, fit: (words: readonly string[]) => !routeNotModelledWord(words) });


/** The files of a container's own that Docker writes (its resolver's, its hosts and its name). */
const CONTAINER_FILES = ['/etc/resolv.conf', '/etc/hosts', '/etc/hostname'];
const TEXT_FILTER_NOTE = 'a pipeline stage (cnmlab applies it to the previous stage\'s output, in both modes)';

/** BusyBox 1.35's ping options, as modelled. */
const BUSYBOX_PING_OPTIONS: OptionSpec[] = [
  { flag: '-c', arg: 'count', help: 'send only COUNT pings' },
  { flag: '-i', arg: 'interval', help: 'seconds between pings' },
  { flag: '-W', arg: 'timeout', help: 'seconds to wait for a reply after the last ping (default 10)' },
  { flag: '-w', arg: 'deadline', help: 'seconds until ping exits' },
  { flag: '-s', arg: 'size', help: 'ICMP payload bytes (default 56)' },
  { flag: '-t', arg: 'ttl', help: 'IP time to live' },
  { flag: '-I', arg: 'interface', help: 'source device or address' },
  { flag: '-q', help: 'quiet: the start and the summary only' },
];

const REGISTERED = new RankedRegistry<ProgramEntry>('command row');

/**
 * Adds a row to the registry (the shells then understand its forms), placed by `rank` (lowest
 * first) where the registry lists its rows (docs/commands.md). A row is named by its forms'
 * synopses (docker's, whose commands are declared apart, by its program): two rows declaring
 * the same forms are refused. Ranks: Docker's CLI 100, the rows drivers' front ends register
 * (sim/runner/host-commands.ts) 200–999, the shell's own programs from 1000 on.
 */
export function registerCommand(entry: ProgramEntry, { rank }: { rank: number }): void {
  REGISTERED.register(entry.forms.length ? entry.forms.map((f) => f.synopsis).join('; ') : entry.program, entry, rank);
}

/** Every registered row, by rank. */
export function registeredCommands(): readonly ProgramEntry[] {
  return REGISTERED.list();
}

registerCommand({
  program: 'docker', shells: ['host'], answeredBy: 'model', summary: "Docker 20.10's CLI against the model (see the docker table)",
  forms: [],
}, { rank: 100 });

/** The shell's own programs: the kernel's (in emu, the real ones), the model's that belong to no driver, and the text filters; ranked from 1000 in this order. */
const BUILT_IN: ProgramEntry[] = [
  {
    program: 'ln', shells: ['host'], answeredBy: 'model', summary: "the tutorial's link that makes Docker's namespaces visible to `ip netns`",
    forms: [form(['-s', '/var/run/docker/netns', '/var/run/netns'], 'ln -s /var/run/docker/netns /var/run/netns')],
  },
  {
    program: 'ip', shells: ['host', 'container'], answeredBy: 'kernel', summary: 'iproute2 6.1: addresses, links, routes, neighbours, a link up or down, a dummy device added or deleted, a route added or deleted (in a container without --cap-add NET_ADMIN the kernel refuses each change: RTNETLINK answers: Operation not permitted); `ip netns` on a host',
    globalOptions: [
      { flag: '-d', help: 'details' }, { flag: '-details', help: 'details' }, { flag: '-j', help: 'JSON' }, { flag: '-json', help: 'JSON' },
      { flag: '-s', help: 'statistics' }, { flag: '-stats', help: 'statistics' }, { flag: '-statistics', help: 'statistics' }, { flag: '-4', help: 'IPv4 only' },
    ],
    globalOptionsRefused: ipJsonWithDetails,
    wordOrder: IP_OBJECTS,
    // Each verb by any prefix that selects it in its object's table (iproute2-words.ts): `ip link s` is set, `ip addr a` add.
    verbOrder: IP_VERBS,
    forms: [
      form(['help'], 'ip help  (its usage, on stderr, exit 255)'),
      form(['address', 'show|list|lst'], 'ip [-d|-j|-s] address [show [[dev] DEVICE]]', [], IP_SHOW_DEV, { optionalWords: 1 }),
      form(['address', 'help'], 'ip address help'),
      // Only the words sim models (linkChangeModelled): another kind or an attribute is refused before emu's real ip could make it.
      form(['link', 'add'], 'ip link add [name] NAME type dummy', [], { min: 0, max: Infinity, names: '[name] NAME type dummy', fit: (words) => linkChangeModelled('add', words) }, { changesKernel: true }),
      // Deleting a device the model made, and `ip route del` of an address's connected route, are
      // refused in the namespace in both modes (sim's ip knows its devices and routes, emu its plan's
      // devices and addresses): the registry knows neither.
      form(['link', 'delete'], 'ip link del [dev] DEVICE', [], { min: 0, max: Infinity, names: '[dev] DEVICE', fit: (words) => linkChangeModelled('del', words) }, { changesKernel: true }),
      form(['link', 'show|list|lst'], 'ip [-d|-j|-s] link [show [[dev] DEVICE]]', [], IP_SHOW_DEV, { optionalWords: 1 }),
      form(['link', 'set|change', 'dev'], 'ip link set [dev] DEVICE up|down|mtu N|address MAC', [], LINK_SET_DEV, { changesKernel: true }),
      form(['link', 'set|change'], 'ip link set DEVICE up|down|mtu N|address MAC', [], LINK_SET, { changesKernel: true }),
      form(['link', 'help'], 'ip link help'),
      form(['route', 'show|list|lst'], 'ip [-j] route [show]', [], undefined, { optionalWords: 1 }),
      form(['route', 'get'], 'ip [-j] route get [to] ADDRESS', [], { min: 1, max: 2, names: '[to] ADDRESS' }),
      form(['route', 'add'], 'ip route add [blackhole] PREFIX [via ADDRESS] [dev DEVICE] [onlink] [proto PROTO]', [], ROUTE_CHANGE('ROUTE'), { operandsEndOptions: true, changesKernel: true }),
      form(['route', 'delete'], 'ip route del [blackhole] PREFIX [via ADDRESS] [dev DEVICE] [proto PROTO]', [], ROUTE_CHANGE('ROUTE'), { operandsEndOptions: true, changesKernel: true }),
      form(['route', 'help'], 'ip route help'),
      form(['neighbour', 'show|list|lst'], 'ip neighbour [show]', [], undefined, { optionalWords: 1, unorderedOutput: true }),
      form(['neighbor', 'show|list|lst'], 'ip neighbor [show]', [], undefined, { optionalWords: 1, unorderedOutput: true }),
      form(['neighbour', 'help'], 'ip neighbour help'),
      form(['neighbor', 'help'], 'ip neighbor help'),
    ],
  },
  {
    program: 'ip', shells: ['host'], answeredBy: 'model', summary: "Docker's namespaces on a host, and a command run in one",
    forms: [
      form(['netns', 'list|ls|show'], 'ip netns [list|ls|show]', [], undefined, { optionalWords: 1 }),
      form(['netns', 'exec'], 'ip netns exec NETNS|@NETWORK COMMAND [ARG...]  (COMMAND: a host-shell command answered by the kernel)', [], { min: 2, max: Infinity, names: 'NETNS COMMAND' }, { operandsEndOptions: true }),
      // Checked as the `ip netns exec NETNS ip …` it stands for (lookupCommand rewrites it, as the shell does).
      form(['-n|-netns'], 'ip [OPTIONS] -n NETNS|@NETWORK OBJECT …  (as ip netns exec NETNS ip [OPTIONS] OBJECT …)', [], { min: 1, max: Infinity, names: 'NETNS OBJECT' }, { operandsEndOptions: true }),
    ],
  },
  {
    program: 'bridge', shells: ['host', 'container'], answeredBy: 'kernel', summary: "iproute2's bridge: forwarding database entries, bridge ports",
    wordOrder: BRIDGE_OBJECTS,
    verbOrder: BRIDGE_VERBS,
    forms: [
      form(['fdb', 'show|list|lst'], 'bridge fdb [show] [[dev] DEVICE]', [], IP_SHOW_DEV, { optionalWords: 1, unorderedOutput: true }),
      form(['fdb', 'help'], 'bridge fdb help'),
      form(['link', 'show|list|lst'], 'bridge link [show] [[dev] DEVICE]', [], IP_SHOW_DEV, { optionalWords: 1 }),
      form(['link', 'help'], 'bridge link help'),
    ],
  },
  {
    program: 'ping', shells: ['host', 'container'], answeredBy: 'kernel', summary: 'iputils ping (traced hop by hop)',
    // -I with a device other than the route's is refused as not modelled once the route is known
    // (ping-words.ts: sim's ping looks it up, emu asks its plan's devices and routes); the registry knows no routes.
    forms: [form([], 'ping [OPTIONS] DESTINATION', [
      { flag: '-c', arg: 'count', help: 'stop after COUNT replies' },
      { flag: '-i', arg: 'interval', help: 'seconds between probes' },
      { flag: '-W', arg: 'timeout', help: 'seconds to wait for a reply' },
      { flag: '-w', arg: 'deadline', help: 'seconds before ping exits' },
      { flag: '-s', arg: 'size', help: 'ICMP payload bytes' },
      { flag: '-M', arg: 'pmtudisc', values: ['do', 'want', 'dont'], help: 'path MTU discovery' },
      { flag: '-q', help: 'quiet: summary only' },
      { flag: '-f', help: 'flood' },
      { flag: '-n', help: 'numeric output only' },
      { flag: '-t', arg: 'ttl', help: 'IP time to live' },
      { flag: '-I', arg: 'interface', help: 'source address or device' },
    ], { min: 1, max: 1, names: 'DESTINATION' })],
  },
  {
    program: 'iptables', shells: ['host', 'container'], answeredBy: 'kernel', checksOwnArguments: true,
    changesKernelWith: iptablesChangesTables,
    // A table or match it does not model is refused before the line is read, whatever the capabilities.
    refusesOwnArguments: (args) => iptablesNotModelled(args) !== undefined,
    summary: "Debian 12's iptables 1.8.9 (nf_tables), tables filter and nat: it refuses what it does not model itself (`cnmlab: … is not modelled`, exit 2); in a container without --cap-add NET_ADMIN it cannot read the tables (exit 4)",
    forms: [form([], 'iptables [-t filter|nat] -A|-I|-D|-R|-S|-L|-F|-Z|-N|-X|-P|-E CHAIN [RULE-SPECIFICATION] [-v] [-n] [-x] [--line-numbers]', [], { min: 0, max: Infinity, names: 'ARG' })],
  },
  {
    program: 'iptables-save', shells: ['host', 'container'], answeredBy: 'kernel', checksOwnArguments: true,
    summary: "iptables 1.8.9's dump of the namespace's tables (-M names a modprobe it never runs here; -f, which writes the dump to a file, is not modelled)",
    refusesOwnArguments: iptablesSaveToFile,
    refusesHoldingNetAdmin: iptablesSaveNotModelled,
    forms: [form([], 'iptables-save [-t filter|nat] [-c] [-d] [-M PROGRAM] [-b] [-V]', [], { min: 0, max: Infinity, names: 'ARG' })],
  },
  {
    program: 'tc', shells: ['host', 'container'], answeredBy: 'kernel',
    summary: "iproute2 6.1's tc: a device's root qdisc, tbf or netem (on a kernel without netem, emu reports that step not available in this kernel; in a container without --cap-add NET_ADMIN the kernel refuses a change)",
    wordOrder: TC_OBJECTS,
    verbOrder: TC_VERBS,
    forms: [
      form(['qdisc', 'show|list|lst'], 'tc qdisc [show] [dev DEVICE]', [], { min: 0, max: 2, names: '[dev DEVICE]', allowed: [['dev']] }, { optionalWords: 1 }),
      form(['qdisc', 'add|change|replace'], 'tc qdisc add|change|replace dev DEVICE root tbf|netem OPTIONS', [], { min: 4, max: Infinity, names: 'dev DEVICE root tbf|netem OPTIONS', allowed: [['dev'], undefined, ['root'], ['tbf', 'netem']] }, { operandsEndOptions: true, changesKernel: true }),
      form(['qdisc', 'delete'], 'tc qdisc del dev DEVICE root [tbf|netem]', [], { min: 3, max: Infinity, names: 'dev DEVICE root [tbf|netem OPTIONS]', allowed: [['dev'], undefined, ['root'], ['tbf', 'netem']] }, { operandsEndOptions: true, changesKernel: true }),
      form(['qdisc', 'help'], 'tc qdisc help  (its usage, on stderr, exit 0)'),
    ],
    // A qdisc's option tc reads but cnmlab does not model (netem's correlations, tbf's peakrate …): tc reads them before any device.
    refusesOwnArguments: tcOptionsNotModelled,
  },
  {
    program: 'sysctl', shells: ['host', 'container'], answeredBy: 'kernel', checksOwnArguments: true,
    // procps writes KEY=VALUE with or without -w.
    changesKernelWith: (args) => args.some((a) => a === '-w' || (!a.startsWith('-') && a.includes('='))),
    refusesOwnArguments: (args, shell) => sysctlNotModelled(args, shell === 'container'),
    summary: "procps-ng 4.0.2's sysctl over the namespace's /proc/sys/net: net.ipv4.ip_forward, net.ipv4.conf.{all,default,DEVICE}.forwarding (read and write), net.ipv6.conf.{all,default}.disable_ipv6 (read), net.bridge.bridge-nf-call-iptables (read and write; a container's /proc/sys is read-only, so its writes fail); other keys and -a, -p are refused as not modelled (exit 2)",
    forms: [form([], 'sysctl [-w] [-n|-N] [-q] [-e] KEY[=VALUE]...', [], { min: 0, max: Infinity, names: 'KEY[=VALUE]' })],
  },
  {
    program: 'ss', shells: ['host', 'container'], answeredBy: 'kernel',
    summary: "iproute2's ss: the namespace's TCP and UDP sockets (the kernel's vxlan socket, dockerd's, the embedded DNS resolver's)",
    forms: [form([], 'ss [-l|-a] [-n] [-t] [-u] [-H]', [
      { flag: '-l', help: 'listening sockets' }, { flag: '-a', help: 'all sockets' }, { flag: '-n', help: 'numeric ports' },
      { flag: '-t', help: 'TCP' }, { flag: '-u', help: 'UDP' }, { flag: '-H', help: 'no header' },
    ], undefined, { clusters: true, unorderedOutput: true })],
    // No protocol (-t, -u) is not modelled either.
    refusesOwnArguments: ssNotModelled,
  },
  {
    program: 'nslookup', shells: ['container'], answeredBy: 'kernel', summary: "a name asked of the container's resolver (Docker's embedded DNS)",
    forms: [form([], 'nslookup NAME|ADDRESS', [], { min: 1, max: 1, names: 'NAME' })],
  },
  {
    program: 'getent', shells: ['container'], answeredBy: 'kernel', summary: "glibc's resolver: hosts database",
    forms: [form([], 'getent hosts|ahosts NAME', [], { min: 2, max: 2, names: 'DATABASE NAME', allowed: [['hosts', 'ahosts']] })],
  },
  {
    program: 'hostname', shells: ['container'], answeredBy: 'kernel', summary: "the container's host name, or its addresses",
    forms: [form([], 'hostname [-i|-I]', [{ flag: '-i', help: 'addresses' }, { flag: '-I', help: 'all addresses' }])],
  },
  {
    program: 'cat', families: ['gnu', 'busybox'], shells: ['container'], answeredBy: 'kernel', summary: "the container's resolver, hosts and hostname files, as Docker writes them (coreutils' or BusyBox's cat, which print them alike)",
    forms: [form([], 'cat /etc/resolv.conf|/etc/hosts|/etc/hostname', [], { min: 1, max: 3, names: 'FILE', allowed: [CONTAINER_FILES, CONTAINER_FILES, CONTAINER_FILES] })],
  },
  {
    program: 'echo', families: ['gnu', 'busybox'], shells: ['host', 'container'], answeredBy: 'kernel', summary: 'its words, on one line',
    forms: [form([], 'echo [WORD...]', [], { min: 0, max: Infinity, names: 'WORD' }, { operandsEndOptions: true })],
  },
  {
    program: 'sleep', families: ['gnu', 'busybox'], shells: ['host', 'container'], answeredBy: 'kernel', summary: "coreutils' (or BusyBox's) sleep: waits on the run's clock (virtual in sim), within the step's timeout",
    forms: [form([], 'sleep NUMBER[s|m|h|d]', [], { min: 1, max: 1, names: 'NUMBER' })],
  },
  {
    program: 'true', families: ['gnu', 'busybox'], shells: ['host', 'container'], answeredBy: 'kernel', summary: 'nothing, successfully',
    forms: [form([], 'true')],
  },
  // The machine's busybox on a host, run as its applet: the same ping as a BusyBox image's.
  {
    program: 'busybox', shells: ['host'], answeredBy: 'kernel', summary: "BusyBox's ping run on the host as `busybox ping`: its texts, and at a send a firewall drops `ping: sendto: Operation not permitted`",
    forms: [form(['ping'], 'busybox ping [OPTIONS] HOST', BUSYBOX_PING_OPTIONS, { min: 1, max: 1, names: 'HOST' })],
  },
  // BusyBox's applets (family.ts), in a container whose image is built on BusyBox.
  {
    program: 'ping', families: ['busybox'], shells: ['container'], answeredBy: 'kernel', summary: "BusyBox's ping (traced hop by hop): `seq=0` first, no name looked up for the replies",
    forms: [form([], 'ping [OPTIONS] HOST', BUSYBOX_PING_OPTIONS, { min: 1, max: 1, names: 'HOST' })],
  },
  {
    program: 'nslookup', families: ['busybox'], shells: ['container'], answeredBy: 'kernel', summary: "BusyBox's nslookup: A and AAAA (PTR for an address) asked of the container's resolver at once",
    forms: [form([], 'nslookup HOST', [], { min: 1, max: 1, names: 'HOST' })],
  },
  {
    program: 'ip', families: ['busybox'], shells: ['container'], answeredBy: 'kernel', summary: "BusyBox's ip: addresses, links, routes and neighbours (its own texts: no state, group or proto; neighbours with their cache info); a route, an address or a link changed is refused as the kernel refuses a container without CAP_NET_ADMIN (`ip: RTNETLINK answers: Operation not permitted`, `ip: SIOCSIFMTU: …`, exit 2; a flush that selects something `ip: can't send flush request: Operation not permitted`, exit 1), after BusyBox's own checks of its words; with --cap-add NET_ADMIN, ip link set up|down|mtu is made as BusyBox makes it (`ip: SIOCSIFMTU: Invalid argument` outside the device's range) and any other change is not modelled",
    // -d is iproute2's, which BusyBox's ip does not know: it answers with its usage, exit 1.
    globalOptions: [{ flag: '-4', help: 'IPv4 only' }, { flag: '-d', help: "iproute2's details: BusyBox's ip has no such option (its usage, exit 1)" }],
    wordOrder: ['address', 'route', 'link', 'tunnel', 'neigh', 'rule'],
    // The changes before the show forms, whose word may be left out: `ip link add d0` names no device `add`.
    forms: [
      // Each verb as BusyBox's tables select it: the word or a prefix of no other verb (ip-link-words.ts).
      form(['route', busyboxWordsFor(BUSYBOX_ROUTE_VERBS, 'a', 'add', 'delete')], 'ip route add|del [to] PREFIX|default [via ADDRESS] [dev DEVICE]', [], { min: 0, max: Infinity, names: 'ROUTE' }, { operandsEndOptions: true, changesKernel: true }),
      form(['route', busyboxWordsFor(BUSYBOX_ROUTE_VERBS, ...BUSYBOX_ROUTE_MODIFY)], 'ip route append|change|chg|prepend|replace|test [to] PREFIX|default [via ADDRESS] [dev DEVICE]', [], { min: 0, max: Infinity, names: 'ROUTE' }, { operandsEndOptions: true, changesKernel: true }),
      form(['route', busyboxWordsFor(BUSYBOX_ROUTE_VERBS, 'flush')], 'ip route flush [to] [root|match|exact] PREFIX|default [dev DEVICE]', [], { min: 0, max: Infinity, names: 'SELECTOR' }, { operandsEndOptions: true, changesKernel: true }),
      form(['address', busyboxWordsFor(BUSYBOX_ADDRESS_VERBS, 'add', 'delete')], 'ip address add|del ADDRESS[/LENGTH] dev DEVICE', [], { min: 0, max: Infinity, names: 'ADDRESS dev DEVICE' }, { operandsEndOptions: true, changesKernel: true }),
      form(['address', busyboxWordsFor(BUSYBOX_ADDRESS_VERBS, ...BUSYBOX_ADDRESS_MODIFY)], 'ip address change|chg|replace ADDRESS[/LENGTH] dev DEVICE', [], { min: 0, max: Infinity, names: 'ADDRESS dev DEVICE' }, { operandsEndOptions: true, changesKernel: true }),
      form(['address', busyboxWordsFor(BUSYBOX_ADDRESS_VERBS, 'flush')], 'ip address flush [dev] DEVICE', [], { min: 0, max: Infinity, names: '[dev] DEVICE' }, { operandsEndOptions: true, changesKernel: true }),
      form(['link', busyboxWordsFor(BUSYBOX_LINK_VERBS, 'add')], 'ip link add [name] NAME type KIND [peer name PEER]', [], { min: 0, max: Infinity, names: '[name] NAME type KIND' }, { changesKernel: true }),
      form(['link', busyboxWordsFor(BUSYBOX_LINK_VERBS, 'delete')], 'ip link del [dev] DEVICE', [], { min: 0, max: Infinity, names: '[dev] DEVICE' }, { changesKernel: true }),
      form(['link', busyboxWordsFor(BUSYBOX_LINK_VERBS, 'set')], 'ip link set [dev] DEVICE [up|down] [mtu N] [qlen N] [name NAME] [address MAC]', [], { min: 0, max: Infinity, names: 'DEVICE up|down|mtu|qlen|name|address' }, { operandsEndOptions: true, changesKernel: true }),
      // BusyBox's ip neigh has only show and flush: it refuses the rest (`ip: invalid argument 'add' to 'ip'`, exit 1) whatever its capabilities.
      form(['neigh', 'add|del|delete|change|replace'], "ip neigh add|del|change|replace …  (BusyBox's ip neigh has none of them: its refusal)", [], { min: 0, max: Infinity, names: 'ARG' }, { operandsEndOptions: true }),
      form(['address', 'show|list'], 'ip [-4] address [show [[dev] DEVICE]]', [], IP_SHOW_DEV, { optionalWords: 1 }),
      form(['link', 'show|list'], 'ip link [show [[dev] DEVICE]]', [], IP_SHOW_DEV, { optionalWords: 1 }),
      form(['route', 'show|list'], 'ip route [show]', [], undefined, { optionalWords: 1 }),
      form(['neigh', 'show'], 'ip neigh [show] [dev DEVICE]', [], { min: 0, max: 2, names: 'dev DEVICE', allowed: [['dev']] }, { optionalWords: 1, unorderedOutput: true }),
    ],
  },
  {
    program: 'arp', families: ['busybox'], shells: ['container'], answeredBy: 'kernel', summary: "BusyBox's arp: the neighbour table, numeric",
    forms: [form(['-n'], 'arp -n  (numeric: without -n arp looks every address up, not modelled)', [], undefined, { unorderedOutput: true })],
  },
  {
    program: 'ifconfig', families: ['busybox'], shells: ['container'], answeredBy: 'kernel', summary: "BusyBox's ifconfig: the devices that are up (-a: all), with their counters",
    forms: [form([], 'ifconfig [-a] [DEVICE]', [{ flag: '-a', help: 'devices that are down too' }], { min: 0, max: 1, names: 'DEVICE' })],
  },
  {
    program: 'netstat', families: ['busybox'], shells: ['container'], answeredBy: 'kernel', summary: "BusyBox's netstat: the routing table, numeric",
    forms: [form(['-rn|-nr'], 'netstat -rn')],
  },
  {
    program: 'route', families: ['busybox'], shells: ['container'], answeredBy: 'kernel', summary: "BusyBox's route: the routing table, numeric",
    forms: [form(['-n'], 'route -n')],
  },
  {
    program: 'sysctl', families: ['busybox'], shells: ['container'], answeredBy: 'kernel',
    summary: "BusyBox's sysctl over the keys the sim kernel models (net.ipv4.ip_forward, net.ipv4.conf.{all,default,DEVICE}.forwarding, net.ipv6.conf.{all,default}.disable_ipv6, net.bridge.bridge-nf-call-iptables): reading, and writing refused by the container's read-only /proc/sys",
    // Only the modelled keys: the real applet in emu must not answer a key sim cannot. A
    // write fails in both modes, on the read-only /proc/sys of a container's view (emu/confine.ts).
    forms: [form([], 'sysctl [-n] [-e] [-w] KEY[=VALUE]...', [{ flag: '-n', help: 'values only' }, { flag: '-e', help: 'no warning for an unknown key' }, { flag: '-w', help: 'write (refused: /proc/sys is read-only)' }], {
      min: 1, max: Infinity, names: 'KEY[=VALUE]',
      fit: (operands) => operands.every(busyboxSysctlOperandModelled),
    })],
  },
  {
    program: 'hostname', families: ['busybox'], shells: ['container'], answeredBy: 'kernel', summary: "the container's host name, or its address from /etc/hosts",
    forms: [form([], 'hostname [-i]', [{ flag: '-i', help: 'the address of the host name' }])],
  },
  {
    program: 'grep', families: ['gnu', 'busybox'], shells: ['host', 'container'], answeredBy: 'cnmlab', summary: `lines matching a pattern; ${TEXT_FILTER_NOTE}`,
    forms: [form([], 'grep [-vicqEF] PATTERN', [
      { flag: '-v', help: 'non-matching lines' }, { flag: '-i', help: 'ignore case' }, { flag: '-c', help: 'count lines' },
      { flag: '-q', help: 'quiet: exit status only' }, { flag: '-E', help: 'extended regular expression' }, { flag: '-F', help: 'fixed string' },
    ], { min: 1, max: 1, names: 'PATTERN' }, { clusters: true })],
  },
  {
    program: 'head', families: ['gnu', 'busybox'], shells: ['host', 'container'], answeredBy: 'cnmlab', summary: `the first lines; ${TEXT_FILTER_NOTE}`,
    forms: [form([], 'head [-n N | -N]', [{ flag: '-n', arg: 'N', help: 'lines (default 10)' }])],
  },
  {
    program: 'tail', families: ['gnu', 'busybox'], shells: ['host', 'container'], answeredBy: 'cnmlab', summary: `the last lines; ${TEXT_FILTER_NOTE}`,
    forms: [form([], 'tail [-n N | -N]', [{ flag: '-n', arg: 'N', help: 'lines (default 10)' }])],
  },
  {
    program: 'wc', families: ['gnu', 'busybox'], shells: ['host', 'container'], answeredBy: 'cnmlab', summary: `counts lines, words, bytes; ${TEXT_FILTER_NOTE}`,
    forms: [form([], 'wc [-lwc]', [{ flag: '-l', help: 'lines' }, { flag: '-w', help: 'words' }, { flag: '-c', help: 'bytes' }], undefined, { clusters: true })],
  },
];
BUILT_IN.forEach((entry, i) => registerCommand(entry, { rank: 1000 + i }));

/** The programs that read the previous stage's output in a pipeline. */
export function isTextFilter(entry: ProgramEntry): boolean {
  return entry.answeredBy === 'cnmlab';
}

/** Options then operands of one form; true when every word is declared. */
function argsFit(f: CommandForm, args: string[]): boolean {
  const operands: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a.startsWith('-') && a.length > 1 && !(f.operandsEndOptions && operands.length > 0)) {
      // head/tail's obsolete `-N`.
      if (/^-\d+$/.test(a) && f.options.some((o) => o.flag === '-n')) continue;
      const exact = f.options.find((o) => o.flag === a);
      if (exact) {
        if (exact.arg) {
          const v = args[++i];
          if (v === undefined || (exact.values && !exact.values.includes(v))) return false;
        }
        continue;
      }
      const attached = f.options.find((o) => o.arg && a.startsWith(o.flag) && a.length > o.flag.length);
      if (attached) {
        if (attached.values && !attached.values.includes(a.slice(attached.flag.length))) return false;
        continue;
      }
      if (f.clusters && [...a.slice(1)].every((ch) => f.options.some((o) => o.flag === `-${ch}` && !o.arg))) continue;
      return false;
    }
    operands.push(a);
  }
  const { min, max, allowed, shape, fit } = f.operands;
  if (operands.length < min || operands.length > max) return false;
  return operands.every((o, i) => (!allowed?.[i] || allowed[i]!.includes(o)) && (!shape || shape.test(o))) && (!fit || fit(operands));
}

function matchesForm(entry: ProgramEntry, args: string[], shell: ShellKind): boolean {
  if (entry.refusesOwnArguments?.(args, shell)) return false;
  // A host's shell runs its programs as root.
  if (shell === 'host' && entry.refusesHoldingNetAdmin?.(args)) return false;
  return entry.checksOwnArguments === true || matchingForm(entry, args) !== undefined;
}

/**
 * A container's command the registry took (`l`), refused as not modelled because the
 * container holds CAP_NET_ADMIN (ProgramEntry.refusesHoldingNetAdmin): the refusal, or
 * undefined. The shell asks it once it knows the container, in both modes.
 */
export function refusedHoldingNetAdmin(l: Lookup, argv: string[]): CommandOutput | undefined {
  return l.modelled && !l.answer && l.entry.refusesHoldingNetAdmin?.(argv.slice(1)) ? notModelled(argv.join(' ')) : undefined;
}

/** The form of `entry` that `args` are, its words selected as the program selects them (iproute2: by prefix). */
function matchingForm(entry: ProgramEntry, args: string[]): CommandForm | undefined {
  let rest = args;
  if (entry.globalOptions) {
    while (rest.length && entry.globalOptions.some((o) => o.flag === rest[0])) rest = rest.slice(1);
    if (entry.globalOptionsRefused?.(args.slice(0, args.length - rest.length))) return undefined;
  }
  const object = entry.wordOrder ? selectWord(entry.wordOrder, rest[0]) : rest[0];
  const verbs = object === undefined ? undefined : entry.verbOrder?.[object];
  const verb = verbs && selectWord(verbs, rest[1]);
  return entry.forms.find((f) => {
    let words = rest;
    for (let i = 0; i < f.words.length; i++) {
      const w = words[0];
      const alternatives = f.words[i].split('|');
      const selects = w !== undefined && alternatives.includes(i === 0 && entry.wordOrder ? object ?? '' : i === 1 && verbs ? verb ?? '' : w);
      if (selects) words = words.slice(1);
      // A verb of the object's that is not this form's cannot be left out either.
      else if (i >= f.words.length - (f.optionalWords ?? 0) && !(i === 1 && verb !== undefined)) break;
      else return false;
    }
    return argsFit(f, words);
  });
}

/** A `docker …` line: a declared command whose flags are modelled, or a management command's help. */
function lookupDocker(entry: ProgramEntry, argv: string[]): Lookup {
  const words = argv.slice(1);
  const found = findDockerCommand(words);
  if (!found) {
    const group = DOCKER_GROUPS.find((g) => g.name === words[0]);
    // Bare, a management command prints its help on stderr (docker/cli's ShowHelp); asked with --help, on stdout.
    if (group && words.length === 1) return { modelled: true, entry, answer: { stdout: '', stderr: dockerGroupHelp(group), exitCode: 0 } };
    if (group && words.length === 2 && words[1] === '--help') return { modelled: true, entry, answer: { stdout: dockerGroupHelp(group), stderr: '', exitCode: 0 } };
    return refused(argv);
  }
  const { command, words: used } = found;
  const args = words.slice(used);
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--') break;
    if (a === '--help') return command.complete ? { modelled: true, entry, answer: { stdout: dockerHelp(command), stderr: '', exitCode: 0 } } : refused(argv);
    if (!a.startsWith('-') || a === '-') {
      if (command.stopsAtFirstArg) {
        if (command.runsInContainer) {
          const inner = args.slice(i + 1);
          // A program cnmlab models in no image, which some image lacks, is judged once the container, and so its image, is known (runInContainer).
          const judgedLater = inner.length > 0 && !modelledInContainers(inner[0]) && someImageMayLack(inner[0]);
          if (!judgedLater && !lookupCommand(inner, 'container').modelled) return refused(argv);
        }
        break;
      }
      continue;
    }
    const long = a.startsWith('--');
    const names = long ? [a.slice(2).split('=')[0]] : [...a.slice(1)];
    const flags = dockerFlagsOf(command);
    for (let k = 0; k < names.length; k++) {
      const flag = (long ? flags.byLong : flags.byShort).get(names[k]);
      // A flag Docker does not have is Docker's own error ("unknown flag"), when its whole set is declared.
      if (!flag) {
        if (command.complete) break;
        return refused(argv);
      }
      if (!flag.modelled) return refused(argv);
      if (flag.arg) {
        if (long ? !a.includes('=') : k === names.length - 1) i++;
        break;
      }
    }
  }
  return { modelled: true, entry };
}

/**
 * `ip [OPTIONS] -n NETNS OBJECT …` as the `ip netns exec NETNS ip [OPTIONS] OBJECT …` iproute2
 * makes of it (it enters the named namespace), or undefined when `-n` is not among the options.
 */
export function ipNetnsOption(args: string[]): string[] | undefined {
  const at = args.findIndex((a) => a === '-n' || a === '-netns');
  if (at < 0 || !args.slice(0, at).every((a) => a.startsWith('-')) || args[at + 1] === undefined) return undefined;
  return ['ip', 'netns', 'exec', args[at + 1], 'ip', ...args.slice(0, at), ...args.slice(at + 2)];
}

/**
 * The command a host's `ip -n NS …` or `ip netns exec NS COMMAND …` runs in NS (`ip …` for the
 * first, COMMAND for the second); undefined for any other command.
 */
function commandInNetns(argv: string[], shell: ShellKind): string[] | undefined {
  if (argv[0] !== 'ip' || shell !== 'host') return undefined;
  const exec = ipNetnsOption(argv.slice(1)) ?? argv;
  return exec[1] === 'netns' && exec[2] === 'exec' ? exec.slice(4) : undefined;
}

/**
 * Does a command print lines in an order the kernel's hash tables choose (a form marked
 * `unorderedOutput`), run directly or by another (`ip netns exec NS …`, `ip -n NS …`,
 * `docker exec C …`)? Every word may begin it, and any row of its program counts, whatever
 * the shell or tool family: the question is what the printed lines are, not who runs them.
 */
export function printsUnordered(argv: string[]): boolean {
  return argv.some((program, at) => {
    const args = (program === 'ip' ? ipNetnsOption(argv.slice(at + 1))?.slice(5) : undefined) ?? argv.slice(at + 1);
    return registeredCommands().some((e) => e.program === program && matchingForm(e, args)?.unorderedOutput === true);
  });
}

/**
 * emu's question before it starts a process: is `argv` a command whose entry emu maps to the
 * real program of that name, run with the same argv (a `kernel` entry)? The shell answers
 * model and text-filter entries itself, so one that reaches a backend is refused too, in the
 * words sim gives: a real program runs only what the registry declares. `image`: the
 * container's, whose tool family (family.ts) says which program of that name it is.
 */
export function realProgram(argv: string[], shell: ShellKind, image?: string): { real: true } | { real: false; refusal: CommandOutput } {
  const l = lookupCommand(argv, shell, image);
  return l.modelled && l.entry.answeredBy === 'kernel' && !l.answer ? { real: true } : { real: false, refusal: notModelled(argv.join(' ')) };
}

/**
 * Does `argv`, when it succeeds, change its namespace's kernel by its own words (`ip route add`,
 * `ip r del`, `ip -n NS link set`, `ip netns exec NS tc qdisc add`)? Forms are selected as
 * lookupCommand selects them, so iproute2's abbreviations count as the program reads them.
 */
export function changesKernel(argv: string[], shell: ShellKind, image?: string): boolean {
  const inner = commandInNetns(argv, shell);
  if (inner) return changesKernel(inner, 'host');
  return lookedUpChangesKernel(lookupCommand(argv, shell, image), argv.slice(1));
}

/** changesKernel for a command already looked up (`l`, its words after the program `args`), run directly rather than in a named namespace. */
export function lookedUpChangesKernel(l: Lookup, args: string[]): boolean {
  if (!l.modelled || l.answer || l.entry.answeredBy !== 'kernel') return false;
  if (l.entry.changesKernelWith) return l.entry.changesKernelWith(args);
  return matchingForm(l.entry, args)?.changesKernel === true;
}

/** The shell's answer for a program the image does not have (family.ts). */
const ABSENT_PROGRAM: ProgramEntry = { program: '', families: ['gnu', 'busybox'], shells: ['container'], answeredBy: 'model', summary: 'not in the image', forms: [] };

/**
 * Is `argv` a command the `shell` of a scenario host or container understands? Returns its
 * registry entry (and, for `docker … --help`, Docker's help text; for a program the
 * container's image lacks, its shell's `not found`), or the refusal both modes print. `image`: the
 * container's (a host's shell is GNU); without one, a container command is taken as
 * modelled when some family models it (`docker exec` asks again once the container is
 * known). `ip netns exec NS CMD` and `docker exec C CMD` check CMD too. `via`: how a
 * container's program is run, a line its shell read or `docker exec`'s program, which no shell
 * looks up, so a program the image lacks is runc's refusal rather than the shell's.
 */
export function lookupCommand(argv: string[], shell: ShellKind, image?: string, via: 'shell' | 'exec' = 'shell'): Lookup {
  if (argv.length === 0) return refused(argv);
  const [program, ...args] = argv;
  const netnsOption = program === 'ip' && shell === 'host' ? ipNetnsOption(args) : undefined;
  // Checked as the `ip netns exec NS ip …` it stands for, refused in the words typed.
  if (netnsOption) {
    const l = lookupCommand(netnsOption, shell);
    return l.modelled ? l : refused(argv);
  }
  if (shell === 'container' && image === undefined) {
    const inSome = TOOL_FAMILIES.map((f) => lookupInFamily(argv, shell, f)).find((l) => l.modelled && !l.answer);
    return inSome ?? refused(argv);
  }
  const family = shell === 'container' && image !== undefined ? toolFamilyOf(image) : 'gnu';
  const found = lookupInFamily(argv, shell, family);
  if (!found.modelled && image !== undefined && imageLacks(image, program, via)) {
    return { modelled: true, entry: ABSENT_PROGRAM, answer: via === 'exec' ? execNotFound(program) : shellNotFound(image, program) };
  }
  return found;
}

/**
 * Whether the image has no program of that name: none cnmlab models for its family (in any
 * form), none else it holds (family.ts imageHas; for a line its shell reads, no builtin either).
 */
export function imageLacks(image: string, program: string, via: 'shell' | 'exec'): boolean {
  return !modelledInContainers(program, toolFamilyOf(image)) && !imageHas(image, program, via);
}

/** Whether cnmlab models a program of that name in containers (of the family, when given), in some form. */
function modelledInContainers(program: string, family?: ToolFamily): boolean {
  const families = family === undefined ? TOOL_FAMILIES : [family];
  return families.some((f) => candidatesFor(program, 'container', f).length > 0);
}

/** The registry's answer for a command it does not model, in the words typed. */
function refused(argv: string[]): Lookup {
  return { modelled: false, refusal: notModelled(argv.join(' ')) };
}

/** Each docker command's flags by long and by short name (the first declared of a name), made once. */
const flagsOfDockerCommand = new WeakMap<DockerCommand, { byLong: Map<string, DockerFlag>; byShort: Map<string, DockerFlag> }>();

function dockerFlagsOf(command: DockerCommand): { byLong: Map<string, DockerFlag>; byShort: Map<string, DockerFlag> } {
  let flags = flagsOfDockerCommand.get(command);
  if (!flags) {
    flags = { byLong: new Map(), byShort: new Map() };
    for (const x of command.flags) {
      if (!flags.byLong.has(x.long)) flags.byLong.set(x.long, x);
      if (x.short !== undefined && !flags.byShort.has(x.short)) flags.byShort.set(x.short, x);
    }
    flagsOfDockerCommand.set(command, flags);
  }
  return flags;
}

/**
 * The registered rows for a program in a shell and tool family, by rank: asked before every
 * step, so kept per version of the registry's list (a registration makes a new one).
 */
const candidatesOfList = new WeakMap<readonly ProgramEntry[], Map<string, ProgramEntry[]>>();

function candidatesFor(program: string, shell: ShellKind, family: ToolFamily): ProgramEntry[] {
  const list = registeredCommands();
  let byKey = candidatesOfList.get(list);
  if (!byKey) candidatesOfList.set(list, (byKey = new Map()));
  const key = `${program}\0${shell}\0${family}`;
  let candidates = byKey.get(key);
  if (!candidates) {
    candidates = list.filter((e) => e.program === program && e.shells.includes(shell) && (e.families ?? ['gnu']).includes(family));
    byKey.set(key, candidates);
  }
  return candidates;
}

function lookupInFamily(argv: string[], shell: ShellKind, family: ToolFamily): Lookup {
  const [program, ...args] = argv;
  const candidates = candidatesFor(program, shell, family);
  // The command a host's `ip -n NS …` / `ip netns exec NS …` runs in NS must be one the kernel answers, whichever form matched.
  const inNetns = commandInNetns(argv, shell);
  for (const entry of candidates) {
    if (program === 'docker') return lookupDocker(entry, argv);
    if (!matchesForm(entry, args, shell)) continue;
    if (inNetns) {
      const inner = lookupCommand(inNetns, 'host');
      if (!inner.modelled || inner.entry.answeredBy !== 'kernel') return refused(argv);
    }
    return { modelled: true, entry };
  }
  return refused(argv);
}
