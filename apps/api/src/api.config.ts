import { IsString, Matches } from 'class-validator';
import { IntRange, TimeoutCapConfig } from '@executor/common';

/** MAX_TIMEOUT_S, the longest timeout a request may ask for, is in TimeoutCapConfig. */
export class ApiConfig extends TimeoutCapConfig {
  @IsString()
  API_HOST = '127.0.0.1';

  @IntRange(0, 65535)
  API_PORT = 8080;

  /** Largest accepted request body (body-parser syntax). Files travel base64 inside it. */
  @IsString()
  @Matches(/^\d+(b|kb|mb)$/i)
  BODY_LIMIT = '24mb';

  /** Seconds allowed beyond an execution's timeout for the whole round trip. */
  @IntRange(5, 600)
  EXECUTION_OVERHEAD_S = 60;

  /** A JSON file of hashed API keys (`npm run keys:create` writes it). Empty: no keys from a file. */
  @IsString()
  API_KEYS_FILE = '';

  /** API keys as `tenant:role:key,…`; hashed when read, never logged. */
  @IsString()
  EXECUTOR_API_KEYS = '';

  /** Default per-tenant limits; a key may carry its own. */
  @IntRange(1, 1000000)
  RATE_LIMIT_PER_MINUTE = 600;

  /** Seconds of the rate limit's window. */
  @IntRange(1, 3600)
  RATE_LIMIT_WINDOW_S = 60;

  @IntRange(1, 10000)
  MAX_CONCURRENT_EXECUTIONS = 16;

  /**
   * A bearer token that may read /metrics and /metrics/prometheus only, with the per-tenant
   * series (as an admin key may). Empty: none. Never logged.
   */
  @IsString()
  @Matches(/^(|[A-Za-z0-9_.~+/=-]{32,200})$/, {
    message: 'METRICS_SCRAPE_TOKEN must be empty or 32 to 200 token characters',
  })
  METRICS_SCRAPE_TOKEN = '';

  /** Origins allowed by CORS, comma-separated; empty: CORS off. */
  @IsString()
  CORS_ORIGINS = '';

  /**
   * Seconds an MCP session over HTTP may go without a request open (a connected client holds
   * its event stream open) before it is closed, and the sandboxes made with it destroyed.
   */
  @IntRange(5, 86400)
  MCP_SESSION_IDLE_S = 1800;

  /** Milliseconds between the heartbeats (SSE comments) of GET /events/stream. */
  @IntRange(200, 300000)
  EVENT_STREAM_HEARTBEAT_MS = 15000;
}
