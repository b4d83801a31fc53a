import 'reflect-metadata';
import { plainToInstance } from 'class-transformer';
import {
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  Matches,
  Max,
  Min,
  ValidateIf,
  validateSync,
} from 'class-validator';
import { applyDecorators } from '@nestjs/common';
import { rpcTimeouts, type RpcTimeouts } from './rpc-timeouts';

/** A whole-number setting between `min` and `max`, both included (IsInt, Min and Max in one). */
export const IntRange = (min: number, max: number): PropertyDecorator =>
  applyDecorators(IsInt(), Min(min), Max(max));

/** Settings every service shares. Each app extends this with its own. */
export class BaseConfig {
  @IsString()
  NATS_URL = 'nats://127.0.0.1:4222';

  /** The SQLite file of the event store (the embedded default). */
  @IsString()
  EVENT_STORE_PATH = '.executor/events.sqlite';

  /**
   * A postgres:// or postgresql:// URL puts the event store in PostgreSQL and wins over
   * EVENT_STORE_PATH; empty keeps SQLite. It may carry a password: never log it.
   */
  @IsString()
  @ValidateIf((c: BaseConfig) => c.EVENT_STORE_URL !== '')
  @Matches(/^postgres(ql)?:\/\/./i, {
    message:
      'EVENT_STORE_URL must be a postgres:// or postgresql:// URL (or empty for SQLite at EVENT_STORE_PATH)',
  })
  EVENT_STORE_URL = '';

  @IsIn(['NORMAL', 'FULL'])
  EVENT_STORE_SYNCHRONOUS: 'NORMAL' | 'FULL' = 'NORMAL';

  @IsOptional()
  @IsIn(['log', 'warn', 'error', 'debug', 'verbose'])
  LOG_LEVEL: 'log' | 'warn' | 'error' | 'debug' | 'verbose' = 'log';

  /** Timeout of internal requests that are not executions, in milliseconds. */
  @IntRange(100, 120000)
  RPC_TIMEOUT_MS = 5000;

  /** On SIGTERM, seconds the requests in flight get to finish before the process stops. */
  @IntRange(0, 600)
  DRAIN_TIMEOUT_S = 30;

  /** The budget of every internal call, from RPC_TIMEOUT_MS (see rpc-timeouts.ts). */
  get rpcTimeouts(): RpcTimeouts {
    return rpcTimeouts(this.RPC_TIMEOUT_MS);
  }
}

/**
 * The session limit, one setting of two services: the session-service enforces it, the metrics
 * app shows it as `max_sessions`.
 */
export class SessionLimitConfig extends BaseConfig {
  @IntRange(1, 100000)
  MAX_SESSIONS = 200;
}

/**
 * The longest timeout in seconds, one setting of two services: the api caps each request's
 * timeout with it (a key may carry a lower one), the template-service each template's.
 */
export class TimeoutCapConfig extends BaseConfig {
  @IntRange(1, 3600)
  MAX_TIMEOUT_S = 300;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/**
 * Reads the environment into a validated config object; a bad value stops the process
 * at start with every problem named.
 */
export function loadConfig<T extends object>(cls: new () => T, env: NodeJS.ProcessEnv = process.env): T {
  const defaults = new cls() as Record<string, unknown>;
  const raw: Record<string, unknown> = {};
  for (const [key, fallback] of Object.entries(defaults)) {
    const value = env[key];
    if (value === undefined || value === '') continue;
    // Convert by the type of the default; a bad number stays NaN and fails validation.
    raw[key] =
      typeof fallback === 'number'
        ? /^-?\d+(\.\d+)?$/.test(value)
          ? Number(value)
          : NaN
        : fallback === true || fallback === false
          ? value === 'true'
          : value;
  }
  const config = plainToInstance(cls, { ...defaults, ...raw });
  const errors = validateSync(config, { forbidUnknownValues: false });
  if (errors.length > 0) {
    const problems = errors.map((e) => `${e.property}: ${Object.values(e.constraints ?? {}).join(', ')}`);
    throw new ConfigError(`invalid configuration: ${problems.join('; ')}`);
  }
  return config;
}
