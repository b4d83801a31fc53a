import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { StreamTypes, type EventEnvelope } from '@executor/contracts';
import { EventStore, evolveStored, type Loaded } from '@executor/event-store';
import { initialState, SessionDecider, type Session, type SessionState } from './session.decider';

export const sessionStream = (sessionId: string) => `session-${sessionId}`;

/**
 * Every session's state, rebuilt from the event log at start and kept current by applying
 * the events this service appends. Nothing lives only in memory: a restart rebuilds it.
 */
@Injectable()
export class SessionRepository implements OnApplicationBootstrap {
  private readonly logger = new Logger(SessionRepository.name);
  private readonly sessions = new Map<string, Loaded<SessionState>>();
  private position = 0;

  constructor(private readonly store: EventStore) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.catchUp();
    const live = this.all().filter((s) => s.status === 'active').length;
    this.logger.log(
      `rebuilt ${this.sessions.size} session(s) from the log, ${live} active, at position ${this.position}`,
    );
  }

  /** Applies every session event after the last position seen. */
  async catchUp(): Promise<void> {
    for await (const e of this.store.scan({
      stream_type: StreamTypes.Session,
      after_position: this.position,
    })) {
      this.apply(e);
    }
  }

  apply(e: EventEnvelope): void {
    const id = this.idOf(e);
    const { state, version } = this.loaded(id);
    if (e.version !== version + 1) return; // already applied, or a gap the next catch-up fills
    this.sessions.set(id, { state: evolveStored(SessionDecider, state, e), version: e.version });
    this.position = Math.max(this.position, e.position);
  }

  get(sessionId: string): SessionState {
    return this.loaded(sessionId).state;
  }

  /** The state with the stream version it was built from: what a command is decided on. */
  loaded(sessionId: string): Loaded<SessionState> {
    return this.sessions.get(sessionId) ?? { state: initialState, version: 0 };
  }

  all(): Session[] {
    return [...this.sessions.values()].map((l) => l.state).filter((s): s is Session => s.status !== 'none');
  }

  private idOf(e: EventEnvelope): string {
    return e.stream_id.slice('session-'.length);
  }
}
