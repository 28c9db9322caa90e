import { cleanAll } from '../../emu/clean';
import { PrerequisiteError } from '../../sim/errors';

/** Exit 0, or 2 when a state file was refused (it is left as it is, for someone to look at). */
export async function cleanCommand(): Promise<number> {
  if (process.getuid?.() !== 0) throw new PrerequisiteError('clean needs root (it deletes network namespaces)');
  const { removed, skipped, refused, stopped } = await cleanAll();
  for (const s of skipped) process.stderr.write(`cnmlab: left ${s}\n`);
  for (const r of refused) process.stderr.write(`cnmlab: refusing state file ${r}; nothing of it removed\n`);
  if (removed.length) process.stdout.write(`removed ${removed.length} namespace(s): ${removed.join(' ')}\n`);
  if (stopped.length) process.stdout.write(`stopped ${stopped.length} process(es) of runs no state file lists: ${stopped.join(', ')}\n`);
  if (!removed.length && !stopped.length) process.stdout.write('nothing to clean\n');
  return refused.length ? 2 : 0;
}
