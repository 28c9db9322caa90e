/** A `docker …` command line against the model: one step, its outcome as the CLI prints it, and the plan ops it emitted. */
import { Model } from '../model/model';
import { PlanOp } from '../plan/ops';
import { dockerCommand, DockerOutcome } from './cli';
import { asDockerError } from './errors';

export interface DockerStep {
  outcome: DockerOutcome;
  ops: PlanOp[];
}

export function dockerStep(model: Model, host: string, argv: string[]): DockerStep {
  let outcome: DockerOutcome = { stdout: '', stderr: '', exitCode: 0 };
  const ops = model.change((tx) => {
    try {
      outcome = dockerCommand(tx, host, argv);
    } catch (e) {
      const refused = asDockerError(e);
      if (!refused) throw e;
      // Refusals are checked before changes, except those Docker itself leaves half done.
      outcome = { stdout: refused.stdout, stderr: refused.stderr.endsWith('\n') ? refused.stderr : refused.stderr + '\n', exitCode: refused.exitCode };
    }
  });
  return { outcome, ops };
}
