/**
 * The lifecycles' transitions (sim/model/machines.ts): where nextState reads a plain move
 * from xstate's choice of transition, it names the state xstate's own transition() reaches,
 * and it refuses what the machine refuses. Every machine the module exports is checked, and
 * machines that run something on a move show the plain reading leaves them to xstate.
 */
import { AnyStateMachine, StateMachine, raise, setup, transition } from 'xstate';
import * as machinesModule from '../sim/model/machines';
import { nextState } from '../sim/model/machines';

const exported = Object.values(machinesModule).filter((value): value is AnyStateMachine => value instanceof StateMachine);

type Ev = { type: 'GO' } | { type: 'ON' };
const build = setup({ types: { events: {} as Ev } });
/** Moves a plain reading of GO's own transition (a → b) would get wrong, each as xstate runs it. */
const busy: AnyStateMachine[] = [
  build.createMachine({ id: 'exit-raises', initial: 'a', states: { a: { on: { GO: 'b' }, exit: raise({ type: 'ON' }) }, b: { on: { ON: 'c' } }, c: {} } }),
  build.createMachine({ id: 'entry-raises', initial: 'a', states: { a: { on: { GO: 'b' } }, b: { entry: raise({ type: 'ON' }), on: { ON: 'c' } }, c: {} } }),
  build.createMachine({ id: 'always', initial: 'a', states: { a: { on: { GO: 'b' } }, b: { always: 'c' }, c: {} } }),
  build.createMachine({ id: 'after', initial: 'a', states: { a: { on: { GO: 'b' } }, b: { after: { 0: 'c' } }, c: {} } }),
  build.createMachine({ id: 'machine-exit', initial: 'a', exit: raise({ type: 'ON' }), states: { a: { on: { GO: 'b' } }, b: { type: 'final' } } }),
  build.createMachine({ id: 'reenter', initial: 'a', states: { a: { on: { GO: { target: 'a', reenter: true }, ON: 'b' }, entry: raise({ type: 'ON' }) }, b: {} } }),
];

test('the module exports machines', () => {
  expect(exported.length).toBeGreaterThanOrEqual(6);
});

test.each([...exported, ...busy].map((m) => [m.id, m] as const))('every state and event of %s leads where xstate takes it', (_id, machine) => {
  const states = Object.keys(machine.root.states);
  const events = [...new Set(states.flatMap((state) => Object.keys(machine.config.states?.[state]?.on ?? {})))];
  expect(events.length).toBeGreaterThan(0);
  for (const value of states) {
    for (const event of [...events, 'NOT_AN_EVENT']) {
      const snapshot = machine.resolveState({ value, context: {} });
      const expected = snapshot.can({ type: event }) ? (transition(machine, snapshot, { type: event })[0].value as string) : undefined;
      expect([value, event, nextState(machine, value, event)]).toEqual([value, event, expected]);
    }
  }
});

test('a move that runs something goes on where xstate runs it, past the transition\'s own target', () => {
  const onward = busy.filter((m) => ['exit-raises', 'entry-raises', 'always', 'reenter'].includes(m.id));
  expect(onward.map((m) => [m.id, nextState(m, 'a', 'GO')])).toEqual([
    ['exit-raises', 'c'],
    ['entry-raises', 'c'],
    ['always', 'c'],
    ['reenter', 'b'],
  ]);
});
