import type { NextFunction, Request, Response } from 'express';
import { Histogram, type Registry } from 'prom-client';

/** Bounds of the request-duration histogram, in seconds: from a health check to a long run. */
const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];

/**
 * `executor_http_request_duration_seconds{method, route, status}` for every request. `route`
 * is the route's pattern (`/session/:id`), never the raw path, so the series stay few;
 * requests no route matched are `route="unmatched"`.
 */
export function httpMetrics(registry: Registry) {
  const histogram = new Histogram({
    name: 'executor_http_request_duration_seconds',
    help: 'Duration of HTTP requests to the API, by method, route pattern and status.',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: BUCKETS,
    registers: [registry],
  });
  return (req: Request, res: Response, next: NextFunction): void => {
    const end = histogram.startTimer();
    res.on('finish', () => {
      const route = (req.route as { path?: unknown } | undefined)?.path;
      end({
        method: req.method,
        route: typeof route === 'string' ? route : 'unmatched',
        status: String(res.statusCode),
      });
    });
    next();
  };
}
