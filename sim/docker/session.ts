/** A `docker …` command line against the model: one step, its outcome as the CLI prints it, and the plan ops it emitted. */
import { Model } from '../model/model';
import { ModelStep, modelStep, ok } from '../model/command-step';
import { stopContainer } from '../model/containers';
import { CommandOutput } from '../commands/registry';
import { ContainerProcesses, dockerCommand, DockerClient, DockerOutcome } from './cli';
import { asDockerError } from './errors';

// Refusals are checked before changes, except those Docker itself leaves half done.
export function dockerStep(model: Model, host: string, argv: string[], processes?: ContainerProcesses, client?: DockerClient): ModelStep<DockerOutcome> {
  return modelStep(model, (tx) => dockerCommand(tx, host, argv, processes, client), (e) => {
    const refused = asDockerError(e);
    return refused && {
      stdout: refused.stdout, stderr: refused.stderr.endsWith('\n') ? refused.stderr : refused.stderr + '\n', exitCode: refused.exitCode,
      ...(refused.unmodelled ? { refusedUnmodelled: true as const } : {}),
    };
  });
}

/** The container's main process ended with `exitCode`: it stops (Exited (exitCode)), and --rm removes it. */
export function mainProcessEnded(model: Model, host: string, containerId: string, exitCode: number): ModelStep<CommandOutput> {
  return modelStep(model, (tx) => {
    const c = tx.host(host).containers[containerId];
    if (c) stopContainer(tx, c, exitCode);
    return ok();
  });
}

/**
 * What `docker run` without -d prints of its container's main process: through the
 * container's terminal with -t; without, docker/cli copies the container's stdout and
 * stderr to its own, each as written (no terminal, so LF stays LF).
 */
export function mainProcessOutput(main: 'tty' | 'attached', out: CommandOutput): CommandOutput {
  return main === 'tty' ? throughTerminal(out) : out;
}

/** The text of one of the main process's streams as the client passes it on live. */
export function mainProcessText(main: 'tty' | 'attached', text: string): string {
  return main === 'tty' ? terminalText(text) : text;
}

/**
 * What `docker run -t` prints of its container's output: the terminal Docker gives the
 * container turns each newline into CR LF (the tty's onlcr), and it carries stderr too, so
 * everything reaches the client's stdout (after what was written there: the two streams'
 * interleaving is not kept).
 */
export function throughTerminal(out: CommandOutput): CommandOutput {
  return { ...out, stdout: terminalText(out.stdout) + terminalText(out.stderr), stderr: '' };
}

/** Text as a terminal's output processing passes it on (onlcr: each newline becomes CR LF). */
export function terminalText(text: string): string {
  return text.replace(/\n/g, '\r\n');
}
