import type { NextFunction, Request, Response } from 'express';
import { json } from 'express';
import { randomUUID } from 'node:crypto';
import { ErrorCodes } from '@executor/contracts';
import { REQUEST_ID_PATTERN, runInRequest } from '@executor/common';
import { errorBody } from './http-error.filter';

/** No request of ours nests deeper; deeper bodies would only exhaust the validators' stacks. */
export const MAX_JSON_DEPTH = 32;

/** Whether a parsed JSON value nests deeper than `max`, found without recursion. */
export function depthExceeds(value: unknown, max: number): boolean {
  const stack: Array<[unknown, number]> = [[value, 1]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!;
    if (node === null || typeof node !== 'object') continue;
    if (depth > max) return true;
    for (const child of Object.values(node)) stack.push([child, depth + 1]);
  }
  return false;
}

/** Drops `__proto__` and `constructor` keys, as Nest's ValidationPipe does before transforming. */
export function stripProtoKeys(value: unknown): void {
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const node = stack.pop();
    if (node === null || typeof node !== 'object') continue;
    const o = node as Record<string, unknown>;
    Reflect.deleteProperty(o, '__proto__');
    Reflect.deleteProperty(o, 'constructor');
    stack.push(...Object.values(o));
  }
}

/**
 * Accepts a sane X-Request-ID or makes one; it is echoed, becomes the correlation id, and the
 * rest of the request is served in its context (its log lines and RPCs carry it).
 */
export function requestId(req: Request, res: Response, next: NextFunction): void {
  const given = req.header('x-request-id');
  const id = given && REQUEST_ID_PATTERN.test(given) ? given : randomUUID();
  (req as Request & { requestId: string }).requestId = id;
  res.setHeader('X-Request-ID', id);
  runInRequest({ request_id: id, correlation_id: id }, next);
}

/** Re-enters the request's context: a body parser's callbacks come from the socket, outside it. */
export function requestContext(req: Request, _res: Response, next: NextFunction): void {
  const id = (req as Request & { requestId?: string }).requestId;
  if (!id) return next();
  runInRequest({ request_id: id, correlation_id: id }, next);
}

/** Bodies of POST requests must be JSON objects. */
export function jsonBody(limit: string) {
  const parse = json({ limit, strict: true });
  return (req: Request, res: Response, next: NextFunction): void => {
    if (req.method !== 'POST' && req.method !== 'PUT' && req.method !== 'PATCH') return next();
    // File uploads may also come as multipart; multer reads those on their route.
    if (req.path === '/session/files/upload' && req.is('multipart/form-data')) return next();
    // E2B's envd takes file bytes and Connect streams: its routes read those bodies themselves.
    if (req.path.startsWith('/e2b/') && !req.is('application/json')) return next();
    if (!req.is('application/json')) {
      res
        .status(415)
        .json(
          errorBody(
            ErrorCodes.UnsupportedMediaType,
            'the body must be JSON (Content-Type: application/json)',
          ),
        );
      return;
    }
    parse(req, res, (err?: unknown) => {
      if (err) return bodyError(err, res, limit);
      if (typeof req.body !== 'object' || req.body === null || Array.isArray(req.body)) {
        res.status(400).json(errorBody(ErrorCodes.InvalidJson, 'the body must be a JSON object'));
        return;
      }
      if (depthExceeds(req.body, MAX_JSON_DEPTH)) {
        res
          .status(400)
          .json(errorBody(ErrorCodes.InvalidJson, `the body is nested deeper than ${MAX_JSON_DEPTH} levels`));
        return;
      }
      next();
    });
  };
}

function bodyError(err: unknown, res: Response, limit: string): void {
  const type = (err as { type?: string }).type;
  if (type === 'entity.too.large') {
    res
      .status(413)
      .json(errorBody(ErrorCodes.PayloadTooLarge, `the body is larger than the limit of ${limit}`));
  } else if (type === 'entity.parse.failed') {
    res.status(400).json(errorBody(ErrorCodes.InvalidJson, 'the body is not valid JSON'));
  } else {
    res.status(400).json(errorBody(ErrorCodes.InvalidJson, 'the body could not be read'));
  }
}

export function correlationId(req: Request): string {
  return (req as Request & { requestId?: string }).requestId ?? randomUUID();
}
