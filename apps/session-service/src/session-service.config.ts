import { IntRange, SessionLimitConfig } from '@executor/common';

/** MAX_SESSIONS, the limit of live sessions, is in SessionLimitConfig (the metrics app shows it). */
export class SessionServiceConfig extends SessionLimitConfig {
  /** Seconds allowed beyond an execution's own timeout for starting and removing its sandbox. */
  @IntRange(5, 600)
  EXECUTION_OVERHEAD_S = 30;

  /** Idle seconds before a session expires when the caller gives no ttl. */
  @IntRange(1, 86400)
  SESSION_DEFAULT_TTL_S = 300;

  /** The longest idle ttl a caller may ask for. */
  @IntRange(1, 86400)
  SESSION_MAX_TTL_S = 3600;

  @IntRange(1, 100000)
  MAX_SESSIONS_PER_TENANT = 100;

  /** How often idle sessions are looked for and expired. */
  @IntRange(100, 60000)
  SESSION_SWEEP_INTERVAL_MS = 1000;

  /** Heartbeat intervals of silence after which a runner is taken for gone. */
  @IntRange(2, 100)
  RUNNER_MISSED_HEARTBEATS = 5;

  /** How often runners' liveness and unfinished executions are checked, in milliseconds. */
  @IntRange(100, 60000)
  RUNNER_WATCH_INTERVAL_MS = 1000;

  /** Seconds between reconciles of sessions with the sandboxes the runner holds. */
  @IntRange(1, 3600)
  SESSION_RECONCILE_INTERVAL_S = 30;
}
