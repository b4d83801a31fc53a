import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import { DataSource } from 'typeorm';
import {
  ErrorCodes,
  type EventEnvelope,
  type EventType,
  type NewEvent,
  type StreamType,
} from '@executor/contracts';
import { EventRecord } from './event.entity';
import { CreateEvents1764150000000 } from './migrations/1764150000000-create-events';

/** `'any'` skips the check; a number is the version the stream must be at (0 = new stream). */
export type ExpectedVersion = number | 'any';

export class ConcurrencyError extends Error {
  constructor(
    readonly streamId: string,
    readonly expected: number,
    readonly actual: number,
  ) {
    super(`stream ${streamId} is at version ${actual}, expected ${expected}`);
    this.name = 'ConcurrencyError';
  }
}

/**
 * The store cannot be read or written now (disk full, read-only file system, I/O error, a
 * lock held too long). Nothing was written; the same call may succeed once it is fixed.
 * Carries the wire code, so it leaves a service as a 503 `EVENT_STORE_UNAVAILABLE`.
 */
export class EventStoreUnavailableError extends Error {
  readonly code = ErrorCodes.EventStoreUnavailable;
  constructor(readonly sqliteCode: string) {
    super(`the event store cannot be written now (${sqliteCode}); nothing was recorded, try again later`);
    this.name = 'EventStoreUnavailableError';
  }
}

const UNAVAILABLE = /^SQLITE_(FULL|READONLY|IOERR|CANTOPEN|BUSY|LOCKED|NOMEM|PROTOCOL)/;

/** SQLite's own code of an error, also when TypeORM wrapped it. */
function sqliteCode(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const e = err as { code?: unknown; driverError?: { code?: unknown } };
  const code = typeof e.code === 'string' ? e.code : e.driverError?.code;
  return typeof code === 'string' && code.startsWith('SQLITE_') ? code : undefined;
}

/** Trouble with the disk or the file becomes EventStoreUnavailableError; anything else is kept. */
export function storeError(err: unknown): Error {
  const code = sqliteCode(err);
  if (code && UNAVAILABLE.test(code)) return new EventStoreUnavailableError(code);
  return err instanceof Error ? err : new Error(String(err));
}

export interface AppendMeta {
  tenantId?: string | null;
  correlationId?: string | null;
}

export interface EventQuery {
  stream_id?: string;
  stream_type?: string;
  type?: string;
  /** Any of these types. */
  types?: string[];
  tenant_id?: string;
  /** ISO time, inclusive. */
  from?: string;
  /** ISO time, exclusive. */
  to?: string;
  after_position?: number;
  before_position?: number;
  limit?: number;
  order?: 'asc' | 'desc';
}

export interface EventStoreOptions {
  /** SQLite file path. */
  path: string;
  /** `NORMAL` (default) survives process crashes; `FULL` also survives power loss. */
  synchronous?: 'NORMAL' | 'FULL';
  busyTimeoutMs?: number;
}

export const MAX_QUERY_LIMIT = 1000;

/**
 * The source of truth: an append-only table of events, over TypeORM.
 * Appends run in one `BEGIN IMMEDIATE` transaction on the driver, so positions
 * are assigned in commit order across every process sharing the file.
 */
export class EventStore {
  private constructor(
    private readonly ds: DataSource,
    private readonly db: BetterSqlite3.Database,
  ) {}

  static async open(options: EventStoreOptions): Promise<EventStore> {
    if (options.path !== ':memory:') mkdirSync(dirname(options.path), { recursive: true });
    const ds = new DataSource({
      type: 'better-sqlite3',
      database: options.path,
      entities: [EventRecord],
      migrations: [CreateEvents1764150000000],
      synchronize: false,
      logging: false,
      prepareDatabase: (db: BetterSqlite3.Database) => {
        db.pragma(`busy_timeout = ${options.busyTimeoutMs ?? 10000}`);
        db.pragma('journal_mode = WAL');
        db.pragma(`synchronous = ${options.synchronous ?? 'NORMAL'}`);
      },
    });
    await ds.initialize();
    await runMigrationsWithRetry(ds);
    const db = (ds.driver as unknown as { databaseConnection: BetterSqlite3.Database }).databaseConnection;
    return new EventStore(ds, db);
  }

