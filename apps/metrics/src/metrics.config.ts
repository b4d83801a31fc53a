import { IsString } from 'class-validator';
import { BaseConfig, IntRange } from '@executor/common';

export class MetricsConfig extends BaseConfig {
  /** Where the projection keeps its state and checkpoint (its own file: the read side). */
  @IsString()
  METRICS_STORE_PATH = '.executor/metrics.sqlite';

  /** The session limit the session-service enforces, shown as `max_sessions`. */
  @IntRange(1, 100000)
  MAX_SESSIONS = 200;

  /** Milliseconds between catch-ups from the store (events NATS dropped are found then). */
  @IntRange(100, 60000)
  CATCH_UP_INTERVAL_MS = 2000;
}
