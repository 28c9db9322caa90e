import { Lab } from '../../lab/shell';
import { SimBackend } from '../../sim/kernel/backend';
import { parseScenario } from '../../sim/scenario/load';
import { twoNodes } from './run';

/** A lab in sim whose two-node swarm (and `extra` steps) were typed into its terminal, each step succeeding. */
export async function typedTwoNodeLab(extra = ''): Promise<Lab> {
  const s = parseScenario('lab.yaml', twoNodes(extra));
  const lab = await Lab.open(s, new SimBackend(1));
  const term = lab.terminal();
  for (const step of s.steps) {
    term.switchTo(step.on);
    expect(await term.line(step.command)).toMatchObject({ kind: 'step', result: { exitCode: 0 } });
  }
  return lab;
}
