import { ErrorCodes } from '@executor/contracts';

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

/** The driver's own code of an error (better-sqlite3's `SQLITE_…`, a SQLSTATE, a socket error). */
export function errorCode(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const e = err as { code?: unknown; errors?: Array<{ code?: unknown }> };
  // Node reports a failed connection to every address of a host as one AggregateError.
  for (const code of [e.code, e.errors?.[0]?.code]) {
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
