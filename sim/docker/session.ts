/** A `docker …` command line against the model: one step, its outcome as the CLI prints it, and the plan ops it emitted. */
import { Model } from '../model/model';
import { ModelStep, modelStep } from '../model/command-step';
import { ContainerProcesses, dockerCommand, DockerOutcome } from './cli';
import { asDockerError } from './errors';

// Refusals are checked before changes, except those Docker itself leaves half done.
export function dockerStep(model: Model, host: string, argv: string[], processes?: ContainerProcesses): ModelStep<DockerOutcome> {
  return modelStep(model, (tx) => dockerCommand(tx, host, argv, processes), (e) => {
    const refused = asDockerError(e);
    return refused && { stdout: refused.stdout, stderr: refused.stderr.endsWith('\n') ? refused.stderr : refused.stderr + '\n', exitCode: refused.exitCode };
  });
}
