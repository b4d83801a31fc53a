import { ConfigError } from '../../libs/common/src/config';
import {
  isPostgresOptions,
  type EventStoreOptions,
  type SqliteStoreOptions,
} from '../../libs/event-store/src/options';
import { eventStoreOptionsFromEnv } from '../../libs/common/src/event-store-config';

/**
 * The SQLite store the environment names, for the file-level tools (backup, restore). With
 * EVENT_STORE_URL set the store is in PostgreSQL, whose own tools do this: exit 2 saying so.
 */
export function sqliteStoreFromEnv(tool: 'pg_dump' | 'pg_restore'): SqliteStoreOptions {
  let options: EventStoreOptions;
  try {
    options = eventStoreOptionsFromEnv();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    console.error(err.message);
    process.exit(2);
  }
  if (isPostgresOptions(options)) {
    console.error(
      `the event store is in PostgreSQL (EVENT_STORE_URL): use ${tool} for it, see "PostgreSQL" in docs/events.md`,
    );
    process.exit(2);
  }
  return options;
}
