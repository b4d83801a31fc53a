import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import { DataSource, MigrationExecutor, type QueryRunner } from 'typeorm';
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
 * lock held too long; on PostgreSQL also a server that is down, refusing or out of
 * connections, or read-only). Nothing was written; the same call may succeed once it is fixed.
 * Carries the wire code, so it leaves a service as a 503 `EVENT_STORE_UNAVAILABLE`.
 */
export class EventStoreUnavailableError extends Error {
  readonly code = ErrorCodes.EventStoreUnavailable;
  constructor(
    /** The driver's own code: `SQLITE_FULL`, a PostgreSQL SQLSTATE such as `53100`, `ECONNREFUSED`. */
    readonly driverCode: string,
    message = `the event store cannot be written now (${driverCode}); nothing was recorded, try again later`,
  ) {
    super(message);
    this.name = 'EventStoreUnavailableError';
  }
}

const SQLITE_UNAVAILABLE = /^SQLITE_(FULL|READONLY|IOERR|CANTOPEN|BUSY|LOCKED|NOMEM|PROTOCOL)/;

/**
 * PostgreSQL SQLSTATEs that mean "not now": class 08 (connection exception), class 53
 * (insufficient resources: disk full, out of memory, too many connections), 57P01-57P03
 * (shutting down, cannot connect now), 25006 (read-only transaction: a standby or a read-only
 * database) and 55P03 (lock_not_available: the append lock was not granted within the timeout,
 * as SQLITE_BUSY). Serialization failures (40001, 40P01) cannot happen at READ COMMITTED with
 * the one lock appends take, so they are not retried and not mapped.
 */
const PG_UNAVAILABLE = /^(08...|53...|57P0[123]|25006|55P03)$/;
/** Socket errors of a server that is down or unreachable. */
const NET_UNAVAILABLE = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
]);
/** node-postgres reports a lost or timed-out connection by message only. */
const PG_CONNECTION_LOST =
  /Connection terminated|timeout exceeded when trying to connect|not queryable|Client was closed/i;

/** The driver's own code of an error, also when TypeORM wrapped it. */
function errorCode(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const e = err as { code?: unknown; driverError?: { code?: unknown }; errors?: Array<{ code?: unknown }> };
  // Node reports a failed connection to every address of a host as one AggregateError.
  for (const code of [e.code, e.driverError?.code, e.errors?.[0]?.code]) {
    if (typeof code === 'string') return code;
  }
  return undefined;
}

function unavailableCode(err: unknown): string | undefined {
  const code = errorCode(err);
  if (code?.startsWith('SQLITE_')) return SQLITE_UNAVAILABLE.test(code) ? code : undefined;
  if (code && (PG_UNAVAILABLE.test(code) || NET_UNAVAILABLE.has(code))) return code;
  const message = err instanceof Error ? err.message : '';
  if (PG_CONNECTION_LOST.test(message)) return /timeout/i.test(message) ? 'ETIMEDOUT' : 'CONNECTION_LOST';
  return undefined;
}

