import { Pool, type PoolClient } from 'pg';
import type { EventEnvelope } from '@executor/contracts';
import {
  envelopes,
  rowValues,
  selectEvents,
  toEnvelope,
  EVENT_COLUMNS,
  type AppendRequest,
  type Dialect,
  type EventQuery,
  type EventRow,
} from '../dialect';
import { ConcurrencyError, errorCode, EventStoreUnavailableError, storeError } from '../errors';
import { DEFAULT_BUSY_TIMEOUT_MS, type PostgresStoreOptions } from '../options';
import { MIGRATIONS_TABLE, pending } from '../schema';

/** Key of the session-level advisory lock that serializes migrations of one PostgreSQL database. */
const MIGRATION_LOCK = 7_246_541_310_115;
const COLUMNS = EVENT_COLUMNS.split(',').length;

/**
 * PostgreSQL through a node-postgres pool. An append is one READ COMMITTED transaction that
 * first runs `UPDATE event_head SET head = head + n RETURNING head`. That row lock serializes
 * appenders (the next one waits until this one commits or rolls back), the positions
 * head-n+1..head are assigned under it, so they commit in order, and a rollback gives the
 * numbers back. The stream's version is read by the next statement, whose snapshot is taken
 * after the lock was granted and so sees every earlier append (a CTE with the UPDATE would not:
 * one statement, one snapshot). The unique (stream_id, version) index is the backstop.
 */
export class PostgresDialect implements Dialect {
  private constructor(
    private readonly pool: Pool,
    private readonly lockTimeoutMs: number,
  ) {}

  static async open(options: PostgresStoreOptions): Promise<PostgresDialect> {
    if (!/^postgres(ql)?:\/\//i.test(options.url)) {
      throw new Error('the event store URL must start with postgres:// or postgresql://');
    }
    const pool = new Pool({
      connectionString: options.url,
      max: options.poolSize ?? 5,
      connectionTimeoutMillis: options.connectTimeoutMs ?? 5000,
      application_name: 'executor-event-store',
    });
    // An idle connection the server dropped leaves the pool; the next query opens a new one
    // or reports the server unavailable. Nothing to do here (and nothing unhandled).
    pool.on('error', () => undefined);
    const dialect = new PostgresDialect(pool, options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS);
    try {
      await dialect.withClient(migrate);
    } catch (err) {
      await pool.end().catch(() => undefined);
      throw storeError(err);
    }
    return dialect;
  }

  async append(request: AppendRequest): Promise<EventEnvelope[]> {
    const { streamId, expected, events } = request;
    try {
      return await this.withClient(async (client) => {
        let stored: EventEnvelope[];
        try {
          await client.query('BEGIN ISOLATION LEVEL READ COMMITTED');
          // Give up on the append lock like SQLite's busy timeout does (55P03 → unavailable).
          await client.query(`SET LOCAL lock_timeout = ${Math.max(1, Math.floor(this.lockTimeoutMs))}`);
          const locked = await client.query<{ head: string }>(
            'UPDATE event_head SET head = head + $1 RETURNING head',
            [events.length],
          );
          if (locked.rows.length !== 1) throw new Error('event_head has lost its row: the store is damaged');
          const head = Number(locked.rows[0].head);
          const actual = await streamVersion(client, streamId);
          if (expected !== 'any' && actual !== expected)
            throw new ConcurrencyError(streamId, expected, actual);
          stored = envelopes(request, actual, head - events.length);
          const params = stored.flatMap(rowValues);
          const rows = stored.map(
            (_, r) => `(${Array.from({ length: COLUMNS }, (_, c) => `$${r * COLUMNS + c + 1}`).join(', ')})`,
          );
          await client.query(`INSERT INTO events (${EVENT_COLUMNS}) VALUES ${rows.join(', ')}`, params);
        } catch (err) {
          await client.query('ROLLBACK').catch(() => undefined);
          throw err;
        }
        try {
          await client.query('COMMIT');
        } catch (err) {
          throw lostCommit(err);
        }
        return stored;
      });
    } catch (err) {
      if (err instanceof ConcurrencyError) throw err;
      if (isVersionConflict(err) && expected !== 'any') {
        throw new ConcurrencyError(
          streamId,
          expected,
          await this.withClient((c) => streamVersion(c, streamId)),
        );
      }
      throw storeError(err);
    }
  }

  readStream(streamId: string, fromVersion: number): Promise<EventEnvelope[]> {
    return this.all(
      `SELECT ${EVENT_COLUMNS} FROM events WHERE stream_id = $1 AND version >= $2 ORDER BY version ASC`,
      [streamId, fromVersion],
    );
  }

