/** Refusals as the docker CLI prints them: the CLI's own, and the daemon's (sim/model/refusal.ts) in the CLI's words. */
import { DaemonRefusal, NoSuchObject, NotModelled } from '../model/refusal';
import { NOT_MODELLED_EXIT, notModelled } from '../commands/registry';

/** A refusal as the Docker CLI prints it: stderr text and exit code; `unmodelled` when it is cnmlab's (notModelledError). */
export class DockerError extends Error {
  constructor(readonly stderr: string, readonly exitCode = 1, readonly stdout = '', readonly unmodelled = false) {
    super(stderr);
  }
}

/** Any refusal as the CLI prints it; undefined for what is no refusal (a bug, to be thrown on). */
export function asDockerError(e: unknown): DockerError | undefined {
  if (e instanceof DockerError) return e;
  if (e instanceof DaemonRefusal) return new DockerError(`Error response from daemon: ${e.message}`);
  if (e instanceof NoSuchObject) return new DockerError(`Error: No such ${e.kind}: ${e.ref}`);
  // What the model finds it cannot model, as the registry refuses what it does not know (exit 127):
  // verify then fails the step unless its expect names 127.
  if (e instanceof NotModelled) return notModelledError(e.message);
  return undefined;
}

/** What cnmlab does not model, refused as its own commands refuse it (sim/commands/registry's notModelled). */
export function notModelledError(what: string): DockerError {
  return new DockerError(notModelled(what).stderr.trimEnd(), NOT_MODELLED_EXIT, '', true);
}

/** Exit code of `docker run` when the daemon refuses (docker/cli's run command). */
const RUN_REFUSED = 125;

/**
 * docker/cli v20.10's runStartContainerErr: a start refused because the container's program
 * is missing exits 127 (126 when it may not be run), any other refusal 125.
 */
function startRefusedExit(message: string): number {
  if (/executable file not found|no such file or directory|system cannot find the file specified/.test(message)) return 127;
  return message.includes('permission denied') ? 126 : RUN_REFUSED;
}

/**
 * A refusal of `docker run` as docker/cli's reportError prints it: "docker: " before, one
 * full stop after, and the help line when it came while creating the container.
 */
export function runRefusal(e: DaemonRefusal, stdout = ''): DockerError {
  const help = e.runStage === 'create' ? "\nSee 'docker run --help'." : '';
  const exit = e.runStage === 'start' ? startRefusedExit(e.message) : RUN_REFUSED;
  return new DockerError(`docker: Error response from daemon: ${e.message.replace(/\.$/, '')}.${help}`, exit, stdout);
}
