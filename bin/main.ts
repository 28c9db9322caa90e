/** The cnmlab command line (README's CLI table; docs/scenarios.md for scenario files). */
import { Command, CommanderError, Option } from 'commander';
import { InputError } from '../sim/errors';
import { interruption } from './signals';
// The drivers register the UDP ports of their frames with the decoders (sim/wire/ports.ts) as
// they load: a command that reads captures without running a scenario (decode, replay) needs them.
import '../sim/model/drivers';
// The drivers that register themselves, each in every layer, before any command runs.
import '../sim/drivers';
import { compared } from '../sim/compare';

const EXIT_BAD_INPUT = 2;

/**
 * A command's action: its module is required when it runs, and what its function returns is
 * the process's exit code. Commander passes the arguments, the options and itself.
 */
function exitsWith<A extends unknown[]>(load: () => (...args: A) => Promise<number>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    process.exitCode = await load()(...args);
  };
}

/** Each command of the command line, by name, defining its arguments, options and action (README's CLI table). */
const COMMANDS: Record<string, (command: Command) => void> = {
  decode: (command) =>
    command
      .description('decode a capture (pcap, pcapng; Ethernet or Linux cooked) layer by layer, with Wireshark field names')
      .argument('<capture>', 'capture file')
      .option('--json', 'print one JSON object with every frame and its layers')
      .option('-V, --verbose', 'print every layer of every frame (like tshark -V)')
      .action(exitsWith(() => (require('./commands/decode') as typeof import('./commands/decode')).decodeCommand)),
  run: (command) =>
    command
      .description('run a scenario and print the session transcript and the path of each ping')
      .argument('<scenario>', 'scenario file (.yaml)')
      .addOption(new Option('--mode <mode>', 'backend').choices(['sim', 'emu']).default('sim'))
      .option('--json', 'print the result as one JSON object')
      .option('--trace <file>', 'write the trace (cnmlab-trace/1) to this file')
      .option('--pcap-dir <dir>', 'write one pcap per capture point into this folder')
      .option('--keep', 'emu: leave the topology up until `cnmlab clean`')
      .action(exitsWith(() => (require('./commands/run') as typeof import('./commands/run')).runCommand)),
  verify: (command) =>
    command
      .description("run scenarios and check every step's expect; exit 0 all pass, 1 a check failed, 2 bad input")
      .argument('<scenarios...>', 'scenario files')
      .addOption(new Option('--mode <mode>', 'backend').choices(['sim', 'emu', 'both']).default('sim'))
      .option('--junit <file>', 'write a JUnit XML report')
      .option('--json', 'print the results as JSON')
      .option('--compare-output', "with --mode both, also compare each step's exit code and output, normalised (times, ids, kernel-picked MACs, ports); the default")
      .option('--no-compare-output', 'with --mode both, compare flows, steps and fields only, not what each step printed')
      .action(exitsWith(() => (require('./commands/verify') as typeof import('./commands/verify')).verifyCommand)),
  compare: (command) =>
    command
      .description('the same two containers on two hosts and the same ping, once per network driver, side by side')
      .argument('[scenario]', 'scenario file lending its first two hosts and its seed (default: a built-in two-host lab)')
      // The list is the comparison's own (sim/compare/index.ts): a driver's part registered there is named here.
      .option('--drivers <list>', `comma-separated: ${compared().join(', ')}`, compared().join(','))
      .addOption(new Option('--mode <mode>', 'backend').choices(['sim', 'emu']).default('sim'))
      .option('--json', 'print the facts as one JSON object')
      .option('--trace <file>', 'write every driver\'s trace as one bundle (cnmlab-compare/1) that `cnmlab viz` draws one tab each')
      .action(exitsWith(() => (require('./commands/compare') as typeof import('./commands/compare')).compareCommand)),
  viz: (command) =>
    command
      .description('write a self-contained HTML walk-through of a trace or scenario')
      .argument('<input>', 'trace (.json) or scenario (.yaml)')
      .option('-o, --output <file>', 'report file', 'report.html')
      .action(exitsWith(() => (require('./commands/viz') as typeof import('./commands/viz')).vizCommand)),
  replay: (command) =>
    command
      .description('re-tell a recorded trace, or turn captures from a real Docker host into a trace')
      .argument('<inputs...>', 'one trace (.json), or captures (.pcap, .pcapng) of one event')
      .option('--json', 'print the trace as JSON')
      .option('--trace <file>', 'write the trace (cnmlab-trace/1) to this file')
      .addOption(new Option('--point <where>', 'where the captures were taken (guessed when absent)').choices(['container', 'overlay', 'underlay']))
      .option('--step', 'pause between hops (when interactive)')
      .action(exitsWith(() => (require('./commands/replay') as typeof import('./commands/replay')).replayCommand)),
  lab: (command) =>
    command
      .description("an interactive shell over a scenario's hosts: type the tutorial, watch the packet (:help inside)")
      .argument('[scenario]', 'scenario file (.yaml) giving the hosts and the steps to work through; without it, two hosts r0 and r1')
      .addOption(new Option('--mode <mode>', 'backend').choices(['sim', 'emu']).default('sim'))
      .option('--preload <n>', "run the scenario's first n steps before the prompt")
      .option('--web', 'write the lab as one self-contained HTML file instead (the sim runs in the browser)')
      .option('-o, --output <file>', 'with --web: the HTML file', 'lab.html')
      .action(exitsWith(() => (require('./commands/lab') as typeof import('./commands/lab')).labCommand)),
  explain: (command) =>
    command
      .description('print the kernel-level plan of a scenario as iproute2 commands')
      .argument('<scenario>', 'scenario file (.yaml)')
      .action(exitsWith(() => (require('./commands/explain') as typeof import('./commands/explain')).explainCommand)),
  clean: (command) =>
    command
      .description('remove every emu resource an earlier run left behind (only its own, recorded in /run/cnmlab)')
      .action(exitsWith(() => (require('./commands/clean') as typeof import('./commands/clean')).cleanCommand)),
};

