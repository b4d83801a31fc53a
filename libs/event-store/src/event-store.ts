import type { EventEnvelope, NewEvent, StreamType } from '@executor/contracts';
import type { AppendMeta, Dialect, EventQuery, ExpectedVersion } from './dialect';
import { isPostgresOptions, type EventStoreOptions } from './options';
import { PostgresDialect } from './postgres/postgres-dialect';
import { SqliteDialect } from './sqlite/sqlite-dialect';

export const MAX_QUERY_LIMIT = 1000;

/**
 * The source of truth: an append-only table of events in SQLite (embedded, the default) or
 * PostgreSQL, the dialect chosen once when the store is opened. Either way positions are
 * gap-free and become visible in commit order, so a reader paging by `position > X` never
 * skips an event that commits later; an append with an expected version is refused with a
 * ConcurrencyError when the stream has moved; trouble with the disk or the server is an
 * EventStoreUnavailableError. How each dialect keeps these is described on it.
 */
export class EventStore {
  private constructor(private readonly dialect: Dialect) {}

  static async open(options: EventStoreOptions): Promise<EventStore> {
    return new EventStore(
      isPostgresOptions(options) ? await PostgresDialect.open(options) : SqliteDialect.open(options),
    );
  }

  close(): Promise<void> {
    return this.dialect.close();
  }

  /** Appends events to one stream atomically; throws ConcurrencyError when the stream moved. */
  append(
    streamId: string,
    streamType: StreamType,
    expected: ExpectedVersion,
    events: NewEvent[],
    meta: AppendMeta = {},
  ): Promise<EventEnvelope[]> {
    if (events.length === 0) return Promise.resolve([]);
    return this.dialect.append({ streamId, streamType, expected, events, meta });
  }

  /** Events of one stream in version order, from a version on. */
  readStream(streamId: string, fromVersion = 1): Promise<EventEnvelope[]> {
    return this.dialect.readStream(streamId, fromVersion);
  }

  /** Events of every stream in global order, after a position (exclusive). */
  async readAll(afterPosition = 0, limit = MAX_QUERY_LIMIT): Promise<EventEnvelope[]> {
    return (await this.query({ after_position: afterPosition, limit, order: 'asc' })).events;
  }

  /** Every event matching `q` after `q.after_position`, in position order, read a page at a time. */
  async *scan(
    q: Omit<EventQuery, 'order' | 'before_position' | 'limit'> = {},
  ): AsyncGenerator<EventEnvelope> {
    let after = q.after_position ?? 0;
    for (;;) {
      const page = await this.query({ ...q, after_position: after, order: 'asc', limit: MAX_QUERY_LIMIT });
      yield* page.events;
      if (page.next === null) return;
      after = page.next;
    }
  }

  /** Filtered, paged query. `next` is the position to pass as after/before_position for the next page. */
  async query(q: EventQuery): Promise<{ events: EventEnvelope[]; next: number | null }> {
    const limit = Math.max(1, Math.min(q.limit ?? 100, MAX_QUERY_LIMIT));
    const rows = await this.dialect.query(q, limit + 1);
    const events = rows.slice(0, limit);
    return { events, next: rows.length > limit ? events[events.length - 1].position : null };
  }

  /** The highest position stored (0 when empty). */
  headPosition(): Promise<number> {
    return this.dialect.headPosition();
  }

  /** Proves the store is readable and writable without writing or waiting. */
  ping(): Promise<void> {
    return this.dialect.ping();
  }
}
