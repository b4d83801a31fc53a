import type { Decider, DomainEvent, EventEnvelope, NewEvent, StreamType } from '@executor/contracts';
import type { AppendMeta, ExpectedVersion } from './dialect';
import { ConcurrencyError } from './errors';

/** An aggregate's state and the stream version it was built from. */
export interface Loaded<State> {
  state: State;
  /** The number of events folded in: the expected version of the next append. */
  version: number;
}

/** The state after a command, and the events it appended (none when the decider chose none). */
export interface Handled<State> extends Loaded<State> {
  stored: EventEnvelope[];
}

/** Reads one stream in version order (EventStore). */
export interface StreamReader {
  readStream(streamId: string): Promise<EventEnvelope[]>;
}

/** Appends with an expected version and publishes what was stored (EventRecorder). */
export interface EventAppender {
  record(
    streamId: string,
    streamType: StreamType,
    expected: ExpectedVersion,
    events: NewEvent[],
    meta?: AppendMeta,
  ): Promise<EventEnvelope[]>;
}

export interface CommandOptions<State> {
  /**
   * The state as this process already holds it (a projection kept current, or what its own
   * last command returned): decided on first instead of reading the stream. After a
   * concurrent append the stream is read.
   */
  known?: Loaded<State>;
  /** Where the state is read after a concurrent append (a projection that catches up); the stream by default. */
  reload?: () => Promise<Loaded<State>>;
  /** Tenant and correlation of the appended events; a function of the state decided on. */
  meta?: AppendMeta | ((state: State) => AppendMeta);
  /** Attempts after a concurrent append, each on the stream read anew; then its ConcurrencyError is thrown. */
  retries?: number;
}

/** Folds one stored event into a state with a decider's evolve. */
export function evolveStored<State, Event extends DomainEvent>(
  decider: Pick<Decider<State, unknown, Event>, 'evolve'>,
  state: State,
  e: EventEnvelope,
): State {
  return decider.evolve(state, { type: e.type, data: e.data } as Event, {
    occurred_at: e.occurred_at,
    tenant_id: e.tenant_id,
  });
}

/**
 * Load, decide, append: the one way a command changes an aggregate. The state is loaded (or
 * taken as known), the decider decides, and its events are appended with the version the
 * state was built from, so a stream that moved meanwhile is never written over: the command
 * is decided again on the stream as it now is. A rejection (CommandRejected) is the decider's
 * and is thrown as it is.
 */
export class CommandHandler<State, Command, Event extends DomainEvent = DomainEvent> {
  constructor(
    private readonly decider: Decider<State, Command, Event>,
    private readonly streamType: StreamType,
    private readonly store: StreamReader,
    private readonly recorder: EventAppender,
  ) {}

  /** The state of a stream, folded from its events. */
  async load(streamId: string): Promise<Loaded<State>> {
    const events = await this.store.readStream(streamId);
    return {
      state: events.reduce((s, e) => evolveStored(this.decider, s, e), this.decider.initialState),
      version: events.at(-1)?.version ?? 0,
    };
  }

  async handle(
    streamId: string,
    command: Command,
    options: CommandOptions<State> = {},
  ): Promise<Handled<State>> {
    const retries = options.retries ?? 1;
    let current = options.known ?? (await this.load(streamId));
    for (let attempt = 0; ; attempt++) {
      const events = this.decider.decide(command, current.state);
      if (events.length === 0) return { ...current, stored: [] };
      const meta = typeof options.meta === 'function' ? options.meta(current.state) : options.meta;
      try {
        const stored = await this.recorder.record(streamId, this.streamType, current.version, events, meta);
        return {
          state: stored.reduce((s, e) => evolveStored(this.decider, s, e), current.state),
          version: current.version + stored.length,
          stored,
        };
      } catch (err) {
        if (!(err instanceof ConcurrencyError) || attempt >= retries) throw err;
        current = options.reload ? await options.reload() : await this.load(streamId);
      }
    }
  }
}
