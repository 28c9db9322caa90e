/**
 * Lifecycles of the CNM objects as xstate machines. They are pure data: the world stores
 * each object's state value, and `advance` asks the machine where an event leads. The
 * machines carry no context, so a transition depends only on (state, event) and is
 * memoized.
 */
import { AnyStateMachine, setup, transition } from 'xstate';

export const swarmNodeMachine = setup({
  types: { events: {} as { type: 'INIT' } | { type: 'JOIN' } | { type: 'LEAVE' } },
}).createMachine({
  id: 'swarm-node',
  initial: 'inactive',
  states: {
    inactive: { on: { INIT: 'manager', JOIN: 'worker' } },
    manager: { on: { LEAVE: 'left' } },
    worker: { on: { LEAVE: 'left' } },
    left: { on: { INIT: 'manager', JOIN: 'worker' } },
  },
});

export const networkMachine = setup({
  types: { events: {} as { type: 'REMOVE' } },
}).createMachine({
  id: 'network',
  initial: 'created',
  states: { created: { on: { REMOVE: 'removed' } }, removed: { type: 'final' } },
});

/** A network on one host: built on the first local endpoint join, torn down after the last leave. */
export const networkOnHostMachine = setup({
  types: { events: {} as { type: 'FIRST_JOIN' } | { type: 'LAST_LEAVE' } },
}).createMachine({
  id: 'network-on-host',
  initial: 'absent',
  states: {
    absent: { on: { FIRST_JOIN: 'instantiated' } },
    instantiated: { on: { LAST_LEAVE: 'absent' } },
  },
});

export const endpointMachine = setup({
  types: { events: {} as { type: 'JOIN' } | { type: 'LEAVE' } | { type: 'DELETE' } },
}).createMachine({
  id: 'endpoint',
  initial: 'created',
  states: {
    created: { on: { JOIN: 'joined', DELETE: 'deleted' } },
    joined: { on: { LEAVE: 'left' } },
    left: { on: { JOIN: 'joined', DELETE: 'deleted' } },
    deleted: { type: 'final' },
  },
});

export const sandboxMachine = setup({
  types: { events: {} as { type: 'START' } | { type: 'REMOVE' } },
}).createMachine({
  id: 'sandbox',
  initial: 'created',
  states: {
    created: { on: { START: 'running', REMOVE: 'removed' } },
    running: { on: { REMOVE: 'removed' } },
    removed: { type: 'final' },
  },
});

/** A container as `docker ps -a` shows it. */
export const containerMachine = setup({
  types: { events: {} as { type: 'START' } | { type: 'STOP' } | { type: 'REMOVE' } },
}).createMachine({
  id: 'container',
  initial: 'created',
  states: {
    created: { on: { START: 'running', REMOVE: 'removed' } },
    running: { on: { STOP: 'exited' } },
    exited: { on: { START: 'running', REMOVE: 'removed' } },
    removed: { type: 'final' },
  },
});

const memo = new Map<AnyStateMachine, Map<string, string | null>>();

/**
 * Whether entering or leaving the node runs nothing: no entry or exit actions, no actors
 * invoked, no delayed (`after`) or eventless (`always`) transitions, which xstate turns into
 * actions and further moves of a step.
 */
function quiet(node: AnyStateMachine['root']): boolean {
  return !node.entry.length && !node.exit.length && !node.invoke.length && !node.config.after && !node.always?.length;
}

/**
 * The state the machine's own transition for `event` leads to, read from xstate's choice of
 * transition when it is a plain move between top-level states (what every machine here has):
 * no actions, no guard left to run, one target beside the source, and nothing run on leaving
 * the source or entering the target (or the machine, which a final state leaves). xstate's
 * transition() builds an actor to run a step's actions, the dearest part of a short run's
 * first events; anything else (undefined) is left to it.
 */
function topLevelTarget(machine: AnyStateMachine, snapshot: ReturnType<AnyStateMachine['resolveState']>, event: string): string | undefined {
  if (snapshot.status !== 'active' || typeof snapshot.value !== 'string' || !quiet(machine.root)) return undefined;
  const from = machine.root.states[snapshot.value];
  if (!from || from.type !== 'atomic' || !quiet(from)) return undefined;
  const chosen = machine.getTransitionData(snapshot, { type: event });
  if (chosen?.length !== 1) return undefined;
  const [{ target, actions }] = chosen;
  if (actions.length || target?.length !== 1) return undefined;
  const [to] = target;
  return to.parent === machine.root && (to.type === 'atomic' || to.type === 'final') && quiet(to) ? to.key : undefined;
}

/** The state an event leads to from `value`, or undefined when the machine refuses it. */
export function nextState(machine: AnyStateMachine, value: string, event: string): string | undefined {
  let table = memo.get(machine);
  if (!table) memo.set(machine, (table = new Map()));
  const key = `${value}\u0000${event}`;
  let next = table.get(key);
  if (next === undefined) {
    const snapshot = machine.resolveState({ value, context: {} });
    next = topLevelTarget(machine, snapshot, event) ?? (snapshot.can({ type: event }) ? (transition(machine, snapshot, { type: event })[0].value as string) : null);
    table.set(key, next);
  }
  return next ?? undefined;
}

/** Like nextState, but a refused event is a bug in the model, not bad input. */
export function advance(machine: AnyStateMachine, value: string, event: string): string {
  const next = nextState(machine, value, event);
  if (next === undefined) throw new Error(`${machine.id}: event ${event} is not allowed in state ${value}`);
  return next;
}

export function initialState(machine: AnyStateMachine): string {
  return machine.config.initial as string;
}