  query(q: EventQuery, limit: number): Promise<EventEnvelope[]> {
    const { sql, params } = selectEvents(q, limit, (n) => `$${n}`);
    return this.all(sql, params);
  }

  async headPosition(): Promise<number> {
    const [row] = await this.rows<{ head: string }>('SELECT COALESCE(MAX(position), 0) AS head FROM events');
    return Number(row.head);
  }

  /** Answers, and is neither a standby nor read-only: without writing or waiting for the append lock. */
  async ping(): Promise<void> {
    const [row] = await this.rows<{ recovery: boolean; read_only: string }>(
      `SELECT pg_is_in_recovery() AS recovery, current_setting('transaction_read_only') AS read_only`,
    );
    if (row.recovery || row.read_only === 'on') {
      throw new EventStoreUnavailableError(
        '25006',
        'the event store is read-only now (25006); try again later',
      );
    }
  }

  close(): Promise<void> {
    return this.pool.ended ? Promise.resolve() : this.pool.end();
  }

  private async all(sql: string, params: unknown[]): Promise<EventEnvelope[]> {
    return (await this.rows<EventRow>(sql, params)).map(toEnvelope);
  }

  private async rows<T extends object>(sql: string, params: unknown[] = []): Promise<T[]> {
    try {
      return (await this.pool.query<T>(sql, params)).rows;
    } catch (err) {
      throw storeError(err);
    }
  }

  /**
   * Runs `work` on one connection of the pool. A connection that broke meanwhile (its backend
   * was killed, the server went away) is destroyed on release instead of being reused; its
   * error events are caught while it is held (an unheld one is the pool's to handle).
   */
  private async withClient<T>(work: (client: PoolClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    let broken: Error | undefined;
    const onError = (err: Error) => (broken = err);
    client.on('error', onError);
    try {
      return await work(client);
    } catch (err) {
      if (storeError(err) instanceof EventStoreUnavailableError) broken ??= storeError(err);
      throw err;
    } finally {
      client.off('error', onError);
      client.release(broken);
    }
  }
}

async function streamVersion(client: PoolClient, streamId: string): Promise<number> {
  const { rows } = await client.query<{ v: number }>(
    'SELECT COALESCE(MAX(version), 0) AS v FROM events WHERE stream_id = $1',
    [streamId],
  );
  return Number(rows[0].v);
}

/**
 * The COMMIT was sent; whether it was applied is unknown. With an expected version, appending
 * again is safe: a stored first attempt makes it a ConcurrencyError.
 */
function lostCommit(err: unknown): Error {
  const e = storeError(err);
  return e instanceof EventStoreUnavailableError
    ? new EventStoreUnavailableError(
        e.driverCode,
        `the event store was lost while committing (${e.driverCode}); the events may have been stored, read the stream before appending again`,
      )
    : e;
}

/** PostgreSQL refused a second event with one (stream_id, version). */
function isVersionConflict(err: unknown): boolean {
  return (
    errorCode(err) === '23505' && (err as { constraint?: unknown }).constraint === 'ux_events_stream_version'
  );
}

/** The names of the migrations applied (none when the table is not there yet); reads only. */
async function appliedMigrations(client: PoolClient): Promise<string[]> {
  const { rows } = await client.query<{ present: boolean }>(
    `SELECT to_regclass('migrations') IS NOT NULL AS present`,
  );
  if (!rows[0].present) return [];
  return (await client.query<{ name: string }>('SELECT name FROM migrations')).rows.map((m) => m.name);
}

/**
 * Several processes may start on one new database at once: each takes the advisory lock, the
 * first migrates (in one transaction), the others then find nothing pending. The lock and the
 * migration share one connection; a process that dies holding it releases it with its session.
 * A store with nothing pending is only read (it may be a read-only database or a standby).
 */
async function migrate(client: PoolClient): Promise<void> {
  if (pending(await appliedMigrations(client)).length === 0) return;
  await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
  try {
    await client.query('BEGIN');
    try {
      await client.query(MIGRATIONS_TABLE.postgres);
      for (const migration of pending(await appliedMigrations(client))) {
        for (const statement of migration.postgres) await client.query(statement);
        await client.query('INSERT INTO migrations (timestamp, name) VALUES ($1, $2)', [
          migration.timestamp,
          migration.name,
        ]);
      }
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    }
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => undefined);
  }
}
