/**
 * A container's main process (its PID 1) and how it takes the signals Docker stops it with.
 *
 * moby v20.10 daemon/stop.go containerStop sends the container's stop signal (its image's
 * STOPSIGNAL, SIGTERM when it declares none: nginx's declares SIGQUIT), waits the stop timeout
 * (container.DefaultStopTimeout, 10 s, unless `docker stop -t`), then SIGKILLs what still runs
 * (daemon/kill.go Kill). The kernel delivers a signal to a PID namespace's init only when it
 * has a handler for it (SIGKILL always, from the parent namespace; pid_namespaces(7)): a shell
 * or sleep as PID 1 installs none for SIGTERM or SIGQUIT, so it runs on until the SIGKILL, and
 * the container exits 137 (128 + SIGKILL, as the shim reports a signalled process). nginx ends
 * on SIGQUIT (its graceful shutdown) and on SIGTERM (its fast one), with status 0. Another
 * program's handling is not modelled: the caller says so rather than guess.
 *
 * The model knows the images of the tutorials alone (KNOWN_IMAGES): another image's own
 * command and entrypoint are unknown, so what its PID 1 is, what `docker ps` shows as its
 * COMMAND and how it takes a stop are refused as not modelled.
 */
import { imageRepository } from '../commands/family';
import { Container } from './world';

/** The signals whose effect on a PID 1 the model knows. */
export type Signal = 'SIGTERM' | 'SIGQUIT';

/**
 * What an image's config says of its main process: its Entrypoint (absent for none), its Cmd
 * (what runs, or what the entrypoint is given, when `docker run` names no command) and the
 * signal a stop sends first (its STOPSIGNAL, SIGTERM when it declares none).
 */
interface ImageConfig {
  entrypoint?: string[];
  cmd: string[];
  stopSignal?: Signal;
}

/**
 * The images the model knows, by repository, as their Dockerfiles say: busybox's CMD ["sh"],
 * alpine's ["/bin/sh"], debian's ["bash"], ubuntu's, centos's and fedora's ["/bin/bash"];
 * nginx's as nginx:latest of 2023 (1.25, Debian bookworm) has it.
 */
const KNOWN_IMAGES = new Map<string, ImageConfig>([
  ['busybox', { cmd: ['sh'] }], ['alpine', { cmd: ['/bin/sh'] }], ['debian', { cmd: ['bash'] }],
  ...['ubuntu', 'centos', 'fedora'].map((repo): [string, ImageConfig] => [repo, { cmd: ['/bin/bash'] }]),
  ['nginx', { entrypoint: ['/docker-entrypoint.sh'], cmd: ['nginx', '-g', 'daemon off;'], stopSignal: 'SIGQUIT' }],
]);

/** The image's config, or undefined for an image the model does not know. */
function imageConfig(image: string): ImageConfig | undefined {
  return KNOWN_IMAGES.get(imageRepository(image));
}

/** The command an image runs when `docker run` names none (Config.Cmd), or undefined for an image the model does not know. */
export function imageCommand(image: string): string[] | undefined {
  return imageConfig(image)?.cmd;
}

/** The image's entrypoint (Config.Entrypoint): null when it has none, undefined for an image the model does not know. */
export function imageEntrypoint(image: string): string[] | null | undefined {
  const known = imageConfig(image);
  return known && (known.entrypoint ?? null);
}

/** The stop signal the image declares (Config.StopSignal, shown only when declared), or undefined. */
export function imageStopSignal(image: string): Signal | undefined {
  return imageConfig(image)?.stopSignal;
}

/**
 * What a container's PID 1 runs in the end (Config.Cmd): the command `docker run` named, or
 * else its image's own (undefined for an image the model does not know). An entrypoint script
 * (nginx's /docker-entrypoint.sh) sets things up and execs these words, so they are what runs.
 */
export function mainArgv(image: string, command: string[]): string[] | undefined {
  return command.length ? command : imageCommand(image);
}

/**
 * The process the runtime starts, as the daemon records it (State's Path and Args): the
 * entrypoint, then the command or the image's Cmd; undefined for an image the model does not know.
 */
export function processArgv(c: Container): string[] | undefined {
  const entrypoint = imageEntrypoint(c.image);
  if (entrypoint === undefined) return undefined;
  return [...(entrypoint ?? []), ...(mainArgv(c.image, c.command) ?? [])];
}

/** The shells, by the base name of the program (`/usr/bin/bash` is bash): BusyBox's ash (sh), bash, dash. */
const SHELLS = new Set(['sh', 'ash', 'bash', 'dash']);

function baseName(program: string): string {
  return program.slice(program.lastIndexOf('/') + 1);
}

/** A command that is an interactive shell: a shell named alone (`sh -c …` runs and exits); an unknown image's own command is none the model knows to be one. */
export function isInteractiveShell(command: readonly string[] | undefined): boolean {
  return command?.length === 1 && SHELLS.has(baseName(command[0]));
}

