import { IsInt, Max, Min } from 'class-validator';
import { BaseConfig } from '@executor/common';

export class SessionServiceConfig extends BaseConfig {
  /** Seconds allowed beyond an execution's own timeout for starting and removing its sandbox. */
  @IsInt()
  @Min(5)
  @Max(600)
  EXECUTION_OVERHEAD_S = 30;

  /** Idle seconds before a session expires when the caller gives no ttl. */
  @IsInt()
  @Min(1)
  @Max(86400)
  SESSION_DEFAULT_TTL_S = 300;

  /** The longest idle ttl a caller may ask for. */
  @IsInt()
  @Min(1)
  @Max(86400)
  SESSION_MAX_TTL_S = 3600;

  @IsInt()
  @Min(1)
  @Max(100000)
  MAX_SESSIONS = 200;

  @IsInt()
  @Min(1)
  @Max(100000)
  MAX_SESSIONS_PER_TENANT = 100;

  /** How often idle sessions are looked for and expired. */
  @IsInt()
  @Min(100)
  @Max(60000)
  SESSION_SWEEP_INTERVAL_MS = 1000;

  /** Heartbeat intervals of silence after which a runner is taken for gone. */
  @IsInt()
  @Min(2)
  @Max(100)
  RUNNER_MISSED_HEARTBEATS = 5;

  /** How often runners' liveness and unfinished executions are checked, in milliseconds. */
  @IsInt()
  @Min(100)
  @Max(60000)
  RUNNER_WATCH_INTERVAL_MS = 1000;

  /** Seconds between reconciles of sessions with the sandboxes the runner holds. */
  @IsInt()
  @Min(1)
  @Max(3600)
  SESSION_RECONCILE_INTERVAL_S = 30;
}
