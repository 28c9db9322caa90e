/**
 * A container's generated name is never one its engine already holds: the daemon's
 * generateNewName (moby daemon/names.go) retries namesgenerator's GetRandomName(retry),
 * whose retries end in a digit.
 */
import { runSim } from './helpers/run';

const RUNS = 25;

const MANY_RUNS = `name: generated-names
seed: 7
hosts:
  r0: {}
steps:
${'  - r0: docker run -d busybox\n'.repeat(RUNS)}  - r0: docker ps -a
`;

describe('generated container names', () => {
  test('a name taken on the engine is drawn again, with a digit appended, and no two containers share one', async () => {
    const { result } = await runSim(MANY_RUNS);
    const table = result.steps[RUNS].stdout;
    const names = table.split('\n').slice(1, -1).map((row) => row.split(/ +/).pop()!);
    expect(names).toHaveLength(RUNS);
    expect(new Set(names).size).toBe(RUNS);
    // With this seed, 25 first draws from the 100 names collide: some name came from a retry.
    const retried = names.filter((n) => /^[a-z]+_[a-z]+[0-9]$/.test(n));
    expect(retried.length).toBeGreaterThan(0);
    for (const n of names) expect(n).toMatch(/^[a-z]+_[a-z]+[0-9]?$/);
  });
});
