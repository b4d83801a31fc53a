import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { StreamTypes, type DomainEvent, type EventEnvelope } from '@executor/contracts';
import { EventStore } from '@executor/event-store';
import { evolve, initialState, type SessionState } from './session.decider';

export const sessionStream = (sessionId: string) => `session-${sessionId}`;

/**
 * Every session's state, rebuilt from the event log at start and kept current by applying
 * the events this service appends. Nothing lives only in memory: a restart rebuilds it.
 */
@Injectable()
export class SessionRepository implements OnApplicationBootstrap {
  private readonly logger = new Logger(SessionRepository.name);
  private readonly sessions = new Map<string, SessionState>();
  private position = 0;

  constructor(private readonly store: EventStore) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.catchUp();
    const live = [...this.sessions.values()].filter((s) => s.status === 'active').length;
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
    const state = this.sessions.get(id) ?? initialState;
    if (e.version !== state.version + 1) return; // already applied, or a gap the next catch-up fills
    this.sessions.set(id, evolve(state, { type: e.type, data: e.data } as DomainEvent, e.occurred_at));
    this.position = Math.max(this.position, e.position);
  }

  get(sessionId: string): SessionState {
    return this.sessions.get(sessionId) ?? initialState;
  }

  all(): SessionState[] {
    return [...this.sessions.values()];
  }

  private idOf(e: EventEnvelope): string {
    return e.stream_id.slice('session-'.length);
  }
}