/**
 * Whether the container's PID 1 exits as soon as it starts, with status 0: a shell (named, or
 * its image's own command: busybox's and alpine's sh, ubuntu's bash) reads its commands from
 * stdin, and without -i (OpenStdin) or -t (a terminal) the runtime gives it /dev/null, where it
 * reads end of file at once. Detached or not, started again or not: `docker run -d busybox`
 * exits as `docker run busybox` does, and Docker's tutorials keep one running with -dit.
 * Attached with -i and no terminal (`attachedStdinAtEnd`: `docker run -i` in a scenario step),
 * the client copies its own stdin to the shell's, and a step's is closed: the shell reads end of
 * file and exits 0 (StdinOnce: the container's stdin closes with the client's), though the
 * container keeps -i for a later start.
 */
export function exitsAtOnce(c: Container, attachedStdinAtEnd: boolean): boolean {
  return (!c.openStdin || attachedStdinAtEnd) && !c.tty && isInteractiveShell(mainArgv(c.image, c.command));
}

/** The signal a stop sends first (Config.StopSignal, from the image's STOPSIGNAL), or undefined for an image the model does not know. */
export function stopSignal(c: Container): Signal | undefined {
  const known = imageConfig(c.image);
  return known && (known.stopSignal ?? 'SIGTERM');
}

/**
 * The command `docker ps` shows for the container, or undefined when its image is unknown:
 * Path and Args joined by spaces, an argument holding a space in single quotes (moby v20.10
 * container/view.go transform).
 */
export function containerCommandLine(c: Container): string | undefined {
  const argv = processArgv(c);
  return argv && argv.map((a, i) => (i > 0 && a.includes(' ') ? `'${a}'` : a)).join(' ');
}

/** container.DefaultStopTimeout: how long a stop waits after the stop signal before it kills. */
export const DEFAULT_STOP_TIMEOUT_S = 10;

/** A process killed by SIGKILL, as Docker reports its exit: 128 + 9. */
export const KILLED_EXIT = 137;

/** Programs that install no handler for SIGTERM or SIGQUIT (or ignore them), so as PID 1 neither reaches them. */
const IGNORE_STOP_SIGNALS = new Set([...SHELLS, 'sleep']);

/** Programs that end on the signal, with the status they then exit with: nginx's fast shutdown (SIGTERM) and graceful one (SIGQUIT). */
const ENDS_ON: Record<Signal, Map<string, number>> = { SIGTERM: new Map([['nginx', 0]]), SIGQUIT: new Map([['nginx', 0]]) };

/** The program the container's PID 1 runs (after its entrypoint's exec), or undefined when its image is unknown. */
export function mainProgram(c: Container): string | undefined {
  // A command named on an unknown image still runs after that image's unknown entrypoint.
  if (imageCommand(c.image) === undefined) return undefined;
  return baseName(mainArgv(c.image, c.command)![0]);
}

/** What the model does not know of the container's PID 1 when onSignal or onStop says undefined, for a refusal. */
export function unknownMainProcess(c: Container, signal: Signal | undefined): string {
  const program = mainProgram(c);
  return program === undefined ? `its image (${c.image}): what its PID 1 runs` : `how its PID 1 (${program}) takes ${signal}`;
}

/**
 * What `signal` does to the container's PID 1: `ignored`, or `exits` with a status; undefined
 * when the model does not know (an image or a program it does not list, or a shell script that may trap it).
 */
export function onSignal(c: Container, signal: Signal): { ignored: true } | { exits: number } | undefined {
  const program = mainProgram(c);
  if (program === undefined) return undefined;
  const status = ENDS_ON[signal].get(program);
  if (status !== undefined) return { exits: status };
  if (!IGNORE_STOP_SIGNALS.has(program)) return undefined;
  // A script's own `trap … TERM` (or QUIT) installs the handler the shell lacks.
  if (c.command.slice(1).some((a) => /\btrap\b/.test(a))) return undefined;
  return { ignored: true };
}

/** What a stop's first signal (the container's stop signal) does to its PID 1, with that signal; undefined when the model does not know. */
export function onStop(c: Container): ({ ignored: true } | { exits: number }) & { signal: Signal } | undefined {
  const signal = stopSignal(c);
  const end = signal && onSignal(c, signal);
  return end && { ...end, signal };
}

/** Those whose PID 1 ignores the stop signal, as the daemon's wait says it: `PID 1 of shell (sh) ignores SIGTERM`. */
export function ignoringStopSignal(ignoring: { c: Container; signal: Signal }[]): string {
  const signals = [...new Set(ignoring.map((i) => i.signal))];
  return signals.map((signal) => `PID 1 of ${ignoring.filter((i) => i.signal === signal).map(({ c }) => `${c.name} (${mainProgram(c)})`).join(', ')} ignores ${signal}`).join(', ');
}
