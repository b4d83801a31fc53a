import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
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
import { DEFAULT_BUSY_TIMEOUT_MS, type SqliteStoreOptions } from '../options';
import { MIGRATIONS_TABLE, pending } from '../schema';

/** Prepared statements of queries, by their SQL: a handful of filter shapes in practice. */
const MAX_CACHED_QUERIES = 256;

/**
 * SQLite through better-sqlite3, in WAL mode, shared by the processes of one host. Every write
 * (an append, the migrations) is one `BEGIN IMMEDIATE` transaction: it takes the file's one write
 * lock first, waiting up to the busy timeout, so positions (AUTOINCREMENT values assigned under
 * it) are gap-free and become visible in commit order, and a stream's version read in it is the
 * one the insert builds on.
 */
export class SqliteDialect implements Dialect {
  private readonly queries = new Map<string, Database.Statement>();
  private readonly version: Database.Statement<[string], { v: number }>;
  private readonly insert: Database.Statement<unknown[]>;

  private constructor(private readonly db: Database.Database) {
    this.version = db.prepare('SELECT COALESCE(MAX(version), 0) AS v FROM events WHERE stream_id = ?');
    // The position is left to AUTOINCREMENT (NULL), so only the other columns are bound.
    this.insert = db.prepare(
      `INSERT INTO events (${EVENT_COLUMNS}) VALUES (${EVENT_COLUMNS.split(',')
        .map(() => '?')
        .join(', ')})`,
    );
  }

  static open(options: SqliteStoreOptions): SqliteDialect {
    let db: Database.Database | undefined;
    try {
      if (options.path !== ':memory:') mkdirSync(dirname(options.path), { recursive: true });
      db = new Database(options.path);
      db.pragma(
        `busy_timeout = ${Math.max(0, Math.floor(options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS))}`,
      );
      db.pragma('journal_mode = WAL');
      db.pragma(`synchronous = ${options.synchronous === 'FULL' ? 'FULL' : 'NORMAL'}`);
      migrate(db);
      return new SqliteDialect(db);
    } catch (err) {
      db?.close();
      throw openError(options.path, err);
    }
  }

  append(request: AppendRequest): Promise<EventEnvelope[]> {
    const { streamId, expected } = request;
    const tx = this.db.transaction((): EventEnvelope[] => {
      const actual = this.version.get(streamId)?.v ?? 0;
      if (expected !== 'any' && actual !== expected) throw new ConcurrencyError(streamId, expected, actual);
      return envelopes(request, actual, 0).map((envelope) => {
        const values = rowValues(envelope);
        values[0] = null;
        envelope.position = Number(this.insert.run(...values).lastInsertRowid);
        return envelope;
      });
    });
    try {
      return Promise.resolve(tx.immediate());
    } catch (err) {
      if (err instanceof ConcurrencyError) return Promise.reject(err);
      if (errorCode(err)?.startsWith('SQLITE_CONSTRAINT') && expected !== 'any') {
        const actual = this.version.get(streamId)?.v ?? 0;
        return Promise.reject(new ConcurrencyError(streamId, expected, actual));
      }
      return Promise.reject(storeError(err));
    }
  }

  readStream(streamId: string, fromVersion: number): Promise<EventEnvelope[]> {
    return this.all(
      `SELECT ${EVENT_COLUMNS} FROM events WHERE stream_id = ? AND version >= ? ORDER BY version ASC`,
      [streamId, fromVersion],
    );
  }

  query(q: EventQuery, limit: number): Promise<EventEnvelope[]> {
    const { sql, params } = selectEvents(q, limit, () => '?');
    return this.all(sql, params);
  }

  headPosition(): Promise<number> {
    return this.run(() => {
      const row = this.statement('SELECT COALESCE(MAX(position), 0) AS head FROM events').get() as {
        head: number;
      };
      return Number(row.head);
    });
  }

  /** Takes and drops the write lock: a full disk, a read-only file or a held lock fail it. */
  ping(): Promise<void> {
    return this.run(() => {
      this.statement('SELECT 1').get();
      this.db.transaction(() => undefined).immediate();
    });
  }

  close(): Promise<void> {
    if (this.db.open) this.db.close();
    return Promise.resolve();
  }

  private all(sql: string, params: unknown[]): Promise<EventEnvelope[]> {
    return this.run(() => (this.statement(sql).all(...params) as EventRow[]).map(toEnvelope));
  }

  private run<T>(read: () => T): Promise<T> {
    try {
      return Promise.resolve(read());
    } catch (err) {
      return Promise.reject(storeError(err));
    }
  }

  private statement(sql: string): Database.Statement {
    let statement = this.queries.get(sql);
    if (!statement) {
      if (this.queries.size >= MAX_CACHED_QUERIES) this.queries.clear();
      statement = this.db.prepare(sql);
      this.queries.set(sql, statement);
    }
    return statement;
  }
}

/** A file that cannot be opened says which and why (SQLite's own words), and is unavailable, not a bug. */
function openError(path: string, err: unknown): Error {
  const e = storeError(err);
  if (!(e instanceof EventStoreUnavailableError)) return e;
  const why = err instanceof Error ? `: ${err.message}` : '';
  return new EventStoreUnavailableError(
    e.driverCode,
    `the event store ${path} cannot be opened now (${e.driverCode}${why})`,
  );
}

/** The names of the migrations applied (none when the table is not there yet); reads only. */
function appliedMigrations(db: Database.Database): string[] {
  const present = db
    .prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'migrations'`)
    .get();
  if (!present) return [];
  return (db.prepare('SELECT name FROM migrations').all() as Array<{ name: string }>).map((m) => m.name);
}

/**
 * Applies the pending migrations in one `BEGIN IMMEDIATE` transaction: processes starting on one
 * new file at once take turns on its write lock, and the later ones find nothing pending. A
 * store with nothing pending is only read.
 */
function migrate(db: Database.Database): void {
  if (pending(appliedMigrations(db)).length === 0) return;
  db.transaction(() => {
    db.exec(MIGRATIONS_TABLE.sqlite);
    const record = db.prepare('INSERT INTO migrations (timestamp, name) VALUES (?, ?)');
    for (const migration of pending(appliedMigrations(db))) {
      for (const statement of migration.sqlite) db.exec(statement);
      record.run(migration.timestamp, migration.name);
    }
  }).immediate();
}
