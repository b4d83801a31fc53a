import { BaseConfig, loadConfig } from '@executor/common';
import type { EventStoreOptions } from './event-store';

export type EventStoreSettings = Pick<
  BaseConfig,
  'EVENT_STORE_URL' | 'EVENT_STORE_PATH' | 'EVENT_STORE_SYNCHRONOUS'
>;

/**
 * The one place the store is chosen: a PostgreSQL URL (EVENT_STORE_URL) wins over the SQLite
 * file (EVENT_STORE_PATH). Every app and script opens the store through this.
 */
export function eventStoreOptions(config: EventStoreSettings): EventStoreOptions {
  return config.EVENT_STORE_URL
    ? { url: config.EVENT_STORE_URL }
    : { path: config.EVENT_STORE_PATH, synchronous: config.EVENT_STORE_SYNCHRONOUS };
}

/** eventStoreOptions of the validated environment (for scripts); a bad value is a ConfigError. */
export function eventStoreOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): EventStoreOptions {
  return eventStoreOptions(loadConfig(BaseConfig, env));
}
