/**
 * The scenario format's plain checks (sim/scenario/schema.ts) against its zod schemas: a value
 * the plain check passes is one the schema accepts and gives back unchanged, so a valid file
 * loads the same with or without the schema; and the repository's own scenarios take the
 * plain path.
 */
import * as fs from 'fs';
import * as path from 'path';
import fc from 'fast-check';
import { parse } from 'yaml';
import { plainlyValidExpect, plainlyValidScenario, plainlyValidTimeout, scenarioSchemas } from '../sim/scenario/schema';
import { REPO } from './helpers/env';

const scenarios = fs.readdirSync(path.join(REPO, 'scenarios')).filter((f) => f.endsWith('.yaml')).sort()
  .map((f) => ({ name: f, value: parse(fs.readFileSync(path.join(REPO, 'scenarios', f), 'utf8')) as Record<string, unknown> }));

/** A field's values: mostly valid ones, sometimes one at the edge of its rule (type, bounds, integer, address, name). */
const field = (valid: unknown[], odd: unknown[]) => fc.oneof({ arbitrary: fc.constantFrom(...valid), weight: 8 }, { arbitrary: fc.constantFrom(...odd, undefined, null, [], {}, true), weight: 1 });
const int = field([0, 1, 7, 254, 255, 2 ** 53 - 1], [-1, 256, 1000, 2 ** 53, -(2 ** 53), 1.5, -0, NaN, Infinity, '1']);
const seconds = field([0.1, 0.11, 1, 30, 3600], [-1, -0, 0, 0.05, 3600.5, 1e9, NaN, Infinity, -Infinity, '1']);
const text = field(['x', '/re/', 'overlay', 'none', 'calico', 'flannel-vxlan'], ['', 'sideways', 1]);
const name = field(['a', 'overlay-standalone', '0a'], ['Bad', '-x', 'a_b', '', 1]);
const address = field(['198.51.100.11', '10.0.0.1'], ['300.1.1.1', '1.2.3', '', 7]);
const hostName = field(['r0', 'h1', 'abcdefghijkl'], ['abcdefghijklm', 'R0', '0r', 'r_0', '__proto__', 'constructor', 'toString', '']) as fc.Arbitrary<string>;
const oddKey = fc.constantFrom('other', '__proto__', 'constructor', 'toString');

/** An object of some of `fields` (mostly all of `required`), sometimes with a key the rule does not know. */
function objectOf(fields: Record<string, fc.Arbitrary<unknown>>, required: string[] = []): fc.Arbitrary<Record<string, unknown>> {
  const record = fc.oneof({ arbitrary: fc.record(fields, { requiredKeys: required }), weight: 8 }, { arbitrary: fc.record(fields, { requiredKeys: [] }), weight: 1 });
  return fc.tuple(record, fc.oneof({ arbitrary: fc.constant(null), weight: 9 }, { arbitrary: fc.tuple(oddKey, int), weight: 1 })).map(([o, extra]) => {
    if (extra) Object.defineProperty(o, extra[0], { value: extra[1], enumerable: true, writable: true, configurable: true });
    return o;
  });
}

const expectArb = objectOf({ exit: int, stdout: text, stderr: text, path: text, 'drop-at': int });
const host = fc.oneof({ arbitrary: fc.constant(null), weight: 4 }, { arbitrary: objectOf({ underlay: address }), weight: 4 }, { arbitrary: fc.constantFrom('x', 1, Object.create(null)), weight: 1 });
const hostsArb = fc.oneof({ arbitrary: fc.array(fc.tuple(hostName, host), { minLength: 1, maxLength: 3 }).map((pairs) => {
  const o: Record<string, unknown> = {};
  for (const [k, v] of pairs) Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
  return o;
}), weight: 8 }, { arbitrary: fc.constantFrom('x', 1, {}), weight: 1 });
const stepArb = fc.oneof({ arbitrary: objectOf({ r0: field(['ls'], ['']), expect: fc.oneof(expectArb, int), timeout: seconds }, ['r0']), weight: 8 }, { arbitrary: fc.constantFrom('ls', null, Object.create(null)), weight: 1 });
const scenarioArb = objectOf({
  name, description: text, seed: int, timeout: seconds,
  delays: fc.oneof({ arbitrary: objectOf({ veth: seconds, bridge: seconds, vxlan: seconds, stack: seconds, underlay: seconds, dns: seconds }), weight: 8 }, { arbitrary: int, weight: 1 }),
  hosts: hostsArb,
  steps: fc.oneof({ arbitrary: fc.array(stepArb, { maxLength: 3 }), weight: 8 }, { arbitrary: text, weight: 1 }),
}, ['name', 'hosts', 'steps']);

test("every scenario in the repository, and every step's expect and timeout in it, passes the plain checks", () => {
  for (const s of scenarios) {
    expect([s.name, plainlyValidScenario(s.value)]).toEqual([s.name, true]);
    for (const step of s.value.steps as Record<string, unknown>[]) {
      if (step.expect !== undefined) expect([s.name, step.expect, plainlyValidExpect(step.expect)]).toEqual([s.name, step.expect, true]);
      if (step.timeout !== undefined) expect([s.name, step.timeout, plainlyValidTimeout(step.timeout)]).toEqual([s.name, step.timeout, true]);
    }
  }
});

test('what the plain checks pass, the schema accepts and gives back unchanged', () => {
  const { scenarioSchema, expectSchema, timeoutSchema } = scenarioSchemas();
  let passed = 0;
  const agrees = (plain: boolean, schema: { safeParse(v: unknown): { success: boolean; data?: unknown } }, value: unknown) => {
    if (!plain) return;
    passed++;
    const parsed = schema.safeParse(value);
    expect(parsed.success).toBe(true);
    expect(parsed.data).toStrictEqual(value);
  };
  fc.assert(fc.property(scenarioArb, (v) => agrees(plainlyValidScenario(v), scenarioSchema, v)), { numRuns: 20000, seed: 19 });
  fc.assert(fc.property(expectArb, (v) => agrees(plainlyValidExpect(v), expectSchema, v)), { numRuns: 20000, seed: 19 });
  fc.assert(fc.property(seconds, (v) => agrees(plainlyValidTimeout(v), timeoutSchema, v)), { numRuns: 200, seed: 19 });
  // Not a vacuous agreement: the generators reach values the plain checks pass.
  expect(passed).toBeGreaterThan(1000);
});
