import { IsString } from 'class-validator';
import { IntRange, SessionLimitConfig } from '@executor/common';

/** MAX_SESSIONS (SessionLimitConfig) is the session-service's, shown as `max_sessions`. */
export class MetricsConfig extends SessionLimitConfig {
  /** Where the projection keeps its state and checkpoint (its own file: the read side). */
  @IsString()
  METRICS_STORE_PATH = '.executor/metrics.sqlite';

  /** Milliseconds between catch-ups from the store (events NATS dropped are found then). */
  @IntRange(100, 60000)
  CATCH_UP_INTERVAL_MS = 2000;
}
