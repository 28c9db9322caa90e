import { cleanAll } from '../../emu/clean';
import { PrerequisiteError } from '../../sim/errors';

export async function cleanCommand(): Promise<number> {
  if (process.getuid?.() !== 0) throw new PrerequisiteError('clean needs root (it deletes network namespaces)');
  const { removed, skipped } = await cleanAll();
  for (const s of skipped) process.stderr.write(`cnmlab: left ${s}\n`);
  process.stdout.write(removed.length ? `removed ${removed.length} namespace(s): ${removed.join(' ')}\n` : 'nothing to clean\n');
  return 0;
}
