import type { ErrorCode } from './errors';
import type { DomainEvent, EventEnvelope } from './events';

/** What the store says about an event beside its data: when it happened and whose it is. */
export type EventContext = Pick<EventEnvelope, 'occurred_at' | 'tenant_id'>;

/**
 * An aggregate's rules, pure: `decide` turns a command and the state into events (or throws
 * a CommandRejected), `evolve` folds one event into the state, starting from `initialState`.
 * No I/O and no clock inside: time comes in with the command or the event.
 */
export interface Decider<State, Command, Event extends DomainEvent = DomainEvent> {
  readonly initialState: State;
  readonly decide: (command: Command, state: State) => Event[];
  readonly evolve: (state: State, event: Event, context: EventContext) => State;
}

/**
 * A command the state refuses. It carries its wire code, so it leaves a service as
 * `{code, message}` unchanged (the RPC error filter passes any error that has one).
 */
export class CommandRejected extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'CommandRejected';
  }
}

/**
 * The `default` of a switch over a union that has a case for every member: a member added
 * without its case is a type error here. Returns what it was given, as the switch would.
 */
export function exhaustive(value: never): never {
  return value;
}
