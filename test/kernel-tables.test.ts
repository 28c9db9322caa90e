/** The simulated kernel's tables: a LoggedMap behaves as a Map, whatever mix of logged and direct changes it gets. */
import fc from 'fast-check';
import { LoggedMap } from '../sim/kernel/objects';

type Step = { op: 'add' | 'set' | 'delete' | 'get' | 'list'; key: number; value: number };

const step: fc.Arbitrary<Step> = fc.record({
  op: fc.constantFrom<Step['op']>('add', 'add', 'add', 'set', 'delete', 'get', 'list'),
  key: fc.integer({ min: 0, max: 12 }),
  value: fc.integer(),
});

describe('LoggedMap', () => {
  test('reads, entry order and deletions match a Map that set each entry at once', () => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 60 }), (steps) => {
        const logged = new LoggedMap<number, number>();
        const plain = new Map<number, number>();
        for (const s of steps) {
          if (s.op === 'add') {
            logged.add(s.key, s.value);
            plain.set(s.key, s.value);
          } else if (s.op === 'set') {
            logged.set(s.key, s.value);
            plain.set(s.key, s.value);
          } else if (s.op === 'delete') {
            expect(logged.delete(s.key)).toBe(plain.delete(s.key));
          } else if (s.op === 'get') {
            expect(logged.get(s.key)).toBe(plain.get(s.key));
          } else {
            expect([...logged]).toEqual([...plain]);
          }
        }
        expect([...logged]).toEqual([...plain]);
        expect([...logged.values()]).toEqual([...plain.values()]);
      }),
      { numRuns: 500 },
    );
  });
});