/** Trouble with the disk, the file or the server becomes EventStoreUnavailableError; anything else is kept. */
export function storeError(err: unknown): Error {
  if (err instanceof EventStoreUnavailableError) return err;
  const code = unavailableCode(err);
  if (code) return new EventStoreUnavailableError(code);
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

/** The embedded default: one SQLite file shared by the processes of one host. */
export interface SqliteStoreOptions {
  /** SQLite file path. */
  path: string;
  /** `NORMAL` (default) survives process crashes; `FULL` also survives power loss. */
  synchronous?: 'NORMAL' | 'FULL';
  /** How long an append waits for another writer's lock before it is refused (10 s). */
  busyTimeoutMs?: number;
}

/** PostgreSQL, when one host is not enough. */
export interface PostgresStoreOptions {
  /** `postgres://user:password@host:port/database`; may carry a password, so it is never logged. */
  url: string;
  /** Connections per process (5). */
  poolSize?: number;
  /** How long an append waits for the append lock before it is refused (10 s). */
  busyTimeoutMs?: number;
  /** How long a new connection may take (5 s). */
  connectTimeoutMs?: number;
}

export type EventStoreOptions = SqliteStoreOptions | PostgresStoreOptions;

export function isPostgresOptions(options: EventStoreOptions): options is PostgresStoreOptions {
  return 'url' in options;
}

/** Where a store is, fit for a log line: the URL loses its password. */
export function describeStore(options: EventStoreOptions): string {
  if (!isPostgresOptions(options)) return `SQLite at ${options.path}`;
  try {
    const url = new URL(options.url);
    if (url.password) url.password = '***';
    return `PostgreSQL at ${url.toString()}`;
  } catch {
    return 'PostgreSQL (an unreadable URL)';
  }
}

export const MAX_QUERY_LIMIT = 1000;

/**
 * The source of truth: an append-only table of events, over TypeORM, in SQLite (embedded, the
 * default) or PostgreSQL. Either way positions are gap-free and become visible in commit order,
 * so a reader paging by `position > X` never skips an event that commits later:
 *
 * - SQLite: an append is one `BEGIN IMMEDIATE` transaction on the driver, which takes the
 *   file's one write lock; positions are AUTOINCREMENT values assigned under it.
 * - PostgreSQL: an append is one READ COMMITTED transaction that first runs
 *   `UPDATE event_head SET head = head + n RETURNING head`. That row lock serializes appenders
 *   (the next one waits until this one commits or rolls back), the positions head-n+1..head are
 *   assigned under it, so they commit in order, and a rollback gives the numbers back. The
 *   stream's version is read by the next statement, whose snapshot is taken after the lock was
 *   granted and so sees every earlier append (a CTE with the UPDATE would not: one statement,
 *   one snapshot). The unique (stream_id, version) index is the backstop.
 */
export class EventStore {
  private constructor(
    private readonly ds: DataSource,
    /** The raw SQLite connection; null on PostgreSQL. */
    private readonly sqlite: BetterSqlite3.Database | null,
    private readonly lockTimeoutMs: number,
  ) {}

  static async open(options: EventStoreOptions): Promise<EventStore> {
    return isPostgresOptions(options) ? EventStore.openPostgres(options) : EventStore.openSqlite(options);
  }

  private static async openSqlite(options: SqliteStoreOptions): Promise<EventStore> {
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
    return new EventStore(ds, db, options.busyTimeoutMs ?? 10000);
  }

  private static async openPostgres(options: PostgresStoreOptions): Promise<EventStore> {
    if (!/^postgres(ql)?:\/\//i.test(options.url)) {
      throw new Error('the event store URL must start with postgres:// or postgresql://');
    }
    const ds = new DataSource({
      type: 'postgres',
      url: options.url,
      entities: [EventRecord],
      migrations: [CreateEvents1764150000000],
      synchronize: false,
      logging: false,
      poolSize: options.poolSize ?? 5,
      connectTimeoutMS: options.connectTimeoutMs ?? 5000,
      applicationName: 'executor-event-store',
      // An idle connection the server dropped leaves the pool; the next query opens a new one
      // or reports the server unavailable. Nothing to do here (and nothing unhandled).
      poolErrorHandler: () => undefined,
    });
    try {
      await ds.initialize();
      await migrateUnderLock(ds);
    } catch (err) {
      if (ds.isInitialized) await ds.destroy().catch(() => undefined);
      throw storeError(err);
    }
    return new EventStore(ds, null, options.busyTimeoutMs ?? 10000);
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
    return this.sqlite
      ? this.appendSqlite(this.sqlite, streamId, streamType, expected, events, meta)
      : this.appendPostgres(streamId, streamType, expected, events, meta);
  }

  private appendSqlite(
    db: BetterSqlite3.Database,
    streamId: string,
    streamType: StreamType,
    expected: ExpectedVersion,
    events: NewEvent[],
    meta: AppendMeta,
  ): Promise<EventEnvelope[]> {
    const current = db.prepare('SELECT COALESCE(MAX(version), 0) AS v FROM events WHERE stream_id = ?');
    const insert = db.prepare(
      `INSERT INTO events (id, stream_id, stream_type, version, type, tenant_id, occurred_at, correlation_id, data)
       VALUES (@id, @stream_id, @stream_type, @version, @type, @tenant_id, @occurred_at, @correlation_id, @data)`,
    );
    const tx = db.transaction((): EventEnvelope[] => {
      const actual = (current.get(streamId) as { v: number }).v;
      if (expected !== 'any' && actual !== expected) throw new ConcurrencyError(streamId, expected, actual);
      return envelopes(streamId, streamType, actual, 0, events, meta).map((envelope) => {
        const info = insert.run({ ...envelope, data: JSON.stringify(envelope.data) });
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

  private async appendPostgres(
    streamId: string,
    streamType: StreamType,
    expected: ExpectedVersion,
    events: NewEvent[],
    meta: AppendMeta,
  ): Promise<EventEnvelope[]> {
    const qr = this.ds.createQueryRunner();
    try {
      await qr.startTransaction('READ COMMITTED');
      // Give up on the append lock like SQLite's busy timeout does (55P03 → unavailable).
      await qr.query(`SET LOCAL lock_timeout = ${Math.max(1, Math.floor(this.lockTimeoutMs))}`);
      const [locked] = await records<{ head: string }>(
        qr,
        'UPDATE event_head SET head = head + $1 RETURNING head',
        [events.length],
      );
      if (!locked) throw new Error('event_head has lost its row: the store is damaged');
      const head = Number(locked.head);
      const [{ v }] = await records<{ v: number }>(
        qr,
        'SELECT COALESCE(MAX(version), 0) AS v FROM events WHERE stream_id = $1',
        [streamId],
      );
      const actual = Number(v);
      if (expected !== 'any' && actual !== expected) throw new ConcurrencyError(streamId, expected, actual);
      const stored = envelopes(streamId, streamType, actual, head - events.length, events, meta);
      const params: unknown[] = [];
      const rows = stored.map((e) => {
        const n = params.push(
          e.position,
          e.id,
          e.stream_id,
          e.stream_type,
          e.version,
          e.type,
          e.tenant_id,
          e.occurred_at,
          e.correlation_id,
          JSON.stringify(e.data),
        );
        return `(${Array.from({ length: 10 }, (_, i) => `$${n - 9 + i}`).join(', ')})`;
      });
      await qr.query(
        `INSERT INTO events (position, id, stream_id, stream_type, version, type, tenant_id, occurred_at, correlation_id, data)
         VALUES ${rows.join(', ')}`,
        params,
      );
      await qr.commitTransaction().catch((err: unknown) => {
        const e = storeError(err);
        // The COMMIT was sent; whether it was applied is unknown. With an expected version,
        // appending again is safe: a stored first attempt makes it a ConcurrencyError.
        throw e instanceof EventStoreUnavailableError
          ? new EventStoreUnavailableError(
              e.driverCode,
              `the event store was lost while committing (${e.driverCode}); the events may have been stored, read the stream before appending again`,
            )
          : e;
      });
      return stored;
    } catch (err) {
      if (qr.isTransactionActive) await qr.rollbackTransaction().catch(() => undefined);
      if (err instanceof ConcurrencyError) throw err;
      if (isVersionConflict(err) && expected !== 'any') {
        const actual = await this.streamVersion(streamId);
        throw new ConcurrencyError(streamId, expected, actual);
      }
      throw storeError(err);
    } finally {
      await qr.release();
    }
  }

  private async streamVersion(streamId: string): Promise<number> {
    const [{ v }] = await this.ds
      .query<Array<{ v: number }>>('SELECT COALESCE(MAX(version), 0) AS v FROM events WHERE stream_id = $1', [
        streamId,
      ])
      .catch((err: unknown) => Promise.reject(storeError(err)));
    return Number(v);
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
      .getRawOne<{ head: number | string }>()
      .catch((err: unknown) => Promise.reject(storeError(err)));
    return Number(row?.head ?? 0);
  }

  /**
   * Proves the store is readable and writable without writing or waiting: SQLite takes and
   * drops the write lock; PostgreSQL answers and is neither a standby nor read-only.
   */
  async ping(): Promise<void> {
    if (this.sqlite) {
      try {
        this.sqlite.prepare('SELECT 1').get();
        this.sqlite.transaction(() => undefined).immediate();
      } catch (err) {
        throw storeError(err);
      }
      return;
    }
    const [row] = await this.ds
      .query<Array<{ recovery: boolean; read_only: string }>>(
        `SELECT pg_is_in_recovery() AS recovery, current_setting('transaction_read_only') AS read_only`,
      )
      .catch((err: unknown) => Promise.reject(storeError(err)));
    if (row.recovery || row.read_only === 'on') {
      throw new EventStoreUnavailableError(
        '25006',
        'the event store is read-only now (25006); try again later',
      );
    }
  }

  private repo() {
    return this.ds.getRepository(EventRecord);
  }
}

/** The envelopes of one append: versions after `version`, positions after `position`. */
function envelopes(
  streamId: string,
  streamType: StreamType,
  version: number,
  position: number,
  events: NewEvent[],
  meta: AppendMeta,
): EventEnvelope[] {
  const occurredAt = new Date().toISOString();
  return events.map((event, i) => ({
    id: randomUUID(),
    stream_id: streamId,
    stream_type: streamType,
    type: event.type,
    version: version + i + 1,
    position: position + i + 1,
    tenant_id: meta.tenantId ?? null,
    occurred_at: occurredAt,
    correlation_id: meta.correlationId ?? null,
    data: event.data,
  }));
}

/** Rows of a statement (TypeORM returns UPDATE … RETURNING as [rows, count] otherwise). */
async function records<T>(qr: QueryRunner, sql: string, params: unknown[]): Promise<T[]> {
  return ((await qr.query(sql, params, true)) as { records: T[] }).records;
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

/** PostgreSQL refused a second event with one (stream_id, version). */
function isVersionConflict(err: unknown): boolean {
  if (errorCode(err) !== '23505') return false;
  const e = err as { constraint?: unknown; driverError?: { constraint?: unknown } };
  return (e.constraint ?? e.driverError?.constraint) === 'ux_events_stream_version';
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

/** Key of the session-level advisory lock that serializes migrations of one PostgreSQL database. */
const MIGRATION_LOCK = 7_246_541_310_115;

/**
 * Several processes may start on one new database at once: each takes the advisory lock, the
 * first migrates, the others then find nothing pending. The lock and the migration share one
 * connection; a process that dies holding it releases it with its session.
 */
async function migrateUnderLock(ds: DataSource): Promise<void> {
  const qr = ds.createQueryRunner();
  try {
    await qr.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    try {
      const executor = new MigrationExecutor(ds, qr);
      executor.transaction = 'all';
      await executor.executePendingMigrations();
    } finally {
      await qr.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => undefined);
    }
  } finally {
    await qr.release();
  }
}