  async close(): Promise<void> {
    if (this.ds.isInitialized) await this.ds.destroy();
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
    const current = this.db.prepare('SELECT COALESCE(MAX(version), 0) AS v FROM events WHERE stream_id = ?');
    const insert = this.db.prepare(
      `INSERT INTO events (id, stream_id, stream_type, version, type, tenant_id, occurred_at, correlation_id, data)
       VALUES (@id, @stream_id, @stream_type, @version, @type, @tenant_id, @occurred_at, @correlation_id, @data)`,
    );
    const tx = this.db.transaction((): EventEnvelope[] => {
      const actual = (current.get(streamId) as { v: number }).v;
      if (expected !== 'any' && actual !== expected) throw new ConcurrencyError(streamId, expected, actual);
      const occurredAt = new Date().toISOString();
      return events.map((event, i) => {
        const envelope: EventEnvelope = {
          id: randomUUID(),
          stream_id: streamId,
          stream_type: streamType,
          type: event.type,
          version: actual + i + 1,
          position: 0,
          tenant_id: meta.tenantId ?? null,
          occurred_at: occurredAt,
          correlation_id: meta.correlationId ?? null,
          data: event.data,
        };
        const info = insert.run({ ...envelope, data: JSON.stringify(event.data) });
        envelope.position = Number(info.lastInsertRowid);
        return envelope;
      });
    });
    try {
      return Promise.resolve(tx.immediate());
    } catch (err) {
      if (isUniqueViolation(err) && expected !== 'any') {
        const actual = (current.get(streamId) as { v: number }).v;
        return Promise.reject(new ConcurrencyError(streamId, expected, actual));
      }
      return Promise.reject(storeError(err));
    }
  }

  /** Events of one stream in version order, from a version on. */
  async readStream(streamId: string, fromVersion = 1): Promise<EventEnvelope[]> {
    const rows = await this.repo()
      .createQueryBuilder('e')
      .where('e.stream_id = :streamId', { streamId })
      .andWhere('e.version >= :fromVersion', { fromVersion })
      .orderBy('e.version', 'ASC')
      .getMany()
      .catch((err: unknown) => Promise.reject(storeError(err)));
    return rows.map(toEnvelope);
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
    const order = q.order === 'desc' ? 'DESC' : 'ASC';
    const limit = Math.max(1, Math.min(q.limit ?? 100, MAX_QUERY_LIMIT));
    const qb = this.repo().createQueryBuilder('e');
    if (q.stream_id !== undefined) qb.andWhere('e.stream_id = :stream_id', { stream_id: q.stream_id });
    if (q.stream_type !== undefined)
      qb.andWhere('e.stream_type = :stream_type', { stream_type: q.stream_type });
    if (q.type !== undefined) qb.andWhere('e.type = :type', { type: q.type });
    if (q.types !== undefined) qb.andWhere('e.type IN (:...types)', { types: q.types });
    if (q.tenant_id !== undefined) qb.andWhere('e.tenant_id = :tenant_id', { tenant_id: q.tenant_id });
    if (q.from !== undefined) qb.andWhere('e.occurred_at >= :from', { from: q.from });
    if (q.to !== undefined) qb.andWhere('e.occurred_at < :to', { to: q.to });
    if (q.after_position !== undefined) qb.andWhere('e.position > :after', { after: q.after_position });
    if (q.before_position !== undefined) qb.andWhere('e.position < :before', { before: q.before_position });
    const rows = await qb
      .orderBy('e.position', order)
      .take(limit + 1)
      .getMany()
      .catch((err: unknown) => Promise.reject(storeError(err)));
    const page = rows.slice(0, limit).map(toEnvelope);
    const next = rows.length > limit ? page[page.length - 1].position : null;
    return { events: page, next };
  }

  /** The highest position stored (0 when empty). */
  async headPosition(): Promise<number> {
    const row = await this.repo()
      .createQueryBuilder('e')
      .select('COALESCE(MAX(e.position), 0)', 'head')
      .getRawOne<{ head: number }>();
    return Number(row?.head ?? 0);
  }

  /** Proves the file is readable and writable (a write lock can be taken). */
  ping(): void {
    try {
      this.db.prepare('SELECT 1').get();
      this.db.transaction(() => undefined).immediate();
    } catch (err) {
      throw storeError(err);
    }
  }

  private repo() {
    return this.ds.getRepository(EventRecord);
  }
}

function toEnvelope(row: EventRecord): EventEnvelope {
  return {
    id: row.id,
    stream_id: row.stream_id,
    stream_type: row.stream_type as StreamType,
    type: row.type as EventType,
    version: row.version,
    position: row.position,
    tenant_id: row.tenant_id,
    occurred_at: row.occurred_at,
    correlation_id: row.correlation_id,
    data: JSON.parse(row.data) as EventEnvelope['data'],
  };
}

function isUniqueViolation(err: unknown): boolean {
  return (
    typeof err === 'object' &&
    err !== null &&
    String((err as { code?: unknown }).code).startsWith('SQLITE_CONSTRAINT')
  );
}

/** Several processes may start on one new file at once: the loser of a race retries. */
async function runMigrationsWithRetry(ds: DataSource): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await ds.runMigrations({ transaction: 'all' });
      return;
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      const transient = /already exists|SQLITE_BUSY|database is locked/i.test(message);
      if (!transient || attempt >= 20) throw err;
      await new Promise((r) => setTimeout(r, 50 * attempt));
    }
  }
}
