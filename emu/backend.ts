import { Backend } from '../sim/backend';
import { Scenario } from '../sim/scenario/schema';
import { PrerequisiteError } from '../sim/errors';

/** The Linux backend (issue 5). */
export class EmuBackend {
  static async create(_s: Scenario, _opts: { pcapDir?: string; keep?: boolean; quiet?: boolean }): Promise<Backend> {
    throw new PrerequisiteError('--mode emu: not implemented yet');
  }
}
