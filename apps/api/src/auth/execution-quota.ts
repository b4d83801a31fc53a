import { CallHandler, ExecutionContext, Inject, Injectable, NestInterceptor } from '@nestjs/common';
import type { Response } from 'express';
import { finalize, type Observable } from 'rxjs';
import { ErrorCodes } from '@executor/contracts';
import { ApiConfig } from '../api.config';
import type { AuthedRequest } from './auth.guard';
import { apiError } from '../http/api-error';

interface Window {
  start: number;
  count: number;
}

/** The longest timeout a request's tenant may have: its key's max_timeout_s, else MAX_TIMEOUT_S. */
export function timeoutCapS(req: AuthedRequest, config: ApiConfig): number {
  return req.principal?.limits.max_timeout_s ?? config.MAX_TIMEOUT_S;
}

/**
 * Each tenant's runs: in the current rate window and in flight. One per process, shared by
 * every ExecutionQuota: Nest makes an interceptor named in @UseInterceptors once per module
 * (the api's routes and E2B's live in two), and a tenant's limits hold across all its routes.
 */
@Injectable()
export class ExecutionCounters {
  readonly windows = new Map<string, Window>();
  readonly running = new Map<string, number>();
}

/**
 * Per-tenant limits on runs: executions per minute (with RateLimit-* headers), executions at
 * once, and the longest timeout a request may ask for. Over a limit is a 429 naming it, with
 * Retry-After; never a hang. Counters live in this process: each API instance counts alone.
 */
@Injectable()
export class ExecutionQuota implements NestInterceptor {
  private readonly windows: Map<string, Window>;
  private readonly running: Map<string, number>;

  constructor(
    @Inject(ApiConfig) private readonly config: ApiConfig,
    counters: ExecutionCounters,
  ) {
    this.windows = counters.windows;
    this.running = counters.running;
  }

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const req = context.switchToHttp().getRequest<AuthedRequest>();
    const res = context.switchToHttp().getResponse<Response>();
    const body = (req.body ?? {}) as { tenant_id?: unknown; timeout?: unknown };
    const tenant =
      req.principal?.tenant ?? (typeof body.tenant_id === 'string' ? body.tenant_id : 'anonymous');
    const limits = {
      perMinute: req.principal?.limits.executions_per_minute ?? this.config.RATE_LIMIT_PER_MINUTE,
      concurrent: req.principal?.limits.concurrent_executions ?? this.config.MAX_CONCURRENT_EXECUTIONS,
      maxTimeout: timeoutCapS(req, this.config),
    };
    if (typeof body.timeout === 'number' && body.timeout > limits.maxTimeout) {
      throw apiError(
        ErrorCodes.QuotaExceeded,
        `timeout: tenant ${tenant} may ask for at most ${limits.maxTimeout} s`,
      );
    }

    const windowMs = this.config.RATE_LIMIT_WINDOW_S * 1000;
    const now = Date.now();
    let window = this.windows.get(tenant);
    if (!window || now - window.start >= windowMs) {
      window = { start: now, count: 0 };
      this.windows.set(tenant, window);
      this.forgetOldWindows(now, windowMs);
    }
    const reset = Math.max(1, Math.ceil((window.start + windowMs - now) / 1000));
    res.setHeader('RateLimit-Limit', String(limits.perMinute));
    res.setHeader('RateLimit-Reset', String(reset));
    if (window.count >= limits.perMinute) {
      res.setHeader('RateLimit-Remaining', '0');
      throw apiError(
        ErrorCodes.RateLimited,
        `rate limit: tenant ${tenant} may run ${limits.perMinute} executions per ${this.config.RATE_LIMIT_WINDOW_S} s`,
        reset,
      );
    }
    const inFlight = this.running.get(tenant) ?? 0;
    if (inFlight >= limits.concurrent) {
      throw apiError(
        ErrorCodes.ConcurrencyLimit,
        `concurrency limit: tenant ${tenant} may run ${limits.concurrent} executions at once`,
        1,
      );
    }
    window.count++;
    res.setHeader('RateLimit-Remaining', String(limits.perMinute - window.count));
    this.running.set(tenant, inFlight + 1);
    return next.handle().pipe(
      finalize(() => {
        const n = (this.running.get(tenant) ?? 1) - 1;
        if (n <= 0) this.running.delete(tenant);
        else this.running.set(tenant, n);
      }),
    );
  }

  private forgetOldWindows(now: number, windowMs: number): void {
    if (this.windows.size < 10000) return;
    for (const [t, w] of this.windows) if (now - w.start >= windowMs) this.windows.delete(t);
  }
}