/**
 * The command line. Each command's module is required when the command runs, so a process
 * pays for what it does: a sim run evaluates neither emu's process tooling nor the lab's
 * terminal, the report's page or the capture reader. Given the name of the command to run
 * (the first argument), the program defines that command alone: defining every command's
 * options is a part of every start. Anything else (--help, help, a mistyped name) gets every
 * command.
 */
export function buildProgram(command?: string): Command {
  const program = new Command('cnmlab')
    .description("Simulate and emulate Docker's container network model and its VXLAN overlay, hop by hop")
    .version('0.1.0', '--version')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) })
    .addHelpText('after', `
Scenario files (keys, steps, expect, exit codes): docs/scenarios.md
Commands a host or container step may run, both modes: docs/commands.md
A command outside that list prints 'cnmlab: not modelled: …' and exits 127.`);

  const only = command !== undefined && Object.hasOwn(COMMANDS, command) ? [command] : Object.keys(COMMANDS);
  for (const name of only) COMMANDS[name](program.command(name));
  return program;
}

export async function main(argv: string[]): Promise<number> {
  // A reader that stops early (`| head`) is not an error.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
    throw e;
  });
  const program = buildProgram(argv[0]);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return (await interruption()) ?? (typeof process.exitCode === 'number' ? process.exitCode : 0);
  } catch (e) {
    // An interrupted run fails in whatever it was doing; that is the signal's doing, not an error to report.
    const interrupted = interruption();
    if (interrupted) return interrupted;
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return 0;
      return EXIT_BAD_INPUT;
    }
    if (e instanceof InputError) {
      process.stderr.write(`cnmlab: ${e.message}\n`);
      return EXIT_BAD_INPUT;
    }
    process.stderr.write(`cnmlab: internal error: ${(e as Error).stack ?? e}\n`);
    return 70;
  }
}
