/**
 * The lifecycles' transitions (sim/model/machines.ts): where nextState reads a plain move
 * from xstate's choice of transition, it names the state xstate's own transition() reaches,
 * and it refuses what the machine refuses.
 */
import { AnyStateMachine, transition } from 'xstate';
import { containerMachine, endpointMachine, networkMachine, networkOnHostMachine, nextState, sandboxMachine, swarmNodeMachine } from '../sim/model/machines';

const machines: AnyStateMachine[] = [swarmNodeMachine, networkMachine, networkOnHostMachine, endpointMachine, sandboxMachine, containerMachine];

test.each(machines.map((m) => [m.id, m] as const))('every state and event of %s leads where xstate takes it', (_id, machine) => {
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
