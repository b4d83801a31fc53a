import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Options } from 'pino-http';
import type { Principal } from '../auth/api-keys';

type LoggedRequest = IncomingMessage & {
  requestId?: string;
  principal?: Principal;
  body?: unknown;
  path?: string;
};

function ids(req: LoggedRequest) {
  return { request_id: req.requestId, correlation_id: req.requestId };
}

/** Probes and scrapes come every few seconds: their answers are logged at debug. */
const PROBES = /^\/(health|livez|readyz|metrics(\/prometheus)?)\/?$/;

/** The path without its query (whose values may be file paths or ids), at most 200 characters. */
function pathOf(req: { url?: string }): string {
  return (req.url ?? '').split('?')[0].slice(0, 200);
}

function tenantOf(req: LoggedRequest): string | undefined {
  const body = req.body as { tenant_id?: unknown } | undefined;
  return req.principal?.tenant ?? (typeof body?.tenant_id === 'string' ? body.tenant_id : undefined);
}

/**
 * pino-http's options for the api: one line per request with its id, tenant, method, path,
 * status and duration. Never a body, a query's values or a header: no code, files, outputs or
 * keys in logs.
 */
export function requestLogOptions(): Options<LoggedRequest, ServerResponse> {
  return {
    genReqId: (req) => req.requestId ?? '',
    // Lines written while serving carry `req` ({method, path}) and, from the request context
    // (pino's mixin), the request's ids.
    serializers: {
      req: (req: { method?: string; url?: string }) => ({ method: req.method, path: pathOf(req) }),
      res: (res: { statusCode?: number }) => ({ status: res.statusCode }),
    },
    customAttributeKeys: { responseTime: 'duration_ms' },
    customLogLevel: (req, res, err) =>
      err || res.statusCode >= 500
        ? 'error'
        : res.statusCode >= 400
          ? 'warn'
          : PROBES.test(pathOf(req))
            ? 'debug'
            : 'info',
    customSuccessMessage: (req, res) => `${req.method} ${pathOf(req)} ${res.statusCode}`,
    customErrorMessage: (req, res) => `${req.method} ${pathOf(req)} ${res.statusCode}`,
    // The line is written when the response has finished, outside the request context: its ids are added here.
    customSuccessObject: (req, _res, value: object) => ({ ...value, ...ids(req), tenant: tenantOf(req) }),
    customErrorObject: (req, _res, _err, value: object) => ({ ...value, ...ids(req), tenant: tenantOf(req) }),
  };
}
