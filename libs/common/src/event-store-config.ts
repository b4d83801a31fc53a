import { eventStoreOptions, type EventStoreOptions } from '@executor/event-store';
import { BaseConfig, loadConfig } from './config';

/** eventStoreOptions of the validated environment (for scripts); a bad value is a ConfigError. */
export function eventStoreOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): EventStoreOptions {
  return eventStoreOptions(loadConfig(BaseConfig, env));
}
