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

export const DEFAULT_BUSY_TIMEOUT_MS = 10000;

export function isPostgresOptions(options: EventStoreOptions): options is PostgresStoreOptions {
  return 'url' in options;
}

/** The settings that choose a store (validated by the app's configuration, see BaseConfig). */
export interface EventStoreSettings {
  EVENT_STORE_URL: string;
  EVENT_STORE_PATH: string;
  EVENT_STORE_SYNCHRONOUS: 'NORMAL' | 'FULL';
}

/**
 * The one place the store is chosen: a PostgreSQL URL (EVENT_STORE_URL) wins over the SQLite
 * file (EVENT_STORE_PATH). Every app and script opens the store through this.
 */
export function eventStoreOptions(config: EventStoreSettings): EventStoreOptions {
  return config.EVENT_STORE_URL
    ? { url: config.EVENT_STORE_URL }
    : { path: config.EVENT_STORE_PATH, synchronous: config.EVENT_STORE_SYNCHRONOUS };
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
