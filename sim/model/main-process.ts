/**
 * A container's main process (its PID 1) and how it takes the signals Docker stops it with.
 *
 * moby v20.10 daemon/stop.go containerStop sends the stop signal (SIGTERM), waits the stop
 * timeout (container.DefaultStopTimeout, 10 s, unless `docker stop -t`), then SIGKILLs what
 * still runs (daemon/kill.go Kill). The kernel delivers a signal to a PID namespace's init only
 * when it has a handler for it (SIGKILL always, from the parent namespace; pid_namespaces(7)):
 * a shell or sleep as PID 1 installs none for SIGTERM, so it runs on until the SIGKILL, and the
 * container exits 137 (128 + SIGKILL, as the shim reports a signalled process). nginx ends on
 * SIGTERM (its fast shutdown), with status 0. Another program's handling is not modelled: the
 * caller says so rather than guess.
 *
 * The model knows the images of the tutorials alone (KNOWN_IMAGES): another image's own
 * command and entrypoint are unknown, so what its PID 1 is, what `docker ps` shows as its
 * COMMAND and how it takes a stop are refused as not modelled.
 */
import { imageRepository } from '../commands/family';
import { Container } from './world';

/** The images the model knows, by repository, with the command each runs when `docker run` names none. */
const KNOWN_IMAGES = new Map([
  ['busybox', 'sh'], ['alpine', 'sh'],
  ['ubuntu', '/bin/bash'], ['debian', '/bin/bash'], ['centos', '/bin/bash'], ['fedora', '/bin/bash'],
  ['nginx', '/docker-entrypoint.sh nginx -g \'daemon off;\''],
]);

/** The command an image runs when `docker run` names none (its Cmd), or undefined for an image the model does not know. */
export function imageCommand(image: string): string | undefined {
  return KNOWN_IMAGES.get(imageRepository(image));
}

/** The command `docker ps` shows for the container, or undefined when its image is unknown (its entrypoint would come first). */
export function containerCommandLine(c: Container): string | undefined {
  if (!KNOWN_IMAGES.has(imageRepository(c.image))) return undefined;
  return c.command.length ? c.command.join(' ') : imageCommand(c.image);
}

/** container.DefaultStopTimeout: how long a stop waits after the stop signal before it kills. */
export const DEFAULT_STOP_TIMEOUT_S = 10;

/** A process killed by SIGKILL, as Docker reports its exit: 128 + 9. */
export const KILLED_EXIT = 137;

/** Programs that install no SIGTERM handler, so as PID 1 the signal never reaches them. */
const IGNORE_SIGTERM = new Set(['sh', 'ash', 'bash', 'dash', 'sleep']);

/** Programs that end on SIGTERM, with the status they then exit with. */
const END_ON_SIGTERM = new Map([['nginx', 0]]);

/** The program the container's PID 1 runs (an image's entrypoint script execs its arguments), or undefined when its image is unknown. */
export function mainProgram(c: Container): string | undefined {
  const command = imageCommand(c.image);
  if (command === undefined) return undefined;
  const argv = c.command.length ? c.command : command.split(' ');
  const program = argv[0] === '/docker-entrypoint.sh' ? argv[1] : argv[0];
  return program.slice(program.lastIndexOf('/') + 1);
}

/** What the model does not know of the container's PID 1 when onSigterm says undefined, for a refusal. */
export function unknownMainProcess(c: Container): string {
  const program = mainProgram(c);
  return program === undefined ? `its image (${c.image}): what its PID 1 runs` : `how its PID 1 (${program}) takes SIGTERM`;
}

/**
 * What SIGTERM does to the container's PID 1: `ignored`, or `exits` with a status; undefined
 * when the model does not know (an image or a program it does not list, or a shell script that may trap it).
 */
export function onSigterm(c: Container): { ignored: true } | { exits: number } | undefined {
  const program = mainProgram(c);
  if (program === undefined) return undefined;
  const status = END_ON_SIGTERM.get(program);
  if (status !== undefined) return { exits: status };
  if (!IGNORE_SIGTERM.has(program)) return undefined;
  // A script's own `trap … TERM` installs the handler the shell lacks.
  if (c.command.slice(1).some((a) => /\btrap\b/.test(a))) return undefined;
  return { ignored: true };
}
